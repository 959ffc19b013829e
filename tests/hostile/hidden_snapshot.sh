#!/bin/bash
# label: hostile
# The host hides snapshots. The set of live snapshots is a signed, generation-numbered list
# the head names (lists/<gen>), so:
#   a) deleting an OLDER manifest is reported (snapshots, verify, ls of it: exit 7, named),
#      while the other snapshots still read;
#   b) a list object edited (a snapshot dropped), or replaced by another generation's list,
#      or deleted, is refused;
#   c) a genuinely signed head from before lists (no list named) after a list was seen is a
#      rollback; a fresh host without state accepts it (first contact, logged);
#   d) through the mount the hidden snapshot is not shown as if it never existed: the mount
#      logs it, the others are served.
. "$(dirname "$0")/hostile_lib.bash"

make_src
expect_rc 0 em_init "$STORE"
for i in 1 2 3; do
	printf 'edition %s\n' "$i" >"$SRC/docs/a.txt"
	expect_rc 0 em_seal "$STORE" "$SRC"
	ID[$i]=$(cat "$T/out")
done
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq 3 "$(json_get "$T/out" 'len(d)')" "three snapshots listed"
cp -a "$STORE" "$T/pristine"
GEN=$(ls "$STORE/lists" | sort | tail -1)
log "the store is at list generation $GEN"

log "a) the host deletes the oldest manifest"
rm "$STORE/snapshots/${ID[1]}"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "${ID[1]}.*(signed snapshot list|missing)" "$T/err" "snapshots names the hidden one"
grep -q "${ID[2]:0:12}" "$T/out" || fail "snapshots no longer shows the others"
expect_rc 7 em_read verify "$STORE"
assert_grep "snapshots/${ID[1]}.*missing" "$T/out" "verify names the deleted manifest"
expect_rc 7 em_read ls "$STORE" "${ID[1]:0:12}"
assert_grep "missing" "$T/err" "ls of the hidden snapshot: an integrity error, not 'no such'"
expect_rc 0 em_read cat "$STORE" "${ID[2]:0:12}:docs/a.txt"
assert_eq "edition 2" "$(cat "$T/out")" "the second snapshot still reads"
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt
assert_eq "edition 3" "$(cat "$T/out")" "latest still reads"

log "b1) the list object edited to drop the oldest snapshot (signature no longer holds)"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
python3 - "$STORE/lists/$GEN" "${ID[1]}" <<'EOF'
import json, sys
p, victim = sys.argv[1], sys.argv[2]
env = json.load(open(p))
body = json.loads(env["body"])
body["snapshots"] = [s for s in body["snapshots"] if s[0] != victim]
env["body"] = json.dumps(body, separators=(",", ":"), sort_keys=True)
open(p, "w").write(json.dumps(env, separators=(",", ":"), sort_keys=True))
EOF
rm "$STORE/snapshots/${ID[1]}"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "lists/$GEN.*(does not verify|not the snapshot list)" "$T/err" "edited list refused"
! grep -q "${ID[2]:0:12}" "$T/out" || fail "an unverified list was used"
expect_rc 7 em_read ls "$STORE" "${ID[2]:0:12}"
expect_rc 7 em_read verify "$STORE"
# the head alone authenticates the latest snapshot: it stays readable
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt

log "b2) an older generation's list served under the current name"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
OLDER=$(ls "$STORE/lists" | sort | head -1)
cp "$STORE/lists/$OLDER" "$STORE/lists/$GEN"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "lists/$GEN" "$T/err" "a substituted list is refused"

log "b3) the list object deleted"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
rm "$STORE/lists/$GEN"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "missing" "$T/err" "a deleted list is reported"
expect_rc 7 em_read verify "$STORE"

log "c) a sealer-signed head without a list (as written before lists)"
rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 3 --expires-in 86400 --no-list
rm "$STORE/snapshots/${ID[1]}"
expect_rc 7 em_read snapshots "$STORE"
assert_grep "rollback" "$T/err" "a head without a list after one was seen"
expect_rc 7 em_read ls "$STORE" latest
run em_read snapshots "$STORE" --state-dir "$T/fresh"
log "   a fresh host without state: exit $RC (first contact: it cannot know a list existed)"
[ "$RC" -eq 0 ] || fail "fresh host: exit $RC"

if have_mount; then
	log "d) the mount with the oldest manifest deleted"
	rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
	rm "$STORE/snapshots/${ID[1]}"
	if mount_store "$T/mnt"; then
		n=$(ls "$T/mnt/snapshots" | wc -l)
		assert_eq 2 "$n" "the mount serves the two snapshots still there"
		assert_eq "edition 3" "$(cat "$T/mnt/latest/docs/a.txt")" "latest through the mount"
		umount_store "$T/mnt"
		assert_grep "${ID[1]}" "$T/mount.err" "the mount logs the hidden snapshot"
	else
		fail "mount refused: $(cat "$T/mount.err")"
	fi
fi
finish
