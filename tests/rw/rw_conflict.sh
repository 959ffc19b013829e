#!/bin/bash
# label: rw
# timeout: 180
# Two --rw mounts of one base (two recovery hosts) commit: the second finds the head moved and
# merges three ways against the base. Disjoint changes are both kept; a file changed on both
# sides keeps the head's version under its name and this mount's under NAME.conflict-...;
# commit exits 3 and names it, status lists it. The merge's parent is the head it found.
# Then both mounts commit at the same moment: exactly one wins the head, the other merges and
# retries, and the head holds both. Read-only mounts with an empty cache show the results.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MA=$T/mnt-a
MB=$T/mnt-b
export EMBASSY_RUNTIME_DIR=$T/run

mkdir -p "$T/src/reg/sub"
printf 'shared v0\n' >"$T/src/reg/shared.txt"
printf 'only b changes this\n' >"$T/src/reg/b-only.txt"
printf 'keep\n' >"$T/src/reg/sub/keep.txt"
head -c 300000 /dev/urandom >"$T/src/reg/sub/data.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
BASE=$(em_read snapshots "$STORE" --json | json_get /dev/stdin 'd[0]["id"]')
ro_mount() { # NAME: the store read-only, with an empty cache
	rm -rf "$T/cache-$1"
	em_mount "$STORE" "$T/ro-$1" --cache-dir "$T/cache-$1"
}

log "two --rw mounts of the same base"
expect_rc 0 em_mount_rw "$STORE" "$MA" "$T/journal-a"
expect_rc 0 em_mount_rw "$STORE" "$MB" "$T/journal-b"
printf 'from a\n' >"$MA/reg/from-a.txt"
printf 'shared: a\n' >"$MA/reg/shared.txt"
printf 'from b\n' >"$MB/reg/sub/from-b.txt"
printf 'shared: b\n' >"$MB/reg/shared.txt"
printf 'changed by b\n' >"$MB/reg/b-only.txt"
rm "$MB/reg/sub/keep.txt"

log "a commits first: no merge"
expect_rc 0 em commit "$MA" --json
SNAP_A=$(json_get "$T/out" 'd["snapshot"]')
[ "$(json_get "$T/out" 'd["merged"]')" = False ] || fail "a merged without a moved head"
[ "$(latest_id "$STORE")" = "$SNAP_A" ] || fail "the head is not a's commit"

log "b commits: the head moved, so a three-way merge; shared.txt changed on both sides (exit 3)"
expect_rc 3 em commit "$MB" --json
cp "$T/out" "$T/b.json"
SNAP_B=$(json_get "$T/b.json" 'd["snapshot"]')
OURS_B=$(json_get "$T/b.json" 'd["ours"]')
[ "$(json_get "$T/b.json" 'd["merged"]')" = True ] || fail "b did not merge"
[ "$(json_get "$T/b.json" 'len(d["conflicts"])')" = 1 ] || fail "conflicts: $(cat "$T/b.json")"
[ "$(json_get "$T/b.json" 'd["conflicts"][0]["path"]')" = reg/shared.txt ] || fail "the conflict's path"
COPY=$(json_get "$T/b.json" 'd["conflicts"][0]["copy"]')
case $COPY in reg/shared.txt.conflict-*) ;; *) fail "the conflict copy is named '$COPY'" ;; esac
[ "$(latest_id "$STORE")" = "$SNAP_B" ] || fail "the head is not b's merge"
em_read snapshots "$STORE" --json >"$T/snaps.json"
[ "$(json_get "$T/snaps.json" "[s.get('parent') for s in d if s['id'] == '$SNAP_B'][0]")" = "$SNAP_A" ] ||
	fail "the merge's parent is not the head it found"
[ "$(json_get "$T/snaps.json" "[s.get('parent') for s in d if s['id'] == '$OURS_B'][0]")" = "$BASE" ] ||
	fail "b's own snapshot's parent is not its base"

log "status of b reports the conflict"
expect_rc 0 em status "$MB" --json
[ "$(json_get "$T/out" 'd["last_commit"]["conflicts"][0]["path"]')" = reg/shared.txt ] ||
	fail "status does not list the conflict: $(cat "$T/out")"
expect_rc 0 em status "$MB"
assert_grep 'shared.txt' "$T/out"

log "human output: exit 3, one warning naming the conflict, the snapshot id on stdout"
printf 'shared: a again\n' >"$MA/reg/shared.txt"
printf 'shared: b again\n' >"$MB/reg/shared.txt"
expect_rc 0 em commit "$MA"
expect_rc 3 em commit "$MB"
[ "$(wc -l <"$T/out")" = 1 ] && grep -qE '^[0-9a-f]{64}$' "$T/out" || fail "stdout: $(cat "$T/out")"
assert_grep 'conflict: reg/shared.txt' "$T/err"

log "the merged head, read-only with an empty cache, holds both sides"
ro_mount 1
R=$T/ro-1/latest/reg
[ "$(cat "$R/from-a.txt")" = "from a" ] || fail "a's new file is missing"
[ "$(cat "$R/sub/from-b.txt")" = "from b" ] || fail "b's new file is missing"
[ "$(cat "$R/b-only.txt")" = "changed by b" ] || fail "b's change is missing"
[ ! -e "$R/sub/keep.txt" ] || fail "b's deletion was lost"
cmp "$T/src/reg/sub/data.bin" "$R/sub/data.bin" || fail "an untouched file changed"
[ "$(cat "$R/shared.txt")" = "shared: a again" ] || fail "the head's version does not keep the name"
[ "$(cat "$T/ro-1/latest/$COPY")" = "shared: b" ] || fail "b's first version is not in $COPY"
N=$(find "$R" -maxdepth 1 -name 'shared.txt.conflict-*' | wc -l)
[ "$N" = 2 ] || fail "$N conflict copies, expected 2 (one per conflicting commit)"
grep -lx 'shared: b again' "$R"/shared.txt.conflict-* >/dev/null || fail "b's second version is lost"
unmount "$T/ro-1"

log "both commit at the same moment: one wins, the other merges and retries; both kept"
printf 'race a\n' >"$MA/reg/race-a.txt"
printf 'race b\n' >"$MB/reg/sub/race-b.txt"
start_bg "$EMBASSY" commit "$MA" --json
PA=$BG_PID
start_bg "$EMBASSY" commit "$MB" --json
PB=$BG_PID
RA=0 RB=0
wait "$PA" || RA=$?
wait "$PB" || RB=$?
[ "$RA" = 0 ] && [ "$RB" = 0 ] || fail "racing commits exited $RA and $RB"
ro_mount 2
[ "$(cat "$T/ro-2/latest/reg/race-a.txt")" = "race a" ] || fail "a's racing change is lost"
[ "$(cat "$T/ro-2/latest/reg/sub/race-b.txt")" = "race b" ] || fail "b's racing change is lost"
[ "$(cat "$T/ro-2/latest/reg/from-a.txt")" = "from a" ] || fail "an earlier change is lost"
unmount "$T/ro-2"
unmount "$MA"
unmount "$MB"
expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
