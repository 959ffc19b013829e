#!/bin/bash
# label: local
# Tampering: a flipped byte inside a pack record is found by verify --read-data (exit 7,
# the report names the affected path) and fails the restore of that file, with a clear
# error, while the other files restore; a deleted pack is reported by verify alone.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/docs" "$SRC/data"
# the victim fills most of the one data pack, so a byte in the pack's middle is its
head -c $((3 << 20)) /dev/urandom >"$SRC/data/victim.bin"
for i in 1 2 3; do printf 'document %s\n' "$i" >"$SRC/docs/doc$i.txt"; done
ln -s ../docs/doc1.txt "$SRC/data/link"

expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read verify "$STORE" --read-data
cp -a "$STORE" "$T/store-copy"

PACK=$(find "$STORE/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
SIZE=$(stat -c %s "$PACK")
[ "$SIZE" -gt $((2 << 20)) ] || fail "largest pack is only $SIZE bytes"
OFF=$((SIZE / 2))
log "flipping the byte at $OFF of $PACK ($SIZE bytes)"
python3 - "$PACK" "$OFF" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY

log "verify without --read-data sees whole records only by presence: still a valid layout"
run em_read verify "$STORE"
log "verify (structure only) exit $RC"

log "verify --read-data → 7, naming the path"
expect_rc 7 em_read verify "$STORE" --read-data
assert_grep 'victim\.bin' "$T/out" "verify report names the damaged file"
expect_rc 7 em_read verify "$STORE" --read-data --json
assert_eq "False" "$(json_get "$T/out" 'd["ok"]')" "verify --json ok"

log "restore: the damaged file fails with a clear error, the others restore"
run em_read restore "$STORE" latest "$T/r"
[ "$RC" -ne 0 ] || fail "restore of a tampered snapshot exited 0"
assert_grep 'victim\.bin' "$T/err" "restore names the damaged file"
grep -q '^embassy: error: ' "$T/err" || fail "no error line from restore"
for f in docs/doc1.txt docs/doc2.txt docs/doc3.txt; do
	assert_files_eq "$SRC/$f" "$T/r/$f" "undamaged $f restored"
done
[ "$(readlink "$T/r/data/link")" = ../docs/doc1.txt ] || fail "symlink beside the damaged file"
if [ -e "$T/r/data/victim.bin" ] && cmp -s "$SRC/data/victim.bin" "$T/r/data/victim.bin"; then
	fail "the damaged file was restored as if intact"
fi

log "cat of the damaged file fails (7), never silently short"
expect_rc 7 em_read cat "$STORE" latest:data/victim.bin

log "a deleted pack is reported by verify without --read-data"
rm "$(find "$T/store-copy/packs" -type f | head -1)"
expect_rc 7 em_read verify "$T/store-copy"
[ -s "$T/out" ] || fail "verify printed no report for a deleted pack"
head -5 "$T/out" >&2
log "PASS"
