/* cache: the global memory cache of opened records (plaintext), keyed by record id.
 *
 * Protocol (single-flight): cache_claim() either returns a cached buffer (a new reference),
 * or makes the caller the one fetcher of that id (-EAGAIN): it must then call cache_fill()
 * with the result or cache_abandon() on failure. Other threads asking for the same id meanwhile
 * wait for that outcome instead of fetching again; after an abandon they retry the claim.
 * Bound: total bytes of cached buffers <= max_bytes; least recently used entries are evicted
 * by cache_fill. A buffer still referenced by a reader stays alive after eviction (refcount),
 * so the bound is on what the cache holds, not on what readers hold at one moment.
 * All state is guarded by cache.lock. */
#ifndef EMBASSY_CACHE_H
#define EMBASSY_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "cbuf.h"
#include "record.h"

struct cache;

struct cache *cache_new(size_t max_bytes);
void cache_free(struct cache *c);
/* 0 with *out referenced; -EAGAIN: caller must fetch and fill/abandon. */
int cache_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Never waits: like cache_claim, but -EBUSY when another thread is fetching the id. A
 * thread that holds claims must only ever use this, so two batch fetchers can never wait
 * on each other's claims (no deadlock). */
int cache_try_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Lookup without claiming: 0 with *out, or -ENOENT. */
int cache_peek(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Publish buf (the cache takes its own reference) and wake waiters. */
void cache_fill(struct cache *c, const uint8_t id[ID_LEN], struct cbuf *buf);
void cache_abandon(struct cache *c, const uint8_t id[ID_LEN]);

struct cache_stats {
	uint64_t hits, misses, evictions, bytes, entries;
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
