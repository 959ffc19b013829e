#!/bin/bash
# label: mount
# Secrets stay secret: credentials in a store URL (https://user:password@host/…) are handed to
# libcurl apart from the URL and appear in no log line, error, request path, log file, or the
# command line (/proc/PID/cmdline) of the mount daemon; EMBASSY_PASSPHRASE,
# AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are not in the daemon's environment
# (/proc/PID/environ); a passphrase file readable by others is refused like a key file; a
# refused connection says "connection refused" and uses its whole --timeout budget.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)') # the interpreter itself: killed by PID
STORE=$T/store
mkdir -p "$T/src/d"
printf 'population register\n' >"$T/src/d/a.txt"
head -c 300000 /dev/urandom >"$T/src/d/b.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"

start_bg "$PY" "$SRC_DIR/tests/hostile/evilhttp.py" --root "$STORE" --log "$T/http.log" >"$T/port"
wait_until 20 grep -q '^PORT ' "$T/port"
PORT=$(awk '{print $2}' "$T/port")
# the password is "s3cr3t@x!", percent-encoded in the URL
URL="http://alice:s3cr3t%40x%21@127.0.0.1:$PORT/auth-all/"

no_secret() { # FILE WHAT: none of the secrets of this test is in FILE
	local s
	for s in s3cr3t wrongpw awsSECRETvalue tokSECRETvalue 'correct horse'; do
		! grep -qaF "$s" "$1" || { cat -v "$1" >&2; fail "$2 holds the secret '$s'"; }
	done
}

log "credentials in the URL: used, and never shown"
expect_rc 0 em_read snapshots "$URL"
no_secret "$T/err" "the output of snapshots"
expect_rc 0 em_read cat "$URL" latest:d/a.txt
assert_eq "population register" "$(cat "$T/out")" "cat through the authenticated store"
expect_rc 4 em_read snapshots "http://alice:wrongpw@127.0.0.1:$PORT/auth-all/"
assert_grep 'access denied' "$T/err" "a refused password says so"
assert_grep 'http://\*\*\*@127' "$T/err" "the URL is shown redacted"
no_secret "$T/err" "the error of a refused password"
expect_rc 4 em_read snapshots "http://127.0.0.1:$PORT/auth-all/"
no_secret "$T/http.log" "a request line the server received"
grep -q 'auth-all/embassy.json' "$T/http.log" || fail "the server saw no request"

log "a refused connection: 'connection refused', after the whole --timeout budget"
DEAD=$("$SRC_DIR/scripts/free-port.sh")
START=$(date +%s%N)
expect_rc 8 em_read snapshots "http://bob:s3cr3t@127.0.0.1:$DEAD/store/" --timeout 4
MS=$((($(date +%s%N) - START) / 1000000))
log "refused for ${MS} ms: $(grep remote: "$T/err" | tail -1)"
assert_grep 'connection refused' "$T/err" "the reason is named"
! grep -qi 'timed out' "$T/err" || fail "a refused connection was reported as a time-out"
no_secret "$T/err" "the error of a refused connection"
# correctness bounds, not a speed test: the budget is neither cut short nor overrun much
[ "$MS" -ge 3800 ] || fail "gave up after $MS ms of a 4 s budget"
[ "$MS" -le 14000 ] || fail "took $MS ms with a 4 s budget"

log "passphrase files: refused when group/others may read them, like key files"
cp "$PASSFILE" "$T/pass-open"
for mode in 644 640 604 620; do
	chmod "$mode" "$T/pass-open"
	expect_rc 4 "$EMBASSY" snapshots "$STORE" --passphrase-file "$T/pass-open"
	assert_grep "chmod 600" "$T/err" "mode $mode: the error says what to do"
	expect_one_error_line
done
chmod 600 "$T/pass-open"
expect_rc 0 "$EMBASSY" snapshots "$STORE" --passphrase-file "$T/pass-open"
expect_rc 0 "$EMBASSY" snapshots "$STORE" --passphrase-file <(cat "$PASSFILE")
head -c 2000 /dev/zero | tr '\0' x >"$T/pass-long"
chmod 600 "$T/pass-long"
expect_rc 4 "$EMBASSY" snapshots "$STORE" --passphrase-file "$T/pass-long"
assert_grep 'longer than' "$T/err" "an overlong first line is refused, not cut"

log "the mount daemon: no secret in its command line, environment or log"
MNT=$T/mnt
mkdir -p "$MNT"
MOUNTS+=("$MNT")
expect_rc 0 env EMBASSY_PASSPHRASE="correct horse battery staple" \
	AWS_SECRET_ACCESS_KEY=awsSECRETvalue AWS_SESSION_TOKEN=tokSECRETvalue \
	"$EMBASSY" mount "$URL" "$MNT" --log-file "$T/mount.log" -v
no_secret "$T/err" "the mount command's output"
DAEMON=$(python3 - "$MNT" <<'EOF2'
import os, sys
for p in os.listdir("/proc"):
    try:
        argv = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
    except OSError:
        continue
    if b"mount" in argv and sys.argv[1].encode() in argv:
        print(p)
EOF2
)
[ -n "$DAEMON" ] || fail "no mount daemon found for $MNT"
cp "/proc/$DAEMON/environ" "$T/environ"
cp "/proc/$DAEMON/cmdline" "$T/cmdline"
grep -qa 'PATH=' "$T/environ" || fail "could not read the daemon's environment"
no_secret "$T/environ" "the mount daemon's environment (/proc/$DAEMON/environ)"
no_secret "$T/cmdline" "the mount daemon's command line (/proc/$DAEMON/cmdline)"
grep -qaF "127.0.0.1:$PORT/auth-all/" "$T/cmdline" || fail "the URL is not in the command line at all"
assert_files_eq "$T/src/d/b.bin" "$MNT/latest/d/b.bin" "a file read through the mount"
unmount "$MNT"
wait_until 20 bash -c "! kill -0 $DAEMON 2>/dev/null"
assert_grep 'mounted http://\*\*\*@127' "$T/mount.log" "the daemon logs to --log-file"
no_secret "$T/mount.log" "the mount's log file"
no_secret "$T/http.log" "a request line the server received"

log PASS
