#!/bin/bash
# label: local
# timeout: 600
# A directory of 100,000 entries round trips: every name (and content) comes back, ls lists
# them all.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
N=100000
mkdir -p "$SRC"
"$MKTREE" "$T/gen" --big-dir "$N" --small --no-socket >/dev/null
mv "$T/gen/bigdir" "$SRC/bigdir"
printf 'beside\n' >"$SRC/beside.txt"

expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" --json
assert_eq $((N + 1)) "$(json_get "$T/out" 'd["files"]')" "files sealed"
expect_rc 0 em_read ls "$STORE" latest:bigdir
[ "$(wc -l <"$T/out")" -eq "$N" ] || fail "ls lists $(wc -l <"$T/out") of $N entries"
ls "$SRC/bigdir" | LC_ALL=C sort >"$T/want"
LC_ALL=C sort "$T/out" >"$T/got"
assert_files_eq "$T/want" "$T/got" "ls of the big directory"
expect_rc 0 em_read restore "$STORE" latest "$T/r"
"$TREECMP" "$SRC" "$T/r" || fail "restored big directory differs"
log "PASS"
