#!/bin/bash
# label: hostile
# Attack 1: the host flips one byte of stored ciphertext.
#   a) inside the data record of data/victim.bin: reads of that file fail (cat 7, mount EIO),
#      verify --read-data names it and nothing else, restore restores everything else and
#      leaves no victim.bin behind; listings stay complete.
#   b) inside a directory record: that directory cannot be listed (7), verify names it.
#   c) inside the snapshot manifest, the head pointer, the descriptor: refused, never used.
. "$(dirname "$0")/hostile_lib.bash"

make_store
cp -a "$STORE" "$T/pristine"

# a) one byte in the middle of victim.bin's record
PACK=$(records 3 data/victim.bin)
OFF=$(records 4 data/victim.bin)
LEN=$(records 5 data/victim.bin)
[ -n "$PACK" ] || fail "list-records found no record for data/victim.bin"
expect_rc 0 "$HOSTILE" flip "$STORE" "$PACK" $((OFF + LEN / 2))

log "verify (structure only) cannot see inside records: exit 0"
expect_rc 0 em_read verify "$STORE"
log "verify --read-data: 7, names victim.bin and no other file"
expect_rc 7 em_read verify "$STORE" --read-data
assert_grep 'data/victim\.bin' "$T/out" "report names the damaged file"
! grep -qE 'other\.bin|a\.txt|b\.txt' "$T/out" || fail "verify blames undamaged files: $(cat "$T/out")"

log "cat: the victim fails with 7 and is never written whole; the others read"
expect_rc 7 em_read cat "$STORE" latest:data/victim.bin
[ "$(wc -c <"$T/out")" -lt 307200 ] || fail "cat wrote the whole tampered file"
assert_grep 'victim\.bin' "$T/err" "cat names the file"
expect_rc 0 em_read cat "$STORE" latest:data/other.bin
cmp -s "$T/out" "$SRC/data/other.bin" || fail "other.bin differs"

log "ls and snapshots are unaffected (the directory records are intact)"
expect_rc 0 em_read ls "$STORE" latest -R
assert_eq "data
data/other.bin
data/victim.bin
docs
docs/a.txt
docs/b.txt" "$(cat "$T/out")" "listing"
expect_rc 0 em_read snapshots "$STORE"

log "restore: non-zero, names victim.bin, restores the rest, nothing outside the target"
restore_to a latest
[ "$RC" -eq 7 ] || fail "restore of a tampered file: exit $RC (want 7)"
assert_grep 'victim\.bin' "$T/err" "restore names the file"
[ ! -e "$RESTORED/data/victim.bin" ] || fail "tampered victim.bin left in the target"
cmp -s "$RESTORED/data/other.bin" "$SRC/data/other.bin" || fail "other.bin not restored"
cmp -s "$RESTORED/docs/a.txt" "$SRC/docs/a.txt" || fail "docs/a.txt not restored"

if have_mount; then
	log "mount: victim.bin reads EIO, the rest reads, the directory lists completely"
	MNT=$T/mnt
	if mount_store "$MNT"; then
		assert_eq "Input/output error" "$(read_err "$MNT/latest/data/victim.bin")" "read of victim.bin"
		cmp -s "$MNT/latest/data/other.bin" "$SRC/data/other.bin" || fail "other.bin via mount"
		assert_eq "other.bin victim.bin" "$(ls "$MNT/latest/data" | tr '\n' ' ' | sed 's/ $//')" "mounted listing"
		assert_eq 307200 "$(stat -c %s "$MNT/latest/data/victim.bin")" "size of victim.bin"
		umount_store "$MNT"
		assert_grep 'packs/' "$T/mount.err" "the mount logs the bad record"
	else
		fail "mount refused: $(cat "$T/mount.err")"
	fi
else
	log "mount: not available here, skipped"
fi

# b) one byte inside the directory record of data/
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
TPACK=$(records 3 /data)
TOFF=$(records 4 /data)
TLEN=$(records 5 /data)
expect_rc 0 "$HOSTILE" flip "$STORE" "$TPACK" $((TOFF + TLEN / 2))
log "a tampered directory record: ls of it is 7, verify names it, root still lists"
expect_rc 7 em_read ls "$STORE" latest:data
expect_rc 0 em_read ls "$STORE" latest
expect_rc 7 em_read verify "$STORE"
assert_grep ':/data/' "$T/out" "verify names the directory"
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt

# c) the signed objects: any flipped byte means refused, never a silently different state
for obj in "snapshots/$(ls "$T/pristine/snapshots")" heads/latest embassy.json; do
	rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
	SIZE=$(stat -c %s "$STORE/$obj")
	expect_rc 0 "$HOSTILE" flip "$STORE" "$obj" $((SIZE / 2))
	run em_read ls "$STORE" latest
	log "$obj flipped: ls latest exit $RC: $(head -1 "$T/err")"
	[ "$RC" -ne 0 ] || fail "ls accepted a store whose $obj was tampered with"
	no_crash "ls"
	case $obj in
	snapshots/*) expect_rc 7 em_read snapshots "$STORE" ;;
	heads/*) [ "$RC" -eq 7 ] || fail "tampered head: exit $RC, want 7" ;;
	esac
done
finish
