#!/bin/bash
# label: mount
# timeout: 300
# Bounded means bounded: a reader of a mount given --timeout B gets its error within B (plus
# a margin), even when one kernel read waits on several things in turn (the prefetcher's
# in-flight fetch of the same record, its own fetch with retries, the kernel's retry of a
# failed readahead). The store's server (nginx) is stopped in the middle of a sequential read
# of a big file; the read that fails must fail with EIO no later than B + 10 s after it
# started (a correctness bound, not a speed test), and the daemon's log (--log-file) must say
# why. The server then comes back on the same port, and the same mount reads the whole file
# correctly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"

S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1'
"$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
. "$NGX/http.env"
URL=$STORE_URL/embassy/
TLS=(--cacert "$STORE_CA")
BUDGET=10
MARGIN=10

SRC=$T/src
MNT=$T/mnt
mkdir -p "$SRC"
BIG_MIB=$([ "$SANITIZED" = 1 ] && echo 48 || echo 128)
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$SRC/big.bin"
expect_rc 0 em_init "$URL" "${TLS[@]}"
expect_rc 0 em_seal "$URL" "$SRC" "${TLS[@]}"

# A daemon (its stderr is /dev/null): only --log-file can tell why reads failed. No disk
# cache and a small memory cache, so little of the file is read ahead of the reader.
expect_rc 0 em_mount "$URL" "$MNT" "${TLS[@]}" --timeout "$BUDGET" --cache-size 0 \
	--memory-cache 32M --log-file "$T/mount.log" -v

# The readers: 1 MiB sequential reads (as cat does, with the kernel's readahead and the
# mount's prefetch ahead of them); after STOP MiB the reader says so and waits for the server
# to be stopped. Then it reads on, and four more threads read one region further on at once
# (several readers of one record: each waits on another's fetch before it fetches itself).
# Every read must fail; the report is the slowest failure and how long each took.
cat >"$T/reader.py" <<'EOF'
import os, sys, threading, time
path, stop, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
fd = os.open(path, os.O_RDONLY)
MiB = 1 << 20
for n in range(stop):
    os.read(fd, MiB)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.02)
results = []
def reader(off):
    t0 = time.monotonic()
    try:
        got = len(os.pread(fd, MiB, off)) if off is not None else len(os.read(fd, MiB))
        while got and off is None:  # the sequential reader goes on until it fails
            t0 = time.monotonic()
            got = len(os.read(fd, MiB))
        results.append((0, time.monotonic() - t0, "read %d bytes at %s" % (got, off)))
    except OSError as e:
        results.append((e.errno, time.monotonic() - t0, "at %s" % off))
threads = [threading.Thread(target=reader, args=(None,))]
threads += [threading.Thread(target=reader, args=((stop + 24) * MiB,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
bad = [r for r in results if r[0] != 5]
worst = max(results, key=lambda r: r[1])
if bad:
    print("NOT-EIO %s" % (bad,))
else:
    print("FAILED errno=5 after=%.1f (readers: %s)" % (worst[1],
          " ".join("%.1f" % r[1] for r in results)))
EOF
STOP=$((BIG_MIB / 5)) # the four readers start 24 MiB further on, past the read-ahead
start_bg python3 "$T/reader.py" "$MNT/latest/big.bin" "$STOP" "$T/ready" "$T/go" >"$T/reader.out"
READER=$BG_PID
wait_until 120 test -e "$T/ready"
log "read $STOP MiB; stopping the server"
"$S/nginx-down.sh" "$NGX" --keep >/dev/null
touch "$T/go"
wait_until $((BUDGET * 6 + 60)) bash -c "! kill -0 $READER 2>/dev/null"
wait "$READER" || true
RESULT=$(cat "$T/reader.out")
log "reader: $RESULT"
[[ $RESULT =~ ^FAILED\ errno=5\ after=([0-9]+)\.[0-9] ]] ||
	fail "the reads with the server stopped did not all fail with EIO: '$RESULT'"
SECS=${BASH_REMATCH[1]}
[ "$SECS" -le $((BUDGET + MARGIN)) ] ||
	fail "a failing read took ${SECS} s with --timeout $BUDGET (bound: $((BUDGET + MARGIN)) s)"
mountpoint -q "$MNT" || fail "the daemon died when the server went away"
assert_grep 'packs/' "$T/mount.log" "the log names the object that could not be fetched"
assert_grep 'connection refused|timed out|budget' "$T/mount.log" "the log says why"

log "server back on the same port: the same mount reads the whole file"
"$S/nginx-up.sh" "$NGX" "$STORE_PORT" >/dev/null || fail "nginx did not restart on $STORE_PORT"
# (a read within CACHE_FAIL_MEMO_MS of the last failure still fails at once: poll)
wait_until 60 cmp -s "$SRC/big.bin" "$MNT/latest/big.bin"
unmount "$MNT"
log PASS
