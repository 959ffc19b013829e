#!/bin/bash
# label: mount
# The sealed directory's own metadata (mode, owner, ns mtime, xattrs) is kept in the manifest
# (root_meta) and comes back at the top: a restore target and the mount's snapshot roots
# (latest, snapshots/<time>, --snapshot) are identical to the source directory itself, as
# rsync -aHX and treecmp --root-meta see it. Also: a lookup of a name longer than 255 bytes in
# the mount is ENAMETOOLONG, not ENOENT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (owners of the root directory)"
command -v rsync >/dev/null || skip "rsync not installed (scripts/deps.sh --test)"
command -v setfattr >/dev/null || skip "setfattr not installed (attr)"

SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/sub"
printf 'a register\n' >"$SRC/file"
printf 'below\n' >"$SRC/sub/inner"
# the root itself: unusual mode, another owner, an old ns time, text and binary xattrs
setfattr -n user.origin -v "population register" "$SRC" ||
	skip "the file system of $T has no user xattrs"
setfattr -n user.bin -v 0x00ff10 "$SRC"
chown 1234:2345 "$SRC"
chmod 2751 "$SRC"
touch -h -d '2003-04-05 06:07:08.123456789' "$SRC/sub" "$SRC"

expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"

# rsync -aHX --dry-run --itemize-changes SRC/ DST/: every difference, the top ("./") included
itemize() {
	rsync -aHXni "$1/" "$2/" >"$T/rs" || fail "rsync $1 $2"
	[ ! -s "$T/rs" ] || { cat "$T/rs" >&2; fail "rsync sees differences between $1 and $2"; }
}

log "restore: the target takes the sealed directory's mode, owner, times and xattrs"
expect_rc 0 em_read restore "$STORE" latest "$T/restored"
"$TREECMP" --root-meta "$SRC" "$T/restored" || fail "restored tree differs (root included)"
itemize "$SRC" "$T/restored"

log "restore of a subdirectory: the target takes that directory's metadata"
expect_rc 0 em_read restore "$STORE" latest:sub "$T/sub-restored"
"$TREECMP" --root-meta "$SRC/sub" "$T/sub-restored" || fail "restored subdirectory differs"

log "mount: latest/ and snapshots/<time>/ show the root's metadata"
MNT=$T/mnt
em_mount_fg "$STORE" "$MNT" "$T/mount.log"
"$TREECMP" --root-meta "$SRC" "$MNT/latest/" || fail "mount root differs from the source"
itemize "$SRC" "$MNT/latest"
[ "$(getfattr -h --absolute-names --only-values -n user.origin "$MNT/latest/")" = "population register" ] ||
	fail "getfattr of the snapshot root"
log "rsync -a mnt/latest/ copy/ is the source, its top included"
rsync -aHX "$MNT/latest/" "$T/copy/" || fail "rsync from the mount"
"$TREECMP" --root-meta "$SRC" "$T/copy" || fail "rsync copy differs from the source"
itemize "$SRC" "$T/copy"

log "a 256-byte name is ENAMETOOLONG, a 255-byte one ENOENT"
LONG=$(printf 'x%.0s' $(seq 256))
python3 - "$MNT/latest" "$LONG" <<'EOF' || fail "lookup of an overlong name"
import errno, os, sys
d, name = sys.argv[1], sys.argv[2]
for n, want in ((name, errno.ENAMETOOLONG), (name[:255], errno.ENOENT)):
    try:
        os.lstat(os.path.join(d, n))
    except OSError as e:
        assert e.errno == want, (len(n), errno.errorcode[e.errno])
    else:
        raise AssertionError("lookup of a %d-byte name succeeded" % len(n))
print("ENAMETOOLONG for 256 bytes, ENOENT for 255")
EOF
unmount "$MNT" "$MOUNT_PID"

log "--snapshot: the mount point itself shows the root's metadata"
em_mount_fg "$STORE" "$MNT" "$T/mount2.log" --snapshot latest
"$TREECMP" --root-meta "$SRC" "$MNT" || fail "--snapshot mount root differs"
itemize "$SRC" "$MNT"
unmount "$MNT" "$MOUNT_PID"

log "format 1 stores keep it too (root_meta is in the manifest, the same in every format)"
expect_rc 0 em init "$T/v1" --sealer-key "$T/v1.key" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1 --format 1
expect_rc 0 em seal "$T/v1" "$SRC" --sealer-key "$T/v1.key"
expect_rc 0 em_read restore "$T/v1" latest "$T/v1-restored"
"$TREECMP" --root-meta "$SRC" "$T/v1-restored" || fail "format 1: restored tree differs"

log "several paths sealed at once: a synthetic root, no root_meta, still readable"
expect_rc 0 em_seal "$STORE" "$SRC/file" "$SRC/sub"
expect_rc 0 em_read restore "$STORE" latest "$T/multi"
"$TREECMP" "$SRC/sub" "$T/multi/sub" || fail "multi-path restore"
log PASS
