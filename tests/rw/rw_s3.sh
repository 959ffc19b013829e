#!/bin/bash
# label: rw;network
# timeout: 600
# The write-through mount against a real Ceph RGW (S3, memstore) on 127.0.0.1: a --rw mount of
# an S3 store takes new files, a random write inside a multi-chunk base file, a rename, a
# symlink and an xattr; `embassy commit` publishes them through S3 (create-only head claim);
# the committed snapshot, mounted read-only with an empty cache, equals the --rw mount byte
# for byte and restores the same; pending changes survive an unmount and the next commit
# seals them; verify --read-data is clean.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"
for b in radosgw ceph-mon ceph-osd ceph; do
	command -v $b >/dev/null || skip "$b not installed (scripts/deps.sh --test)"
done

S=$SRC_DIR/scripts
CEPH_DIR=$T/ceph
on_exit '"$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep >/dev/null 2>&1'
for i in 1 2 3; do # a port taken between the check and the bind: try other ones
	"$S/ceph-rgw-up.sh" "$CEPH_DIR" >"$T/ceph-up.log" 2>&1 && break
	"$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep >/dev/null 2>&1 || true
	[ "$i" = 3 ] && { tail -20 "$T/ceph-up.log" >&2; fail "ceph-rgw-up.sh failed"; }
done
set -a
. "$CEPH_DIR/s3.env"
set +a
export EMBASSY_S3_ENDPOINT=$S3_ENDPOINT EMBASSY_STATE_DIR=$T/state EMBASSY_RUNTIME_DIR=$T/run
URL=s3://$S3_BUCKET/rw
MNT=$T/mnt
JDIR=$T/journal
latest() { em_read snapshots "$URL" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]'; }
ro_check() { # the latest snapshot, read-only with an empty cache, equals the --rw mount
	em_mount "$URL" "$T/ro-$1" --cache-dir "$T/cache-$1"
	"$TREECMP" "$MNT" "$T/ro-$1/latest" || fail "the committed snapshot differs from the mount ($1)"
	unmount "$T/ro-$1"
}

mkdir -p "$T/src/reg/deep"
printf 'alpha\n' >"$T/src/reg/a.txt"
head -c $((6 << 20)) /dev/urandom >"$T/src/reg/big.db"
printf 'deep\n' >"$T/src/reg/deep/d.txt"
expect_rc 0 em_init "$URL" -q
expect_rc 0 em_seal "$URL" "$T/src" -q
BASE=$(latest)

log "--rw over S3: change things, commit, read back read-only with an empty cache"
expect_rc 0 em_mount_rw "$URL" "$MNT" "$JDIR"
"$TREECMP" "$T/src" "$MNT" || fail "the --rw mount does not show the sealed tree"
printf 'new over s3\n' >"$MNT/reg/new.txt"
head -c 700001 /dev/urandom >"$MNT/reg/deep/odd.bin"
python3 - "$MNT/reg/big.db" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"Q" * 5000, (3 << 20) + 123)
os.fsync(fd)
os.close(fd)
PY
mv "$MNT/reg/a.txt" "$MNT/reg/deep/a-moved.txt"
ln -s deep/a-moved.txt "$MNT/reg/link"
setfattr -n user.register -v births "$MNT/reg/new.txt"
expect_rc 0 em commit "$MNT" --json
SNAP1=$(json_get "$T/out" 'd["snapshot"]')
[ "$(latest)" = "$SNAP1" ] || fail "the head does not name the commit"
em_read snapshots "$URL" --json >"$T/snaps.json"
[ "$(json_get "$T/snaps.json" "[s['parent'] for s in d if s['id'] == '$SNAP1'][0]")" = "$BASE" ] ||
	fail "the commit's parent is not the base"
ro_check 1
expect_rc 0 em_read restore "$URL" "$SNAP1" "$T/restored"
"$TREECMP" "$MNT" "$T/restored" || fail "restore of the commit differs from the mount"

log "pending changes survive an unmount; the next commit seals them"
printf 'pending\n' >>"$MNT/reg/new.txt"
rm "$MNT/reg/deep/d.txt"
unmount "$MNT"
expect_rc 0 em_mount_rw "$URL" "$MNT" "$JDIR"
[ "$(cat "$MNT/reg/new.txt")" = "$(printf 'new over s3\npending')" ] || fail "a pending change was lost"
expect_rc 0 em commit "$MNT"
ro_check 2
unmount "$MNT"
expect_rc 0 em_read verify "$URL" --read-data
log "ok"
