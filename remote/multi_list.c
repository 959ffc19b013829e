/* multi_list: listings of a store served by several embassies are the union over the mirrors
 * that answer (a lagging mirror lacks names, it never hides one another mirror has).
 *
 * keys/ is asked of every mirror at once (a thread each, each within its slice, as
 * multi_fan.c reads the head): it is read at every open, so a slow or dead mirror costs one
 * slice there, not one per mirror in turn. It is small (a handful of entries): each mirror's
 * names are held until all have answered, then handed over in mirror order; a mirror listing
 * more than AT_ONCE_MAX names (only a hostile host does) sends the listing back to the
 * streamed way. The other listings (snapshots/, packs/, index/: long) are streamed from one
 * mirror after another: a caller that stops early stops us. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

static int list_streamed(struct multi *mu, const char *prefix,
			 int (*cb)(void *ctx, const char *key), void *ctx)
{
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

/* ---- keys/: every mirror at once ---- */

#define AT_ONCE_MAX 10000 /* names held per mirror (keyadmin.h's KEY_NAMES_MAX) */

struct fan_list {
	struct multi *mu; /* read only here */
	size_t i;
	const char *prefix;
	uint64_t deadline; /* the caller's: the slice ends by it */
	char **v;	   /* the names mirror i listed */
	size_t n, cap;
	bool overflow, nomem;
	int ret;
};

static int hold_name(void *arg, const char *key)
{
	struct fan_list *f = arg;

	if (f->n == AT_ONCE_MAX) {
		f->overflow = true;
		return -E2BIG;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		char **v = realloc(f->v, cap * sizeof(*v));
		if (!v) {
			f->nomem = true;
			return -ENOMEM;
		}
		f->v = v;
		f->cap = cap;
	}
	if (!(f->v[f->n] = strdup(key))) {
		f->nomem = true;
		return -ENOMEM;
	}
	f->n++;
	return 0;
}

static void *list_one(void *arg)
{
	struct fan_list *f = arg;
	struct member *m = &f->mu->m[f->i];
	uint64_t old = deadline_set(f->deadline);

	deadline_begin(multi_slice_ms(f->mu));
	f->ret = m->ops->list(m->be, f->prefix, hold_name, f);
	deadline_set(old);
	return NULL;
}

/* f[0..k) listed together; the last on this thread (and one whose thread cannot start). */
static void fan_out(struct fan_list *f, size_t k)
{
	pthread_t th[MULTI_MAX];
	bool started[MULTI_MAX] = {false};

	for (size_t j = 0; j < k; j++) {
		started[j] = j + 1 < k && pthread_create(&th[j], NULL, list_one, &f[j]) == 0;
		if (!started[j])
			list_one(&f[j]);
	}
	for (size_t j = 0; j < k; j++)
		if (started[j])
			pthread_join(th[j], NULL);
}

/* The mirrors that are up, at once; when none of them answers, those cooling down (at once
 * too). 1 when the listing is to be streamed instead (fewer than two mirrors up, or one
 * listed too many names); else 0 with *answered and *err, f[0..*k) filled. */
static int ask_at_once(struct multi *mu, const char *prefix, struct fan_list *f, size_t *k)
{
	size_t order[MULTI_MAX], n = multi_order_for(mu, NULL, order), nup = 0, ndown = 0;
	size_t down[MULTI_MAX], answered = 0;
	uint64_t now = deadline_now_ms();

	pthread_mutex_lock(&mu->lock);
	for (size_t j = 0; j < n; j++) {
		if (mpick_is_down(&mu->pick, order[j], now))
			down[ndown++] = order[j];
		else
			order[nup++] = order[j];
	}
	pthread_mutex_unlock(&mu->lock);
	if (nup < 2)
		return 1;
	for (size_t j = 0; j < n; j++)
		f[j] = (struct fan_list){.mu = mu,
					 .i = j < nup ? order[j] : down[j - nup],
					 .prefix = prefix,
					 .deadline = deadline_get()};
	fan_out(f, nup);
	for (size_t j = 0; j < nup; j++)
		answered += f[j].ret == 0;
	*k = nup;
	if (!answered && ndown) {
		fan_out(f + nup, ndown);
		*k = n;
	}
	for (size_t j = 0; j < *k; j++)
		if (f[j].overflow)
			return 1;
	return 0;
}

static int list_at_once(struct multi *mu, const char *prefix, int (*cb)(void *ctx, const char *key),
			void *ctx)
{
	struct fan_list f[MULTI_MAX];
	struct list_ctx l = {.cb = cb, .ctx = ctx};
	size_t k = 0, answered = 0;
	int err = 0, stream = ask_at_once(mu, prefix, f, &k);

	for (size_t j = 0; j < k && !stream && !l.stop; j++) {
		if (f[j].nomem) {
			l.stop = -ENOMEM;
		} else if (f[j].ret == 0) {
			answered++;
			for (size_t t = 0; t < f[j].n && !l.stop; t++)
				list_cb(&l, f[j].v[t]);
		} else if (multi_account(mu, f[j].i, NULL, f[j].ret, 0, 0) == MULTI_STOP) {
			l.stop = f[j].ret;
		} else {
			err = multi_worse(err, f[j].ret);
		}
	}
	for (size_t j = 0; j < k; j++) {
		for (size_t t = 0; t < f[j].n; t++)
			free(f[j].v[t]);
		free(f[j].v);
	}
	seen_free(&l.seen);
	if (stream)
		return list_streamed(mu, prefix, cb, ctx);
	if (l.stop)
		return l.stop;
	return answered ? 0 : err;
}

int multi_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	struct multi *mu = be;

	if (strcmp(prefix, "keys/") == 0)
		return list_at_once(mu, prefix, cb, ctx);
	return list_streamed(mu, prefix, cb, ctx);
}
