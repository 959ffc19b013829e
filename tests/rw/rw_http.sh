#!/bin/bash
# label: network
# timeout: 240
# The write-through mount against a WebDAV store (nginx on 127.0.0.1): commit uploads through
# HTTP and moves the head with the create-only claim (MOVE, Overwrite: F); the committed
# snapshot, mounted read-only with an empty cache, equals the --rw mount; a second --rw mount
# of the same base changing the same file gets the three-way merge and exit 3; then through
# the fault proxy with 30 % of requests failing (503) commits retry until they succeed and
# nothing is lost; verify --read-data clean.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"

export EMBASSY_STATE_DIR=$T/state EMBASSY_RUNTIME_DIR=$T/run
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
. "$NGX/http.env"
URL=$STORE_URL/embassy/
MA=$T/mnt-a
MB=$T/mnt-b

mkdir -p "$T/src/reg"
printf 'shared v0\n' >"$T/src/reg/shared.txt"
head -c 3000000 /dev/urandom >"$T/src/reg/data.bin"
expect_rc 0 em_init "$URL" -q
expect_rc 0 em_seal "$URL" "$T/src" -q
latest() { em_read snapshots "$URL" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]'; }

log "--rw over HTTP: change, commit, read back read-only with an empty cache"
expect_rc 0 em_mount_rw "$URL" "$MA" "$T/journal-a"
expect_rc 0 em_mount_rw "$URL" "$MB" "$T/journal-b"
printf 'shared: a\n' >"$MA/reg/shared.txt"
mkdir "$MA/reg/new"
seq 1 3000 | sed "s/^/service line /" >"$T/services" # (not /etc/services: minbase lacks it)
cp "$T/services" "$MA/reg/new/"
python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_RDWR); os.pwrite(fd, b"x" * 4096, 1000000); os.fsync(fd)' \
	"$MA/reg/data.bin"
expect_rc 0 em commit "$MA" --json
SNAP_A=$(json_get "$T/out" 'd["snapshot"]')
[ "$(latest)" = "$SNAP_A" ] || fail "the head is not the commit"
em_mount "$URL" "$T/ro1" --cache-dir "$T/cache1"
"$TREECMP" "$MA" "$T/ro1/latest" || fail "the committed snapshot differs from the --rw mount"
unmount "$T/ro1"

log "a second --rw mount of the same base: merged, the same file kept twice, exit 3"
printf 'shared: b\n' >"$MB/reg/shared.txt"
printf 'from b\n' >"$MB/reg/b.txt"
expect_rc 3 em commit "$MB" --json
[ "$(json_get "$T/out" 'd["merged"]')" = True ] || fail "no merge"
COPY=$(json_get "$T/out" 'd["conflicts"][0]["copy"]')
em_mount "$URL" "$T/ro2" --cache-dir "$T/cache2"
[ "$(cat "$T/ro2/latest/reg/shared.txt")" = "shared: a" ] || fail "the head's version"
[ "$(cat "$T/ro2/latest/$COPY")" = "shared: b" ] || fail "b's version"
[ "$(cat "$T/ro2/latest/reg/b.txt")" = "from b" ] || fail "b's new file"
cmp "$T/services" "$T/ro2/latest/reg/new/services" || fail "a's new file"
unmount "$T/ro2"
unmount "$MB"

log "through a proxy failing 30 % of requests: commits retry until they succeed"
start_bg python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "${STORE_URL%/}" \
	--port-file "$T/proxy.port"
wait_until 30 test -s "$T/proxy.port"
P=127.0.0.1:$(cat "$T/proxy.port")
PURL=http://$P/embassy/
unmount "$MA"
expect_rc 0 em_mount_rw "$PURL" "$MA" "$T/journal-a"
curl -sf "http://$P/__fault?fail503=0.3" >/dev/null || fail "fault control"
for i in 1 2 3; do
	head -c $((200000 * i)) /dev/urandom >"$T/blob$i"
	cp "$T/blob$i" "$MA/reg/blob$i"
	n=0
	until em commit "$MA" -q 2>>"$T/commit-errors"; do
		n=$((n + 1))
		[ "$n" -lt 10 ] || fail "commit $i failed 10 times: $(tail -3 "$T/commit-errors")"
	done
	log "commit $i done after $n failed attempt(s)"
done
curl -sf "http://$P/__fault?clear=1" >/dev/null
faults=$(curl -sf "http://$P/__stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["faults"].values()))')
log "$faults requests failed on purpose"
[ "$faults" -gt 0 ] || fail "the proxy injected no fault"
unmount "$MA"
em_mount "$URL" "$T/ro3" --cache-dir "$T/cache3"
for i in 1 2 3; do
	cmp "$T/blob$i" "$T/ro3/latest/reg/blob$i" || fail "blob$i lost or different"
done
unmount "$T/ro3"
expect_rc 0 em_read verify "$URL" --read-data
log "ok"
