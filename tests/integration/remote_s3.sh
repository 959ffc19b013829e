#!/usr/bin/env bash
# label: network
# timeout: 450
# remote_s3.sh — the S3 backend against a real Ceph RADOS Gateway (memstore) on free ports:
# round trips (incl. multipart), ranges, create-only (If-None-Match), ListObjectsV2 with
# continuation, errors, wrong credentials, and faults through tests/tools/faultproxy.py.
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
RC=$BUILD_DIR/tests/remotectl
S=$SRC_DIR/scripts
[ -x "$RC" ] || { echo "remotectl not built at $RC (set BUILD_DIR)" >&2; exit 1; }

T=$(mktemp -d /tmp/remote_s3.XXXXXX)
CEPH_DIR=$T/ceph
PROXY_PIDS=()
cleanup() {
	local rc=$? p
	set +e # a killed proxy's wait status must not end the cleanup early
	for p in "${PROXY_PIDS[@]+"${PROXY_PIDS[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	"$S/ceph-rgw-down.sh" "$CEPH_DIR"
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
. "$SRC_DIR/tests/integration/remote_lib.sh"
for b in radosgw ceph-mon ceph-osd ceph; do
	command -v $b >/dev/null || skip "$b not installed (scripts/deps.sh --test)"
done

t0=$(ms)
for i in 1 2 3; do # a port taken between the check and the bind: try other ones
	"$S/ceph-rgw-up.sh" "$CEPH_DIR" >"$T/ceph-up.log" 2>&1 && break
	cat "$T/ceph-up.log" >&2
	"$S/ceph-rgw-down.sh" "$CEPH_DIR"
	[ "$i" = 3 ] && fail "ceph-rgw-up.sh failed"
done
ok "Ceph RGW up in $(( $(ms) - t0 )) ms"
set -a
. "$CEPH_DIR/s3.env"
set +a
export EMBASSY_S3_ENDPOINT=$S3_ENDPOINT
U=s3://$S3_BUCKET/store1
r() { "$RC" "$U" "$@" 2>>"$T/client.log"; }

head -c 20971520 /dev/urandom >"$T/big"
head -c 73400320 /dev/urandom >"$T/huge" # 70 MiB: multipart (5 parts)
head -c 4096 /dev/urandom >"$T/small"
printf x >"$T/one"
: >"$T/empty"
printf 'first head\n' >"$T/headA"
printf 'second head\n' >"$T/headB"

for f in empty one small big huge; do
	r put "objs/$f" "$T/$f" || fail "put $f"
	r get "objs/$f" | cmp - "$T/$f" || fail "round trip of $f"
done
ok "round trips (0 B, 1 B, 4 KiB, 20 MiB, 70 MiB multipart) byte for byte"

r get objs/big 0 1 | cmp - <(head -c 1 "$T/big") || fail "range 0+1"
r get objs/big 1000 5000 | cmp - <(tail -c +1001 "$T/big" | head -c 5000) || fail "range"
r get objs/huge 70000000 3400320 | cmp - <(tail -c 3400320 "$T/huge") || fail "tail range"
r get objs/big 20000000 0 | cmp - <(tail -c +20000001 "$T/big") || fail "open-ended range"
expect_rc 74 "$RC" "$U" get objs/big 20971000 1000
ok "ranged reads exact; beyond the end is EBADMSG"

r getmany objs/big 0 100 objs/small 0 4096 objs/huge 50000000 1000000 >"$T/gm" || fail "getmany"
cat <(head -c 100 "$T/big") "$T/small" <(tail -c +50000001 "$T/huge" | head -c 1000000) |
	cmp - "$T/gm" || fail "getmany data"
ok "parallel ranged reads (get_many)"

r put heads/latest "$T/headA" --create-only || fail "first create-only put"
expect_rc 17 "$RC" "$U" put heads/latest "$T/headB" --create-only
r get heads/latest | cmp - "$T/headA" || fail "create-only replaced the object"
expect_rc 17 "$RC" "$U" put objs/huge "$T/big" --create-only
ok "create-only put (If-None-Match: *): EEXIST, object unchanged"

expect_rc 2 "$RC" "$U" get objs/nonexistent
expect_rc 2 "$RC" "$U" stat objs/nonexistent
[ "$(r stat objs/huge)" = 73400320 ] || fail "stat size"
r del objs/one || fail "del"
expect_rc 2 "$RC" "$U" get objs/one
ok "404 is ENOENT; stat; delete"

t0=$(ms)
r fill many/k 1500 || fail "fill"
echo "   1500 PUTs in $(( $(ms) - t0 )) ms"
r list many/ >"$T/list" || fail "list"
diff "$T/list" <(for i in $(seq 0 1499); do printf 'many/k%05d\n' "$i"; done) >/dev/null ||
	fail "listing differs ($(wc -l <"$T/list") keys)"
[ "$(r list many/k014 | wc -l)" = 100 ] || fail "partial prefix"
[ "$(r list nothing/ | wc -l)" = 0 ] || fail "empty listing"
grep -q 'continuation-token=' "$CEPH_DIR/log/client.rgw.a.log" 2>/dev/null ||
	echo "   (rgw log does not show the continuation request; count check passed)"
ok "ListObjectsV2 of 1,500 keys (over RGW's 1,000 per page)"

expect_rc 13 env AWS_SECRET_ACCESS_KEY=wrongsecret "$RC" "$U" get objs/small
grep -q 'access denied: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY' "$T/err" ||
	fail "no clear access-denied line"
expect_rc 13 env AWS_ACCESS_KEY_ID=NOSUCHKEY "$RC" "$U" put objs/x "$T/big"
expect_rc 22 env -u AWS_ACCESS_KEY_ID "$RC" "$U" get objs/small
expect_rc 22 env -u EMBASSY_S3_ENDPOINT "$RC" "$U" get objs/small
ok "wrong secret/key: EACCES with one clear line; missing credentials/endpoint: EINVAL"

# ---------- through faultproxy ----------
start_proxy "$S3_ENDPOINT" 11
PU=(--s3-endpoint "http://$PROXY" "$U")
p() { "$RC" "${PU[@]}" "$@" 2>>"$T/client.log"; }

fault "clear=1&fail503=0.3"
p put objs/pbig "$T/big" || fail "put via 503s"
p get objs/pbig | cmp - "$T/big" || fail "get via 503s"
p fill pf/k 200 || fail "fill via 503s"
[ "$(p list pf/ | wc -l)" = 200 ] || fail "list via 503s"
p list many/ | cmp - "$T/list" || fail "continued listing via 503s"
p put heads/p "$T/headA" --create-only || fail "create-only via 503s"
p getmany objs/big 0 1000 objs/huge 60000000 2000000 |
	cmp - <(cat <(head -c 1000 "$T/big") <(tail -c +60000001 "$T/huge" | head -c 2000000)) ||
	fail "getmany via 503s"
n=$(proxy_count faults fail503)
[ "$n" -gt 20 ] || fail "only $n 503s injected"
ok "30% 503 through the proxy: everything still succeeds ($n 503s injected)"

fault "clear=1&truncate=0.4&methods=GET"
for i in 1 2 3 4 5 6; do
	if p get objs/big >"$T/got"; then cmp -s "$T/got" "$T/big" || fail "WRONG DATA after truncation"; fi
	if p get objs/huge 1000000 3000000 >"$T/got"; then
		cmp -s "$T/got" <(tail -c +1000001 "$T/huge" | head -c 3000000) || fail "WRONG RANGE after truncation"
	fi
done
p get objs/big | cmp - "$T/big" || fail "truncated bodies not retried"
n=$(proxy_count faults truncate)
[ "$n" -gt 0 ] || fail "no truncation injected"
ok "truncated bodies: retried, never wrong data ($n truncations)"

fault "clear=1&reset=0.3"
p put objs/r "$T/big" && p get objs/r | cmp - "$T/big" || fail "resets"
p fill rs/k 40 || fail "fill via resets"
[ "$(p list rs/ | wc -l)" = 40 ] || fail "list via resets"
n=$(proxy_count faults reset)
[ "$n" -gt 0 ] || fail "no reset injected"
ok "connection resets: retried ($n resets)"

fault "clear=1&stall=1"
t0=$(ms)
expect_rc 110 env EMBASSY_TIMEOUT=5 "$RC" "${PU[@]}" get objs/small
el=$(( $(ms) - t0 ))
[ "$el" -ge 4500 ] && [ "$el" -le 8000 ] || fail "stall: gave up after $el ms, want ~5000"
grep -q 'timed out' "$T/err" || fail "no clear timeout message"
ok "stalled server: ETIMEDOUT after $el ms with a 5 s budget"
echo "all remote_s3 tests passed"
