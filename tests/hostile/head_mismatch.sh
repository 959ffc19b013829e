#!/bin/bash
# label: hostile
# A head pointer, validly signed, whose sequence number is not the one in the manifest of the
# snapshot it names (a forged or mixed-up head: only a sealer key, or a bug, makes one). Every
# reader refuses `latest` (7) — and says why: the mount used to refuse it without a word
# (fs/fs_layout.c), leaving "failed authentication" and nothing in its log to go on.
. "$(dirname "$0")/hostile_lib.bash"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }

make_store
expect_rc 0 "$HOSTILE" forge-head "$STORE" --sealer-key "$SEALER" --seq 5 --expires-in 3600

log "ls and cat: 7, naming both sequence numbers"
expect_rc 7 em_read ls "$STORE" latest
assert_grep 'sequence 5.*1' "$T/err" "ls names the mismatch"
expect_rc 7 em_read cat "$STORE" latest:docs/a.txt

have_mount || skip "no FUSE here (/dev/fuse, fusermount3)"
log "mount: refused (7), and its log says the head and the manifest disagree"
MNT=$T/mnt
if mount_store "$MNT"; then
	fail "the mount came up on a head that names another sequence than its manifest"
fi
[ "${MOUNT_RC:-0}" -eq 7 ] || { cat "$T/mount.err" >&2; fail "mount exit ${MOUNT_RC:-?}, want 7"; }
assert_grep 'head pointer says sequence 5.*manifest.*says 1' "$T/mount.err" \
	"the mount's log names the mismatch"
finish
