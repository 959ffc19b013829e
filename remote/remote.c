/* remote: URL dispatch, key validation and counters in front of the backends. */
#include "remote.h"
#include "backend.h"
#include "log.h"
#include "mirror.h"
#include "multi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct remote {
	char *name;	     /* URL without credentials; immutable after open */
	uint64_t timeout_ms; /* immutable */
	void *be;
	const struct backend_ops *ops;
	bool local;  /* immutable: a directory on this host (local.c), not a network store */
	void *multi; /* immutable: the multi backend (multi.c) under any mirror, or NULL */
	/* Counters: updated by any thread without a lock, hence atomic. */
	_Atomic uint64_t gets, puts, lists, bytes_in, bytes_out;
};

void remote_log(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* the logger escapes what the host chose and redacts credentials */
	log_notice("remote: %s", line);
}

static int name_check(const char *s, int is_prefix)
{
	size_t n = strlen(s);
	const char *comp = s;

	if (n == 0)
		return is_prefix ? 0 : -EINVAL;
	if (n > 1024 || s[0] == '/' || strstr(s, "..") || strstr(s, "//"))
		return -EINVAL;
	if (!is_prefix && s[n - 1] == '/')
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
		if (!ok)
			return -EINVAL;
		if (p == comp && (strncmp(p, REMOTE_TMP_PREFIX, strlen(REMOTE_TMP_PREFIX)) == 0 ||
				  strcmp(p, ".") == 0 || strncmp(p, "./", 2) == 0))
			return -EINVAL;
		if (c == '/')
			comp = p + 1;
	}
	return 0;
}

int remote_key_check(const char *key)
{
	return key ? name_check(key, 0) : -EINVAL;
}

int remote_prefix_check(const char *prefix)
{
	return prefix ? name_check(prefix, 1) : -EINVAL;
}

/* The URL for logs, its credentials starred (log_redact_urls): never a secret in a log. */
static char *name_from_url(const char *url)
{
	char *out = strdup(url);

	if (out)
		log_redact_urls(out, false);
	return out;
}

static void opts_defaults(const struct remote_opts *in, struct remote_opts *o)
{
	const char *t;

	memset(o, 0, sizeof(*o));
	if (in)
		*o = *in;
	if (!o->cacert)
		o->cacert = getenv("EMBASSY_CACERT");
	if (!o->cert)
		o->cert = getenv("EMBASSY_CERT");
	if (!o->key)
		o->key = getenv("EMBASSY_KEY");
	if (!o->s3_endpoint)
		o->s3_endpoint = getenv("EMBASSY_S3_ENDPOINT");
	if (o->timeout_s <= 0 && (t = getenv("EMBASSY_TIMEOUT")))
		o->timeout_s = atoi(t);
	if (o->timeout_s <= 0)
		o->timeout_s = 60;
	if (o->max_inflight <= 0)
		o->max_inflight = 16;
	if (o->max_inflight > 256)
		o->max_inflight = 256;
}

static int open_backend(const char *url, const char *name, const struct remote_opts *o, void **be,
			const struct backend_ops **ops)
{
	if (!*url)
		goto bad;
	if (strncmp(url, "file://", 7) == 0) {
		if (url[7] != '/' || url[8] == '\0')
			goto bad; /* file://host/... and empty paths are not ours */
		return local_backend_open(url + 7, be, ops);
	}
	if (strncmp(url, "http://", 7) == 0) {
		remote_log("warning: %s uses unencrypted transport (objects are still encrypted "
			   "and authenticated, but the traffic%s is visible)",
			   name, strcmp(url, name) ? " and the credentials in the URL" : "");
		return http_backend_open(url, o, be, ops);
	}
	if (strncmp(url, "https://", 8) == 0)
		return http_backend_open(url, o, be, ops);
	if (strncmp(url, "s3://", 5) == 0) {
		if (!o->s3_endpoint || !*o->s3_endpoint) {
			remote_log("%s: an S3 endpoint is required (--s3-endpoint or "
				   "EMBASSY_S3_ENDPOINT, e.g. https://s3.example.org)",
				   name);
			return -EINVAL;
		}
		return s3_backend_open(url, o, be, ops);
	}
	if (strstr(url, "://")) {
		remote_log("%s: unsupported URL scheme (use a path, file://, http(s):// or s3://)",
			   name);
		return -EINVAL;
	}
	return local_backend_open(url, be, ops);
bad:
	remote_log("malformed store URL '%s'", name);
	return -EINVAL;
}

bool remote_url_is_multi(const char *url)
{
	const char *path = url;
	struct stat st;

	if (!url || !strchr(url, ','))
		return false;
	if (strncmp(url, "file://", 7) == 0)
		path = url + 7;
	else if (strstr(url, "://"))
		return true;
	/* a local directory whose name holds a comma stays what it was: one store */
	return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

struct part_ctx {
	const struct remote_opts *o;
};

static int open_part(const char *part, void **be, const struct backend_ops **ops, void *ctx)
{
	struct part_ctx *p = ctx;
	char *name = name_from_url(part);
	int ret;

	if (!name)
		return -ENOMEM;
	ret = open_backend(part, name, p->o, be, ops);
	free(name);
	return ret;
}

int remote_open(const char *url, const struct remote_opts *opts, struct remote **out)
{
	struct remote_opts o;
	struct remote *r = NULL;
	int ret;

	*out = NULL;
	if (!url)
		return -EINVAL;
	opts_defaults(opts, &o);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->name = name_from_url(url);
	r->timeout_ms = (uint64_t)o.timeout_s * 1000;
	if (!r->name) {
		ret = -ENOMEM;
		goto out;
	}
	/* offline: the store itself is not even looked at (it may be unreachable or gone) */
	if (o.offline && o.mirror_dir) {
		ret = 0;
	} else if (remote_url_is_multi(url)) {
		struct part_ctx pc = {&o};
		ret = multi_backend_open(url, open_part, &pc, r->timeout_ms, &r->be, &r->ops);
		r->multi = ret ? NULL : r->be;
	} else {
		ret = open_backend(url, r->name, &o, &r->be, &r->ops);
	}
	if (ret < 0)
		goto out;
	r->local = !(o.offline && o.mirror_dir) && !r->multi &&
		   (!strstr(url, "://") || strncmp(url, "file://", 7) == 0);
	if (o.mirror_dir) {
		ret = mirror_wrap(o.mirror_dir, o.offline, o.mirror_fresh, &r->be, &r->ops);
		if (ret < 0) {
			if (r->ops)
				r->ops->free(r->be);
			r->ops = NULL;
			goto out;
		}
	}
	*out = r;
	r = NULL;
out:
	if (r) {
		free(r->name);
		free(r);
	}
	return ret;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	if (r->ops)
		r->ops->free(r->be);
	free(r->name);
	free(r);
}

const char *remote_name(const struct remote *r)
{
	return r->name;
}

uint64_t remote_timeout_ms(const struct remote *r)
{
	return r->timeout_ms;
}

int remote_get(struct remote *r, const char *key, uint64_t off, uint64_t len, size_t max_len,
	       uint8_t **data, size_t *n)
{
	int ret;

	*data = NULL;
	*n = 0;
	if (remote_key_check(key) < 0)
		return -EINVAL;
	atomic_fetch_add(&r->gets, 1);
	ret = r->ops->get(r->be, key, off, len, max_len, data, n);
	if (ret == 0)
		atomic_fetch_add(&r->bytes_in, *n);
	return ret;
}

int remote_get_into(struct remote *r, const char *key, uint64_t off, uint64_t len, uint8_t *buf)
{
	uint8_t *data = NULL;
	size_t n = 0;
	int ret;

	if (remote_key_check(key) < 0 || len == 0 || len > SIZE_MAX / 2)
		return -EINVAL;
	if (!r->ops->get_into) {
		ret = remote_get(r, key, off, len, len, &data, &n);
		if (!ret && n != len)
			ret = -EBADMSG; /* never short data */
		if (!ret)
			memcpy(buf, data, len);
		free(data);
		return ret;
	}
	atomic_fetch_add(&r->gets, 1);
	ret = r->ops->get_into(r->be, key, off, len, buf);
	if (ret == 0)
		atomic_fetch_add(&r->bytes_in, len);
	return ret;
}

int remote_put(struct remote *r, const char *key, const void *data, size_t len, int flags)
{
	int ret;

	if (remote_key_check(key) < 0 || (flags & ~REMOTE_CREATE_ONLY))
		return -EINVAL;
	atomic_fetch_add(&r->puts, 1);
	ret = r->ops->put(r->be, key, data, len, flags);
	if (ret == 0)
		atomic_fetch_add(&r->bytes_out, len);
	return ret;
}

int remote_delete(struct remote *r, const char *key)
{
	if (remote_key_check(key) < 0)
		return -EINVAL;
	return r->ops->del(r->be, key);
}

int remote_stat(struct remote *r, const char *key, uint64_t *size)
{
	if (remote_key_check(key) < 0)
		return -EINVAL;
	return r->ops->stat(r->be, key, size);
}

int remote_list(struct remote *r, const char *prefix, int (*cb)(void *ctx, const char *key),
		void *ctx)
{
	if (remote_prefix_check(prefix) < 0)
		return -EINVAL;
	atomic_fetch_add(&r->lists, 1);
	return r->ops->list(r->be, prefix, cb, ctx);
}

static int get_many_serial(struct remote *r, struct remote_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t got = 0;

		if (reqs[i].result)
			continue; /* refused by remote_get_many */
		reqs[i].result = r->ops->get(r->be, reqs[i].key, reqs[i].off, reqs[i].len,
					     reqs[i].len, &reqs[i].data, &got);
		if (reqs[i].result == 0 && got != reqs[i].len) {
			free(reqs[i].data);
			reqs[i].data = NULL;
			reqs[i].result = -EBADMSG;
		}
	}
	return 0;
}

int remote_get_many(struct remote *r, struct remote_req *reqs, size_t n)
{
	size_t valid = 0;
	int ret;

	/* Bad requests get their own result; the rest are still issued. len 0 would mean
	 * "whole object" for remote_get, which has no bound here, so it is refused too. */
	for (size_t i = 0; i < n; i++) {
		reqs[i].data = NULL;
		reqs[i].result = 0;
		if (remote_key_check(reqs[i].key) < 0 || reqs[i].len == 0 ||
		    reqs[i].len > SIZE_MAX / 2)
			reqs[i].result = -EINVAL;
		else
			valid++;
	}
	atomic_fetch_add(&r->gets, valid);
	if (r->ops->get_many)
		ret = r->ops->get_many(r->be, reqs, n);
	else
		ret = get_many_serial(r, reqs, n);
	for (size_t i = 0; i < n; i++)
		if (reqs[i].result == 0 && reqs[i].data)
			atomic_fetch_add(&r->bytes_in, reqs[i].len);
	return ret;
}

void remote_keep(struct remote *r, const char *key, const void *data, size_t len)
{
	if (r->ops->keep && remote_key_check(key) == 0)
		r->ops->keep(r->be, key, data, len);
}

int remote_reject(struct remote *r, const char *key)
{
	return r->ops->reject && remote_key_check(key) == 0 ? r->ops->reject(r->be, key) : 0;
}

size_t remote_copies_served(const struct remote *r)
{
	return r->ops->copies_served ? r->ops->copies_served(r->be) : 0;
}

bool remote_is_local(const struct remote *r)
{
	return r->local;
}

void remote_get_stats(const struct remote *r, struct remote_stats *out)
{
	struct remote *rw = (struct remote *)r; /* atomics are read-only here */

	out->gets = atomic_load(&rw->gets);
	out->puts = atomic_load(&rw->puts);
	out->lists = atomic_load(&rw->lists);
	out->bytes_in = atomic_load(&rw->bytes_in);
	out->bytes_out = atomic_load(&rw->bytes_out);
	out->retries = r->ops->retries ? r->ops->retries(r->be) : 0;
}

size_t remote_mirrors(const struct remote *r)
{
	return r->multi ? multi_count(r->multi) : 1;
}

const char *remote_mirror_name(const struct remote *r, size_t i)
{
	return r->multi ? multi_name(r->multi, i) : r->name;
}

int remote_get_from(struct remote *r, size_t i, const char *key, size_t max_len, uint8_t **data,
		    size_t *n)
{
	int ret;

	*data = NULL;
	*n = 0;
	if (!r->multi)
		return i == 0 ? remote_get(r, key, 0, 0, max_len, data, n) : -EINVAL;
	if (remote_key_check(key) < 0)
		return -EINVAL;
	atomic_fetch_add(&r->gets, 1);
	ret = multi_get_from(r->multi, i, key, max_len, data, n);
	if (ret == 0)
		atomic_fetch_add(&r->bytes_in, *n);
	return ret;
}

void remote_get_all(struct remote *r, const char *key, size_t max_len, struct remote_copy *out)
{
	size_t m = remote_mirrors(r);

	for (size_t i = 0; i < m; i++)
		out[i] = (struct remote_copy){NULL, 0, 0};
	if (remote_key_check(key) < 0) {
		for (size_t i = 0; i < m; i++)
			out[i].ret = -EINVAL;
		return;
	}
	if (!r->multi) {
		out[0].ret = remote_get(r, key, 0, 0, max_len, &out[0].data, &out[0].n);
		return;
	}
	multi_get_all(r->multi, key, max_len, out);
	for (size_t i = 0; i < m; i++) {
		atomic_fetch_add(&r->gets, 1);
		if (out[i].ret == 0)
			atomic_fetch_add(&r->bytes_in, out[i].n);
	}
}

void remote_copies_free(struct remote_copy *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].data);
		c[i] = (struct remote_copy){NULL, 0, 0};
	}
}

int remote_reject_from(struct remote *r, size_t i, const char *key)
{
	return r->multi && remote_key_check(key) == 0 ? multi_reject_from(r->multi, i, key) : 0;
}

void remote_note_head(struct remote *r, size_t i, int state, uint64_t seq)
{
	if (r->multi)
		multi_note_head(r->multi, i, state, seq);
}

int remote_mirror_stats(const struct remote *r, size_t i, struct remote_mirror_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= remote_mirrors(r))
		return -EINVAL;
	if (r->multi) {
		multi_stats(r->multi, i, out);
		return 0;
	}
	out->name = r->name;
	out->gets = atomic_load(&((struct remote *)r)->gets);
	out->bytes = atomic_load(&((struct remote *)r)->bytes_in);
	return 0;
}

static const char *head_word(int h)
{
	static const char *const w[] = {
	    "not asked",       "current", "OLDER (lagging or rolled back)",
	    "DOES NOT VERIFY", "missing", "unreachable"};
	return h >= 0 && h <= REMOTE_HEAD_UNREACHABLE ? w[h] : "?";
}

void remote_log_mirrors(const struct remote *r)
{
	struct remote_mirror_stats m;

	for (size_t i = 0; r->multi && i < remote_mirrors(r); i++) {
		remote_mirror_stats(r, i, &m);
		log_msg(m.failures || m.rejected || m.head > REMOTE_HEAD_CURRENT ? LOG_NOTICE
										 : LOG_INFO,
			"mirror %s: %llu requests answered, %llu bytes, %llu failed, %llu "
			"missing, %llu rejected (failed verification); head %s (sequence %llu)%s",
			m.name, (unsigned long long)m.gets, (unsigned long long)m.bytes,
			(unsigned long long)m.failures, (unsigned long long)m.missing,
			(unsigned long long)m.rejected, head_word(m.head),
			(unsigned long long)m.head_seq, m.down ? "; down" : "");
	}
}
