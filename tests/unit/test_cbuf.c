/* cbuf: pool slots are reused and stay resident up to the bound, never beyond it (plus one
 * fresh slab); par_cpu_for runs every index once, for concurrent and nested callers. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "iobuf.h"
#include "par.h"

#define SLAB (32u * CBUF_SLOT_LEN) /* cbuf.c: slots per slab */

Test(cbuf, slot_reused_resident)
{
	struct cbuf *a = cbuf_new(CBUF_SLOT_LEN), *b;
	uint8_t *p = a->data;

	cr_assert(a->pooled);
	memset(a->data, 0x11, CBUF_SLOT_LEN);
	cbuf_unref(a);
	b = cbuf_new(CBUF_SLOT_LEN);
	cr_assert_eq(b->data, p, "a freed slot within the bound is the next one handed out");
	cbuf_unref(b);
}

Test(cbuf, slots_distinct_and_bounded)
{
	enum { N = 200 };
	struct cbuf *b[N];

	cbuf_pool_bound(64u * CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++) {
		b[i] = cbuf_new(CBUF_SLOT_LEN);
		cr_assert_not_null(b[i]);
		memset(b[i]->data, i, CBUF_SLOT_LEN);
	}
	/* every slot kept its own bytes: no two buffers share memory */
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < CBUF_SLOT_LEN; j += 4093)
			cr_assert_eq(b[i]->data[j], (uint8_t)i);
	cr_assert_geq(cbuf_pool_resident(), (size_t)N * CBUF_SLOT_LEN, "slots in use count");
	for (int i = 0; i < N; i++)
		cbuf_unref(b[i]);
	cr_assert_leq(cbuf_pool_resident(), 64u * CBUF_SLOT_LEN + SLAB,
		      "free slots beyond the bound go back: %zu", cbuf_pool_resident());
	cr_assert_geq(cbuf_pool_resident(), 63u * CBUF_SLOT_LEN, "within the bound they stay");
	/* a lower bound gives the excess back at once */
	cbuf_pool_bound(8u * CBUF_SLOT_LEN);
	cr_assert_leq(cbuf_pool_resident(), 8u * CBUF_SLOT_LEN);
	/* a slot given back reads as zeros or its old bytes, and works again */
	struct cbuf *c = cbuf_new(CBUF_SLOT_LEN);
	memset(c->data, 0x5a, CBUF_SLOT_LEN);
	cr_assert_eq(c->data[CBUF_SLOT_LEN - 1], 0x5a);
	cbuf_unref(c);
}

Test(cbuf, other_sizes_and_adopt)
{
	struct cbuf *a = cbuf_new(100), *b;
	uint8_t *block = malloc(CBUF_ROOM + 10), *p;

	cr_assert(!a->pooled);
	memset(a->data, 7, 100);
	cr_assert_eq(a->data, (uint8_t *)(a + 1));
	b = cbuf_ref(a);
	cbuf_unref(a);
	cr_assert_eq(b->data[99], 7, "a reference keeps it alive");
	cbuf_unref(b);
	memcpy(block + CBUF_ROOM, "0123456789", 10);
	b = cbuf_adopt(block, 10);
	cr_assert_eq(memcmp(b->data, "0123456789", 10), 0);
	cbuf_unref(b);
	p = malloc(5);
	memcpy(p, "abcde", 5);
	b = cbuf_from(p, 5);
	cr_assert_eq(memcmp(b->data, "abcde", 5), 0);
	cbuf_unref(b);
}

/* ---- par_cpu_for ---- */

struct count {
	size_t n;
	atomic_int *seen;
	int nested; /* > 0: each index runs a par_cpu_for of its own */
};

static atomic_int nested_bad; /* helpers do not assert (Criterion asserts on its thread) */

static void count_one(void *ctx, size_t i)
{
	struct count *c = ctx;

	atomic_fetch_add(&c->seen[i], 1);
	if (c->nested) {
		atomic_int inner[8] = {0};
		struct count in = {.n = 8, .seen = inner};
		par_cpu_for(8, count_one, &in);
		for (int k = 0; k < 8; k++)
			if (atomic_load(&inner[k]) != 1)
				atomic_fetch_add(&nested_bad, 1);
	}
}

static void run_count(size_t n, int nested)
{
	atomic_int *seen = calloc(n ? n : 1, sizeof(*seen));
	struct count c = {.n = n, .seen = seen, .nested = nested};

	par_cpu_for(n, count_one, &c);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(atomic_load(&seen[i]), 1, "index %zu of %zu ran %d times", i, n,
			     atomic_load(&seen[i]));
	cr_assert_eq(atomic_load(&nested_bad), 0, "a nested call missed or repeated indices");
	free(seen);
}

Test(par, every_index_once)
{
	for (size_t n = 0; n < 40; n++)
		run_count(n, 0);
	run_count(10000, 0);
	run_count(64, 1);
}

static atomic_int caller_bad;

static void *caller(void *arg)
{
	(void)arg;
	for (int r = 0; r < 200; r++) {
		size_t n = 1 + (size_t)r % 37;
		atomic_int seen[37] = {0};
		struct count c = {.n = n, .seen = seen, .nested = r % 5 == 0};
		par_cpu_for(n, count_one, &c);
		for (size_t i = 0; i < n; i++)
			if (atomic_load(&seen[i]) != 1)
				atomic_fetch_add(&caller_bad, 1);
	}
	return NULL;
}

Test(par, concurrent_callers)
{
	pthread_t t[8];

	for (int i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, caller, NULL), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&caller_bad), 0);
	cr_assert_eq(atomic_load(&nested_bad), 0);
}

Test(cbuf, heap_buffers_count_against_the_bound)
{
	enum { N = 64 };
	struct cbuf *b[N], *big;

	cbuf_pool_bound((size_t)N * CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++)
		b[i] = cbuf_new(CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++)
		cbuf_unref(b[i]);
	cr_assert_geq(cbuf_pool_resident(), (size_t)(N - 1) * CBUF_SLOT_LEN);
	/* half the bound in buffers outside the pool (small files, trees): free slots make room */
	big = cbuf_new((size_t)N / 2 * CBUF_SLOT_LEN);
	cr_assert(!big->pooled);
	cr_assert_leq(cbuf_pool_resident(), (size_t)N / 2 * CBUF_SLOT_LEN,
		      "free slots stay resident beside %zu bytes of heap buffers: %zu", big->len,
		      cbuf_pool_resident());
	/* and a slot freed while they live is given back, not kept */
	b[0] = cbuf_new(CBUF_SLOT_LEN);
	cbuf_unref(b[0]);
	cr_assert_leq(cbuf_pool_resident(), (size_t)N / 2 * CBUF_SLOT_LEN);
	cbuf_unref(big);
}

#if defined(__SANITIZE_ADDRESS__)
#define CBUF_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CBUF_TEST_ASAN 1
#endif
#endif

/* Not registered in the ASan build (clang defines no __SANITIZE_ADDRESS__; gcc does): ASan
 * replaces malloc and keeps freed memory in quarantine, so what this checks (glibc giving
 * freed pages back after cbuf's malloc_trim) does not exist there. */
#ifndef CBUF_TEST_ASAN
/* Resident set size of this process, bytes. */
static size_t rss_now(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &pages, &res), 2);
	fclose(f);
	return (size_t)res * 4096;
}

/* Small files' frames freed in cache order leave holes between the live ones; the heap must
 * give their pages back (the pool's bound counts only live heap buffers). */
Test(cbuf, freed_heap_buffers_leave_the_rss)
{
	enum { N = 8192, LEN = 12000, KEEP = 64 }; /* 94 MiB of small frames, 1 in 64 kept */
	struct cbuf **b = calloc(N, sizeof(*b));
	size_t before, peak, after;

	cr_assert_not_null(b);
	before = rss_now();
	for (int i = 0; i < N; i++) {
		b[i] = cbuf_new(LEN);
		cr_assert_not_null(b[i]);
		memset(b[i]->data, 0x5a, LEN);
	}
	peak = rss_now();
	cr_assert_geq(peak, before + (size_t)N * LEN / 2);
	for (int i = 0; i < N; i++)
		if (i % KEEP)
			cbuf_unref(b[i]);
	after = rss_now();
	/* live: N / KEEP buffers (1.5 MiB), each pinning at most its own and a neighbour's page
	 * run; what is left beyond that and one trim interval is the freed holes */
	cr_assert_leq(after, before + CBUF_TRIM_EVERY + (size_t)N / KEEP * 3 * LEN,
		      "the freed heap buffers stayed resident: %zu KiB before, %zu at the peak, "
		      "%zu after freeing 63 of 64",
		      before >> 10, peak >> 10, after >> 10);
	for (int i = 0; i < N; i += KEEP)
		cbuf_unref(b[i]);
	free(b);
}
#endif

/* The accounting below is checked against malloc's own count of the bytes it holds, which
 * ASan's allocator does not keep (mallinfo2 reads zero there). */
#ifndef CBUF_TEST_ASAN

static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* A small file's frame costs malloc's header and rounding on top of its bytes: counted at
 * its length, 20,000 small files' buffers held more than the bound said (a mount's RSS above
 * its memory cache + 64 MiB under rsync). Buffers of 1-16 KiB and tiny ones (headers). */
Test(cbuf, heap_buffers_charged_at_their_real_size)
{
	enum { N = 4096 };
	struct cbuf **b = calloc(N, sizeof(*b));
	size_t heap0, charged0, len = 0;

	cr_assert_not_null(b);
	cbuf_pool_bound(SIZE_MAX / 2);
	heap0 = heap_in_use();
	charged0 = cbuf_charged();
	for (int i = 0; i < N; i++) {
		size_t n = i % 2 ? 1 + (size_t)i * 7919 % 16384 : 1 + (size_t)i % 200;
		b[i] = cbuf_new(n);
		cr_assert_not_null(b[i]);
		cr_assert_geq(b[i]->charge, n);
		len += n;
	}
	cr_assert_geq(cbuf_charged() - charged0, heap_in_use() - heap0,
		      "buffers of %zu bytes were charged %zu and took %zu bytes of heap", len,
		      cbuf_charged() - charged0, heap_in_use() - heap0);
	for (int i = 0; i < N; i++)
		cbuf_unref(b[i]);
	/* freed: counted until the heap gives the pages back (at most one trim interval) */
	cr_assert_leq(cbuf_charged(), charged0 + CBUF_TRIM_EVERY,
		      "every charge released with its buffer or its trim");
	free(b);
}

/* Heap buffers freed but not yet given back by a trim are still resident: the pool must not
 * grow back into their room (it did: the freed holes beside a full pool). */
Test(cbuf, freed_heap_counts_until_trimmed)
{
	enum { N = 256, H = 350, LEN = 12000 }; /* 16 MiB of slots; 4 MiB of heap freed */
	struct cbuf *b[N], *h[H];

	cr_assert_lt((size_t)H * LEN, CBUF_TRIM_EVERY, "no trim in between");
	cbuf_pool_bound((size_t)N * CBUF_SLOT_LEN);
	for (int i = 0; i < H; i++)
		h[i] = cbuf_new(LEN);
	for (int i = 0; i < H; i++)
		cbuf_unref(h[i]);
	for (int i = 0; i < N; i++)
		b[i] = cbuf_new(CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++)
		cbuf_unref(b[i]);
	cr_assert_leq(cbuf_pool_resident(), (size_t)N * CBUF_SLOT_LEN - (size_t)H * LEN,
		      "%zu bytes of slots kept beside %zu bytes of freed, untrimmed heap",
		      cbuf_pool_resident(), (size_t)H * LEN);
	cr_assert_leq(cbuf_charged(), (size_t)N * CBUF_SLOT_LEN);
}

/* Ciphertext buffers (iobuf.h) are resident memory beside the cached frames: they share the
 * bound, so free slots are given back to make room for them. */
Test(cbuf, iobufs_share_the_bound)
{
	enum { N = 64 };
	struct cbuf *b[N];
	size_t cap;
	uint8_t *io;

	cbuf_pool_bound((size_t)N * CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++)
		b[i] = cbuf_new(CBUF_SLOT_LEN);
	for (int i = 0; i < N; i++)
		cbuf_unref(b[i]);
	cr_assert_geq(cbuf_pool_resident(), (size_t)(N - 1) * CBUF_SLOT_LEN);
	io = iobuf_get((size_t)N / 2 * CBUF_SLOT_LEN, &cap);
	cr_assert_not_null(io);
	memset(io, 1, cap);
	cr_assert_leq(cbuf_charged(), (size_t)N * CBUF_SLOT_LEN,
		      "%zu bytes of slots stay beside a %zu-byte ciphertext buffer",
		      cbuf_pool_resident(), cap);
	cr_assert_leq(cbuf_pool_resident(), (size_t)N * CBUF_SLOT_LEN - cap);
	/* a kept buffer is still resident, still charged; an unmapped one is not */
	iobuf_put(io, cap);
	cr_assert_geq(cbuf_charged(), cap);
}
#endif
