#!/bin/bash
# label: mount
# A long-running mount re-reads the head pointer (--recheck, here every second) and logs —
# never unmounts — when the store moved on (a new seal), when the head expired (a freeze, or
# a sealer that stopped refreshing), and when it was rolled back. The mount keeps serving
# what it verified at start, byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

SRC=$T/src
STORE=$T/store
MNT=$T/mnt
mkdir -p "$SRC"
printf 'first version\n' >"$SRC/register.csv"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
cp "$STORE/heads/latest" "$T/head1"

em_mount_fg "$STORE" "$MNT" "$T/mount.log" --recheck 1s --cache-size 0
assert_files_eq "$SRC/register.csv" "$MNT/latest/register.csv"
cp "$SRC/register.csv" "$T/v1.csv"

log "a new seal: the mount logs that the store moved on"
printf 'second version\n' >"$SRC/register.csv"
expect_rc 0 em_seal "$STORE" "$SRC"
cp "$STORE/heads/latest" "$T/head2"
wait_until 60 grep -q 'store moved on: its head now names sequence 2' "$T/mount.log"
mountpoint -q "$MNT" || fail "the mount went away"
assert_files_eq "$T/v1.csv" "$MNT/latest/register.csv" "the mount keeps what it verified"

log "the head expires (refreshed for one second only): logged once"
expect_rc 0 em refresh-head "$STORE" --sealer-key "$SEALER" --valid-for 1s
wait_until 60 grep -q 'head pointer has expired' "$T/mount.log"
[ "$(grep -c 'head pointer has expired' "$T/mount.log")" -eq 1 ] ||
	fail "the expiry is logged more than once by the re-check"

log "the host rolls the head back: logged, still mounted"
cp "$T/head1" "$STORE/heads/latest"
wait_until 60 grep -q 're-check of the head pointer: the store was rolled back' "$T/mount.log"
mountpoint -q "$MNT" || fail "the mount went away after a rollback"
assert_files_eq "$T/v1.csv" "$MNT/latest/register.csv"
unmount "$MNT" "$MOUNT_PID"

log "a daemon given a relative --state-dir keeps recording there after it leaves its cwd"
cp "$T/head2" "$STORE/heads/latest"
mkdir -p "$T/work"
REL=embassy-rel-state-$$ # where a daemon that forgot its cwd would write: /$REL
on_exit "rm -rf '/$REL'"
(cd "$T/work" && em_mount "$STORE" "$MNT" --state-dir "$REL" --recheck 1s --cache-size 0 \
	--log-file "$T/daemon.log") || fail "daemon mount"
SID=$(basename "$(ls "$T/work/$REL"/[0-9a-f]*.json)" .json)
printf 'third version\n' >"$SRC/register.csv"
expect_rc 0 em_seal "$STORE" "$SRC"
seq_is_3() { [ "$(json_get "$T/work/$REL/$SID.json" 'd["seq"]' 2>/dev/null)" = 3 ]; }
wait_until 60 grep -q 'store moved on' "$T/daemon.log"
wait_until 60 seq_is_3
[ ! -e "/$REL" ] || fail "the daemon wrote its trust state relative to /"
unmount "$MNT"
log PASS
