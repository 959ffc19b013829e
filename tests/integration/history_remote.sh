#!/bin/bash
# label: network
# timeout: 400
# The history and filter commands of issue 13 on a WebDAV store (nginx) and an S3 store
# (Ceph RGW), both on 127.0.0.1: seal --exclude and --dry-run (the dry run predicts the real
# seal's figures and writes nothing: the store's objects, the snapshot count and the packs
# are unchanged), diff, find and stats (the same answers as on a local store sealed from
# the same trees), verify --read-data-subset 1/2 + 2/2 (together every record once),
# restore --include (exactly the selected files, byte for byte).
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh --test)"
command -v radosgw >/dev/null || skip "Ceph RGW not installed (scripts/deps.sh --test)"
S=$SRC_DIR/scripts
export TZ=UTC

CEPH_DIR=$T/ceph
NGX=$T/ngx
on_exit '"$S/nginx-down.sh" "$NGX" --keep >/dev/null 2>&1 || true'
NGINX_TLS=0 "$S/nginx-up.sh" "$NGX" >/dev/null || fail "nginx did not start"
start_rgw "$CEPH_DIR"
DAV_ROOT=$(. "$NGX/http.env" && echo "$STORE_ROOT")
DAV=$(. "$NGX/http.env" && echo "$STORE_URL")/hist/

FIXED=202401020304.05
SRC=$T/src
mkdir -p "$SRC/land" "$SRC/logs" "$SRC/scratch" "$SRC/static/a" "$SRC/static/b"
head -c $((700 << 10)) /dev/urandom >"$SRC/land/cadastre.bin"
printf 'parcel 1\n' >"$SRC/land/a.csv"
printf 'parcel 22\n' >"$SRC/land/b.csv"
printf 'log\n' >"$SRC/logs/x.log"
head -c 5000 /dev/urandom >"$SRC/scratch/tmp.bin"
printf 'static a\n' >"$SRC/static/a/f"
printf 'static b\n' >"$SRC/static/b/f"
find "$SRC" -exec touch -h -t "$FIXED" {} +

FIELDS='files dirs bytes chunks chunks_new bytes_new_plain bytes_new_stored packs_new trees_new excluded'
figures() {
	local f out=""
	for f in $FIELDS; do out+="$f=$(json_get "$1" "d['$f']") "; done
	echo "$out"
}
# what a dry run must leave alone: the snapshot count and the packs present (any store), and
# every object with its size for the WebDAV store, whose files are on this host
state_of() { # URL
	local n p
	expect_rc 0 em_read snapshots "$1" --json
	n=$(json_get "$T/out" 'len(d)')
	p=0
	if [ "$n" -gt 0 ]; then
		expect_rc 0 em_read stats "$1" --json
		p=$(json_get "$T/out" 'd["packs_total"]')
	fi
	echo "snapshots=$n packs=$p"
	[ "$1" = "$DAV" ] && (cd "$DAV_ROOT/hist" && find . -type f -printf '%P %s\n' | LC_ALL=C sort)
	return 0
}

# seal_twice URL: two seals with --exclude scratch, each after a dry run that must predict it
seal_twice() {
	local url=$1 name=$2 before
	for round in 1 2; do
		before=$(state_of "$url")
		expect_rc 0 em_read seal "$url" "$SRC" --dry-run --exclude scratch --json
		cp "$T/out" "$T/dry-$name-$round.json"
		assert_eq "$before" "$(state_of "$url")" "$name: dry run $round changed the store"
		expect_rc 0 em_seal "$url" "$SRC" --exclude scratch --json
		assert_eq "$(figures "$T/dry-$name-$round.json")" "$(figures "$T/out")" \
			"$name: dry run $round vs the seal"
		assert_eq 1 "$(json_get "$T/out" 'd["excluded"]')" "$name: scratch excluded"
		if [ "$round" = 1 ]; then # the second snapshot: rewritten, chmod, removed, added
			printf 'parcel 10\n' >"$SRC/land/a.csv"
			chmod 600 "$SRC/logs/x.log"
			rm "$SRC/land/b.csv"
			mkdir -p "$SRC/new" && printf 'n\n' >"$SRC/new/n.csv"
			find "$SRC" -exec touch -h -t "$FIXED" {} +
		fi
	done
}

# answers URL: diff, find and stats, as text and JSON without the store's own ids
answers() {
	local url=$1
	expect_rc 0 em_read snapshots "$url" --json
	local s1 s2
	s1=$(json_get "$T/out" 'd[0]["id"]')
	s2=$(json_get "$T/out" 'd[1]["id"]')
	expect_rc 0 em_read diff "$url" "$s1" "$s2"
	cat "$T/out"
	expect_rc 0 em_read diff "$url" "$s1" "$s2" --json
	json_get "$T/out" '"%d %d %d %d %d" % (d["added"], d["removed"], d["modified"], d["metadata"], d["bytes_delta"])'
	expect_rc 0 em_read find "$url" '*.csv' --json
	json_get "$T/out" '"\n".join("%s %s %d" % (m["path"], m["change"], m["size"]) for m in d)'
	expect_rc 0 em_read stats "$url" --json
	json_get "$T/out" '"%d %d %d %d" % (d["snapshots"], d["bytes"], d["unique_bytes"], d["files"])'
}

log "reference: a local store sealed from the same two trees"
cp -a "$SRC" "$T/src0"
expect_rc 0 em_init "$T/local"
seal_twice "$T/local" local
REF=$(answers "$T/local")
[ -n "$REF" ] || fail "no reference answers"
assert_grep '^M  land/a.csv$' <(echo "$REF") "the local diff"

for store in dav s3; do
	case $store in
	dav) URL=$DAV ;;
	s3) URL=s3://$S3_BUCKET/hist ;;
	esac
	rm -rf "$SRC" && cp -a "$T/src0" "$SRC"
	export EMBASSY_STATE_DIR=$T/state-$store
	SEALER=$T/sealer-$store.key
	log "$store: init; seal --exclude with a dry run before each seal"
	expect_rc 0 em_init "$URL"
	seal_twice "$URL" "$store"

	log "$store: diff, find and stats answer as on the local store"
	assert_eq "$REF" "$(answers "$URL")" "$store: diff/find/stats"

	log "$store: verify --read-data-subset 1/2 and 2/2 open every record once"
	expect_rc 0 em_read verify "$URL" --read-data --json
	all=$(json_get "$T/out" 'd["records"]')
	expect_rc 0 em_read verify "$URL" --read-data-subset 1/2 --json
	half=$(json_get "$T/out" 'd["records"]')
	expect_rc 0 em_read verify "$URL" --read-data-subset 2/2 --json
	assert_eq "$all" "$((half + $(json_get "$T/out" 'd["records"]')))" "$store: subsets cover every record once"

	log "$store: restore --include: exactly the selected files, byte for byte"
	expect_rc 0 em_read restore "$URL" latest "$T/r-$store" --include '*.csv' --include cadastre.bin
	got=$(cd "$T/r-$store" && find . -type f | LC_ALL=C sort)
	assert_eq "./land/a.csv
./land/cadastre.bin
./new/n.csv" "$got" "$store: restored files"
	for f in land/a.csv land/cadastre.bin new/n.csv; do
		cmp "$SRC/$f" "$T/r-$store/$f" || fail "$store: $f differs"
	done
	[ -e "$T/r-$store/scratch" ] && fail "$store: the excluded directory was sealed"
done
log "OK"
