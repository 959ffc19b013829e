/* multi_fan: one object from every mirror at once. What is read from each mirror at open
 * (the head pointer; the descriptor and a key entry when the copy first read does not
 * verify) is asked of all mirrors together, one thread each, so a slow or dead mirror costs
 * its own slice of the budget once, not one slice per mirror in turn. */
#include <pthread.h>
#include <stdbool.h>

#include "deadline.h"
#include "multi.h"
#include "remote.h"

struct fan {
	void *be;
	size_t i;
	const char *key;
	size_t max_len;
	uint64_t deadline; /* the caller's: each mirror's slice ends by it */
	struct remote_copy *out;
};

static void *fan_one(void *arg)
{
	struct fan *f = arg;
	uint64_t old = deadline_set(f->deadline);

	f->out->ret = multi_get_from(f->be, f->i, f->key, f->max_len, &f->out->data, &f->out->n);
	deadline_set(old);
	return NULL;
}

void multi_get_all(void *be, const char *key, size_t max_len, struct remote_copy *out)
{
	size_t n = multi_count(be);
	struct fan f[MULTI_MAX];
	pthread_t th[MULTI_MAX];
	bool started[MULTI_MAX] = {false};

	for (size_t i = 0; i < n; i++) {
		f[i] = (struct fan){be, i, key, max_len, deadline_get(), &out[i]};
		/* the last one on this thread; one whose thread cannot start, too (in turn) */
		started[i] = i + 1 < n && pthread_create(&th[i], NULL, fan_one, &f[i]) == 0;
		if (!started[i])
			fan_one(&f[i]);
	}
	for (size_t i = 0; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}
