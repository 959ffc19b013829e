#!/bin/bash
# label: hostile
# timeout: 240
# Attack 12: poisoning the mount's metadata mirror. The mount keeps local copies of the
# descriptor, key entries, manifests and head pointer (for remounts and --offline). A host
# that serves a bad descriptor, key entry or manifest once must not break later mounts once
# it serves the good object again: the mirror keeps only what verified. And a copy that goes
# bad on the local disk is fetched again from the store and replaced, not trusted or kept.
. "$(dirname "$0")/hostile_lib.bash"
have_mount || skip "no FUSE (/dev/fuse, fusermount3)"

make_store
printf 'second seal\n' >"$SRC/docs/c.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
CACHE=$T/cache
MNT=$T/mnt
OLD=$(ls -tr "$STORE/snapshots" | head -1) # the first seal's manifest (not the head's)
ENTRY=$(cd "$STORE" && ls keys/pass-* | head -1)

# mount_ok [ARGS]: a daemon mount of $STORE with the mirror in $CACHE; 0 if it came up
mount_try() {
	mkdir -p "$MNT"
	MOUNTS+=("$MNT")
	run "$EMBASSY" mount "$STORE" "$MNT" --passphrase-file "$PASSFILE" --cache-dir "$CACHE" "$@"
	no_crash mount
}
umount_it() { fusermount3 -u "$MNT"; }
flip() { # FILE: one byte in the middle changed (a hex digit to another digit, not its case)
	python3 - "$1" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = len(b) // 2
c = chr(b[i])
if c in "0123456789abcdefABCDEF":
    b[i] = ord("1" if c != "1" else "2")
else:
    b[i] ^= 0x01
open(p, "wb").write(bytes(b))
EOF
}
snapshots_shown() { ls "$MNT/snapshots" | wc -l; }

log "(a) a manifest served bad once"
cp "$STORE/snapshots/$OLD" "$T/good-manifest"
flip "$STORE/snapshots/$OLD"
mount_try
[ "$RC" -eq 0 ] || fail "(a) the mount failed over one bad old manifest: $(cat "$T/err")"
[ "$(snapshots_shown)" -eq 1 ] || fail "(a) the bad manifest was listed"
umount_it
cp "$T/good-manifest" "$STORE/snapshots/$OLD"
mount_try
[ "$RC" -eq 0 ] || fail "(a) remount: $(cat "$T/err")"
[ "$(snapshots_shown)" -eq 2 ] || fail "(a) the host is fixed, but the mount still lacks the snapshot"
cmp -s "$SRC/docs/a.txt" "$MNT/latest/docs/a.txt" || fail "(a) a file after the fix"
umount_it

log "(b) a descriptor served bad once"
cp "$STORE/embassy.json" "$T/good-desc"
rm -rf "$CACHE"
flip "$STORE/embassy.json"
mount_try
[ "$RC" -ne 0 ] || fail "(b) a bad descriptor was accepted"
! mountpoint -q "$MNT" || umount_it
cp "$T/good-desc" "$STORE/embassy.json"
mount_try
[ "$RC" -eq 0 ] || fail "(b) the host is fixed, but the mount still fails: $(cat "$T/err")"
[ "$(snapshots_shown)" -eq 2 ] || fail "(b) snapshots after the fix"
umount_it

log "(c) a key entry served bad once"
cp "$STORE/$ENTRY" "$T/good-entry"
rm -rf "$CACHE"
flip "$STORE/$ENTRY"
mount_try
[ "$RC" -ne 0 ] || fail "(c) a bad key entry opened the store"
! mountpoint -q "$MNT" || umount_it
cp "$T/good-entry" "$STORE/$ENTRY"
mount_try
[ "$RC" -eq 0 ] || fail "(c) the host is fixed, but the mount still fails: $(cat "$T/err")"
umount_it

log "(d) copies damaged on the local disk: fetched again and replaced"
for obj in embassy.json "$ENTRY" "snapshots/$OLD"; do
	copy=$(find "$CACHE/meta" -path "*/$obj" -type f | head -1)
	[ -n "$copy" ] || fail "(d) no kept copy of $obj"
	flip "$copy"
	mount_try
	[ "$RC" -eq 0 ] || fail "(d) a damaged copy of $obj broke the mount: $(cat "$T/err")"
	[ "$(snapshots_shown)" -eq 2 ] || fail "(d) snapshots with a damaged copy of $obj"
	umount_it
	cmp -s "$copy" "$STORE/$obj" || fail "(d) the damaged copy of $obj was not replaced"
done

log "(e) only verified objects are kept: nothing the host served unverified"
for f in $(cd "$CACHE/meta"/* && find . -type f ! -name '.*' | sed 's|^\./||'); do
	cmp -s "$CACHE/meta/"*/"$f" "$STORE/$f" || fail "(e) the kept $f differs from the store's"
done
! find "$CACHE/meta" -path '*/index/*' -type f | grep -q . || fail "(e) index objects were kept"

log "(f) offline from the kept copies"
mount_try --offline
[ "$RC" -eq 0 ] || fail "(f) offline mount: $(cat "$T/err")"
[ "$(snapshots_shown)" -eq 2 ] || fail "(f) offline snapshots"
umount_it

finish
