#!/bin/bash
# label: local
# Store formats: `init` makes the highest format (2); `init --format 1` makes a format 1 store
# that later seals keep writing as format 1 (descriptor, head pointer), and both read back
# byte for byte; an unsupported --format is a usage error.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
mktree "$SRC" --seed 11 --no-socket >/dev/null

envelope_format() { # OBJECT: the "format" member of a signed envelope
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["format"])' "$1"
}

for fmt in default 1 2; do
	STORE=$T/store-$fmt
	rm -f "$SEALER"
	if [ "$fmt" = default ]; then expect_rc 0 em_init "$STORE"; want=2
	else expect_rc 0 em_init "$STORE" --format "$fmt"; want=$fmt; fi
	assert_eq "$want" "$(envelope_format "$STORE/embassy.json")" "descriptor format ($fmt)"
	expect_rc 0 em_seal "$STORE" "$SRC"
	expect_rc 0 em_seal "$STORE" "$SRC" # a second seal keeps the store's format
	assert_eq "$want" "$(envelope_format "$STORE/embassy.json")" "descriptor format after seals"
	assert_eq "$want" "$(envelope_format "$STORE/heads/latest")" "head pointer format ($fmt)"
	expect_rc 0 em_read restore "$STORE" latest "$T/r-$fmt"
	"$TREECMP" "$SRC" "$T/r-$fmt" || fail "format $fmt: restore differs from the source"
	expect_rc 0 em_read verify "$STORE" --read-data
	log "format $fmt: sealed twice, restored and verified"
done

rm -f "$SEALER"
expect_rc 2 em_init "$T/store-3" --format 3
expect_one_error_line
[ ! -e "$T/store-3/embassy.json" ] || fail "--format 3 created a store"
log "PASS"
