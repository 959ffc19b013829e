#!/bin/bash
# label: mount
# prune repacking (docs/FORMAT.md 16.3.1) on a local store:
#   1. three snapshots sharing data in one pack; forget the first: prune --max-unused 0
#      copies the live records of the partly used packs into new packs, publishes the
#      relocation table in the signed list, deletes the old packs: the store shrinks by the
#      forgotten bytes; verify --read-data is clean; each kept snapshot restores and mounts
#      (read-only, empty cache) byte for byte;
#   2. a second round (a new seal deduplicating against moved records, another forget and
#      repack): the tables merge; everything still restores byte for byte;
#   3. the relocation table tampered with, then withheld: readers exit 7 (or EIO), never
#      show other bytes;
#   4. copy of the repacked store to a second store: it restores byte for byte there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

STORE=$T/store
packs_bytes() {
	find "$1/packs" -type f ! -name '.tmp.*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}
one_reloc() {
	local n
	n=$(find "$STORE/relocs" -type f ! -name '.tmp.*' | wc -l)
	assert_eq 1 "$n" "one relocation table in the store"
	find "$STORE/relocs" -type f ! -name '.tmp.*'
}
check_snap() { # ID SRC-DIR WHAT
	rm -rf "$T/r"
	expect_rc 0 em_read restore "$STORE" "${1:0:12}" "$T/r"
	"$TREECMP" "$2" "$T/r" || fail "$3 does not restore byte for byte"
}
check_mount() { # ID SRC-DIR WHAT
	em_mount_fg "$STORE" "$T/mnt" "$T/mount.log" --snapshot "${1:0:12}" --cache-size 0
	"$TREECMP" "$2" "$T/mnt" || fail "$3 does not read byte for byte through the mount"
	unmount "$T/mnt" "$MOUNT_PID"
}

expect_rc 0 em_init "$STORE"
mkdir -p "$T/w/docs/sub"
for f in a b c d; do head -c $((1 << 20)) /dev/urandom >"$T/w/$f.bin"; done
for i in $(seq 1 30); do printf 'note %s\n' "$i" >"$T/w/docs/sub/n$i.txt"; done
head -c 3000 /dev/urandom >"$T/w/docs/small.bin"
snap() { # N: seal the working tree, keep a copy of it as $T/sN
	rm -rf "$T/s$1"
	cp -a "$T/w" "$T/s$1"
	expect_rc 0 em_seal "$STORE" "$T/w" --json
	ID[$1]=$(json_get "$T/out" 'd["snapshot"]')
}
snap 1
rm "$T/w/b.bin" "$T/w/d.bin"
head -c $((1 << 20)) /dev/urandom >"$T/w/e.bin"
snap 2
rm "$T/w/a.bin"
head -c $((1 << 20)) /dev/urandom >"$T/w/f.bin"
echo changed >>"$T/w/docs/sub/n1.txt"
snap 3
before=$(packs_bytes "$STORE")

log "1. forget the first snapshot; prune --max-unused 0 repacks"
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" "${ID[1]:0:12}" --json
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --max-unused 0 --dry-run --json
[ "$(json_get "$T/out" 'd["packs_repacked"]')" -ge 1 ] || fail "a dry run counts no repack"
assert_eq "$before" "$(packs_bytes "$STORE")" "a dry run changes nothing"
[ ! -d "$STORE/relocs" ] || [ -z "$(ls "$STORE/relocs")" ] || fail "a dry run wrote a table"
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --max-unused 0 --json
cp "$T/out" "$T/prune1.json"
after=$(packs_bytes "$STORE")
log "repacked $(json_get "$T/prune1.json" 'd["packs_repacked"]') pack(s), $(json_get "$T/prune1.json" 'd["bytes_repacked"]') bytes copied; pack bytes $before -> $after"
[ "$(json_get "$T/prune1.json" 'd["packs_repacked"]')" -ge 1 ] || fail "nothing repacked"
assert_eq 2 "$(json_get "$T/prune1.json" 'd["snapshots"]')" "each live snapshot counted once"
# b.bin and d.bin (2 MiB, incompressible) were only in the forgotten snapshot
[ "$after" -le $((before - (2 << 20) + 65536)) ] || fail "the store did not shrink by b and d"
[ "$after" -ge $((4 << 20)) ] || fail "prune deleted data a kept snapshot needs"
R1=$(one_reloc)
expect_rc 0 em_read verify "$STORE" --read-data
check_snap "${ID[2]}" "$T/s2" "snapshot 2"
check_snap "${ID[3]}" "$T/s3" "snapshot 3"
check_mount "${ID[2]}" "$T/s2" "snapshot 2"
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --max-unused 0 --json
assert_eq 0 "$(json_get "$T/out" 'd["packs_repacked"]')" "a second prune finds nothing to repack"

log "2. a seal after the repack, another forget and repack: the tables merge"
head -c $((1 << 20)) /dev/urandom >"$T/w/g.bin"
snap 4
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" "${ID[2]:0:12}" --json
expect_rc 0 em prune "$STORE" --sealer-key "$SEALER" --max-unused 0 --json
[ "$(json_get "$T/out" 'd["packs_repacked"]')" -ge 1 ] || fail "the second round repacked nothing"
R2=$(one_reloc)
[ "$R1" != "$R2" ] || fail "the second repack did not publish a new table"
expect_rc 0 em_read verify "$STORE" --read-data
check_snap "${ID[3]}" "$T/s3" "snapshot 3 (moved twice)"
check_snap "${ID[4]}" "$T/s4" "snapshot 4"
check_mount "${ID[3]}" "$T/s3" "snapshot 3 (moved twice)"

log "3. the relocation table tampered with, then withheld"
cp "$R2" "$T/reloc.good"
python3 - "$R2" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 1
open(p, "wb").write(bytes(b))
PY
rm -rf "$T/r"
expect_rc 7 em_read restore "$STORE" "${ID[3]:0:12}" "$T/r"
assert_grep "relocation table" "$T/err" "the restore says why"
if [ -d "$T/r" ]; then # whatever it wrote must be right
	(cd "$T/r" && find . -type f) | while read -r f; do
		cmp -s "$T/r/$f" "$T/s3/$f" || fail "$f restored with other bytes"
	done
fi
expect_rc 7 em_read verify "$STORE"
mv "$R2" "$T/reloc.moved"
expect_rc 7 em_read restore "$STORE" "${ID[3]:0:12}" "$T/r2"
assert_grep "missing" "$T/err" "a withheld table is reported as missing"
cp "$T/reloc.good" "$R2"
rm -f "$T/reloc.moved"
expect_rc 0 em_read verify "$STORE"

log "4. copy of the repacked store restores byte for byte at the destination"
expect_rc 0 em_read copy "$STORE" "$T/dst" --json
[ -n "$(ls "$T/dst/relocs")" ] || fail "copy did not carry the relocation table"
expect_rc 0 em_read verify "$T/dst" --read-data
rm -rf "$T/r"
expect_rc 0 em_read restore "$T/dst" "${ID[3]:0:12}" "$T/r"
"$TREECMP" "$T/s3" "$T/r" || fail "snapshot 3 does not restore byte for byte from the copy"
log PASS
