#!/bin/bash
# label: local
# key passwd (docs/KEYS.md "Changing a passphrase"): the old passphrase stops opening the
# store, the new one opens it and restores the source byte for byte, nothing outside keys/
# changes, the recipient entry and a second passphrase entry keep working. Refused with one
# clear line, the store unchanged: no sealer key, a wrong current passphrase, an entry the
# host tampered with, another store's entry planted under this store, a new passphrase equal
# to the old, a group-readable new passphrase file, an entry that is not a passphrase entry.
# A forgotten passphrase is replaced by key add + key remove with the sealer key. On a
# terminal (tests/tools/ptyplay.py): current passphrase, then the new one twice, never
# echoed; a mismatch changes nothing.
. "$(dirname "$0")/lib.sh"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mktree "$SRC" --seed 13 --small --no-socket
expect_rc 0 em keygen "$T/officer.key"
expect_rc 0 em_init "$STORE" --recipient "$T/officer.key.pub"
expect_rc 0 em_seal "$STORE" "$SRC"
OLD_ENTRY=$(cd "$STORE" && ls keys | grep '^pass-')
[[ $OLD_ENTRY =~ ^pass-[0-9a-f]{16}$ ]] || fail "passphrase entry named '$OLD_ENTRY'"

secret() { # FILE TEXT: a 0600 passphrase file
	printf '%s\n' "$2" >"$1"
	chmod 600 "$1"
}
secret "$T/new" "a new passphrase for the registers"
secret "$T/wrong" "not the passphrase"
data_listing() { (cd "$STORE" && find . -path ./keys -prune -o -type f -printf '%P %s %T@\n' |
	LC_ALL=C sort && find . -path ./keys -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort); }
keys_listing() { (cd "$STORE/keys" && sha256sum -- * | LC_ALL=C sort); }
data_listing >"$T/data.before"
keys_listing >"$T/keys.before"
unchanged_keys() { keys_listing | cmp -s - "$T/keys.before" || fail "keys/ changed: $1"; }
PW=(em key passwd "$STORE" --kdf-memory 8 --kdf-ops 1)

log "refused with one clear line, nothing changed"
expect_rc 2 "${PW[@]}" --passphrase-file "$PASSFILE" --new-passphrase-file "$T/new"
expect_one_error_line # no sealer key
assert_grep 'sealer-key' "$T/err"
expect_rc 4 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$T/wrong" \
	--new-passphrase-file "$T/new"
expect_one_error_line
assert_grep 'current passphrase does not open' "$T/err"
unchanged_keys "after a wrong passphrase"
expect_rc 1 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$PASSFILE"
expect_one_error_line
assert_grep 'is the current one' "$T/err"
secret "$T/open" "readable by others"
chmod 644 "$T/open"
expect_rc 4 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/open"
expect_one_error_line
assert_grep 'chmod 600' "$T/err"
RCPT=$(cd "$STORE" && ls keys | grep '^rcpt-')
expect_rc 2 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new" --entry "$RCPT"
expect_one_error_line
expect_rc 6 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new" --entry pass-0000000000000000
expect_one_error_line
expect_rc 2 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new" --key-file "$T/officer.key"
expect_one_error_line
expect_rc 2 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new" --recipient "$T/officer.key.pub"
expect_one_error_line
unchanged_keys "after refused commands"

log "an entry the host tampered with is refused, the store unchanged"
cp "$STORE/keys/$OLD_ENTRY" "$T/entry.saved"
python3 - "$STORE/keys/$OLD_ENTRY" <<'EOF'
import json, sys
p = sys.argv[1]
e = json.load(open(p))
ct = bytearray.fromhex(e["ct"])
ct[5] ^= 1
e["ct"] = ct.hex()
open(p, "w").write(json.dumps(e, sort_keys=True, separators=(",", ":")))
EOF
keys_listing >"$T/keys.tampered"
expect_rc 4 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new"
expect_one_error_line
assert_grep 'current passphrase does not open' "$T/err"
keys_listing | cmp -s - "$T/keys.tampered" || fail "keys/ changed after a tampered entry"
cp "$T/entry.saved" "$STORE/keys/$OLD_ENTRY"
unchanged_keys "restoring the entry"

log "another store's entry (same passphrase) planted here is refused"
expect_rc 0 em init "$T/other" --sealer-key "$T/other.key" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1
FOREIGN=$(cd "$T/other" && ls keys | grep '^pass-')
cp "$T/other/keys/$FOREIGN" "$STORE/keys/pass-0000000000000001"
expect_rc 7 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new" --entry pass-0000000000000001
expect_one_error_line
assert_grep "another store" "$T/err"
rm "$STORE/keys/pass-0000000000000001"
unchanged_keys "after the foreign entry"

log "change the passphrase: the new entry replaces the old, nothing else changes"
expect_rc 0 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--new-passphrase-file "$T/new"
NEW_ENTRY=$(cat "$T/out")
[[ $NEW_ENTRY =~ ^keys/pass-[0-9a-f]{16}$ ]] || fail "passwd printed '$NEW_ENTRY'"
[ "$NEW_ENTRY" != "keys/$OLD_ENTRY" ] || fail "the new entry has the old name"
[ ! -e "$STORE/keys/$OLD_ENTRY" ] || fail "the old entry is still there"
[ -f "$STORE/$NEW_ENTRY" ] || fail "the new entry is not in the store"
[ "$(ls "$STORE/keys" | grep -c '^pass-')" = 1 ] || fail "not exactly one passphrase entry"
[ "$(json_get "$STORE/$NEW_ENTRY" 'd["type"], d["memlimit"], d["opslimit"]')" = \
	"('passphrase', 8388608, 1)" ] || fail "new entry: $(cat "$STORE/$NEW_ENTRY")"
data_listing | cmp -s - "$T/data.before" || fail "objects outside keys/ changed"
expect_rc 4 em ls "$STORE" latest --passphrase-file "$PASSFILE"
expect_one_error_line
assert_grep 'wrong passphrase' "$T/err"
expect_rc 0 em restore "$STORE" latest "$T/r-new" --passphrase-file "$T/new"
"$TREECMP" "$SRC" "$T/r-new" || fail "restore with the new passphrase differs from the source"
expect_rc 0 em ls "$STORE" latest --key-file "$T/officer.key" # other entries untouched
[ -f "$STORE/keys/$RCPT" ] || fail "the recipient entry went away"

log "two passphrase entries: --entry changes only the one named, the new one via a command"
secret "$T/second" "the second custodian's passphrase"
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --passphrase-file "$T/second" \
	--kdf-memory 8 --kdf-ops 1
SECOND=$(cat "$T/out")
secret "$T/third" "the second custodian's new passphrase"
expect_rc 4 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$T/second" \
	--new-passphrase-file "$T/third" --entry "$NEW_ENTRY" # it does not open that one
expect_one_error_line
expect_rc 0 "${PW[@]}" --sealer-key "$SEALER" --passphrase-file "$T/second" \
	--new-passphrase-command "cat '$T/third'" --entry "${SECOND#keys/}"
THIRD=$(cat "$T/out")
[ ! -e "$STORE/$SECOND" ] || fail "the second custodian's old entry is still there"
expect_rc 4 em ls "$STORE" latest --passphrase-file "$T/second"
expect_rc 0 em ls "$STORE" latest --passphrase-file "$T/third"
expect_rc 0 em ls "$STORE" latest --passphrase-file "$T/new" # the first one untouched
[ -f "$STORE/$NEW_ENTRY" ] || fail "the first passphrase entry changed"
expect_rc 0 em -q key passwd "$STORE" --kdf-memory 8 --kdf-ops 1 --sealer-key "$SEALER" \
	--passphrase-file "$T/third" --new-passphrase-file "$T/second"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "-q key passwd was not silent"
[ ! -e "$STORE/$THIRD" ] || fail "-q: the old entry is still there"

log "a forgotten passphrase: key add a new one, key remove the old (sealer key only)"
secret "$T/fresh" "the passphrase after the old one was forgotten"
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --passphrase-file "$T/fresh" \
	--kdf-memory 8 --kdf-ops 1
FRESH=$(cat "$T/out")
expect_rc 0 em key remove "$STORE" "$NEW_ENTRY" --sealer-key "$SEALER"
expect_rc 4 em ls "$STORE" latest --passphrase-file "$T/new"
expect_rc 0 em restore "$STORE" latest "$T/r-fresh" --passphrase-file "$T/fresh"
"$TREECMP" "$SRC" "$T/r-fresh" || fail "restore after a forgotten passphrase differs"
data_listing | cmp -s - "$T/data.before" || fail "objects outside keys/ changed"

log "on a terminal: current passphrase, new one twice (a mismatch changes nothing)"
keys_listing >"$T/keys.before-tty"
TTY=(python3 "$SRC_DIR/tests/tools/ptyplay.py" "$EMBASSY" key passwd "$STORE" --kdf-memory 8
	--kdf-ops 1 --sealer-key "$SEALER" --
	"Current store passphrase: =the passphrase after the old one was forgotten"
	"New store passphrase: =typed on a terminal")
expect_rc 4 "${TTY[@]}" "Repeat passphrase: =typed on a termina1"
assert_grep 'passphrases differ' "$T/out"
keys_listing | cmp -s - "$T/keys.before-tty" || fail "a mismatched new passphrase changed keys/"
expect_rc 0 "${TTY[@]}" "Repeat passphrase: =typed on a terminal"
assert_grep 'keys/pass-[0-9a-f]{16}' "$T/out"
! grep -q 'typed on a terminal' "$T/out" || fail "a passphrase was echoed: $(cat "$T/out")"
[ ! -e "$STORE/$FRESH" ] || fail "the old entry is still there after a terminal passwd"
secret "$T/typed" "typed on a terminal"
expect_rc 0 em ls "$STORE" latest --passphrase-file "$T/typed"
expect_rc 4 em ls "$STORE" latest --passphrase-file "$T/fresh"

log "help"
expect_rc 0 em key passwd --help
assert_grep '^EXIT STATUS' "$T/out"
assert_grep 'new-passphrase-command' "$T/out"
log "ok"
