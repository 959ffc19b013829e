#!/bin/bash
# label: local
# timeout: 300
# Deduplication: re-sealing an unchanged tree writes no new pack; after 1 MiB changes in the
# middle of a 256 MiB file, a re-seal writes less than 8 MiB of new packs.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
BIG_MIB=256
[ "$SANITIZED" = 1 ] && BIG_MIB=64
mkdir -p "$SRC/sub"
# seeded_bytes N SEED: N pseudo-random bytes, the same for a seed (AES-CTR keystream)
seeded_bytes() {
	{ openssl enc -aes-128-ctr -nosalt -pass "pass:$2" -pbkdf2 </dev/zero 2>/dev/null || true; } |
		head -c "$1"
}
# seeded, so a failure can be reproduced with the same data
seeded_bytes $((BIG_MIB << 20)) embassy-dedup >"$SRC/big.bin"
printf 'small file\n' >"$SRC/sub/small.txt"
[ "$(stat -c %s "$SRC/big.bin")" -eq $((BIG_MIB << 20)) ] || fail "could not make big.bin"

expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" --json
cp "$T/out" "$T/s1.json"
packs1=$(count_packs "$STORE")
bytes1=$(packs_bytes "$STORE")
log "first seal: $packs1 packs, $bytes1 bytes ($(json_get "$T/s1.json" 'd["chunks"]') chunks)"
[ "$packs1" -gt 0 ] || fail "first seal wrote no pack"

expect_rc 0 em_seal "$STORE" "$SRC" --json
cp "$T/out" "$T/s2.json"
packs2=$(count_packs "$STORE")
bytes2=$(packs_bytes "$STORE")
log "unchanged re-seal: $((packs2 - packs1)) new packs, $((bytes2 - bytes1)) new bytes," \
	"packs_new=$(json_get "$T/s2.json" 'd["packs_new"]')"
assert_eq "$packs1" "$packs2" "pack objects after an unchanged re-seal"
assert_eq 0 "$(json_get "$T/s2.json" 'd["packs_new"]')" "packs_new of an unchanged re-seal"
assert_eq 0 "$(json_get "$T/s2.json" 'd["chunks_new"]')" "chunks_new of an unchanged re-seal"

# 1 MiB of other random bytes in the middle, in place
seeded_bytes $((1 << 20)) embassy-change |
	dd of="$SRC/big.bin" bs=1M seek=$((BIG_MIB / 2)) count=1 iflag=fullblock conv=notrunc status=none
expect_rc 0 em_seal "$STORE" "$SRC" --json
cp "$T/out" "$T/s3.json"
packs3=$(count_packs "$STORE")
bytes3=$(packs_bytes "$STORE")
new=$((bytes3 - bytes2))
log "1 MiB changed in $BIG_MIB MiB: $((packs3 - packs2)) new packs, $new new bytes" \
	"($(json_get "$T/s3.json" 'd["chunks_new"]') of $(json_get "$T/s3.json" 'd["chunks"]') chunks new)"
[ "$new" -lt $((8 << 20)) ] || fail "re-seal after a 1 MiB change wrote $new bytes of packs (limit 8 MiB)"
[ "$new" -gt 0 ] || fail "the change wrote nothing at all"

expect_rc 0 em_read restore "$STORE" latest "$T/r"
"$TREECMP" "$SRC" "$T/r" || fail "restore after the change differs"
log "PASS"
