#!/bin/bash
# label: network
# timeout: 600
# The key procedures of docs/KEYS.md 4.7 and 4.10–4.13 end to end on a WebDAV store (nginx)
# and on an S3 store (Ceph RGW), both on 127.0.0.1: key passwd, key root, refresh-head with
# the timestamp key, key rotate (a recipient left out of the new key epoch), key
# rotate-signing (a new sealer key). After each step the holders that should read restore
# the source byte for byte, those that should not are refused, and verify is clean.
. "$(dirname "$0")/lib.sh"
# a small register set: the point is the keys, and every check restores it in full
small_tree() {
	mkdir -p "$1/population/2026" "$1/cadastre"
	head -c $((300 << 10)) /dev/urandom >"$1/population/2026/register.bin"
	for i in 1 2 3 4 5; do printf 'parcel %s\n' "$i" >"$1/cadastre/p$i.txt"; done
	ln -s ../population/2026/register.bin "$1/cadastre/link"
}
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
command -v radosgw >/dev/null || skip "Ceph RGW not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts

CEPH_DIR=$T/ceph
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
start_rgw "$CEPH_DIR"

for k in r1 r2; do expect_rc 0 em keygen "$T/$k.key"; done
for k in o1 o2 o3 ts; do expect_rc 0 em keygen --signing "$T/$k.sig" -q; done
printf 'a new passphrase for the registers\n' >"$T/pass2"
chmod 600 "$T/pass2"

# restored URL WHAT CRED...: the latest snapshot restores byte for byte with CRED
restored() {
	local url=$1 what=$2
	shift 2
	rm -rf "$T/r"
	expect_rc 0 em restore "$url" latest "$T/r" -q "$@"
	"$TREECMP" "$SRC" "$T/r" || fail "$url, $what: restore differs from the source"
}

procedures() { # URL NAME
	local url=$1 name=$2
	SRC=$T/src-$name
	SEALER=$T/sealer-$name.key
	export EMBASSY_STATE_DIR=$T/state-$name
	small_tree "$SRC"
	log "$name: init, seal"
	expect_rc 0 em_init "$url" --recipient "$T/r1.key.pub"
	expect_rc 0 em key add "$url" --sealer-key "$SEALER" --recipient "$T/r2.key.pub"
	local r2
	r2=$(cat "$T/out")
	r2=${r2#keys/}
	expect_rc 0 em_seal "$url" "$SRC" -q
	restored "$url" "sealed" --passphrase-file "$PASSFILE"

	log "$name: key passwd"
	expect_rc 0 em key passwd "$url" --kdf-memory 8 --kdf-ops 1 --sealer-key "$SEALER" \
		--passphrase-file "$PASSFILE" --new-passphrase-file "$T/pass2"
	restored "$url" "new passphrase" --passphrase-file "$T/pass2"
	expect_rc 4 em ls "$url" latest --passphrase-file "$PASSFILE"

	log "$name: key root (sealer and two officers of three)"
	local root=(--officer "$T/o1.sig.pub" --officer "$T/o2.sig.pub" --officer "$T/o3.sig.pub"
		--threshold 2 --timestamp-key "$T/ts.sig.pub")
	expect_rc 4 em key root "$url" --sealer-key "$SEALER" "${root[@]}" --sign "$T/o1.sig"
	expect_rc 0 em key root "$url" --sealer-key "$SEALER" "${root[@]}" --sign "$T/o1.sig" \
		--sign "$T/o2.sig"
	assert_eq 1 "$(cat "$T/out")" "$name: root version"
	restored "$url" "root document" --key-file "$T/r1.key"

	log "$name: refresh-head with the timestamp key and a reader's credential"
	expect_rc 0 em refresh-head "$url" --timestamp-key "$T/ts.sig" --passphrase-file "$T/pass2" \
		--valid-for 2d
	expect_rc 0 em snapshots "$url" --require-fresh --passphrase-file "$T/pass2"
	expect_rc 4 em refresh-head "$url" --timestamp-key "$T/o1.sig" --passphrase-file "$T/pass2"

	log "$name: key rotate, r2 left out of the new epoch"
	expect_rc 0 em key rotate "$url" --sealer-key "$SEALER" --remove "$r2" \
		--recipient "$T/r1.key.pub" --passphrase-file "$T/pass2"
	assert_grep '^epoch 1 ' "$SEALER"
	printf 'sealed under epoch 1\n' >"$SRC/epoch1.txt"
	expect_rc 0 em_seal "$url" "$SRC" -q
	restored "$url" "after key rotate (r1)" --key-file "$T/r1.key"
	restored "$url" "after key rotate (passphrase)" --passphrase-file "$T/pass2"
	expect_rc 4 em ls "$url" latest --key-file "$T/r2.key"

	log "$name: key rotate-signing by two officers, a new sealer key"
	expect_rc 0 em snapshots "$url" --json --passphrase-file "$T/pass2"
	local seq
	seq=$(json_get "$T/out" 'd[-1]["seq"]')
	expect_rc 0 em key rotate-signing "$url" --state-dir "$T/officers-$name" \
		--key-file "$T/r1.key" --new-sealer-key "$T/s2-$name.key" --valid-through "$seq" \
		--sign "$T/o2.sig" --sign "$T/o3.sig"
	assert_eq 2 "$(cat "$T/out")" "$name: root version after rotate-signing"
	restored "$url" "after rotate-signing" --passphrase-file "$T/pass2"
	expect_rc 4 em_seal "$url" "$SRC" -q
	printf 'sealed with the new sealer key\n' >"$SRC/s2.txt"
	expect_rc 0 em seal "$url" "$SRC" --sealer-key "$T/s2-$name.key" -q
	restored "$url" "sealed with the new key (r1)" --key-file "$T/r1.key"
	restored "$url" "sealed with the new key (passphrase)" --passphrase-file "$T/pass2"
	expect_rc 0 em verify "$url" --read-data --passphrase-file "$T/pass2"
}

procedures "$(. "$NGX/http.env"; echo "$STORE_URL")/keys/" nginx
procedures "s3://$S3_BUCKET/keys" rgw
log PASS
