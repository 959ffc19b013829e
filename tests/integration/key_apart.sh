#!/bin/bash
# label: local
# Officers who sign apart (docs/KEYS.md 4.10a): key root --prepare writes an unsigned
# proposal; each officer, in a process of their own holding only their own signing key
# file, signs it with key root --proposal FILE --sign KEY; key root --apply FILE checks the
# threshold and writes it. 3 officers, threshold 2: one signature refused (nothing
# written); a tampered proposal refused; a signature made over a different proposal not
# counted; two signatures applied, readers walk the version. The same for rotate-signing:
# --prepare writes the new sealer key file and the proposal, officers sign apart, --apply
# publishes it: the new key seals, the old one is refused, the reader restores byte for byte.
. "$(dirname "$0")/lib.sh"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/registers"
head -c $((200 << 10)) /dev/urandom >"$SRC/registers/population.bin"
printf 'parcel 1\n' >"$SRC/registers/cadastre.txt"
for k in o1 o2 o3 ts; do
	mkdir -p "$T/$k" # each officer's own machine: their key file only
	expect_rc 0 em keygen --signing "$T/$k/$k.sig" -q
done
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q
# officer K signs FILE in a process of their own, in their own directory, with their key only
officer_signs() {
	cp "$2" "$T/$1/proposal.json"
	(cd "$T/$1" && expect_rc 0 "$EMBASSY" key root --proposal proposal.json --sign "$1.sig")
	cp "$T/$1/proposal.json" "$2"
}

log "key root --prepare: a proposal, nothing written to the store"
expect_rc 0 em key root "$STORE" --sealer-key "$SEALER" --threshold 2 --officer "$T/o1/o1.sig.pub" \
	--officer "$T/o2/o2.sig.pub" --officer "$T/o3/o3.sig.pub" --timestamp-key "$T/ts/ts.sig.pub" \
	--prepare "$T/p1.json"
[ ! -e "$STORE/roots" ] || fail "--prepare wrote to the store"
json_get "$T/p1.json" 'len(d["sigs"])' >"$T/n"
assert_eq 1 "$(cat "$T/n")" "the proposal carries the sealer's signature only"
cp "$T/p1.json" "$T/p1-unsigned.json"

log "one officer's signature is not the threshold"
officer_signs o1 "$T/p1.json"
assert_grep 'officers \(2 of them must sign' "$T/err"
expect_rc 4 em key root "$STORE" --passphrase-file "$PASSFILE" --apply "$T/p1.json"
assert_grep "is not signed as required" "$T/err"
[ ! -e "$STORE/roots" ] || fail "a proposal below the threshold was written"

log "a signature made over a different proposal does not count"
expect_rc 0 em key root "$STORE" --sealer-key "$SEALER" --threshold 1 --officer "$T/o1/o1.sig.pub" \
	--officer "$T/o2/o2.sig.pub" --officer "$T/o3/o3.sig.pub" --timestamp-key "$T/ts/ts.sig.pub" \
	--prepare "$T/other.json"
officer_signs o2 "$T/other.json"
python3 - "$T/p1.json" "$T/other.json" "$T/mixed.json" <<'PY'
import json, sys
p, o = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
p["sigs"] += [s for s in o["sigs"] if s not in p["sigs"] and s[0] not in [q[0] for q in p["sigs"]]]
json.dump(p, open(sys.argv[3], "w"), separators=(",", ":"), sort_keys=True)
PY
assert_eq 3 "$(json_get "$T/mixed.json" 'len(d["sigs"])')" "o2's transplanted signature"
expect_rc 4 em key root "$STORE" --passphrase-file "$PASSFILE" --apply "$T/mixed.json"
assert_grep "is not signed as required" "$T/err"
[ ! -e "$STORE/roots" ] || fail "a transplanted signature was counted"

log "a tampered proposal is refused"
officer_signs o3 "$T/p1.json"
python3 - "$T/p1.json" "$T/tampered.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["body"] = p["body"].replace('"threshold":2', '"threshold":1')
json.dump(p, open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)
PY
cmp -s "$T/p1.json" "$T/tampered.json" && fail "the tampering changed nothing"
expect_rc 4 em key root "$STORE" --passphrase-file "$PASSFILE" --apply "$T/tampered.json"
assert_grep "is not signed as required" "$T/err"
[ ! -e "$STORE/roots" ] || fail "a tampered proposal was written"

log "two officers of three, signed apart: applied"
expect_rc 0 em key root "$STORE" --passphrase-file "$PASSFILE" --apply "$T/p1.json"
assert_eq 1 "$(cat "$T/out")" "version applied"
cmp -s "$T/p1.json" "$STORE/roots/0000000000000001" || fail "roots/1 is not the proposal as signed"
expect_rc 0 em_read snapshots "$STORE"

log "rotate-signing apart: --prepare, two officers sign, --apply"
expect_rc 0 em key rotate-signing "$STORE" --state-dir "$T/officers" --passphrase-file "$PASSFILE" \
	--new-sealer-key "$T/s2.key" --valid-through 1 --prepare "$T/p2.json"
[ "$(stat -c %a "$T/s2.key")" = 600 ] || fail "new sealer key file not 0600"
[ ! -e "$STORE/roots/0000000000000002" ] || fail "--prepare wrote to the store"
officer_signs o2 "$T/p2.json"
officer_signs o3 "$T/p2.json"
expect_rc 0 em key rotate-signing "$STORE" --state-dir "$T/officers" --passphrase-file "$PASSFILE" \
	--new-sealer-key "$T/s2.key" --apply "$T/p2.json"
assert_eq 2 "$(cat "$T/out")" "version applied"
expect_rc 4 em_seal "$STORE" "$SRC" -q
printf 'sealed with the new key\n' >"$SRC/registers/new.txt"
expect_rc 0 em seal "$STORE" "$SRC" --sealer-key "$T/s2.key" -q
rm -rf "$T/r"
expect_rc 0 em_read restore "$STORE" latest "$T/r" -q
"$TREECMP" "$SRC" "$T/r" || fail "restore after the rotation differs from the source"
log PASS
