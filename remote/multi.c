/* multi: a backend over several backends, one logical store served by several embassies
 * ("URL1,URL2,...": the same store, brought up to date by `embassy copy`).
 *
 * Objects are immutable under their names and authenticated by the store layer, so any
 * mirror may serve any object: a read goes to the mirror expected to answer fastest
 * (mpick: measured cost, failures cool a mirror down) and, when that mirror lacks the object
 * or fails, to the next, until one answers. A mirror is asked within a slice of the budget
 * (slice_ms) while others remain, so a dead one costs a fraction of the budget, once per
 * cool-down, never the whole.
 *
 * What this layer cannot check (it holds no key), the store layer does and reports back:
 *   - bytes that fail verification: remote_reject(key) names the mirror that served key to
 *     this thread last (a thread-local note); that mirror is skipped for that object from
 *     then on, and the reject returns 1 while another mirror may still serve it, so the
 *     caller reads it again.
 *   - the head pointer, the one mutable object: the store asks every mirror for it
 *     (multi_get_from), verifies each and serves the newest that verifies; a mirror with an
 *     older head (lagging or rolled back) is reported, never served as current
 *     (store/store_heads.c). A plain get of the head here still goes to one mirror.
 * Listings are the union over the mirrors that answer (multi_list.c); the choice of mirror
 * is multi_pick.c's.
 * Writes are refused (-EROFS): a store has one writer, at one address. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "log.h"
#include "multi_int.h"
#include "remote.h"

#define SERVED_MAX 64 /* per thread: which mirror served the last keys */

/* ---- the backend ---- */

struct served {
	const struct multi *mu;
	char key[KEY_LEN];
	size_t idx;
};
/* This thread's last reads: remote_reject comes on the thread that read the bytes. */
static _Thread_local struct served served_ring[SERVED_MAX];
static _Thread_local unsigned served_next;

uint64_t multi_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void note_served(const struct multi *mu, const char *key, size_t i)
{
	struct served *s;

	if (strlen(key) >= KEY_LEN)
		return;
	s = &served_ring[served_next++ % SERVED_MAX];
	s->mu = mu;
	s->idx = i;
	snprintf(s->key, KEY_LEN, "%s", key);
}

/* Mirrors whose bytes of key failed verification (a bit each); caller holds the lock. */
static uint32_t bad_mask_locked(const struct multi *mu, const char *key)
{
	uint32_t mask = 0;

	for (size_t j = 0; j < mu->nbad && j < BAD_MAX; j++)
		if (strcmp(mu->bad[j].key, key) == 0)
			mask |= mu->bad[j].mask;
	return mask;
}

size_t multi_order_for(struct multi *mu, const char *key, size_t order[MULTI_MAX])
{
	size_t k;

	pthread_mutex_lock(&mu->lock);
	k = mpick_order(&mu->pick, deadline_now_ms(), key ? bad_mask_locked(mu, key) : 0, order);
	pthread_mutex_unlock(&mu->lock);
	return k;
}

uint64_t multi_slice_ms(const struct multi *mu)
{
	uint64_t s = mu->timeout_ms / 4;

	return s < 2000 ? 2000 : s > 15000 ? 15000 : s;
}

enum multi_outcome multi_account(struct multi *mu, size_t i, const char *key, int ret, uint64_t us,
				 uint64_t bytes)
{
	struct member *m = &mu->m[i];
	bool was_down;

	if (ret == 0) {
		atomic_fetch_add(&m->gets, 1);
		atomic_fetch_add(&m->bytes, bytes);
		pthread_mutex_lock(&mu->lock);
		mpick_ok(&mu->pick, i, us, bytes);
		pthread_mutex_unlock(&mu->lock);
		if (key)
			note_served(mu, key, i);
		return MULTI_OK;
	}
	if (ret == -EINVAL || ret == -ENOMEM)
		return MULTI_STOP; /* ours, not the mirror's: another would answer the same */
	if (ret == -ENOENT) {
		atomic_fetch_add(&m->missing, 1);
		return MULTI_NEXT;
	}
	if (ret == -EBADMSG) { /* a reply no honest server sends: not for this object again */
		atomic_fetch_add(&m->rejected, 1);
		remote_log("mirror %s: bad reply for %s: reading it from another", m->name,
			   key ? key : "a listing");
		return MULTI_NEXT;
	}
	atomic_fetch_add(&m->failures, 1);
	pthread_mutex_lock(&mu->lock);
	was_down = mpick_is_down(&mu->pick, i, deadline_now_ms());
	mpick_fail(&mu->pick, i, deadline_now_ms());
	pthread_mutex_unlock(&mu->lock);
	if (!was_down)
		remote_log("mirror %s failed (%s): reading from the others", m->name,
			   strerror(-ret));
	return MULTI_NEXT;
}

/* A transport failure says most (the object may exist), then a bad reply, then "missing
 * everywhere". */
int multi_worse(int have, int ret)
{
	if (have == 0)
		return ret;
	if (have == -ENOENT || (have == -EBADMSG && ret != -ENOENT))
		return ret;
	return have;
}

static bool is_down(struct multi *mu, size_t i)
{
	bool down;

	pthread_mutex_lock(&mu->lock);
	down = mpick_is_down(&mu->pick, i, deadline_now_ms());
	pthread_mutex_unlock(&mu->lock);
	return down;
}

typedef int (*call_fn)(struct member *m, void *arg, uint64_t *bytes);

/* Ask the mirrors in order until one answers. */
static int run(struct multi *mu, const char *key, call_fn call, void *arg)
{
	size_t order[MULTI_MAX], k = multi_order_for(mu, key, order);
	int err = 0;

	if (k == 0)
		return -EBADMSG; /* every mirror's bytes of key failed verification */
	for (size_t j = 0; j < k; j++) {
		uint64_t bytes = 0, t0 = multi_now_us(), old;
		int ret;

		/* Missing at the mirrors that answered, and the rest failed a moment ago: missing.
		 * (Asking a dead mirror with what is left of the budget made an optional object,
		 * roots/ of a store without a root document, fail the open with one mirror down.)
		 */
		if (err == -ENOENT && is_down(mu, order[j]))
			continue;
		old = j + 1 < k ? deadline_begin(multi_slice_ms(mu)) : deadline_get();
		ret = call(&mu->m[order[j]], arg, &bytes);
		deadline_set(old);
		switch (multi_account(mu, order[j], key, ret, multi_now_us() - t0, bytes)) {
		case MULTI_OK:
			return 0;
		case MULTI_STOP:
			return ret;
		case MULTI_NEXT:
			err = multi_worse(err, ret);
		}
	}
	return err;
}

struct get_arg {
	const char *key;
	uint64_t off, len;
	size_t max_len;
	uint8_t **data;
	size_t *n;
	uint8_t *buf; /* get_into */
};

static int call_get(struct member *m, void *arg, uint64_t *bytes)
{
	struct get_arg *a = arg;
	int ret;

	*a->data = NULL;
	*a->n = 0;
	ret = m->ops->get(m->be, a->key, a->off, a->len, a->max_len, a->data, a->n);
	if (ret) {
		free(*a->data);
		*a->data = NULL;
		*a->n = 0;
	}
	*bytes = *a->n;
	return ret;
}

static int mu_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		  uint8_t **data, size_t *n)
{
	struct get_arg a = {key, off, len, max_len, data, n, NULL};

	return run(be, key, call_get, &a);
}

static int call_get_into(struct member *m, void *arg, uint64_t *bytes)
{
	struct get_arg *a = arg;
	uint8_t *d = NULL;
	size_t n = 0;
	int ret;

	if (m->ops->get_into) {
		ret = m->ops->get_into(m->be, a->key, a->off, a->len, a->buf);
	} else {
		ret = m->ops->get(m->be, a->key, a->off, a->len, a->len, &d, &n);
		if (!ret && n != a->len)
			ret = -EBADMSG; /* never short data */
		if (!ret)
			memcpy(a->buf, d, n);
		free(d);
	}
	*bytes = ret ? 0 : a->len;
	return ret;
}

static int mu_get_into(void *be, const char *key, uint64_t off, uint64_t len, uint8_t *buf)
{
	struct get_arg a = {.key = key, .off = off, .len = len, .buf = buf};

	return run(be, key, call_get_into, &a);
}

struct stat_arg {
	const char *key;
	uint64_t *size;
};

static int call_stat(struct member *m, void *arg, uint64_t *bytes)
{
	struct stat_arg *a = arg;

	*bytes = 0;
	return m->ops->stat(m->be, a->key, a->size);
}

static int mu_stat(void *be, const char *key, uint64_t *size)
{
	struct stat_arg a = {key, size};

	return run(be, key, call_stat, &a);
}

/* Requests of a batch still unanswered, asked of the next mirror (each may have its own
 * skip set: a mirror is not asked for an object whose bytes from it failed). */
static int many_round(struct multi *mu, struct remote_req *reqs, size_t n, size_t i, bool last,
		      const bool *todo, int *err)
{
	struct member *m = &mu->m[i];
	struct remote_req *sub = calloc(n, sizeof(*sub));
	size_t *at = calloc(n, sizeof(*at)), k = 0;
	uint64_t t0 = multi_now_us(), bytes = 0, old;
	int ret = -ENOMEM, first = 0;

	if (!sub || !at)
		goto out;
	for (size_t q = 0; q < n; q++) {
		if (!todo[q])
			continue;
		sub[k] =
		    (struct remote_req){.key = reqs[q].key, .off = reqs[q].off, .len = reqs[q].len};
		at[k++] = q;
	}
	old = last ? deadline_get() : deadline_begin(multi_slice_ms(mu));
	if (m->ops->get_many) {
		ret = m->ops->get_many(m->be, sub, k);
	} else {
		ret = 0;
		for (size_t q = 0; q < k; q++) {
			size_t got = 0;
			sub[q].result = m->ops->get(m->be, sub[q].key, sub[q].off, sub[q].len,
						    sub[q].len, &sub[q].data, &got);
			if (!sub[q].result && got != sub[q].len)
				sub[q].result = -EBADMSG;
		}
	}
	deadline_set(old);
	for (size_t q = 0; q < k; q++) {
		int r = ret ? ret : sub[q].result;
		if (!r)
			bytes += sub[q].len;
		else if (!first)
			first = r;
	}
	for (size_t q = 0; q < k; q++) {
		struct remote_req *dst = &reqs[at[q]];
		int r = ret ? ret : sub[q].result;
		/* one request's outcome accounts for the round's failure (no double cool-down) */
		if (r == 0) {
			dst->result = 0;
			dst->data = sub[q].data;
			sub[q].data = NULL;
			note_served(mu, dst->key, i);
		} else {
			free(sub[q].data);
			sub[q].data = NULL;
			dst->result = multi_worse(dst->result == -EAGAIN ? 0 : dst->result, r);
			if (r == -EINVAL || r == -ENOMEM)
				*err = r;
		}
	}
	if (k)
		multi_account(mu, i, NULL, first, multi_now_us() - t0, bytes);
	ret = 0;
out:
	free(sub);
	free(at);
	return ret;
}

static int mu_get_many(void *be, struct remote_req *reqs, size_t n)
{
	struct multi *mu = be;
	bool *todo = calloc(n ? n : 1, sizeof(bool));
	size_t order[MULTI_MAX], k = multi_order_for(mu, NULL, order);
	int err = 0, ret = 0;

	if (!todo)
		return -ENOMEM;
	for (size_t q = 0; q < n; q++)
		if (reqs[q].result == 0)
			reqs[q].result = -EAGAIN; /* not asked yet */
	for (size_t j = 0; j < k && !err && !ret; j++) {
		size_t left = 0;
		for (size_t q = 0; q < n; q++) {
			uint32_t mask;
			todo[q] = false;
			if (reqs[q].result == 0 || reqs[q].result == -EINVAL)
				continue;
			pthread_mutex_lock(&mu->lock);
			mask = bad_mask_locked(mu, reqs[q].key);
			pthread_mutex_unlock(&mu->lock);
			todo[q] = !(mask & (1u << order[j]));
			left += todo[q];
		}
		if (left)
			ret = many_round(mu, reqs, n, order[j], j + 1 == k, todo, &err);
	}
	for (size_t q = 0; q < n; q++)
		if (reqs[q].result == -EAGAIN)
			reqs[q].result = -EBADMSG; /* no mirror left whose bytes verify */
	free(todo);
	return ret;
}

/* ---- verification failures reported by the store layer ---- */

/* Mirror idx served bytes of key that fail verification: skip it for key from now on;
 * 1 while another mirror may still serve key. */
static int mark_bad(struct multi *mu, size_t idx, const char *key)
{
	uint32_t mask;

	pthread_mutex_lock(&mu->lock);
	mask = bad_mask_locked(mu, key);
	bool known = mask & (1u << idx); /* another range of it, read before it was caught */
	if (!known) {
		struct badkey *b = &mu->bad[mu->nbad++ % BAD_MAX];
		snprintf(b->key, KEY_LEN, "%s", key);
		b->mask = mask |= 1u << idx;
	}
	pthread_mutex_unlock(&mu->lock);
	bool more = mask != (uint32_t)((1u << mu->n) - 1);
	if (known)
		return more;
	atomic_fetch_add(&mu->m[idx].rejected, 1);
	remote_log("mirror %s served %s with bytes that fail verification (tampered or "
		   "damaged): %s",
		   mu->m[idx].name, key,
		   more ? "skipped for this object, reading it from another"
			: "no other mirror left for it");
	return more ? 1 : 0;
}

static int mu_reject(void *be, const char *key)
{
	struct multi *mu = be;
	size_t idx = MULTI_MAX;
	uint32_t mask;

	for (unsigned j = 0; j < SERVED_MAX; j++) { /* the latest read of key on this thread */
		struct served *s = &served_ring[(served_next - 1 - j) % SERVED_MAX];
		if (s->mu == mu && strcmp(s->key, key) == 0) {
			idx = s->idx;
			s->mu = NULL; /* reported once */
			break;
		}
	}
	if (idx == MULTI_MAX) {
		/* reported already (another record of the same pack): read it again if a mirror
		 * not yet caught serving bad bytes of it remains */
		pthread_mutex_lock(&mu->lock);
		mask = bad_mask_locked(mu, key);
		pthread_mutex_unlock(&mu->lock);
		return mask && mask != (uint32_t)((1u << mu->n) - 1);
	}
	return mark_bad(mu, idx, key);
}

int multi_reject_from(void *be, size_t i, const char *key)
{
	struct multi *mu = be;

	return i < mu->n && strlen(key) < KEY_LEN ? mark_bad(mu, i, key) : 0;
}

/* ---- the rest of the vtable ---- */

static int mu_put(void *be, const char *key, const void *data, size_t len, int flags)
{
	(void)be, (void)key, (void)data, (void)len, (void)flags;
	return -EROFS; /* one writer, at one address: write to a single store, then copy */
}

static int mu_del(void *be, const char *key)
{
	(void)be, (void)key;
	return -EROFS;
}

static uint64_t mu_retries(void *be)
{
	struct multi *mu = be;
	uint64_t r = 0;

	for (size_t i = 0; i < mu->n; i++)
		if (mu->m[i].ops->retries)
			r += mu->m[i].ops->retries(mu->m[i].be);
	return r;
}

static void mu_free(void *be)
{
	struct multi *mu = be;

	if (!mu)
		return;
	for (size_t i = 0; i < mu->n; i++) {
		mu->m[i].ops->free(mu->m[i].be);
		free(mu->m[i].name);
	}
	pthread_mutex_destroy(&mu->lock);
	free(mu);
}

static const struct backend_ops multi_ops = {.get = mu_get,
					     .put = mu_put,
					     .del = mu_del,
					     .stat = mu_stat,
					     .list = multi_list,
					     .get_many = mu_get_many,
					     .get_into = mu_get_into,
					     .free = mu_free,
					     .retries = mu_retries,
					     .reject = mu_reject};

size_t multi_count(void *be)
{
	return ((struct multi *)be)->n;
}

const char *multi_name(void *be, size_t i)
{
	struct multi *mu = be;

	return i < mu->n ? mu->m[i].name : "";
}

int multi_get_from(void *be, size_t i, const char *key, size_t max_len, uint8_t **data, size_t *n)
{
	struct multi *mu = be;
	struct get_arg a = {key, 0, 0, max_len, data, n, NULL};
	uint64_t t0 = multi_now_us(), bytes = 0, old;
	int ret;

	*data = NULL;
	*n = 0;
	if (i >= mu->n)
		return -EINVAL;
	pthread_mutex_lock(&mu->lock);
	bool down = mpick_is_down(&mu->pick, i, deadline_now_ms());
	pthread_mutex_unlock(&mu->lock);
	if (down)
		return -EHOSTDOWN; /* failed a moment ago: not worth a slice now */
	old = deadline_begin(multi_slice_ms(mu));
	ret = call_get(&mu->m[i], &a, &bytes);
	deadline_set(old);
	multi_account(mu, i, key, ret, multi_now_us() - t0, bytes);
	return ret;
}

void multi_note_head(void *be, size_t i, int state, uint64_t seq)
{
	struct multi *mu = be;

	if (i >= mu->n)
		return;
	pthread_mutex_lock(&mu->lock);
	mu->m[i].head = state;
	mu->m[i].head_seq = seq;
	pthread_mutex_unlock(&mu->lock);
}

void multi_stats(void *be, size_t i, struct remote_mirror_stats *out)
{
	struct multi *mu = be;
	struct member *m = &mu->m[i];

	out->name = m->name;
	out->gets = atomic_load(&m->gets);
	out->bytes = atomic_load(&m->bytes);
	out->failures = atomic_load(&m->failures);
	out->missing = atomic_load(&m->missing);
	out->rejected = atomic_load(&m->rejected);
	pthread_mutex_lock(&mu->lock);
	out->cost_us = mu->pick.cost_us[i];
	out->down = mpick_is_down(&mu->pick, i, deadline_now_ms());
	out->head = m->head;
	out->head_seq = m->head_seq;
	pthread_mutex_unlock(&mu->lock);
}

/* ---- opening ---- */

static int bad_url(const char *why, size_t pos)
{
	remote_log("malformed multi-store URL: %s (store %zu; give URL1,URL2,... with up to %d "
		   "stores, see 'embassy help mount')",
		   why, pos, MULTI_MAX);
	return -EINVAL;
}

/* Split url at its commas into parts[] (malloc'd copies); returns how many, or -EINVAL. */
static int split(const char *url, char *parts[MULTI_MAX])
{
	size_t n = 0;
	const char *p = url;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == 0)
			return bad_url("an empty store URL", n + 1);
		if (n == MULTI_MAX)
			return bad_url("too many stores", n + 1);
		if (!(parts[n] = strndup(p, len)))
			return -ENOMEM;
		for (size_t j = 0; j < n; j++)
			if (strcmp(parts[j], parts[n]) == 0)
				return bad_url("the same store twice", ++n);
		n++;
		if (!c)
			return (int)n;
		p = c + 1;
	}
}

int multi_backend_open(const char *url,
		       int (*open_one)(const char *part, void **be, const struct backend_ops **ops,
				       void *ctx),
		       void *ctx, uint64_t timeout_ms, void **be, const struct backend_ops **ops)
{
	struct multi *mu = calloc(1, sizeof(*mu));
	char *parts[MULTI_MAX] = {0};
	int ret = mu ? split(url, parts) : -ENOMEM;

	if (mu)
		pthread_mutex_init(&mu->lock, NULL);

	if (ret == 1)
		ret = bad_url("only one store", 1);
	for (int i = 0; ret > 0 && i < ret; i++) { /* ret: the parts, while all is well */
		struct member *m = &mu->m[i];
		int r = open_one(parts[i], &m->be, &m->ops, ctx);
		if (r == 0 && !(m->name = strdup(parts[i]))) {
			m->ops->free(m->be);
			r = -ENOMEM;
		}
		if (r < 0) {
			ret = r == -EINVAL ? bad_url("a store URL that does not open", i + 1) : r;
			break;
		}
		log_redact_urls(m->name, false);
		mu->n++;
	}
	for (size_t i = 0; i < MULTI_MAX; i++)
		free(parts[i]);
	if (ret < 0) {
		mu_free(mu);
		return ret;
	}
	mu->timeout_ms = timeout_ms;
	mpick_init(&mu->pick, mu->n);
	*be = mu;
	*ops = &multi_ops;
	return 0;
}
