#!/usr/bin/env bash
# label: network
# timeout: 240
# latency_https.sh — the read path over HTTPS (h2) behind a long link: bench/latproxy (the
# bench's TCP proxy that holds the bytes of each direction for a fixed delay, TLS end to end)
# in front of nginx. First the proxy itself must forward every byte in order: a 24 MiB object
# and 40 small ones fetched through it on several connections at once (curl, h2 and
# HTTP/1.1) compare byte for byte with the originals, and the first byte of a reply arrives no
# sooner than one round trip (the delay is really applied; a lower bound only, so load cannot
# fail it). Then a store is mounted through the proxy: a file of many frames read
# sequentially (the prefetcher's ranged reads, opened as their bytes arrive) and a directory of
# small files copied with cp -a compare byte for byte with the sealed source. Last, a byte of
# the file's pack is flipped on the server: reading the file through a fresh mount with a
# disk cache fails (EIO, never wrong bytes), and afterwards no disk cache file holds the
# tampered bytes (an entry that fails verification is dropped by the reader who meets it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
LATPROXY=$BUILD_DIR/latproxy
[ -x "$LATPROXY" ] || fail "no latproxy at $LATPROXY (CMake target latproxy)"

export EMBASSY_STATE_DIR=$T/state
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1'
"$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
. "$NGX/http.env"
CA=$STORE_CA

DELAY=20 # ms each way
start_bg "$LATPROXY" --upstream "127.0.0.1:$STORE_PORT" --delay-ms "$DELAY" \
	--port-file "$T/lp.port"
wait_until 30 test -s "$T/lp.port"
LP=https://127.0.0.1:$(cat "$T/lp.port")

log "the proxy forwards every byte, in order, on several connections at once"
head -c $((24 << 20)) /dev/urandom >"$STORE_ROOT/big"
mkdir -p "$STORE_ROOT/small"
for i in $(seq 1 40); do head -c $((i * 3001)) /dev/urandom >"$STORE_ROOT/small/f$i"; done
pids=()
curl -sf --http2 --cacert "$CA" -o "$T/big.h2" "$LP/big" & pids+=($!)
curl -sf --http1.1 --cacert "$CA" -o "$T/big.h1" "$LP/big" & pids+=($!)
urls=() outs=()
for i in $(seq 1 40); do urls+=("$LP/small/f$i" -o "$T/f$i"); done
curl -sf --no-progress-meter --http2 --parallel --parallel-max 8 --cacert "$CA" "${urls[@]}" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a download through latproxy failed"; done
cmp "$STORE_ROOT/big" "$T/big.h2" || fail "h2 download through latproxy differs"
cmp "$STORE_ROOT/big" "$T/big.h1" || fail "HTTP/1.1 download through latproxy differs"
for i in $(seq 1 40); do cmp "$STORE_ROOT/small/f$i" "$T/f$i" || fail "small/f$i differs"; done
ttfb=$(curl -sf --cacert "$CA" -o /dev/null -w '%{time_starttransfer}' "$LP/small/f1")
# TCP connect is not delayed; the TLS handshake and the request/reply are: >= 2 round trips
awk -v t="$ttfb" -v d="$DELAY" 'BEGIN { exit !(t * 1000 >= 4 * d) }' ||
	fail "first byte after $ttfb s: the ${DELAY} ms delay each way was not applied"
rm -rf "$STORE_ROOT/big" "$STORE_ROOT/small"

log "a store mounted through the proxy reads byte for byte"
SRC=$T/src
mkdir -p "$SRC/dir"
head -c $((40 << 20)) /dev/urandom >"$SRC/image"
for i in $(seq 1 300); do head -c $((1000 + i * 97)) /dev/urandom >"$SRC/dir/s$i"; done
URL=$STORE_URL/store
expect_rc 0 em_init "$URL" --cacert "$CA" -q
expect_rc 0 em_seal "$URL" "$SRC" --cacert "$CA" -q
MNT=$T/mnt
em_mount_fg "$LP/store" "$MNT" "$T/mount.log" --cacert "$CA" --cache-dir "$T/cache"
wait_until 30 test -e "$MNT/latest/image"
cmp "$SRC/image" "$MNT/latest/image" || fail "image read through the proxy differs"
cp -a "$MNT/latest/dir" "$T/copy" || fail "cp -a through the proxy failed"
diff -r "$SRC/dir" "$T/copy" >/dev/null || fail "cp -a through the proxy differs"
unmount "$MNT" "$MOUNT_PID"

log "a tampered pack: the read fails and the tampered bytes stay off the disk cache"
PACK=$(find "$STORE_ROOT/store/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
SIZE=$(stat -c %s "$PACK")
AT=$((SIZE / 2))
printf "$(printf '\\x%02x' $(($(od -An -tu1 -j "$AT" -N1 "$PACK") ^ 0x55)))" |
	dd of="$PACK" bs=1 seek="$AT" conv=notrunc status=none
# 48 bytes around the flipped one, as the server now serves them
dd if="$PACK" bs=1 skip=$((AT - 24)) count=48 status=none >"$T/tampered"
rm -rf "$T/cache2"
em_mount_fg "$LP/store" "$MNT" "$T/mount2.log" --cache-dir "$T/cache2" --cacert "$CA"
wait_until 30 test -e "$MNT/latest/image"
if cat "$MNT/latest/image" >"$T/image.out" 2>"$T/cat.err"; then
	fail "a tampered image read without an error"
fi
grep -q "Input/output error" "$T/cat.err" || fail "tampered read: $(cat "$T/cat.err")"
unmount "$MNT" "$MOUNT_PID"
[ -d "$T/cache2" ] || fail "no disk cache written at $T/cache2"
N=$(find "$T/cache2" -type f | wc -l)
[ "$N" -gt 0 ] || fail "the disk cache is empty: nothing to check"
/usr/bin/python3 - "$T/tampered" "$T/cache2" <<'PY' || fail "tampered bytes were written to the disk cache"
import os, sys
pat = open(sys.argv[1], "rb").read()
for d, _, fs in os.walk(sys.argv[2]):
    for f in fs:
        if pat in open(os.path.join(d, f), "rb").read():
            print("tampered bytes in", os.path.join(d, f), file=sys.stderr)
            sys.exit(1)
PY
log "ok ($N disk cache files checked)"
