#!/bin/bash
# label: network
# embassy copy of a store whose sealer key was rotated (docs/KEYS.md 4.12) to WebDAV (nginx):
# the root document chain goes along, verified against the source's, so a reader of the copy
# pinned to the store's original fingerprint walks the same rotation: it restores the copy
# byte for byte, and refuses what the retired key signed after its last valid sequence.
#  - a copy made before the rotation is brought up to date after it (its old head verifies
#    under the retired key), keyless with --trust;
#  - a second copy with a read key, verified with --read-data;
#  - the thief's snapshot planted at the copy: refused (exit 7), as at the source.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
UP=$(. "$NGX/http.env"; echo "$STORE_URL")
DAV=$UP/copy/
DAV2=$UP/copy2/

SRC=$T/src
mkdir -p "$SRC/population" "$SRC/cadastre"
head -c $((300 << 10)) /dev/urandom >"$SRC/population/register.bin"
for i in 1 2 3; do printf 'parcel %s\n' "$i" >"$SRC/cadastre/p$i.txt"; done
STORE=$T/store
export EMBASSY_STATE_DIR=$T/state
for k in o1 o2 o3 ts; do expect_rc 0 em keygen --signing "$T/$k.sig" -q; done
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q
expect_rc 0 em key root "$STORE" --sealer-key "$SEALER" --officer "$T/o1.sig.pub" \
	--officer "$T/o2.sig.pub" --officer "$T/o3.sig.pub" --threshold 2 \
	--timestamp-key "$T/ts.sig.pub" --sign "$T/o1.sig" --sign "$T/o2.sig"
expect_rc 0 em_read info "$STORE" --json
FPR=$(json_get "$T/out" 'd["fingerprint"]')
COPIER=(--state-dir "$T/copier")

log "a copy before the rotation"
expect_rc 0 em copy "$STORE" "$DAV" --trust "$FPR" "${COPIER[@]}" --json
[ -f "$NGX/data/copy/roots/0000000000000001" ] || fail "roots/ not copied"

log "the thief seals with the stolen key; the officers rotate it, valid through sequence 1"
mkdir -p "$T/evil" && echo forged >"$T/evil/forged.txt"
expect_rc 0 em_seal "$STORE" "$T/evil" -q
EVIL=$(cd "$STORE/snapshots" && ls -t | head -n 1)
expect_rc 0 em key rotate-signing "$STORE" --state-dir "$T/officers" --passphrase-file "$PASSFILE" \
	--new-sealer-key "$T/s2.key" --valid-through 1 --sign "$T/o1.sig" --sign "$T/o3.sig"
printf 'sealed with the new key\n' >"$SRC/new.txt"
expect_rc 0 em seal "$STORE" "$SRC" --sealer-key "$T/s2.key" -q

log "the copy brought up to date, keyless; another with a read key, --read-data"
expect_rc 0 em copy "$STORE" "$DAV" "${COPIER[@]}" --json
assert_eq True "$(json_get "$T/out" 'd["head_copied"]')" "head copied"
for v in 1 2; do
	cmp -s "$STORE/roots/000000000000000$v" "$NGX/data/copy/roots/000000000000000$v" ||
		fail "root version $v not copied byte for byte"
done
expect_rc 0 em copy "$STORE" "$DAV" "${COPIER[@]}" --json
assert_eq 0 "$(json_get "$T/out" 'd["copied"]')" "a repeated copy moves nothing"
expect_rc 0 em copy "$STORE" "$DAV2" "${COPIER[@]}" --passphrase-file "$PASSFILE" --read-data --json
assert_eq True "$(json_get "$T/out" 'd["verified"] and d["head_copied"]')" "verified at DST"

log "a reader pinned to the original fingerprint reads the copies with the same trust"
for url in "$DAV" "$DAV2"; do
	R=(--trust "$FPR" --state-dir "$T/reader-${url: -2:1}")
	rm -rf "$T/r"
	expect_rc 0 em_read restore "$url" latest "$T/r" -q "${R[@]}"
	"$TREECMP" "$SRC" "$T/r" || fail "$url: latest does not restore byte for byte"
	expect_rc 0 em_read snapshots "$url" --json "${R[@]}"
	assert_eq 2 "$(json_get "$T/out" 'len(d)')" "$url: snapshots listed"
	expect_rc 0 em_read verify "$url" "${R[@]}"
done
log "the thief's snapshot planted at the copy: refused"
cp "$STORE/snapshots/$EVIL" "$NGX/data/copy/snapshots/"
R=(--trust "$FPR" --state-dir "$T/reader-y")
run em_read restore "$DAV" "${EVIL}" "$T/r-evil" "${R[@]}"
[ "$RC" = 7 ] || fail "the thief's snapshot was read from the copy (rc $RC)"
run em_read snapshots "$DAV" --json "${R[@]}"
[ "$RC" = 7 ] || fail "the thief's snapshot was not reported at the copy (rc $RC)"
assert_grep 'retired after sequence 1' "$T/err"
log "a copy without roots/ is refused by a reader that walked the rotation"
rm -r "$NGX/data/copy/roots"
run em_read snapshots "$DAV" "${R[@]}"
[ "$RC" = 7 ] || fail "the copy without its root document was read (rc $RC)"
log PASS
