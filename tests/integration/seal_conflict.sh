#!/usr/bin/env bash
# label: network
# timeout: 240
# seal_conflict.sh — two seals racing to publish: seal A (through a proxy that holds its
# manifest PUT) has read the signed snapshot list and is writing its manifest when seal B
# publishes a new list generation. A must not replace B's change: its create-only put of
# the same generation fails, and it builds again on B's list. Both snapshots stay listed,
# A's is the latest with B's as its parent, nothing else is lost, and verify is clean. A
# seal that nobody races publishes as before.
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
held() { curl -sf "http://$P/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["held"])'; }
some_held() { [ "$(held)" -gt 0 ]; }

log "an unraced seal through the proxy publishes"
expect_rc 0 em_seal "$PURL" "$SRC" -q

log "seal A holds at its manifest PUT (after reading the list) while B publishes"
curl -sf "http://$P/__fault?hold=PUT&hold_path=/snapshots/" >/dev/null
"$EMBASSY" seal "$PURL" "$SRC" --sealer-key "$SEALER" --host seal-a --json -v \
	>"$T/a.out" 2>"$T/a.err" &
A=$!
BG_PIDS+=("$A")
wait_until 60 some_held
expect_rc 0 em_seal "$URL" "$SRC" --host seal-b --json
B_SNAP=$(json_get "$T/out" 'd["snapshot"]')
curl -sf "http://$P/__fault?hold=&hold_path=" >/dev/null
set +e
wait "$A"
A_RC=$?
set -e
[ "$A_RC" = 0 ] || { cat "$T/a.err" >&2; fail "the seal that lost the race exited $A_RC, not 0"; }
grep -q "generation taken by another writer" "$T/a.err" ||
	fail "seal A did not lose the race for the list (the test raced nothing): $(cat "$T/a.err")"
A_SNAP=$(json_get "$T/a.out" 'd["snapshot"]')

log "both are listed; A's is the latest, on top of B's; nothing else was lost"
expect_rc 0 em_read snapshots "$URL" --json
cp "$T/out" "$T/snaps.json"
[ "$(json_get "$T/snaps.json" 'len(d)')" = 4 ] || fail "not 4 snapshots listed: $(cat "$T/snaps.json")"
[ "$(json_get "$T/snaps.json" '[s["id"] for s in d if s["latest"]][0]')" = "$A_SNAP" ] ||
	fail "the latest is not A's snapshot"
[ "$(json_get "$T/snaps.json" '[s["parent"] for s in d if s["id"] == "'"$A_SNAP"'"][0]')" = "$B_SNAP" ] ||
	fail "A's parent is not B's snapshot"
[ "$(json_get "$T/snaps.json" 'len([s for s in d if s["id"] == "'"$B_SNAP"'"])')" = 1 ] ||
	fail "B's snapshot is not listed"
expect_rc 0 em_read verify "$URL" -q

log "the manifest A wrote before it lost is not listed; prune removes it once past --grace"
pruned=0
prune_stray() {
	em prune "$URL" --sealer-key "$SEALER" --grace 1s --json \
		>"$T/prune.json" || fail "prune failed"
	pruned=$((pruned + $(json_get "$T/prune.json" 'd["manifests_deleted"]')))
	[ "$pruned" -ge 1 ]
}
wait_until 60 prune_stray
[ "$pruned" = 1 ] || fail "prune deleted $pruned manifests, not the 1 stray one"
expect_rc 0 em_read snapshots "$URL" --json
[ "$(json_get "$T/out" 'len(d)')" = 4 ] || fail "prune changed the listed snapshots"
expect_rc 0 em_read verify "$URL" -q
log "OK"
