#!/usr/bin/env bash
# label: mount
# mount_offline.sh — `mount --offline`: once a mount has read a store, a later mount opens it
# with no store at all (the store directory is moved away): the descriptor, key entries,
# manifests and head come from the metadata mirror, file data from the disk cache; what was
# never read fails with EIO (never an empty file); trust checks still apply. And without
# --cache-dir, a relative XDG_CACHE_HOME (ignored, as the XDG specification asks) gives the
# mirror the same absolute place as the disk cache, whatever the daemon's cwd was.
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

# 3. default cache place, relative XDG_CACHE_HOME, mounted from one directory, offline from
# another: the mirror is beside the disk cache under $HOME/.cache/embassy, not under the cwd
# (--cache-size: a store in a local directory gets a disk cache only when asked for one)
mkdir -p "$T/home" "$T/cwd1" "$T/cwd2"
(cd "$T/cwd1" && HOME=$T/home XDG_CACHE_HOME=relcache em_mount "$STORE" "$MNT" --cache-size 1G)
cmp "$MNT/latest/registers/cadastre.bin" "$SRC/registers/cadastre.bin" || fail "read differs"
unmount "$MNT"
[ ! -e "$T/cwd1/relcache" ] || fail "a relative XDG_CACHE_HOME was used: $(find "$T/cwd1" | head -3)"
ls "$T/home/.cache/embassy/meta"/*/* >/dev/null 2>&1 ||
	fail "no metadata mirror beside the disk cache in $T/home/.cache/embassy"
mv "$STORE" "$T/store.away"
(cd "$T/cwd2" && HOME=$T/home XDG_CACHE_HOME=relcache em_mount "$STORE" "$MNT" --offline) ||
	fail "offline mount from another directory found no mirror"
cmp "$MNT/latest/registers/cadastre.bin" "$SRC/registers/cadastre.bin" ||
	fail "offline read of a cached file differs"
unmount "$MNT"
mv "$T/store.away" "$STORE"
log "ok - the mirror and the disk cache agree on their place, whatever the cwd"

# 4. a cached record whose body rotted (its header, the only part the cache checksums, is
# intact): the store's AEAD check refuses it and the entry is dropped. Offline (no other copy)
# the read fails with EIO, never shows the rotten bytes; online the record is fetched again.
ENTRY=$(find "$CACHE" -type f -size +100k -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
[ -n "$ENTRY" ] || fail "no cached record in $CACHE"
rm -f "$ENTRY".* # its frames cached on their own (format 2): the rotten copy is the only one
printf '\xff\x00\xff\x00' | dd of="$ENTRY" bs=1 seek=4096 conv=notrunc status=none
mv "$STORE" "$T/store.away"
em_mount "$STORE" "$MNT" --cache-dir "$CACHE" --offline
rc=0
cat "$MNT/latest/registers/population.bin" >"$T/out" 2>"$T/err" || rc=$?
unmount "$MNT"
mv "$T/store.away" "$STORE"
[ "$rc" -ne 0 ] || fail "a rotten cache entry was read offline ($(cmp "$T/out" "$SRC/registers/population.bin" 2>&1 || true))"
grep -q "Input/output error" "$T/err" || fail "rotten entry offline: $(cat "$T/err")"
[ ! -e "$ENTRY" ] || fail "the rotten entry was kept"
em_mount "$STORE" "$MNT" --cache-dir "$CACHE"
cmp "$MNT/latest/registers/population.bin" "$SRC/registers/population.bin" ||
	fail "the record was not fetched again"
unmount "$MNT"
log "ok - a rotten cache entry is refused by the store's check, dropped and fetched again"
