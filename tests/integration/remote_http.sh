#!/usr/bin/env bash
# label: network
# timeout: 450
# remote_http.sh — the HTTP(S)/WebDAV backend against real nginx servers on free ports:
# round trips, ranges, create-only, listing, errors, TLS trust and mutual TLS, and faults
# injected by tests/tools/faultproxy.py (503/429, resets, truncated bodies, stalls).
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
RC=$BUILD_DIR/tests/remotectl
S=$SRC_DIR/scripts
[ -x "$RC" ] || { echo "remotectl not built at $RC (set BUILD_DIR)" >&2; exit 1; }

T=$(mktemp -d /tmp/remote_http.XXXXXX)
NGINX_DIRS=()
PROXY_PIDS=()
cleanup() {
	local rc=$? p d
	set +e # a killed proxy's wait status must not end the cleanup early
	for p in "${PROXY_PIDS[@]+"${PROXY_PIDS[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for d in "${NGINX_DIRS[@]+"${NGINX_DIRS[@]}"}"; do "$S/nginx-down.sh" "$d"; done
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
. "$SRC_DIR/tests/integration/remote_lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"

# start_nginx NAME VAR=VALUE… — nginx on a free port (retried if another process takes it)
start_nginx() {
	local d=$T/$1 i; shift
	NGINX_DIRS+=("$d")
	for i in 1 2 3 4 5; do
		env "$@" "$S/nginx-up.sh" "$d" >/dev/null && return 0
		"$S/nginx-down.sh" "$d" --keep
	done
	fail "nginx $d did not start"
}

# test data
head -c 20971520 /dev/urandom >"$T/big"
head -c 4096 /dev/urandom >"$T/small"
printf x >"$T/one"
: >"$T/empty"
printf 'first head\n' >"$T/headA"
printf 'second head\n' >"$T/headB"

# ---------- HTTPS + HTTP/2 with mutual TLS required ----------
start_nginx a NGINX_MTLS=on
# shellcheck disable=SC1091
. "$T/a/http.env"
A_URL=$STORE_URL/store1/
A_CA=$STORE_CA
A_ROOT=$STORE_ROOT
TLS=(--cacert "$STORE_CA" --cert "$STORE_CLIENT_CERT" --key "$STORE_CLIENT_KEY")
r() { "$RC" "${TLS[@]}" "$A_URL" "$@"; }

for f in empty one small big; do
	r put "objs/$f" "$T/$f" || fail "put $f"
	r get "objs/$f" | cmp - "$T/$f" || fail "round trip of $f"
done
ok "round trips (0 B, 1 B, 4 KiB, 20 MiB) byte for byte"
grep -q '"PUT /store1/objs/big HTTP/2.0" 201' "$T/a/access.log" || fail "HTTP/2 not used"
ok "HTTP/2 over TLS"

r get objs/big 0 1 | cmp - <(head -c 1 "$T/big") || fail "range 0+1"
r get objs/big 1000 5000 | cmp - <(tail -c +1001 "$T/big" | head -c 5000) || fail "range 1000+5000"
r get objs/big 20971519 1 | cmp - <(tail -c 1 "$T/big") || fail "last byte"
r get objs/big 20000000 0 | cmp - <(tail -c +20000001 "$T/big") || fail "open-ended range"
expect_rc 74 r get objs/big 20971000 1000
expect_rc 74 r get objs/small 5000 10
ok "ranged reads exact; a range beyond the end is EBADMSG, never short data"

r getmany objs/big 0 100 objs/small 0 4096 objs/big 5000000 3000000 >"$T/gm" || fail "getmany"
cat <(head -c 100 "$T/big") "$T/small" <(tail -c +5000001 "$T/big" | head -c 3000000) | cmp - "$T/gm" ||
	fail "getmany data"
ok "parallel ranged reads (get_many)"

r put heads/latest "$T/headA" --create-only || fail "first create-only put"
expect_rc 17 r put heads/latest "$T/headB" --create-only
r get heads/latest | cmp - "$T/headA" || fail "create-only replaced the object"
[ -z "$(find "$A_ROOT" -name '.tmp.*')" ] || fail "temp objects left behind"
ok "create-only put: EEXIST when present, object unchanged, no temp files left"

expect_rc 2 r get objs/nonexistent
expect_rc 2 r stat objs/nonexistent
[ "$(r stat objs/big)" = 20971520 ] || fail "stat size"
r del objs/one || fail "del"
expect_rc 2 r get objs/one
expect_rc 2 r del objs/one
expect_rc 22 r get ../etc/passwd
ok "404 is ENOENT; stat, delete; bad keys are EINVAL"
expect_rc 74 r get objs # a collection: nginx answers 301 to "objs/"
grep -q 'refusing redirect' "$T/err" || fail "redirect not refused clearly"
t0=$(ms)
expect_rc 74 "$RC" "${TLS[@]}" --max-len 1000000 "$A_URL" get objs/big
[ $(( $(ms) - t0 )) -lt 3000 ] || fail "oversize reply retried"
ok "redirects refused; a reply over max_len is EBADMSG at once"

t0=$(ms)
r fill many/k 1500 || fail "fill"
echo "   1500 PUTs in $(( $(ms) - t0 )) ms"
mkdir -p "$A_ROOT/store1/many/sub" && echo hi >"$A_ROOT/store1/many/sub/.tmp.junk.1"
r list many/ >"$T/list" || fail "list"
[ "$(wc -l <"$T/list")" = 1500 ] || fail "listed $(wc -l <"$T/list") keys, want 1500"
diff <(sort "$T/list") <(for i in $(seq 0 1499); do printf 'many/k%05d\n' "$i"; done) >/dev/null ||
	fail "listing differs"
[ "$(r list many/k014 | wc -l)" = 100 ] || fail "partial-name prefix"
[ "$(r list nothing/ | wc -l)" = 0 ] || fail "empty listing"
ok "list of 1,500 keys (PROPFIND, recursive), temp files ignored"

# ---------- TLS trust and mutual TLS ----------
expect_rc 13 "$RC" --cacert "$A_CA" "$A_URL" get objs/small
grep -q 'client certificate' "$T/err" || fail "no clear line about the client certificate"
ok "mTLS required: refused without a client certificate ($(head -c 80 "$T/err"))"
EMBASSY_CACERT=$A_CA EMBASSY_CERT=$STORE_CLIENT_CERT EMBASSY_KEY=$STORE_CLIENT_KEY \
	"$RC" "$A_URL" get objs/small | cmp - "$T/small" || fail "env certificates"
ok "mTLS: works with the certificate (also from EMBASSY_CACERT/CERT/KEY)"

start_nginx b NGINX_MTLS=off
. "$T/b/http.env"
expect_rc 13 "$RC" --cacert "$A_CA" "$STORE_URL/x/" get objs/small
grep -q 'not trusted' "$T/err" || fail "no clear TLS trust message"
expect_rc 13 "$RC" "$STORE_URL/x/" get objs/small # system CAs do not know the test CA
"$RC" --cacert "$STORE_CA" "$STORE_URL/x/" put a "$T/one" || fail "own CA"
ok "a server certificate from another CA is refused"

# ---------- plain HTTP through faultproxy ----------
start_nginx c NGINX_TLS=0
. "$T/c/http.env"
start_proxy "$STORE_URL"
P_URL=http://$PROXY/store2/
p() { "$RC" "$P_URL" "$@" 2>>"$T/proxy-client.log"; }

fault "clear=1&fail503=0.3"
p put objs/big "$T/big" || fail "put via 503s"
for i in 1 2 3; do p get objs/big | cmp - "$T/big" || fail "get via 503s"; done
p fill f/k 200 || fail "fill via 503s"
[ "$(p list f/ | wc -l)" = 200 ] || fail "list via 503s"
p put heads/h "$T/headA" --create-only || fail "create-only via 503s"
p getmany objs/big 0 1000 objs/big 10000000 1000000 | cmp - <(cat <(head -c 1000 "$T/big") \
	<(tail -c +10000001 "$T/big" | head -c 1000000)) || fail "getmany via 503s"
n=$(proxy_count faults fail503)
[ "$n" -gt 20 ] || fail "only $n 503s injected"
ok "30% 503: everything still succeeds ($n 503s injected)"

fault "clear=1&fail429=0.3&latency_ms=5"
p put objs/s429 "$T/small" && p get objs/s429 | cmp - "$T/small" || fail "429"
p fill g/k 50 || fail "fill via 429s"
ok "30% 429 with latency: still succeeds ($(proxy_count faults fail429) 429s)"

fault "clear=1&truncate=0.4&methods=GET"
for i in 1 2 3 4 5; do
	if p get objs/big >"$T/got"; then cmp -s "$T/got" "$T/big" || fail "WRONG DATA after truncation"; fi
	p get objs/big 1000000 2000000 >"$T/got" && { cmp -s "$T/got" <(tail -c +1000001 "$T/big" | head -c 2000000) ||
		fail "WRONG RANGE after truncation"; }
done
p get objs/big | cmp - "$T/big" || fail "truncated bodies not retried"
n=$(proxy_count faults truncate)
[ "$n" -gt 0 ] || fail "no truncation injected"
ok "truncated bodies: detected and retried, never wrong data ($n truncations)"

fault "clear=1&reset=0.3"
p put objs/r "$T/big" && p get objs/r | cmp - "$T/big" || fail "resets"
p fill rs/k 40 || fail "fill via resets"
[ "$(p list rs/ | wc -l)" = 40 ] || fail "list via resets"
p put heads/r "$T/headB" --create-only || fail "create-only via resets"
p get heads/r | cmp - "$T/headB" || fail "create-only content via resets"
n=$(proxy_count faults reset)
[ "$n" -gt 0 ] || fail "no reset injected"
ok "connection resets mid-body: retried ($n resets)"

fault "clear=1&stall=1"
t0=$(ms)
expect_rc 110 env EMBASSY_TIMEOUT=5 "$RC" "$P_URL" get objs/small
el=$(( $(ms) - t0 ))
[ "$el" -ge 4500 ] && [ "$el" -le 8000 ] || fail "stall: gave up after $el ms, want ~5000"
grep -q 'timed out' "$T/err" || fail "no clear timeout message"
expect_rc 110 "$RC" --timeout 2 "$P_URL" getmany objs/big 0 10 objs/big 10 10
ok "stalled server: ETIMEDOUT after $el ms with a 5 s budget"

fault "clear=1&bandwidth=8000000"
t0=$(ms)
p get objs/big | cmp - "$T/big" || fail "bandwidth cap"
ok "bandwidth cap 8 MB/s: 20 MiB in $(( $(ms) - t0 )) ms"
echo "all remote_http tests passed"
