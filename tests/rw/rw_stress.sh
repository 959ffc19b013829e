#!/bin/bash
# label: rw
# timeout: 300
# A tool that is not ours on a --rw mount: stress-ng's file-system stressors, each with
# --verify (its own checks of data and results), must pass. And sockets: bind(2) on the
# mount makes a socket a client can connect to (as a server whose socket lives in its data
# directory needs); it survives a remount (the journal), is committed, shows as a socket on a
# read-only mount of the commit and is restored as one. A format 1 store cannot hold a
# socket: bind fails with EOPNOTSUPP and nothing is made.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

command -v stress-ng >/dev/null || skip "stress-ng is not installed (scripts/deps.sh --test)"
STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
mkdir -p "$T/src/run"
printf 'register\n' >"$T/src/run/README"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"

# bind, listen, connect, one round trip; prints the socket's type as stat(2) sees it
cat >"$T/sock.py" <<'PY'
import os, socket, stat, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    srv.bind(path)
except OSError as e:
    print("bind:", os.strerror(e.errno)); sys.exit(0)
os.chmod(path, 0o660)
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
conn, _ = srv.accept()
cli.sendall(b"ping")
assert conn.recv(4) == b"ping"
for s in (cli, conn, srv):
    s.close()
print("socket" if stat.S_ISSOCK(os.lstat(path).st_mode) else "not a socket")
PY

log "bind(2) on the mount makes a socket a client connects to"
assert_eq "$(python3 "$T/sock.py" "$MNT/run/app.sock")" socket "bind, connect, round trip"
assert_eq "$(stat -c '%F %a' "$MNT/run/app.sock")" "socket 660" "the socket's type and mode"

log "stress-ng's file-system stressors with --verify on the mount"
mkdir "$MNT/stress"
SECS=2
[ "$SANITIZED" = 1 ] && SECS=4
for s in dentry dir dirdeep fallocate filename fpunch fstat hdd link lockf mknod mmap \
	rename symlink utime xattr; do
	extra=()
	[ "$s" = mmap ] && extra=(--mmap-file --mmap-bytes 4m)
	run stress-ng --"$s" 1 "${extra[@]}" --temp-path "$MNT/stress" --timeout "${SECS}s" \
		--verify --metrics-brief
	if [ "$RC" -ne 0 ] || grep -qE 'skipping stressor|stress-ng: fail:' "$T/out" "$T/err"; then
		cat "$T/out" "$T/err" >&2
		fail "stress-ng --$s on the --rw mount exited $RC"
	fi
done
[ -z "$(ls -A "$MNT/stress")" ] || fail "stress-ng left files behind: $(ls -A "$MNT/stress")"

log "the socket survives a remount (the journal replays it)"
unmount "$MNT"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
assert_eq "$(stat -c '%F %a' "$MNT/run/app.sock")" "socket 660" "the socket after a remount"

log "commit: a read-only mount of the commit shows the socket; restore makes one"
run em commit "$MNT" --json
[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "embassy commit exited $RC"; }
RO=$T/ro
em_mount "$STORE" "$RO" --cache-dir "$T/cache-ro"
assert_eq "$(stat -c '%F %a' "$RO/latest/run/app.sock")" "socket 660" "the committed socket"
"$TREECMP" "$MNT" "$RO/latest" || fail "the committed snapshot differs from the --rw mount"
unmount "$RO"
expect_rc 0 em_read restore "$STORE" latest "$T/restored"
assert_eq "$(stat -c '%F %a' "$T/restored/run/app.sock")" "socket 660" "the restored socket"
expect_rc 0 em_read ls "$STORE" latest:run --json
assert_grep '"type": *"socket"' "$T/out" "ls --json names the socket's type"
unmount "$MNT"

log "a format 1 store cannot hold a socket: EOPNOTSUPP, nothing made"
S1=$T/store1
SEALER=$T/sealer1.key # a store of its own needs a sealer key of its own
expect_rc 0 em_init "$S1" --format 1
expect_rc 0 em_seal "$S1" "$T/src"
expect_rc 0 em_mount_rw "$S1" "$T/mnt1" "$T/journal1"
assert_eq "$(python3 "$T/sock.py" "$T/mnt1/run/app.sock")" "bind: Operation not supported" \
	"bind on a format 1 store"
[ ! -e "$T/mnt1/run/app.sock" ] || fail "a failed bind left a name behind"
unmount "$T/mnt1"
log "ok"
