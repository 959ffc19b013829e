#!/bin/bash
# label: rw
# timeout: 240
# After a commit that merged into a moved head, the --rw mount shows the merge without a
# remount (journal/adopt.c): the other side's changes, the conflict copies commit names, and
# on top what was written during the commit. Two --rw mounts of one base (A, B):
# 1. A commits; B, whose kernel cached a "no such file" for A's new name, commits while held
#    after publishing, writes during the hold: B's mount equals the merge restored plus those
#    writes, byte for byte; status's base is the merge;
# 2. kill -9 of B right after: the next mount shows the same tree (nothing replayed twice),
#    the next commit is not a merge (base = head) and restores as the mount shows it;
# 3. kill -9 between the move onto the merge and its checkpoint (EMBASSY_COMMIT_CRASH=adopted),
#    a write made during the commit pending: the journal's ADOPT record brings the next mount
#    onto the merge with that write on top;
# 4. a file the merge changes is open on B: the mount keeps its own tree, commit and status
#    say why; once closed, the next `commit` (nothing to commit) moves it;
# 5. a seal from home racing B's commit (held after the build): B's mount shows the merge.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MA=$T/mnt-a
MB=$T/mnt-b
MNT=$MB
export EMBASSY_RUNTIME_DIR=$T/run

mkdir -p "$T/src/reg/sub" "$T/src/reg/gone/deep"
printf 'shared v0\n' >"$T/src/reg/shared.txt"
printf 'a changes this\n' >"$T/src/reg/a-only.txt"
printf 'keep\n' >"$T/src/reg/sub/keep.txt"
printf 'x\n' >"$T/src/reg/gone/deep/x.txt"
head -c 300000 /dev/urandom >"$T/src/reg/sub/data.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
restore() { # SNAP DIR
	rm -rf "$2"
	expect_rc 0 em_read restore "$STORE" "$1" "$2"
}
crash_unmount() { # the daemon is dead: clear its mount
	wait "$MOUNT_PID" 2>/dev/null || true
	fusermount3 -u -z "$MB" 2>/dev/null || true
	! mountpoint -q "$MB" || fail "$MB still mounted after the crash"
}
base_of() { # MNT: the base status reports
	expect_rc 0 em status "$1" --json
	json_get "$T/out" 'd["base"]'
}

expect_rc 0 em_mount_rw "$STORE" "$MA" "$T/journal-a"
EMBASSY_COMMIT_HOLD=published:$T/hold em_mount_rw_fg "$STORE" "$MB" "$T/journal-b" "$T/mount-b1.log"

log "1. A commits; B (its kernel caching A's new name as absent) commits and adopts the merge"
ls -lR "$MB" >/dev/null
[ ! -e "$MB/reg/from-a.txt" ] || fail "A's file is visible before any commit"
cat "$MB/reg/a-only.txt" "$MB/reg/gone/deep/x.txt" >/dev/null
printf 'from a\n' >"$MA/reg/from-a.txt"
printf 'changed by a\n' >"$MA/reg/a-only.txt"
printf 'shared: a\n' >"$MA/reg/shared.txt"
rm -r "$MA/reg/gone"
mkdir "$MA/reg/new-a"
printf 'in a new dir\n' >"$MA/reg/new-a/f.txt"
expect_rc 0 em commit "$MA" --json
printf 'from b\n' >"$MB/reg/sub/from-b.txt"
printf 'shared: b\n' >"$MB/reg/shared.txt"
start_bg "$EMBASSY" commit "$MB" --json >"$T/b1.json"
CPID=$BG_PID
wait_until 60 test -e "$T/hold"
printf 'during\n' >"$MB/reg/during.txt"
printf 'appended during\n' >>"$MB/reg/sub/from-b.txt"
rm "$T/hold"
RC=0
wait "$CPID" || RC=$?
[ "$RC" = 3 ] || fail "B's commit exited $RC, expected 3 (a conflict)"
[ "$(json_get "$T/b1.json" 'd["merged"]')" = True ] || fail "B did not merge: $(cat "$T/b1.json")"
[ "$(json_get "$T/b1.json" 'd["adopted"]')" = True ] || fail "B's mount did not adopt: $(cat "$T/b1.json")"
M1=$(json_get "$T/b1.json" 'd["snapshot"]')
COPY=$(json_get "$T/b1.json" 'd["conflicts"][0]["copy"]')
[ "$(latest_id "$STORE")" = "$M1" ] || fail "the head is not B's merge"
[ "$(base_of "$MB")" = "$M1" ] || fail "B's base is not the merge"
[ "$(cat "$MB/reg/from-a.txt")" = "from a" ] || fail "A's new file is not in B's mount"
[ "$(cat "$MB/reg/a-only.txt")" = "changed by a" ] || fail "A's change is not in B's mount"
[ "$(cat "$MB/reg/shared.txt")" = "shared: a" ] || fail "the head's version does not keep the name"
[ "$(cat "$MB/$COPY")" = "shared: b" ] || fail "B's version is not under $COPY in the mount"
[ ! -e "$MB/reg/gone" ] || fail "A's deletion is not in B's mount"
[ "$(cat "$MB/reg/new-a/f.txt")" = "in a new dir" ] || fail "A's new directory is not in B's mount"
[ "$(cat "$MB/reg/during.txt")" = "during" ] || fail "a write during the commit is lost"
printf 'from b\nappended during\n' | cmp - "$MB/reg/sub/from-b.txt" || fail "an append during the commit is lost"
# the merge as restored, plus what was written during the commit = the mount
restore "$M1" "$T/exp1"
printf 'during\n' >"$T/exp1/reg/during.txt"
printf 'appended during\n' >>"$T/exp1/reg/sub/from-b.txt"
"$TREECMP" "$T/exp1" "$MB" --no-mtime || fail "B's mount is not the merge plus the writes made during the commit"

log "2. kill -9 of B after the move: the same tree comes back; the next commit is no merge"
kill -9 "$MOUNT_PID"
crash_unmount
em_mount_rw_fg "$STORE" "$MB" "$T/journal-b" "$T/mount-b2.log"
"$TREECMP" "$T/exp1" "$MB" --no-mtime || fail "after kill -9 the mount differs"
[ "$(base_of "$MB")" = "$M1" ] || fail "after kill -9 B's base is not the merge"
expect_rc 0 em commit "$MB" --json
S2=$(json_get "$T/out" 'd["snapshot"]')
[ "$(json_get "$T/out" 'd["merged"]')" = False ] || fail "a commit on the adopted merge merged again"
restore "$S2" "$T/exp2"
"$TREECMP" "$T/exp2" "$MB" || fail "the commit after the move differs from the mount"
unmount "$MB" "$MOUNT_PID"

log "3. kill -9 between the move onto a merge and its checkpoint: the journal brings it back"
EMBASSY_COMMIT_CRASH=adopted EMBASSY_COMMIT_HOLD=published:$T/hold \
	em_mount_rw_fg "$STORE" "$MB" "$T/journal-b" "$T/mount-b3.log"
printf 'round 3 a\n' >"$MA/reg/r3-a.txt"
expect_rc 0 em commit "$MA"
printf 'round 3 b\n' >"$MB/reg/sub/r3-b.txt"
start_bg "$EMBASSY" commit "$MB" >/dev/null
CPID=$BG_PID
wait_until 60 test -e "$T/hold"
printf 'during 3\n' >"$MB/reg/during3.txt" # pending after the crash: the replay must be on M3
rm "$T/hold"
RC=0
wait "$CPID" || RC=$?
[ "$RC" -ne 0 ] || fail "the commit succeeded although its daemon was killed"
crash_unmount
assert_grep "EMBASSY_COMMIT_CRASH=adopted: killing myself" "$T/mount-b3.log"
M3=$(latest_id "$STORE")
em_mount_rw_fg "$STORE" "$MB" "$T/journal-b" "$T/mount-b3b.log"
[ "$(base_of "$MB")" = "$M3" ] || fail "after the crash B's base is not the merge"
[ "$(json_get "$T/out" 'd["pending_entries"]')" -gt 0 ] || fail "the write during the commit is not pending"
restore "$M3" "$T/exp3"
printf 'during 3\n' >"$T/exp3/reg/during3.txt"
"$TREECMP" "$T/exp3" "$MB" --no-mtime || fail "after the crash B's mount is not the merge plus the write"

log "4. a file the merge changes is open on B: the mount keeps its tree and says why"
printf 'changed by a again\n' >"$MA/reg/a-only.txt"
expect_rc 0 em commit "$MA"
printf 'round 4 b\n' >"$MB/reg/r4-b.txt"
exec 4<"$MB/reg/a-only.txt"
expect_rc 0 em commit "$MB" --json
[ "$(json_get "$T/out" 'd["merged"]')" = True ] || fail "B did not merge in round 4"
[ "$(json_get "$T/out" 'd["adopted"]')" = False ] || fail "B adopted a merge under an open file"
grep -q 'open' <<<"$(json_get "$T/out" 'd["adopt_deferred"]')" || fail "no reason: $(cat "$T/out")"
M4=$(json_get "$T/out" 'd["snapshot"]')
[ "$(cat "$MB/reg/a-only.txt")" = "changed by a" ] || fail "the open file changed under its reader"
expect_rc 0 em status "$MB"
assert_grep "merge: *$M4 is not shown by the mount yet" "$T/out"
exec 4<&-
expect_rc 0 em commit "$MB" --json
[ "$(json_get "$T/out" 'd["nothing"]')" = True ] && [ "$(json_get "$T/out" 'd["adopted"]')" = True ] ||
	fail "the retry did not move the mount: $(cat "$T/out")"
[ "$(base_of "$MB")" = "$M4" ] || fail "B's base is not the merge after the retry"
restore "$M4" "$T/exp4"
"$TREECMP" "$T/exp4" "$MB" || fail "after the retry B's mount is not the merge"
unmount "$MB" "$MOUNT_PID"

log "5. a seal from home races B's commit: B's mount shows the merge with it"
EMBASSY_COMMIT_HOLD=built:$T/hold em_mount_rw_fg "$STORE" "$MB" "$T/journal-b" "$T/mount-b5.log"
printf 'round 5 b\n' >"$MB/reg/r5-b.txt"
start_bg "$EMBASSY" commit "$MB" --json
CPID=$BG_PID
wait_until 60 test -e "$T/hold"
printf 'from home\n' >"$T/src/reg/home.txt"
expect_rc 0 em_seal "$STORE" "$T/src"
rm "$T/hold"
RC=0
wait "$CPID" || RC=$?
[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "B's racing commit exited $RC"
M5=$(latest_id "$STORE")
[ "$(base_of "$MB")" = "$M5" ] || fail "B's base is not the merge with the home seal"
[ "$(cat "$MB/reg/home.txt")" = "from home" ] || fail "the home seal's file is not in B's mount"
[ "$(cat "$MB/reg/r5-b.txt")" = "round 5 b" ] || fail "B's change is lost"
restore "$M5" "$T/exp5"
"$TREECMP" "$T/exp5" "$MB" || fail "B's mount is not the merge with the home seal"
unmount "$MB" "$MOUNT_PID"
unmount "$MA"
expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
