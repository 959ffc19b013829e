#!/bin/bash
# label: hostile
# Several embassies read as one (URL1,URL2: nginx and a local directory), one of them lying
# about an object that opens the store (THREAT-MODEL.md 5.16, FORMAT.md 15 step 1a):
#   a) a tampered descriptor, b) another store's descriptor, c) a tampered passphrase entry,
#   d) a tampered recipient entry on one mirror: the open skips that mirror's copy, reports
#      it, and restores byte for byte from the other, in either URL order;
#   e) the descriptor, or the passphrase entry, tampered on both: the store is refused with
#      the single-store error (exit 7, or "wrong passphrase": a tag failure says no more);
#   h) a tampered quorum entry on either mirror: two officers (key files together, or share
#      files apart) restore byte for byte through either URL order, the mirror is reported;
#      a mount keeps the good copy for --offline; `key share` opens the officer's slot from
#      the other mirror's copy; tampered on both: exit 4 and the single store's one error line;
#   f) the reader's state is the store's, whatever the URL order or subset: a rollback seen
#      through URL1,URL2 is refused through URL2,URL1 and through URL2 alone, and each
#      address of a multi-URL is remembered as serving the store (15.1);
#   g) one embassy down: the store opens from the other (an object the live mirror lacks,
#      roots/ of a store without a root document, is missing, not "connection refused").
. "$(dirname "$0")/hostile_lib.bash"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
DAV=$(. "$NGX/http.env"; echo "$STORE_URL")/m/
DAV_DIR=$NGX/data/m
LOC=$T/loc

make_src
OFFICER=$T/officer.key
expect_rc 0 em keygen "$OFFICER"
for k in q1 q2 q3; do
	expect_rc 0 em keygen "$T/$k.key"
done
expect_rc 0 em_init "$STORE" --recipient "$OFFICER.pub" --quorum 2 \
	--officer "$T/q1.key.pub" --officer "$T/q2.key.pub" --officer "$T/q3.key.pub"
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_init "$T/other" --sealer-key "$T/other.sealer"

# both embassies hold the store as sealed (what `embassy copy` makes)
fresh() {
	rm -rf "$DAV_DIR" "$LOC"
	cp -r "$STORE" "$DAV_DIR"
	cp -r "$STORE" "$LOC"
}
# tamper FILE [K]: one hex digit of the signature (a descriptor) or of "ct" (a key entry)
# changed, the K-th after the middle (two mirrors tampered apart serve two distinct copies)
tamper() {
	python3 - "$1" "${2:-0}" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
f = "sig" if "sig" in d else "ct"
v = d[f]
i = len(v) // 2 + int(sys.argv[2])
d[f] = v[:i] + ("0" if v[i] != "0" else "1") + v[i + 1:]
open(p, "w").write(json.dumps(d, separators=(",", ":"), sort_keys=True))
PY
}
pass_entry() { ls "$1"/keys/pass-* | head -1; }
rcpt_entry() { ls "$1"/keys/rcpt-* | head -1; }
quorum_entry() { ls "$1"/keys/quorum-* | head -1; }

# restored URL WHAT ARGS...: restore latest through URL, byte for byte
restored() {
	local url=$1 what=$2
	shift 2
	rm -rf "$T/r"
	run "$EMBASSY" restore "$url" latest "$T/r" "$@"
	[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "$what through $url: exit $RC"; }
	diff -r "$SRC" "$T/r" >/dev/null || fail "$what through $url: the restore differs"
}
BOTH=("$DAV,$LOC" "$LOC,$DAV")

log "a) a tampered descriptor on nginx"
fresh
tamper "$DAV_DIR/embassy.json"
for url in "${BOTH[@]}"; do
	restored "$url" "tampered descriptor" --passphrase-file "$PASSFILE"
	restored "$url" "tampered descriptor" --key-file "$OFFICER"
done
restored "$DAV,$LOC" "tampered descriptor" --passphrase-file "$PASSFILE"
assert_grep "mirror http://127.0.0.1:[0-9]+/m/ served embassy.json with bytes that fail verification" \
	"$T/err" "the lying mirror is not reported"

log "b) another store's descriptor on the local embassy"
fresh
cp "$T/other/embassy.json" "$LOC/embassy.json"
for url in "${BOTH[@]}"; do
	restored "$url" "another store's descriptor" --key-file "$OFFICER"
done
restored "$LOC,$DAV" "another store's descriptor" --passphrase-file "$PASSFILE"
assert_grep "mirror $LOC served embassy.json with bytes that fail verification" "$T/err" \
	"the lying mirror is not reported"

log "c) a tampered passphrase entry on the local embassy"
fresh
tamper "$(pass_entry "$LOC")"
: >"$T/errs"
for url in "${BOTH[@]}"; do
	restored "$url" "tampered passphrase entry" --passphrase-file "$PASSFILE"
	cat "$T/err" >>"$T/errs"
done
# (which mirror a read goes to first depends on what was measured: one order or the other)
assert_grep "mirror $LOC served keys/pass-[0-9a-f]+ with bytes that fail verification" \
	"$T/errs" "the tampered entry is not reported"

log "d) a tampered recipient entry on the local embassy"
fresh
tamper "$(rcpt_entry "$LOC")"
: >"$T/errs"
for url in "${BOTH[@]}"; do
	restored "$url" "tampered recipient entry" --key-file "$OFFICER"
	cat "$T/err" >>"$T/errs"
done
assert_grep "mirror $LOC served keys/rcpt-[0-9a-f]+ with bytes that fail verification" \
	"$T/errs" "the tampered entry is not reported"

log "e) tampered on both: refused as a single store would be"
fresh
tamper "$DAV_DIR/embassy.json"
tamper "$LOC/embassy.json"
for url in "${BOTH[@]}"; do
	expect_rc 7 em_read restore "$url" latest "$T/r-none"
	assert_eq 1 "$(grep -c '^embassy: error: ' "$T/err")" "one error line"
	assert_grep 'failed authentication' "$T/err"
done
fresh
tamper "$(pass_entry "$DAV_DIR")"
tamper "$(pass_entry "$LOC")"
run em_read restore "$LOC" latest "$T/r-none" # one store: the reference
RC_ONE=$RC
[ "$RC_ONE" -ne 0 ] || fail "a tampered passphrase entry opened the store"
for url in "${BOTH[@]}"; do
	run em_read restore "$url" latest "$T/r-none"
	assert_eq "$RC_ONE" "$RC" "both entries tampered: the single store's exit code"
	assert_eq 1 "$(grep -c '^embassy: error: ' "$T/err")" "one error line"
done
[ ! -e "$T/r-none" ] || fail "a refused store restored something"

log "h) a tampered quorum entry on one embassy, either one, either URL order"
for k in q1 q2; do # officers apart: their shares, taken from the store as sealed
	expect_rc 0 em key share "$STORE" --key-file "$T/$k.key" --out "$T/$k.share"
done
TOGETHER=(--key-file "$T/q1.key" --key-file "$T/q2.key")
APART=(--share-file "$T/q1.share" --share-file "$T/q2.share")
for liar in "$DAV_DIR" "$LOC"; do
	fresh
	tamper "$(quorum_entry "$liar")"
	: >"$T/errs"
	for url in "${BOTH[@]}"; do
		restored "$url" "tampered quorum entry (officers together)" "${TOGETHER[@]}"
		cat "$T/err" >>"$T/errs"
		restored "$url" "tampered quorum entry (officers apart)" "${APART[@]}"
		cat "$T/err" >>"$T/errs"
	done
	name=$LOC
	[ "$liar" = "$LOC" ] || name=$DAV
	assert_grep "mirror $name served keys/quorum-[0-9a-f]+ with bytes that fail verification" \
		"$T/errs" "the tampered quorum entry is not reported"
done
log "h) key share: the officers' slots tampered on one embassy"
# tamper_slots FILE: one hex digit of every officer's sealed share changed
tamper_slots() {
	python3 - "$1" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
for s in d["shares"]:
    v = s["ct"]
    i = len(v) // 2
    s["ct"] = v[:i] + ("0" if v[i] != "0" else "1") + v[i + 1:]
open(p, "w").write(json.dumps(d, separators=(",", ":"), sort_keys=True))
PY
}
for liar in "$DAV_DIR" "$LOC"; do
	fresh
	tamper_slots "$(quorum_entry "$liar")"
	for url in "${BOTH[@]}"; do
		rm -f "$T/again.share"
		expect_rc 0 em key share "$url" --key-file "$T/q1.key" --out "$T/again.share"
		assert_files_eq "$T/q1.share" "$T/again.share" "the share through $url"
	done
done

log "h) the mount keeps the quorum entry that opened, not the tampered copy read first"
Q=$(basename "$(quorum_entry "$STORE")")
FAILED_OVER=0
for liar in "$DAV_DIR" "$LOC"; do # (which mirror is read first is the mount's choice)
	fresh
	tamper "$liar/keys/$Q"
	rm -rf "$T/cache"
	start_bg "$EMBASSY" mount "$LOC,$DAV" "$T/mnt" --foreground --cache-dir "$T/cache" \
		"${TOGETHER[@]}" 2>"$T/mount.err"
	MOUNT_PID=$BG_PID
	MOUNTS+=("$T/mnt")
	mkdir -p "$T/mnt"
	wait_until 30 bash -c "mountpoint -q '$T/mnt' || ! kill -0 $MOUNT_PID 2>/dev/null"
	mountpoint -q "$T/mnt" || { cat "$T/mount.err" >&2; fail "the quorum mount did not come up"; }
	"$TREECMP" "$SRC" "$T/mnt/latest" || fail "the quorum mount differs from the source"
	umount_store "$T/mnt"
	assert_files_eq "$STORE/keys/$Q" "$(echo "$T"/cache/meta/*/keys/"$Q")" "the mirror's copy"
	! grep -qE "served keys/quorum-[0-9a-f]+ with bytes that fail" "$T/mount.err" ||
		FAILED_OVER=$((FAILED_OVER + 1))
done
[ "$FAILED_OVER" -gt 0 ] || fail "neither mount read the tampered copy first: nothing checked"

fresh
tamper "$(quorum_entry "$DAV_DIR")"
tamper "$(quorum_entry "$LOC")" 1 # each copy tried
for creds in TOGETHER APART; do
	declare -n c=$creds
	expect_rc 4 em restore "$LOC" latest "$T/r-none" "${c[@]}" # one store: the reference
	ONE=$(grep '^embassy: error: ' "$T/err" | sed "s|$LOC|STORE|g")
	for url in "${BOTH[@]}"; do
		expect_rc 4 em restore "$url" latest "$T/r-none" "${c[@]}"
		assert_eq 1 "$(grep -c '^embassy: error: ' "$T/err")" "one error line"
		assert_eq "$ONE" "$(grep '^embassy: error: ' "$T/err" | sed "s|$url|STORE|g")" \
			"the single store's error"
	done
	unset -n c
done
[ ! -e "$T/r-none" ] || fail "a refused store restored something"

log "g) one embassy down (nothing listens): the open and the restore go on without it"
fresh
DEAD=http://127.0.0.1:$("$S/free-port.sh")/m/
for url in "$LOC,$DEAD" "$DEAD,$LOC"; do
	restored "$url" "one embassy down" --passphrase-file "$PASSFILE" --timeout 8
	assert_grep "mirror $DEAD failed" "$T/err" "the dead mirror is not reported"
done

log "f) one store, one state: a rollback seen through URL1,URL2 is refused in any order"
fresh
cp "$STORE/heads/latest" "$T/head.1"
printf 'second\n' >"$SRC/docs/second.txt"
expect_rc 0 em_seal "$STORE" "$SRC"
fresh
expect_rc 0 em_read snapshots "$DAV,$LOC"
cp "$T/head.1" "$DAV_DIR/heads/latest"
cp "$T/head.1" "$LOC/heads/latest"
for url in "$LOC,$DAV" "$LOC" "$DAV"; do
	expect_rc 7 em_read snapshots "$url"
	assert_grep "roll" "$T/err" "a rollback through $url"
done

log "f) each address of a multi-URL is remembered as serving the store"
export EMBASSY_STATE_DIR=$T/state2
fresh
expect_rc 0 em_read snapshots "$DAV,$LOC"
rm -rf "$LOC"
cp -r "$T/other" "$LOC"
run em_read snapshots "$LOC"
assert_grep "ANOTHER STORE at file://$(realpath "$LOC")" "$T/err" \
	"another store at an address read only as part of a multi-URL went unnoticed"
finish
