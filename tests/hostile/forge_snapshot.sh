#!/bin/bash
# label: hostile
# Attack 4: a read-key holder (passphrase, colluding with the host) forges a snapshot. It can
# encrypt valid records (it has the master key) but not sign: its manifest adds FORGED.txt and
# is signed with a random Ed25519 key.
#   a) forged manifest only: not listed (snapshots 7), verify 7, latest unchanged;
#   b) forged manifest + head signed with the random key: latest refused (7), FORGED never shown;
#   c) the forger also swaps the key entry and the descriptor to name its own key: a recovery
#      host that read the store before (remembered key) or is given --trust FPR refuses (7).
. "$(dirname "$0")/hostile_lib.bash"

make_store
cp -a "$STORE" "$T/pristine"
fresh() { rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"; }
never_forged() { ! grep -q FORGED "$T/out" || fail "forged content shown: $(cat "$T/out")"; }

log "a) a forged manifest beside the real ones"
expect_rc 0 "$HOSTILE" forge-snapshot "$STORE" --passphrase-file "$PASSFILE" --no-head
expect_rc 7 em_read snapshots "$STORE"
assert_eq 1 "$(grep -c '^' <<<"$(grep -E '^[ *]+[0-9a-f]{12}' "$T/out")")" "one snapshot listed"
never_forged
FORGED=$(comm -13 <(ls "$T/pristine/snapshots") <(ls "$STORE/snapshots"))
run em_read ls "$STORE" "$FORGED"
[ "$RC" -eq 7 ] || fail "ls of the forged snapshot: exit $RC, want 7"
never_forged
expect_rc 0 em_read ls "$STORE" latest
never_forged
expect_rc 7 em_read verify "$STORE"
assert_grep "${FORGED:0:12}" "$T/out" "verify names the forged manifest"

log "b) forged manifest and head pointer"
fresh
expect_rc 0 "$HOSTILE" forge-snapshot "$STORE" --passphrase-file "$PASSFILE"
for cmd in "ls $STORE latest" "cat $STORE latest:FORGED.txt" "restore $STORE latest $T/rb"; do
	# shellcheck disable=SC2086
	run em_read $cmd
	[ "$RC" -eq 7 ] || fail "$cmd with a forged head: exit $RC, want 7"
	never_forged
done
[ ! -e "$T/rb/FORGED.txt" ] || fail "restore wrote the forged file"
expect_rc 7 em_read verify "$STORE"

log "c) forged snapshot, head, key entry and descriptor, all under the forger's key"
fresh
expect_rc 0 "$HOSTILE" forge-snapshot "$STORE" --passphrase-file "$PASSFILE" --swap-key
log "c1) the recovery host read this store before: the signing key changed → refused"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || fail "key swap after a first read: exit $RC, want 7"
assert_grep 'key' "$T/err" "the error is about the signing key"
never_forged
log "c2) a fresh recovery host given --trust FINGERPRINT → refused"
run em_read ls "$STORE" latest --trust "$(fingerprint)" --state-dir "$T/fresh-state"
[ "$RC" -eq 7 ] || fail "key swap with --trust: exit $RC, want 7"
never_forged
log "c3) --trust with the right key on the untouched store → accepted"
run em_read ls "$T/pristine" latest --trust "$(fingerprint)" --state-dir "$T/fresh-state2"
[ "$RC" -eq 0 ] || fail "--trust with the sealer's own fingerprint: exit $RC, want 0"
log "c4) (limit) a fresh host with neither state nor --trust: exit $(
	EMBASSY_STATE_DIR=$T/fresh-state3 em_read ls "$STORE" latest >/dev/null 2>&1
	echo $?
) — trust on first use"
finish
