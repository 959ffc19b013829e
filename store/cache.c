#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"

#define FAILED_MAX 1024 /* failed entries remembered at most (cache_abandon_err) */

/* An entry is resident (buf != NULL, on the LRU list), pending (buf == NULL, fail_err == 0:
 * one thread is fetching it) or failed (buf == NULL, fail_err != 0: the last fetch failed;
 * until fail_until, claims get fail_err instead of fetching again). A pending entry whose
 * waiter gave up at its deadline has fail_until set too: later waiters give up at once. */
struct entry {
	uint8_t id[ID_LEN];
	uint32_t part;
	struct cbuf *buf;
	int fail_err;
	uint64_t fail_until;	   /* deadline_now_ms() time */
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU list, most recent at head */
};

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t done; /* broadcast when a pending entry resolves */
	/* all below guarded by lock */
	struct entry **table;
	size_t nbuckets;
	struct entry lru; /* sentinel */
	size_t bytes, max_bytes;
	size_t nfailed; /* failed entries */
	struct cache_stats st;
};

static size_t bucket(const struct cache *c, const uint8_t id[ID_LEN], uint32_t part)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));		     /* ids are uniformly random already */
	h ^= (uint64_t)part * 0x9e3779b97f4a7c15ull; /* a record's frames spread out */
	return (h ^ h >> 29) & (c->nbuckets - 1);
}

struct cache *cache_new(size_t max_bytes)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nbuckets = 1u << 14;
	c->table = calloc(c->nbuckets, sizeof(*c->table));
	if (!c->table) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* waits end by deadline.h's clock */
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	c->lru.prev = c->lru.next = &c->lru;
	c->max_bytes = max_bytes;
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct entry *e = c->table[i], *n; e; e = n) {
			n = e->hnext;
			if (e->buf)
				cbuf_charge(-(ptrdiff_t)CACHE_ENTRY_COST);
			cbuf_unref(e->buf);
			free(e);
		}
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->done);
	free(c);
}

static struct entry *find(struct cache *c, const uint8_t id[ID_LEN], uint32_t part)
{
	for (struct entry *e = c->table[bucket(c, id, part)]; e; e = e->hnext)
		if (e->part == part && !memcmp(e->id, id, ID_LEN))
			return e;
	return NULL;
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct cache *c, struct entry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void remove_entry(struct cache *c, struct entry *e)
{
	struct entry **pp = &c->table[bucket(c, e->id, e->part)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->fail_err)
		c->nfailed--;
	if (e->buf) {
		lru_unlink(e);
		c->bytes -= e->buf->charge + CACHE_ENTRY_COST;
		cbuf_charge(-(ptrdiff_t)CACHE_ENTRY_COST);
		c->st.entries--;
		cbuf_unref(e->buf);
	}
	free(e);
}

static void evict(struct cache *c)
{
	while (c->bytes > c->max_bytes && c->lru.prev != &c->lru) {
		remove_entry(c, c->lru.prev);
		c->st.evictions++;
	}
}

int cache_peek_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf **out)
{
	int ret = -ENOENT;
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id, part);
	if (e && e->buf) {
		lru_unlink(e);
		lru_push(c, e);
		*out = cbuf_ref(e->buf);
		c->st.hits++;
		ret = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* One wait for a pending entry to resolve: until the thread's deadline (deadline.h) if it
 * has one. ETIMEDOUT once that has passed. */
static int wait_done(struct cache *c)
{
	uint64_t until = deadline_get();
	struct timespec ts;

	if (!until)
		return pthread_cond_wait(&c->done, &c->lock);
	if (deadline_now_ms() >= until)
		return ETIMEDOUT;
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000;
	return pthread_cond_timedwait(&c->done, &c->lock, &ts);
}

/* A failed entry: its error while the memory of it lasts, else it becomes the caller's
 * claim (-EAGAIN). */
static int claim_failed(struct cache *c, struct entry *e)
{
	if (deadline_now_ms() < e->fail_until) {
		c->st.failfast++;
		return e->fail_err;
	}
	e->fail_err = 0;
	e->fail_until = 0;
	c->nfailed--;
	c->st.misses++;
	return -EAGAIN;
}

static int claim(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf **out,
		 bool wait)
{
	int ret;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct entry *e = find(c, id, part);
		if (e && e->buf) {
			lru_unlink(e);
			lru_push(c, e);
			*out = cbuf_ref(e->buf);
			c->st.hits++;
			ret = 0;
			break;
		}
		if (e && e->fail_err) {
			ret = claim_failed(c, e);
			break;
		}
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e) {
				ret = -ENOMEM;
				break;
			}
			memcpy(e->id, id, ID_LEN);
			e->part = part;
			e->hnext = c->table[bucket(c, id, part)];
			c->table[bucket(c, id, part)] = e;
			c->st.misses++;
			ret = -EAGAIN;
			break;
		}
		if (!wait) {
			ret = -EBUSY;
			break;
		}
		/* someone else is fetching it: wait, at most until this thread's deadline; when
		 * another waiter just gave up on this fetch, so does this one */
		if (e->fail_until > deadline_now_ms() || wait_done(c) == ETIMEDOUT) {
			e = find(c, id, part);
			if (e && !e->buf && !e->fail_err && deadline_get())
				e->fail_until = deadline_now_ms() + CACHE_FAIL_MEMO_MS;
			c->st.failfast++;
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int cache_claim_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf **out)
{
	return claim(c, id, part, out, true);
}

int cache_try_claim_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part,
			 struct cbuf **out)
{
	return claim(c, id, part, out, false);
}

static void make_resident(struct cache *c, struct entry *e, struct cbuf *buf)
{
	e->buf = cbuf_ref(buf);
	lru_push(c, e);
	c->bytes += buf->charge + CACHE_ENTRY_COST;
	cbuf_charge(CACHE_ENTRY_COST);
	c->st.entries++;
	evict(c);
}

void cache_fill_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf *buf)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id, part);
	if (e && !e->buf && !e->fail_err)
		make_resident(c, e, buf);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

void cache_offer_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, struct cbuf *buf)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	if (!find(c, id, part) && (e = calloc(1, sizeof(*e))) != NULL) {
		memcpy(e->id, id, ID_LEN);
		e->part = part;
		e->hnext = c->table[bucket(c, id, part)];
		c->table[bucket(c, id, part)] = e;
		make_resident(c, e, buf);
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_abandon_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part)
{
	cache_abandon_err_part(c, id, part, 0);
}

/* Forget failed entries whose memory has lapsed, to make room for new ones. */
static void sweep_failed(struct cache *c, uint64_t now)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct entry *e = c->table[i], *n; e; e = n) {
			n = e->hnext;
			if (e->fail_err && e->fail_until <= now)
				remove_entry(c, e);
		}
}

void cache_abandon_err_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part, int err)
{
	uint64_t now = deadline_now_ms();

	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id, part);
	if (e && !e->buf && !e->fail_err) {
		if (err && c->nfailed >= FAILED_MAX)
			sweep_failed(c, now);
		if (err && c->nfailed < FAILED_MAX) {
			e->fail_err = err;
			e->fail_until = now + CACHE_FAIL_MEMO_MS;
			c->nfailed++;
		} else {
			remove_entry(c, e);
		}
	}
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

void cache_drop_part(struct cache *c, const uint8_t id[ID_LEN], uint32_t part)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id, part);
	if (e && e->buf) {
		remove_entry(c, e);
		c->st.dropped++;
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	out->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}

/* ---- whole records ---- */

int cache_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out)
{
	return claim(c, id, CACHE_WHOLE, out, true);
}

int cache_try_claim(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out)
{
	return claim(c, id, CACHE_WHOLE, out, false);
}

int cache_peek(struct cache *c, const uint8_t id[ID_LEN], struct cbuf **out)
{
	return cache_peek_part(c, id, CACHE_WHOLE, out);
}

void cache_fill(struct cache *c, const uint8_t id[ID_LEN], struct cbuf *buf)
{
	cache_fill_part(c, id, CACHE_WHOLE, buf);
}

void cache_abandon(struct cache *c, const uint8_t id[ID_LEN])
{
	cache_abandon_part(c, id, CACHE_WHOLE);
}

void cache_abandon_err(struct cache *c, const uint8_t id[ID_LEN], int err)
{
	cache_abandon_err_part(c, id, CACHE_WHOLE, err);
}
