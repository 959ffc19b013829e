#!/bin/bash
# label: hostile
# Attack: the host floods the index/ listing the sealer reads for deduplication. It lists
# names this store never writes, 8 objects of 60 MiB under valid index names, and 200 small
# junk objects. The sealer used to fetch every listed name (up to 64 MiB each) and hold them
# all until the end: killed for memory. Now names are checked, objects are read a batch at a
# time and freed as it goes: the seal succeeds within a bounded RSS, the real index objects
# are still used (an unchanged source adds no data pack), and the new snapshot restores
# byte for byte.
. "$(dirname "$0")/hostile_lib.bash"

[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time: scripts/deps.sh --test)"
RSS_LIMIT_KB=$((256 * 1024))
if [ "$SANITIZED" = 1 ]; then
	# freed buffers stay in ASan's quarantine (256 MiB by default): keep it small here
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
	RSS_LIMIT_KB=$((512 * 1024))
fi
make_store
packs_before=$(count_packs "$STORE")

for i in $(seq 1 8); do # valid names, 60 MiB each (sparse here; a host serves them)
	truncate -s 60M "$STORE/index/$(printf '%064x' $((0xe0000 + i)))"
done
for i in $(seq 1 200); do # valid names, junk content
	printf 'junk %d\n' "$i" >"$STORE/index/$(printf '%064x' $((0xd0000 + i)))"
done
for i in $(seq 1 200); do # names this store never writes: never fetched
	printf 'x' >"$STORE/index/not-an-index-$i"
done

set +e
timeout "$(load_scaled 300)" /usr/bin/time -f '%M' -o "$T/rss" \
	"$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$SEALER" >"$T/out" 2>"$T/err"
RC=$?
set -e
RSS_KB=$(tail -1 "$T/rss" 2>/dev/null || true)
[[ "$RSS_KB" =~ ^[0-9]+$ ]] || fail "no max RSS measured (exit $RC: $(head -3 "$T/err"))"
log "seal: exit $RC, max RSS $((RSS_KB / 1024)) MiB; $(grep -c 'warning' "$T/err") warning lines"
[ "$RC" -eq 0 ] || fail "the seal failed (exit $RC): $(head -5 "$T/err")"
[ "$RSS_KB" -le "$RSS_LIMIT_KB" ] ||
	fail "the seal used $((RSS_KB / 1024)) MiB for a flooded index listing"
assert_grep 'not index objects: ignored' "$T/err" "the names that are not index objects"
assert_grep 'unreadable index object ignored' "$T/err" "the junk index objects"
[ "$(grep -c 'unreadable index object ignored' "$T/err")" -le 10 ] ||
	fail "one warning line per junk index object: the host floods the terminal"
assert_eq "$packs_before" "$(count_packs "$STORE")" "data packs after resealing the same source"

restore_to flood latest
[ "$RC" -eq 0 ] || fail "restore of the new snapshot: exit $RC"
"$TREECMP" "$SRC" "$T/rst-flood/target" || fail "the restored snapshot differs from the source"
log PASS
