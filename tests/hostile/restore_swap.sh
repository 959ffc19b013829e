#!/bin/bash
# label: hostile
# A local attacker who can write into the restore target (a shared, world-writable target
# directory) swaps a FIFO that restore just created for a symlink to a file of theirs' choice,
# and a symlink restore just created for a hard link to another file, hoping that root's
# restore then chmods / chowns / sets the times of *those* files. Restore must change only
# what it created: it reopens each name O_PATH | O_NOFOLLOW, checks it, and works on that
# inode only. The window is made wide and certain with strace's delay injection after
# mknodat and symlinkat; the test swaps the name once it exists (polled, no fixed sleep).
. "$(dirname "$0")/hostile_lib.bash"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (the attack is on root's restore)"
command -v strace >/dev/null || skip "strace not installed (scripts/deps.sh --test)"
strace -f -qq -o /dev/null -e trace=getpid true 2>/dev/null || skip "strace cannot trace here"
# LeakSanitizer cannot work under ptrace: in the ASan build, leaks are checked by other tests
[ "$SANITIZED" != 1 ] || export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

mkdir -p "$SRC"
printf 'register\n' >"$SRC/file"
mkfifo -m 0640 "$SRC/fifo"
ln -s file "$SRC/link"
chown -h 4321:4321 "$SRC/fifo" "$SRC/link"
touch -h -d '2001-01-01 00:00:00' "$SRC/fifo" "$SRC/link"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"

# the attacker's prizes: must keep mode, owner and times whatever restore does
mkdir -p "$T/victim"
printf 'secret\n' >"$T/victim/shadow"
chmod 0600 "$T/victim/shadow"
touch -d '2010-10-10 10:10:10' "$T/victim/shadow"
cp -a "$T/victim/shadow" "$T/victim/hosts"
before() { stat -c '%a %u:%g %Y' "$T/victim/shadow" "$T/victim/hosts"; }
BEFORE=$(before)

TARGET=$T/shared
mkdir -m 1777 "$TARGET" # like /tmp: anyone may create names in it
start_bg strace -f -qq -o /dev/null -e trace=mknodat,symlinkat \
	-e inject=mknodat,symlinkat:delay_exit=4000000 \
	"$EMBASSY" restore "$STORE" latest "$TARGET" --overwrite --passphrase-file "$PASSFILE"
RPID=$BG_PID
wait_until 60 test -p "$TARGET/fifo"
rm "$TARGET/fifo" && ln -s "$T/victim/shadow" "$TARGET/fifo"
wait_until 60 test -L "$TARGET/link"
rm "$TARGET/link" && ln "$T/victim/hosts" "$TARGET/link"
set +e
wait "$RPID"
RC=$?
set -e
log "restore exited $RC"
assert_eq "$BEFORE" "$(before)" "the attacker's files were changed through the swapped names"
[ "$(stat -c %a "$T/victim/shadow")" = 600 ] || fail "chmod followed the symlink"
[ "$RC" -ne 0 ] || fail "restore reported success although two entries were swapped under it"
cmp -s "$TARGET/file" "$SRC/file" || fail "the regular file was not restored"

log "without an attacker the same restore (under the same delays) is exact"
start_bg strace -f -qq -o /dev/null -e trace=mknodat,symlinkat \
	-e inject=mknodat,symlinkat:delay_exit=100000 \
	"$EMBASSY" restore "$STORE" latest "$T/clean" --passphrase-file "$PASSFILE"
wait "$BG_PID" || fail "clean restore failed"
"$TREECMP" "$SRC" "$T/clean" || fail "clean restore differs"
finish
