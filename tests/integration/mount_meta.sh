#!/bin/bash
# label: mount
# timeout: 300
# The mount's metadata paths (issue 11):
#  - format 1 (JSON trees) and format 2 (binary trees) stores mount and compare with their
#    source (bytes, modes, ns mtimes, symlinks, hard links, xattrs), find and ls -lR agree;
#  - xattrs: when no snapshot of the mount has any (manifest counts), getxattr is "Operation
#    not supported" for the kernel to stop asking, listxattr is empty, and ls -l, cp -a and
#    rsync -aX read cleanly; with --snapshot the same; when an older snapshot has some, every
#    snapshot answers for itself (ENODATA in latest/, the value in the older one);
#  - the snapshot list is read after mounting: snapshots/ lists every snapshot by seal time
#    (the head's name without suffix, others sharing a second with "-<id>"), an older manifest
#    that fails to verify neither stops the mount nor is listed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
command -v getfattr >/dev/null && command -v setfattr >/dev/null || skip "attr not installed"
command -v rsync >/dev/null || skip "rsync not installed"

# plain_tree DIR: directories, files, a symlink, a hard link, an empty file and directory;
# no xattrs
plain_tree() {
	local d f
	mkdir -p "$1/empty-dir"
	for d in $(seq -w 1 12); do
		mkdir -p "$1/d$d/sub"
		for f in $(seq -w 1 15); do printf '%s/%s\n' "$d" "$f" >"$1/d$d/f$f"; done
		printf 'deep %s\n' "$d" >"$1/d$d/sub/leaf"
	done
	: >"$1/empty"
	ln -s d01/f01 "$1/link"
	ln "$1/d02/f02" "$1/hard"
}

# no_xattr_checks MNT ROOT SRC: what a mount without xattrs must do under MNT/ROOT
no_xattr_checks() {
	local mnt=$1 root=$2 src=$3
	run getfattr -n user.anything "$mnt/$root/d01/f01"
	[ "$RC" -ne 0 ] || fail "getfattr of a missing xattr succeeded"
	assert_grep 'Operation not supported' "$T/err" "getxattr is not ENOSYS-cached ($root)"
	run getfattr -h -d -m - "$mnt/$root/d01/f01"
	[ "$RC" -eq 0 ] && [ ! -s "$T/out" ] || fail "listxattr: rc $RC, '$(cat "$T/out")'"
	run ls -lR "$mnt/$root/"
	[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "ls -lR ($root)"; }
	[ "$(grep -c '^-' "$T/out")" -eq "$(find "$src" -type f | wc -l)" ] ||
		fail "ls -lR shows $(grep -c '^-' "$T/out") files"
	rm -rf "$T/cp" "$T/rs"
	run cp -a "$mnt/$root/" "$T/cp"
	[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "cp -a ($root)"; }
	"$TREECMP" "$src" "$T/cp" || fail "cp -a from the mount differs from the source"
	run rsync -aHX "$mnt/$root/" "$T/rs/"
	[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "rsync -aHX ($root)"; }
	"$TREECMP" "$src" "$T/rs" || fail "rsync -aHX from the mount differs from the source"
}

# ---- 1. both store formats ----
SRC=$T/src
mktree "$SRC" --big-dir 300 --seed 5 --no-socket
for fmt in 1 2; do
	log "format $fmt: seal, mount, compare"
	rm -f "$SEALER"
	expect_rc 0 em_init "$T/store$fmt" --format "$fmt"
	expect_rc 0 em_seal "$T/store$fmt" "$SRC"
	expect_rc 0 em_mount "$T/store$fmt" "$T/mnt$fmt" --cache-dir "$T/cache$fmt"
	compare_mount "$SRC" "$T/mnt$fmt/latest"
	assert_eq "$(cd "$SRC" && find . | LC_ALL=C sort)" \
		"$(cd "$T/mnt$fmt/latest" && find . | LC_ALL=C sort)" "find (format $fmt)"
	run ls -lR "$T/mnt$fmt/latest/"
	[ "$RC" -eq 0 ] && [ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "ls -lR (format $fmt)"; }
	# the snapshots carry xattrs: getxattr is answered, not refused
	run getfattr -n user.nothing-here "$T/mnt$fmt/latest/bigdir"
	assert_grep 'No such attribute' "$T/err" "getxattr in a store with xattrs"
	unmount "$T/mnt$fmt"
done

# ---- 2. no xattrs anywhere ----
log "no xattrs: three snapshots, getxattr refused for good, list read after mounting"
PLAIN=$T/plain
plain_tree "$PLAIN"
rm -f "$SEALER"
STORE=$T/store-plain
expect_rc 0 em_init "$STORE"
for i in 1 2 3; do
	printf 'seal %s\n' "$i" >"$PLAIN/d03/changing"
	expect_rc 0 em_seal "$STORE" "$PLAIN"
done
MNT=$T/mnt-plain
em_mount_fg "$STORE" "$MNT" "$T/plain.log" --cache-dir "$T/cache-plain"
HEADNAME=$(readlink "$MNT/latest")
[[ $HEADNAME =~ ^snapshots/[0-9T:-]+Z$ ]] || fail "latest -> '$HEADNAME': the head's name has a suffix"
cat "$MNT/latest/d03/changing" | grep -q 'seal 3' || fail "latest is not the last seal"
# listing snapshots/ waits for the list, after which the answer is known
ls "$MNT/snapshots" >"$T/names"
[ "$(wc -l <"$T/names")" -eq 3 ] || fail "snapshots/ lists $(wc -l <"$T/names") of 3"
grep -qx "${HEADNAME#snapshots/}" "$T/names" || fail "the head's name is not in snapshots/"
while read -r n; do # a suffix only where a second is shared
	[[ $n == *Z-* ]] || continue
	[ "$(grep -c "^${n%%Z-*}Z" "$T/names")" -ge 2 ] || fail "$n has a suffix it does not need"
	[[ $n =~ Z-[0-9a-f]{12}$ ]] || fail "suffix of $n"
done <"$T/names"
for n in $(cat "$T/names"); do
	[ -f "$MNT/snapshots/$n/d01/f01" ] || fail "snapshots/$n is not readable"
done
no_xattr_checks "$MNT" latest "$PLAIN"
unmount "$MNT" "$MOUNT_PID"

log "no xattrs, --snapshot: refused from the first request"
expect_rc 0 em_mount "$STORE" "$MNT" --snapshot latest --cache-dir "$T/cache-plain"
no_xattr_checks "$MNT" . "$PLAIN"
unmount "$MNT"

# ---- 3. an older snapshot with xattrs ----
log "xattrs only in an older snapshot: each snapshot answers for itself"
rm -f "$SEALER"
STORE=$T/store-mixed
expect_rc 0 em_init "$STORE"
setfattr -n user.color -v blue "$PLAIN/d01/f01"
expect_rc 0 em_seal "$STORE" "$PLAIN"
setfattr -x user.color "$PLAIN/d01/f01"
printf 'changed\n' >"$PLAIN/d03/changing"
expect_rc 0 em_seal "$STORE" "$PLAIN"
expect_rc 0 em_mount "$STORE" "$MNT" --cache-dir "$T/cache-mixed"
ls "$MNT/snapshots" >"$T/names"
[ "$(wc -l <"$T/names")" -eq 2 ] || fail "snapshots/ lists $(wc -l <"$T/names") of 2"
run getfattr -n user.color "$MNT/latest/d01/f01"
assert_grep 'No such attribute' "$T/err" "latest/ without the xattr"
OLD=$(ls "$MNT/snapshots" | grep -vx "$(readlink "$MNT/latest" | cut -d/ -f2)")
assert_eq blue "$(getfattr --only-values -n user.color "$MNT/snapshots/$OLD/d01/f01")" \
	"the older snapshot's xattr"
unmount "$MNT"

# ---- 4. an older manifest that fails to verify ----
log "a damaged older manifest: the mount is ready, the list leaves it out"
STORE=$T/store-plain
HEAD_ID=$(python3 -c 'import json,sys
e = json.load(open(sys.argv[1])); print(json.loads(e["body"])["snapshot"])' "$STORE/heads/latest")
VICTIM=$(ls "$STORE/snapshots" | grep -vx "$HEAD_ID" | head -1)
python3 - "$STORE/snapshots/$VICTIM" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(bytes(b))
EOF
em_mount_fg "$STORE" "$MNT" "$T/bad.log" --cache-dir "$T/cache-bad"
grep -q 'seal 3' "$MNT/latest/d03/changing" || fail "latest does not read"
[ "$(ls "$MNT/snapshots" | wc -l)" -eq 2 ] || fail "snapshots/ lists $(ls "$MNT/snapshots" | wc -l), want 2"
assert_grep 'failed verification' "$T/bad.log" "the damaged manifest is reported"
unmount "$MNT" "$MOUNT_PID"
log "PASS"
