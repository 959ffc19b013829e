#!/bin/bash
# label: local
# timeout: 300
# Round trip on a local store: a generated tree with every kind of entry is sealed and
# restored, and the restored tree must equal the source (content, metadata, links, holes).
# Also: restoring a subtree and a single file, cat, ls -R / -l, snapshots --json, and a seal
# of several PATHs (each under its base name).
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
mktree "$SRC" --big-dir 500 --seed 7

log "init"
expect_rc 0 em_init "$STORE"
[[ $(cat "$T/out") =~ ^[0-9a-f]{32}$ ]] || fail "init printed '$(cat "$T/out")', not a store id"

log "seal (the tree holds a socket: seal warns, skips it and exits 3)"
expect_rc 3 em_seal "$STORE" "$SRC" --tag roundtrip --tag second --host test-host --json
assert_grep 'socket' "$T/err" "seal names the skipped socket"
cp "$T/out" "$T/seal.json"
SNAP=$(json_get "$T/seal.json" 'd["snapshot"]')
[[ $SNAP =~ ^[0-9a-f]{64}$ ]] || fail "seal --json gave snapshot '$SNAP'"
for f in seq files dirs symlinks others bytes chunks chunks_new bytes_new_plain \
	bytes_new_stored packs_new warnings; do
	json_get "$T/seal.json" "d['$f']" >/dev/null || fail "seal --json lacks $f"
done
[ "$(json_get "$T/seal.json" 'd["warnings"] >= 1')" = True ] || fail "no warning counted"

log "restore everything and compare"
expect_rc 0 em_read restore "$STORE" latest "$T/r-all"
"$TREECMP" --holes "$SRC" "$T/r-all" || fail "restored tree differs from the source"

log "restore a subtree by id prefix"
expect_rc 0 em_read restore "$STORE" "${SNAP:0:10}:names" "$T/r-sub"
"$TREECMP" "$SRC/names" "$T/r-sub" || fail "restored subtree differs"

log "restore a single file"
expect_rc 0 em_read restore "$STORE" "latest:files/random-2" "$T/r-one"
assert_files_eq "$SRC/files/random-2" "$T/r-one/random-2" "single-file restore"
[ "$(find "$T/r-one" -mindepth 1 | wc -l)" -eq 1 ] || fail "single-file restore wrote more"

log "restore into a missing TARGET creates it; into a non-empty one is refused"
expect_rc 1 em_read restore "$STORE" latest "$T/r-one"
expect_one_error_line

log "cat"
em_read cat "$STORE" latest:files/data.csv >"$T/cat.csv" || fail "cat failed"
assert_files_eq "$SRC/files/data.csv" "$T/cat.csv" "cat of data.csv"
em_read cat "$STORE" "$SNAP:files/sparse" >"$T/cat.sparse" || fail "cat of a sparse file"
assert_files_eq "$SRC/files/sparse" "$T/cat.sparse" "cat of sparse"
em_read cat "$STORE" "latest:names/colon:in:name" >"$T/cat.colon" || fail "cat of a name with ':'"
assert_files_eq "$SRC/names/colon:in:name" "$T/cat.colon"
em_read cat "$STORE" "latest:files/empty" >"$T/cat.empty" || fail "cat of an empty file"
[ ! -s "$T/cat.empty" ] || fail "cat of an empty file wrote bytes"
expect_rc 1 em_read cat "$STORE" latest:files
expect_one_error_line
expect_rc 6 em_read cat "$STORE" latest:files/no-such-file
expect_one_error_line

log "ls -R --json lists every name (exact bytes)"
expect_rc 0 em_read ls "$STORE" latest -R --json
cp "$T/out" "$T/ls.json"
python3 - "$SRC" "$T/ls.json" <<'EOF' || fail "ls -R --json does not list exactly the source's names"
import json, os, stat, sys
src, listing = os.fsencode(sys.argv[1]), json.load(open(sys.argv[2]))
want = set()
for root, dirs, files in os.walk(src):
    for n in dirs + files:
        p = os.path.join(root, n)
        if not stat.S_ISSOCK(os.lstat(p).st_mode):
            want.add(os.path.relpath(p, src))
got = set(bytes.fromhex(e["path_hex"]) if "path_hex" in e else e["path"].encode()
          for e in listing)
for p in sorted(want - got)[:10]: print("missing:", p)
for p in sorted(got - want)[:10]: print("extra:", p)
sys.exit(want != got)
EOF

log "ls -R text: one line per entry, nothing raw on the terminal"
expect_rc 0 em_read ls "$STORE" latest -R
[ "$(wc -l <"$T/out")" -eq "$(json_get "$T/ls.json" 'len(d)')" ] || fail "ls -R line count"
! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$T/out" || fail "ls printed a raw control character"
assert_grep '^names/new\\nline$' "$T/out" "newline escaped"
assert_grep '^names/\\377\\376$' "$T/out" "invalid UTF-8 escaped"
assert_grep '^names/with\\ space$' "$T/out" "space escaped"

log "ls -l"
expect_rc 0 em_read ls "$STORE" latest:links -l
assert_grep '^lrwxrwxrwx .* relative -> \.\./files/one$' "$T/out" "symlink in ls -l"
expect_rc 0 em_read ls "$STORE" latest:modes -l
assert_grep '^-rwsr-xr-x ' "$T/out" "setuid mode string"
assert_grep '^drwxrwxrwt ' "$T/out" "sticky mode string"
if [ "$(id -u)" -eq 0 ]; then
	expect_rc 0 em_read ls "$STORE" latest:owners/f1234 -l
	assert_grep '^-rw-r--r-- +1 +1234 +5678 ' "$T/out" "owner in ls -l"
else
	skip_part "owner in ls -l (needs root)"
fi

log "snapshots --json"
expect_rc 0 em_read snapshots "$STORE" --json
cp "$T/out" "$T/snaps.json"
python3 - "$T/snaps.json" "$SNAP" "$T/seal.json" <<'EOF' || fail "snapshots --json"
import json, sys
snaps = json.load(open(sys.argv[1]))
seal = json.loads(open(sys.argv[3]).read().splitlines()[-1])  # the summary is the last line
assert len(snaps) == 1, snaps
s = snaps[0]
assert s["id"] == sys.argv[2] and s["latest"] is True, s
assert s["files"] == seal["files"] and s["bytes"] == seal["bytes"] and s["files"] > 500, s
assert s["host"] == "test-host" and sorted(s["tags"]) == ["roundtrip", "second"], s
print("snapshot:", s["id"][:12], s["time"], s["files"], "files", s["bytes"], "bytes")
EOF
expect_rc 0 em_read snapshots "$STORE"
assert_grep "^\* ${SNAP:0:12} " "$T/out" "latest marked in the table"

log "several PATHs: each under its base name"
expect_rc 0 em_seal "$STORE" "$SRC/modes" "$SRC/xattrs" "$SRC/files/mib-plus-3"
SNAP2=$(cat "$T/out")
expect_rc 0 em_read ls "$STORE" "$SNAP2"
printf 'mib-plus-3\nmodes\nxattrs\n' >"$T/want-root"
assert_files_eq "$T/want-root" "$T/out" "root of a multi-PATH snapshot"
expect_rc 0 em_read restore "$STORE" "$SNAP2" "$T/r-multi"
"$TREECMP" "$SRC/modes" "$T/r-multi/modes" || fail "modes/ differs"
"$TREECMP" "$SRC/xattrs" "$T/r-multi/xattrs" || fail "xattrs/ differs"
assert_files_eq "$SRC/files/mib-plus-3" "$T/r-multi/mib-plus-3"
expect_rc 2 em_seal "$STORE" "$SRC/files" "$T/r-all/files"
expect_one_error_line

log "PASS"
