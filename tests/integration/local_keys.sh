#!/bin/bash
# label: local
# Key entries: a store made with a passphrase and a 2-of-3 quorum of officers. Two officers
# together (--key-file x2) or apart (key share + --share-file x2) restore it; one officer is
# refused with exit 4 and one clear line; a share of another quorum or store is refused;
# key add --recipient, key list (text and --json), key remove (the passphrase then fails;
# the last entry that can open the store is refused).
. "$(dirname "$0")/lib.sh"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
STORE2=$T/store2
mktree "$SRC" --big-dir 40 --seed 5 --small --no-socket

for i in 1 2 3 4; do
	expect_rc 0 em keygen "$T/o$i.key"
done
OFFICERS=(--officer "$T/o1.key.pub" --officer "$T/o2.key.pub" --officer "$T/o3.key.pub")

log "init with a passphrase and a 2-of-3 quorum, seal"
expect_rc 2 em_init "$STORE" --quorum 2 --officer "$T/o1.key.pub" # M > N
expect_one_error_line
expect_rc 0 em_init "$STORE" --quorum 2 "${OFFICERS[@]}"
expect_rc 0 em_seal "$STORE" "$SRC"
QUORUM=$(cd "$STORE" && ls keys | grep '^quorum-')
[[ $QUORUM =~ ^quorum-[0-9a-f]{16}$ ]] || fail "quorum entry named '$QUORUM'"
for i in 1 2 3; do # the entry names officers by recipient id only
	pk=$(sed -n 's/^public //p' "$T/o$i.key.pub")
	! grep -q "$pk" "$STORE/keys/$QUORUM" || fail "officer $i's public key is in the entry"
done
[ "$(json_get "$STORE/keys/$QUORUM" 'd["type"], d["m"], d["n"], len(d["shares"])')" = \
	"('quorum', 2, 3, 3)" ] || fail "quorum entry shape"

log "two officers together restore the source"
expect_rc 0 em restore "$STORE" latest "$T/r-together" --key-file "$T/o1.key" --key-file "$T/o3.key"
"$TREECMP" "$SRC" "$T/r-together" || fail "restore by two officers differs from the source"

log "one officer alone: exit 4, one clear line"
expect_rc 4 em restore "$STORE" latest "$T/r-one" --key-file "$T/o2.key"
expect_one_error_line
assert_grep 'quorum needs 2 officers, 1 given' "$T/err"
[ ! -e "$T/r-one" ] || fail "a refused restore created its target"
expect_rc 4 em ls "$STORE" latest --key-file "$T/o2.key" --key-file "$T/o2.key" # same officer twice
expect_one_error_line
assert_grep 'quorum needs 2 officers, 1 given' "$T/err"

log "officers apart: key share, then --share-file x2 (and mixed with --key-file)"
expect_rc 0 em key share "$STORE" --key-file "$T/o2.key" --out "$T/o2.share"
expect_rc 0 em key share "$STORE" --key-file "$T/o3.key" --out "$T/o3.share"
[ "$(stat -c %a "$T/o2.share")" = 600 ] || fail "share file is not 0600"
[ "$(sed -n 1p "$T/o2.share")" = embassy-quorum-share-v1 ] || fail "share file header"
[ "$(sed -n 2p "$T/o2.share")" = "entry keys/$QUORUM" ] || fail "share file entry line"
grep -qE '^share 02[0-9a-f]{64}$' "$T/o2.share" || fail "share file share line"
expect_rc 1 em key share "$STORE" --key-file "$T/o2.key" --out "$T/o2.share" # never overwrites
expect_one_error_line
expect_rc 4 em key share "$STORE" --key-file "$T/o4.key" --out "$T/o4.share" # not an officer
expect_one_error_line
expect_rc 0 em restore "$STORE" latest "$T/r-apart" --share-file "$T/o2.share" --share-file "$T/o3.share"
"$TREECMP" "$SRC" "$T/r-apart" || fail "restore from two share files differs from the source"
expect_rc 0 em restore "$STORE" latest "$T/r-mixed" --key-file "$T/o1.key" --share-file "$T/o3.share"
"$TREECMP" "$SRC" "$T/r-mixed" || fail "restore from a key file and a share file differs"
expect_rc 4 em ls "$STORE" latest --share-file "$T/o3.share"
expect_one_error_line
assert_grep 'quorum needs 2 officers, 1 given' "$T/err"
chmod 640 "$T/o3.share"
expect_rc 4 em ls "$STORE" latest --share-file "$T/o2.share" --share-file "$T/o3.share"
expect_one_error_line
chmod 600 "$T/o3.share"
printf 'embassy-quorum-share-v1\nentry keys/%s\nshare 02\n' "$QUORUM" >"$T/bad.share"
chmod 600 "$T/bad.share"
expect_rc 4 em ls "$STORE" latest --share-file "$T/bad.share" --share-file "$T/o3.share"
expect_one_error_line
expect_rc 4 em ls "$STORE" latest --key-file "$T/o1.key.pub" --key-file "$T/o3.key"
expect_one_error_line

log "a share of another store's quorum (same officers) is refused"
expect_rc 0 em init "$STORE2" --sealer-key "$T/sealer2.key" --quorum 2 "${OFFICERS[@]}"
expect_rc 0 em key share "$STORE2" --key-file "$T/o1.key" --out "$T/s2-o1.share"
expect_rc 4 em ls "$STORE" latest --share-file "$T/s2-o1.share" --share-file "$T/o2.share"
expect_one_error_line
assert_grep 'quorum needs 2 officers, 1 given' "$T/err"
# ... even relabelled as a share of this store's entry: the shares combine to a wrong key
sed "s|^entry .*|entry keys/$QUORUM|" "$T/s2-o1.share" >"$T/forged.share"
chmod 600 "$T/forged.share"
expect_rc 4 em ls "$STORE" latest --share-file "$T/forged.share" --share-file "$T/o2.share"
expect_one_error_line
assert_grep 'do not open quorum entry' "$T/err"

log "key add --recipient, then open with that key"
expect_rc 2 em key add "$STORE" --recipient "$T/o4.key.pub" # no sealer key
expect_one_error_line
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --recipient "$T/o4.key.pub"
RCPT=$(cat "$T/out")
[[ $RCPT =~ ^keys/rcpt-[0-9a-f]{16}$ ]] || fail "key add printed '$RCPT'"
expect_rc 1 em key add "$STORE" --sealer-key "$SEALER" --recipient "$T/o4.key.pub" # again
expect_one_error_line
expect_rc 0 em restore "$STORE" latest "$T/r-o4" --key-file "$T/o4.key"
"$TREECMP" "$SRC" "$T/r-o4" || fail "restore with the added recipient differs"

log "key list shows every entry"
expect_rc 0 em key list "$STORE"
cp "$T/out" "$T/list.txt"
[ "$(grep -c '' "$T/list.txt")" -eq 3 ] || fail "key list: expected 3 lines"
assert_grep '^keys/pass-[0-9a-f]{16}  passphrase$' "$T/list.txt"
assert_grep "^$RCPT  recipient\$" "$T/list.txt"
assert_grep "^keys/$QUORUM  quorum  2-of-3\$" "$T/list.txt"
expect_rc 0 em key list "$STORE" --json
[ "$(json_get "$T/out" 'sorted((e["type"], e.get("m"), e.get("n")) for e in d)')" = \
	"[('passphrase', None, None), ('quorum', 2, 3), ('recipient', None, None)]" ] ||
	fail "key list --json: $(cat "$T/out")"
expect_rc 5 em key list "$T/nowhere"
expect_one_error_line

log "key remove: the passphrase entry, after which the passphrase fails"
PASS_ENTRY=$(sed -n 's/^\(keys\/pass-[0-9a-f]*\) .*/\1/p' "$T/list.txt")
expect_rc 0 em_read ls "$STORE" latest
expect_rc 2 em key remove "$STORE" "$PASS_ENTRY" # no sealer key
expect_one_error_line
expect_rc 6 em key remove "$STORE" pass-0000000000000000 --sealer-key "$SEALER"
expect_one_error_line
expect_rc 0 em key remove "$STORE" "$PASS_ENTRY" --sealer-key "$SEALER"
[ ! -e "$STORE/$PASS_ENTRY" ] || fail "the passphrase entry is still there"
expect_rc 4 em_read ls "$STORE" latest
expect_one_error_line

log "key remove refuses the last entry that can open the store"
expect_rc 0 em key remove "$STORE" "${RCPT#keys/}" --sealer-key "$SEALER"
expect_rc 1 em key remove "$STORE" "$QUORUM" --sealer-key "$SEALER"
expect_one_error_line
assert_grep 'last entry' "$T/err"
[ -e "$STORE/keys/$QUORUM" ] || fail "the last entry was removed"
expect_rc 0 em ls "$STORE" latest --key-file "$T/o2.key" --key-file "$T/o3.key"

log "help texts"
for sub in "" add list remove share; do
	expect_rc 0 em key $sub --help
	assert_grep '^EXIT STATUS' "$T/out"
done
expect_rc 2 em key
expect_one_error_line
expect_rc 2 em key frobnicate "$STORE"
expect_one_error_line
log "ok"
