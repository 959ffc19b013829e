#include "cbuf.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLOTS_PER_SLAB 32
/* malloc's bookkeeping per block beyond malloc_usable_size (glibc: one size word, and the
 * block is aligned to 16) */
#define MALLOC_HDR 16

/* The pool: slabs of SLOTS_PER_SLAB data slots (page-aligned, so madvise frees whole slots)
 * and their headers, malloc'd apart. Free headers are on one of two lists threaded through
 * pnext: resident (pages in memory, reused first) and given back (madvised). Slabs are never
 * unmapped. All below guarded by pool_lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cbuf *free_res, *free_gone;
static size_t n_in_use;
static atomic_size_t n_free_res; /* read without the lock by heap_grew */
static size_t bound = CBUF_POOL_KEEP;
/* Bytes of live buffers outside the pool (small files' frames, trees, headers), at their
 * real size: they share the memory cache with the slots, so they count against the bound
 * too. */
static atomic_size_t heap_bytes;
/* Bytes charged by cbuf_charge (iobufs, the cache's entries); changed by signed amounts
 * (modular arithmetic on a size_t: the sum is never negative). */
static atomic_size_t other_bytes;
/* Heap buffers of many sizes (small files' frames) freed in cache order leave holes between
 * live ones, and the allocator keeps those pages (it returns only the top of the heap): the
 * bound above counts live heap bytes, so without this the freed holes stayed resident beside
 * a pool grown back into the room they left (rsync of the bench set: 198 MiB heap + 200 MiB
 * pool at a 288 MiB bound). Every CBUF_TRIM_EVERY bytes freed, the free pages go back.
 * Until then they are as resident as the buffers were, so the bound counts them still (it
 * did not: up to CBUF_TRIM_EVERY of freed heap beside a pool grown into its room). */
static atomic_size_t freed_since_trim;
static atomic_flag trimming = ATOMIC_FLAG_INIT;

/* Would one more resident slot exceed the bound? (pool_lock held) */
static bool over_bound(size_t more)
{
	return (n_in_use + n_free_res + more) * (size_t)CBUF_SLOT_LEN + atomic_load(&heap_bytes) +
		   atomic_load(&freed_since_trim) + atomic_load(&other_bytes) >
	       bound;
}

/* Give free resident slots back until within the bound (pool_lock held). */
static void shed(void)
{
	while (free_res && over_bound(0)) {
		struct cbuf *b = free_res;
		free_res = b->pnext;
		n_free_res--;
		madvise(b->data, CBUF_SLOT_LEN, MADV_DONTNEED);
		b->pnext = free_gone;
		free_gone = b;
	}
}

/* A slab on a 2 MiB boundary, backed by one huge page where the kernel allows it: the
 * decryptor writes a slot that has usually been out of the CPU's caches for a while (the
 * cache's least recently used frame), and on 4 KiB pages each of those writes paid a TLB
 * miss per page too (perf: a third of ChaCha20's time on the first store into a slot). */
static uint8_t *slab_map(void)
{
	size_t len = (size_t)CBUF_SLOT_LEN * SLOTS_PER_SLAB, lead;
	uint8_t *p =
	    mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	lead = (len - (uintptr_t)p % len) % len;
	if (lead)
		munmap(p, lead);
	munmap(p + lead + len, len - lead);
	p += lead;
	madvise(p, len, MADV_HUGEPAGE);
	/* populated at once: one call instead of a page fault per page (a fresh slot is
	 * written by the decryptor right away) */
	madvise(p, len, MADV_POPULATE_WRITE);
	return p;
}

static int pool_grow(void)
{
	uint8_t *slab = slab_map();
	struct cbuf *h;

	if (!slab)
		return -1;
	h = calloc(SLOTS_PER_SLAB, sizeof(*h));
	if (!h) {
		munmap(slab, (size_t)CBUF_SLOT_LEN * SLOTS_PER_SLAB);
		return -1;
	}
	for (size_t i = SLOTS_PER_SLAB; i-- > 0;) {
		h[i].pooled = 1;
		h[i].data = slab + i * CBUF_SLOT_LEN;
		h[i].pnext = free_res;
		free_res = &h[i];
		n_free_res++;
	}
	return 0;
}

static struct cbuf *pool_get(void)
{
	struct cbuf *b = NULL;

	pthread_mutex_lock(&pool_lock);
	if (!free_res && !free_gone)
		pool_grow(); /* a fresh slab's slots are resident */
	if (free_res) {
		b = free_res;
		free_res = b->pnext;
		n_free_res--;
	} else if (free_gone) {
		b = free_gone;
		free_gone = b->pnext;
	}
	if (b)
		n_in_use++;
	pthread_mutex_unlock(&pool_lock);
	return b;
}

static void pool_put(struct cbuf *b)
{
	pthread_mutex_lock(&pool_lock);
	n_in_use--;
	if (!over_bound(1)) {
		b->pnext = free_res;
		free_res = b;
		n_free_res++;
	} else { /* past the bound: its pages go back to the kernel, the slot stays */
		madvise(b->data, CBUF_SLOT_LEN, MADV_DONTNEED);
		b->pnext = free_gone;
		free_gone = b;
	}
	pthread_mutex_unlock(&pool_lock);
}

void cbuf_pool_bound(size_t bytes)
{
	pthread_mutex_lock(&pool_lock);
	bound = bytes;
	shed(); /* a lower bound takes effect at once */
	pthread_mutex_unlock(&pool_lock);
}

size_t cbuf_pool_resident(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = n_in_use + n_free_res;
	pthread_mutex_unlock(&pool_lock);
	return n * CBUF_SLOT_LEN;
}

size_t cbuf_charged(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = (n_in_use + n_free_res) * (size_t)CBUF_SLOT_LEN + atomic_load(&heap_bytes) +
	    atomic_load(&freed_since_trim) + atomic_load(&other_bytes);
	pthread_mutex_unlock(&pool_lock);
	return n;
}

/* Free slots make room for what was charged when the bound is reached (checked without the
 * lock first: most of the time there is nothing to do). */
static void make_room(void)
{
	if (atomic_load(&n_free_res) == 0)
		return;
	pthread_mutex_lock(&pool_lock);
	shed();
	pthread_mutex_unlock(&pool_lock);
}

void cbuf_charge(ptrdiff_t bytes)
{
	atomic_fetch_add(&other_bytes, (size_t)bytes);
	if (bytes > 0)
		make_room();
}

/* The heap block of a buffer outside the pool: what it really takes. */
static size_t heap_charge(void *block)
{
	return malloc_usable_size(block) + MALLOC_HDR;
}

static void heap_grew(struct cbuf *b)
{
	b->charge = heap_charge(b);
	atomic_fetch_add(&heap_bytes, b->charge);
	make_room();
}

/* A heap buffer was freed: its bytes stay counted (freed_since_trim) until the trim that
 * gives them back; what is freed during the trim waits for the next one. */
static void heap_shrank(size_t len)
{
	size_t freed;

	atomic_fetch_sub(&heap_bytes, len);
	if (atomic_fetch_add(&freed_since_trim, len) + len < CBUF_TRIM_EVERY ||
	    atomic_flag_test_and_set(&trimming))
		return;
	freed = atomic_load(&freed_since_trim);
	malloc_trim(0);
	atomic_fetch_sub(&freed_since_trim, freed);
	atomic_flag_clear(&trimming);
}

struct cbuf *cbuf_new(size_t len)
{
	struct cbuf *b;

	if (len == CBUF_SLOT_LEN) {
		b = pool_get();
		if (b) {
			atomic_init(&b->refs, 1);
			b->len = len;
			b->charge = CBUF_SLOT_LEN;
			return b;
		}
	}
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->pooled = 0;
	b->len = len;
	b->data = (uint8_t *)(b + 1);
	heap_grew(b);
	return b;
}

struct cbuf *cbuf_from(uint8_t *p, size_t len)
{
	struct cbuf *b = cbuf_new(len);
	if (b)
		memcpy(b->data, p, len);
	free(p);
	return b;
}

struct cbuf *cbuf_adopt(uint8_t *block, size_t len)
{
	struct cbuf *b = (struct cbuf *)(void *)block;
	atomic_init(&b->refs, 1);
	b->pooled = 0;
	b->len = len;
	b->data = block + CBUF_ROOM;
	heap_grew(b);
	return b;
}

struct cbuf *cbuf_ref(struct cbuf *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void cbuf_unref(struct cbuf *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	if (b->pooled) {
		pool_put(b);
	} else {
		size_t charge = b->charge;
		free(b);
		heap_shrank(charge);
	}
}
