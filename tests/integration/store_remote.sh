#!/usr/bin/env bash
# label: network
# timeout: 600
# store_remote.sh — init / seal / snapshots / ls / restore / verify round trips against each of
# the three store kinds: a local directory, nginx over HTTPS + HTTP/2 with mutual TLS (WebDAV),
# and a Ceph RADOS Gateway (S3). Then the same through the fault proxy with 30% of requests
# answered 503: seal and restore still succeed and produce identical data. Wrong S3 secret:
# one clear line. A server certificate from another CA: refused.
. "$(dirname "$0")/lib.sh"
for b in nginx radosgw ceph-mon ceph-osd ceph; do
	command -v $b >/dev/null || skip "$b not installed (scripts/deps.sh --test)"
done
S=$SRC_DIR/scripts
NGINX_DIRS=()
CEPH_DIR=
PROXY_PID=
stop_servers() {
	set +e
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
	for d in "${NGINX_DIRS[@]+"${NGINX_DIRS[@]}"}"; do "$S/nginx-down.sh" "$d" --keep; done
	[ -n "$CEPH_DIR" ] && "$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep
}
on_exit stop_servers

export EMBASSY_STATE_DIR=$T/state
PW=$T/pw
printf 'correct horse battery staple\n' >"$PW"
chmod 600 "$PW"
E() { "$EMBASSY" "$@"; }

SRC=$T/src
"$MKTREE" "$SRC" --big-dir 300 >/dev/null
if [ "$SANITIZED" = 1 ]; then sz=4; else sz=40; fi
head -c $((sz << 20)) /dev/urandom >"$SRC/register.bin"

# round_trip NAME URL ARGS…: the whole cycle on one store, compared with the source
round_trip() {
	local name=$1 url=$2 out=$T/out-$1
	shift 2
	E init "$url" --sealer-key "$T/$name.key" --passphrase-file "$PW" --kdf-memory 8 \
		--kdf-ops 1 "$@" >/dev/null || fail "$name: init"
	# exit 3: sealed, with the warning about the socket mktree makes
	local rc=0
	E seal "$url" "$SRC" --sealer-key "$T/$name.key" --tag "$name" "$@" >"$T/id" 2>"$T/seal.err" || rc=$?
	[ "$rc" = 3 ] || { cat "$T/seal.err" >&2; fail "$name: seal exit $rc"; }
	rc=0
	E seal "$url" "$SRC" --sealer-key "$T/$name.key" --json "$@" >"$T/reseal.json" 2>"$T/seal.err" || rc=$?
	[ "$rc" = 3 ] || { cat "$T/seal.err" >&2; fail "$name: re-seal exit $rc"; }
	[ "$(json_get "$T/reseal.json" 'd["packs_new"]')" = 0 ] ||
		fail "$name: a re-seal of an unchanged tree wrote packs"
	E snapshots "$url" --passphrase-file "$PW" --json "$@" >"$T/snaps.json" ||
		fail "$name: snapshots"
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d if isinstance(d,list) else d['snapshots']; sys.exit(len(s) != 2)" \
		"$T/snaps.json" || fail "$name: expected 2 snapshots: $(cat "$T/snaps.json")"
	E ls "$url" "latest:register.bin" -l --passphrase-file "$PW" "$@" | grep -q register.bin ||
		fail "$name: ls"
	E restore "$url" latest "$out" --passphrase-file "$PW" "$@" || fail "$name: restore"
	"$TREECMP" "$SRC" "$out" || fail "$name: restored tree differs from the source"
	E verify "$url" --read-data --passphrase-file "$PW" "$@" >/dev/null || fail "$name: verify"
	rm -rf "$out"
	log "ok - $name: init, seal, re-seal (no new pack), snapshots, ls, restore = source, verify"
}

round_trip local "file://$T/localstore"

# ---- nginx: HTTPS + HTTP/2, mutual TLS required ----
NGINX_DIRS+=("$T/ngx")
NGINX_MTLS=on "$S/nginx-up.sh" "$T/ngx" >/dev/null || fail "nginx did not start"
. "$T/ngx/http.env"
TLS=(--cacert "$STORE_CA" --cert "$STORE_CLIENT_CERT" --key "$STORE_CLIENT_KEY")
round_trip https "$STORE_URL/embassy/" "${TLS[@]}"

# a server certificate from another CA is refused, whatever the credentials
NGINX_DIRS+=("$T/ngx2")
NGINX_MTLS=off "$S/nginx-up.sh" "$T/ngx2" >/dev/null || fail "second nginx did not start"
OTHER_URL=$(. "$T/ngx2/http.env"; echo "$STORE_URL")
rc=0
E snapshots "$OTHER_URL/embassy/" --cacert "$STORE_CA" --passphrase-file "$PW" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a certificate from another CA was accepted"
grep -qi "certificate\|tls\|trust" "$T/err" || fail "no clear TLS error: $(cat "$T/err")"
log "ok - certificate from another CA refused: $(head -1 "$T/err")"

# ---- Ceph RGW (S3) ----
CEPH_DIR=$T/ceph
for i in 1 2 3; do
	"$S/ceph-rgw-up.sh" "$CEPH_DIR" >"$T/ceph.log" 2>&1 && break
	"$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep
	[ "$i" = 3 ] && { cat "$T/ceph.log" >&2; fail "ceph-rgw-up.sh failed"; }
done
set -a
. "$CEPH_DIR/s3.env"
set +a
round_trip s3 "s3://$S3_BUCKET/embassy" --s3-endpoint "$S3_ENDPOINT"

rc=0
AWS_SECRET_ACCESS_KEY=wrong-secret E snapshots "s3://$S3_BUCKET/embassy" \
	--s3-endpoint "$S3_ENDPOINT" --passphrase-file "$PW" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a wrong S3 secret was accepted"
grep -qi "access denied" "$T/err" || fail "no 'access denied' line: $(cat "$T/err")"
log "ok - wrong S3 secret: exit $rc, $(grep -i 'access denied' "$T/err" | head -1)"

# ---- 30% of requests answered 503 (plain-HTTP nginx behind the fault proxy) ----
NGINX_DIRS+=("$T/ngx3")
NGINX_TLS=0 "$S/nginx-up.sh" "$T/ngx3" >/dev/null || fail "plain nginx did not start"
UP=$(. "$T/ngx3/http.env"; echo "$STORE_URL")
python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$UP" --port-file "$T/pport" --seed 3 \
	>"$T/proxy.log" 2>&1 &
PROXY_PID=$!
wait_until 20 test -s "$T/pport"
P=http://127.0.0.1:$(cat "$T/pport")
curl -sf "$P/__fault?fail503=0.3" >/dev/null || fail "fault control"
round_trip flaky "$P/embassy/"
n503=$(curl -sf "$P/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['faults'].get('fail503', 0))")
[ "$n503" -gt 10 ] || fail "the proxy injected only $n503 failures"
log "ok - with 30% of requests failing 503 ($n503 injected): seal and restore identical"
