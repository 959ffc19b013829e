#!/usr/bin/env bash
# label: local
# seal_exclude.sh — seal --exclude / --exclude-file / --one-file-system on a local store:
#   1. names at any depth ('*.tmp', 'cache'), an anchored path ('/data/logs'), '**' from an
#      exclude file (with a comment and a blank line): the restored snapshot is byte for byte
#      the source minus exactly those entries, and --json counts what was left out;
#   2. a PATH named on the command line is sealed even when a pattern matches its name;
#   3. --one-file-system: a tmpfs mounted inside the source is kept as an empty directory,
#      and without the option its file is sealed;
#   4. bad patterns and a missing exclude file are usage errors (exit 2) before the store
#      is touched.
. "$(dirname "$0")/lib.sh"

STORE=$T/store
SRC=$T/src
expect_rc 0 em_init "$STORE"
mkdir -p "$SRC/a/cache" "$SRC/b" "$SRC/data/logs" "$SRC/data/sub/logs" "$SRC/deep/e/f"
for f in a/keep.txt a/cache/x.bin b/x.tmp top.tmp data/logs/old.log data/keep.csv \
	data/sub/logs/kept.log deep/e/f/g.log deep/e/h.log; do
	head -c 3000 /dev/urandom >"$SRC/$f"
done
printf '# left out as well\n\n**/f/g.log\n' >"$T/excludes"

log "1. patterns: any depth, anchored, ** from a file"
expect_rc 0 em_seal "$STORE" "$SRC" --exclude '*.tmp' --exclude cache --exclude /data/logs \
	--exclude-file "$T/excludes" --json
assert_eq 5 "$(json_get "$T/out" 'd["excluded"]')" "excluded entries counted (--json)"
expect_rc 0 em_read restore "$STORE" latest "$T/r1"
cp -a "$SRC" "$T/want"
rm -r "$T/want/a/cache" "$T/want/b/x.tmp" "$T/want/top.tmp" "$T/want/data/logs" \
	"$T/want/deep/e/f/g.log"
for d in a b data deep/e/f; do touch -r "$SRC/$d" "$T/want/$d"; done # rm moved their mtimes
"$TREECMP" "$T/want" "$T/r1" || fail "the restored snapshot is not the source minus the excluded"

log "2. a PATH named on the command line is sealed whatever the patterns say"
expect_rc 0 em_seal "$STORE" "$SRC/top.tmp" "$SRC/b" --exclude '*.tmp' --json
expect_rc 0 em_read restore "$STORE" latest "$T/r2"
cmp "$SRC/top.tmp" "$T/r2/top.tmp" || fail "the named PATH top.tmp was not sealed"
[ -d "$T/r2/b" ] && [ ! -e "$T/r2/b/x.tmp" ] || fail "b/x.tmp below a PATH was not excluded"

log "4. usage errors before the store is touched"
before=$(store_listing "$STORE")
expect_rc 2 em_seal "$STORE" "$SRC" --exclude ''
expect_rc 2 em_seal "$STORE" "$SRC" --exclude-file "$T/no-such-file"
grep -q "no-such-file" "$T/err" || fail "the missing exclude file is not named: $(cat "$T/err")"
assert_eq "$before" "$(store_listing "$STORE")" "a usage error changed the store"

log "3. --one-file-system: another file system inside the source stays empty"
need_root "mounting a tmpfs inside the source"
mkdir -p "$SRC/mnt"
mount -t tmpfs -o size=1m embassy-test "$SRC/mnt" || skip "cannot mount a tmpfs here"
on_exit 'umount "$SRC/mnt" 2>/dev/null || true'
echo "on another file system" >"$SRC/mnt/other.txt"
expect_rc 0 em_seal "$STORE" "$SRC" --one-file-system --json
assert_eq 1 "$(json_get "$T/out" 'd["fs_boundaries"]')" "one file system boundary counted"
expect_rc 0 em_read restore "$STORE" latest "$T/r3"
[ -d "$T/r3/mnt" ] || fail "the mount point is not kept"
[ -z "$(ls -A "$T/r3/mnt")" ] || fail "the mount point is not empty: $(ls -A "$T/r3/mnt")"
cmp "$SRC/a/keep.txt" "$T/r3/a/keep.txt" || fail "files on the same file system are missing"
expect_rc 0 em_seal "$STORE" "$SRC" --json
expect_rc 0 em_read restore "$STORE" latest "$T/r4"
cmp "$SRC/mnt/other.txt" "$T/r4/mnt/other.txt" || fail "without the option, the mount's file is missing"
expect_rc 0 em_read verify "$STORE" -q
log "OK"
