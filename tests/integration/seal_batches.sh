#!/usr/bin/env bash
# label: local
# seal_batches.sh — the seal reads files straight into its batches (store/seal_file.c,
# seal_batch.c): a batch is handed over when it holds 32 MiB or 1,024 chunks, and the bytes
# read past its last chunk move into the next one. What must not depend on that:
#   1. a tree that crosses batches both ways (a 40 MiB file; 1,100 small files in one
#      directory), with a sparse file and an empty one, restores byte for byte and verifies;
#   2. cut points do not depend on where a file's bytes lie in a batch: the big file sealed
#      alone, and the whole tree read again (--force-read), store no new chunk;
#   3. a directory's tree is sealed once its chunks are placed while the walk goes on into
#      the next directories (store/seal_walk.c tree jobs): 60 nested directories of small
#      files, one batch spanning many of them, hard links whose first name lies in a
#      directory already finished (tree queued or sealed) — restored byte for byte with the
#      links, and sealed again (--force-read): no new chunk, no new tree.
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

log "3. trees queued behind their chunks: many directories per batch, hard links across them"
D=$T/dirs
for i in $(seq -w 0 59); do
	mkdir -p "$D/d$i/sub"
	for j in 0 1 2 3 4 5 6 7; do head -c $((300 + 97 * j + 13 * 10#$i)) /dev/urandom >"$D/d$i/f$j"; done
	head -c 5000 /dev/urandom >"$D/d$i/sub/g"
done
: >"$D/d07/empty"
mkdir -p "$D/d33/emptydir"
ln "$D/d03/f1" "$D/d40/link1"		# first name in a directory finished long before
ln "$D/d03/f1" "$D/d59/sub/link1b"	# a third name, deeper
ln "$D/d58/f2" "$D/d58/sub/link2"	# first name in the parent, still being walked
ln "$D/d10/sub/g" "$D/link3"		# last name at the root
expect_rc 0 em_seal "$STORE" "$D" --json
expect_rc 0 em_read restore "$STORE" latest "$T/r3"
"$TREECMP" "$D" "$T/r3" || fail "the restored tree (links included) differs from the source"
expect_rc 0 em_seal "$STORE" "$D" --force-read --json
assert_eq 0 "$(json_get "$T/out" 'd["chunks_new"]')" "read again: no new chunk"
assert_eq 0 "$(json_get "$T/out" 'd["trees_new"]')" "read again: the same trees"
expect_rc 0 em_read verify "$STORE"
