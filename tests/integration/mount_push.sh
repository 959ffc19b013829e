#!/usr/bin/env bash
# label: mount
# mount_push.sh — a directory's small files pushed into the kernel's page cache (issue 11,
# cp -a of small files): the first read of a file of a directory makes the daemon prefetch
# the directory's small files and hand their bytes to the kernel (FUSE_NOTIFY_STORE), so a
# reader going through the directory (cp -a, rsync, tar) finds them cached and sends no READ:
#   - after one file of a listed directory is read, its other small files become resident
#     in the page cache without being read (fincore; at least 20 of 71);
#   - cp -a of the directory then copies them from the page cache, and its copy equals the
#     source byte for byte — the pushed pages are the files' bytes, partial last
#     pages (sizes 1, 4095, 4097, 65537, …) zero-filled past the end as the kernel requires;
#   - hard-linked files (not pushed: their inode number may be another entry's) and files of
#     a directory too small to prefetch are still read whole through READ.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

command -v fincore >/dev/null || skip "no fincore (util-linux)"
STORE=$T/store
SRC=$T/src
MNT=$T/mnt
mkdir -p "$SRC/many" "$SRC/few"
i=0
for size in 1 100 4095 4096 4097 8191 8192 12000 65535 65536 65537; do
	i=$((i + 1))
	head -c "$size" /dev/urandom >"$SRC/many/odd$(printf %02d $i)"
done
for i in $(seq 1 60); do head -c $((700 + i * 211)) /dev/urandom >"$SRC/many/f$(printf %03d "$i")"; done
: >"$SRC/many/empty"
head -c 5000 /dev/urandom >"$SRC/many/linked"
ln "$SRC/many/linked" "$SRC/many/linked2"
for i in 1 2 3; do head -c 3000 /dev/urandom >"$SRC/few/g$i"; done
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q

D=$MNT/latest/many
PAGE=$(getconf PAGESIZE)
# files of the directory resident in the page cache (whole) without having been read
pushed_count() {
	local f pages size n=0
	for f in "$D"/odd* "$D"/f0[2-9]* "$D"/f0[1-9][0-9]; do
		pages=$(fincore --noheadings --output PAGES "$f") || return 1
		size=$(stat -c %s "$f")
		[ "$pages" -eq $(((size + PAGE - 1) / PAGE)) ] && n=$((n + 1))
	done
	echo "$n"
}
# pushed_within SECONDS N: poll until at least N files are resident (wait_until, not failing)
pushed_within() {
	local start=$SECONDS
	until [ "$(pushed_count)" -ge "$2" ]; do
		[ $((SECONDS - start)) -lt "$1" ] || return 1
		sleep 0.02
	done
}
# Up to 3 fresh mounts: whether a range of files is prefetched depends on where the seal put
# their records (neighbours in a pack), and anything on the machine dropping the page cache
# (a benchmark's drop_caches) takes pushed pages away as it would read ones — they are then
# read back with READ, which is why the bytes are compared, not the READ count.
ok=0
for attempt in 1 2 3; do
	# -v -v beside em_mount_fg's -v: FUSE's debug log, one line per request
	em_mount_fg "$STORE" "$MNT" "$T/mount$attempt.log" --recheck 0 -v -v
	ls -l "$D" >/dev/null || fail "cannot list the directory"
	cmp "$SRC/many/f001" "$D/f001" || fail "the first file read differs from its source"
	pushed_within 30 20 && ok=1
	reads_before=$(grep -c 'opcode: READ ' "$T/mount$attempt.log" || true)
	rm -rf "$T/copy" "$T/few"
	cp -a "$D" "$T/copy" || fail "cp -a from the mount failed"
	"$TREECMP" "$SRC/many" "$T/copy" || fail "cp -a's copy differs from the source"
	reads=$(($(grep -c 'opcode: READ ' "$T/mount$attempt.log" || true) - reads_before))
	log "attempt $attempt: READ requests for cp -a of $(ls "$SRC/many" | wc -l) files: $reads"
	[ "$(stat -c %i "$T/copy/linked")" = "$(stat -c %i "$T/copy/linked2")" ] ||
		fail "the hard link was not kept"
	cp -a "$MNT/latest/few" "$T/few" || fail "cp -a of a small directory failed"
	"$TREECMP" "$SRC/few" "$T/few" || fail "the small directory's copy differs from the source"
	unmount "$MNT" "$MOUNT_PID"
	[ "$ok" = 1 ] && break
done
[ "$ok" = 1 ] || fail "no 20 of the directory's small files were pushed into the page cache (3 mounts)"
log "OK"
