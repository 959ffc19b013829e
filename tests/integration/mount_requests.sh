#!/usr/bin/env bash
# label: mount
# mount_requests.sh — what the kernel asks the read-only mount per file (issue 11, cp -a of
# small files): files are opened and released by the kernel itself (open answers ENOSYS
# once, FUSE_CAP_NO_OPEN_SUPPORT), so a tree copy costs no OPEN/RELEASE round trip per file,
# and reads that find their file by inode still serve every byte:
#   - treecmp and cp -a of the mount equal the source byte for byte; FUSE's debug log shows
#     at most one OPEN and no RELEASE for ~90 files read (one OPEN per file before);
#   - two readers of one big file at once (they share its prefetch stream) both read it whole;
#   - SEEK_DATA / SEEK_HOLE on a sparse file answer as on the source (lseek by inode);
#   - directories too are opened by the kernel itself (opendir answers ENOSYS once,
#     FUSE_CAP_NO_OPENDIR_SUPPORT): walking every directory several times costs at most one
#     OPENDIR and no RELEASEDIR (two per directory walked before), and every listing,
#     snapshots/ included, is still whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

STORE=$T/store
SRC=$T/src
MNT=$T/mnt
for d in a b c; do
	mkdir -p "$SRC/$d"
	for i in $(seq 1 30); do head -c $((1000 + i * 300)) /dev/urandom >"$SRC/$d/f$i"; done
done
head -c 6000000 /dev/urandom >"$SRC/big.bin"
truncate -s 8M "$SRC/sparse.bin"
printf 'data after a hole' | dd of="$SRC/sparse.bin" bs=1 seek=$((5 << 20)) conv=notrunc status=none
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q

# -v -v beside em_mount_fg's -v: FUSE's debug log, one line per request
em_mount_fg "$STORE" "$MNT" "$T/mount.log" --recheck 0 -v -v
"$TREECMP" "$SRC" "$MNT/latest" || fail "the mount differs from its source"
cp -a "$MNT/latest/" "$T/copy" || fail "cp -a from the mount failed"
"$TREECMP" "$SRC" "$T/copy" || fail "cp -a's copy differs from the source"

find "$MNT/" >"$T/find.out" || fail "find over the mount failed"
assert_eq "$(cd "$SRC" && find . | sort)" "$(cd "$MNT/latest/" && find . | sort)" "find's names"
assert_eq 1 "$(ls "$MNT/snapshots" | wc -l)" "entries of snapshots/"

log "two readers of one file at once"
cat "$MNT/latest/big.bin" >"$T/r1" &
r1=$!
cat "$MNT/latest/big.bin" >"$T/r2" || fail "the second reader failed"
wait "$r1" || fail "the first reader failed"
cmp "$SRC/big.bin" "$T/r1" && cmp "$SRC/big.bin" "$T/r2" || fail "a concurrent reader got other bytes"

log "SEEK_DATA / SEEK_HOLE"
seeks() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))' "$1"
}
want=$(seeks "$SRC/sparse.bin")
[ "${want%% *}" -gt 0 ] || skip_part "the source file system keeps no holes"
assert_eq "$want" "$(seeks "$MNT/latest/sparse.bin")" "SEEK_DATA/SEEK_HOLE on the mount"

unmount "$MNT" "$MOUNT_PID"
grep -q 'files opened by the kernel without a request: yes' "$T/mount.log" ||
	skip_part "this kernel does not open FUSE files by itself (no FUSE_NO_OPEN_SUPPORT)"
opens=$(grep -c 'opcode: OPEN ' "$T/mount.log" || true)
releases=$(grep -c 'opcode: RELEASE ' "$T/mount.log" || true)
log "requests: $opens OPEN, $releases RELEASE for $(find "$SRC" -type f | wc -l) files read twice"
[ "$opens" -le 1 ] && [ "$releases" -eq 0 ] ||
	fail "files were opened through the daemon: $opens OPEN, $releases RELEASE requests"
if grep -q 'directories opened by the kernel without a request: no' "$T/mount.log"; then
	skip_part "this kernel does not open FUSE directories by itself (no FUSE_NO_OPENDIR_SUPPORT)"
else
	dopens=$(grep -c 'opcode: OPENDIR ' "$T/mount.log" || true)
	dreleases=$(grep -c 'opcode: RELEASEDIR ' "$T/mount.log" || true)
	log "requests: $dopens OPENDIR, $dreleases RELEASEDIR for $(find "$SRC" -type d | wc -l) directories walked several times"
	[ "$dopens" -le 1 ] && [ "$dreleases" -eq 0 ] ||
		fail "directories were opened through the daemon: $dopens OPENDIR, $dreleases RELEASEDIR requests"
fi
log "OK"
