#!/bin/bash
# label: hostile
# Attack 11: strings the host chooses — a Location header, a PROPFIND href, an S3 key (sent
# as "&#27;" in XML, so the decoder itself makes the control bytes) — carry terminal control
# sequences (ESC ] 0 ; title BEL, ESC [ 2 J). Every one of them is printed in an error line;
# none may reach the terminal raw: the logger escapes them (\033, \a) wherever host bytes
# are printed, and the command still fails cleanly.
. "$(dirname "$0")/hostile_lib.bash"

make_store
start_bg python3 "$(dirname "$0")/evilhttp.py" --root "$STORE" --log "$T/http.log" >"$T/port"
wait_until 20 grep -q '^PORT ' "$T/port"
PORT=$(awk '{print $2}' "$T/port")

# clean_err WHAT: stderr holds the escaped form of the host's string, never the raw bytes
clean_err() {
	no_crash "$1"
	[ "$RC" -eq 7 ] || [ "$RC" -eq 8 ] || { cat -v "$T/err" >&2; fail "$1: exit $RC, want 7 or 8"; }
	! grep -q $'\x1b' "$T/err" || { cat -v "$T/err" >&2; fail "$1: a raw ESC reached the terminal"; }
	! grep -q $'\x07' "$T/err" || { cat -v "$T/err" >&2; fail "$1: a raw BEL reached the terminal"; }
	grep -qF "$2" "$T/err" || { cat -v "$T/err" >&2; fail "$1: the escaped string is not shown"; }
	grep -q '^embassy: error: ' "$T/err" || fail "$1: no error line"
}

log "a redirect whose Location is a terminal escape sequence"
run timeout 60 "$EMBASSY" cat --passphrase-file "$PASSFILE" --timeout 10 \
	"http://127.0.0.1:$PORT/evilloc-packs/" latest:data/victim.bin
clean_err Location 'http://x/\033]0;pwned\a\033[2J'
[ ! -s "$T/out" ] || fail "Location: printed data"

log "a PROPFIND href outside the store, holding &#27; and &#7;"
run timeout 60 "$EMBASSY" snapshots --passphrase-file "$PASSFILE" --timeout 10 \
	"http://127.0.0.1:$PORT/evilhref-all/"
clean_err href "/elsewhere/\\033]0;pwned\\a"

log "an S3 listing naming a key outside the prefix, holding &#27; and &#7;"
run env AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test timeout 60 "$EMBASSY" snapshots \
	--passphrase-file "$PASSFILE" --timeout 10 --s3-endpoint "http://127.0.0.1:$PORT/s3keys-all" \
	s3://bucket/
clean_err 'S3 key' '\033[2J\033]0;pwned\a'

finish
