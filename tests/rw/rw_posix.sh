#!/bin/bash
# label: rw
# timeout: 150
# A --rw mount behaves like a local file system: random operations (create with O_EXCL,
# O_TRUNC, O_APPEND; random, sparse and appending writes; truncate up and down; unlink of
# open files; mkdir/rmdir; rename incl. over targets, RENAME_NOREPLACE, RENAME_EXCHANGE; hard
# links, symlinks, chmod, chown, utimensat with UTIME_NOW/OMIT, xattrs, mkfifo, mknod, mmap
# MAP_SHARED + msync, SEEK_DATA/SEEK_HOLE, statfs) applied to the mount and a plain directory
# in lockstep, every result and byte compared, with unmount + mount in between (the journal
# replays). A reader's credential cannot mount --rw; the journal holds no plaintext.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
MODEL=$T/m/model # (a level deeper than the mount: a symlink to ../b leaves each tree for a file of its own)
OPS=${RWFUZZ_OPS:-4000}
[ "$SANITIZED" = 1 ] && OPS=2000

# the fuzzer's names (a, b, c, sub, f.db) exist in the base too, beside a rich tree
mkdir -p "$T/src"
mktree "$T/src/tree" --seed 7
printf 'alpha\n' >"$T/src/a"
head -c 3000000 /dev/urandom >"$T/src/b"
mkdir -p "$T/src/sub/sub"
printf 'charlie\n' >"$T/src/sub/c"
ln "$T/src/a" "$T/src/sub/a"
ln -s a "$T/src/c"
expect_rc 0 em_init "$STORE"
run em_seal "$STORE" "$T/src"
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || { cat "$T/err" >&2; fail "seal exited $RC"; }

log "a reader's credential cannot mount --rw: one line, exit 4"
mkdir -p "$MNT"
expect_rc 4 em mount "$STORE" "$MNT" --rw --passphrase-file "$PASSFILE" --journal-dir "$JDIR"
expect_one_error_line
assert_grep 'needs the sealer key' "$T/err"
! mountpoint -q "$MNT" || fail "mounted anyway"

log "mount --rw; the root is the latest snapshot, writable"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
"$TREECMP" "$T/src" "$MNT" || fail "the mount does not show the sealed tree"
mkdir -p "${MODEL%/*}"
cp -a "$MNT/." "$MODEL" # what the mount shows (sockets are not sealed)

log "$OPS random operations against a plain directory, remounting every 2000"
cat >"$T/remount" <<EOR
#!/bin/bash
fusermount3 -u "$MNT" && "$EMBASSY" mount "$STORE" "$MNT" --rw --sealer-key "$SEALER" \
	--journal-dir "$JDIR" --commit-every 0
EOR
chmod +x "$T/remount"
python3 "$RWFUZZ" --mount "$MNT" --model "$MODEL" --ops "$OPS" --compare-every 1000 \
	${RWFUZZ_SEED:+--seed "$RWFUZZ_SEED"} \
	--remount "$T/remount" --remount-every 2000 || fail "the mount and the directory differ"

log "the journal on disk holds no plaintext"
MARK="EMBASSY-RW-MARKER-$$-plaintext"
printf '%s\n' "$MARK" >"$MNT/marker.txt"
setfattr -n user.note -v "$MARK" "$MNT/marker.txt"
mkdir "$MNT/$MARK-dir"
sync -f "$MNT/marker.txt"
no_plaintext "$JDIR" "$MARK"
unmount "$MNT"
no_plaintext "$JDIR" "$MARK"
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"
[ "$(cat "$MNT/marker.txt")" = "$MARK" ] || fail "the marker file did not survive a remount"
unmount "$MNT"
log "ok"
