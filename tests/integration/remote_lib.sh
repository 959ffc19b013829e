# remote_lib.sh: what remote_http.sh and remote_s3.sh share — assertions, exit-code checks and
# the fault proxy. Source after setting T (a private temp dir), SRC_DIR and PROXY_PIDS=().
# (No "# label:" line: not a test of its own.)

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip REASON: cannot run here (exit 77: ctest's skip code; CI counts it), never exit 0
skip() { echo "SKIP: $*" >&2; exit 77; }
ok() { echo "ok - $*"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# expect_rc WANT CMD…: run CMD (stderr to $T/err), check its exit status
expect_rc() {
	local want=$1 rc=0; shift
	"$@" 2>"$T/err" >"$T/out" || rc=$?
	[ "$rc" = "$want" ] || { cat "$T/err" >&2; fail "exit $rc, want $want: $*"; }
}

# start_proxy UPSTREAM [SEED] — faultproxy on a free port; sets PROXY=127.0.0.1:PORT
start_proxy() {
	local pf=$T/proxy.port i
	rm -f "$pf"
	python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$1" --port-file "$pf" \
		--seed "${2:-7}" >"$T/proxy.log" 2>&1 &
	PROXY_PIDS+=($!)
	for i in $(seq 1 400); do
		[ -s "$pf" ] && break
		kill -0 "${PROXY_PIDS[-1]}" 2>/dev/null || { cat "$T/proxy.log" >&2; fail "faultproxy died"; }
		sleep 0.025 # polling for the port file: readiness, not a fixed wait
	done
	[ -s "$pf" ] || fail "faultproxy not ready"
	PROXY=127.0.0.1:$(cat "$pf")
}
fault() { curl -sf "http://$PROXY/__fault?$1" >/dev/null || fail "fault control $1"; }
proxy_count() { # proxy_count faults|requests KEY
	curl -sf "http://$PROXY/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'].get('$2', 0))"
}
