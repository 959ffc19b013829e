#!/usr/bin/env bash
# label: network
# timeout: 240
# seal_conflict.sh — two seals racing to publish: seal A (through a proxy that holds its
# PUTs) has read the head and is writing its manifest when seal B publishes; A must not
# replace B's head: it exits 9 (EXIT_CONFLICT) with one clear line, B's snapshot stays the
# latest, A's is in the store and listed. A seal that nobody races exits 0 as before.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"

export EMBASSY_STATE_DIR=$T/state
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
. "$NGX/http.env"
URL=$STORE_URL/embassy/
SRC=$T/src
mkdir -p "$SRC"
echo "register" >"$SRC/a.txt"
expect_rc 0 em_init "$URL" -q
expect_rc 0 em_seal "$URL" "$SRC" -q

start_bg python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "${STORE_URL%/}" \
	--port-file "$T/proxy.port"
wait_until 30 test -s "$T/proxy.port"
P=127.0.0.1:$(cat "$T/proxy.port")
PURL=http://$P/embassy/
puts() { curl -sf "http://$P/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("PUT", 0))'; }

log "an unraced seal through the proxy publishes"
expect_rc 0 em_seal "$PURL" "$SRC" -q

log "seal A holds at its first PUT (the manifest: nothing else changed) while B publishes"
curl -sf "http://$P/__fault?hold=PUT" >/dev/null
before=$(puts)
"$EMBASSY" seal "$PURL" "$SRC" --sealer-key "$SEALER" --host seal-a --json >"$T/a.out" 2>"$T/a.err" &
A=$!
BG_PIDS+=("$A")
puts_above() { [ "$(puts)" -gt "$1" ]; }
wait_until 60 puts_above "$before"
expect_rc 0 em_seal "$URL" "$SRC" --host seal-b --json
B_SNAP=$(json_get "$T/out" 'd["snapshot"]')
curl -sf "http://$P/__fault?hold=" >/dev/null
set +e
wait "$A"
A_RC=$?
set -e
[ "$A_RC" = 9 ] || { cat "$T/a.err" >&2; fail "the losing seal exited $A_RC, not 9"; }
grep -q "^embassy: error: another seal published to store .* at the same time" "$T/a.err" ||
	fail "no clear conflict message: $(cat "$T/a.err")"
[ "$(grep -c '^embassy: error:' "$T/a.err")" = 1 ] || fail "more than one error line: $(cat "$T/a.err")"

log "B's snapshot is the latest; A's is in the store, not the latest"
expect_rc 0 em_read snapshots "$URL" --json
[ "$(json_get "$T/out" '[s["id"] for s in d if s["latest"]][0]')" = "$B_SNAP" ] ||
	fail "the latest is not B's snapshot"
[ "$(json_get "$T/out" 'len([s for s in d if s["host"] == "seal-a"])')" = 1 ] ||
	fail "A's snapshot is not listed"
expect_rc 0 em_read verify "$URL" -q
log "OK"
