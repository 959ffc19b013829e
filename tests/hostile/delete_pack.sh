#!/bin/bash
# label: hostile
# Attack 7: the host deletes a pack. Two seals put the files in two data packs; the host
# deletes the second one (new.bin, changed.txt). Then:
#   - verify (even without --read-data) lists exactly the affected paths, nothing else;
#   - cat / restore of an affected file fail (7), every other file reads and restores;
#   - directory listings stay complete (ls -R, mount);
#   - the mount reads affected files as EIO, never as empty or short files.
# A deleted directory (tree) pack: the listing fails loudly (7), it is never shown empty.
. "$(dirname "$0")/hostile_lib.bash"

make_store
head -c 150000 /dev/urandom >"$SRC/data/new.bin"
printf 'changed\n' >"$SRC/docs/b.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
cp -a "$STORE" "$T/pristine"
GONE=$(records 3 data/new.bin)
[ "$GONE" = "$(records 3 docs/b.txt)" ] || fail "setup: new.bin and b.txt in different packs"
[ "$GONE" != "$(records 3 data/victim.bin)" ] || fail "setup: victim.bin in the deleted pack"
rm "$STORE/$GONE"

log "verify: exactly the affected paths of the latest snapshot"
expect_rc 7 em_read verify "$STORE"
grep -E 'content missing' "$T/out" | sed 's/^[^:]*: *//; s/^[0-9a-f]*://; s/: content.*//' |
	LC_ALL=C sort -u >"$T/affected"
assert_eq "/data/new.bin
/docs/b.txt" "$(cat "$T/affected")" "affected paths"
assert_grep "$GONE|pack object missing" "$T/out" "verify names the missing pack"

log "cat: affected files fail, the others read"
for f in data/new.bin docs/b.txt; do
	run em_read cat "$STORE" "latest:$f"
	[ "$RC" -eq 7 ] || fail "cat of $f from a deleted pack: exit $RC, want 7"
done
for f in data/victim.bin data/other.bin docs/a.txt; do
	expect_rc 0 em_read cat "$STORE" "latest:$f"
	cmp -s "$T/out" "$SRC/$f" || fail "$f differs"
done
log "ls -R: complete"
expect_rc 0 em_read ls "$STORE" latest -R
assert_eq "data data/new.bin data/other.bin data/victim.bin docs docs/a.txt docs/b.txt" \
	"$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "listing"
log "the first snapshot does not use the deleted pack: it still reads whole"
expect_rc 0 em_read snapshots "$STORE" --json
FIRST=$(json_get "$T/out" 'd[0]["id"]')
restore_to first "$FIRST"
[ "$RC" -eq 0 ] || fail "restore of the untouched first snapshot: exit $RC"

log "restore latest: affected files absent, others restored, exit 7"
restore_to latest latest
[ "$RC" -eq 7 ] || fail "restore with a deleted pack: exit $RC, want 7"
[ ! -e "$RESTORED/data/new.bin" ] && [ ! -e "$RESTORED/docs/b.txt" ] || fail "affected files left behind"
cmp -s "$RESTORED/data/victim.bin" "$SRC/data/victim.bin" || fail "victim.bin not restored"

if have_mount; then
	log "mount: EIO for affected files, complete listings, the rest reads"
	if mount_store "$T/mnt"; then
		assert_eq "Input/output error" "$(read_err "$T/mnt/latest/data/new.bin")" "new.bin"
		assert_eq "Input/output error" "$(read_err "$T/mnt/latest/docs/b.txt")" "b.txt"
		assert_eq "new.bin other.bin victim.bin" "$(ls "$T/mnt/latest/data" | tr '\n' ' ' | sed 's/ $//')" "mounted data/"
		cmp -s "$T/mnt/latest/docs/a.txt" "$SRC/docs/a.txt" || fail "a.txt via the mount"
		umount_store "$T/mnt"
	else
		fail "mount refused: $(cat "$T/mount.err")"
	fi
fi

log "a deleted tree pack: listings fail loudly, never empty"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
rm "$STORE/$(records 3 /)"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || fail "ls with the tree pack deleted: exit $RC, want 7"
[ ! -s "$T/out" ] || fail "ls printed a listing without its directory record: $(cat "$T/out")"
expect_rc 7 em_read verify "$STORE"
assert_grep 'directory record' "$T/out" "verify names the directory"
finish
