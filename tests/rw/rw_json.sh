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

log "nothing to commit: the base's id, seq and time (not seq 0 and 1970), said plainly"
BASE=$(em status "$MNT" --json | jq -r .base)
expect_rc 0 em commit "$MNT" --json
jq -e --arg b "$BASE" '.nothing and .snapshot == $b and .seq > 0 and .time_ns > 0 and
	(.time | startswith("1970") | not) and .entries == 0' "$T/out" >/dev/null ||
	{ cat "$T/out" >&2; fail "commit --json with nothing to commit"; }
em status "$MNT" --json >"$T/status.json"
[ "$(jq -r .base_time "$T/status.json")" = "$(jq -r .time "$T/out")" ] &&
	[ "$(jq -r .base_seq "$T/status.json")" = "$(jq -r .seq "$T/out")" ] ||
	fail "status's base_seq/base_time are not the base's (commit said $(cat "$T/out"))"
jq -e '.pid > 0' "$T/status.json" >/dev/null || fail "status has no daemon pid"
expect_rc 0 em commit "$MNT"
[ ! -s "$T/out" ] || fail "nothing to commit printed an id on stdout: $(cat "$T/out")"
assert_grep "nothing to commit: no snapshot written.*$BASE \\(seq [1-9]" "$T/err"
em status "$MNT" >"$T/status.txt"
assert_grep "^base: *$BASE \\(seq [1-9][0-9]*, sealed 20" "$T/status.txt"

log "nothing to commit on a store without a snapshot: null id, seq and time"
SEALER0=$SEALER SEALER=$T/sealer-empty.key # a store of its own needs a sealer key of its own
expect_rc 0 em_init "$T/empty" -q
expect_rc 0 em_mount_rw "$T/empty" "$T/mnt2" "$T/journal2"
expect_rc 0 em commit "$T/mnt2" --json
jq -e '.nothing and .snapshot == null and .seq == null and .time == null and
	.time_ns == null' "$T/out" >/dev/null || { cat "$T/out" >&2; fail "empty store: $(cat "$T/out")"; }
expect_rc 0 em commit "$T/mnt2"
assert_grep "nothing to commit: no snapshot written \\(the store has none yet\\)" "$T/err"
unmount "$T/mnt2"
SEALER=$SEALER0

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
