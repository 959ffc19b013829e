#!/bin/bash
# label: network
# timeout: 400
# Two embassies as one store (URL1,URL2): nginx (WebDAV) and Ceph RGW (S3), both filled by
# `embassy copy` from a local store. Mounted as one and compared byte for byte; one lagging
# (an older head: detected, reported, the newer head served); one lying (tampered packs:
# skipped for those objects, correct bytes served, reported in the log and --json); one
# stopped mid-read (reads continue, no EIO); both stopped (a clean EIO, no hang); a malformed
# multi-URL and a writer given one (clear errors, exit 2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts
command -v radosgw >/dev/null || skip "Ceph RGW not installed (scripts/deps.sh --test)"

CEPH_DIR=$T/ceph
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
start_rgw "$CEPH_DIR"
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
DAV=$(. "$NGX/http.env"; echo "$STORE_URL")/copy/
DAV_DIR=$NGX/data/copy
S3=s3://$S3_BUCKET/copy
MULTI=$DAV,$S3

SRC=$T/src
"$MKTREE" "$SRC" --seed 13 --small --no-socket --big-dir 200
BIG_MIB=24 # more than the mount's --memory-cache 16M below: not all of it stays in memory
head -c $((BIG_MIB << 20)) /dev/urandom >"$SRC/big.bin"
STORE=$T/store
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read info "$STORE" --json
FPR=$(json_get "$T/out" 'd["fingerprint"]')

copy_to() { expect_rc 0 "$EMBASSY" copy "$STORE" "$1" --trust "$FPR" --json; }
log "fill both embassies with embassy copy"
copy_to "$DAV"
copy_to "$S3"

log "a malformed multi-URL, and a writer given one: one clear line, exit 2"
expect_rc 2 em_read snapshots "$DAV,"
assert_grep 'malformed multi-store URL' "$T/err"
expect_rc 2 em_read snapshots "$DAV,,$S3"
expect_rc 2 em_seal "$MULTI" "$SRC"
expect_one_error_line
assert_grep 'writes to one store' "$T/err"
expect_rc 2 "$EMBASSY" mount "$MULTI" "$T/mnt" --rw --sealer-key "$SEALER" --passphrase-file "$PASSFILE"
assert_grep 'writes to one store' "$T/err"

log "mounted as one: byte for byte"
em_mount_fg "$MULTI" "$T/mnt" "$T/m1.log" --cache-size 0
"$TREECMP" "$SRC" "$T/mnt/latest" || fail "the multi-store mount differs from the source"
unmount "$T/mnt" "$MOUNT_PID"

log "lagging: a second snapshot reaches S3 only; nginx serves the older head"
printf 'second\n' >"$SRC/second.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
copy_to "$S3"
for url in "$MULTI" "$S3,$DAV"; do
	rm -rf "$T/r"
	expect_rc 0 em_read restore "$url" latest "$T/r" --json
	"$TREECMP" "$SRC" "$T/r" || fail "$url: the newer head was not served"
	assert_grep "mirror .*serves head sequence 1, older than 2" "$T/err" "lagging not reported"
	assert_eq older "$(json_get "$T/out" '[m["head"] for m in d["mirrors"] if "s3:" not in m["url"]][0]')" \
		"lagging mirror in --json"
done
expect_rc 0 em_read snapshots "$MULTI" --json
assert_eq 2 "$(json_get "$T/out" 'len(d)')" "both snapshots listed"
copy_to "$DAV"

log "lying: nginx's packs tampered; the right bytes come from RGW"
cp -a "$DAV_DIR/packs" "$T/packs.good"
python3 - "$DAV_DIR/packs" <<'EOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        b = bytearray(open(p, "rb").read())
        for i in range(0, len(b), 4096):  # every record of every pack
            b[i] ^= 0x5A
        open(p, "wb").write(bytes(b))
EOF
rm -rf "$T/r"
expect_rc 0 em_read restore "$MULTI" latest "$T/r" --json
"$TREECMP" "$SRC" "$T/r" || fail "a tampered mirror's bytes were served"
assert_grep "fail verification" "$T/err" "tampered objects not reported"
REJ=$(json_get "$T/out" 'sum(m["rejected"] for m in d["mirrors"] if "s3:" not in m["url"])')
[ "$REJ" -ge 1 ] || fail "no rejection counted for the lying mirror"
rm -rf "$DAV_DIR/packs"
cp -a "$T/packs.good" "$DAV_DIR/packs"

log "one embassy stopped mid-read: no EIO, reads continue"
em_mount_fg "$MULTI" "$T/mnt" "$T/m2.log" --cache-size 0 --memory-cache 16M --timeout 10
HALF=$((BIG_MIB / 2))
dd if="$T/mnt/latest/big.bin" of="$T/big.part" bs=1M count=$HALF status=none ||
	fail "first half of big.bin"
"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || fail "nginx-down"
dd if="$T/mnt/latest/big.bin" of="$T/big.part" bs=1M skip=$HALF seek=$HALF status=none ||
	fail "the read did not continue after nginx stopped"
cmp "$SRC/big.bin" "$T/big.part" || fail "big.bin read across the stop differs"
"$TREECMP" "$SRC" "$T/mnt/latest" || fail "the mount with one embassy down differs"
assert_grep "mirror http://127.0.0.1:[0-9]+/copy/ failed" "$T/m2.log" "the failover not logged"

log "both stopped: a clean EIO"
"$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep >/dev/null 2>&1 || fail "ceph-rgw-down"
# Its start is out of the daemon's 16M memory cache by now, but the kernel keeps the pages
# treecmp read (keep_cache: a snapshot is immutable): drop them, so the read reaches the daemon.
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)' "$T/mnt/latest/big.bin" || fail "could not drop big.bin's cached pages"
expect_eio cat "$T/mnt/latest/big.bin"
unmount "$T/mnt" "$MOUNT_PID"
log PASS
