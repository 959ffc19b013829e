#!/usr/bin/env bash
# label: mount
# mount_ready.sh — a mount gets ready from the head, the manifest it names and the trees on a
# path, never from the rest of the store (issue 11: mount ready O(1) in store size): on a store
# grown by six seals, with the index objects and every manifest but the head's withheld (moved
# away), both layouts mount and serve the head's snapshot byte for byte — the default one
# (latest/; the snapshot list, read by a thread once the mount is up, reports the missing
# manifests without holding the mount back) and --snapshot latest (no list at all).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

STORE=$T/store
SRC=$T/src
MNT=$T/mnt
mkdir -p "$SRC/registers/land" "$SRC/other"
head -c 300000 /dev/urandom >"$SRC/registers/land/parcels.db"
for i in $(seq 1 20); do head -c 3000 /dev/urandom >"$SRC/other/f$i"; done
expect_rc 0 em_init "$STORE"
for k in 1 2 3 4 5 6; do
	for i in $(seq 1 10); do head -c 20000 /dev/urandom >"$SRC/other/g$k-$i"; done
	expect_rc 0 em_seal "$STORE" "$SRC" -q
done
[ "$(find "$STORE/snapshots" -type f | wc -l)" -eq 6 ] || fail "the store did not grow to 6 snapshots"

HEAD_SNAP=$(ls -t "$STORE/snapshots" | head -1)
mkdir -p "$T/away/snapshots"
mv "$STORE/index" "$T/away/index"
for f in "$STORE"/snapshots/*; do
	[ "$(basename "$f")" = "$HEAD_SNAP" ] || mv "$f" "$T/away/snapshots/"
done
[ "$(ls "$STORE/snapshots")" = "$HEAD_SNAP" ] || fail "the older manifests are still there"

log "the default layout"
em_mount_fg "$STORE" "$MNT" "$T/mount-1.log" --cache-dir "$T/cache-1" --recheck 0
"$TREECMP" "$SRC" "$MNT/latest" || fail "latest/ differs from its source"
unmount "$MNT" "$MOUNT_PID"

log "--snapshot latest"
em_mount_fg "$STORE" "$MNT" "$T/mount-2.log" --cache-dir "$T/cache-2" --recheck 0 --snapshot latest
"$TREECMP" "$SRC" "$MNT" || fail "the mounted snapshot differs from its source"
unmount "$MNT" "$MOUNT_PID"
log "OK"
