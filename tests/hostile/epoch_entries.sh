#!/bin/bash
# label: hostile
# Attack: the host plays with key epochs (FORMAT.md 2.4). Key entries are not signed, and a
# recipient's public key is no secret, so the host can make a recipient entry of its own
# whose bundle claims a newer key epoch (with made-up keys; it knows only the store id and the
# signing key, both public), or serve a reader an entry from before a rotation, or put one
# epoch's snapshot under another's name. Each must fail closed: a clear refusal (exit 4, or 7
# for a swapped object), never a crash, never garbage presented as data, nothing restored.
. "$(dirname "$0")/hostile_lib.bash"

R1=$T/r1.key
expect_rc 0 em keygen "$R1"
make_src
expect_rc 0 em_init "$STORE" --recipient "$R1.pub"
expect_rc 0 em key pin "$R1" --sealer-key "$SEALER"
expect_rc 0 em_seal "$STORE" "$SRC"
OLD_ENTRY=$(cd "$STORE" && ls keys | grep '^rcpt-')
cp "$STORE/keys/$OLD_ENTRY" "$T/old-entry"
expect_rc 0 em key rotate "$STORE" --sealer-key "$SEALER" --recipient "$R1.pub" \
	--passphrase-file "$PASSFILE"
printf 'sealed under epoch 1\n' >"$SRC/new.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read snapshots "$STORE" --json
read -r S0 S1 < <(python3 -c 'import json,sys; print(*[s["id"] for s in json.load(sys.stdin)])' <"$T/out")
[ -n "$S0" ] && [ -n "$S1" ] || fail "two snapshots expected: $(cat "$T/out")"
reader() { "$EMBASSY" "$1" --key-file "$R1" "${@:2}"; }
expect_rc 0 reader cat "$STORE" latest:new.txt
assert_eq 'sealed under epoch 1' "$(cat "$T/out")"

log "a made-up entry claiming key epoch 9: refused, nothing restored, no garbage"
expect_rc 0 "$HOSTILE" forge-epoch-entry "$STORE" --recipient "$R1.pub" --epochs 9
expect_rc 4 reader cat "$STORE" latest:new.txt
expect_one_error_line
assert_grep 'sealed under a key epoch this key does not hold' "$T/err"
[ ! -s "$T/out" ] || fail "output for a snapshot the reader cannot open"
expect_rc 4 reader restore "$STORE" "$S0" "$T/r-forged"
[ -z "$(ls -A "$T/r-forged" 2>/dev/null)" ] || fail "something was restored with made-up keys"
rm "$STORE"/keys/rcpt-*-ffffffffffffffff
expect_rc 0 reader restore "$STORE" "$S0" "$T/r-ok"
assert_files_eq "$SRC/data/victim.bin" "$T/r-ok/data/victim.bin" "the genuine entry reads epoch 0"
expect_rc 0 reader cat "$STORE" latest:new.txt

log "the host serves only the pre-rotation entry: the old snapshot yes, the new one refused"
mkdir "$T/hidden"
mv "$STORE"/keys/rcpt-* "$T/hidden/"
cp "$T/old-entry" "$STORE/keys/$OLD_ENTRY"
expect_rc 0 reader cat "$STORE" "$S0:docs/a.txt"
assert_files_eq "$SRC/docs/a.txt" "$T/out"
expect_rc 4 reader cat "$STORE" latest:new.txt
expect_one_error_line
rm "$STORE/keys/$OLD_ENTRY"
mv "$T/hidden"/* "$STORE/keys/"

log "epoch 0's manifest served under epoch 1's name: refused (signed id), not read as latest"
cp "$STORE/snapshots/$S1" "$T/s1"
cp "$STORE/snapshots/$S0" "$STORE/snapshots/$S1"
expect_rc 7 reader cat "$STORE" latest:docs/a.txt
[ ! -s "$T/out" ] || fail "output from a swapped manifest"
cp "$T/s1" "$STORE/snapshots/$S1"
expect_rc 0 reader cat "$STORE" latest:new.txt
finish
