#!/bin/bash
# label: local
# timeout: 300
# Interrupted seals: kill -9 a seal of ~300 MiB at several random points (after the store's
# packs have grown by 1-3 packs), and SIGINT it once. The store must stay valid: verify is clean, only
# complete snapshots are listed, the next seal succeeds reusing what was uploaded, and a
# restore of it equals the source.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
NFILES=15
FILE_MIB=20
[ "$SANITIZED" = 1 ] && FILE_MIB=4
mkdir -p "$SRC/a" "$SRC/b"
for i in $(seq "$NFILES"); do
	head -c $((FILE_MIB << 20)) /dev/urandom >"$SRC/$([ $((i % 2)) = 0 ] && echo a || echo b)/f$i"
done
printf 'small\n' >"$SRC/small.txt"
TOTAL=$((NFILES * FILE_MIB << 20))
RANDOM=$$ # the kill points differ from run to run; the log says where they were

expect_rc 0 em_init "$STORE"
# one complete snapshot first, so "only complete snapshots" has something to keep
mkdir "$T/first" && printf 'first\n' >"$T/first/x"
expect_rc 0 em_seal "$STORE" "$T/first"
FIRST=$(cat "$T/out")

seal_alive() { kill -0 "$1" 2>/dev/null; }
count_index() { find "$STORE/index" -type f 2>/dev/null | wc -l; }
# Killing the moment a pack appears would always hit the gap between a pack and its index
# object (that pack is then orphaned, never reused); wait for whole pack+index pairs instead.
progressed() { [ "$(count_index)" -ge "$1" ] || ! seal_alive "$2"; }

# interrupt SIGNAL: start a seal, wait until 1-3 more packs (with their index objects) are
# in the store, then signal it.
interrupt() {
	local sig=$1 target rc
	target=$(($(count_index) + 1 + RANDOM % 3))
	start_bg "$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$SEALER" >/dev/null 2>"$T/seal.err"
	wait_until 100 progressed "$target" "$BG_PID"
	kill "-$sig" "$BG_PID" 2>/dev/null || true
	set +e
	wait "$BG_PID"
	rc=$?
	set -e
	log "SIG$sig at $(count_index) index objects, $(packs_bytes "$STORE") pack bytes" \
		"(aimed at $target index objects; ~$TOTAL bytes of data): exit $rc"
	if [ "$rc" -eq 0 ]; then
		log "(the seal finished before the signal; the next round still checks the store)"
		return 1
	fi
}

# Only the first snapshot may be listed after an interrupted seal — or, when the signal
# landed after the seal had published its head (a race under load), that complete snapshot
# too (returns 1: no more interrupting). Anything else fails.
check_snapshots() {
	local got
	expect_rc 0 em_read snapshots "$STORE" --json
	got=$(json_get "$T/out" '" ".join(s["id"] for s in d)')
	[ "$got" = "$FIRST" ] && return 0
	[ "${got%% *}" = "$FIRST" ] && [ "$(json_get "$T/out" 'len(d)')" = 2 ] ||
		fail "snapshots after $1: expected only $FIRST, got: $got"
	log "(after $1: the seal had published its snapshot before the signal landed)"
	return 1
}

finished=0
for round in 1 2 3; do
	interrupt KILL || finished=1
	[ "$finished" = 1 ] && break
	expect_rc 0 em_read verify "$STORE"
	check_snapshots "kill -9 #$round" || finished=1
done
if [ "$finished" = 0 ]; then
	interrupt INT || finished=1
fi
expect_rc 0 em_read verify "$STORE"
expect_rc 0 em_read verify "$STORE" --read-data
if [ "$finished" = 0 ]; then
	check_snapshots "SIGINT" || finished=1
fi

before=$(packs_bytes "$STORE")
expect_rc 0 em_seal "$STORE" "$SRC" --json
cp "$T/out" "$T/final.json"
new=$(json_get "$T/final.json" 'd["bytes_new_stored"]')
log "the seal after the interruptions uploaded $new bytes of ~$TOTAL ($before already in packs)"
if [ "$finished" = 0 ]; then
	[ "$new" -lt "$TOTAL" ] || fail "the seal after interruptions reused nothing ($new bytes new)"
fi
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq "True" "$(json_get "$T/out" 'd[-1]["latest"] and d[-1]["id"] == "'"$(json_get "$T/final.json" 'd["snapshot"]')"'"')" "latest is the new seal"
expect_rc 0 em_read verify "$STORE"
expect_rc 0 em_read restore "$STORE" latest "$T/r"
"$TREECMP" "$SRC" "$T/r" || fail "restore after interruptions differs"
log "PASS"
