/* mirror: a decorator over a backend that keeps local copies of a store's small metadata
 * objects (descriptor, key entries, snapshot manifests, head pointer), so that
 * `mount --offline` can open the store with no network, and remounts fetch no manifest twice.
 * Pack data is not mirrored here: the mount's disk cache holds records.
 *
 * Only verified bytes are kept. A get never writes a copy: the store layer, once it has
 * checked an object (signature, AEAD, trust state), hands the bytes it checked to
 * remote_keep, and only then are they written (replacing an older copy). So a host that
 * serves a bad descriptor, key entry or manifest once leaves nothing behind, and later mounts
 * read the good object when the host is fixed. Key entries are kept by name (the store does
 * not hold their bytes): the bytes of this session's fetch, if every fetch got the same.
 *
 * Copies are still verified on every use like fresh objects. When a copy fails
 * (remote_reject: local damage, a stale copy), this session stops serving copies of that key
 * and fetches it again; a verified fetch then replaces the copy. remote_opts.mirror_fresh
 * opens a session that serves no copy at all (store_open's second try).
 *
 * Online: listings and the head pointer always go to the store; other metadata comes from
 * the copy when there is one (objects are immutable under their names), else from the store.
 * Offline: metadata comes from the copy; pack reads fail with -EIO; writes with -EROFS. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "mirror.h"

#define NAME_MAX_LEN 128 /* metadata keys are short; longer ones are never kept */
#define FRESH_MAX    32	 /* key entries fetched this session, awaiting remote_keep */
#define BYPASS_MAX   64	 /* keys whose copies failed this session */

struct fresh {
	char key[NAME_MAX_LEN];
	uint8_t *data;
	size_t len;
	bool conflict; /* two fetches of key got different bytes: keep neither */
};

struct mirror {
	void *inner, *local; /* immutable after open; both thread-safe */
	const struct backend_ops *inner_ops, *local_ops;
	bool offline, no_copies; /* immutable */

	pthread_mutex_t lock;		       /* guards the fields below */
	struct fresh fresh[FRESH_MAX];	       /* a ring */
	size_t nfresh;			       /* fetches recorded so far */
	char bypass[BYPASS_MAX][NAME_MAX_LEN]; /* a ring */
	size_t nbypass;
	size_t copies_served;
};

static bool is_meta(const char *key)
{
	return strncmp(key, "packs/", 6) != 0;
}

/* Every object but the head pointer is immutable under its name (store objects are only
 * ever added), so a local copy can stand in for it even online: remounts then fetch no
 * manifest twice. The head pointer is always fetched fresh. */
static bool is_immutable(const char *key)
{
	return is_meta(key) && strncmp(key, "heads/", 6) != 0;
}

/* Kept by name (remote_keep without bytes): the key entries. */
static bool kept_by_name(const char *key)
{
	return strncmp(key, "keys/", 5) == 0 && strlen(key) < NAME_MAX_LEN;
}

static bool bypassed(struct mirror *m, const char *key)
{
	bool found = m->no_copies;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; !found && i < m->nbypass && i < BYPASS_MAX; i++)
		found = strcmp(m->bypass[i], key) == 0;
	pthread_mutex_unlock(&m->lock);
	return found;
}

static void note_fresh(struct mirror *m, const char *key, const uint8_t *data, size_t len)
{
	struct fresh *f = NULL;
	uint8_t *copy;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; !f && i < m->nfresh && i < FRESH_MAX; i++)
		if (strcmp(m->fresh[i].key, key) == 0)
			f = &m->fresh[i];
	if (f) {
		f->conflict |= f->len != len || memcmp(f->data, data, len) != 0;
	} else if ((copy = malloc(len ? len : 1))) {
		f = &m->fresh[m->nfresh++ % FRESH_MAX];
		free(f->data);
		memcpy(copy, data, len);
		snprintf(f->key, sizeof(f->key), "%s", key);
		f->data = copy;
		f->len = len;
		f->conflict = false;
	}
	pthread_mutex_unlock(&m->lock);
}

static void note_served(struct mirror *m)
{
	pthread_mutex_lock(&m->lock);
	m->copies_served++;
	pthread_mutex_unlock(&m->lock);
}

static int m_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		 uint8_t **data, size_t *n)
{
	struct mirror *m = be;
	bool whole = off == 0 && len == 0;
	int ret;

	if (m->offline) {
		if (!is_meta(key))
			return -EIO; /* not in the disk cache: nothing to read it from */
		ret = m->local_ops->get(m->local, key, off, len, max_len, data, n);
		if (!ret)
			note_served(m);
		return ret;
	}
	if (is_immutable(key) && whole && !bypassed(m, key) &&
	    m->local_ops->get(m->local, key, off, len, max_len, data, n) == 0) {
		note_served(m);
		return 0;
	}
	ret = m->inner_ops->get(m->inner, key, off, len, max_len, data, n);
	if (!ret && whole && kept_by_name(key))
		note_fresh(m, key, *data, *n);
	return ret;
}

static void m_keep(void *be, const char *key, const void *data, size_t len)
{
	struct mirror *m = be;
	uint8_t *have = NULL, *copy = NULL;
	size_t hlen = 0;

	if (m->offline || !is_meta(key) || strlen(key) >= NAME_MAX_LEN)
		return; /* offline, everything came from the copies */
	if (!data) {
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; i < m->nfresh && i < FRESH_MAX; i++) {
			struct fresh *f = &m->fresh[i];
			if (strcmp(f->key, key) == 0 && !f->conflict &&
			    (copy = malloc(f->len ? f->len : 1))) {
				memcpy(copy, f->data, f->len);
				len = f->len;
			}
		}
		pthread_mutex_unlock(&m->lock);
		if (!copy)
			return; /* served from the copy, or not fetched consistently */
		data = copy;
	}
	/* written only when it differs from the copy: a remount rewrites nothing */
	if (m->local_ops->get(m->local, key, 0, 0, len + 1, &have, &hlen) != 0 || hlen != len ||
	    memcmp(have, data, len) != 0) {
		if (m->local_ops->put(m->local, key, data, len, 0) < 0)
			log_warn("metadata mirror: cannot keep %s (offline mounts will lack it)",
				 key);
	}
	free(have);
	free(copy);
}

static int m_reject(void *be, const char *key)
{
	struct mirror *m = be;
	uint64_t size;

	if (m->offline || m->no_copies || !is_immutable(key) || strlen(key) >= NAME_MAX_LEN ||
	    m->local_ops->stat(m->local, key, &size) != 0 || bypassed(m, key))
		/* the bytes came from the store: it may know another source (multi.c) */
		return !m->offline && m->inner_ops->reject ? m->inner_ops->reject(m->inner, key)
							   : 0;
	pthread_mutex_lock(&m->lock);
	snprintf(m->bypass[m->nbypass++ % BYPASS_MAX], NAME_MAX_LEN, "%s", key);
	pthread_mutex_unlock(&m->lock);
	log_warn("metadata mirror: the local copy of %s does not verify: fetching it again", key);
	return 1;
}

static size_t m_copies_served(void *be)
{
	struct mirror *m = be;
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->copies_served;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* Ranges of packs (never mirrored) straight from the store; anything else through m_get. */
static int m_get_into(void *be, const char *key, uint64_t off, uint64_t len, uint8_t *buf)
{
	struct mirror *m = be;
	uint8_t *data = NULL;
	size_t n = 0;
	int ret;

	if (!m->offline && !is_meta(key) && m->inner_ops->get_into)
		return m->inner_ops->get_into(m->inner, key, off, len, buf);
	ret = m_get(m, key, off, len, len, &data, &n);
	if (!ret && n != len)
		ret = -EBADMSG;
	if (!ret)
		memcpy(buf, data, len);
	free(data);
	return ret;
}

static int m_put(void *be, const char *key, const void *data, size_t len, int flags)
{
	struct mirror *m = be;
	return m->offline ? -EROFS : m->inner_ops->put(m->inner, key, data, len, flags);
}

static int m_del(void *be, const char *key)
{
	struct mirror *m = be;
	return m->offline ? -EROFS : m->inner_ops->del(m->inner, key);
}

static int m_stat(void *be, const char *key, uint64_t *size)
{
	struct mirror *m = be;
	if (m->offline)
		return is_meta(key) ? m->local_ops->stat(m->local, key, size) : -EIO;
	return m->inner_ops->stat(m->inner, key, size);
}

static int m_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	struct mirror *m = be;
	if (m->offline)
		return m->local_ops->list(m->local, prefix, cb, ctx);
	return m->inner_ops->list(m->inner, prefix, cb, ctx);
}

static int m_get_many(void *be, struct remote_req *reqs, size_t n)
{
	struct mirror *m = be;
	if (!m->offline && m->inner_ops->get_many)
		return m->inner_ops->get_many(m->inner, reqs, n);
	for (size_t i = 0; i < n; i++) {
		size_t got = 0;
		if (reqs[i].result)
			continue;
		reqs[i].result = m_get(m, reqs[i].key, reqs[i].off, reqs[i].len, reqs[i].len,
				       &reqs[i].data, &got);
		if (!reqs[i].result && got != reqs[i].len) {
			free(reqs[i].data);
			reqs[i].data = NULL;
			reqs[i].result = -EBADMSG;
		}
	}
	return 0;
}

static uint64_t m_retries(void *be)
{
	struct mirror *m = be;
	return m->inner_ops && m->inner_ops->retries ? m->inner_ops->retries(m->inner) : 0;
}

static void m_free(void *be)
{
	struct mirror *m = be;
	if (m->inner_ops) /* none when offline */
		m->inner_ops->free(m->inner);
	m->local_ops->free(m->local);
	for (size_t i = 0; i < FRESH_MAX; i++)
		free(m->fresh[i].data);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct backend_ops mirror_ops = {.get = m_get,
					      .put = m_put,
					      .del = m_del,
					      .stat = m_stat,
					      .list = m_list,
					      .get_many = m_get_many,
					      .get_into = m_get_into,
					      .free = m_free,
					      .retries = m_retries,
					      .keep = m_keep,
					      .reject = m_reject,
					      .copies_served = m_copies_served};

int mirror_wrap(const char *dir, bool offline, bool no_copies, void **be,
		const struct backend_ops **ops)
{
	struct mirror *m = calloc(1, sizeof(*m));
	int ret;
	if (!m)
		return -ENOMEM;
	ret = local_backend_open(dir, &m->local, &m->local_ops);
	if (ret) {
		free(m);
		return ret;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->inner = *be;
	m->inner_ops = *ops;
	m->offline = offline;
	m->no_copies = no_copies && !offline;
	*be = m;
	*ops = &mirror_ops;
	return 0;
}
