#!/bin/bash
# label: local
# The root document procedures of docs/KEYS.md 4.10–4.12, end to end on a local store:
#  - enrolment: officers' and the timestamp key's signing key files (keygen --signing);
#    key root with the sealer key and a threshold of officers (fewer refused, nothing
#    written); readers walk and remember the chain;
#  - refresh-head with the timestamp key and a reader's credential only (no sealer key):
#    readers accept the head; another key is refused;
#  - a stolen sealer key: the thief publishes a snapshot and pushes the head's sequence to
#    the maximum (a reader remembers it); key rotate-signing by two officers of three with
#    a new sealer key: the reader reads again (its remembered sequence restarts), sees only
#    the snapshots up to --valid-through, restores them byte for byte; the old sealer key
#    can no longer seal (exit 4); a head or snapshot the thief signs with it after the
#    rotation is refused (exit 7); the new sealer key seals, the timestamp key refreshes.
. "$(dirname "$0")/lib.sh"

HOSTILE=$(tool hostile)
export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mktree "$SRC" --seed 31 --small --no-socket
for k in o1 o2 o3 ts; do
	expect_rc 0 em keygen --signing "$T/$k.sig" -q
done
[ "$(stat -c %a "$T/o1.sig")" = 600 ] || fail "signing key file not 0600"
assert_grep '^embassy-signing-pub-v1$' "$T/o1.sig.pub"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q
# a key epoch too (docs/KEYS.md 4.13): rotate-signing must carry it into the new sealer key
expect_rc 0 em key rotate "$STORE" --sealer-key "$SEALER" --passphrase-file "$PASSFILE"
# an option of key root given to another key subcommand: a usage error naming the option
# (not its value, as before the option table)
expect_rc 2 em key list "$STORE" --passphrase-file "$PASSFILE" --sign "$T/o1.sig"
expect_one_error_line
assert_grep "key --sign: only 'key root' and 'key rotate-signing' take it" "$T/err"

log "key root: the sealer and a threshold of officers"
ROOT=(--officer "$T/o1.sig.pub" --officer "$T/o2.sig.pub" --officer "$T/o3.sig.pub"
	--threshold 2 --timestamp-key "$T/ts.sig.pub")
run em key root "$STORE" --sealer-key "$SEALER" "${ROOT[@]}" --sign "$T/o1.sig"
[ "$RC" = 4 ] || fail "one officer of two made a root (rc $RC)"
[ ! -e "$STORE/roots/0000000000000001" ] || fail "a refused root was written"
run em key root "$STORE" --passphrase-file "$PASSFILE" "${ROOT[@]}" --sign "$T/o1.sig" \
	--sign "$T/o2.sig"
[ "$RC" = 4 ] || fail "the first root without the sealer key (rc $RC)"
expect_rc 0 em key root "$STORE" --sealer-key "$SEALER" "${ROOT[@]}" --sign "$T/o1.sig" \
	--sign "$T/o2.sig"
assert_eq "$(cat "$T/out")" 1 "version printed"
expect_rc 0 em_read snapshots "$STORE"
json_get "$EMBASSY_STATE_DIR"/$(ls "$EMBASSY_STATE_DIR" | grep -v url- | grep json) \
	'd["root"]' >"$T/v"
assert_eq "$(cat "$T/v")" 1 "the reader remembers root version 1"

log "refresh-head with the timestamp key and a reader's credential only"
before=$(json_get "$STORE/heads/latest" 'json.loads(d["body"])["time"]')
expect_rc 0 em refresh-head "$STORE" --timestamp-key "$T/ts.sig" --passphrase-file "$PASSFILE" \
	--valid-for 2d
after=$(json_get "$STORE/heads/latest" 'json.loads(d["body"])["time"]')
[ "$after" -gt "$before" ] || fail "the head was not re-signed"
expect_rc 0 em_read snapshots "$STORE" --require-fresh
run em refresh-head "$STORE" --timestamp-key "$T/o1.sig" --passphrase-file "$PASSFILE"
[ "$RC" = 4 ] || fail "an officer key refreshed the head (rc $RC)"
assert_grep 'not the timestamp key' "$T/err"

log "a stolen sealer key: the thief seals, then pushes the sequence to the maximum"
mkdir -p "$T/evil" && echo forged >"$T/evil/forged.txt"
expect_rc 0 em_seal "$STORE" "$T/evil" -q
evil=$(em_read snapshots "$STORE" --json | json_get /dev/stdin 'd[-1]["id"]')
expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 9223372036854775807 \
	--expires-in 86400 --snapshot "$evil"
run em_read snapshots "$STORE"
seqf=$(json_get "$EMBASSY_STATE_DIR"/$(ls "$EMBASSY_STATE_DIR" | grep -v url- | grep json) 'd["seq"]')
assert_eq "$seqf" 9223372036854775807 "the reader was fast-forwarded"

log "rotate-signing by two officers of three, old key valid through sequence 1"
# the officers work on a host of their own (its own trust state, not fast-forwarded)
OFF=(--state-dir "$T/officers")
run em key rotate-signing "$STORE" "${OFF[@]}" --passphrase-file "$PASSFILE" \
	--new-sealer-key "$T/s2.key" --valid-through 1 --sign "$T/o3.sig"
[ "$RC" = 4 ] || fail "one officer rotated the key (rc $RC)"
[ ! -e "$T/s2.key" ] || fail "a refused rotation left a key file"
expect_rc 0 em key rotate-signing "$STORE" "${OFF[@]}" --passphrase-file "$PASSFILE" \
	--new-sealer-key "$T/s2.key" --valid-through 1 --sign "$T/o1.sig" --sign "$T/o3.sig"
assert_eq "$(cat "$T/out")" 2 "version printed"
[ "$(stat -c %a "$T/s2.key")" = 600 ] || fail "new sealer key file not 0600"
assert_grep '^origin ' "$T/s2.key"
assert_grep '^epoch 1 [0-9a-f]{64}$' "$T/s2.key" # the key epoch came along

log "the fast-forwarded reader reads again; only the snapshots up to sequence 1"
# the thief's manifest is still in snapshots/: reported as a forgery (7), not listed
run em_read snapshots "$STORE" --json
[ "$RC" = 7 ] || fail "the thief's manifest was not reported (rc $RC)"
assert_grep 'retired after sequence 1' "$T/err"
assert_eq "$(json_get "$T/out" 'len(d)')" 1 "snapshots after the rotation"
rm -rf "$T/r1"
expect_rc 0 em_read restore "$STORE" latest "$T/r1" -q
"$TREECMP" "$SRC" "$T/r1" || fail "restore after the rotation differs from the source"
run em_read restore "$STORE" "$evil" "$T/r2"
[ "$RC" = 7 ] || [ "$RC" = 6 ] || fail "the thief's snapshot was restored (rc $RC)"

cp "$STORE/heads/latest" "$T/head.rotated"
log "the old sealer key: no more sealing, and what it signs is refused"
run em_seal "$STORE" "$T/evil"
[ "$RC" = 4 ] || fail "the retired sealer key sealed (rc $RC)"
assert_grep 'retired' "$T/err"
expect_rc 0 "$HOSTILE" sign-head "$STORE" --passphrase-file "$PASSFILE" --key "$SEALER" \
	--seq 5 --snapshot "$evil" --expires-in 86400
run em_read snapshots "$STORE"
[ "$RC" = 7 ] || fail "a head signed by the retired key was accepted (rc $RC)"

log "the new sealer key seals; the timestamp key refreshes"
# a head the retired key signs stops writers too (like any bad head the host serves:
# denial of service); the host serving the rotation's head again ends it
cp "$T/head.rotated" "$STORE/heads/latest"
mkdir -p "$SRC/more" && echo 'sealed after the rotation' >"$SRC/more/new.txt"
expect_rc 0 "$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$T/s2.key" -q
expect_rc 0 em refresh-head "$STORE" --timestamp-key "$T/ts.sig" --passphrase-file "$PASSFILE"
run em_read snapshots "$STORE" --json
[ "$RC" = 7 ] || fail "the thief's manifest is no longer reported (rc $RC)"
assert_eq "$(json_get "$T/out" 'len(d)')" 2 "snapshots after sealing with the new key"
rm -rf "$T/r3"
expect_rc 0 em_read restore "$STORE" latest "$T/r3" -q
"$TREECMP" "$SRC" "$T/r3" || fail "restore of the new snapshot differs from the source"
log PASS
