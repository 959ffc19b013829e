#!/bin/bash
# label: hostile
# Attack 5: the host rolls the store back. After a recovery host has verified the head with
# sequence 2, the host serves an older, genuinely signed head pointer (sequence 1):
#   a) the old heads/latest file put back: ls/cat/restore/snapshots-latest refuse (7, "rollback");
#      --allow-rollback accepts it (with a warning);
#   b) the same store copied under another path (other URL, same store id): still refused;
#   c) a fresh recovery host given --min-sequence 2 refuses the old head too;
#   d) the host deletes heads/latest altogether after sequence 2 was seen: must not look like
#      an empty store that was never sealed.
. "$(dirname "$0")/hostile_lib.bash"

make_src
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
cp "$STORE/heads/latest" "$T/head-seq1"
printf 'second edition\n' >"$SRC/docs/a.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
log "the recovery host reads the store at sequence 2"
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt
assert_eq "second edition" "$(cat "$T/out")" "latest at seq 2"
cp -a "$STORE" "$T/pristine"

log "a) the old head pointer is served again"
cp "$T/head-seq1" "$STORE/heads/latest"
for cmd in "ls $STORE latest" "snapshots $STORE" "cat $STORE latest:docs/a.txt" "restore $STORE latest $T/ra"; do
	# shellcheck disable=SC2086
	run em_read $cmd
	[ "$RC" -eq 7 ] || fail "$cmd after rollback: exit $RC, want 7"
	grep -qi rollback "$T/err" || fail "$cmd: no 'rollback' in: $(cat "$T/err")"
	! grep -q 'register A' "$T/out" || fail "$cmd showed the rolled-back content"
done
[ ! -e "$T/ra/docs/a.txt" ] || fail "restore wrote rolled-back data"
run em_read verify "$STORE"
[ "$RC" -eq 7 ] || fail "verify after rollback: exit $RC, want 7"
log "   --allow-rollback: accepted, with a warning"
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt --allow-rollback
assert_eq "register A" "$(cat "$T/out")" "rolled-back content with the override"
grep -qi rollback "$T/err" || fail "--allow-rollback without a warning"
log "   the override is not remembered: the next plain read refuses again"
expect_rc 7 em_read ls "$STORE" latest

log "   a sealer-signed head with a lower sequence (forged fields, genuine signature)"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 1 --expires-in 86400
expect_rc 7 em_read ls "$STORE" latest
grep -qi rollback "$T/err" || fail "no 'rollback' in: $(cat "$T/err")"

log "b) the same store under another URL: the state is per store id"
cp -a "$STORE" "$T/mirror"
cp "$T/head-seq1" "$T/mirror/heads/latest"
run em_read ls "file://$T/mirror" latest
[ "$RC" -eq 7 ] || fail "rollback through another URL: exit $RC, want 7"

log "c) a fresh recovery host told --min-sequence 2"
run em_read ls "$T/mirror" latest --min-sequence 2 --state-dir "$T/fresh"
[ "$RC" -eq 7 ] || fail "--min-sequence 2 with a seq-1 head: exit $RC, want 7"
grep -qi rollback "$T/err" || fail "--min-sequence: no 'rollback' in: $(cat "$T/err")"
run em_read ls "$T/pristine" latest --min-sequence 2 --state-dir "$T/fresh2"
[ "$RC" -eq 0 ] || fail "--min-sequence 2 with the seq-2 head: exit $RC, want 0"

log "d) heads/latest deleted after sequence 2 was seen"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
rm "$STORE/heads/latest"
run em_read ls "$STORE" latest
log "   ls latest: exit $RC: $(head -1 "$T/err")"
[ "$RC" -eq 7 ] || fail "a deleted head after seq 2 was seen: exit $RC, want 7 (not 'no snapshot yet')"

if have_mount; then
	log "mount of the rolled-back store: refused, or 'latest' not served"
	cp "$T/head-seq1" "$STORE/heads/latest"
	if mount_store "$T/mnt"; then
		[ ! -e "$T/mnt/latest/docs/a.txt" ] || ! grep -q 'register A' "$T/mnt/latest/docs/a.txt" ||
			fail "the mount shows the rolled-back latest"
		umount_store "$T/mnt"
	else
		log "   mount refused: $(head -1 "$T/mount.err")"
		grep -qi rollback "$T/mount.err" || fail "mount refused, but not for rollback: $(cat "$T/mount.err")"
	fi
fi
finish
