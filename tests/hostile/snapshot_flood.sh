#!/bin/bash
# label: hostile
# Attack: the host lists a flood of made-up names under snapshots/ (here 100,004 names of the
# right form, empty objects). Readers used to hold every listed name and fetch each one before
# answering. Now a listing stops at SNAPSHOT_NAMES_MAX (100,000) names: the live snapshots come
# from the signed snapshot list, the flood is reported as damage (integrity exit), only the
# first 100,000 names are examined, only the first 20 bad manifests are named (not one line
# per made-up name), and the data still restores byte for byte.
. "$(dirname "$0")/hostile_lib.bash"
# timeout: 600

make_store
python3 - "$STORE/snapshots" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(100004):
    open(os.path.join(d, "%064x" % (0xf00000000 + i)), "w").close()
PY
log "100,004 made-up names listed under snapshots/"

run em_read snapshots "$STORE"
log "snapshots: exit $RC"
[ "$RC" -eq 7 ] || fail "snapshots with a flooded listing: exit $RC, expected 7 ($(head -3 "$T/err"))"
assert_grep 'more than 100000 snapshot names outside the signed snapshot list' "$T/err" \
	"the flood is named"
[ "$(wc -l <"$T/err")" -le 30 ] || fail "one line per made-up name: $(wc -l <"$T/err") lines"
assert_grep 'not named one by one' "$T/err" "the rest is counted, not named"
assert_grep '^1 snapshot\(s\)' "$T/out" "the one real snapshot listed alone"

restore_to flood latest
[ "$RC" -eq 0 ] || fail "restore of the real snapshot: exit $RC ($(head -3 "$T/err"))"
"$TREECMP" "$SRC" "$RESTORED" || fail "the restored snapshot differs from the source"
log PASS
