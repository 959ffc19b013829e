#include "par.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define POOL_MAX 16

struct par_job {
	atomic_size_t next;
	size_t n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	/* par_cpu_for only, guarded by pool.lock */
	int helpers, max_helpers;
	bool queued;
	struct par_job *qnext;
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

/* ---- the CPU pool ----
 * Jobs live on their callers' stacks. A job is on the queue while helpers may join it; a
 * helper joins under the lock (helpers++) and leaves under it (helpers--, broadcast). The
 * caller, once its own loop ran out of indices, takes the job off the queue and waits until
 * helpers is 0: after that no helper touches the job. Helpers are started lazily, and again
 * in a child after fork (the mount daemonizes after the store was opened). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work, left;
	struct par_job *head; /* lock */
	int nthreads;	      /* lock: helpers running (in this process) */
	bool atfork;	      /* lock */
} pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, false};

static void unqueue(struct par_job *j)
{
	struct par_job **pp = &pool.head;

	while (*pp && *pp != j)
		pp = &(*pp)->qnext;
	if (*pp)
		*pp = j->qnext;
	j->queued = false;
}

static void *helper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct par_job *j;

		while (!pool.head)
			pthread_cond_wait(&pool.work, &pool.lock);
		j = pool.head;
		if (++j->helpers >= j->max_helpers)
			unqueue(j);
		pthread_mutex_unlock(&pool.lock);
		par_worker(j);
		pthread_mutex_lock(&pool.lock);
		if (j->queued && atomic_load(&j->next) >= j->n)
			unqueue(j); /* nothing left to hand out */
		if (--j->helpers == 0)
			pthread_cond_broadcast(&pool.left);
	}
	return NULL;
}

static void after_fork_child(void)
{
	/* the helpers did not survive the fork; jobs of the parent's threads neither */
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.work, NULL);
	pthread_cond_init(&pool.left, NULL);
	pool.head = NULL;
	pool.nthreads = 0;
}

/* Start the helpers if there are none yet (pool.lock held). */
static void pool_start(void)
{
	int want = par_ncpu() - 1;
	sigset_t all, old;
	pthread_attr_t a;

	if (want > POOL_MAX)
		want = POOL_MAX;
	if (pool.nthreads >= want)
		return;
	if (!pool.atfork && pthread_atfork(NULL, NULL, after_fork_child) == 0)
		pool.atfork = true;
	/* signals (SIGTERM: unmount) belong to the caller's threads, never to a helper */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	while (pool.nthreads < want) {
		pthread_t t;
		if (pthread_create(&t, &a, helper, NULL) != 0)
			break;
		pool.nthreads++;
	}
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void par_cpu_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par_job j = {.n = n, .fn = fn, .ctx = ctx};

	atomic_init(&j.next, 0);
	if (n < 2 || par_ncpu() < 2) {
		par_worker(&j);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	pool_start();
	j.max_helpers = (size_t)pool.nthreads < n - 1 ? pool.nthreads : (int)(n - 1);
	if (j.max_helpers > 0) {
		struct par_job **pp = &pool.head;
		while (*pp)
			pp = &(*pp)->qnext;
		*pp = &j; /* first come, first helped */
		j.queued = true;
		if (j.max_helpers == 1)
			pthread_cond_signal(&pool.work);
		else
			pthread_cond_broadcast(&pool.work);
	}
	pthread_mutex_unlock(&pool.lock);
	par_worker(&j);
	pthread_mutex_lock(&pool.lock);
	if (j.queued)
		unqueue(&j);
	while (j.helpers > 0)
		pthread_cond_wait(&pool.left, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
}
