#!/bin/bash
# label: rw
# timeout: 300
# `fusermount3 -u; mount --rw` at once while the old daemon's exit is slow (the flake of
# rw_model_a / rw_posix at load 20-25: the new mount gave up after a fixed 20 s wait for the
# journal's lock). The old daemon's exit is held on purpose (EMBASSY_TEST_EXIT_FIFO, a
# test-only gate before its journal is closed) for longer than that fixed wait: the new mount
# waits for it, saying so, and comes up with nothing lost once the old daemon is gone.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
GATE=$T/exit-gate

mkdir -p "$T/src"
printf 'base\n' >"$T/src/a"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src" -q

mkfifo "$GATE"
# on every way out: open the gate (a writer that closes at once ends the daemon's wait)
on_exit ': 1<>"$GATE"'
EMBASSY_TEST_EXIT_FIFO=$GATE expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" -v \
	--log-file "$T/old.log"
read -r OLD_PID OLD_STATE <"$JDIR/lock"
[ "$OLD_STATE" = serving ] || fail "the journal's lock notes '$OLD_STATE', not serving"
kill -0 "$OLD_PID" || fail "the lock names pid $OLD_PID, which is not running"
on_exit "kill $OLD_PID 2>/dev/null || true"
head -c 300000 /dev/urandom >"$T/payload"
cp "$T/payload" "$MNT/written"
printf 'changed\n' >"$MNT/a"

log "unmount; the old daemon (pid $OLD_PID) is held before it closes its journal"
fusermount3 -u "$MNT" || fail "fusermount3 -u"
lock_ending() { grep -q " ending" "$JDIR/lock"; }
wait_until 60 lock_ending
kill -0 "$OLD_PID" || fail "the old daemon did not wait at the gate"

log "mount --rw again at once: it waits for the ending daemon past the old fixed 20 s"
em_mount_rw_bg() {
	start_bg "$EMBASSY" mount "$STORE" "$MNT" --rw --sealer-key "$SEALER" \
		--journal-dir "$JDIR" --commit-every 0 --foreground -v 2>"$T/new.log"
	NEW_PID=$BG_PID
}
em_mount_rw_bg
MOUNTS+=("$MNT")
# said TEXT: the new mount logged TEXT, or it is gone (then the test fails at once)
said() { grep -q "$1" "$T/new.log" || ! kill -0 "$NEW_PID" 2>/dev/null; }
alive() { kill -0 "$NEW_PID" 2>/dev/null || { cat "$T/new.log" >&2; fail "the new mount gave up"; }; }
wait_until 120 said "pid $OLD_PID) is still finishing"
alive
# 30 s of the waiter's looks at the lock: the old code had given up (exit 1) after 20
wait_until 200 said "still waiting for pid $OLD_PID to finish (30 s so far)"
alive
! mountpoint -q "$MNT" || fail "mounted while the old daemon still held the journal"

log "the old daemon finishes; the new mount comes up with every change"
: 1<>"$GATE"
wait_until 60 mounted_or_dead "$MNT" "$NEW_PID"
mountpoint -q "$MNT" || { cat "$T/new.log" >&2; fail "the new mount did not come up"; }
! kill -0 "$OLD_PID" 2>/dev/null || fail "mounted while the old daemon still runs"
assert_grep "ending took" "$T/old.log" "the old daemon's timed exit"
cmp "$T/payload" "$MNT/written" || fail "a file written before the unmount differs"
[ "$(cat "$MNT/a")" = changed ] || fail "a change made before the unmount was lost"
unmount "$MNT" "$NEW_PID"
log "ok"
