#!/bin/bash
# label: network
# timeout: 400
# kill -9 of a repacking prune (docs/FORMAT.md 16.3.1), against a WebDAV store (nginx)
# reached through a proxy adding 20 ms to every request, cut at points spread over the run
# (before the copies, between the new packs and the table, after the table's publication,
# during condemn/sweep). Each round leaves a pack half unused; after every kill the store
# verifies clean with --read-data and the newest snapshot restores byte for byte; at the end
# a prune left alone finishes: every pack left is in use and nothing is left to repack.
# Then a seal racing a repacking prune: both finish, and every snapshot restores.
. "$(dirname "$0")/lib.sh"
S=$SRC_DIR/scripts
NGX=
PROXY_PID=
on_exit '[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }; true'
on_exit '[ -n "$NGX" ] && "$S/nginx-down.sh" "$NGX" --keep; true'
export EMBASSY_STATE_DIR=$T/state
RANDOM=$$

NGX=$T/ngx
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
UP=$(. "$NGX/http.env"; echo "$STORE_URL")
start_bg python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$UP" --port-file "$T/pport" \
	--latency-ms 20
PROXY_PID=$BG_PID
wait_until 20 test -s "$T/pport"
P=http://127.0.0.1:$(cat "$T/pport")
SLOW=$P/embassy/
FAST=$UP/embassy/
ROOT=$(. "$NGX/http.env"; echo "$STORE_ROOT")/embassy

reqs() {
	local j
	j=$(curl -sf "$P/__stats") || fail "proxy stats"
	j=${j#*\"requests\": \{}
	j=${j%%\}*}
	echo $(($(echo "0 $j" | grep -o '[0-9]\+' | paste -sd+)))
}
reached() { [ "$(reqs)" -ge "$1" ] || ! kill -0 "$2" 2>/dev/null; }
packs() { find "$ROOT/packs" -type f ! -name '.tmp.*' | wc -l; }

expect_rc 0 em_init "$FAST"
mkdir -p "$T/src/dir"
for i in $(seq 1 20); do printf 'row %s\n' "$i" >"$T/src/dir/r$i.txt"; done
# round K: keep-K stays in the tree, drop-K is gone in the next snapshot; sealed together
# they share a pack, which is then half unused
step() { # K: seal a snapshot with keep-K and drop-K, drop drop-(K-1), forget the older ones
	rm -f "$T/src/drop-"*
	head -c $((150 << 10)) /dev/urandom >"$T/src/keep-$1.bin"
	head -c $((150 << 10)) /dev/urandom >"$T/src/drop-$1.bin"
	expect_rc 0 em_seal "$FAST" "$T/src"
	rm -f "$T/src/drop-$1.bin"
	printf 'edition %s\n' "$1" >"$T/src/edition.txt"
	expect_rc 0 em_seal "$FAST" "$T/src"
	expect_rc 0 em forget "$FAST" --sealer-key "$SEALER" --keep-last 1
}
check_store() { # WHAT
	expect_rc 0 em_read verify "$FAST" --read-data
	rm -rf "$T/r"
	expect_rc 0 em_read restore "$FAST" latest "$T/r"
	"$TREECMP" "$T/src" "$T/r" || fail "$1: latest does not restore byte for byte"
}

log "round 0: a whole repacking prune, to count its requests"
step 0
base=$(reqs)
expect_rc 0 em prune "$SLOW" --sealer-key "$SEALER" --max-unused 0 --grace 1s --json
[ "$(json_get "$T/out" 'd["packs_repacked"]')" -ge 1 ] || fail "round 0 repacked nothing"
TOTAL=$(($(reqs) - base))
log "   a repacking prune makes $TOTAL requests; $(packs) packs"
check_store "round 0"

for pct in 15 35 50 65 85; do
	step "$pct"
	n=$((TOTAL * pct / 100 + RANDOM % 3))
	log "round $pct%: prune killed after ~$n requests"
	base=$(reqs)
	start_bg "$EMBASSY" prune "$SLOW" --sealer-key "$SEALER" --max-unused 0 --grace 1s
	pid=$BG_PID
	wait_until 60 reached $((base + n)) "$pid"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	log "   killed after $(($(reqs) - base)) requests; $(packs) packs"
	check_store "prune killed at $pct%"
done

log "a prune left alone finishes the work"
# the killed prunes' markers are live for 30 minutes: expire them, as lifecycle_prune does
for m in "$ROOT"/locks/*; do
	[ -e "$m" ] || continue
	python3 - "$m" <<'PY'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
d["refreshed"] = int((time.time() - 7200) * 1e9)
open(p, "w").write(json.dumps(d))
PY
done
expect_rc 0 em prune "$FAST" --sealer-key "$SEALER" --max-unused 0 --grace 1s --json
expect_rc 0 em prune "$FAST" --sealer-key "$SEALER" --max-unused 0 --grace 1s --json
assert_eq 0 "$(json_get "$T/out" 'd["packs_repacked"]')" "nothing left to repack"
assert_eq "$(json_get "$T/out" 'd["packs_total"]')" "$(json_get "$T/out" 'd["packs_used"]')" \
	"every pack left is in use"
check_store "after the final prune"

log "a seal racing a repacking prune"
step race
rm -rf "$T/src2"
cp -a "$T/src" "$T/src2"
head -c $((300 << 10)) /dev/urandom >"$T/src2/new.bin"
start_bg "$EMBASSY" prune "$SLOW" --sealer-key "$SEALER" --max-unused 0 --grace 1s
ppid=$BG_PID
start_bg "$EMBASSY" seal "$SLOW" "$T/src2" --sealer-key "$SEALER"
spid=$BG_PID
set +e
wait "$ppid"
prc=$?
wait "$spid"
src=$?
set -e
log "   prune exit $prc, seal exit $src"
[ "$src" = 0 ] || [ "$src" = 1 ] || fail "the seal failed with $src"
[ "$prc" = 0 ] || fail "the racing prune failed with $prc"
[ "$src" = 0 ] || expect_rc 0 em_seal "$FAST" "$T/src2" # EIDRM: "run it again"
expect_rc 0 em prune "$FAST" --sealer-key "$SEALER" --max-unused 0 --grace 1s
expect_rc 0 em_read verify "$FAST" --read-data
expect_rc 0 em_read snapshots "$FAST" --json
n=$(json_get "$T/out" 'len(d)')
rm -rf "$T/r"
expect_rc 0 em_read restore "$FAST" latest "$T/r"
"$TREECMP" "$T/src2" "$T/r" || fail "the racing seal's snapshot does not restore byte for byte"
log "   $n snapshot(s) listed, all verified"
log PASS
