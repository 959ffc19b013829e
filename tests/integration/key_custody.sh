#!/bin/bash
# label: local
# Key custody procedures of docs/KEYS.md, end to end on a local store:
#  - removing a recipient: its key file no longer opens the store (exit 4, one line);
#  - replacing an officer of a quorum (key add --quorum with the new officers, then key
#    remove of the old entry): the removed officer's key file and share files of the old
#    entry no longer count; the new quorum restores the source byte for byte;
#  - the limit of a removal: a copy of a removed entry (the host, or a former holder, may
#    keep one) still opens the store with the removed credential, and reads what was sealed
#    after the removal — the key epoch did not change;
#  - a key rotation (key epochs) lifts it: the kept entry and the old entry's share files
#    still read what was sealed before, and are refused (exit 4) what is sealed after;
#  - a stolen sealer key: a new store with a new sealer key, officers re-anchor their key
#    files (key pin the new fingerprint, delete the old trust line): the new store opens,
#    the old one (signed by the stolen key) is refused (7).
# And docs/KEYS.md names only tests that exist.
. "$(dirname "$0")/lib.sh"

log "every test docs/KEYS.md names exists"
grep -oE 'tests/[a-z]+/[a-z_]+\.(sh|c)' "$SRC_DIR/docs/KEYS.md" | sort -u >"$T/named"
[ "$(grep -c '' "$T/named")" -ge 5 ] || fail "docs/KEYS.md names too few tests"
while read -r f; do
	[ -f "$SRC_DIR/$f" ] || fail "docs/KEYS.md names $f, which does not exist"
done <"$T/named"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mktree "$SRC" --seed 21 --small --no-socket
for k in o1 o2 o3 o4 r1; do
	expect_rc 0 em keygen "$T/$k.key"
done
expect_rc 0 em_init "$STORE" --recipient "$T/r1.key.pub" --quorum 2 \
	--officer "$T/o1.key.pub" --officer "$T/o2.key.pub" --officer "$T/o3.key.pub"
for k in o1 o2 o3 o4 r1; do # enrolment: every key file anchored to the sealer's key
	expect_rc 0 em key pin "$T/$k.key" --sealer-key "$SEALER"
done
expect_rc 0 em_seal "$STORE" "$SRC"
Q1=$(cd "$STORE" && ls keys | grep '^quorum-')
R1=$(cd "$STORE" && ls keys | grep '^rcpt-')
expect_rc 0 em key share "$STORE" --key-file "$T/o1.key" --out "$T/o1-q1.share"
expect_rc 0 em key share "$STORE" --key-file "$T/o2.key" --out "$T/o2-q1.share"
mkdir "$T/kept"
cp "$STORE/keys/$Q1" "$STORE/keys/$R1" "$T/kept/" # what a host (or a holder) may keep
reseal() { # a new snapshot with a file that did not exist before the removals
	printf '%s\n' "$1" >"$SRC/after-$1.txt"
	expect_rc 0 em_seal "$STORE" "$SRC"
}

log "remove a recipient: its key file no longer opens the store"
expect_rc 0 em ls "$STORE" latest --key-file "$T/r1.key"
expect_rc 0 em key remove "$STORE" "$R1" --sealer-key "$SEALER"
[ ! -e "$STORE/keys/$R1" ] || fail "the recipient entry is still there"
expect_rc 4 em ls "$STORE" latest --key-file "$T/r1.key"
expect_one_error_line
assert_grep 'no key entry for key file' "$T/err"
reseal recipient
expect_rc 4 em cat "$STORE" latest:after-recipient.txt --key-file "$T/r1.key"
expect_one_error_line

log "replace officer o1 by o4: new 2-of-3 quorum entry, then the old one removed"
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --quorum 2 \
	--officer "$T/o2.key.pub" --officer "$T/o3.key.pub" --officer "$T/o4.key.pub"
Q2=$(cat "$T/out")
[[ $Q2 =~ ^keys/quorum-[0-9a-f]{16}$ ]] || fail "key add printed '$Q2'"
# both entries exist: nobody is locked out while the change is under way
expect_rc 0 em ls "$STORE" latest --key-file "$T/o1.key" --key-file "$T/o2.key"
expect_rc 0 em ls "$STORE" latest --key-file "$T/o2.key" --key-file "$T/o4.key"
expect_rc 0 em key remove "$STORE" "$Q1" --sealer-key "$SEALER"
expect_rc 0 em key list "$STORE"
[ "$(grep -c quorum "$T/out")" = 1 ] && assert_grep "^$Q2  quorum  2-of-3\$" "$T/out"
reseal officer
expect_rc 0 em restore "$STORE" latest "$T/r-new-quorum" --key-file "$T/o2.key" \
	--key-file "$T/o4.key"
"$TREECMP" "$SRC" "$T/r-new-quorum" || fail "restore by the new quorum differs from the source"

log "the removed officer no longer counts: key files and old share files refused"
expect_rc 4 em ls "$STORE" latest --key-file "$T/o1.key" --key-file "$T/o2.key"
expect_one_error_line
assert_grep 'quorum needs 2 officers, 1 given' "$T/err"
expect_rc 4 em ls "$STORE" latest --share-file "$T/o1-q1.share" --share-file "$T/o2-q1.share"
expect_one_error_line
expect_rc 4 em ls "$STORE" latest --key-file "$T/o1.key" # alone: no entry of its own
expect_one_error_line
expect_rc 0 em key share "$STORE" --key-file "$T/o4.key" --out "$T/o4-q2.share"
expect_rc 0 em cat "$STORE" latest:after-officer.txt --key-file "$T/o2.key" \
	--share-file "$T/o4-q2.share"
assert_eq officer "$(cat "$T/out")" "the new quorum reads the new snapshot"
expect_rc 0 em_read snapshots "$STORE" --json
python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])' <"$T/out" >"$T/s-officer"

log "the limit: a kept copy of a removed entry still opens old and new snapshots"
cp "$T/kept/$R1" "$STORE/keys/$R1"
expect_rc 0 em cat "$STORE" latest:after-officer.txt --key-file "$T/r1.key"
assert_eq officer "$(cat "$T/out")" "removed recipient with a kept entry"
rm "$STORE/keys/$R1"
cp "$T/kept/$Q1" "$STORE/keys/$Q1"
expect_rc 0 em cat "$STORE" latest:after-officer.txt --share-file "$T/o1-q1.share" \
	--share-file "$T/o2-q1.share"
assert_eq officer "$(cat "$T/out")" "removed quorum entry with kept shares"
rm "$STORE/keys/$Q1"

log "a key rotation ends that: kept entries and shares open nothing sealed after it"
expect_rc 0 em key rotate "$STORE" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--officer "$T/o2.key.pub" --officer "$T/o3.key.pub" --officer "$T/o4.key.pub"
reseal rotated
cp "$T/kept/$R1" "$STORE/keys/$R1"
expect_rc 0 em cat "$STORE" "$(cat "$T/s-officer")":after-officer.txt --key-file "$T/r1.key"
assert_eq officer "$(cat "$T/out")" "the removed recipient still reads what it could"
expect_rc 4 em cat "$STORE" latest:after-rotated.txt --key-file "$T/r1.key"
expect_one_error_line
assert_grep 'sealed under a key epoch this key does not hold' "$T/err"
rm "$STORE/keys/$R1"
cp "$T/kept/$Q1" "$STORE/keys/$Q1"
expect_rc 4 em cat "$STORE" latest:after-rotated.txt --share-file "$T/o1-q1.share" \
	--share-file "$T/o2-q1.share"
expect_one_error_line
rm "$STORE/keys/$Q1"
expect_rc 0 em cat "$STORE" latest:after-rotated.txt --key-file "$T/o2.key" \
	--key-file "$T/o4.key"
assert_eq rotated "$(cat "$T/out")" "the quorum that stayed reads the new epoch"

log "a stolen sealer key: a new store, officers re-anchored to the new signing key"
OLD_FPR=$(sed -n 's/^trust //p' "$T/o2.key")
NEWSTORE=$T/store-new
expect_rc 0 em init "$NEWSTORE" --sealer-key "$T/sealer-new.key" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1 --quorum 2 \
	--officer "$T/o2.key.pub" --officer "$T/o3.key.pub" --officer "$T/o4.key.pub"
expect_rc 0 em seal "$NEWSTORE" "$SRC" --sealer-key "$T/sealer-new.key"
expect_rc 7 em ls "$NEWSTORE" latest --key-file "$T/o2.key" --key-file "$T/o3.key"
assert_grep "trusts only $OLD_FPR" "$T/err" # still anchored to the old key only
for k in o2 o3; do
	expect_rc 0 em key pin "$T/$k.key" --sealer-key "$T/sealer-new.key"
	sed -i "/^trust $OLD_FPR\$/d" "$T/$k.key" # the stolen key is trusted no more
	[ "$(stat -c %a "$T/$k.key")" = 600 ] || fail "$k.key lost its mode"
	expect_rc 0 em key pin "$T/$k.key"
	[ "$(cat "$T/out")" != "$OLD_FPR" ] && [ "$(grep -c '' "$T/out")" = 1 ] ||
		fail "$k.key anchors: $(cat "$T/out")"
done
expect_rc 0 em restore "$NEWSTORE" latest "$T/r-newstore" --key-file "$T/o2.key" \
	--key-file "$T/o3.key"
"$TREECMP" "$SRC" "$T/r-newstore" || fail "restore from the new store differs from the source"
expect_rc 7 em ls "$STORE" latest --key-file "$T/o2.key" --key-file "$T/o3.key"
assert_grep "is signed by key $OLD_FPR" "$T/err" # by the stolen key: refused
log "ok"
