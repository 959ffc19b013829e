#!/usr/bin/env bash
# label: local
# seal_dry_run.sh — embassy seal --dry-run on a local store:
#   1. a dry run with only the reader's passphrase (no sealer key) leaves the store's object
#      listing (names, sizes, mtimes) exactly as it was: no pack, index, tree, manifest, head,
#      nor prune's marker;
#   2. its figures are those of the real seal that follows with the same options (--exclude,
#      repeated content, a hard link): files, dirs, bytes, chunks, chunks_new,
#      bytes_new_plain, bytes_new_stored, packs_new, trees_new, excluded;
#   3. after a change, the dry run deduplicates against the store's index for real: it
#      predicts the next seal's few new chunks and bytes exactly, and nothing on an
#      unchanged tree;
#   4. the text output says nothing was written; --help and the man page document it.
. "$(dirname "$0")/lib.sh"

STORE=$T/store
SRC=$T/src
expect_rc 0 em_init "$STORE"
mktree "$SRC" --seed 5 --small --no-socket --big-dir 300
mkdir -p "$SRC/dup/a" "$SRC/dup/b" "$SRC/skipme"
head -c 3000000 /dev/urandom >"$SRC/dup/a/same.bin"
cp "$SRC/dup/a/same.bin" "$SRC/dup/b/same.bin" # the same chunks twice in one seal
ln "$SRC/dup/a/same.bin" "$SRC/dup/hardlink.bin"
head -c 500000 /dev/urandom >"$SRC/skipme/big.bin"

FIELDS='files dirs symlinks bytes chunks chunks_new bytes_new_plain bytes_new_stored packs_new trees_new excluded'
# figures FILE: the summary's figures, one "name=value" a field
figures() {
	local f out=""
	for f in $FIELDS; do out+="$f=$(json_get "$1" "d['$f']") "; done
	echo "$out"
}

log "1. a dry run with a reader's credential writes nothing"
before=$(store_listing "$STORE")
expect_rc 0 em_read seal "$STORE" "$SRC" --dry-run --exclude skipme --json
cp "$T/out" "$T/dry1.json"
assert_eq "True" "$(json_get "$T/dry1.json" 'd["dry_run"]')" "dry_run in the summary"
assert_eq "False" "$(json_get "$T/dry1.json" '"snapshot" in d')" "a dry run names no snapshot"
assert_eq "$before" "$(store_listing "$STORE")" "the dry run changed the store"
[ "$(json_get "$T/dry1.json" 'd["chunks_new"]')" -gt 0 ] || fail "nothing new before the first seal?"

log "2. the real seal that follows does what the dry run said"
expect_rc 0 em_seal "$STORE" "$SRC" --exclude skipme --json
cp "$T/out" "$T/seal1.json"
assert_eq "$(figures "$T/dry1.json")" "$(figures "$T/seal1.json")" "dry run vs seal figures"
assert_eq 1 "$(json_get "$T/seal1.json" 'd["excluded"]')" "one entry excluded"
# the repeated 3 MB file and the hard link are counted but not new twice
dup=$(json_get "$T/seal1.json" 'd["chunks"] - d["chunks_new"]')
[ "$dup" -gt 0 ] || fail "the repeated content was not deduplicated within the seal"
expect_rc 0 em_read restore "$STORE" latest "$T/r1"
rm -r "$T/r1/skipme" 2>/dev/null && fail "the excluded directory was sealed"
cmp "$SRC/dup/b/same.bin" "$T/r1/dup/b/same.bin" || fail "restored bytes differ"
cmp "$SRC/dup/hardlink.bin" "$T/r1/dup/hardlink.bin" || fail "restored hard link differs"

log "3. after a change: exact prediction against the store's index; nothing when unchanged"
head -c 700000 /dev/urandom >"$SRC/dup/new.bin"
printf 'appended\n' >>"$SRC/dup/a/same.bin" # changes the hard link's content too
before=$(store_listing "$STORE")
expect_rc 0 em_seal "$STORE" "$SRC" --dry-run --exclude skipme --json # the sealer key works too
cp "$T/out" "$T/dry2.json"
assert_eq "$before" "$(store_listing "$STORE")" "the second dry run changed the store"
expect_rc 0 em_seal "$STORE" "$SRC" --exclude skipme --json
cp "$T/out" "$T/seal2.json"
assert_eq "$(figures "$T/dry2.json")" "$(figures "$T/seal2.json")" "dry run vs seal after a change"
new=$(json_get "$T/seal2.json" 'd["chunks_new"]')
all=$(json_get "$T/seal2.json" 'd["chunks"]')
[ "$new" -gt 0 ] && [ "$new" -lt $((all / 2)) ] ||
	fail "expected a few new chunks of $all after a small change, got $new"
expect_rc 0 em_read seal "$STORE" "$SRC" --dry-run --exclude skipme --json
assert_eq 0 "$(json_get "$T/out" 'd["chunks_new"]')" "new chunks on an unchanged tree"
assert_eq 0 "$(json_get "$T/out" 'd["bytes_new_stored"]')" "new bytes on an unchanged tree"
assert_eq 0 "$(json_get "$T/out" 'd["trees_new"]')" "new listings on an unchanged tree"

log "4. text output, --help, man page"
before=$(store_listing "$STORE")
expect_rc 0 em_read seal "$STORE" "$SRC" --dry-run --exclude skipme
assert_grep '^dry run: nothing was written to ' "$T/out" "the text output"
assert_grep '^would upload 0 new chunks of ' "$T/out" "the text output's upload line"
assert_eq "$before" "$(store_listing "$STORE")" "the text dry run changed the store"
expect_rc 0 em seal --help
assert_grep '^  --dry-run ' "$T/out" "--dry-run in seal --help"
expect_rc 0 em help --man seal
assert_grep 'fB\\-\\-dry\\-run' "$T/out" "--dry-run among the man page's options"
expect_rc 0 em_read verify "$STORE" -q
log "OK"
