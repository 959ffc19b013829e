#!/bin/bash
# label: network
# kill -9 during forget and prune, against a WebDAV store (nginx) reached through a proxy
# adding 25 ms to every request, so each run lasts long enough to be cut at many points.
# After every kill the store must verify clean and list a whole set of snapshots (the one
# before the forget or the one after, never a mix); at the end a prune left alone finishes
# the work: every remaining pack is in use and the latest restores byte for byte.
. "$(dirname "$0")/lib.sh"
S=$SRC_DIR/scripts
NGX=
PROXY_PID=
stop_servers() {
	set +e
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
	[ -n "$NGX" ] && "$S/nginx-down.sh" "$NGX" --keep
}
trap 'rc=$?; stop_servers; (exit $rc); cleanup' EXIT
export EMBASSY_STATE_DIR=$T/state
RANDOM=$$

NGX=$T/ngx
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
UP=$(. "$NGX/http.env"; echo "$STORE_URL")
python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$UP" --port-file "$T/pport" \
	--latency-ms 20 >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
wait_until 20 test -s "$T/pport"
SLOW=http://127.0.0.1:$(cat "$T/pport")/embassy/
FAST=$UP/embassy/
ROOT=$(. "$NGX/http.env"; echo "$STORE_ROOT")/embassy

expect_rc 0 em_init "$FAST"
mkdir -p "$T/src"
N=6
for n in $(seq $N); do
	head -c $((200 << 10)) /dev/urandom >"$T/src/f$n.bin"
	printf 'edition %s\n' "$n" >"$T/src/edition.txt"
	expect_rc 0 em_seal "$FAST" "$T/src" --tag "n$n"
	[ "$n" = $N ] || rm "$T/src/f$n.bin" # each snapshot has data of its own
done
ids() { em_read snapshots "$FAST" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'; }
packs() { find "$ROOT/packs" -type f ! -name '.tmp.*' | wc -l; }
log "$N snapshots, $(packs) packs"

P=http://127.0.0.1:$(cat "$T/pport")
# the proxy's request count (sum of its per-method counters), cheaply: polled often
reqs() {
	local j
	j=$(curl -sf "$P/__stats") || fail "proxy stats"
	j=${j#*\"requests\": \{}
	j=${j%%\}*}
	echo $(($(echo "0 $j" | grep -o '[0-9]\+' | paste -sd+)))
}
reached() { [ "$(reqs)" -ge "$1" ] || ! kill -0 "$2" 2>/dev/null; }
# run_killed LO HI CMD...: start CMD, kill -9 it once it has made LO..HI requests through
# the proxy (a random point, reached by polling, not by sleeping)
run_killed() {
	local n=$(($1 + RANDOM % ($2 - $1 + 1))) base
	shift 2
	base=$(reqs)
	start_bg "$@"
	local pid=$BG_PID
	wait_until 60 reached $((base + n)) "$pid"
	kill -9 "$pid" 2>/dev/null || true
	set +e
	wait "$pid" 2>/dev/null
	KRC=$?
	set -e
	log "   killed after $(($(reqs) - base)) requests (aimed at $n): exit $KRC"
}

check_store() { # WHAT: verify clean, and the listing is a whole set
	local got
	expect_rc 0 em_read verify "$FAST"
	got=$(ids)
	[ "$got" = "$BEFORE" ] || [ "$got" = "$AFTER" ] ||
		fail "$1: listed [$got], neither the set before [$BEFORE] nor after [$AFTER]"
}

round=0
for keep in 4 2 1; do
	round=$((round + 1))
	BEFORE=$(ids)
	AFTER=$(echo "$BEFORE" | tr ' ' '\n' | tail -n "$keep" | tr '\n' ' ' | sed 's/ $//')
	log "round $round: forget --keep-last $keep, killed"
	run_killed 1 25 "$EMBASSY" forget "$SLOW" --sealer-key "$SEALER" --keep-last "$keep"
	check_store "forget killed"
	[ "$(ids)" = "$AFTER" ] || expect_rc 0 em forget "$FAST" --sealer-key "$SEALER" --keep-last "$keep"
	log "round $round: prune, killed"
	BEFORE=$AFTER
	# early, middle, late: the last round aims at the deletions at the end
	run_killed $((round * 28 - 27)) $((round * 28)) "$EMBASSY" prune "$SLOW" --sealer-key "$SEALER" --grace 1s
	check_store "prune killed"
	log "   $(packs) packs"
done
log "a prune left alone finishes the work"
expect_rc 0 em prune "$FAST" --sealer-key "$SEALER" --grace 1s --json
expect_rc 0 em prune "$FAST" --sealer-key "$SEALER" --grace 1s --json
assert_eq "$(json_get "$T/out" 'd["packs_total"]')" "$(json_get "$T/out" 'd["packs_used"]')" \
	"every pack left is in use"
expect_rc 0 em_read verify "$FAST" --read-data
expect_rc 0 em_read restore "$FAST" latest "$T/r"
"$TREECMP" "$T/src" "$T/r" || fail "latest does not restore byte for byte"
assert_eq "$keep" "$(ids | wc -w)" "snapshots left"
log PASS
