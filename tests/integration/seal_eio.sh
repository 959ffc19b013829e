#!/bin/bash
# label: local
# A hard-linked file whose content fails to read (EIO) after its first name was registered
# is recorded under no name: seal warns (exit 3) for every name, and no later name gets a
# partial chunk list with the full size (which would read back as zeros without a warning).
# The EIO is real: strace's fault injection makes the kernel's pread64 of that file fail from
# the second call on, after 8 MiB of it were read and chunked.
. "$(dirname "$0")/lib.sh"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }
command -v strace >/dev/null || skip "strace not installed (scripts/deps.sh --test)"

SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/a" "$SRC/b"
head -c $((12 * 1048576)) /dev/urandom >"$SRC/a/hl1"
ln "$SRC/a/hl1" "$SRC/a/hl2" # a later name in the same directory
ln "$SRC/a/hl1" "$SRC/b/hl3" # and in a directory sealed after it
printf 'fine\n' >"$SRC/a/plain"
head -c 300000 /dev/urandom >"$SRC/b/other"

# probe: can strace inject here (ptrace allowed)?
strace -f -qq -o /dev/null -e trace=getpid true 2>/dev/null || skip "strace cannot trace here"

expect_rc 0 em_init "$STORE"
log "seal with every pread of a/hl1 after the first failing with EIO"
# LeakSanitizer cannot run under ptrace (ASan build): the leak check of seal is in the other
# tests; here only ASan's memory errors are checked
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 run strace -f -qq -o /dev/null -P "$SRC/a/hl1" -e trace=pread64 \
	-e inject=pread64:error=EIO:when=2+ "$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$SEALER"
[ "$RC" -eq 3 ] || { cat "$T/err" >&2; fail "seal exited $RC, expected 3 (warnings)"; }
for n in a/hl1 a/hl2 b/hl3; do
	assert_grep "$n: .*(read error|could not be read).*not in the snapshot" "$T/err" \
		"seal names $n as not recorded"
done

log "no name of the unreadable file is in the snapshot; the rest is"
expect_rc 0 em_read ls "$STORE" latest -R
for n in hl1 hl2 hl3; do
	! grep -q "$n" "$T/out" || { cat "$T/out" >&2; fail "$n is listed in the snapshot"; }
done
assert_grep '^a/plain$|plain' "$T/out" "a/plain listed"
expect_rc 0 em_read restore "$STORE" latest "$T/restored"
[ ! -e "$T/restored/a/hl2" ] && [ ! -e "$T/restored/b/hl3" ] && [ ! -e "$T/restored/a/hl1" ] ||
	fail "a name of the unreadable file was restored"
assert_files_eq "$SRC/a/plain" "$T/restored/a/plain"
assert_files_eq "$SRC/b/other" "$T/restored/b/other"

log "once readable again, the next seal records all three names, byte-exact"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read restore "$STORE" latest "$T/again"
"$TREECMP" "$SRC" "$T/again" || fail "second seal differs from the source"
log PASS
