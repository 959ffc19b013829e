#!/bin/bash
# label: rw
# rw_json.sh — docs/JSON.md's `commit` and `status` sections are true: on a real --rw mount of
# a local store, the examples' commands (those naming "$MNT") are run through
# tests/integration/json_doc.py, which requires their output to have exactly the fields of
# the example and of the section's field table and runs every `$ ...` line; then a real
# conflict (a seal from home and the mount changing the same file) gives exit 3 and an
# object with the fields of the page's conflict example, conflicts[] included.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"
command -v jq >/dev/null || skip "jq is not installed (scripts/deps.sh --test installs it)"

STORE=$T/store
MNT=$T/mnt
export EMBASSY_RUNTIME_DIR=$T/run EMBASSY_STATE_DIR=$T/state
mkdir -p "$T/src/business"
printf 'id,name\n' >"$T/src/business/companies.csv"
expect_rc 0 em_init "$STORE" -q
expect_rc 0 em_seal "$STORE" "$T/src" --passphrase-file "$PASSFILE" -q
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$T/journal"

log "the commit and status examples against the real commands"
printf '1,Acme\n' >>"$MNT/business/companies.csv"
printf 'filing\n' >"$MNT/business/filing-0001.txt"
export MNT FRESH=$T/fresh PATH="$(dirname "$EMBASSY"):$PATH"
mkdir -p "$FRESH"
[ "$(command -v embassy)" = "$EMBASSY" ] || fail "embassy on PATH is not $EMBASSY"
python3 "$SRC_DIR/tests/integration/json_doc.py" "$SRC_DIR/docs/JSON.md" --mount --min 2 5 ||
	fail "docs/JSON.md's commit/status sections do not match the commands"

log "a conflict: exit 3, the fields of the documented conflict example"
printf '2,Home Ltd\n' >>"$T/src/business/companies.csv"
expect_rc 0 em_seal "$STORE" "$T/src" --passphrase-file "$PASSFILE" -q
printf '2,Recovery Ltd\n' >>"$MNT/business/companies.csv"
expect_rc 3 em commit "$MNT" --json
python3 - "$SRC_DIR/docs/JSON.md" "$T/out" <<'PY' || fail "the conflict example does not match"
import json, re, sys
doc = open(sys.argv[1]).read()
sec = doc[doc.index("\n## commit\n"):doc.index("\n## status\n")]
ex = [json.loads(l.strip()) for l in sec.splitlines()
      if l.startswith("    {") and '"conflicts":[{' in l]
assert len(ex) == 1, "no conflict example (an indented JSON line) in the commit section"
got = json.loads(open(sys.argv[2]).read())
for where, e, g in (("", ex[0], got), ("conflicts[0]", ex[0]["conflicts"][0], got["conflicts"][0])):
    if set(e) != set(g):
        sys.exit(f"{where}: doc {sorted(e)} vs output {sorted(g)}")
assert got["merged"] is True and got["conflicts"][0]["path"] == "business/companies.csv", got
PY
cp "$T/out" "$T/commit.json"
em status "$MNT" --json >"$T/status.json"
[ "$(jq -c .last_commit "$T/status.json")" = "$(jq -c . "$T/commit.json")" ] ||
	fail "status: last_commit is not what commit printed"
log "OK"
