#!/bin/bash
# label: mount
# timeout: 300
# Framed data records (format 2) through the mount: every file and random preads (1 byte to
# 200 KB, across frame and chunk boundaries) compared with the source; a byte flipped in one
# frame makes exactly the reads that touch that frame fail with EIO (the frames beside it in
# the same chunk still read), in a raw and in a compressed frame; a flipped header byte fails
# its chunk only; frames read through a disk cache come back from it offline, and a tampered
# cache entry is dropped and fetched again. A format 1 store mounts and reads the same way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

HOSTILE=$(tool hostile)
SRC=$T/src MNT=$T/mnt
mkdir -p "$SRC/dir"
MIB=$([ "$SANITIZED" = 1 ] && echo 3 || echo 12)
head -c $((MIB * 1048576 + 12345)) /dev/urandom >"$SRC/random.bin"
python3 - "$SRC/text.csv" "$MIB" <<'EOF'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2]) * 18000):
        f.write("%d,%s,%s,%04d-%02d-%02d\n" % (i, r.choice(["Tamm", "Saar", "Kask"]),
                r.choice(["Tallinn", "Tartu", "Narva"]), r.randrange(1920, 2020),
                r.randrange(1, 13), r.randrange(1, 29)))
EOF
printf 'small\n' >"$SRC/dir/small.txt"
: >"$SRC/dir/empty"

# preads FILE_SRC FILE_MNT N SEED: random preads of the mount compared with the source
preads() {
	python3 - "$@" <<'EOF' || fail "random preads of $2 differ from the source"
import os, random, sys
a, b, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fa, fb = os.open(a, os.O_RDONLY), os.open(b, os.O_RDONLY)
size = os.fstat(fa).st_size
r = random.Random(seed)
for _ in range(n):
    ln = r.choice([1, 4096, 4096, 65536, 65537, 200000])
    off = r.choice([r.randrange(size), (r.randrange(size) // 65536) * 65536 - r.randrange(3)])
    off = max(0, off)
    assert os.pread(fa, ln, off) == os.pread(fb, ln, off), (off, ln)
print("%d random preads match" % n)
EOF
}

for fmt in 1 2; do
	STORE=$T/store$fmt
	rm -f "$SEALER"
	expect_rc 0 em_init "$STORE" --format "$fmt"
	expect_rc 0 em_seal "$STORE" "$SRC"
	em_mount_fg "$STORE" "$MNT" "$T/m$fmt.log"
	"$TREECMP" "$SRC" "$MNT/latest" || fail "format $fmt: the mount differs from the source"
	preads "$SRC/random.bin" "$MNT/latest/random.bin" 1500 1
	preads "$SRC/text.csv" "$MNT/latest/text.csv" 1500 2
	unmount "$MNT" "$MOUNT_PID"
	log "format $fmt: files and random preads match"
done
expect_rc 1 "$HOSTILE" list-frames "$T/store1" --passphrase-file "$PASSFILE" # not framed

STORE=$T/store2
"$HOSTILE" list-frames "$STORE" --passphrase-file "$PASSFILE" >"$T/frames" ||
	fail "list-frames failed"
# frame_line PATH N: the Nth frame (0-based, in file order) of PATH
frame_line() { awk -F'\t' -v p="$1" '$1 == p' "$T/frames" | sed -n "$(($2 + 1))p"; }
L=$(frame_line random.bin 3)
[ -n "$L" ] || fail "random.bin has fewer than 4 frames"
IFS=$'\t' read -r _ FOFF PACK ROFF FIDX POFF CLEN <<<"$L"
assert_eq 3 "$FIDX" "random.bin's 4th frame is frame 3 of its first chunk"
[ "$CLEN" -eq $((65536 + 16)) ] || fail "a random frame is stored raw ($CLEN bytes)"

# dd_read FILE OFF LEN: read LEN bytes at OFF into $T/piece (status in RC)
dd_read() { run dd if="$1" of="$T/piece" bs=1 skip="$2" count="$3" iflag=skip_bytes,count_bytes status=none; }
# direct_read FILE OFF LEN: like dd_read, with O_DIRECT: the daemon sees exactly this read (no
# page cache, no kernel readahead, whose window decides whether a record is read whole)
direct_read() {
	run python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
b = os.pread(fd, int(sys.argv[3]), int(sys.argv[2]))
open(sys.argv[4], "wb").write(b)
sys.exit(0 if len(b) == int(sys.argv[3]) else 1)' "$1" "$2" "$3" "$T/piece"
}
# check_piece SRCFILE OFF LEN: $T/piece equals the source's bytes there
check_piece() { cmp -s "$T/piece" <(dd if="$1" bs=1 skip="$2" count="$3" iflag=skip_bytes,count_bytes status=none) ||
	fail "bytes at $2+$3 of $1 differ"; }

log "a byte flipped in frame 3 of random.bin's first chunk: EIO for that frame only"
"$HOSTILE" flip "$STORE" "$PACK" $((POFF + CLEN / 2)) 0x40 || fail "flip"
em_mount_fg "$STORE" "$MNT" "$T/tamper.log"
F=$MNT/latest/random.bin
dd_read "$F" $((FOFF + 100)) 4096
[ "$RC" -ne 0 ] || fail "a read inside the tampered frame succeeded"
grep -qi 'input/output error' "$T/err" || fail "not EIO: $(cat "$T/err")"
for probe in $((FOFF - 4096)) $((FOFF + 65536)) $((FOFF - 65536 * 3)) $((FOFF + 65536 * 5)); do
	dd_read "$F" "$probe" 4096
	[ "$RC" -eq 0 ] || fail "a read at $probe beside the tampered frame failed: $(cat "$T/err")"
	check_piece "$SRC/random.bin" "$probe" 4096
done
dd_read "$F" $((FOFF - 10)) 20 # across the boundary into the bad frame
[ "$RC" -ne 0 ] || fail "a read crossing into the tampered frame succeeded"
expect_eio cat "$F"
grep -q "frame 3 fails verification" "$T/tamper.log" || { cat "$T/tamper.log" >&2; fail "the log does not name frame 3"; }
cmp -s "$SRC/text.csv" "$MNT/latest/text.csv" || fail "text.csv affected by random.bin's frame"
unmount "$MNT" "$MOUNT_PID"
"$HOSTILE" flip "$STORE" "$PACK" $((POFF + CLEN / 2)) 0x40 || fail "flip back"

log "a byte flipped in a compressed frame of text.csv: EIO for that frame only"
L=$(frame_line text.csv 5)
IFS=$'\t' read -r _ TOFF TPACK _ TIDX TPOFF TCLEN <<<"$L"
[ "$TCLEN" -lt $((65536 + 16)) ] || fail "text.csv's frame is not compressed ($TCLEN bytes)"
"$HOSTILE" flip "$STORE" "$TPACK" $((TPOFF + 3)) || fail "flip"
em_mount_fg "$STORE" "$MNT" "$T/tamper2.log"
dd_read "$MNT/latest/text.csv" $((TOFF + 7)) 1
[ "$RC" -ne 0 ] || fail "a read inside the tampered compressed frame succeeded"
BEFORE=$((TOFF / 4096 * 4096 - 8192)) # whole pages before the frame's first page
dd_read "$MNT/latest/text.csv" "$BEFORE" 8192
[ "$RC" -eq 0 ] || fail "the frame before the tampered one failed"
check_piece "$SRC/text.csv" "$BEFORE" 8192
cmp -s "$SRC/random.bin" "$MNT/latest/random.bin" || fail "random.bin does not read back"
unmount "$MNT" "$MOUNT_PID"
"$HOSTILE" flip "$STORE" "$TPACK" $((TPOFF + 3)) || fail "flip back"

log "a byte flipped in the header of random.bin's second chunk: that chunk fails, the others read"
# (the kernel reads whole pages: the page that holds a chunk boundary holds bytes of both)
L2=$(awk -F'\t' '$1 == "random.bin" && $5 == 0' "$T/frames" | sed -n 2p)
IFS=$'\t' read -r _ C2OFF HPACK HROFF _ _ _ <<<"$L2"
C3OFF=$(awk -F'\t' '$1 == "random.bin" && $5 == 0' "$T/frames" | sed -n 3p | cut -f2)
"$HOSTILE" flip "$STORE" "$HPACK" $((HROFF + 30)) || fail "flip"
em_mount_fg "$STORE" "$MNT" "$T/tamper3.log"
dd_read "$MNT/latest/random.bin" $((C2OFF + 65536 * 2 + 5)) 100
[ "$RC" -ne 0 ] || fail "a read in the chunk with the tampered header succeeded"
BEFORE=$((C2OFF / 4096 * 4096 - 4096))
dd_read "$MNT/latest/random.bin" "$BEFORE" 4096
[ "$RC" -eq 0 ] || fail "the chunk before failed"
check_piece "$SRC/random.bin" "$BEFORE" 4096
if [ -n "$C3OFF" ]; then
	AFTER=$(((C3OFF + 4095) / 4096 * 4096))
	dd_read "$MNT/latest/random.bin" "$AFTER" 4096
	[ "$RC" -eq 0 ] || fail "the chunk after failed"
	check_piece "$SRC/random.bin" "$AFTER" 4096
fi
grep -q "header fails verification" "$T/tamper3.log" || fail "the log does not name the header"
unmount "$MNT" "$MOUNT_PID"
"$HOSTILE" flip "$STORE" "$HPACK" $((HROFF + 30)) || fail "flip back"

log "frames read through the disk cache come back from it offline"
CACHE=$T/cache
em_mount_fg "$STORE" "$MNT" "$T/dc1.log" --cache-dir "$CACHE"
for o in 100000 700000 1500000; do
	direct_read "$MNT/latest/random.bin" "$o" 4096
	[ "$RC" -eq 0 ] || fail "read at $o: $(cat "$T/err")"
	check_piece "$SRC/random.bin" "$o" 4096
done
unmount "$MNT" "$MOUNT_PID"
# (find -quit, not ls | grep -q: grep's early exit would SIGPIPE ls, and pipefail fail it)
frame_entry() { find "$CACHE" -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}\.[0-9]+' -print -quit; }
[ -n "$(frame_entry)" ] || fail "no frame entries in the disk cache"
em_mount_fg "$STORE" "$MNT" "$T/dc2.log" --cache-dir "$CACHE" --offline
for o in 100000 700000 1500000; do
	direct_read "$MNT/latest/random.bin" "$o" 4096
	[ "$RC" -eq 0 ] || fail "offline read at $o of a cached frame: $(cat "$T/err")"
	check_piece "$SRC/random.bin" "$o" 4096
done
direct_read "$MNT/latest/random.bin" $((MIB * 1048576 - 70000)) 4096
[ "$RC" -ne 0 ] || fail "an uncached frame read offline"
unmount "$MNT" "$MOUNT_PID"
log "a tampered frame entry in the disk cache is dropped and fetched again"
E=$(frame_entry)
printf '\xff' | dd of="$E" bs=1 seek=$(($(stat -c %s "$E") - 20)) conv=notrunc status=none
em_mount_fg "$STORE" "$MNT" "$T/dc3.log" --cache-dir "$CACHE"
preads "$SRC/random.bin" "$MNT/latest/random.bin" 300 9
for o in 100000 700000 1500000; do
	dd_read "$MNT/latest/random.bin" "$o" 4096
	check_piece "$SRC/random.bin" "$o" 4096
done
unmount "$MNT" "$MOUNT_PID"
log "PASS"
