#!/bin/bash
# label: hostile
# Attack: the host lists a flood of made-up names under keys/ (here 10,050 names of the form
# of quorum entries, empty objects). Every reader that unlocks with officer shares, `key
# share`, `key list` and the sealer's key administration list keys/: they used to hold every
# listed name. Now a listing stops at KEY_NAMES_MAX (10,000) names with one clear line and
# the integrity exit; nothing is changed; a passphrase holder (whose entry is read by name,
# not from the listing) still restores byte for byte; and once the host lists the truth again
# the officers' quorum opens the store.
. "$(dirname "$0")/hostile_lib.bash"

make_src
for k in o1 o2; do
	expect_rc 0 em keygen "$T/$k.key"
done
expect_rc 0 em_init "$STORE" --quorum 2 --officer "$T/o1.key.pub" --officer "$T/o2.key.pub"
for k in o1 o2; do
	expect_rc 0 em key pin "$T/$k.key" --sealer-key "$SEALER"
done
expect_rc 0 em_seal "$STORE" "$SRC"
for k in o1 o2; do
	expect_rc 0 em key share "$STORE" --key-file "$T/$k.key" --out "$T/$k.share"
done
store_listing "$STORE" | grep -v "^keys " >"$T/before"

mkdir "$T/flood"
python3 - "$T/flood" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(10050):
    open(os.path.join(d, "quorum-%016x" % (0xf000000 + i)), "w").close()
PY
cp -a "$T/flood/." "$STORE/keys/"
log "10,050 made-up quorum entry names listed under keys/"

expect_rc 7 em cat "$STORE" latest:docs/a.txt --share-file "$T/o1.share" \
	--share-file "$T/o2.share"
expect_one_error_line
assert_grep 'more than 10000 key entries' "$T/err" "the flood is named"
expect_rc 7 em key list "$STORE"
assert_grep 'more than 10000 key entries' "$T/err" "key list names the flood"
expect_rc 7 em key share "$STORE" --key-file "$T/o1.key" --out "$T/again.share"
[ ! -e "$T/again.share" ] || fail "key share wrote a share file from a flooded listing"

restore_to pass latest
[ "$RC" -eq 0 ] || fail "a passphrase restore under the flood: exit $RC ($(head -3 "$T/err"))"
"$TREECMP" "$SRC" "$RESTORED" || fail "the restored snapshot differs from the source"

log "the host lists the truth again: the quorum opens the store"
(cd "$T/flood" && find . -type f -name 'quorum-*' -printf '%f\n') | (cd "$STORE/keys" && xargs rm -f)
store_listing "$STORE" | grep -v "^keys " >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the store changed under the flood (beyond the names added)"
expect_rc 0 em cat "$STORE" latest:docs/a.txt --share-file "$T/o1.share" \
	--share-file "$T/o2.share"
assert_eq "register A" "$(cat "$T/out")" "the quorum reads after the flood"
finish
