#!/bin/bash
# label: hostile
# Attacks on the root document and the timestamp key (docs/KEYS.md 4.10–4.12, FORMAT.md 19),
# by the host together with a stolen key:
#  - a forged rotation: version 2 naming the thief's officers and keeping the stolen sealer
#    key, signed by them and by that key, planted by the host: refused (7), nothing read;
#    removed again: the store reads as before, also for a mount whose metadata mirror saw
#    the forged version (only verified versions are kept; offline mounts walk the chain);
#  - the root document withheld (newest version, or all of it): refused (7) by a reader
#    that saw it;
#  - a stolen timestamp key can freeze, not forge: a fresh head naming the older snapshot
#    is a rollback (7); a head naming a snapshot the snapshot key never signed is refused
#    (7); a head kept past its expiry warns (EXPIRED) and is refused with --require-fresh;
#    a head with the highest sequence locks the reader out (fast-forward) until the officers
#    rotate the keys (rotate-signing with a new timestamp key): then it reads again.
. "$(dirname "$0")/hostile_lib.bash"

make_store
for k in o1 o2 o3 ts e1 e2; do
	expect_rc 0 em keygen --signing "$T/$k.sig" -q
done
expect_rc 0 em key root "$STORE" --sealer-key "$SEALER" --officer "$T/o1.sig.pub" \
	--officer "$T/o2.sig.pub" --officer "$T/o3.sig.pub" --threshold 2 \
	--timestamp-key "$T/ts.sig.pub" --sign "$T/o1.sig" --sign "$T/o3.sig"
expect_rc 0 em_read snapshots "$STORE"

log "a forged rotation: the thief's officers and the stolen sealer key"
expect_rc 0 "$HOSTILE" forge-root "$STORE" --passphrase-file "$PASSFILE" \
	--snapshot-key "$SEALER" --sign "$SEALER" --sign "$T/e1.sig" --sign "$T/e2.sig" \
	--officer "$T/e1.sig" --officer "$T/e2.sig"
[ -e "$STORE/roots/0000000000000002" ] || fail "the forged version was not planted"
for cmd in "snapshots $STORE" "ls $STORE latest"; do
	# shellcheck disable=SC2086
	run em_read $cmd
	[ "$RC" -eq 7 ] || fail "$cmd with a forged root version: exit $RC, want 7"
	assert_grep 'does not verify' "$T/err"
done
if have_mount; then # the mount's metadata mirror must not keep the forged version
	mkdir -p "$T/mnt"
	MOUNTS+=("$T/mnt")
	run "$EMBASSY" mount "$STORE" "$T/mnt" --passphrase-file "$PASSFILE" --cache-dir "$T/cache"
	no_crash mount
	[ "$RC" -eq 7 ] || fail "mount with a forged root version: exit $RC, want 7"
fi
rm "$STORE/roots/0000000000000002"
expect_rc 0 em_read snapshots "$STORE"
if have_mount; then
	run "$EMBASSY" mount "$STORE" "$T/mnt" --passphrase-file "$PASSFILE" --cache-dir "$T/cache"
	[ "$RC" -eq 0 ] || fail "the host removed the forged version, the mount still refuses: $(cat "$T/err")"
	[ -d "$T/mnt/latest" ] || fail "the remount shows no latest/"
	fusermount3 -u "$T/mnt"
	run "$EMBASSY" mount "$STORE" "$T/mnt" --passphrase-file "$PASSFILE" --cache-dir "$T/cache" \
		--offline
	[ "$RC" -eq 0 ] || fail "offline mount (the verified root kept): $(cat "$T/err")"
	fusermount3 -u "$T/mnt"
fi

log "the root document withheld"
mv "$STORE/roots" "$T/roots.kept"
run em_read snapshots "$STORE"
[ "$RC" -eq 7 ] || fail "a store whose root document is gone was read: exit $RC, want 7"
assert_grep 'root document is gone' "$T/err"
mv "$T/roots.kept" "$STORE/roots"
expect_rc 0 em_read snapshots "$STORE"

log "a stolen timestamp key: re-signing the older head is a rollback"
old=$(em_read snapshots "$STORE" --json | json_get /dev/stdin 'd[-1]["id"]')
echo 'second' >"$SRC/docs/c.txt"
expect_rc 0 em_seal "$STORE" "$SRC" -q
new=$(em_read snapshots "$STORE" --json | json_get /dev/stdin 'd[-1]["id"]')
[ "$new" != "$old" ] || fail "the second seal made no new snapshot"
expect_rc 0 "$HOSTILE" sign-head "$STORE" --passphrase-file "$PASSFILE" --key "$T/ts.sig" \
	--seq 1 --snapshot "$old" --expires-in 86400
run em_read snapshots "$STORE"
[ "$RC" -eq 7 ] || fail "a re-signed older head was accepted: exit $RC, want 7"
assert_grep 'rollback' "$T/err"

log "… and a head kept past its expiry is a freeze: warned, refused with --require-fresh"
expect_rc 0 "$HOSTILE" sign-head "$STORE" --passphrase-file "$PASSFILE" --key "$T/ts.sig" \
	--seq 2 --snapshot "$new" --expires-in -60
run em_read ls "$STORE" latest
[ "$RC" -eq 0 ] || fail "an expired head: exit $RC, want 0 (warning)"
assert_grep EXPIRED "$T/err"
run em_read ls "$STORE" latest --require-fresh
[ "$RC" -eq 7 ] || fail "an expired head with --require-fresh: exit $RC, want 7"
expect_rc 0 em refresh-head "$STORE" --timestamp-key "$T/ts.sig" --passphrase-file "$PASSFILE"
expect_rc 0 em_read ls "$STORE" latest --require-fresh
cp "$STORE/heads/latest" "$T/head.good"
log "… and it cannot name a snapshot the snapshot key did not sign"
expect_rc 0 "$HOSTILE" sign-head "$STORE" --passphrase-file "$PASSFILE" --key "$T/ts.sig" \
	--seq 9223372036854775807 --snapshot "$(printf '%064d' 7)" --expires-in 86400
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || [ "$RC" -eq 6 ] || fail "a head naming an unsigned snapshot: exit $RC, want 6/7"
[ ! -s "$T/out" ] || fail "a head naming an unsigned snapshot listed: $(cat "$T/out")"

log "it did fast-forward the reader (a denial of service); rotating the keys recovers"
cp "$T/head.good" "$STORE/heads/latest"
run em_read snapshots "$STORE"
[ "$RC" -eq 7 ] || fail "the fast-forwarded reader read the genuine head: exit $RC"
expect_rc 0 em keygen --signing "$T/ts2.sig" -q
expect_rc 0 em key rotate-signing "$STORE" --state-dir "$T/officers" \
	--passphrase-file "$PASSFILE" --new-sealer-key "$T/s2.key" --valid-through 2 --timestamp-key "$T/ts2.sig.pub" \
	--sign "$T/o2.sig" --sign "$T/o3.sig"
expect_rc 0 em_read snapshots "$STORE" --json --require-fresh
assert_eq "$(json_get "$T/out" 'len(d)')" 2 "snapshots after the recovery"
run "$HOSTILE" sign-head "$STORE" --passphrase-file "$PASSFILE" --key "$T/ts.sig" \
	--seq 9 --snapshot "$new" --expires-in 86400
run em_read snapshots "$STORE"
[ "$RC" -eq 7 ] || fail "a head signed by the replaced timestamp key: exit $RC, want 7"
finish
