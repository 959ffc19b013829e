/* cache: single flight, the no-wait claim, the byte bound and LRU order. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "cache.h"

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
