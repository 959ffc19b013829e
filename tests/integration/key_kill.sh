#!/bin/bash
# label: network
# timeout: 400
# kill -9 during key rotate and key rotate-signing on a WebDAV store (nginx), reached through
# the fault proxy, which holds one chosen request (by method and object name) so that the
# command is killed at an exact point: before any new key entry is published, with some
# published, after the sealer key file took the new epoch but before the old entries go;
# before the new root version, between the root version and the list, between the list and
# the head. After every kill: verify is clean, the holders that should read restore the
# latest snapshot byte for byte (the one window where readers are refused is a root version
# written without its head: a clean exit 7, ended by running the command again). Running
# the same command again completes it; the sealer seals, and every holder reads that too.
. "$(dirname "$0")/lib.sh"
# a small register set: the point is the keys, and every check restores it in full
small_tree() {
	mkdir -p "$1/population/2026" "$1/cadastre"
	head -c $((300 << 10)) /dev/urandom >"$1/population/2026/register.bin"
	for i in 1 2 3 4 5; do printf 'parcel %s\n' "$i" >"$1/cadastre/p$i.txt"; done
	ln -s ../population/2026/register.bin "$1/cadastre/link"
}
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
UP=$(. "$NGX/http.env"; echo "$STORE_URL")
start_bg python3 "$SRC_DIR/tests/tools/faultproxy.py" --upstream "$UP" --port-file "$T/pport"
wait_until 20 test -s "$T/pport"
P=http://127.0.0.1:$(cat "$T/pport")
SLOW=$P/embassy/
FAST=$UP/embassy/
export EMBASSY_STATE_DIR=$T/state
ctl() { curl -sf "$P/__fault?$1" >/dev/null || fail "proxy control $1"; }
held() { curl -sf "$P/__stats" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["held"] < 1)'; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# killed_at METHOD PATH CMD...: run CMD through the proxy, holding its first METHOD request
# whose path contains PATH; kill -9 it there, then release the request (it reaches the
# server after the client died, as a request in flight does)
killed_at() {
	local method=$1 path=$2 pid
	shift 2
	ctl "hold=$method&hold_path=$path"
	start_bg "$@"
	pid=$BG_PID
	wait_until 120 eval 'held || gone $pid'
	gone "$pid" && { cat "$T"/.bg-*.log >&2; fail "$* ended before its $method $path"; }
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	ctl clear=1
	log "   killed at $method $path"
}

SRC=$T/src
small_tree "$SRC"
for k in r1 r2; do expect_rc 0 em keygen "$T/$k.key"; done
for k in o1 o2 o3 ts; do expect_rc 0 em keygen --signing "$T/$k.sig" -q; done
expect_rc 0 em_init "$FAST" --recipient "$T/r1.key.pub" --recipient "$T/r2.key.pub"
expect_rc 0 em_seal "$FAST" "$SRC" -q
expect_rc 0 em key root "$FAST" --sealer-key "$SEALER" --officer "$T/o1.sig.pub" \
	--officer "$T/o2.sig.pub" --officer "$T/o3.sig.pub" --threshold 2 \
	--timestamp-key "$T/ts.sig.pub" --sign "$T/o1.sig" --sign "$T/o2.sig"

# readers_read WHAT: verify clean; r1, r2 (while not left out) and the passphrase restore
# the latest snapshot byte for byte
R2_OUT=0
readers_read() {
	local cred
	expect_rc 0 em_read verify "$FAST"
	for cred in "--passphrase-file $PASSFILE" "--key-file $T/r1.key" "--key-file $T/r2.key"; do
		[ "$R2_OUT" = 1 ] && [ "${cred##*/}" = r2.key ] && continue
		rm -rf "$T/r"
		# shellcheck disable=SC2086
		expect_rc 0 em restore "$FAST" latest "$T/r" -q $cred
		"$TREECMP" "$SRC" "$T/r" || fail "$1: restore with ${cred##*/} differs from the source"
	done
}
n=0
sealed() { # seal a change with the current sealer key; every holder reads it
	n=$((n + 1))
	printf 'change %s\n' "$n" >"$SRC/change.txt"
	expect_rc 0 em seal "$FAST" "$SRC" --sealer-key "$SEALER" -q
	readers_read "$1, sealed after"
}

ROT=(key rotate "$SLOW" --sealer-key "$SEALER" --recipient "$T/r1.key.pub"
	--recipient "$T/r2.key.pub" --passphrase-file "$PASSFILE")
for point in "PUT keys/.tmp.pass" "PUT keys/.tmp.rcpt" "DELETE keys/rcpt" "DELETE keys/pass"; do
	log "key rotate, killed at $point"
	cp "$SEALER" "$T/sealer.before"
	killed_at ${point} "$EMBASSY" "${ROT[@]}"
	readers_read "rotate killed at $point"
	expect_rc 0 em "${ROT[@]/$SLOW/$FAST}"
	sealed "rotate killed at $point, run again"
done

log "key rotate leaving r2 out, killed after the new epoch, before the old entries go"
R2=$(em key list "$FAST" --json | python3 -c 'import json,sys,subprocess
print("\n".join(e["name"][5:] for e in json.load(sys.stdin) if e["type"] == "recipient"))')
# which entry is r2's: the one r2 alone cannot open once it is gone; try each
for e in $R2; do
	cp -a "$NGX/data/embassy/keys/$e" "$T/entry"
	rm "$NGX/data/embassy/keys/$e"
	run em ls "$FAST" latest --key-file "$T/r2.key"
	cp -a "$T/entry" "$NGX/data/embassy/keys/$e"
	[ "$RC" = 4 ] && { R2=$e; break; }
done
[[ $R2 =~ ^rcpt-[0-9a-f-]+$ ]] || fail "r2's entry not found"
killed_at DELETE keys/ "$EMBASSY" key rotate "$SLOW" --sealer-key "$SEALER" --remove "$R2" \
	--recipient "$T/r1.key.pub" --passphrase-file "$PASSFILE"
readers_read "rotate --remove killed before the deletions"
expect_rc 0 em key rotate "$FAST" --sealer-key "$SEALER" --remove "$R2" \
	--recipient "$T/r1.key.pub" --passphrase-file "$PASSFILE"
R2_OUT=1
sealed "rotate --remove run again"
expect_rc 4 em ls "$FAST" latest --key-file "$T/r2.key"

seq_now() { em_read snapshots "$FAST" --json | json_get /dev/stdin 'd[-1]["seq"]'; }
k=0
for point in "PUT roots/.tmp" "PUT lists/.tmp" "PUT heads/"; do
	k=$((k + 1))
	log "key rotate-signing, killed at $point"
	SEQ=$(seq_now)
	RS=(key rotate-signing "$SLOW" --state-dir "$T/officers" --key-file "$T/r1.key"
		--new-sealer-key "$T/s$k.key" --valid-through "$SEQ" --sign "$T/o1.sig" --sign "$T/o3.sig")
	killed_at ${point} "$EMBASSY" "${RS[@]}"
	run em_read verify "$FAST"
	if [ "$RC" != 0 ]; then # the root version is written, its list or head not yet
		[ "$RC" = 7 ] || { cat "$T/err" >&2; fail "rotate-signing killed at $point: verify exit $RC"; }
		[ "$point" != "PUT roots/.tmp" ] || fail "readers refused, but no root version was written"
	else
		readers_read "rotate-signing killed at $point"
	fi
	expect_rc 0 em "${RS[@]/$SLOW/$FAST}"
	readers_read "rotate-signing killed at $point, run again"
	expect_rc 0 em "${RS[@]/$SLOW/$FAST}" # a third run has nothing left to do
	expect_rc 4 em seal "$FAST" "$SRC" --sealer-key "$SEALER" -q
	SEALER=$T/s$k.key
	sealed "rotate-signing killed at $point, run again"
done
log PASS
