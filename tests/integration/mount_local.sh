#!/bin/bash
# label: mount
# timeout: 450
# The mount on a local store, compared with its source: every file's bytes, sizes, modes,
# nanosecond mtimes, symlinks, hard links (one inode), xattrs; cp -a, rsync -a --checksum and
# tar from the mount; sqlite3 on a mounted database; mmap and random preads; 16 concurrent
# readers; EROFS on every change; the latest/snapshots layout and --snapshot; kill -9 of the
# daemon; the disk cache reused by the next mount; a tampered and a deleted pack.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

SRC=$T/src
STORE=$T/store
MNT=$T/mnt
CACHE=$T/cache
mktree "$SRC" --big-dir 2000 --seed 11
log "extra files: 5 MiB + 3, a 20 MB database, a large file"
mkdir -p "$SRC/extra"
head -c $((5 * 1048576 + 3)) /dev/urandom >"$SRC/extra/five-mib-plus-3"
printf 'name with space\n' >"$SRC/extra/with space"
make_db "$SRC/extra/register.db"
BIG_MIB=$([ "$SANITIZED" = 1 ] && echo 16 || echo 96)
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$SRC/extra/big.bin"
touch -d '2001-02-03 04:05:06.123456789' "$SRC/extra/big.bin"

log "init and seal"
expect_rc 0 em_init "$STORE"
run em_seal "$STORE" "$SRC" --json
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || { cat "$T/err" >&2; fail "seal exited $RC"; }
SNAP1=$(json_get "$T/out" 'd["snapshot"]')

log "mount (daemon): returns once ready"
START=$(date +%s%N)
expect_rc 0 em_mount "$STORE" "$MNT" --cache-dir "$CACHE"
log "mount ready in $(( ($(date +%s%N) - START) / 1000000 )) ms"
mountpoint -q "$MNT" || fail "not mounted after embassy mount returned"

log "layout: latest -> snapshots/<time>, one snapshot directory"
TARGET=$(readlink "$MNT/latest")
[[ $TARGET =~ ^snapshots/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
	fail "latest points to '$TARGET'"
[ "$(ls "$MNT/snapshots" | wc -l)" -eq 1 ] || fail "snapshots/ should list one snapshot"
[ "$(ls "$MNT")" = "$(printf 'latest\nsnapshots')" ] || fail "root lists $(ls "$MNT")"
[ -d "$MNT/$TARGET" ] || fail "latest's target is not a directory"

log "compare the mount with the source (bytes, metadata, links, xattrs)"
compare_mount "$SRC" "$MNT/latest"
[ "$(ls "$MNT/latest/bigdir" | wc -l)" -eq 2000 ] || fail "bigdir does not list 2000 entries"
[ "$(find "$MNT/latest/" | wc -l)" -eq "$(find "$SRC" ! -type s | wc -l)" ] || fail "find counts"
INO1=$(stat -c %i "$MNT/latest/files/hl-a")
[ "$INO1" = "$(stat -c %i "$MNT/latest/links/hl-b")" ] || fail "hard links show two inodes"
[ "$(stat -c %h "$MNT/latest/files/hl-a")" = 3 ] || fail "hard link count"
[ "$(stat -c %y "$MNT/latest/extra/big.bin")" = "$(stat -c %y "$SRC/extra/big.bin")" ] ||
	fail "nanosecond mtime of big.bin"
[ "$(stat -c %b "$MNT/latest/files/sparse")" -lt "$(( $(stat -c %s "$SRC/files/sparse") / 512 ))" ] ||
	fail "st_blocks of a sparse file counts its holes"

log "inode numbers are stable: the same after the kernel forgets them"
echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || true
[ "$INO1" = "$(stat -c %i "$MNT/latest/files/hl-a")" ] || fail "inode number changed"

log "cp -a, rsync -a --checksum and tar from the mount"
cp -a "$MNT/latest/" "$T/cp"
"$TREECMP" --holes "$SRC" "$T/cp" || fail "cp -a copy differs"
rm -rf "$T/cp"
rsync -a -H -X --checksum "$MNT/latest/" "$T/rsync/"
"$TREECMP" "$SRC" "$T/rsync" || fail "rsync -a copy differs"
rm -rf "$T/rsync"
mkdir "$T/tar"
tar -C "$MNT/latest" --format=posix --xattrs --xattrs-include='user.*' -cf - . |
	tar -C "$T/tar" --xattrs --xattrs-include='user.*' -xf -
"$TREECMP" "$SRC" "$T/tar" || fail "tar copy differs"
rm -rf "$T/tar"

log "sqlite3 on the mounted database"
[ "$(db_query "$MNT/latest/extra/register.db")" = "$(db_query "$SRC/extra/register.db")" ] ||
	fail "the query on the mounted database differs"

log "mmap and random preads"
mmap_check "$SRC/extra/big.bin" "$MNT/latest/extra/big.bin"

log "16 concurrent readers"
concurrent_cmp 16 "$SRC" "$MNT/latest" extra/big.bin extra/five-mib-plus-3 files/sparse \
	files/data.csv extra/register.db

log "every change fails with EROFS"
expect_erofs touch "$MNT/latest/new"
expect_erofs sh -c "echo x >'$MNT/latest/files/one'"
expect_erofs sh -c "echo x >>'$MNT/latest/files/one'"
expect_erofs rm "$MNT/latest/files/one"
expect_erofs mv "$MNT/latest/files/one" "$MNT/latest/files/two"
expect_erofs chmod 600 "$MNT/latest/files/one"
expect_erofs truncate -s 0 "$MNT/latest/files/one"
expect_erofs mkdir "$MNT/latest/dir"
expect_erofs ln "$MNT/latest/files/one" "$MNT/latest/files/link"
expect_erofs setfattr -n user.x -v 1 "$MNT/latest/files/one"
expect_erofs python3 -c "import os; os.open('$MNT/latest/files/one', os.O_RDWR)"
expect_erofs rmdir "$MNT/latest/empty-dir"
cmp -s "$SRC/files/one" "$MNT/latest/files/one" || fail "files/one changed"
unmount "$MNT"

log "a second snapshot: two directories, latest names the newer; --snapshot mounts one"
printf 'changed\n' >"$SRC/files/one"
# snapshot directories are named by the second; a same-second pair gets id suffixes instead
NOW=$(date +%s)
wait_until 3 bash -c "[ \$(date +%s) != $NOW ]"
run em_seal "$STORE" "$SRC" --json
SNAP2=$(json_get "$T/out" 'd["snapshot"]')
expect_rc 0 em_mount "$STORE" "$MNT" --cache-dir "$CACHE"
[ "$(ls "$MNT/snapshots" | wc -l)" -eq 2 ] || fail "snapshots/ should list two"
[ "$(cat "$MNT/latest/files/one")" = changed ] || fail "latest is not the newer snapshot"
OLD=$(ls "$MNT/snapshots" | head -1)
[ "$(cat "$MNT/snapshots/$OLD/files/one")" = x ] || fail "the older snapshot changed"
unmount "$MNT"
expect_rc 0 em_mount "$STORE" "$MNT" --snapshot "${SNAP1:0:10}" --cache-size 0
[ "$(cat "$MNT/files/one")" = x ] || fail "--snapshot did not mount the first snapshot"
[ ! -e "$MNT/latest" ] || fail "--snapshot shows the layout"
log "a second mount on a busy mountpoint is refused (not stacked on the first)"
expect_rc 1 "$EMBASSY" mount "$STORE" "$MNT" --passphrase-file "$PASSFILE"
expect_one_error_line
assert_grep 'already has an embassy mount' "$T/err"
[ "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)" -eq 1 ] ||
	fail "two mounts stacked on $MNT"
unmount "$MNT"
expect_rc 6 em_mount "$STORE" "$MNT" --snapshot ffffffffff --cache-size 0
expect_one_error_line
! mountpoint -q "$MNT" || fail "a failed mount left something mounted"
expect_rc 4 "$EMBASSY" mount "$STORE" "$MNT" --passphrase-file /dev/null
! mountpoint -q "$MNT" || fail "a failed mount left something mounted"
printf 'wrong\n' >"$T/wrongpass"
chmod 600 "$T/wrongpass"
expect_rc 4 "$EMBASSY" mount "$STORE" "$MNT" --passphrase-file "$T/wrongpass"
expect_one_error_line
expect_rc 5 em_mount "$T" "$MNT"

log "SIGTERM and SIGINT unmount cleanly (exit 0)"
for sig in TERM INT; do
	em_mount_fg "$STORE" "$MNT" "$T/fg-$sig.log" --cache-size 0
	ls "$MNT/latest/files" >/dev/null
	kill -"$sig" "$MOUNT_PID"
	rc=0
	wait "$MOUNT_PID" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/fg-$sig.log" >&2; fail "SIG$sig: the daemon exited $rc"; }
	! mountpoint -q "$MNT" || fail "still mounted after SIG$sig"
done

log "kill -9 of the daemon: fusermount3 -u clears the mountpoint; the cache is reused"
em_mount_fg "$STORE" "$MNT" "$T/fg1.log" --cache-dir "$T/cache2"
cat "$MNT/latest/extra/big.bin" "$MNT/latest/extra/register.db" >/dev/null
find "$MNT/latest/" -type f -exec cat {} + >/dev/null
kill -9 "$MOUNT_PID"
wait "$MOUNT_PID" 2>/dev/null || true
! ls "$MNT" >/dev/null 2>&1 || fail "a killed daemon's mount still answers"
fusermount3 -u "$MNT" || fail "fusermount3 -u after kill -9"
! mountpoint -q "$MNT" || fail "still mounted after fusermount3 -u"
em_mount_fg "$STORE" "$MNT" "$T/fg2.log" --cache-dir "$T/cache2"
(cd "$SRC" && find . -type f -printf '%P\0') >"$T/files"
while IFS= read -r -d '' f; do
	cmp -s "$SRC/$f" "$MNT/latest/$f" || fail "after kill -9 and remount: $f differs"
done <"$T/files"
unmount "$MNT" "$MOUNT_PID"
BYTES2=$(log_bytes "$T/fg2.log")
[ -n "$BYTES2" ] || { cat "$T/fg2.log" >&2; fail "no unmount statistics in the log"; }
log "remount after kill -9 read $BYTES2 bytes from the store (data came from the disk cache)"
[ "$BYTES2" -lt $((4 * 1048576)) ] || fail "the remount refetched $BYTES2 bytes"

log "a tampered pack byte: that file fails with EIO, others read"
mkdir -p "$T/two"
head -c 1048576 /dev/urandom >"$T/two/a.bin"
head -c 1048576 /dev/urandom >"$T/two/b.bin"
mkdir -p "$T/two/sub" && printf 'small\n' >"$T/two/sub/c.txt"
SEALER=$T/sealer-tamper.key # em_init and em_seal use it: a second store, a second identity
expect_rc 0 em_init "$T/tamper"
expect_rc 0 em_seal "$T/tamper" "$T/two"
PACK=$(find "$T/tamper/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
python3 - "$PACK" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096)   # inside a.bin's record: records are written in tree order
    b = f.read(1)
    f.seek(4096)
    f.write(bytes([b[0] ^ 0x40]))
EOF
em_mount_fg "$T/tamper" "$MNT" "$T/fg3.log" --cache-size 0
expect_eio cat "$MNT/latest/a.bin"
cmp -s "$T/two/b.bin" "$MNT/latest/b.bin" || fail "an untouched file did not read"
[ "$(cat "$MNT/latest/sub/c.txt")" = small ] || fail "an untouched small file did not read"
unmount "$MNT" "$MOUNT_PID"
assert_grep 'fails authentication|packs/' "$T/fg3.log" "the log names the bad record"

log "a deleted pack: its files fail with EIO; listings stay complete"
rm -f "$PACK"
em_mount_fg "$T/tamper" "$MNT" "$T/fg4.log" --cache-size 0
[ "$(ls "$MNT/latest" | LC_ALL=C sort | tr '\n' ' ')" = "a.bin b.bin sub " ] ||
	fail "the listing of a directory whose files are missing is not complete"
[ "$(stat -c %s "$MNT/latest/b.bin")" = 1048576 ] || fail "size of a file whose pack is gone"
expect_eio cat "$MNT/latest/b.bin"
expect_eio cat "$MNT/latest/a.bin"
unmount "$MNT" "$MOUNT_PID"
assert_grep 'missing' "$T/fg4.log" "the log names the missing pack"

log "PASS"
