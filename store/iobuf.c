/* iobuf: see iobuf.h. */
#include "iobuf.h"

#include <pthread.h>
#include <sys/mman.h>

#include "cbuf.h"

#define GRAIN	 (64u << 10) /* sizes are rounded up to this: fewer distinct sizes to reuse */
#define BIG	 (1u << 20)  /* and above this, to whole MiB (chunks vary: 256 KiB … 4 MiB) */
#define MAX_FREE 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint8_t *p;
	size_t cap;
} free_list[MAX_FREE];		 /* lock */
static size_t nfree, free_bytes; /* lock */

uint8_t *iobuf_get(size_t len, size_t *cap)
{
	size_t grain = len > BIG ? BIG : GRAIN;
	size_t want = (len + grain - 1) / grain * grain, best = MAX_FREE;
	uint8_t *p = NULL;

	if (want == 0)
		want = GRAIN;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nfree; i++) /* the smallest free buffer that fits */
		if (free_list[i].cap >= want &&
		    (best == MAX_FREE || free_list[i].cap < free_list[best].cap))
			best = i;
	if (best < MAX_FREE) {
		p = free_list[best].p;
		*cap = free_list[best].cap;
		free_bytes -= *cap;
		free_list[best] = free_list[--nfree];
	}
	pthread_mutex_unlock(&lock);
	if (p)
		return p;
	/* populated at once: one call instead of a page fault per page as it is filled */
	p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	*cap = want;
	/* it shares the memory cache's bound with the frames (cbuf.h) while it is mapped */
	cbuf_charge((ptrdiff_t)want);
	return p;
}

void iobuf_put(uint8_t *p, size_t cap)
{
	if (!p)
		return;
	pthread_mutex_lock(&lock);
	/* keep it, making room by unmapping smaller free buffers if the bound needs it */
	while (nfree && (nfree == MAX_FREE || free_bytes + cap > IOBUF_KEEP)) {
		size_t small = 0;
		for (size_t i = 1; i < nfree; i++)
			if (free_list[i].cap < free_list[small].cap)
				small = i;
		if (free_list[small].cap >= cap)
			break;
		munmap(free_list[small].p, free_list[small].cap);
		cbuf_charge(-(ptrdiff_t)free_list[small].cap);
		free_bytes -= free_list[small].cap;
		free_list[small] = free_list[--nfree];
	}
	if (nfree < MAX_FREE && free_bytes + cap <= IOBUF_KEEP) {
		free_list[nfree].p = p;
		free_list[nfree++].cap = cap;
		free_bytes += cap;
		p = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (p) {
		munmap(p, cap);
		cbuf_charge(-(ptrdiff_t)cap);
	}
}
