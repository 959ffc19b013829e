/* diskcache: the persistent on-disk cache of *ciphertext* records used by the mount.
 * store_fetch consults it (through struct store_fetch_hook) before the network and opens a
 * record from it exactly like one from the network (AEAD + id check), so the cache holds
 * nothing secret and needs no crypto; it only has to tell a complete entry from a torn one.
 *
 * Layout: <dir>/<store id hex>/<xx>/<64 hex of record id> for a whole record, and
 * <…>/<64 hex>.<n> for frame n of a framed record (format 2: the record's header followed by
 * that frame, so one frame can be verified and opened alone), xx = the id's first byte (256
 * fan-out subdirs, all created at open). Stores never share a subdirectory. Directories are
 * created 0700; a cache or store directory owned by another user or writable by group/others
 * is refused (-EPERM), since whoever can write there can make every mount refetch forever.
 *
 * Entry file: a 32-byte header, then the record bytes:
 *   magic "EMBDC01\0" (8) | length, u32 LE (4) | part, u32 LE (4) | BLAKE2b-128 (16)
 * part = 0 for a whole record, n + 1 for frame n; the checksum covers record id ‖ length
 * (‖ part, for a frame) only (hashing every record would double a read's crypto work). A file
 * whose size, magic, part or checksum does not match is torn (kill -9, full disk, bit rot in
 * the header): get() deletes it, counts it in `torn` and reports a miss. A record body that
 * rotted with its header intact is handed to the store, whose AEAD check fails on it; the
 * store then calls drop and fetches the record (or frame) again (test_diskcache:
 * flipped_content_is_dropped_by_the_store).
 *
 * Protocol:
 *  - put: the record is written to "<xx>/.tmp.*" outside the lock (no fsync: a torn entry
 *    after a power cut is caught by the size and checksum, or by the store's AEAD check, so
 *    durability would buy nothing), then renamed onto its final name under the lock. A
 *    crash leaves at worst a stray temp file, which the next open removes. An id already
 *    cached is not rewritten (ids name content).
 *  - get: looks the id up in the in-memory index under the lock (a miss costs no syscall),
 *    then reads and checks the file outside it, and touches its mtime so recency survives a
 *    remount. Returns a malloc'd copy, or -ENOENT on a miss or a torn entry.
 *  - drop: the store calls it when a cached record fails authentication; the entry is
 *    deleted so the next fetch goes to the network.
 *  Renames and unlinks happen under the lock so the index and the directory never disagree
 *  within one process; file contents are read and written outside it, so a slow put does
 *  not hold up readers.
 *
 * Bound: the total size of the entries (header + record, not filesystem block rounding)
 * stays <= max_bytes. put() evicts least recently used entries (in-memory LRU list, touched
 * on every hit) right after inserting, before returning; open() evicts too if the directory
 * already holds more (e.g. max_bytes lowered). The LRU order at open is rebuilt from the
 * files' mtimes. Records larger than max_bytes are not cached. In-flight temp files (one per
 * concurrent put) are outside the bound.
 *
 * Sharing: one process per store cache directory (an flock on "<store>/lock"); a second open
 * gets -EBUSY, because two independent indexes would break the bound and the temp-file
 * cleanup. Within a process all calls are thread-safe. */
#ifndef EMBASSY_DISKCACHE_H
#define EMBASSY_DISKCACHE_H
#include <stdint.h>

#include "store.h"

#define DISKCACHE_DEFAULT_MAX (2ull << 30) /* what callers pass unless told otherwise */

struct diskcache;

struct diskcache_stats {
	uint64_t hits, misses;	 /* get() outcomes; a torn entry is also a miss */
	uint64_t puts;		 /* entries written */
	uint64_t evictions;	 /* entries removed to keep the bound */
	uint64_t torn;		 /* entries found torn (at get or open) and deleted */
	uint64_t drops;		 /* entries deleted because the store rejected them */
	uint64_t bytes, entries; /* current totals */
};

/* How long diskcache_open waits for the cache lock held by another process (a mount that is
 * ending) before -EBUSY. */
extern int diskcache_lock_wait_ms;

/* Open (creating as needed) the cache of one store. dir NULL: $XDG_CACHE_HOME/embassy, else
 * $HOME/.cache/embassy. store_id_hex: lower-case hex, at most 64 chars. Scans the existing
 * entries (sizes and mtimes only: contents are checked on use) and removes stray temp files.
 * Errors: -EINVAL bad store id or no usable default dir, -EPERM unsafe ownership or mode,
 * -EBUSY another process keeps this store's cache open, other -errno from the filesystem. */
int diskcache_open(const char *dir, const char *store_id_hex, uint64_t max_bytes,
		   struct diskcache **out);
void diskcache_close(struct diskcache *dc);
/* The hook to hand to store_set_fetch_hook; valid until diskcache_close. */
struct store_fetch_hook *diskcache_hook(struct diskcache *dc);
void diskcache_get_stats(struct diskcache *dc, struct diskcache_stats *out);

#endif
