#!/bin/bash
# label: hostile
# The host damages the content of a hard-linked file (one byte flipped in its record, then
# its pack deleted). Restore must leave no name of it behind — not the first, not the names
# linked to it in the same or another directory (which would otherwise be short files, or
# files with holes, counted as restored) — restore everything else, and count every name
# that failed. Also with the names in separate batches (a big tree between them).
. "$(dirname "$0")/hostile_lib.bash"

# victim.bin first sealed alone: its record sits in a pack of its own, which b) deletes
mkdir -p "$SRC/data"
head -c 307200 /dev/urandom >"$SRC/data/victim.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
printf 'register A\n' >"$SRC/a.txt"
head -c 204800 /dev/urandom >"$SRC/data/other.bin"
ln "$SRC/data/victim.bin" "$SRC/data/victim-link"  # same directory, after it
mkdir -p "$SRC/later"
ln "$SRC/data/victim.bin" "$SRC/later/victim-copy" # another directory, sealed later
# more than a restore batch of files (1,000) between the first and the last name
mkdir -p "$SRC/zbig"
for i in $(seq 1 1100); do printf '%d\n' "$i" >"$SRC/zbig/f$i"; done
ln "$SRC/data/victim.bin" "$SRC/zbig/zz-last"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read snapshots "$STORE"

# (the listing is long: read it whole, an early exit of awk would SIGPIPE the tool)
"$HOSTILE" list-records "$STORE" --passphrase-file "$PASSFILE" >"$T/records"
rec() { awk -F'\t' -v p=data/victim.bin -v f="$1" '$6 == p { print $f; exit }' "$T/records"; }
PACK=$(rec 3)
OFF=$(rec 4)
LEN=$(rec 5)
[ -n "$PACK" ] || fail "list-records found no record for data/victim.bin"
cp "$STORE/$PACK" "$T/pack.orig"

check_restore() { # NAME: the restore must fail (7), with every name gone and counted
	restore_to "$1" latest
	[ "$RC" -eq 7 ] || { cat "$T/err" >&2; fail "$1: restore exit $RC (want 7)"; }
	local n
	for n in data/victim.bin data/victim-link later/victim-copy zbig/zz-last; do
		[ ! -e "$RESTORED/$n" ] || fail "$1: $n left in the target ($(stat -c %s "$RESTORED/$n") bytes)"
		assert_grep "$n" "$T/err" "$1: restore names $n"
	done
	assert_grep 'incomplete: 4 entries could not be restored' "$T/err" "$1: four names counted as failed"
	cmp -s "$RESTORED/data/other.bin" "$SRC/data/other.bin" || fail "$1: other.bin not restored"
	[ "$(ls "$RESTORED/zbig" | wc -l)" -eq 1100 ] || fail "$1: zbig not restored whole"
	cmp -s "$RESTORED/zbig/f1100" "$SRC/zbig/f1100" || fail "$1: zbig/f1100"
}

log "a) one byte flipped in the shared record"
expect_rc 0 "$HOSTILE" flip "$STORE" "$PACK" $((OFF + LEN / 2))
check_restore flipped
log "restore of one later name alone fails too and leaves nothing"
restore_to single latest:later/victim-copy
[ "$RC" -eq 7 ] || fail "restore of a single damaged name: exit $RC"
[ -z "$(ls -A "$RESTORED")" ] || fail "restore of a damaged name left $(ls -A "$RESTORED")"

log "b) the pack deleted"
rm "$STORE/$PACK"
check_restore deleted

log "the host repairs it: every name comes back as one inode"
cp "$T/pack.orig" "$STORE/$PACK"
restore_to repaired latest
[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "restore after repair: exit $RC"; }
"$TREECMP" "$SRC" "$RESTORED" || fail "repaired restore differs"
assert_eq 4 "$(stat -c %h "$RESTORED/data/victim.bin")" "link count of the restored file"
finish
