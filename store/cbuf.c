#include "cbuf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLOT	       (offsetof(struct cbuf, data) + CBUF_SLOT_LEN)
#define SLOT_STRIDE    ((SLOT + 4095) / 4096 * 4096) /* page-aligned: madvise frees whole slots */
#define SLOTS_PER_SLAB 32

/* The pool: free slots in a list threaded through them. Slabs are never unmapped (a slot's
 * address must stay valid while it is on the list). Guarded by pool_lock. */
struct free_slot {
	struct free_slot *next;
	uint8_t resident; /* its pages are in memory (not given back with madvise) */
};
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_slot *free_head; /* pool_lock: resident slots first, then given-back ones */
static size_t free_resident;	    /* pool_lock */

static struct cbuf *pool_get(void)
{
	struct free_slot *s;

	pthread_mutex_lock(&pool_lock);
	if (!free_head) {
		uint8_t *slab = mmap(NULL, SLOT_STRIDE * SLOTS_PER_SLAB, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slab == MAP_FAILED) {
			pthread_mutex_unlock(&pool_lock);
			return NULL;
		}
		for (size_t i = SLOTS_PER_SLAB; i-- > 0;) {
			s = (struct free_slot *)(void *)(slab + i * SLOT_STRIDE);
			s->next = free_head;
			s->resident = 0;
			free_head = s;
		}
	}
	s = free_head;
	free_head = s->next;
	if (s->resident)
		free_resident--;
	pthread_mutex_unlock(&pool_lock);
	return (struct cbuf *)(void *)s;
}

static void pool_put(struct cbuf *b)
{
	struct free_slot *s = (struct free_slot *)(void *)b;
	bool keep;

	pthread_mutex_lock(&pool_lock);
	keep = free_resident < CBUF_POOL_KEEP / SLOT_STRIDE;
	if (!keep) /* past the bound: its pages go back to the kernel, the slot stays */
		madvise(s, SLOT_STRIDE, MADV_DONTNEED);
	s->resident = keep;
	free_resident += keep;
	s->next = free_head;
	free_head = s;
	pthread_mutex_unlock(&pool_lock);
}

struct cbuf *cbuf_new(size_t len)
{
	struct cbuf *b;

	if (len == CBUF_SLOT_LEN) {
		b = pool_get();
		if (b) {
			atomic_init(&b->refs, 1);
			b->pooled = 1;
			b->len = len;
			return b;
		}
	}
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->pooled = 0;
	b->len = len;
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
	if (b->pooled)
		pool_put(b);
	else
		free(b);
}
