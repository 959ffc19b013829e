#!/bin/bash
# label: local
# A seal racing forget + prune never loses data:
#   1. the seal deduplicates a file against a pack that only a snapshot being forgotten
#      uses; forget + prune run while the seal is at work: prune sees the seal's marker and
#      only condemns that pack; the seal takes it back when it publishes; its snapshot
#      restores byte for byte and verify --read-data is clean, also after another prune;
#   2. the host deletes the seal's marker, so prune deletes that pack (and the seal's own
#      new packs) while the seal works: the seal refuses to publish (exit 1, names the pack),
#      the store still verifies clean, and the seal run again succeeds byte for byte.
# The racing seal is made slow on purpose (zstd level 19 on one thread), and the test checks
# it was still at work when prune finished, so the race really happens.
. "$(dirname "$0")/lib.sh"
export EMBASSY_STATE_DIR=$T/state
STORE=$T/store
expect_rc 0 em_init "$STORE"

mkdir -p "$T/a" "$T/b" "$T/c"
head -c $((3 << 20)) /dev/urandom >"$T/a/x.bin"
printf 'a\n' >"$T/a/a.txt"
printf 'b\n' >"$T/b/b.txt"
cp "$T/a/x.bin" "$T/c/x.bin"
# compressible but new: slow at level 19
slow_data() { head -c $((5 << 20)) /dev/urandom | base64 -w 0 >"$1/slow.txt"; }
slow_data "$T/c"
expect_rc 0 em_seal "$STORE" "$T/a"
A=$(cat "$T/out")
expect_rc 0 em_seal "$STORE" "$T/b"
B=$(cat "$T/out")
xpack=$("$(tool hostile)" list-records "$STORE" --passphrase-file "$PASSFILE" --snapshot "$A" |
	awk -F'\t' '$6 ~ /x.bin$/ { print $3; exit }')
[ -n "$xpack" ] || fail "cannot find x.bin's pack"
log "x.bin lives in $xpack, which only snapshot ${A:0:12} uses"

has_marker() { [ -n "$(ls "$STORE/locks" 2>/dev/null)" ] || ! kill -0 "$1" 2>/dev/null; }
slow_seal() { # SRC: start it, wait for its marker
	start_bg "$EMBASSY" seal "$STORE" "$1" --sealer-key "$SEALER" --compression-level 19 \
		--threads 1
	SEAL_PID=$BG_PID
	wait_until 60 has_marker "$SEAL_PID"
	kill -0 "$SEAL_PID" 2>/dev/null || fail "the seal finished before the race began"
}

log "1. forget + prune while a seal that reuses x.bin is at work"
slow_seal "$T/c"
expect_rc 0 em forget "$STORE" "${A:0:12}" --sealer-key "$SEALER" --prune --json
cp "$T/out" "$T/p1.json"
kill -0 "$SEAL_PID" 2>/dev/null || fail "the seal finished before prune did: no race"
assert_eq 1 "$(json_get "$T/p1.json" 'd["prune"]["writers"]')" "prune saw the seal at work"
[ "$(json_get "$T/p1.json" 'd["prune"]["packs_deferred"]')" -ge 1 ] || fail "nothing deferred"
[ -f "$STORE/$xpack" ] || fail "x.bin's pack was deleted under a running seal"
log "   prune deferred $(json_get "$T/p1.json" 'd["prune"]["packs_deferred"]') pack(s); the seal goes on"
wait "$SEAL_PID" || fail "the racing seal failed"
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq 2 "$(json_get "$T/out" 'len(d)')" "B and the new snapshot"
C=$(json_get "$T/out" 'd[-1]["id"]')
expect_rc 0 em_read verify "$STORE" --read-data
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --json
[ -f "$STORE/$xpack" ] || fail "x.bin's pack was deleted although the new snapshot uses it"
expect_rc 0 em_read restore "$STORE" latest "$T/rc"
"$TREECMP" "$T/c" "$T/rc" || fail "the racing seal's snapshot does not restore byte for byte"
expect_rc 0 em_read verify "$STORE" --read-data

log "2. the host deletes the seal's marker: prune deletes what the seal reuses"
mkdir -p "$T/e" "$T/f"
printf 'e\n' >"$T/e/e.txt"
cp "$T/a/x.bin" "$T/f/x.bin"
slow_data "$T/f"
expect_rc 0 em_seal "$STORE" "$T/e"
E=$(cat "$T/out")
slow_seal "$T/f"
rm -f "$STORE"/locks/*
expect_rc 0 em forget "$STORE" "${C:0:12}" --sealer-key "$SEALER" --prune --json
kill -0 "$SEAL_PID" 2>/dev/null || fail "the seal finished before prune did: no race"
assert_eq 0 "$(json_get "$T/out" 'd["prune"]["writers"]')" "no marker: no writer known"
[ ! -f "$STORE/$xpack" ] || fail "x.bin's pack should be gone (nothing listed uses it)"
set +e
wait "$SEAL_PID"
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] || fail "the seal published over deleted data (exit $rc)"
log "   the seal refused to publish: exit $rc"
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq "$B $E" "$(json_get "$T/out" '" ".join(s["id"] for s in d)')" "nothing new listed"
expect_rc 0 em_read verify "$STORE" --read-data
log "   the seal again: it uploads x.bin anew"
expect_rc 0 em_seal "$STORE" "$T/f"
expect_rc 0 em_read restore "$STORE" latest "$T/rf"
"$TREECMP" "$T/f" "$T/rf" || fail "the second seal does not restore byte for byte"
expect_rc 0 em_read verify "$STORE" --read-data
log PASS
