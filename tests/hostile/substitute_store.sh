#!/bin/bash
# label: hostile
# Attack: a substitute store minted for an officer. The officer's .pub file is public (keygen
# prints it; it goes to the sealer in the clear). With it, anyone can `embassy init` a store
# of their own — own master key, own signing key — with a recipient entry that the
# officer's key file opens, seal forged registers into it and serve it at the real store's
# address. What stops it:
#   a) an anchor in the officer's key file (embassy key pin, keygen --trust): refused (7),
#      also on a brand-new recovery host;
#   b) a host that read the real store at that address before: a loud warning that the
#      address now serves another store id (until --accept-new-store);
#   c) (the limit, documented) a brand-new host with an unanchored key file accepts it, and
#      says it trusts the key on first use.
# Also: the signing key is pinned at the first open, even by a read of a snapshot by id.
. "$(dirname "$0")/hostile_lib.bash"

OFFICER=$T/officer.key
expect_rc 0 em keygen "$OFFICER"
make_src
expect_rc 0 em init "$STORE" --sealer-key "$SEALER" --recipient "$OFFICER.pub"
assert_grep "key pin KEYFILE $(fingerprint)" "$T/err" "init tells how to anchor officers' keys"
expect_rc 0 em_seal "$STORE" "$SRC"
FPR=$(fingerprint)
reader() { "$EMBASSY" "$1" --key-file "$2" "${@:3}"; }

log "the officer anchors the key file to the sealer's fingerprint (handed over on paper)"
cp "$OFFICER" "$T/unanchored.key"
expect_rc 0 em key pin "$OFFICER" "$FPR"
expect_rc 0 em key pin "$OFFICER"
assert_eq "$FPR" "$(cat "$T/out")" "key pin lists the anchor"
[ "$(stat -c %a "$OFFICER")" = 600 ] || fail "key pin changed the key file's mode"
expect_rc 0 em keygen "$T/born-anchored.key" --trust "$FPR"
expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --recipient "$T/born-anchored.key.pub"
log "the real store opens with the anchored key files"
expect_rc 0 reader cat "$OFFICER" "$STORE" latest:docs/a.txt --state-dir "$T/st-real"
assert_files_eq "$SRC/docs/a.txt" "$T/out"
! grep -q 'first contact' "$T/err" || fail "an anchored first contact is not trust on first use"
expect_rc 0 reader cat "$T/born-anchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-b"

log "a recovery host reads the real store once (unanchored key): TOFU, says so"
expect_rc 0 reader cat "$T/unanchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-seen"
assert_grep 'first contact with store .*trust on first use' "$T/err" "TOFU is announced"

log "the attacker, holding only officer.key.pub, mints a store and puts it at the address"
mkdir -p "$T/forged/docs"
printf 'FORGED REGISTER\n' >"$T/forged/docs/a.txt"
EMBASSY_STATE_DIR=$T/st-evil expect_rc 0 em init "$T/evil" --sealer-key "$T/evil-sealer.key" \
	--recipient "$OFFICER.pub" --recipient "$T/born-anchored.key.pub"
EMBASSY_STATE_DIR=$T/st-evil expect_rc 0 em seal "$T/evil" "$T/forged" --sealer-key "$T/evil-sealer.key"
mv "$STORE" "$T/real"
mv "$T/evil" "$STORE"
never_forged() { ! grep -q FORGED "$T/out" || fail "$1: the forged register was shown"; }

log "a) anchored key files: refused (7), fresh host or not"
for kf in "$OFFICER" "$T/born-anchored.key"; do
	for st in "$T/st-real" "$T/st-fresh-$(basename "$kf")"; do
		run reader cat "$kf" "$STORE" latest:docs/a.txt --state-dir "$st"
		[ "$RC" -eq 7 ] || { cat "$T/err" >&2; fail "anchored $kf ($st): exit $RC, want 7"; }
		assert_grep "trusts only $FPR" "$T/err" "the refusal names the anchor"
		never_forged "anchored $kf"
	done
done

log "b) unanchored key, host that read the real store here: a loud warning each time"
for i in 1 2; do
	run reader cat "$T/unanchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-seen"
	assert_grep "ANOTHER STORE at .*$(basename "$STORE")" "$T/err" "warning $i names the address"
	assert_grep 'accept-new-store' "$T/err" "warning $i names the override"
done
run reader cat "$T/unanchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-seen" \
	--accept-new-store
run reader cat "$T/unanchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-seen"
! grep -q 'ANOTHER STORE' "$T/err" || fail "the warning goes on after --accept-new-store"

log "c) (the limit) a brand-new host with an unanchored key file: accepted, announced as TOFU"
run reader cat "$T/unanchored.key" "$STORE" latest:docs/a.txt --state-dir "$T/st-brand-new"
[ "$RC" -eq 0 ] || fail "TOFU case: exit $RC"
assert_grep 'first contact with store .*trust on first use' "$T/err" "TOFU is announced"

mv "$STORE" "$T/evil"
mv "$T/real" "$STORE"

log "pinning at first open, also by snapshot id (no head read)"
EMBASSY_STATE_DIR=$T/st-p expect_rc 0 em init "$T/p" --sealer-key "$T/p-sealer.key" \
	--passphrase-file "$PASSFILE" --kdf-memory 8 --kdf-ops 1
EMBASSY_STATE_DIR=$T/st-p expect_rc 0 em seal "$T/p" "$SRC" --sealer-key "$T/p-sealer.key"
PSNAP=$(em_read snapshots "$T/p" --json --state-dir "$T/st-p" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expect_rc 0 em_read ls "$T/p" "$PSNAP" --state-dir "$T/st-byid"
ls "$T/st-byid"/*.json >/dev/null || fail "a read by id left no state"
grep -l sign_fpr "$T/st-byid"/*.json >/dev/null || fail "the key was not pinned by a read by id"
expect_rc 0 "$HOSTILE" forge-snapshot "$T/p" --passphrase-file "$PASSFILE" --swap-key
# the forged head names the forged snapshot
FORGED=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["snapshot"])' "$T/p/heads/latest")
[ "$FORGED" != "$PSNAP" ] || fail "forge-snapshot did not make a new snapshot"
run em_read ls "$T/p" "$FORGED" --state-dir "$T/st-byid"
[ "$RC" -eq 7 ] || { cat "$T/err" >&2; fail "a key swapped after a read by id: exit $RC, want 7"; }
! grep -q FORGED "$T/out" || fail "the forged snapshot was listed"
finish
