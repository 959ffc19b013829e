#!/usr/bin/env bash
# label: local
# sanitizer: no (ASan's shadow memory and quarantine inflate the RSS this test bounds: 263 MiB there; the plain build checks the bound)
# restore_memory.sh — a restore's memory does not grow with the data restored: 192 MiB of
# distinct, compressible chunks (a small store, quick to seal) come back byte for byte with
# a peak RSS under 160 MiB (issue 11's bound). Before the restore shrank the store's memory
# cache, every opened chunk stayed in it up to 256 MiB: this restore peaked at ~220 MiB.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time: scripts/deps.sh --test)"

STORE=$T/store
SRC=$T/src
RSS_LIMIT_KB=$((160 * 1024))
mkdir -p "$SRC/reg"
# every chunk differs (the numbers grow) yet zstd packs them ~4:1: the cache would hold the
# plaintext, the store holds ~50 MiB
seq -f 'record %012.0f of the population register, status active' 1 3300000 >"$SRC/reg/big.csv"
[ "$(stat -c %s "$SRC/reg/big.csv")" -gt $((180 << 20)) ] || fail "the source is too small"
printf 'small\n' >"$SRC/reg/small.txt"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$SRC" -q

set +e
timeout "$(load_scaled 300)" /usr/bin/time -f '%M' -o "$T/rss" \
	"$EMBASSY" restore "$STORE" latest "$T/r" --passphrase-file "$PASSFILE" >"$T/out" 2>"$T/err"
RC=$?
set -e
RSS_KB=$(tail -1 "$T/rss" 2>/dev/null || true)
[[ "$RSS_KB" =~ ^[0-9]+$ ]] || fail "no max RSS measured (exit $RC: $(head -3 "$T/err"))"
log "restore: exit $RC, max RSS $((RSS_KB / 1024)) MiB"
[ "$RC" -eq 0 ] || fail "the restore failed (exit $RC): $(head -5 "$T/err")"
cmp "$SRC/reg/big.csv" "$T/r/reg/big.csv" || fail "big.csv differs"
cmp "$SRC/reg/small.txt" "$T/r/reg/small.txt" || fail "small.txt differs"
[ "$RSS_KB" -le "$RSS_LIMIT_KB" ] ||
	fail "the restore of $(($(stat -c %s "$SRC/reg/big.csv") >> 20)) MiB peaked at $((RSS_KB / 1024)) MiB"
log "OK"
