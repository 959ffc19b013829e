/* cache: single flight, the no-wait claim, the byte bound and LRU order. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "deadline.h"

static void mkid(uint8_t id[ID_LEN], int n)
{
	memset(id, 0, ID_LEN);
	memcpy(id, &n, sizeof(n));
	id[ID_LEN - 1] = 0x5a;
}

static struct cbuf *buf_of(size_t len, uint8_t fill)
{
	struct cbuf *b = cbuf_new(len);
	memset(b->data, fill, len);
	return b;
}

Test(cache, claim_fill_hit)
{
	struct cache *c = cache_new(1 << 20);
	struct cbuf *b, *got;
	uint8_t id[ID_LEN];
	mkid(id, 1);
	cr_assert_eq(cache_claim(c, id, &got), -EAGAIN); /* we are the fetcher */
	cr_assert_eq(cache_try_claim(c, id, &got), -EBUSY);
	cr_assert_eq(cache_peek(c, id, &got), -ENOENT);
	b = buf_of(100, 7);
	cache_fill(c, id, b);
	cbuf_unref(b);
	cr_assert_eq(cache_claim(c, id, &got), 0);
	cr_assert_eq(got->len, 100);
	cr_assert_eq(got->data[99], 7);
	cbuf_unref(got);
	cache_free(c);
}

Test(cache, abandon_lets_the_next_one_fetch)
{
	struct cache *c = cache_new(1 << 20);
	struct cbuf *got;
	uint8_t id[ID_LEN];
	mkid(id, 2);
	cr_assert_eq(cache_claim(c, id, &got), -EAGAIN);
	cache_abandon(c, id);
	cr_assert_eq(cache_try_claim(c, id, &got), -EAGAIN);
	cache_abandon(c, id);
	cache_free(c);
}

static struct cache *shared;
static atomic_int fetches;

static void *reader(void *arg)
{
	uint8_t id[ID_LEN];
	struct cbuf *got;
	(void)arg;
	mkid(id, 3);
	if (cache_claim(shared, id, &got) == -EAGAIN) {
		atomic_fetch_add(&fetches, 1);
		struct cbuf *b = buf_of(4096, 9);
		cache_fill(shared, id, b);
		cbuf_unref(b);
		return NULL;
	}
	cr_assert_eq(got->data[0], 9);
	cbuf_unref(got);
	return NULL;
}

Test(cache, single_flight_under_contention)
{
	pthread_t th[16];
	shared = cache_new(1 << 20);
	atomic_init(&fetches, 0);
	for (int i = 0; i < 16; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(atomic_load(&fetches), 1, "one fetch however many readers wait");
	cache_free(shared);
}

Test(cache, bound_and_lru)
{
	struct cache *c = cache_new(10 * 1000);
	struct cache_stats st;
	struct cbuf *got;
	uint8_t id[ID_LEN];
	for (int i = 0; i < 20; i++) {
		mkid(id, 100 + i);
		cr_assert_eq(cache_claim(c, id, &got), -EAGAIN);
		struct cbuf *b = buf_of(1000, (uint8_t)i);
		cache_fill(c, id, b);
		cbuf_unref(b);
		mkid(id, 100); /* keep the first one hot */
		if (cache_peek(c, id, &got) == 0)
			cbuf_unref(got);
	}
	cache_get_stats(c, &st);
	cr_assert_leq(st.bytes, 10 * 1000);
	cr_assert_geq(st.evictions, 10);
	mkid(id, 100);
	cr_assert_eq(cache_peek(c, id, &got), 0, "the most recently used entry survives");
	cbuf_unref(got);
	mkid(id, 101);
	cr_assert_eq(cache_peek(c, id, &got), -ENOENT, "an old, unused entry was evicted");
	cache_free(c);
}

/* ---- deadlines and remembered failures (a reader's wait is bounded) ---- */

struct waiter {
	struct cache *c;
	uint8_t id[ID_LEN];
	uint64_t budget_ms; /* 0: no deadline */
	int ret;
	uint64_t took_ms;
};

static void *wait_claim(void *arg)
{
	struct waiter *w = arg;
	struct cbuf *got = NULL;
	uint64_t t0 = deadline_now_ms();

	if (w->budget_ms)
		deadline_begin(w->budget_ms);
	w->ret = cache_claim(w->c, w->id, &got);
	w->took_ms = deadline_now_ms() - t0;
	if (!w->ret)
		cbuf_unref(got);
	deadline_set(0);
	return NULL;
}

Test(cache, a_wait_ends_at_the_waiters_deadline)
{
	struct waiter w = {.c = cache_new(1 << 20), .budget_ms = 300};
	struct cbuf *got;
	pthread_t t;

	mkid(w.id, 7);
	cr_assert_eq(cache_claim(w.c, w.id, &got), -EAGAIN); /* a fetch that never ends */
	pthread_create(&t, NULL, wait_claim, &w);
	pthread_join(t, NULL);
	cr_assert_eq(w.ret, -ETIMEDOUT);
	cr_assert_geq(w.took_ms, 290, "gave up early: %llu ms", (unsigned long long)w.took_ms);
	cr_assert_lt(w.took_ms, 10000, "the wait overran its deadline");
	/* the next waiter with a deadline gives up at once: the fetch is known to be stuck */
	w.budget_ms = 60000;
	pthread_create(&t, NULL, wait_claim, &w);
	pthread_join(t, NULL);
	cr_assert_eq(w.ret, -ETIMEDOUT);
	cr_assert_lt(w.took_ms, 10000);
	/* the fetcher's outcome is still taken */
	struct cbuf *b = buf_of(10, 1);
	cache_fill(w.c, w.id, b);
	cbuf_unref(b);
	cr_assert_eq(cache_claim(w.c, w.id, &got), 0);
	cbuf_unref(got);
	cache_free(w.c);
}

Test(cache, a_failed_fetch_answers_its_waiters_and_is_remembered)
{
	struct waiter w = {.c = cache_new(1 << 20)};
	struct cbuf *got;
	struct cache_stats st;
	pthread_t t;

	mkid(w.id, 8);
	cr_assert_eq(cache_claim(w.c, w.id, &got), -EAGAIN);
	pthread_create(&t, NULL, wait_claim, &w); /* no deadline: waits for the outcome */
	cache_abandon_err(w.c, w.id, -ECONNREFUSED);
	pthread_join(t, NULL);
	cr_assert_eq(w.ret, -ECONNREFUSED, "the waiter fetched again instead (%d)", w.ret);
	/* claims right after get the failure; try_claim too, and neither is a claim */
	cr_assert_eq(cache_claim(w.c, w.id, &got), -ECONNREFUSED);
	cr_assert_eq(cache_try_claim(w.c, w.id, &got), -ECONNREFUSED);
	cache_get_stats(w.c, &st);
	cr_assert_geq(st.failfast, 3);
	/* once the memory lapses, the next claim fetches again */
	uint64_t until = deadline_now_ms() + CACHE_FAIL_MEMO_MS + 10000;
	int r;
	while ((r = cache_try_claim(w.c, w.id, &got)) == -ECONNREFUSED) {
		cr_assert_lt(deadline_now_ms(), until, "the failure is remembered for ever");
		usleep(10000); /* polling the lapse */
	}
	cr_assert_eq(r, -EAGAIN);
	cache_abandon(w.c, w.id);
	/* an integrity failure (err 0 here) is not remembered */
	cr_assert_eq(cache_claim(w.c, w.id, &got), -EAGAIN);
	cache_abandon_err(w.c, w.id, 0);
	cr_assert_eq(cache_claim(w.c, w.id, &got), -EAGAIN);
	cache_abandon(w.c, w.id);
	cache_free(w.c);
}

/* Frames of one record are entries of their own; an offer never replaces or waits. */
Test(cache, parts_of_a_record)
{
	struct cache *c = cache_new(1 << 20);
	struct cbuf *got, *a = buf_of(100, 1), *b = buf_of(200, 2), *h = buf_of(50, 3);
	struct cache_stats st;
	uint8_t id[ID_LEN];

	mkid(id, 7);
	cr_assert_eq(cache_claim_part(c, id, 0, &got), -EAGAIN);
	cr_assert_eq(cache_try_claim_part(c, id, 1, &got), -EAGAIN, "frame 1 is its own key");
	cr_assert_eq(cache_try_claim(c, id, &got), -EAGAIN, "so is the whole record");
	cache_fill_part(c, id, 0, a);
	cache_fill_part(c, id, 1, b);
	cache_abandon(c, id);
	cr_assert_eq(cache_peek_part(c, id, 1, &got), 0);
	cr_assert_eq(got->len, 200);
	cbuf_unref(got);
	cr_assert_eq(cache_peek(c, id, &got), -ENOENT, "the abandoned whole record is not there");
	cache_offer_part(c, id, CACHE_HDR, h);
	cache_offer_part(c, id, 1, h); /* resident already: not replaced */
	cr_assert_eq(cache_peek_part(c, id, 1, &got), 0);
	cr_assert_eq(got->len, 200);
	cbuf_unref(got);
	cr_assert_eq(cache_peek_part(c, id, CACHE_HDR, &got), 0);
	cr_assert_eq(got->len, 50);
	cbuf_unref(got);
	cache_get_stats(c, &st);
	cr_assert_eq(st.entries, 3);
	cr_assert_eq(st.bytes, a->charge + b->charge + h->charge + 3 * CACHE_ENTRY_COST,
		     "bytes count the buffers' real size and the entries' overhead");
	cr_assert_geq(a->charge + b->charge + h->charge, 350);
	cbuf_unref(a);
	cbuf_unref(b);
	cbuf_unref(h);
	cache_free(c);
}

/* cache_drop_part forgets a resident entry at once (its bytes leave the bound, a reader's
 * reference stays good) and leaves a pending one to its fetcher. */
Test(cache, drop_forgets_resident_only)
{
	struct cache *c = cache_new(1 << 20);
	struct cache_stats st;
	struct cbuf *b = buf_of(1000, 3), *got;
	uint8_t id[ID_LEN];

	mkid(id, 40);
	cr_assert_eq(cache_claim_part(c, id, 5, &got), -EAGAIN);
	cache_drop_part(c, id, 5); /* pending: not ours to drop */
	cr_assert_eq(cache_try_claim_part(c, id, 5, &got), -EBUSY);
	cache_fill_part(c, id, 5, b);
	cbuf_unref(b);
	cr_assert_eq(cache_peek_part(c, id, 5, &got), 0);
	cache_get_stats(c, &st);
	cr_assert_gt(st.bytes, 0);
	cache_drop_part(c, id, 5);
	cache_drop_part(c, id, 6); /* absent: nothing happens */
	cr_assert_eq(cache_peek_part(c, id, 5, &b), -ENOENT);
	b = NULL;
	cache_get_stats(c, &st);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.dropped, 1);
	cr_assert_eq(got->len, 1000); /* still held */
	cr_assert_eq(got->data[999], 3);
	cbuf_unref(got);
	cr_assert_eq(cache_claim_part(c, id, 5, &got), -EAGAIN); /* fetched again */
	cache_abandon_part(c, id, 5);
	cache_free(c);
}

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHE_TEST_ASAN 1
#endif
#endif

/* Not in the ASan build: its allocator keeps no count of the bytes it holds (mallinfo2). */
#ifndef CACHE_TEST_ASAN
#include <malloc.h>

/* The bound is on the memory the cache holds, not on its buffers' lengths: many small
 * entries (small files, frame headers) cost malloc's header and rounding and their own
 * bookkeeping; counted by length, they held more than the bound. */
Test(cache, small_entries_bounded_by_real_memory)
{
	enum { MAX = 1 << 20, N = 20000 };
	struct cache *c;
	struct cbuf *got;
	uint8_t id[ID_LEN];
	size_t heap0, held;

	heap0 = mallinfo2().uordblks;
	c = cache_new(MAX);
	for (int i = 0; i < N; i++) {
		struct cbuf *b = buf_of(1 + (size_t)i % 24, (uint8_t)i);
		mkid(id, 1000 + i);
		cr_assert_eq(cache_claim(c, id, &got), -EAGAIN);
		cache_fill(c, id, b);
		cbuf_unref(b);
	}
	held = mallinfo2().uordblks - heap0;
	/* the table of buckets is the cache's fixed cost, not its entries' */
	held -= (1u << 14) * sizeof(void *);
	cr_assert_leq(held, (size_t)MAX, "a cache of %d bytes holds %zu bytes of heap", MAX, held);
	cache_free(c);
}
#endif
