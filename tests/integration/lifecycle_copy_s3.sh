#!/bin/bash
# label: network
# embassy copy across backend kinds with Ceph RGW (S3): a local store copied keyless (pinned
# key only) into S3, then from S3 into WebDAV (nginx) by a copier with a read key, which
# verifies the result with --read-data; every copy restores byte for byte and a repeated copy
# moves nothing. Then prune repacking on S3 (FORMAT 16.3.1): a third seal there without some
# files, the first two snapshots forgotten, prune --max-unused 0 repacks the partly used
# packs; the S3 store verifies --read-data and restores byte for byte.
. "$(dirname "$0")/lib.sh"
S=$SRC_DIR/scripts
NGX=
CEPH_DIR=
stop_servers() {
	set +e
	[ -n "$NGX" ] && "$S/nginx-down.sh" "$NGX" --keep
	[ -n "$CEPH_DIR" ] && "$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep
}
trap 'rc=$?; stop_servers; (exit $rc); cleanup' EXIT
export EMBASSY_STATE_DIR=$T/state

CEPH_DIR=$T/ceph
for i in 1 2 3; do
	"$S/ceph-rgw-up.sh" "$CEPH_DIR" >"$T/ceph.log" 2>&1 && break
	"$S/ceph-rgw-down.sh" "$CEPH_DIR" --keep
	[ "$i" = 3 ] && { cat "$T/ceph.log" >&2; fail "ceph-rgw-up.sh failed"; }
done
set -a
. "$CEPH_DIR/s3.env"
set +a
NGX=$T/ngx
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
DAV=$(. "$NGX/http.env"; echo "$STORE_URL")/copy/
S3=s3://$S3_BUCKET/copy

SRC=$T/src
mkdir -p "$SRC/a/b"
head -c $((3 << 20)) /dev/urandom >"$SRC/register.bin"
for i in $(seq 30); do printf 'parcel %s\n' "$i" >"$SRC/a/b/p$i.txt"; done
STORE=$T/store
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC"
printf 'second\n' >"$SRC/a/second.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read info "$STORE" --json
FPR=$(json_get "$T/out" 'd["fingerprint"]')

log "local -> S3, keyless"
export EMBASSY_STATE_DIR=$T/copier
expect_rc 0 "$EMBASSY" copy "$STORE" "$S3" --trust "$FPR" --dst-s3-endpoint "$S3_ENDPOINT" --json
assert_eq "True" "$(json_get "$T/out" 'd["head_copied"] and d["verified"] and d["copied"] == d["objects"]')" "everything copied"
expect_rc 0 "$EMBASSY" copy "$STORE" "$S3" --dst-s3-endpoint "$S3_ENDPOINT" --json
assert_eq 0 "$(json_get "$T/out" 'd["copied"]')" "a repeated copy moves nothing"

log "S3 -> WebDAV, with a read key, verified with --read-data"
expect_rc 0 "$EMBASSY" copy "$S3" "$DAV" --passphrase-file "$PASSFILE" --s3-endpoint "$S3_ENDPOINT" \
	--read-data --json
assert_eq "True" "$(json_get "$T/out" 'd["verified"] and d["head_copied"]')" "verified at DST"

export EMBASSY_STATE_DIR=$T/reader
for url in "$S3" "$DAV"; do
	expect_rc 0 em_read restore "$url" latest "$T/r-${url%%:*}" --s3-endpoint "$S3_ENDPOINT"
	"$TREECMP" "$SRC" "$T/r-${url%%:*}" || fail "$url does not restore byte for byte"
	expect_rc 0 em_read snapshots "$url" --s3-endpoint "$S3_ENDPOINT" --json
	assert_eq 2 "$(json_get "$T/out" 'len(d)')" "$url lists both snapshots"
done

log "repacking on S3"
rm "$SRC"/a/b/p1*.txt "$SRC/a/second.txt"
expect_rc 0 em_seal "$S3" "$SRC" --s3-endpoint "$S3_ENDPOINT"
expect_rc 0 em forget "$S3" --sealer-key "$SEALER" --keep-last 1 --s3-endpoint "$S3_ENDPOINT"
expect_rc 0 em prune "$S3" --sealer-key "$SEALER" --max-unused 0 --s3-endpoint "$S3_ENDPOINT" \
	--json
log "   repacked $(json_get "$T/out" 'd["packs_repacked"]') pack(s), deleted $(json_get "$T/out" 'd["packs_deleted"]')"
[ "$(json_get "$T/out" 'd["packs_repacked"]')" -ge 1 ] || fail "nothing repacked on S3"
[ "$(json_get "$T/out" 'd["packs_deleted"]')" -ge 1 ] || fail "no old pack deleted on S3"
expect_rc 0 em_read verify "$S3" --read-data --s3-endpoint "$S3_ENDPOINT"
rm -rf "$T/r-s3"
expect_rc 0 em_read restore "$S3" latest "$T/r-s3" --s3-endpoint "$S3_ENDPOINT"
"$TREECMP" "$SRC" "$T/r-s3" || fail "the repacked S3 store does not restore byte for byte"
log PASS
