#!/bin/bash
# label: network
# embassy copy, local store -> WebDAV (nginx) and back:
#   1. a copier holding only the pinned signing key (--trust) copies everything; DST then
#      verifies --read-data and restores byte for byte with the store's passphrase; a second
#      run copies nothing (idempotent); without a pin it refuses (exit 4);
#   2. after more seals and a forget at SRC, a copier with a read key brings DST up to SRC
#      (only what is missing, only packs in use) and verifies DST itself;
#   3. kill -9 in the middle of a copy through a slow link: DST still verifies (at its old
#      head), and the next run finishes;
#   4. refusals: DST holding another store, DST ahead of SRC (a seal made there), a manifest
#      tampered at SRC (nothing copied past it).
. "$(dirname "$0")/lib.sh"
S=$SRC_DIR/scripts
NGX=
PROXY_PID=
stop_servers() {
	set +e
	[ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
	[ -n "$NGX" ] && "$S/nginx-down.sh" "$NGX" --keep
}
trap 'rc=$?; stop_servers; (exit $rc); cleanup' EXIT
export EMBASSY_STATE_DIR=$T/state
RANDOM=$$

NGX=$T/ngx
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
UP=$(. "$NGX/http.env"; echo "$STORE_URL")
DST=$UP/mirror/
DROOT=$(. "$NGX/http.env"; echo "$STORE_ROOT")/mirror

SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/dir/sub"
head -c $((2 << 20)) /dev/urandom >"$SRC/register.bin"
for i in $(seq 20); do printf 'record %s\n' "$i" >"$SRC/dir/sub/r$i.txt"; done
ln -s ../register.bin "$SRC/dir/link"
expect_rc 0 em_init "$STORE"
for n in 1 2 3; do
	printf 'edition %s\n' "$n" >"$SRC/edition.txt"
	run em_seal "$STORE" "$SRC"
	[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "seal exit $RC"
done
expect_rc 0 em_read info "$STORE" --json
FPR=$(json_get "$T/out" 'd["fingerprint"]')
copy() { "$EMBASSY" copy "$@"; }
# the copier is another machine: its own (empty) state
export EMBASSY_STATE_DIR=$T/copier-state

log "1. keyless: no pin, refused; with --trust, everything"
expect_rc 4 copy "$STORE" "$DST"
expect_rc 0 copy "$STORE" "$DST" --trust "$FPR" --json
assert_eq "True" "$(json_get "$T/out" 'd["copied"] == d["objects"] and d["head_copied"] and d["verified"]')" "first copy: everything"
expect_rc 0 copy "$STORE" "$DST" --json # pinned now by the state of the first run
assert_eq "0 False" "$(json_get "$T/out" 'str(d["copied"]) + " " + str(d["head_copied"])')" "a second run copies nothing"
export EMBASSY_STATE_DIR=$T/reader-state
expect_rc 0 em_read verify "$DST" --read-data
expect_rc 0 em_read restore "$DST" latest "$T/r1"
"$TREECMP" "$SRC" "$T/r1" || fail "DST does not restore byte for byte"
expect_rc 0 em_read snapshots "$DST" --json
assert_eq 3 "$(json_get "$T/out" 'len(d)')" "DST lists the three snapshots"

log "2. more seals and a forget at SRC; a copier with a read key catches up"
export EMBASSY_STATE_DIR=$T/state
head -c $((1 << 20)) /dev/urandom >"$SRC/new.bin"
run em_seal "$STORE" "$SRC"
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 2 --prune
export EMBASSY_STATE_DIR=$T/copier-state
expect_rc 0 copy "$STORE" "$DST" --passphrase-file "$PASSFILE" --json
cp "$T/out" "$T/c2.json"
assert_eq "True" "$(json_get "$T/c2.json" 'd["verified"] and d["head_copied"] and 0 < d["copied"] < d["objects"]')" "only what is missing"
log "   copied $(json_get "$T/c2.json" 'd["copied"]') of $(json_get "$T/c2.json" 'd["objects"]') objects"
export EMBASSY_STATE_DIR=$T/reader-state
expect_rc 0 em_read snapshots "$DST" --json
assert_eq 2 "$(json_get "$T/out" 'len(d)')" "DST follows the forget (its list)"
expect_rc 0 em_read restore "$DST" latest "$T/r2"
"$TREECMP" "$SRC" "$T/r2" || fail "DST's latest does not restore byte for byte"
expect_rc 0 em_read verify "$DST"

log "3. kill -9 during a copy to a fresh DST through a slow link"
python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$UP" --port-file "$T/pport" \
	--latency-ms 30 >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
wait_until 20 test -s "$T/pport"
P=http://127.0.0.1:$(cat "$T/pport")
SLOWDST=$P/mirror2/
reqs() {
	local j
	j=$(curl -sf "$P/__stats") || fail "proxy stats"
	j=${j#*\"requests\": \{}
	j=${j%%\}*}
	echo $(($(echo "0 $j" | grep -o '[0-9]\+' | paste -sd+)))
}
reached() { [ "$(reqs)" -ge "$1" ] || ! kill -0 "$2" 2>/dev/null; }
export EMBASSY_STATE_DIR=$T/copier-state
target=$((10 + RANDOM % 30))
start_bg "$EMBASSY" copy "$STORE" "$SLOWDST" --trust "$FPR" --parallel 2
wait_until 60 reached "$target" "$BG_PID"
kill -9 "$BG_PID" 2>/dev/null || true
wait "$BG_PID" 2>/dev/null || true
log "   killed after $(reqs) requests (aimed at $target)"
export EMBASSY_STATE_DIR=$T/reader-state2
run em_read verify "$SLOWDST"
[ "$RC" = 0 ] || grep -qE "not an embassy store|no snapshot" "$T/err" ||
	fail "a killed copy left a DST that neither verifies nor is empty: $(cat "$T/err")"
export EMBASSY_STATE_DIR=$T/copier-state
expect_rc 0 copy "$STORE" "$SLOWDST" --json
log "   resumed: $(json_get "$T/out" 'd["copied"]') copied, $(json_get "$T/out" 'd["skipped"]') already there"
export EMBASSY_STATE_DIR=$T/reader-state2
expect_rc 0 em_read verify "$SLOWDST" --read-data
expect_rc 0 em_read restore "$SLOWDST" latest "$T/r3"
"$TREECMP" "$SRC" "$T/r3" || fail "the resumed copy does not restore byte for byte"

log "4. refusals"
export EMBASSY_STATE_DIR=$T/state
mkdir -p "$T/other"
"$EMBASSY" init "$T/other/s" --sealer-key "$T/other.key" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1 -q
expect_rc 1 copy "$STORE" "$T/other/s" --passphrase-file "$PASSFILE"
assert_grep "another store" "$T/err" "DST holding another store"
log "   DST ahead: a seal made there"
expect_rc 0 em_seal "$DST" "$T/r1"
export EMBASSY_STATE_DIR=$T/copier-state
expect_rc 7 copy "$STORE" "$DST" --passphrase-file "$PASSFILE"
assert_grep "ahead|diverged" "$T/err" "DST ahead of SRC"
log "   a manifest tampered at SRC: refused, nothing copied past it"
cp -a "$STORE" "$T/evil"
m=$(ls "$T/evil/snapshots" | head -1)
printf '\x01' | dd of="$T/evil/snapshots/$m" bs=1 seek=100 conv=notrunc status=none
expect_rc 7 copy "$T/evil" "$T/evildst" --trust "$FPR"
[ ! -e "$T/evildst/heads/latest" ] || fail "a head was copied past a bad manifest"
log PASS
