#!/bin/bash
# label: rw
# A full journal disk is a clean ENOSPC: the journal lives on a real 8 MiB tmpfs. A writer
# filling it gets ENOSPC (not EIO, not a hang) and its file keeps exactly what was accepted;
# with the disk filled to the last byte from outside, writes, creates and renames get ENOSPC
# and the mount keeps serving reads; what was fsync'd before is intact throughout. Once space
# is freed, the mount writes again and `embassy commit` seals everything (and empties the
# journal); after an unmount and a new --rw mount every fsync'd file is there, and the
# committed snapshot, read through a read-only mount, equals the --rw mount.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"
need_root "mounting a tmpfs for the journal"

STORE=$T/store
MNT=$T/mnt
JFS=$T/jfs
JDIR=$JFS/journal
RO=$T/ro

mkdir -p "$T/src/reg" "$JFS"
printf 'base\n' >"$T/src/reg/base.txt"
head -c 2000000 /dev/urandom >"$T/src/reg/base.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src" -q

mount -t tmpfs -o size=8m,mode=0700 tmpfs "$JFS" || skip "cannot mount a tmpfs here"
# before lib.sh's own unmount of $MNT: the daemon holds journal files open on the tmpfs
on_exit 'fusermount3 -u -z "$MNT" 2>/dev/null; umount -l "$JFS" 2>/dev/null'
# a bound far above the disk: the disk fills first (below the bound, writers would wait)
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" --journal-max 1G

log "fsync'd files before the disk fills"
head -c $((1 << 20)) /dev/urandom >"$T/early.bin"
cp "$T/early.bin" "$MNT/reg/early.bin"
printf 'small and early\n' >"$MNT/reg/early.txt"
sync -f "$MNT/reg/early.bin" "$MNT/reg/early.txt"

log "a writer fills the journal disk: ENOSPC, and the file holds exactly what was accepted"
python3 - "$MNT/reg/filler" "$T/filler.ref" <<'PY' || fail "the writer did not get a clean ENOSPC"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
ref = open(sys.argv[2], "wb")
n = 0
while True:
    buf = os.urandom(65536)
    try:
        k = os.write(fd, buf)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            sys.exit(f"write failed with {e} (wanted ENOSPC)")
        break
    ref.write(buf[:k])
    n += k
    if n > 64 << 20:
        sys.exit("64 MiB written into an 8 MiB journal disk")
ref.close()
# a second attempt fails the same way, and fsync of what was accepted succeeds
try:
    os.write(fd, b"x" * 65536)
    sys.exit("a write to the full disk succeeded")
except OSError as e:
    if e.errno != errno.ENOSPC:
        sys.exit(f"second write: {e} (wanted ENOSPC)")
os.fsync(fd)
os.close(fd)
print(f"rw_enospc: {n} bytes accepted before ENOSPC")
PY
cmp "$T/filler.ref" "$MNT/reg/filler" || fail "the filled file does not hold what was accepted"
cmp "$T/early.bin" "$MNT/reg/early.bin" || fail "an fsync'd file changed when the disk filled"

log "the disk full to the last byte (from outside): changes get ENOSPC, reads still work"
# whatever the journal left free is taken by a file outside the journal
dd if=/dev/zero of="$JFS/hog" bs=4k status=none 2>/dev/null || true
[ "$(df --output=avail -B1 "$JFS" | tail -1)" -lt 4096 ] || fail "the tmpfs is not full"
expect_enospc() {
	run "$@"
	[ "$RC" -ne 0 ] || fail "a change succeeded on a full journal disk: $*"
	grep -qi 'no space left' "$T/err" || { cat "$T/err" >&2; fail "not ENOSPC: $*"; }
}
expect_enospc dd if="$T/early.bin" of="$MNT/reg/more.bin" bs=64k conv=fsync status=none
expect_enospc python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"x" * 8192, 5000)' \
	"$MNT/reg/early.bin"
# small records may still fit in the journal's last segment: keep making names until one fails
python3 - "$MNT/reg" <<'PY' || fail "creating files on a full journal disk"
import errno, os, sys
for i in range(100000):
    try:
        os.mkdir(f"{sys.argv[1]}/d{i:06}-{'n' * 200}")
    except OSError as e:
        if e.errno != errno.ENOSPC:
            sys.exit(f"mkdir: {e} (wanted ENOSPC)")
        print(f"rw_enospc: mkdir ENOSPC after {i} directories")
        break
else:
    sys.exit("100,000 directories made on a full disk")
PY
cmp "$T/early.bin" "$MNT/reg/early.bin" || fail "the fsync'd file changed on a full disk"
[ "$(cat "$MNT/reg/early.txt")" = "small and early" ] || fail "early.txt changed on a full disk"
cmp "$T/filler.ref" "$MNT/reg/filler" || fail "the filled file changed on a full disk"
cmp "$T/src/reg/base.bin" "$MNT/reg/base.bin" || fail "a base file reads differently"
mountpoint -q "$MNT" || fail "the mount is gone"

log "space freed: the mount writes again; commit seals it all and empties the journal"
rm -f "$JFS/hog"
printf 'after the disk was freed\n' >"$MNT/reg/after.txt"
rm "$MNT/reg/filler"
rm -r "$MNT/reg"/d0*
sync -f "$MNT/reg/after.txt"
expect_rc 0 em commit "$MNT"
USED=$(du -sb "$JDIR" | cut -f1)
log "the journal after the commit: $USED bytes"
[ "$USED" -lt $((2 << 20)) ] || fail "the journal still holds $USED bytes after a commit"
head -c $((3 << 20)) /dev/urandom >"$T/late.bin"
cp "$T/late.bin" "$MNT/reg/late.bin"
sync -f "$MNT/reg/late.bin"

log "after an unmount and a new --rw mount, every fsync'd file is there"
unmount "$MNT"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" --journal-max 1G
cmp "$T/early.bin" "$MNT/reg/early.bin" || fail "early.bin after the remount"
[ "$(cat "$MNT/reg/early.txt")" = "small and early" ] || fail "early.txt after the remount"
[ "$(cat "$MNT/reg/after.txt")" = "after the disk was freed" ] || fail "after.txt after the remount"
cmp "$T/late.bin" "$MNT/reg/late.bin" || fail "late.bin (pending) after the remount"
[ ! -e "$MNT/reg/filler" ] || fail "the removed filler came back"
expect_rc 0 em commit "$MNT"
rm -rf "$T/ro-cache"
em_mount "$STORE" "$RO" --cache-dir "$T/ro-cache"
"$TREECMP" "$MNT" "$RO/latest" || fail "the committed snapshot differs from the --rw mount"
unmount "$RO"
unmount "$MNT"
expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
