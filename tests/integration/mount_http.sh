#!/bin/bash
# label: mount
# timeout: 300
# The mount with the store on nginx (HTTPS + HTTP/2, its own CA): the core comparisons of
# mount_local.sh, the disk cache reused by a remount (counted in nginx's access log), and the
# server stopped mid-run — cached files still read, uncached ones fail with EIO within the
# timeout — then restarted: reads work again without remounting.
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
pack_gets() { grep -c '"GET /embassy/packs/' "$NGX/access.log" || true; }

SRC=$T/src
MNT=$T/mnt
mktree "$SRC" --big-dir 500 --seed 5
mkdir -p "$SRC/extra"
make_db "$SRC/extra/register.db"
BIG_MIB=$([ "$SANITIZED" = 1 ] && echo 8 || echo 48)
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$SRC/extra/big.bin"

log "init and seal over HTTPS"
expect_rc 0 em_init "$URL" "${TLS[@]}"
run em_seal "$URL" "$SRC" "${TLS[@]}"
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || { cat "$T/err" >&2; fail "seal exited $RC"; }

log "mount (daemon) and compare with the source"
START=$(date +%s%N)
expect_rc 0 em_mount "$URL" "$MNT" "${TLS[@]}" --cache-dir "$T/cache"
log "mount ready in $(( ($(date +%s%N) - START) / 1000000 )) ms"
compare_mount "$SRC" "$MNT/latest"
cp -a "$MNT/latest/" "$T/cp"
"$TREECMP" --holes "$SRC" "$T/cp" || fail "cp -a copy differs"
rm -rf "$T/cp"
rsync -a -H -X --checksum "$MNT/latest/" "$T/rsync/"
"$TREECMP" "$SRC" "$T/rsync" || fail "rsync -a copy differs"
rm -rf "$T/rsync"
[ "$(db_query "$MNT/latest/extra/register.db")" = "$(db_query "$SRC/extra/register.db")" ] ||
	fail "the query on the mounted database differs"
mmap_check "$SRC/extra/big.bin" "$MNT/latest/extra/big.bin"
concurrent_cmp 16 "$SRC" "$MNT/latest" extra/big.bin extra/register.db files/data.csv
expect_erofs touch "$MNT/latest/new"
expect_erofs rm "$MNT/latest/files/one"
unmount "$MNT"

log "remount: the disk cache serves the data (no pack GETs for what was read)"
BEFORE=$(pack_gets)
em_mount_fg "$URL" "$MNT" "$T/fg1.log" "${TLS[@]}" --cache-dir "$T/cache"
"$TREECMP" "$SRC" "$MNT/latest" || fail "remounted tree differs"
unmount "$MNT" "$MOUNT_PID"
AFTER=$(pack_gets)
log "pack GETs: $BEFORE during the first mount's life, $((AFTER - BEFORE)) after the remount"
[ $((AFTER - BEFORE)) -le 2 ] || fail "the remount fetched $((AFTER - BEFORE)) pack ranges again"

log "server stopped mid-run: cached files read, others fail with EIO in time"
em_mount_fg "$URL" "$MNT" "$T/fg2.log" "${TLS[@]}" --cache-dir "$T/cache-empty" --timeout 3
cmp -s "$SRC/extra/register.db" "$MNT/latest/extra/register.db" || fail "warm-up read"
ls -l "$MNT/latest/bigdir" >/dev/null
"$S/nginx-down.sh" "$NGX" --keep
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true # the mount's caches, not the kernel's
cmp -s "$SRC/extra/register.db" "$MNT/latest/extra/register.db" ||
	fail "a cached file did not read with the server down"
[ "$(ls "$MNT/latest/bigdir" | wc -l)" -eq 500 ] || fail "a cached listing with the server down"
START=$SECONDS
expect_eio cat "$MNT/latest/extra/big.bin"
[ $((SECONDS - START)) -le 20 ] || fail "EIO took $((SECONDS - START)) s with a 3 s timeout"
log "uncached read failed with EIO after $((SECONDS - START)) s"
mountpoint -q "$MNT" || fail "the daemon died when the server went away"

log "server back: reads work again without remounting"
"$S/nginx-up.sh" "$NGX" "$STORE_PORT" >/dev/null || fail "nginx did not restart on $STORE_PORT"
# a fetch that failed for lack of the server is remembered for half a second (store/cache.h:
# the kernel's retries of a failed read must not each wait a whole budget), and the restart
# took less than that: a read retried after it works, well within a few seconds
wait_until 5 cmp -s "$SRC/extra/big.bin" "$MNT/latest/extra/big.bin"
"$TREECMP" "$SRC" "$MNT/latest" || fail "tree after the server came back"
unmount "$MNT" "$MOUNT_PID"
assert_grep 'packs/' "$T/fg2.log" "the log names the object that could not be fetched"

log "PASS"
