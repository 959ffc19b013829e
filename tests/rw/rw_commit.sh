#!/bin/bash
# label: rw
# timeout: 150
# embassy commit and status on a --rw mount: the committed snapshot reads (through a read-only
# mount with an empty cache, and restore) exactly as the mount showed it, verify finds nothing
# wrong, only changed chunks are uploaded (a 4 KiB change in a 24 MiB file: at most two
# 4 MiB chunks, never the file), nothing to commit
# writes nothing, pending changes survive an unmount and are committed after, --commit-every
# commits on its own, and past --journal-max writers wait for a commit instead of failing.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
export EMBASSY_RUNTIME_DIR=$T/run

mkdir -p "$T/src/reg"
printf 'alpha\n' >"$T/src/reg/a.txt"
head -c $((24 << 20)) /dev/urandom >"$T/src/reg/big.db"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
BASE=$(em_read snapshots "$STORE" --json | json_get /dev/stdin 'd[0]["id"]')

status_json() { em status "$MNT" --json >"$T/status.json" && json_get "$T/status.json" "$1"; }
ro_check() { # the latest snapshot, mounted read-only with an empty cache, equals the rw mount
	local ro=$T/ro-$1
	rm -rf "$T/cache-$1"
	em_mount "$STORE" "$ro" --cache-dir "$T/cache-$1"
	"$TREECMP" "$MNT" "$ro/latest" || fail "the committed snapshot differs from the mount ($1)"
	unmount "$ro"
}

log "mount --rw, change things, status shows them"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
[ "$(status_json 'd["base"]')" = "$BASE" ] || fail "status: base"
printf 'new file\n' >"$MNT/reg/new.txt"
mkdir -p "$MNT/reg/sub/deeper"
seq 1 3000 | sed "s/^/service line /" >"$T/services" # (not /etc/services: minbase lacks it)
cp -a "$T/services" "$MNT/reg/sub/deeper/"
ln -s ../a.txt "$MNT/reg/sub/link"
setfattr -n user.k -v v "$MNT/reg/a.txt"
mv "$MNT/reg/a.txt" "$MNT/reg/sub/a-moved.txt"
python3 - "$MNT/reg/big.db" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"Z" * 4096, 13 << 20)
os.fsync(fd)
os.close(fd)
PY
[ "$(status_json 'd["pending_entries"]')" -gt 0 ] || fail "status: nothing pending"

log "commit: a snapshot that reads as the mount does; only about one chunk uploaded"
find "$STORE" -type f -printf '%P %s\n' | sort >"$T/objects.before"
expect_rc 0 em commit "$MNT" --tag first --json
find "$STORE" -type f -printf '%P %s\n' | sort >"$T/objects.after"
# what the store itself gained, independent of what commit reports
comm -13 "$T/objects.before" "$T/objects.after" >"$T/objects.new"
STORED=$(awk '{n += $2} END {print n + 0}' "$T/objects.new")
log "the store gained $(wc -l <"$T/objects.new") objects, $STORED bytes"
[ "$STORED" -le $(((8 << 20) + (512 << 10))) ] || { cat "$T/objects.new" >&2; fail "the store gained $STORED bytes"; }
[ "$(grep -c '^packs/' "$T/objects.new")" -le 3 ] || { cat "$T/objects.new" >&2; fail "too many new packs"; }
grep -q '^snapshots/' "$T/objects.new" || fail "no new manifest"
cp "$T/out" "$T/commit1.json"
SNAP1=$(json_get "$T/commit1.json" 'd["snapshot"]')
# as every --json output (docs/JSON.md): one line, times in ISO 8601 UTC and nanoseconds
[ "$(wc -l <"$T/commit1.json")" = 1 ] || fail "commit --json is not one line"
json_get "$T/commit1.json" 'd["time"]' | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' ||
	fail "commit --json: time is not ISO 8601"
[ "$(json_get "$T/commit1.json" 'd["time_ns"] > 1700000000 * 10**9')" = True ] || fail "time_ns"
[ "$(json_get "$T/commit1.json" 'd["merged"]')" = False ] || fail "a merge without a moved head"
NEW=$(json_get "$T/commit1.json" 'd["bytes_new"]')
log "uploaded $NEW bytes for the changes (4 KiB in a 24 MiB file among them)"
# The store's chunks are 256 KiB..4 MiB (1 MiB on average, cut at secret points): the change
# re-uploads the chunk it falls in, and at most its neighbour if a new cut appears, never the
# file (24 MiB). Each changed directory adds a small tree record.
[ "$NEW" -le $(((8 << 20) + (256 << 10))) ] || fail "a 4 KiB change uploaded $NEW bytes"
[ "$(json_get "$T/commit1.json" 'd["chunks_new"] <= 6')" = True ] ||
	fail "$(json_get "$T/commit1.json" 'd["chunks_new"]') new records for a few small changes"
[ "$(status_json 'd["base"]')" = "$SNAP1" ] || fail "status: the base is not the commit"
[ "$(status_json 'd["pending_entries"]')" = 0 ] || fail "status: still pending after a commit"
[ "$(status_json 'd["last_commit"]["snapshot"]')" = "$SNAP1" ] || fail "status: last commit"
[ "$(em_read snapshots "$STORE" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]')" = "$SNAP1" ] ||
	fail "the head does not name the commit"
em_read snapshots "$STORE" --json >"$T/snaps.json"
[ "$(json_get "$T/snaps.json" "[s['parent'] for s in d if s['id'] == '$SNAP1'][0]")" = "$BASE" ] ||
	fail "the commit's parent is not the base"
[ "$(json_get "$T/snaps.json" "[s['tags'] for s in d if s['id'] == '$SNAP1'][0]")" = "['first']" ] ||
	fail "the commit's tag"
ro_check 1
expect_rc 0 em_read restore "$STORE" "$SNAP1" "$T/restored"
"$TREECMP" "$MNT" "$T/restored" || fail "restore of the commit differs from the mount"
expect_rc 0 em_read verify "$STORE" --read-data

log "nothing to commit: no new snapshot"
expect_rc 0 em commit "$MNT" --json
[ "$(json_get "$T/out" 'd["nothing"]')" = True ] || fail "an empty commit wrote something"

log "pending changes survive an unmount; the next mount resumes them, commit seals them"
printf 'after\n' >>"$MNT/reg/new.txt"
rm "$MNT/reg/sub/link"
unmount "$MNT"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
[ "$(cat "$MNT/reg/new.txt")" = "$(printf 'new file\nafter')" ] || fail "pending change lost"
[ "$(status_json 'd["pending_entries"]')" -gt 0 ] || fail "status: the resumed changes"
expect_rc 0 em commit "$MNT"
ro_check 2
unmount "$MNT"

log "--commit-every: commits on its own"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" --commit-every 1s
printf 'periodic\n' >"$MNT/reg/periodic.txt"
committed() { [ "$(status_json 'd["pending_entries"]')" = 0 ] &&
	[ "$(status_json 'd["last_commit"] is not None')" = True ]; }
wait_until 60 committed
ro_check 3
unmount "$MNT"

log "files unlinked while open stay writable across a commit; their bytes never reach another file"
# (rwfuzz found: after a commit, a write to a file made in the journal and unlinked while open
# was ENOMEM, and one to a base file unlinked while open was journaled under its old path, so
# the next mount wrote it into the file that had taken that name)
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
printf 'replacement\n' >"$MNT/reg/replacement"
python3 - "$MNT" "$EMBASSY" <<'PY' || fail "an unlinked open file after a commit"
import os, subprocess, sys
mnt, embassy = sys.argv[1:]
d = mnt + "/reg"
made = os.open(f"{d}/made", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(made, b"m" * 100, 0)
os.unlink(f"{d}/made")
base = os.open(f"{d}/new.txt", os.O_RDWR)  # in the base (committed above)
os.rename(f"{d}/replacement", f"{d}/new.txt")  # the open file loses its name
subprocess.run([embassy, "commit", mnt], check=True, stdout=subprocess.DEVNULL)
for fd, what in ((made, "made"), (base, "base")):
    os.pwrite(fd, b"AFTER-COMMIT", 4000)
    os.fsync(fd)
    got = os.pread(fd, 12, 4000)
    assert got == b"AFTER-COMMIT", (what, got)
assert os.pread(made, 100, 0) == b"m" * 100
os.close(made)
os.close(base)
PY
[ "$(cat "$MNT/reg/new.txt")" = replacement ] || fail "the renamed file's content changed"
unmount "$MNT"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
[ "$(cat "$MNT/reg/new.txt")" = replacement ] || fail "after a remount: the unlinked file's write landed in new.txt"
expect_rc 0 em commit "$MNT"
ro_check 4
unmount "$MNT"

log "--journal-max: past it, writers wait for a commit (no ENOSPC)"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" --journal-max 64M
head -c $((150 << 20)) /dev/urandom >"$T/blob"
cp "$T/blob" "$MNT/reg/blob" || fail "writing past --journal-max failed"
sync -f "$MNT/reg/blob"
[ "$(status_json 'd["journal_bytes"] <= 80 << 20')" = True ] || fail "the journal grew past its bound"
cmp "$T/blob" "$MNT/reg/blob" || fail "the big file reads back differently"
expect_rc 0 em commit "$MNT"
ro_check 5
unmount "$MNT"
expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
