#!/bin/bash
# label: rw
# timeout: 120
# A --rw mount across a prune and seals from home, then a remount: after a commit the store is
# pruned (the mount's first base forgotten, packs repacked) while the mount is live, three
# seals from home move the head to trees without the mount's directory, the mount writes one
# more file, unmounts and mounts again on its journal. The next commit merges without a
# conflict (the head's removal of the directory the mount did not touch since wins), the
# merge restores as expected byte for byte, and the warning that the mount keeps its own tree
# names the real reason (a hard link inside the removed directory).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MNT=$T/mnt
export EMBASSY_RUNTIME_DIR=$T/run
mkdir -p "$T/src/reg" "$T/h1" "$T/h2" "$T/h3"
printf 'a\n' >"$T/src/reg/a.txt"
for i in 1 2 3; do printf 'home %s\n' "$i" >"$T/h$i/home.txt"; done
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$T/journal"

log "1. a directory with a hard link, renamed, committed"
mkdir "$MNT/copy"
for i in $(seq 1 20); do printf 'f%s\n' "$i" >"$MNT/copy/f$i"; done
ln "$MNT/copy/f1" "$MNT/copy/hl"
mv "$MNT/copy" "$MNT/copy2"
expect_rc 0 em commit "$MNT"

log "2. forget + prune (repacks) while the mount is live; three seals from home"
expect_rc 0 em forget "$STORE" --keep-last 1 --prune --sealer-key "$SEALER"
grep -q "1 forgotten" "$T/out" || fail "the first base was not forgotten: $(cat "$T/out")"
for i in 1 2 3; do expect_rc 0 em_seal "$STORE" "$T/h$i"; done

log "3. one more file, unmount, mount again on the journal, commit: a merge, no conflict"
printf 'new\n' >"$MNT/after.txt"
fusermount3 -u "$MNT"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$T/journal"
[ "$(cat "$MNT/after.txt")" = new ] || fail "the uncommitted file did not survive the remount"
expect_rc 0 em commit "$MNT"
grep -q "merged with the head" "$T/err" || fail "not a merge: $(cat "$T/err")"
grep -q "conflict" "$T/err" && fail "a conflict was reported: $(cat "$T/err")"
grep -q "keeps showing its own tree.*hard link" "$T/err" ||
	fail "the reason the mount keeps its tree is not the hard link: $(cat "$T/err")"

log "4. the merge restores as the head's tree plus the mount's new file"
mkdir -p "$T/want"
cp "$T/h3/home.txt" "$T/want/home.txt"
printf 'new\n' >"$T/want/after.txt"
expect_rc 0 em_read restore "$STORE" latest "$T/got"
em_read snapshots "$STORE" >&2
for d in "$T"/got/*; do echo "$d: $(cat "$d")" >&2; done
diff -r "$T/want" "$T/got" || fail "the merge differs from the head's tree plus after.txt"
log "ok - a prune and home seals under a live --rw mount, a remount, a clean merge"
