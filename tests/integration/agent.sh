#!/bin/bash
# label: local
# timeout: 300
# embassy agent (issue 11: the passphrase KDF once per host): start/add/status/remove/stop;
# commands open a store from the agent's key without any credential, fall back to the
# credentials for a store it holds nothing for, and ignore it with EMBASSY_AGENT=off; the key
# is nowhere on disk; permissions: directory 0700 and socket 0600, an unsafe directory is
# refused by the agent and by clients, another user's connection is refused (SO_PEERCRED),
# the agent is not dumpable; the lifetime ends it (keys wiped, socket gone); mount uses it.
. "$(dirname "$0")/lib.sh"

export EMBASSY_AGENT_DIR=$T/agent
unset EMBASSY_PASSPHRASE EMBASSY_PASSPHRASE_FILE EMBASSY_PASSPHRASE_COMMAND EMBASSY_KEY_FILE
export EMBASSY_STATE_DIR=$T/state
AGENT_PIDS=()
stop_agents() {
	local p
	for p in "${AGENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
on_exit stop_agents

# start_agent DIR [OPTIONS]: an agent on DIR; its PID is appended to AGENT_PIDS, in $APID
start_agent() {
	local dir=$1
	shift
	EMBASSY_AGENT_DIR=$dir run "$EMBASSY" agent start "$@"
	[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "agent start in $dir: exit $RC"; }
	APID=$(sed -n 's/^agent \([0-9]*\) on .*/\1/p' "$T/out")
	[ -n "$APID" ] || fail "agent start printed no pid: $(cat "$T/out")"
	AGENT_PIDS+=("$APID")
}

store_id() { python3 -c 'import json,sys
print(json.loads(json.load(open(sys.argv[1]))["body"])["store_id"])' "$1/embassy.json"; }

SRC=$T/src
mkdir -p "$SRC/dir"
printf 'register line 1\n' >"$SRC/dir/file.txt"
head -c 100000 /dev/urandom >"$SRC/blob"
STORE=$T/store
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
ID=$(store_id "$STORE")
MASTER=$(sed -n 's/^master //p' "$SEALER")
[ ${#MASTER} -eq 64 ] || fail "cannot read the master key from the sealer key file"

log "no agent: status exit 1, a command without credentials exit 4"
expect_rc 1 em agent status
expect_rc 4 em ls "$STORE" latest </dev/null

log "start: directory 0700, socket 0600; a second start is refused"
start_agent "$EMBASSY_AGENT_DIR" --lifetime 10m
assert_eq 700 "$(stat -c %a "$EMBASSY_AGENT_DIR")" "agent directory mode"
assert_eq 600 "$(stat -c %a "$EMBASSY_AGENT_DIR/agent.sock")" "agent socket mode"
expect_rc 1 em agent start
assert_grep 'already runs' "$T/err"
expect_rc 0 em agent status
assert_grep '0 key' "$T/out"
expect_rc 4 em ls "$STORE" latest </dev/null # it holds nothing yet

log "add: the key from a passphrase; commands then need no credentials"
expect_rc 0 em agent add "$STORE" --passphrase-file "$PASSFILE"
expect_rc 0 em agent status
assert_grep "store $ID" "$T/out" "status lists the store id"
expect_rc 0 em agent status --json
assert_eq "['$ID']" "$(json_get "$T/out" 'd["stores"]')" "status --json"
expect_rc 0 em ls "$STORE" latest:dir </dev/null
assert_grep 'file.txt' "$T/out"
expect_rc 0 em cat "$STORE" latest:blob </dev/null
cmp -s "$T/out" "$SRC/blob" || fail "cat through the agent's key differs"
expect_rc 0 em restore "$STORE" latest "$T/restored" </dev/null
"$TREECMP" "$SRC" "$T/restored" || fail "restore through the agent's key differs"
expect_rc 0 em verify "$STORE" --read-data </dev/null
EMBASSY_AGENT=off expect_rc 4 em ls "$STORE" latest </dev/null

log "the key is nowhere on disk, nor in the agent's command line or environment"
! grep -rqa "$MASTER" "$EMBASSY_AGENT_DIR" "$T/state" || fail "the master key is on disk"
for f in cmdline environ; do
	! grep -qa "$MASTER" "/proc/$APID/$f" || fail "the master key is in /proc/PID/$f"
done
assert_eq "agent.sock" "$(ls -A "$EMBASSY_AGENT_DIR")" "files in the agent directory"

log "a store the agent holds nothing for: its credentials are used (or exit 4 without)"
OTHER=$T/other
rm -f "$SEALER"
expect_rc 0 em_init "$OTHER"
expect_rc 0 em_seal "$OTHER" "$SRC"
expect_rc 4 em ls "$OTHER" latest </dev/null
expect_rc 0 em_read ls "$OTHER" latest </dev/null

if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	log "mount without credentials"
	MNT=$T/mnt
	mkdir -p "$MNT"
	on_exit "fusermount3 -u -z '$MNT' 2>/dev/null || true"
	expect_rc 0 em mount "$STORE" "$MNT" --cache-dir "$T/cache" </dev/null
	cmp -s "$MNT/latest/blob" "$SRC/blob" || fail "the mount (agent's key) reads wrong bytes"
	fusermount3 -u "$MNT"
else
	skip_part "mount with the agent's key (no /dev/fuse)"
fi

log "remove: the key is gone"
expect_rc 0 em agent remove "$STORE"
expect_rc 4 em ls "$STORE" latest </dev/null
expect_rc 0 em agent add "$STORE" --passphrase-file "$PASSFILE"

if [ "$(id -u)" -eq 0 ]; then
	log "another user: refused by the agent (SO_PEERCRED), even through an open socket"
	chmod 711 "$T" "$EMBASSY_AGENT_DIR"
	chmod 666 "$EMBASSY_AGENT_DIR/agent.sock"
	setpriv --reuid=65534 --regid=65534 --clear-groups python3 - "$EMBASSY_AGENT_DIR/agent.sock" \
		"$ID" >"$T/peer" 2>&1 <<'EOF' || { cat "$T/peer" >&2; fail "peer check client"; }
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
try:  # the agent closes the connection unread: a reset is a refusal too
    s.sendall(b"EMA1" + bytes([1]) + bytes.fromhex(sys.argv[2]) + bytes(88))
    data = s.recv(200)
except (ConnectionResetError, BrokenPipeError):
    data = b""
print("got", len(data), "bytes")
sys.exit(0 if data == b"" else 1)
EOF
	assert_grep 'got 0 bytes' "$T/peer" "the agent answered another user"
	log "a client refuses a directory others may enter"
	expect_rc 1 em agent status
	expect_rc 4 em ls "$STORE" latest </dev/null
	chmod 600 "$EMBASSY_AGENT_DIR/agent.sock"
	chmod 700 "$EMBASSY_AGENT_DIR" "$T"
	expect_rc 0 em ls "$STORE" latest </dev/null

	log "the agent is not dumpable: its /proc files belong to root, not to its user"
	NOB=$T/nob
	mkdir -p "$NOB/home" && chown -R 65534:65534 "$NOB" && chmod 711 "$T"
	# a copy nobody can run: the build may be where nobody cannot reach (a checkout under
	# /root, mode 0700, on a fresh Debian host)
	NOBEM=$T/nobin/embassy
	install -m 755 -D "$EMBASSY" "$NOBEM"
	setpriv --reuid=65534 --regid=65534 --clear-groups env EMBASSY_AGENT_DIR="$NOB/agent" \
		HOME="$NOB/home" "$NOBEM" agent start --lifetime 5m >"$T/out" 2>"$T/err" ||
		{ cat "$T/err" >&2; fail "agent start as nobody"; }
	NPID=$(sed -n 's/^agent \([0-9]*\) on .*/\1/p' "$T/out")
	AGENT_PIDS+=("$NPID")
	assert_eq 65534 "$(ps -o uid= -p "$NPID" | tr -d ' ')" "the agent runs as nobody"
	assert_eq 0 "$(stat -c %u "/proc/$NPID/environ")" "owner of /proc/PID/environ"
	setpriv --reuid=65534 --regid=65534 --clear-groups env EMBASSY_AGENT_DIR="$NOB/agent" \
		"$NOBEM" agent stop || fail "agent stop as nobody"
	wait_until 30 bash -c "! kill -0 $NPID 2>/dev/null"
	chmod 700 "$T"
else
	skip_part "another user's connection, dumpability (not root)"
fi

log "an unsafe directory: the agent does not start there"
mkdir -p "$T/unsafe" && chmod 755 "$T/unsafe"
EMBASSY_AGENT_DIR=$T/unsafe expect_rc 1 em agent start
assert_grep 'mode 0700' "$T/err"
ln -s "$EMBASSY_AGENT_DIR" "$T/link"
EMBASSY_AGENT_DIR=$T/link expect_rc 1 em agent start

log "lifetime: the agent wipes its keys and exits by itself"
start_agent "$T/short" --lifetime 2s
SPID=$APID
EMBASSY_AGENT_DIR=$T/short expect_rc 0 em agent add "$STORE" --passphrase-file "$PASSFILE"
wait_until 60 bash -c "! kill -0 $SPID 2>/dev/null"
[ ! -e "$T/short/agent.sock" ] || fail "the socket outlived the agent"
EMBASSY_AGENT_DIR=$T/short expect_rc 1 em agent status

log "stop: keys wiped, the agent gone"
expect_rc 0 em agent stop
wait_until 30 bash -c "! kill -0 $APID 2>/dev/null"
[ ! -e "$EMBASSY_AGENT_DIR/agent.sock" ] || fail "the socket outlived the agent"
expect_rc 1 em agent status
expect_rc 4 em ls "$STORE" latest </dev/null
expect_rc 0 em agent stop # idempotent
log "PASS"
