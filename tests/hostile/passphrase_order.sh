#!/bin/bash
# label: hostile
# The order in which passphrase entries are tried is defined (FORMAT.md 15, step 2): the
# first 8 "keys/pass-*" names in byte order, whatever order the host lists them in. Attack: a
# host that lists keys/ in reverse order (over WebDAV, where the server chooses the order),
# with nine passphrase entries of which the reader's sorts first: listing order would try it
# ninth, i.e. never ("wrong passphrase", exit 4) — a denial of service by reordering.
. "$(dirname "$0")/hostile_lib.bash"

make_store
for i in $(seq 1 8); do
	printf 'other passphrase %d\n' "$i" >"$T/pass$i"
	chmod 600 "$T/pass$i"
	expect_rc 0 em key add "$STORE" --sealer-key "$SEALER" --passphrase-file "$T/pass$i" \
		--kdf-memory 8 --kdf-ops 1
done
# the reader's entry (init's) gets the smallest name; names are not authenticated anyway
python3 - "$STORE" <<'PY'
import os, sys
d = os.path.join(sys.argv[1], "keys")
names = sorted((os.stat(os.path.join(d, n)).st_mtime_ns, n) for n in os.listdir(d) if n.startswith("pass-"))
first = names[0][1]  # written by init, before every key add
os.rename(os.path.join(d, first), os.path.join(d, "pass-0000000000000000"))
PY
[ -e "$STORE/keys/pass-0000000000000000" ] || fail "renaming init's entry"
[ "$(ls "$STORE/keys" | grep -c '^pass-')" -eq 9 ] || fail "nine passphrase entries expected"

start_bg python3 "$(dirname "$0")/evilhttp.py" --root "$STORE" --log "$T/http.log" >"$T/port"
wait_until 20 grep -q '^PORT ' "$T/port"
PORT=$(awk '{print $2}' "$T/port")

log "sorted listing: the first entry opens"
expect_rc 0 em_read cat "http://127.0.0.1:$PORT/good-all/" latest:docs/a.txt
assert_files_eq "$SRC/docs/a.txt" "$T/out"
log "reversed listing: still the first 8 by name are tried, ours first"
expect_rc 0 em_read cat "http://127.0.0.1:$PORT/reversed-all/" latest:docs/a.txt
assert_files_eq "$SRC/docs/a.txt" "$T/out"
assert_grep '9 passphrase entries listed: only the first 8 by name are tried' "$T/err" \
	"the skipped entry is announced"
log "a passphrase whose entry sorts ninth is not tried, in any listing order"
LAST=$(ls "$STORE/keys" | grep '^pass-' | sort | tail -1)
for i in $(seq 1 8); do
	run em_read ls "$STORE" latest --passphrase-file "$T/pass$i" --state-dir "$T/p$i"
	if [ "$RC" -ne 0 ]; then NINTH=$i; fi
done
[ -n "${NINTH:-}" ] || fail "no passphrase was left untried ($LAST sorts last)"
expect_rc 4 em_read ls "http://127.0.0.1:$PORT/reversed-all/" latest --passphrase-file "$T/pass$NINTH"
finish
