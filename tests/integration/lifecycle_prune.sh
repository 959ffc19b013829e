#!/bin/bash
# label: mount
# forget + prune on a local store:
#   1. three snapshots, each with data of its own; forget the first two and prune: exactly
#      their packs go (bytes back to what the last one needs), verify --read-data is clean,
#      the kept snapshot restores byte for byte, a dry run changed nothing;
#   2. a reader that mounted the first snapshot before it was forgotten: after the prune,
#      files not read before fail with EIO, never show other bytes; what it had read stays;
#   3. a seal killed with -9 leaves packs, index objects and its marker: prune leaves them
#      (a writer may be at work), and once the marker has expired deletes them all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

STORE=$T/store
# pack bytes under their final names: a killed local upload leaves a .tmp. file, which no
# store listing shows (remote/local.c) and prune therefore cannot see
packs_bytes() {
	find "$1/packs" -type f ! -name '.tmp.*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}
expect_rc 0 em_init "$STORE"
mkdir -p "$T/s1" "$T/s2" "$T/s3"
for n in 1 2 3; do
	head -c $((3 << 20)) /dev/urandom >"$T/s$n/own-$n.bin"
	head -c 4000 /dev/urandom >"$T/s$n/small-$n.bin"
	expect_rc 0 em_seal "$STORE" "$T/s$n" --json
	ID[$n]=$(json_get "$T/out" 'd["snapshot"]')
	BYTES[$n]=$(packs_bytes "$STORE")
done
NEED3=$((BYTES[3] - BYTES[2]))
log "three snapshots: ${BYTES[3]} pack bytes, the third needs ~$NEED3"

log "2. (setup) a reader mounts the first snapshot and reads one file"
em_mount_fg "$STORE" "$T/mnt" "$T/mount.log" --snapshot "${ID[1]:0:12}" --cache-size 0
cmp "$T/mnt/small-1.bin" "$T/s1/small-1.bin" || fail "mounted snapshot 1 reads wrong"

log "1. dry run, then forget the first two and prune"
before=$(store_listing "$STORE")
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 1 --prune --dry-run --json
assert_eq "$before" "$(store_listing "$STORE")" "a dry run changes nothing"
assert_eq "True" "$(json_get "$T/out" 'd["prune"]["dry_run"] and d["prune"]["packs_deleted"] == 0')" \
	"a dry run of forget --prune counts against the snapshots still listed"
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 1 --prune --json
cp "$T/out" "$T/forget.json"
deleted=$(json_get "$T/forget.json" 'd["prune"]["bytes_deleted"]')
after=$(packs_bytes "$STORE")
log "prune deleted $deleted bytes in $(json_get "$T/forget.json" 'd["prune"]["packs_deleted"]') packs; $after pack bytes left"
assert_eq "$((BYTES[3] - after))" "$deleted" "bytes_deleted is what left the store"
[ "$after" -le $((NEED3 + 65536)) ] || fail "$after bytes left, the last snapshot needs ~$NEED3"
[ "$after" -ge $((3 << 20)) ] || fail "prune deleted data the kept snapshot needs"
assert_eq 0 "$(json_get "$T/forget.json" 'd["prune"]["writers"]')" "no writer at work"
expect_rc 0 em_read verify "$STORE" --read-data
expect_rc 0 em_read restore "$STORE" latest "$T/r3"
"$TREECMP" "$T/s3" "$T/r3" || fail "the kept snapshot does not restore byte for byte"
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --json
assert_eq 0 "$(json_get "$T/out" 'd["packs_deleted"]')" "a second prune finds nothing"
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 1 --prune -q
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "forget --prune -q printed something"

log "2. the mounted, now forgotten snapshot: EIO for what is gone, never other bytes"
expect_eio cat "$T/mnt/own-1.bin"
# read before: the kernel may still hold its pages; if it answers, with the right bytes
if cat "$T/mnt/small-1.bin" >"$T/again" 2>/dev/null; then
	cmp -s "$T/again" "$T/s1/small-1.bin" || fail "a file read before now shows other bytes"
fi
ls "$T/mnt" >/dev/null 2>&1 || log "   (its listing is gone too: tree pack pruned)"
unmount "$T/mnt" "$MOUNT_PID"
grep -qiE "missing|does not verify|pack" "$T/mount.log" || fail "the mount did not log why"

log "3. a seal killed with -9: its leftovers wait for its marker to expire"
mkdir -p "$T/big"
# enough packs that the kill (after two) lands long before the seal could publish: packs
# arrive from the start of a seal, its index objects only near the end (waiting for two of
# those let a fast seal publish between two polls: the kill came too late)
for i in $(seq 1 24); do head -c $((8 << 20)) /dev/urandom >"$T/big/f$i"; done
# packs only: a write killed between its temporary file and the rename leaves a .tmp.* (the
# backend's to remove), which is no pack
count_packs() { find "$STORE/packs" -type f ! -name '.tmp.*' | wc -l; }
count_index() { find "$STORE/index" -type f ! -name '.tmp.*' | wc -l; }
n0=$(count_packs)
progressed() { [ "$(count_packs)" -ge $((n0 + 2)) ] || ! kill -0 "$1" 2>/dev/null; }
start_bg "$EMBASSY" seal "$STORE" "$T/big" --sealer-key "$SEALER"
wait_until 60 progressed "$BG_PID"
kill -9 "$BG_PID" 2>/dev/null || true
wait "$BG_PID" 2>/dev/null || true
[ -n "$(ls "$STORE/locks")" ] || fail "no marker left by the killed seal"
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq 1 "$(json_get "$T/out" 'len(d)')" "the killed seal published nothing"
left=$(packs_bytes "$STORE")
[ "$left" -gt "$after" ] || log "(the seal was killed before any pack arrived)"
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --json
assert_eq 1 "$(json_get "$T/out" 'd["writers"]')" "the killed seal's marker counts as a writer"
assert_eq 0 "$(json_get "$T/out" 'd["packs_deleted"]')" "nothing a writer may use is deleted"
assert_eq "$left" "$(packs_bytes "$STORE")" "its packs stay while its marker lives"
expect_rc 0 em_read verify "$STORE"
log "   the marker expires (its refresh time two hours back)"
m=$(ls "$STORE"/locks/*)
python3 - "$m" <<'EOF'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
d["refreshed"] = int((time.time() - 7200) * 1e9)
open(p, "w").write(json.dumps(d))
EOF
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --json
assert_eq 0 "$(json_get "$T/out" 'd["writers"]')" "an expired marker is no writer"
assert_eq "$after" "$(packs_bytes "$STORE")" "the killed seal's packs are gone"
[ -z "$(ls "$STORE/locks")" ] || fail "the expired marker is still there"
tmpb=$(find "$STORE/packs" -type f -name '.tmp.*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
log "   (the killed upload's temporary file, $tmpb bytes, is the backend's to remove)"
nidx=$(count_index)
npk=$(find "$STORE/packs" -type f ! -name '.tmp.*' | wc -l)
assert_eq "$npk" "$nidx" "one index object per pack, no orphans"
expect_rc 0 em_read verify "$STORE" --read-data
expect_rc 0 em_seal "$STORE" "$T/s3"
log PASS
