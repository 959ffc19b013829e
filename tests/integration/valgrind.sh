#!/usr/bin/env bash
# label: local
# timeout: 300
# sanitizer: no (valgrind cannot run an ASan binary; the ASan build checks the same code)
# valgrind.sh — the core under valgrind's memcheck (independent of the ASan build): init,
# seal, re-seal, ls, restore and verify --read-data of a small tree; any invalid access,
# use of uninitialised memory or definite leak fails the test.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || skip "valgrind is not installed (scripts/deps.sh --test)"
# (not registered in the sanitizer build: see the "sanitizer:" line above)
[ "$SANITIZED" != 1 ] || skip "valgrind does not run ASan binaries"
export EMBASSY_STATE_DIR=$T/state
VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--track-origins=yes)
SRC=$T/src
mkdir -p "$SRC/a/b"
head -c 1500000 /dev/urandom >"$SRC/a/big.bin"
seq 1 20000 >"$SRC/a/b/list.csv"
ln -s ../big.bin "$SRC/a/b/link"
ln "$SRC/a/big.bin" "$SRC/hard"
run() { # run NAME CMD...: exit 99 is valgrind's
	local rc=0
	"${VG[@]}" "$@" >"$T/out" 2>"$T/vg.err" || rc=$?
	[ "$rc" != 99 ] || { cat "$T/vg.err" >&2; fail "valgrind found errors in: $*"; }
	[ "$rc" = 0 ] || { cat "$T/vg.err" >&2; fail "exit $rc: $*"; }
}
run "$EMBASSY" init "$T/store" --sealer-key "$T/sk" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1
run "$EMBASSY" seal "$T/store" "$SRC" --sealer-key "$T/sk"
run "$EMBASSY" seal "$T/store" "$SRC" --sealer-key "$T/sk"
run "$EMBASSY" ls "$T/store" latest -R -l --passphrase-file "$PASSFILE"
run "$EMBASSY" restore "$T/store" latest "$T/out-tree" --passphrase-file "$PASSFILE"
diff -r "$SRC" "$T/out-tree" || fail "restore under valgrind differs"
run "$EMBASSY" verify "$T/store" --read-data --passphrase-file "$PASSFILE"
log "ok - init, seal, re-seal, ls, restore, verify: memcheck clean"
