#!/usr/bin/env bash
# label: local
# history.sh — diff, find and stats on a local store, with exact expected output.
# Two snapshots of a tree with fixed mtimes differ by: a file rewritten (M; at another
# size, which seal would also see by ctime: FORMAT.md 10.3a), a chmod (U), a file
# removed (-), a directory added with its contents (+), a file turned into a directory (T,
# then its new contents +), a symlink retargeted (M). diff lists
# exactly those lines (both ways round, under a PATH, of a snapshot with itself), reads only
# the directories on the paths to the changes (an untouched subtree of 41 directories is
# skipped whole: trees_read counts exactly the 9 others);
# find reports every snapshot holding a match with new/modified/unchanged and where it
# last changed; stats' sizes are those of the files sealed (a duplicated file counted once).
. "$(dirname "$0")/lib.sh"

STORE=$T/store
SRC=$T/src
export TZ=UTC
FIXED=202401020304.05
expect_rc 0 em_init "$STORE"

fix_times() { find "$SRC" -exec touch -h -t "$FIXED" {} +; }

mkdir -p "$SRC/land" "$SRC/logs" "$SRC/static"
printf 'parcel 1\n' >"$SRC/land/a.csv"
printf 'parcel 22\n' >"$SRC/land/b.csv"
printf 'log\n' >"$SRC/logs/x.log"
printf 'conf\n' >"$SRC/cfg"
head -c 3000 /dev/urandom >"$SRC/land/dup1.bin"
cp "$SRC/land/dup1.bin" "$SRC/land/dup2.bin"
ln -s land/a.csv "$SRC/link"
for i in $(seq 1 40); do mkdir -p "$SRC/static/d$i" && printf 'static %d\n' "$i" >"$SRC/static/d$i/f"; done
fix_times
expect_rc 0 em_seal "$STORE" "$SRC" -q

printf 'parcel 10\n' >"$SRC/land/a.csv"
chmod 600 "$SRC/logs/x.log"
rm "$SRC/land/b.csv"
mkdir -p "$SRC/new/sub" && printf 'n\n' >"$SRC/new/sub/n.csv"
rm "$SRC/cfg" && mkdir "$SRC/cfg" && printf 'k=v\n' >"$SRC/cfg/main.conf"
ln -sfn land/dup1.bin "$SRC/link"
fix_times
expect_rc 0 em_seal "$STORE" "$SRC" -q

expect_rc 0 em_read snapshots "$STORE" --json
S1=$(json_get "$T/out" 'd[0]["id"]')
S2=$(json_get "$T/out" 'd[1]["id"]')
T1=$(json_get "$T/out" 'd[0]["time"]')
T2=$(json_get "$T/out" 'd[1]["time"]')
B1=$(json_get "$T/out" 'd[0]["bytes"]')
B2=$(json_get "$T/out" 'd[1]["bytes"]')

log "diff: exactly the changes, in path order"
expect_rc 0 em_read diff "$STORE" "$S1" latest
assert_eq "T  cfg/
+  cfg/main.conf
M  land/a.csv
-  land/b.csv
M  link
U  logs/x.log
+  new/
+  new/sub/
+  new/sub/n.csv
4 added, 1 removed, 2 modified, 1 metadata only, 1 type changed
files: 6 B added, 15 B removed, net -8 B" "$(cat "$T/out")" "diff S1 S2"

log "diff --json: the same changes, and only changed directories read"
expect_rc 0 em_read diff "$STORE" "${S1:0:12}" "$S2" --json
got=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["type"] == "change":
        print(o["change"], o["path"], (o["old"] or {}).get("size"), (o["new"] or {}).get("size"), ",".join(o["metadata"]))' "$T/out")
assert_eq "type cfg 5 0 
added cfg/main.conf None 4 
modified land/a.csv 9 10 
removed land/b.csv 10 None 
modified link 10 13 
metadata logs/x.log 4 4 mode
added new None 0 
added new/sub None 0 
added new/sub/n.csv None 2 " "$got" "diff --json changes"
# read: both roots, land x2, logs x2, cfg (new), new, new/sub = 9; skipped: static/
assert_eq "9 1 4 1 -8" "$(json_get "$T/out" '"%d %d %d %d %d" % (d["trees_read"], d["trees_skipped"], d["added"], d["type_changed"], d["bytes_delta"])')" "diff summary"
assert_eq "$S1 $S2" "$(json_get "$T/out" 'd["from"] + " " + d["to"]')" "from/to ids"

log "diff the other way round, under a PATH, and a snapshot with itself"
expect_rc 0 em_read diff "$STORE" latest "$S1" land -q
assert_eq "M  land/a.csv
+  land/b.csv" "$(cat "$T/out")" "diff S2 S1 land"
expect_rc 0 em_read diff "$STORE" "$S1" latest /new/
assert_eq "+  new/
+  new/sub/
+  new/sub/n.csv" "$(head -n 3 "$T/out")" "a PATH only in the second snapshot"
expect_rc 0 em_read diff "$STORE" latest latest --json
assert_eq "1 0 0" "$(json_get "$T/out" '"%d %d %d" % (d["trees_skipped"], d["trees_read"], d["added"] + d["removed"] + d["modified"] + d["metadata"])')" "a snapshot with itself"
[ "$(wc -l <"$T/out")" = 1 ] || fail "changes reported between a snapshot and itself"
expect_rc 6 em_read diff "$STORE" "$S1" latest nowhere
expect_one_error_line
expect_rc 6 em_read diff "$STORE" "$S1" ffffffffffff
expect_rc 2 em_read diff "$STORE" "$S1"

log "find: every snapshot holding a match, what changed, where it last changed"
expect_rc 0 em_read find "$STORE" '*.csv' /cfg
assert_eq "cfg
  ${S1:0:12}  $T1  file                5  new
  ${S2:0:12}  $T2  dir                 0  modified
  last changed in ${S2:0:12} ($T2)
land/a.csv
  ${S1:0:12}  $T1  file                9  new
  ${S2:0:12}  $T2  file               10  modified
  last changed in ${S2:0:12} ($T2)
land/b.csv
  ${S1:0:12}  $T1  file               10  new
  last changed in ${S1:0:12} ($T1)
  not in ${S2:0:12} ($T2)
new/sub/n.csv
  ${S2:0:12}  $T2  file                2  new
  last changed in ${S2:0:12} ($T2)
4 path(s) found in 2 snapshot(s) searched" "$(cat "$T/out")" "find *.csv /cfg"
expect_rc 0 em_read find "$STORE" 'static/d7/*' x.log --json
assert_eq "logs/x.log $S1 new 420
logs/x.log $S2 metadata 384
static/d7/f $S1 new 420
static/d7/f $S2 unchanged 420" "$(json_get "$T/out" '"\n".join("%s %s %s %d" % (m["path"], m["snapshot"], m["change"], m["mode"]) for m in d)')" "find --json"
expect_rc 0 em_read find "$STORE" '*.csv' --snapshot "$S1" -q
assert_eq "land/a.csv
  ${S1:0:12}  $T1  file                9  new
  last changed in ${S1:0:12} ($T1)
land/b.csv
  ${S1:0:12}  $T1  file               10  new
  last changed in ${S1:0:12} ($T1)" "$(cat "$T/out")" "find --snapshot"
expect_rc 6 em_read find "$STORE" '*.nothing' --json
assert_eq "[]" "$(cat "$T/out")" "no match: an empty array"
expect_one_error_line
expect_rc 2 em_read find "$STORE" x --all --snapshot latest

log "stats: logical, unique and stored sizes"
expect_rc 0 em_read stats "$STORE" --json
# unique data: S1's files (a.csv 9, b.csv 10, x.log 4, cfg 5, dup 3000 once, static 40 files)
# plus S2's new contents (a.csv 10, n.csv 2, main.conf 4); the symlinks hold no data
static=0
for i in $(seq 1 40); do static=$((static + $(stat -c %s "$SRC/static/d$i/f"))); done
unique=$((9 + 10 + 4 + 5 + 3000 + static + 10 + 2 + 4))
assert_eq "2 $((B1 + B2)) $unique" "$(json_get "$T/out" '"%d %d %d" % (d["snapshots"], d["bytes"], d["unique_bytes"])')" "stats of the store"
[ "$(json_get "$T/out" 'd["stored_bytes"] > d["unique_bytes"] and d["packs"] <= d["packs_total"]')" = True ] || fail "stored sizes: $(cat "$T/out")"
assert_eq "$(count_packs "$STORE")" "$(json_get "$T/out" 'd["packs_total"]')" "packs in the store"
[ "$(json_get "$T/out" 'd["stored_bytes"] <= '"$(packs_bytes "$STORE")")" = True ] || fail "more stored than the packs hold"
expect_rc 0 em_read stats "$STORE" "${S1:0:12}" --json
assert_eq "1 $S1 $B1 $((unique - 16))" "$(json_get "$T/out" '"%d %s %d %d" % (d["snapshots"], d["snapshot"], d["bytes"], d["unique_bytes"])')" "stats of one snapshot"
expect_rc 0 em_read stats "$STORE"
assert_grep "^unique data: .*\($unique bytes\)" "$T/out" "stats text"

log "a diff under a PATH reads that directory of each snapshot only"
expect_rc 0 em_read diff "$STORE" "$S1" latest land --json
assert_eq "2" "$(json_get "$T/out" 'd["trees_read"]')" "a PATH diff reads the two directories"
log "OK"
