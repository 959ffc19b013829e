#!/bin/bash
# label: hostile
# Attack 8: the host serves objects of the wrong length.
#   a) a pack truncated inside a record: verify (structure) reports the short pack, the record's
#      files fail (7), the others read;
#   b) bytes appended to a pack: harmless (records carry their own offsets): all reads succeed;
#   c) a snapshot manifest, the head pointer or the descriptor truncated or extended: refused.
# (A lying Content-Length is an HTTP matter: see http_hostile.sh.)
. "$(dirname "$0")/hostile_lib.bash"

make_store
cp -a "$STORE" "$T/pristine"
fresh() { rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"; }

log "a) the data pack cut in the middle of its last record"
PACK=$(records 3 data/victim.bin)
# the last record of that pack, and the file it belongs to
read -r OFF LEN LAST < <("$HOSTILE" list-records "$STORE" --passphrase-file "$PASSFILE" |
	awk -F'\t' -v p="$PACK" '$1 == "data" && $3 == p { print $4, $5, $6 }' | sort -n | tail -1)
[ $((OFF + LEN)) -eq "$(stat -c %s "$STORE/$PACK")" ] || fail "setup: $LAST is not the last record"
log "   victim: $LAST"
expect_rc 0 "$HOSTILE" truncate "$STORE" "$PACK" $((OFF + LEN / 2))
expect_rc 7 em_read verify "$STORE"
assert_grep 'shorter|missing' "$T/out" "verify reports the short pack"
assert_grep "$LAST" "$T/out" "verify names $LAST"
[ "$(grep -c 'content missing' "$T/out")" -eq 1 ] || fail "verify blames intact files: $(cat "$T/out")"
run em_read cat "$STORE" "latest:$LAST"
[ "$RC" -eq 7 ] || fail "cat from a truncated pack: exit $RC, want 7"
for f in data/victim.bin data/other.bin docs/a.txt docs/b.txt; do
	[ "$f" = "$LAST" ] || expect_rc 0 em_read cat "$STORE" "latest:$f"
done
restore_to trunc latest
[ "$RC" -eq 7 ] || fail "restore from a truncated pack: exit $RC, want 7"
[ ! -e "$RESTORED/$LAST" ] || fail "a truncated $LAST was restored"

log "b) 1 MiB of junk appended to every pack: nothing changes for readers"
fresh
for p in $(cd "$STORE" && find packs -type f); do
	expect_rc 0 "$HOSTILE" append "$STORE" "$p" 1048576
done
expect_rc 0 em_read verify "$STORE" --read-data
restore_to append latest
[ "$RC" -eq 0 ] || fail "restore after appended junk: exit $RC"
cmp -s "$RESTORED/data/victim.bin" "$SRC/data/victim.bin" || fail "victim.bin differs"

log "c) signed objects cut short or extended"
for obj in "snapshots/$(ls "$T/pristine/snapshots")" heads/latest embassy.json; do
	for how in "truncate 40" "append 1"; do
		fresh
		# shellcheck disable=SC2086
		expect_rc 0 "$HOSTILE" ${how%% *} "$STORE" "$obj" ${how##* }
		run em_read ls "$STORE" latest
		log "   $obj ${how%% *}: exit $RC: $(head -1 "$T/err")"
		no_crash "ls ($obj ${how%% *})"
		[ "$RC" -ne 0 ] || fail "$obj ${how%% *}: accepted"
		[ "$RC" -eq 7 ] || [ "$RC" -eq 5 ] || fail "$obj ${how%% *}: exit $RC, want 7 (or 5)"
	done
done
finish
