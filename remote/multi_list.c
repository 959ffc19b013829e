/* multi_list: listings of a store served by several embassies are the union over the mirrors
 * that answer (a lagging mirror lacks names, it never hides one another mirror has),
 * streamed: a caller that stops early stops us. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "multi_int.h"

struct seen {
	char **v; /* open addressing; NULL: free */
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/* 1 if key is new (now recorded), 0 if seen, -ENOMEM */
static int seen_add(struct seen *s, const char *key)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct seen g = {calloc(s->cap ? 2 * s->cap : 256, sizeof(char *)),
				 s->cap ? 2 * s->cap : 256, 0};
		if (!g.v)
			return -ENOMEM;
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->v[j])
				continue;
			for (i = hash_str(s->v[j]) % g.cap; g.v[i]; i = (i + 1) % g.cap)
				;
			g.v[i] = s->v[j];
			g.n++;
		}
		free(s->v);
		*s = g;
	}
	for (i = hash_str(key) % s->cap; s->v[i]; i = (i + 1) % s->cap)
		if (strcmp(s->v[i], key) == 0)
			return 0;
	if (!(s->v[i] = strdup(key)))
		return -ENOMEM;
	s->n++;
	return 1;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
}

struct list_ctx {
	struct seen seen;
	int (*cb)(void *ctx, const char *key);
	void *ctx;
	int stop; /* the caller's non-zero answer, or -ENOMEM */
	size_t names;
};

static int list_cb(void *arg, const char *key)
{
	struct list_ctx *l = arg;
	int r = seen_add(&l->seen, key);

	if (r <= 0) { /* another mirror named it already (0), or out of memory */
		l->stop = r;
		return r;
	}
	l->names++;
	l->stop = l->cb(l->ctx, key);
	return l->stop;
}

int multi_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	struct multi *mu = be;
	struct list_ctx l = {.cb = cb, .ctx = ctx};
	size_t order[MULTI_MAX], k = multi_order_for(mu, NULL, order), answered = 0;
	int err = 0;

	for (size_t j = 0; j < k && !l.stop; j++) {
		struct member *m = &mu->m[order[j]];
		uint64_t t0 = multi_now_us(), old;
		int ret;

		/* a mirror cooling down is asked only when none has answered */
		pthread_mutex_lock(&mu->lock);
		bool down = mpick_is_down(&mu->pick, order[j], deadline_now_ms());
		pthread_mutex_unlock(&mu->lock);
		if (down && answered)
			continue;
		old = j + 1 < k ? deadline_begin(multi_slice_ms(mu)) : deadline_get();
		ret = m->ops->list(m->be, prefix, list_cb, &l);
		deadline_set(old);
		if (l.stop)
			break;
		if (ret == 0) /* not measured: a listing's time says little of a read's */
			answered++;
		else if (multi_account(mu, order[j], NULL, ret, multi_now_us() - t0, 0) ==
			 MULTI_STOP)
			l.stop = ret;
		else
			err = multi_worse(err, ret);
	}
	seen_free(&l.seen);
	if (l.stop)
		return l.stop;
	return answered ? 0 : err;
}
