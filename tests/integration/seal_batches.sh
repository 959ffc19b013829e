#!/usr/bin/env bash
# label: local
# seal_batches.sh — the seal reads files straight into its batches (store/seal_file.c,
# seal_batch.c): a batch is handed over when it holds 32 MiB or 1,024 chunks, and the bytes
# read past its last chunk move into the next one. What must not depend on that:
#   1. a tree that crosses batches both ways (a 40 MiB file; 1,100 small files in one
#      directory), with a sparse file and an empty one, restores byte for byte and verifies;
#   2. cut points do not depend on where a file's bytes lie in a batch: the big file sealed
#      alone, and the whole tree read again (--force-read), store no new chunk.
. "$(dirname "$0")/lib.sh"

STORE=$T/store
SRC=$T/src
mkdir -p "$SRC/big" "$SRC/small"
head -c $((40 << 20)) /dev/urandom >"$SRC/big/one.bin"
head -c $((1100 * 1093)) /dev/urandom | split -a 4 -b 1093 - "$SRC/small/f"
head -c $((3 << 20)) /dev/urandom >"$SRC/big/sparse.bin"
truncate -s $((40 << 20)) "$SRC/big/sparse.bin"
head -c $((2 << 20)) /dev/urandom | dd of="$SRC/big/sparse.bin" bs=1M seek=30 conv=notrunc \
	status=none
: >"$SRC/big/empty"
expect_rc 0 em_init "$STORE"

log "1. a tree across batches restores byte for byte"
expect_rc 0 em_seal "$STORE" "$SRC" --json
assert_eq 1103 "$(json_get "$T/out" 'd["files"]')" "every file sealed"
expect_rc 0 em_read restore "$STORE" latest "$T/r1"
"$TREECMP" "$SRC" "$T/r1" || fail "the restored tree differs from the source"
expect_rc 0 em_read verify "$STORE"

log "2. the same bytes at another place in a batch: the same chunks"
expect_rc 0 em_seal "$STORE" "$SRC/big/one.bin" --json
assert_eq 0 "$(json_get "$T/out" 'd["chunks_new"]')" "the big file alone: no new chunk"
expect_rc 0 em_seal "$STORE" "$SRC" --force-read --json
assert_eq 0 "$(json_get "$T/out" 'd["chunks_new"]')" "the tree read again: no new chunk"
expect_rc 0 em_read verify "$STORE"
