#!/usr/bin/env bash
# label: local
# cli_json.sh — docs/JSON.md is true: every command it shows is run against a real store and
# its output must have exactly the fields of the example below it (per line type for
# streams, per element for listings, nested objects too); every `$ ... | jq ...` line of the
# page must succeed (tests/integration/json_doc.py; the commit/status examples, which need a
# --rw mount, are tests/rw/rw_json.sh's). Also: --json output is one value per line, the
# summary comes last.
. "$(dirname "$0")/lib.sh"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }
command -v jq >/dev/null || skip "jq is not installed (scripts/deps.sh --test installs it)"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/sub"
echo "population register" >"$SRC/pop.csv"
echo "cadastre" >"$SRC/sub/parcels.txt"
ln -s pop.csv "$SRC/zz-link" # after the files: the example shows a file first
expect_rc 0 em_init "$STORE" -q
expect_rc 0 em_seal "$STORE" "$SRC" --tag nightly -q
echo "cadastre v2" >"$SRC/sub/parcels.txt" # something for the diff example to show
expect_rc 0 em_seal "$STORE" "$SRC" --tag nightly -q

# What the examples run with: the store, its credentials, fresh places for new things.
export STORE SRC EMBASSY_STORE=$STORE EMBASSY_PASSPHRASE_FILE=$PASSFILE
export EMBASSY_SEALER_KEY=$SEALER EMBASSY_PROGRESS_INTERVAL=0 FRESH=$T/fresh
export PATH="$(dirname "$EMBASSY"):$PATH"
mkdir -p "$FRESH"
[ "$(command -v embassy)" = "$EMBASSY" ] || fail "embassy on PATH is not $EMBASSY"

python3 "$SRC_DIR/tests/integration/json_doc.py" "$SRC_DIR/docs/JSON.md" --min 8 10 ||
	fail "docs/JSON.md does not match the commands"

log "streams: with -q no progress lines, the summary alone"
expect_rc 0 em_seal "$STORE" "$SRC" --json -q
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "seal --json -q printed more than the summary"
assert_eq summary "$(jq -r .type "$T/out")" "seal --json -q"
log "OK"
