#include "par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

struct par_job {
	atomic_size_t next;
	size_t n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void *par_worker(void *arg)
{
	struct par_job *j = arg;
	for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
		j->fn(j->ctx, i);
	return NULL;
}

void par_for(size_t n, int nthreads, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par_job j = {.n = n, .fn = fn, .ctx = ctx};
	pthread_t th[16];
	int started = 0;

	atomic_init(&j.next, 0);
	if (nthreads > 16)
		nthreads = 16;
	/* small jobs are not worth a thread */
	for (int t = 1; t < nthreads && (size_t)t < n; t++)
		if (!pthread_create(&th[started], NULL, par_worker, &j))
			started++;
	par_worker(&j);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
}

int par_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
