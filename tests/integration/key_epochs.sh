#!/bin/bash
# label: mount
# timeout: 400
# Key epochs (docs/KEYS.md 4.10, FORMAT.md 2.4), end to end on a local store:
#  - seal, then 'key rotate' leaving recipient r2 out, then seal again;
#  - r2 (even with a kept copy of its old entry, which the host may give back) reads the
#    snapshot sealed before the rotation byte for byte, and is refused the new one with a
#    clear line (exit 4), never garbage; 'snapshots' shows it the old one only;
#  - the recipient, passphrase and quorum that stayed read both: restore and mount, byte
#    compared; verify is clean;
#  - the new epoch stores the data once more (ids keyed per epoch); the sealer key file holds
#    the new key; a copy of the old sealer key file is refused (it would seal for r2);
#  - a rotation that cannot wrap an entry that stays changes nothing;
#  - the host serving r1 only its pre-rotation entry: refused (exit 4), never wrong data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mktree "$SRC" --seed 31 --small --no-socket
for k in o1 o2 o3 r1 r2; do
	expect_rc 0 em keygen "$T/$k.key"
done
expect_rc 0 em_init "$STORE" --recipient "$T/r1.key.pub" \
	--quorum 2 --officer "$T/o1.key.pub" --officer "$T/o2.key.pub" --officer "$T/o3.key.pub"
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --recipient "$T/r2.key.pub"
R2=$(cat "$T/out")
[[ $R2 =~ ^keys/rcpt-[0-9a-f]{16}$ ]] || fail "key add printed '$R2'"
R1=$(cd "$STORE" && ls keys | grep '^rcpt-' | grep -v "${R2#keys/}")
for k in o1 o2 o3 r1 r2; do
	expect_rc 0 em key pin "$T/$k.key" --sealer-key "$SEALER"
done
expect_rc 0 em_seal "$STORE" "$SRC"
cp -a "$SRC" "$T/src-before"
cp "$SEALER" "$T/sealer-before.key"
mkdir "$T/kept"
cp "$STORE/$R2" "$STORE/keys/$R1" "$T/kept/" # what a host (or a holder) may keep
expect_rc 0 em_read snapshots "$STORE" --json
S1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' <"$T/out")
[ -n "$S1" ] || fail "no snapshot id in: $(cat "$T/out")"
packs_bytes() { du -sb "$STORE/packs" | cut -f1; }
BEFORE=$(packs_bytes)

log "a rotation that cannot wrap an entry that stays changes nothing"
ls "$STORE/keys" >"$T/keys-before"
expect_rc 4 em key rotate "$STORE" --sealer-key "$SEALER" --remove "$R2" \
	--officer "$T/o1.key.pub" --officer "$T/o2.key.pub" --officer "$T/o3.key.pub" \
	--passphrase-file "$PASSFILE" # r1's public key missing
assert_grep "recipient entry keys/$R1 stays, but its recipient's public key is not given" "$T/err"
expect_rc 4 em key rotate "$STORE" --sealer-key "$SEALER" --remove "$R2" \
	--recipient "$T/r1.key.pub" --officer "$T/o1.key.pub" --officer "$T/o2.key.pub" \
	--officer "$T/o3.key.pub" # the passphrase missing
assert_grep 'passphrase entry keys/pass-[0-9a-f]{16} stays, but no passphrase was given' "$T/err"
expect_rc 6 em key rotate "$STORE" --sealer-key "$SEALER" --remove rcpt-0000000000000000 \
	--recipient "$T/r1.key.pub"
ls "$STORE/keys" | cmp -s - "$T/keys-before" || fail "a refused rotation changed keys/"
cmp -s "$SEALER" "$T/sealer-before.key" || fail "a refused rotation changed the sealer key"

log "rotate: r2 left out; r1, the passphrase and the quorum stay"
expect_rc 0 em key rotate "$STORE" --sealer-key "$SEALER" --remove "$R2" \
	--recipient "$T/r1.key.pub" --officer "$T/o1.key.pub" --officer "$T/o2.key.pub" \
	--officer "$T/o3.key.pub" --passphrase-file "$PASSFILE"
[ "$(grep -c '' "$T/out")" = 3 ] || fail "rotate should print 3 new entries: $(cat "$T/out")"
assert_grep "^keys/${R1}-[0-9a-f]{16}\$" "$T/out"
[ ! -e "$STORE/$R2" ] && [ ! -e "$STORE/keys/$R1" ] || fail "old entries still there"
assert_grep '^epoch 1 [0-9a-f]{64}$' "$SEALER"
[ "$(stat -c %a "$SEALER")" = 600 ] || fail "the sealer key file lost its mode"
expect_rc 4 em ls "$STORE" latest --key-file "$T/r2.key" # r2 has no entry at all now
expect_one_error_line

log "seal under the new epoch: the data is stored once more"
printf 'changed\n' >>"$SRC/$(cd "$SRC" && find . -type f | sort | sed -n 1p)"
printf 'after the rotation\n' >"$SRC/after.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
AFTER=$(packs_bytes)
[ $((AFTER - BEFORE)) -ge $((BEFORE * 8 / 10)) ] ||
	fail "a new epoch shares data with the old one: packs grew $BEFORE -> $AFTER bytes"
expect_rc 0 em_read snapshots "$STORE" --json
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <"$T/out")" = 2 ] ||
	fail "two snapshots expected: $(cat "$T/out")"

log "the old sealer key file cannot seal any more (it would seal for r2)"
chmod 600 "$T/sealer-before.key"
expect_rc 4 em seal "$STORE" "$SRC" --sealer-key "$T/sealer-before.key"
assert_grep 'sealer key file does not hold' "$T/err"

log "r2 with a kept entry: the old snapshot yes, the new one refused"
cp "$T/kept/${R2#keys/}" "$STORE/$R2"
expect_rc 0 em restore "$STORE" "$S1" "$T/r2-old" --key-file "$T/r2.key"
"$TREECMP" "$T/src-before" "$T/r2-old" || fail "r2's restore of the old snapshot differs"
expect_rc 4 em cat "$STORE" latest:after.txt --key-file "$T/r2.key"
expect_one_error_line
assert_grep 'sealed under a key epoch this key does not hold' "$T/err"
[ ! -s "$T/out" ] || fail "r2 got output for the new snapshot"
expect_rc 4 em restore "$STORE" latest "$T/r2-new" --key-file "$T/r2.key"
[ ! -e "$T/r2-new/after.txt" ] || fail "r2 restored a file of the new epoch"
expect_rc 0 em snapshots "$STORE" --key-file "$T/r2.key"
assert_grep "^[ *]+${S1:0:12} " "$T/out"
[ "$(grep -cE '^[ *]+[0-9a-f]{12} ' "$T/out")" = 1 ] || fail "r2 lists $(cat "$T/out")"
assert_grep 'sealed under a key epoch this key does not hold are not shown' "$T/err"
rm "$STORE/$R2"

log "those who stayed read both epochs: restore (recipient, passphrase, quorum) and mount"
expect_rc 0 em restore "$STORE" "$S1" "$T/r1-old" --key-file "$T/r1.key"
"$TREECMP" "$T/src-before" "$T/r1-old" || fail "r1's restore of the old snapshot differs"
expect_rc 0 em restore "$STORE" latest "$T/r1-new" --key-file "$T/r1.key"
"$TREECMP" "$SRC" "$T/r1-new" || fail "r1's restore of the new snapshot differs"
expect_rc 0 em_read restore "$STORE" latest "$T/pass-new"
"$TREECMP" "$SRC" "$T/pass-new" || fail "the passphrase's restore differs"
expect_rc 0 em cat "$STORE" latest:after.txt --key-file "$T/o1.key" --key-file "$T/o3.key"
assert_eq 'after the rotation' "$(cat "$T/out")" "the quorum reads the new epoch"
MNT=$T/mnt
expect_rc 0 em_mount "$STORE" "$MNT"
"$TREECMP" "$SRC" "$MNT/latest" || fail "the mount's latest differs from the source"
OLD=$(ls "$MNT/snapshots" | sed -n 1p)
"$TREECMP" "$T/src-before" "$MNT/snapshots/$OLD" || fail "the mount's old snapshot differs"
unmount "$MNT"
expect_rc 0 em verify "$STORE" --sealer-key "$SEALER" --read-data
expect_rc 0 em verify "$STORE" --key-file "$T/r1.key" --read-data

log "the host serves r1 only its pre-rotation entry: old yes, new refused"
NEW_R1=$(cd "$STORE" && ls keys | grep "^${R1}-")
mv "$STORE/keys/$NEW_R1" "$T/new-r1"
cp "$T/kept/$R1" "$STORE/keys/$R1"
F1=$(cd "$T/src-before" && find . -type f | sort | sed -n 1p | sed 's|^\./||')
expect_rc 0 em cat "$STORE" "$S1:$F1" --key-file "$T/r1.key"
assert_files_eq "$T/src-before/$F1" "$T/out" "r1 with its old entry reads the old snapshot"
expect_rc 4 em cat "$STORE" latest:after.txt --key-file "$T/r1.key"
expect_one_error_line
log "both entries served: the newer epoch wins"
mv "$T/new-r1" "$STORE/keys/$NEW_R1"
expect_rc 0 em cat "$STORE" latest:after.txt --key-file "$T/r1.key"
assert_eq 'after the rotation' "$(cat "$T/out")" "r1 with both entries"
log "ok"
