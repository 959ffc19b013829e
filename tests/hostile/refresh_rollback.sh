#!/bin/bash
# label: hostile
# Attack: the host rolls the head pointer back and waits for the sealer's nightly
# refresh-head to re-sign it, turning a stale head into a fresh, valid one. refresh-head must
#   - refuse a head below the sequence the sealer remembers publishing (7),
#   - refuse a head below the newest snapshot manifest in the store (7), even with
#     --without-state,
#   - not run at all without a remembered sequence unless told so (--without-state),
# and leave the rolled-back head untouched (not re-signed) whenever it refuses.
. "$(dirname "$0")/hostile_lib.bash"

SEALER_STATE=$T/sealer-state
sealer() { EMBASSY_STATE_DIR=$SEALER_STATE "$EMBASSY" "$@" --sealer-key "$SEALER"; }
make_src
expect_rc 0 em_init "$STORE"
expect_rc 0 sealer seal "$STORE" "$SRC"
cp "$STORE/heads/latest" "$T/head1"
printf 'changed\n' >>"$SRC/docs/a.txt"
expect_rc 0 sealer seal "$STORE" "$SRC"
cp "$STORE/heads/latest" "$T/head2"

refused() { # WHAT CODE: refused with CODE, and heads/latest not re-signed
	[ "$RC" -eq "$2" ] || { cat "$T/err" >&2; fail "$1: exit $RC, want $2"; }
	cmp -s "$STORE/heads/latest" "$T/served" || fail "$1: the served head was re-signed"
}

log "the host serves the old head (sequence 1)"
cp "$T/head1" "$STORE/heads/latest"
cp "$T/head1" "$T/served"
run sealer refresh-head "$STORE"
refused "sealer with its state" 7
assert_grep 'sequence 1 but 2 was seen before' "$T/err" "names the rollback"

log "another host of the sealer's, without state: refused unless told"
run env EMBASSY_STATE_DIR="$T/no-state" "$EMBASSY" refresh-head "$STORE" --sealer-key "$SEALER"
refused "no state" 1
assert_grep 'no remembered sequence' "$T/err" "says why"
assert_grep 'without-state' "$T/err" "names the override"
log "--without-state: still refused, a newer manifest is in the store"
run env EMBASSY_STATE_DIR="$T/no-state" "$EMBASSY" refresh-head "$STORE" --sealer-key "$SEALER" \
	--without-state
refused "without state, newer manifest" 7
assert_grep 'a snapshot with sequence 2 exists' "$T/err" "names the newer snapshot"

log "the host also hides the newer manifest: the sealer's state still refuses"
mkdir -p "$T/hidden"
for m in "$STORE"/snapshots/*; do
	cmp -s <(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["snapshot"])' "$T/head2") \
		<(basename "$m") && mv "$m" "$T/hidden/"
done
[ "$(ls "$T/hidden" | wc -l)" -eq 1 ] || fail "did not find the second manifest"
run sealer refresh-head "$STORE"
refused "sealer with its state, manifest hidden" 7
log "(the limit) no state, --without-state, everything newer hidden: re-signed, as documented"
run env EMBASSY_STATE_DIR="$T/no-state2" "$EMBASSY" refresh-head "$STORE" --sealer-key "$SEALER" \
	--without-state
[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "--without-state on a consistent-looking store: $RC"; }

log "the honest case: the real head is served again, refresh-head works"
mv "$T/hidden"/* "$STORE/snapshots/"
cp "$T/head2" "$STORE/heads/latest"
expect_rc 0 sealer refresh-head "$STORE" --valid-for 2d
assert_grep 'head sequence 2 refreshed' "$T/out" "refreshed the real head"
! cmp -s "$STORE/heads/latest" "$T/head2" || fail "the head was not re-signed"
expect_rc 0 em_read ls "$STORE" latest --require-fresh
finish
