/* mirror: a decorator over a backend that keeps a local copy of the store's small metadata
 * objects (descriptor, key entries, snapshot manifests, head pointer, index objects) as they
 * are read, so that `mount --offline` can open the store with no network at all. Pack data
 * is not mirrored here: the mount's disk cache holds records. Everything served from the
 * mirror is verified exactly like a fresh copy (signatures, AEAD, trust state), so the copy
 * needs no protection beyond its directory's permissions.
 * Online: listings and the head pointer go to the store; other metadata is read from the
 * copy when there is one (objects are immutable under their names), else fetched and copied.
 * Offline: metadata comes from the copy; pack reads fail with -EIO; writes with -EROFS. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mirror.h"

struct mirror {
	void *inner, *local; /* immutable after open; both thread-safe */
	const struct backend_ops *inner_ops, *local_ops;
	bool offline;
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

static int m_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		 uint8_t **data, size_t *n)
{
	struct mirror *m = be;
	int ret;
	if (m->offline) {
		if (!is_meta(key))
			return -EIO; /* not in the disk cache: nothing to read it from */
		return m->local_ops->get(m->local, key, off, len, max_len, data, n);
	}
	if (is_immutable(key) && off == 0 && len == 0 &&
	    m->local_ops->get(m->local, key, off, len, max_len, data, n) == 0)
		return 0;
	ret = m->inner_ops->get(m->inner, key, off, len, max_len, data, n);
	if (!ret && is_meta(key) && off == 0 && len == 0)
		m->local_ops->put(m->local, key, *data, *n, 0); /* best effort */
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
	free(m);
}

static const struct backend_ops mirror_ops = {.get = m_get,
					      .put = m_put,
					      .del = m_del,
					      .stat = m_stat,
					      .list = m_list,
					      .get_many = m_get_many,
					      .free = m_free,
					      .retries = m_retries};

int mirror_wrap(const char *dir, bool offline, void **be, const struct backend_ops **ops)
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
	m->inner = *be;
	m->inner_ops = *ops;
	m->offline = offline;
	*be = m;
	*ops = &mirror_ops;
	return 0;
}
