#!/bin/bash
# label: hostile
# Attack 3: the host serves an object from another store that uses the same master and
# signing keys (a twin: same keys, other store id), holding the same files. Record ids are
# then identical and records sit at the same offsets, so only the store id bound into every
# record, manifest, head and descriptor can tell them apart. Each substitution must be refused.
. "$(dirname "$0")/hostile_lib.bash"

make_store
TWIN=$T/twin
expect_rc 0 "$HOSTILE" twin-store "$STORE" "$TWIN" --sealer-key "$SEALER" \
	--out-sealer-key "$T/twin.key" --passphrase-file "$PASSFILE"
expect_rc 0 "$EMBASSY" seal "$TWIN" "$SRC" --sealer-key "$T/twin.key"
cp -a "$STORE" "$T/pristine"
fresh() { rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"; }

# the twin really is a twin: same record ids at the same offsets, another store id
[ "$(records 2 data/victim.bin)" = "$(records 2 data/victim.bin "$TWIN")" ] || fail "setup: ids differ"
[ "$(records 4 data/victim.bin)" = "$(records 4 data/victim.bin "$TWIN")" ] || fail "setup: offsets differ"

log "a) the twin's data pack served under our pack's name"
DATAPACK=$(records 3 data/victim.bin)
cp "$TWIN/$(records 3 data/victim.bin "$TWIN")" "$STORE/$DATAPACK"
expect_rc 0 em_read ls "$STORE" latest -R
expect_rc 7 em_read verify "$STORE" --read-data
for f in victim.bin other.bin a.txt b.txt; do assert_grep "$f" "$T/out" "verify names $f"; done
run em_read cat "$STORE" latest:docs/a.txt
[ "$RC" -eq 7 ] || fail "cat of a record from the twin: exit $RC, want 7"
[ ! -s "$T/out" ] || fail "cat printed content from the other store"
restore_to twinpack latest
[ "$RC" -eq 7 ] || fail "restore from the twin's pack: exit $RC, want 7"
[ -z "$(find "$RESTORED" -type f)" ] || fail "files restored from another store's records"

log "b) the twin's tree pack under our tree pack's name"
fresh
cp "$TWIN/$(records 3 / "$TWIN")" "$STORE/$(records 3 /)"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || fail "ls with the twin's root tree: exit $RC, want 7"

log "c) the twin's snapshot manifest added to our snapshots/"
fresh
TSNAP=$(ls "$TWIN/snapshots")
cp "$TWIN/snapshots/$TSNAP" "$STORE/snapshots/$TSNAP"
expect_rc 7 em_read snapshots "$STORE"
! grep -q "${TSNAP:0:12}" "$T/out" || fail "the twin's snapshot is listed"
run em_read ls "$STORE" "$TSNAP"
[ "$RC" -eq 7 ] || fail "ls of the twin's snapshot: exit $RC, want 7"
expect_rc 0 em_read ls "$STORE" latest

log "d) the twin's head pointer (signed by the same key!) as our heads/latest"
fresh
cp "$TWIN/snapshots/$TSNAP" "$STORE/snapshots/$TSNAP"
cp "$TWIN/heads/latest" "$STORE/heads/latest"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || fail "ls with the twin's head: exit $RC, want 7"
assert_grep 'head pointer' "$T/err" "the error names the head pointer"

log "e) the twin's descriptor as our embassy.json"
fresh
cp "$TWIN/embassy.json" "$STORE/embassy.json"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || [ "$RC" -eq 5 ] || fail "ls with the twin's descriptor: exit $RC, want 7 (or 5)"
no_crash ls

log "f) the twin's key entry instead of ours: the store id in it no longer matches"
fresh
rm "$STORE"/keys/pass-*
cp "$TWIN"/keys/pass-* "$STORE/keys/"
run em_read ls "$STORE" latest
[ "$RC" -eq 7 ] || [ "$RC" -eq 4 ] || fail "ls with the twin's key entry: exit $RC, want 7 (or 4)"
no_crash ls

log "g) the whole twin served as this store's URL: another store id, the reader sees it"
run em_read snapshots "$TWIN" --json
log "twin served whole: exit $RC (it is a valid store of its own; its id differs)"
finish
