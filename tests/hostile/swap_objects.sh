#!/bin/bash
# label: hostile
# Attack 2: the host swaps stored things around, keeping every byte authentic.
#   a) two records of equal length in two different packs trade places;
#   b) two records of equal length inside one pack trade places;
#   c) two whole pack objects trade names;
#   d) two snapshot manifests trade names.
# Records are bound to their id (associated data) and manifests signed with their id, so each
# swap must be detected: both victims fail (7 / EIO), nothing else does.
. "$(dirname "$0")/hostile_lib.bash"

# Two seals, so data sits in two packs: one.bin/two.bin in the first, three.bin in the second;
# all three have the same length, so their records do too (random data does not compress).
mkdir -p "$SRC"
for f in one two; do head -c 100000 /dev/urandom >"$SRC/$f.bin"; done
printf 'note\n' >"$SRC/note.txt"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
head -c 100000 /dev/urandom >"$SRC/three.bin"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read snapshots "$STORE"
cp -a "$STORE" "$T/pristine"

fresh() { rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"; }

# check_victims A B: A and B fail everywhere, note.txt and the third file still read
check_victims() {
	local a=$1 b=$2 f
	expect_rc 7 em_read verify "$STORE" --read-data
	for f in "$a" "$b"; do
		assert_grep "$f" "$T/out" "verify --read-data names $f"
	done
	for f in "$a" "$b"; do
		run em_read cat "$STORE" "latest:$f"
		[ "$RC" -ne 0 ] || fail "cat of swapped $f succeeded"
		[ "$RC" -eq 7 ] || fail "cat of swapped $f: exit $RC, want 7"
	done
	expect_rc 0 em_read cat "$STORE" latest:note.txt
	restore_to "$a-$b" latest
	[ "$RC" -eq 7 ] || fail "restore with swapped records: exit $RC, want 7"
	[ ! -e "$RESTORED/$a" ] && [ ! -e "$RESTORED/$b" ] || fail "a swapped file was restored"
	cmp -s "$RESTORED/note.txt" "$SRC/note.txt" || fail "note.txt not restored"
}

[ "$(records 3 one.bin)" != "$(records 3 three.bin)" ] || fail "setup: one.bin and three.bin share a pack"
[ "$(records 5 one.bin)" = "$(records 5 three.bin)" ] || fail "setup: record lengths differ"

log "a) records swapped between two packs"
expect_rc 0 "$HOSTILE" swap-records "$STORE" "$(records 3 one.bin)" "$(records 4 one.bin)" \
	"$(records 3 three.bin)" "$(records 4 three.bin)" "$(records 5 one.bin)"
check_victims one.bin three.bin

log "b) records swapped inside one pack"
fresh
[ "$(records 3 one.bin)" = "$(records 3 two.bin)" ] || fail "setup: one.bin and two.bin in two packs"
expect_rc 0 "$HOSTILE" swap-records "$STORE" "$(records 3 one.bin)" "$(records 4 one.bin)" \
	"$(records 3 two.bin)" "$(records 4 two.bin)" "$(records 5 one.bin)"
check_victims one.bin two.bin

log "c) two whole packs trade names"
fresh
P1=$STORE/$(records 3 one.bin)
P2=$STORE/$(records 3 three.bin)
mv "$P1" "$T/p1" && mv "$P2" "$P1" && mv "$T/p1" "$P2"
expect_rc 7 em_read verify "$STORE" --read-data
for f in one.bin two.bin three.bin; do assert_grep "$f" "$T/out" "verify names $f"; done
run em_read cat "$STORE" latest:three.bin
[ "$RC" -eq 7 ] || fail "cat from a swapped pack: exit $RC, want 7"

log "d) two snapshot manifests trade names"
fresh
mapfile -t SNAPS < <(ls "$STORE/snapshots")
mv "$STORE/snapshots/${SNAPS[0]}" "$T/s1"
mv "$STORE/snapshots/${SNAPS[1]}" "$STORE/snapshots/${SNAPS[0]}"
mv "$T/s1" "$STORE/snapshots/${SNAPS[1]}"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "${SNAPS[0]:0:12}|${SNAPS[1]:0:12}" "$T/err" "snapshots names a bad manifest"
! grep -qE "^\*? *${SNAPS[0]:0:12}|^\*? *${SNAPS[1]:0:12}" "$T/out" || fail "a swapped manifest is listed"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || fail "ls latest with swapped manifests: exit $RC, want 7"
expect_rc 7 em_read verify "$STORE"
finish
