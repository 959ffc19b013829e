#!/bin/bash
# label: hostile
# A record stored twice (the host deleted the index objects, so the second seal could not
# deduplicate and wrote victim.bin's chunk and the data/ directory record again, into new
# packs): verify must read every stored copy, not every id. The host corrupts one copy at a
# time — each of them must be found: with --read-data for the data record, by plain verify for
# the directory record (verify always opens every directory record).
. "$(dirname "$0")/hostile_lib.bash"

make_src
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
SNAP1=$(em_read snapshots "$STORE" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
rm -f "$STORE"/index/*
printf 'new\n' >"$SRC/new.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read verify "$STORE" --read-data

# field F of the record for P in snapshot S ("latest" or an id)
rec() {
	"$HOSTILE" list-records "$STORE" --passphrase-file "$PASSFILE" --snapshot "$1" >"$T/records"
	awk -F'\t' -v t="$2" -v p="$3" -v f="$4" '$1 == t && $6 == p { print $f; exit }' "$T/records"
}
D1=$(rec "$SNAP1" data data/victim.bin 3) D1OFF=$(rec "$SNAP1" data data/victim.bin 4)
D2=$(rec latest data data/victim.bin 3) D2OFF=$(rec latest data data/victim.bin 4)
T1=$(rec "$SNAP1" tree /data 3) T1OFF=$(rec "$SNAP1" tree /data 4)
T2=$(rec latest tree /data 3) T2OFF=$(rec latest tree /data 4)
[ -n "$D1" ] && [ -n "$D2" ] && [ -n "$T1" ] && [ -n "$T2" ] || fail "list-records found no records"
[ "$D1" != "$D2" ] || fail "victim.bin's record is not stored twice (the second seal deduplicated)"
[ "$T1" != "$T2" ] || fail "data/'s record is not stored twice"
assert_eq "$(rec "$SNAP1" data data/victim.bin 2)" "$(rec latest data data/victim.bin 2)" "same record id"

cp -a "$STORE" "$T/pristine"
each_copy() { # NAME PACK OFF VERIFY-ARGS...: flip a byte of one copy; verify must exit 7
	local name=$1 pack=$2 off=$3
	shift 3
	rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
	expect_rc 0 "$HOSTILE" flip "$STORE" "$pack" $((off + 30))
	run em_read verify "$STORE" "$@"
	[ "$RC" -eq 7 ] || { cat "$T/out" "$T/err" >&2; fail "$name: verify $* exit $RC, want 7"; }
}
log "data record: the first copy corrupted, then the second"
each_copy "data copy 1" "$D1" "$D1OFF" --read-data
assert_grep 'victim\.bin' "$T/out" "verify names victim.bin (copy 1)"
each_copy "data copy 2" "$D2" "$D2OFF" --read-data
assert_grep 'victim\.bin' "$T/out" "verify names victim.bin (copy 2)"
log "directory record: the first copy corrupted, then the second"
each_copy "tree copy 1" "$T1" "$T1OFF"
assert_grep 'data/' "$T/out" "verify names data/ (copy 1)"
each_copy "tree copy 2" "$T2" "$T2OFF"
assert_grep 'data/' "$T/out" "verify names data/ (copy 2)"
finish
