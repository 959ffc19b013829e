#!/bin/bash
# bench/multi_open.sh — time to open a store read from two embassies (URL1,URL2) and read its
# head (`embassy snapshots`: descriptor, key entries, root, every mirror's head), with:
#   slow          one store behind bench/latproxy (30 ms each way), the baseline
#   slow,refused  mirror 1 behind bench/latproxy (30 ms each way), mirror 2 refusing
#   slow,silent   the same, mirror 2 accepting connections and never answering (each request
#                 to it costs a slice of the --timeout budget, then it cools down)
#   slow,slow     both mirrors behind their own 30 ms proxy
# Median wall time of N runs (default 5) per case. EMBASSY_OLD=BINARY times another build
# side by side (before/after a change). Usage: EMBASSY=build/embassy bench/multi_open.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${N:-5}
need nginx python3
[ -x "$LATPROXY" ] || die "no latproxy at $LATPROXY (CMake target latproxy)"
mkdir -p "$WORK_ROOT"
WORK=$(mktemp -d "$WORK_ROOT/multi_open.XXXXXX")
LOGDIR=$WORK
add_cmd "rm -rf '$WORK'"
NGX=$WORK/ngx
add_cmd "'$REPO/scripts/nginx-down.sh' '$NGX'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NGX" >/dev/null || die "nginx did not start"
NGX_PORT=$(. "$NGX/http.env"; echo "${STORE_URL##*:}")
printf 'bench passphrase\n' >"$WORK/pass"
chmod 600 "$WORK/pass"
mkdir -p "$WORK/src"
head -c 100000 /dev/urandom >"$WORK/src/f"
"$EMBASSY" init "$WORK/store" --sealer-key "$WORK/sealer" --passphrase-file "$WORK/pass" \
	--kdf-memory 8 --kdf-ops 1 >/dev/null 2>&1 || die "init"
"$EMBASSY" seal "$WORK/store" "$WORK/src" --sealer-key "$WORK/sealer" >/dev/null 2>&1 || die "seal"
cp -r "$WORK/store" "$NGX/data/s"
start_latproxy lpa "$NGX_PORT" 30
A=http://127.0.0.1:$LP_PORT/s/
start_latproxy lpb "$NGX_PORT" 30
B=http://127.0.0.1:$LP_PORT/s/
REFUSED=http://127.0.0.1:$("$REPO/scripts/free-port.sh")/s/
start_bg silent python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])' "$WORK/silent.port"
wait_until 20 test -s "$WORK/silent.port" || die "silent server did not start"
SILENT=http://127.0.0.1:$(cat "$WORK/silent.port")/s/

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
TIMEOUT=${TIMEOUT:-8} # --timeout: a mirror is given a slice of it, max(2 s, TIMEOUT / 4)
# open_ms BINARY URL: median ms of N opens (after one that pins the key in its own state),
# or "fails (exit N)"
open_ms() {
	local bin=$1 url=$2 i t0 rc=0
	export EMBASSY_STATE_DIR=$WORK/state
	"$bin" snapshots "$url" --passphrase-file "$WORK/pass" --timeout "$TIMEOUT" >/dev/null \
		2>"$WORK/open.err" || rc=$?
	if [ "$rc" != 0 ]; then
		log "$bin $url: $(grep 'error:' "$WORK/open.err")"
		echo "fails (exit $rc)"
		return
	fi
	for i in $(seq 1 "$N"); do
		t0=$(now_ns)
		"$bin" snapshots "$url" --passphrase-file "$WORK/pass" --timeout "$TIMEOUT" \
			>/dev/null 2>&1 || die "$bin $url"
		echo $((($(now_ns) - t0) / 1000000))
	done | median
}
log "load before: $LOAD_BEFORE"
printf '| case | %s | %s |\n|---|---|---|\n' "${EMBASSY_OLD:+before (ms)}" "after (ms)"
for c in "slow (one URL):$A" "slow,refused:$A,$REFUSED" "slow,silent:$A,$SILENT" "slow,slow:$A,$B"; do
	url=${c#*:}
	old=""
	[ -n "${EMBASSY_OLD:-}" ] && old=$(open_ms "$EMBASSY_OLD" "$url")
	printf '| %s | %s | %s |\n' "${c%%:*}" "$old" "$(open_ms "$EMBASSY" "$url")"
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
