#!/bin/bash
# label: rw;network
# timeout: 400
# A commit meeting the world at its worst moments, against a WebDAV store (nginx on 127.0.0.1)
# through the fault proxy. The daemon is stopped at a chosen stage of a commit
# (EMBASSY_COMMIT_PAUSE=stage: SIGSTOP, resumed by SIGCONT), so the test acts at that very
# point, without a timed sleep:
# 1. a seal from home lands while the commit is stopped with its manifest written on the old
#    head: the commit's head claim loses, it merges and publishes on the home snapshot; both
#    sides' changes are in the head, the home snapshot is the merge's parent, verify clean;
# 2. the server fails (every request 503) from each of the 6 stages of a commit on (frozen,
#    built, manifest, intent, published, rebased): the head is the old snapshot or the new
#    one (never a manifest naming a missing object: verify clean), the mount keeps the change,
#    and once the server is back the next commit succeeds and holds it.
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
start_bg python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "${STORE_URL%/}" \
	--port-file "$T/proxy.port"
wait_until 30 test -s "$T/proxy.port"
P=127.0.0.1:$(cat "$T/proxy.port")
PURL=http://$P/embassy/
MNT=$T/mnt
JDIR=$T/journal
fault() { curl -sf "http://$P/__fault?$1" >/dev/null || fail "fault control $1"; }
latest() { em_read snapshots "$URL" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]'; }
parent_of() {
	em_read snapshots "$URL" --json | json_get /dev/stdin "[s['parent'] for s in d if s['id'] == '$1'][0]"
}
stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" = T ]; }

mkdir -p "$T/src/reg"
printf 'base\n' >"$T/src/reg/base.txt"
head -c 1500000 /dev/urandom >"$T/src/reg/data.bin"
expect_rc 0 em_init "$URL" -q
expect_rc 0 em_seal "$URL" "$T/src" -q

# commit_stopped_at STAGE NAME: a --rw mount through the proxy whose next commit stops at
# STAGE; a change NAME; the commit started in the background ($COMMIT_PID, output in
# $T/NAME.json and .err); returns once the daemon is stopped there.
commit_stopped_at() {
	local stage=$1 name=$2
	EMBASSY_COMMIT_PAUSE=$stage em_mount_rw_fg "$PURL" "$MNT" "$JDIR" "$T/mount-$name.log" \
		--timeout 5
	printf '%s\n' "$name" >"$MNT/reg/$name.txt"
	start_bg "$EMBASSY" commit "$MNT" --json >"$T/$name.json" 2>"$T/$name.err"
	COMMIT_PID=$BG_PID
	wait_until 60 stopped "$MOUNT_PID"
	assert_grep "EMBASSY_COMMIT_PAUSE=$stage: stopped" "$T/mount-$name.log"
}

log "a seal from home lands while a commit is stopped after writing its manifest"
HEAD0=$(latest)
commit_stopped_at manifest recovery
cp -a "$T/src" "$T/home"
printf 'sealed at home\n' >"$T/home/reg/home.txt"
expect_rc 0 em_seal "$URL" "$T/home" -q
HOME_SNAP=$(latest)
[ "$HOME_SNAP" != "$HEAD0" ] || fail "the seal from home did not move the head"
kill -CONT "$MOUNT_PID"
RC=0
wait "$COMMIT_PID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$T/recovery.err" >&2; fail "the racing commit exited $RC"; }
[ "$(json_get "$T/recovery.json" 'd["merged"]')" = True ] || fail "the commit did not merge"
NEW=$(json_get "$T/recovery.json" 'd["snapshot"]')
[ "$(latest)" = "$NEW" ] || fail "the head is not the merged commit"
[ "$(parent_of "$NEW")" = "$HOME_SNAP" ] || fail "the merge is not built on the home snapshot"
em_mount "$URL" "$T/ro-race" --cache-dir "$T/cache-race"
[ "$(cat "$T/ro-race/latest/reg/home.txt")" = "sealed at home" ] || fail "home's change lost"
[ "$(cat "$T/ro-race/latest/reg/recovery.txt")" = recovery ] || fail "the recovery host's change lost"
cmp "$T/src/reg/data.bin" "$T/ro-race/latest/reg/data.bin" || fail "the base file changed"
unmount "$T/ro-race"
expect_rc 0 em_read verify "$URL"
unmount "$MNT" "$MOUNT_PID"

log "the server fails from each stage of a commit on"
for stage in frozen built manifest intent published rebased; do
	BEFORE=$(latest)
	commit_stopped_at "$stage" "stage-$stage"
	fault fail503=1
	kill -CONT "$MOUNT_PID"
	RC=0
	wait "$COMMIT_PID" || RC=$?
	fault clear=1
	NOW=$(latest)
	log "$stage: the commit exited $RC; the head is $([ "$NOW" = "$BEFORE" ] && echo old || echo new)"
	[ "$NOW" = "$BEFORE" ] || [ "$(parent_of "$NOW")" = "$BEFORE" ] ||
		fail "$stage: the head is neither the old snapshot nor a commit on it"
	[ "$RC" -eq 0 ] || [ "$stage" != rebased ] || fail "rebased: the commit failed after it was done"
	expect_rc 0 em_read verify "$URL"
	[ "$(cat "$MNT/reg/stage-$stage.txt")" = "stage-$stage" ] || fail "$stage: the mount lost the change"
	expect_rc 0 em commit "$MNT"
	unmount "$MNT" "$MOUNT_PID"
done
em_mount "$URL" "$T/ro" --cache-dir "$T/cache-ro"
for stage in frozen built manifest intent published rebased; do
	[ "$(cat "$T/ro/latest/reg/stage-$stage.txt")" = "stage-$stage" ] ||
		fail "$stage: the committed snapshot lacks the change"
done
[ "$(cat "$T/ro/latest/reg/home.txt")" = "sealed at home" ] || fail "home's change lost later"
unmount "$T/ro"
expect_rc 0 em_read verify "$URL" --read-data
log "ok"
