#!/usr/bin/env bash
# label: local
# restore_filter.sh — restore --include / --exclude: exactly the files the patterns select
# come back, byte for byte, and nothing else (checked against the list of every file):
# include by name at any depth, exclude by name and by anchored path, both together
# (exclude wins), a PATH of the snapshot restored with patterns anchored at the snapshot's
# root, the patterns read from --include-file/--exclude-file, and an empty pattern or a
# missing pattern file is a usage error.
. "$(dirname "$0")/lib.sh"

STORE=$T/store
SRC=$T/src
expect_rc 0 em_init "$STORE"
mkdir -p "$SRC/land" "$SRC/logs" "$SRC/docs/deep"
for f in land/a.db land/b.txt logs/x.log docs/deep/y.db docs/keep.txt top.db; do
	head -c 5000 /dev/urandom >"$SRC/$f"
done
expect_rc 0 em_seal "$STORE" "$SRC" -q

# check DIR FILE...: DIR holds exactly these files, each equal to the source's
check() {
	local dir=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sort)
	got=$(cd "$dir" && find . -type f | sed 's|^\./||' | sort)
	assert_eq "$want" "$got" "the files restored into $(basename "$dir")"
	for f in "$@"; do cmp "$SRC/${PREFIX:-}$f" "$dir/$f" || fail "$f differs"; done
}

log "--include by name at any depth"
expect_rc 0 em_read restore "$STORE" latest "$T/r1" --include '*.db' --json
check "$T/r1" land/a.db docs/deep/y.db top.db
[ "$(json_get "$T/out" 'd["skipped"]')" -ge 3 ] || fail "skipped entries not counted: $(cat "$T/out")"

log "--exclude by name and by anchored path"
expect_rc 0 em_read restore "$STORE" latest "$T/r2" --exclude logs --exclude /land/b.txt
check "$T/r2" land/a.db docs/deep/y.db docs/keep.txt top.db
[ ! -e "$T/r2/logs" ] || fail "the excluded directory was created"

log "both: exclude wins"
expect_rc 0 em_read restore "$STORE" latest "$T/r3" --include docs --exclude '*.db'
check "$T/r3" docs/keep.txt

log "a PATH of the snapshot: patterns still anchored at the snapshot root"
expect_rc 0 em_read restore "$STORE" latest:docs "$T/r4" --include docs/deep
PREFIX=docs/ check "$T/r4" deep/y.db

log "--include-file / --exclude-file: the same patterns from files"
printf '# what the registry team restores\n\n*.db\ndocs\r\n' >"$T/inc"
printf '/docs/deep\n' >"$T/exc"
expect_rc 0 em_read restore "$STORE" latest "$T/r6" --include-file "$T/inc" --exclude-file "$T/exc"
check "$T/r6" land/a.db docs/keep.txt top.db
expect_rc 2 em_read restore "$STORE" latest "$T/r7" --include-file "$T/missing"
assert_grep "include-file .*missing" "$T/err" "a missing pattern file is named"
[ ! -e "$T/r7" ] || fail "a usage error created the target"

log "an empty pattern is a usage error"
expect_rc 2 em_read restore "$STORE" latest "$T/r5" --include ''
[ ! -e "$T/r5" ] || fail "a usage error created the target"
log "OK"
