#!/bin/bash
# label: hostile
# Attack 6: the host freezes the store: it keeps serving the last head pointer long after the
# sealer would have published newer ones. The head carries an expiry (seal --valid-for); an
# expired one (here: genuinely signed, expired an hour ago) must
#   - be read with a loud warning containing "EXPIRED" by default,
#   - be refused (7, "expired") with --require-fresh,
#   - be accepted again once the sealer runs 'embassy refresh-head'.
. "$(dirname "$0")/hostile_lib.bash"

make_store
expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 1 --expires-in -3600

log "default: read, with an EXPIRED warning"
for cmd in "ls $STORE latest" "snapshots $STORE" "cat $STORE latest:docs/a.txt"; do
	# shellcheck disable=SC2086
	run em_read $cmd
	[ "$RC" -eq 0 ] || fail "$cmd with an expired head: exit $RC, want 0 (warning only)"
	grep -q EXPIRED "$T/err" || fail "$cmd: no EXPIRED warning in: $(cat "$T/err")"
done
run em_read verify "$STORE"
grep -qi expired "$T/err" "$T/out" || fail "verify says nothing about the expired head"

log "--require-fresh: refused"
for cmd in "ls $STORE latest" "cat $STORE latest:docs/a.txt" "restore $STORE latest $T/r"; do
	# shellcheck disable=SC2086
	run em_read $cmd --require-fresh
	[ "$RC" -eq 7 ] || fail "$cmd --require-fresh: exit $RC, want 7"
	grep -qi expired "$T/err" || fail "$cmd --require-fresh: no 'expired' in: $(cat "$T/err")"
done
[ ! -e "$T/r/docs/a.txt" ] || fail "restore --require-fresh wrote data from a frozen store"

log "the sealer refreshes the head: fresh again"
expect_rc 0 em refresh-head "$STORE" --sealer-key "$SEALER" --valid-for 1d
expect_rc 0 em_read ls "$STORE" latest --require-fresh
! grep -q EXPIRED "$T/err" || fail "still EXPIRED after refresh-head"

if have_mount; then
	log "mount with --require-fresh on an expired head: refused"
	expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 1 --expires-in -60
	if mount_store "$T/mnt" --require-fresh; then
		[ ! -e "$T/mnt/latest/docs/a.txt" ] || fail "a frozen store mounted with --require-fresh"
		umount_store "$T/mnt"
	else
		grep -qi expired "$T/mount.err" || fail "mount refused, but not as expired: $(cat "$T/mount.err")"
	fi
fi
finish
