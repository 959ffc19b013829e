#!/bin/bash
# label: hostile
# timeout: 450
# Attack 10: an HTTP embassy host that misbehaves at the protocol level (tests/hostile/evilhttp.py
# serves a real store, and lies about some objects):
#   endless    an endless body               huge      "Content-Length: 10 GB"
#   redirect   302 to another host           lying     Content-Length larger than the body
#   shortrange 206 with half the range       fullbody  200 with the whole object for a range
#   listing    an endless PROPFIND reply
# aimed at the pack objects (data reads) or at embassy.json (opening the store). The client must
# refuse each with a clear error, within its --timeout budget and bounded memory, never follow
# the redirect, and never print a byte of unverified data.
. "$(dirname "$0")/hostile_lib.bash"

RSS_LIMIT_KB=$((256 * 1024))
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time: scripts/deps.sh --test)"
make_store
start_bg python3 "$(dirname "$0")/evilhttp.py" --root "$STORE" --log "$T/http.log" >"$T/port"
wait_until 20 grep -q '^PORT ' "$T/port"
PORT=$(awk '{print $2}' "$T/port")
url() { echo "http://127.0.0.1:$PORT/$1/"; }

# fetch MODE: cat data/victim.bin through the hostile server; sets RC, SECS, RSS_KB, $T/out
fetch() {
	local start=$SECONDS
	set +e
	timeout 120 /usr/bin/time -f '%M' -o "$T/rss" "$EMBASSY" cat --passphrase-file "$PASSFILE" \
		--timeout 10 "$(url "$1")" latest:data/victim.bin >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	SECS=$((SECONDS - start))
	RSS_KB=$(tail -1 "$T/rss" 2>/dev/null || true)
	[ "$RC" -eq 124 ] || [[ "$RSS_KB" =~ ^[0-9]+$ ]] ||
		fail "$1: no max RSS measured (exit $RC; /usr/bin/time: $(cat "$T/rss" 2>/dev/null))"
}

log "sanity: the same server without attacks serves the store"
fetch good-all
[ "$RC" -eq 0 ] || fail "good-all: exit $RC: $(cat "$T/err")"
cmp -s "$T/out" "$SRC/data/victim.bin" || fail "good-all: wrong content"

for mode in endless-packs huge-packs redirect-packs lying-packs shortrange-packs fullbody-packs \
	endless-desc huge-desc redirect-desc lying-desc listing-all; do
	fetch "$mode"
	log "$mode: exit $RC in ${SECS}s, max RSS $((RSS_KB / 1024)) MiB: $(grep -v unencrypted "$T/err" | grep -m1 'remote:' || true)"
	[ "$RC" -ne 0 ] || fail "$mode: accepted"
	[ "$RC" -ne 124 ] || fail "$mode: still running after 120 s"
	no_crash "$mode"
	[ "$RC" -eq 7 ] || [ "$RC" -eq 8 ] || fail "$mode: exit $RC, want 7 or 8"
	[ "$SECS" -le 30 ] || fail "$mode: took ${SECS}s with --timeout 10"
	[ "$RSS_KB" -le "$RSS_LIMIT_KB" ] || fail "$mode: max RSS $((RSS_KB / 1024)) MiB"
	[ ! -s "$T/out" ] || fail "$mode: printed $(wc -c <"$T/out") bytes of unverified data"
	grep -q '^embassy: error: ' "$T/err" || fail "$mode: no error line"
done
! grep -q ' /landed/' "$T/http.log" || fail "a redirect was followed: $(grep landed "$T/http.log")"
finish
