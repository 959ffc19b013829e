/* cache: the global memory cache of opened records (plaintext), keyed by record id.
 *
 * Protocol (single-flight): cache_claim() either returns a cached buffer (a new reference),
 * or makes the caller the one fetcher of that id (-EAGAIN): it must then call cache_fill()
 * with the result or cache_abandon() on failure. Other threads asking for the same id meanwhile
 * wait for that outcome instead of fetching again; after an abandon they retry the claim.
 * A fetch that failed for lack of the store (cache_abandon_err) is remembered for
 * CACHE_FAIL_MEMO_MS: its waiters, and claims made meanwhile, get its error at once instead
 * of each fetching again in turn (the kernel retries a failed read once for every reader
 * queued on the page, within milliseconds: each would otherwise wait a whole --timeout
 * budget after the last). Short, so that a read made once the server is back (a restart
 * takes longer than that) fetches again.
 * Likewise a waiter whose deadline (remote/deadline.h) passes marks the pending entry, so
 * waiters arriving in the next CACHE_FAIL_MEMO_MS give up at once. At most 1024 failed
 * entries are remembered.
 * Bound: total bytes of cached buffers <= max_bytes; least recently used entries are evicted
 * by cache_fill. A buffer still referenced by a reader stays alive after eviction (refcount),
 * so the bound is on what the cache holds, not on what readers hold at one moment.
 * Keys: a record id and a part: CACHE_WHOLE for a whole record's plaintext, a frame index
 * for one frame of a framed record (crypto/frec.h), CACHE_HDR for its verified header; the
 * functions without _part use CACHE_WHOLE. A buffer counts the memory it really takes
 * (cbuf.charge: a whole pool slot, or its heap block with malloc's header and rounding, not
 * its length) + CACHE_ENTRY_COST bytes, so many small entries cannot hide their size or
 * their bookkeeping from the bound; the entries' cost is charged to cbuf's bound as well
 * (cbuf_charge), which the buffers are already in.
 * All state is guarded by cache.lock. */
#ifndef EMBASSY_CACHE_H
#define EMBASSY_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "cbuf.h"
#include "record.h"

#define CACHE_FAIL_MEMO_MS 500

struct cache;

#define CACHE_WHOLE	 REC_WHOLE
#define CACHE_HDR	 (UINT32_MAX - 1)
#define CACHE_ENTRY_COST 128 /* an entry: its block and malloc's header (96 B), rounded up */

struct cache *cache_new(size_t max_bytes);
void cache_free(struct cache *c);
/* 0 with *out referenced; -EAGAIN: caller must fetch and fill/abandon; -ETIMEDOUT: another
 * thread is fetching it and this thread's deadline (remote/deadline.h) passed meanwhile;
 * another -errno: the last fetch failed with it moments ago (see above), or -ENOMEM. */
int cache_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Never waits: like cache_claim, but -EBUSY when another thread is fetching the id (only
 * -EAGAIN is a claim: -ENOMEM or a remembered failure are not). A
 * thread that holds claims must only ever use this, so two batch fetchers can never wait
 * on each other's claims (no deadlock). */
int cache_try_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Lookup without claiming: 0 with *out, or -ENOENT. */
int cache_peek(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out);
/* Publish buf (the cache takes its own reference) and wake waiters. */
void cache_fill(struct cache *c, const uint8_t id[ID_LEN], struct cbuf *buf);
void cache_abandon(struct cache *c, const uint8_t id[ID_LEN]);
/* Abandon after a failure to reach the store (err: -ETIMEDOUT, -ECONNREFUSED, -EIO…):
 * remembered as above. err 0 is cache_abandon. */
void cache_abandon_err(struct cache *c, const uint8_t id[ID_LEN], int err);

/* The same for one part of a record. */
int cache_claim_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf **out);
int cache_try_claim_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part,
			 struct cbuf **out);
int cache_peek_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf **out);
void cache_fill_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf *buf);
void cache_abandon_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part);
void cache_abandon_err_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, int err);
/* Insert buf unless the key is resident or being fetched (no claim needed): for what a
 * fetcher learns on the way, like a framed record's header. */
void cache_offer_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf *buf);
/* Forget a resident entry now (its buffer lives on while readers hold it): for what its
 * reader will not ask for again, like the frames a sequential reader has been given. An
 * entry being fetched, or absent, is left alone. */
void cache_drop_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part);

struct cache_stats {
	uint64_t hits, misses, evictions, bytes, entries;
	uint64_t failfast; /* claims answered with a remembered failure or a given-up wait */
	uint64_t dropped;  /* entries forgotten by cache_drop_part */
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
