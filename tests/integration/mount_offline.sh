#!/usr/bin/env bash
# label: mount
# mount_offline.sh — `mount --offline`: once a mount has read a store, a later mount opens it
# with no store at all (the store directory is moved away): the descriptor, key entries,
# manifests and head come from the metadata mirror, file data from the disk cache; what was
# never read fails with EIO (never an empty file); trust checks still apply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mount_lib.sh"

SRC=$T/src STORE=$T/store CACHE=$T/cache MNT=$T/mnt
mkdir -p "$SRC/registers"
head -c 3000000 /dev/urandom >"$SRC/registers/population.bin"
head -c 2000000 /dev/urandom >"$SRC/registers/cadastre.bin"
echo "read me later" >"$SRC/registers/never-read.txt"
em_init "$STORE" >/dev/null
em_seal "$STORE" "$SRC" >/dev/null

# 1. online: read one file fully (it lands in the disk cache), list everything
em_mount "$STORE" "$MNT" --cache-dir "$CACHE"
cmp "$MNT/latest/registers/population.bin" "$SRC/registers/population.bin" ||
	fail "online read differs"
ls -lR "$MNT/latest/" >/dev/null
unmount "$MNT"

# 2. the store is gone: --offline still mounts and serves what was read
mv "$STORE" "$T/store.away"
rc=0
"$EMBASSY" mount "$STORE" "$MNT" --passphrase-file "$PASSFILE" --cache-dir "$CACHE" \
	2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a mount without --offline of a missing store succeeded"
em_mount "$STORE" "$MNT" --cache-dir "$CACHE" --offline
cmp "$MNT/latest/registers/population.bin" "$SRC/registers/population.bin" ||
	fail "offline read of a cached file differs"
[ "$(ls "$MNT/latest/registers" | wc -l)" = 3 ] || fail "offline listing is not complete"
[ "$(stat -c %s "$MNT/latest/registers/never-read.txt")" = 14 ] || fail "offline size wrong"
rc=0
cat "$MNT/latest/registers/never-read.txt" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "an uncached file read offline did not fail"
grep -q "Input/output error" "$T/err" || fail "uncached offline read: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "an uncached file showed content offline"
touch "$MNT/latest/x" 2>/dev/null && fail "offline mount is writable"
unmount "$MNT"
mv "$T/store.away" "$STORE"
log "ok - offline mount: cached data reads, uncached data EIO, listings complete"
