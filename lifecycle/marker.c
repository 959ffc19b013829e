/* marker: writing, refreshing and reading locks/ objects (see marker.h). */
#include "marker.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "keylist.h"
#include "log.h"

#define MARKER_MAX (64u << 10)

struct marker {
	struct store *s;
	char key[64];
	char kind[16];
	uint64_t gen;
	int64_t started_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool stop;	     /* guarded by lock */
};

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int marker_put(struct marker *m)
{
	char host[256] = "unknown", *text;
	json_t *j;
	int ret;

	gethostname(host, sizeof(host) - 1);
	j = json_pack("{s:i s:s s:s s:I s:I s:I s:I}", "v", 1, "kind", m->kind, "host", host, "pid",
		      (json_int_t)getpid(), "gen", (json_int_t)m->gen, "started",
		      (json_int_t)m->started_ns, "refreshed", (json_int_t)wall_ns());
	text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ret = text ? remote_put(store_remote(m->s), m->key, text, strlen(text), 0) : -ENOMEM;
	free(text);
	json_decref(j);
	return ret;
}

static void *refresher(void *arg)
{
	struct marker *m = arg;
	struct timespec at;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += MARKER_REFRESH_S;
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &at) != ETIMEDOUT)
			;
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->lock);
		int ret = marker_put(m);
		if (ret) /* prune may then treat us as gone: publish checks catch that */
			log_warn("%s: cannot refresh the writer's marker: %s", m->key,
				 strerror(-ret));
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int marker_begin(struct store *s, const char *kind, uint64_t gen, struct marker **out)
{
	struct marker *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	uint8_t rnd[16];
	char hex[33];
	int ret;

	if (!m)
		return -ENOMEM;
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(m->key, sizeof(m->key), MARKER_PREFIX "%s", hex);
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
	m->s = s;
	m->gen = gen;
	m->started_ns = wall_ns();
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	ret = marker_put(m);
	if (!ret && pthread_create(&m->thread, NULL, refresher, m))
		ret = -EAGAIN;
	if (ret) {
		remote_delete(store_remote(s), m->key);
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void marker_end(struct marker *m)
{
	int ret;
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	ret = remote_delete(store_remote(m->s), m->key);
	if (ret && ret != -ENOENT) /* it expires; prune deletes it then */
		log_warn("%s: cannot delete the writer's marker: %s", m->key, strerror(-ret));
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}

const char *marker_key(const struct marker *m)
{
	return m->key;
}

/* ---- reading ---- */

static void parse(const uint8_t *data, size_t n, struct marker_info *mi)
{
	json_t *j = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *host = json_string_value(json_object_get(j, "host"));
	json_t *g = json_object_get(j, "gen"), *st = json_object_get(j, "started");
	json_t *rf = json_object_get(j, "refreshed"), *pid = json_object_get(j, "pid");

	if (json_integer_value(json_object_get(j, "v")) == 1 && kind && host &&
	    json_is_integer(g) && json_integer_value(g) >= 0 && json_is_integer(st) &&
	    json_is_integer(rf) && json_is_integer(pid)) {
		snprintf(mi->kind, sizeof(mi->kind), "%s", kind);
		snprintf(mi->host, sizeof(mi->host), "%s", host);
		mi->gen = (uint64_t)json_integer_value(g);
		mi->started_ns = json_integer_value(st);
		mi->refreshed_ns = json_integer_value(rf);
		mi->pid = (long)json_integer_value(pid);
		mi->valid = true;
	}
	json_decref(j);
}

int marker_list(struct store *s, struct marker_info **out, size_t *n)
{
	struct keylist k = {0};
	struct marker_info *v = NULL;
	size_t nv = 0;
	int ret = remote_list(store_remote(s), MARKER_PREFIX, keylist_collect, &k);

	if (ret >= 0) {
		v = calloc(k.n ? k.n : 1, sizeof(*v));
		ret = v ? 0 : -ENOMEM;
	}
	for (size_t i = 0; !ret && i < k.n; i++) {
		uint8_t *data = NULL;
		size_t len;
		int r = remote_get(store_remote(s), k.v[i], 0, 0, MARKER_MAX, &data, &len);
		if (r == -ENOENT)
			continue; /* its writer finished meanwhile */
		if (r && r != -EBADMSG) {
			ret = r;
			break;
		}
		snprintf(v[nv].key, sizeof(v[nv].key), "%s", k.v[i]);
		if (!r)
			parse(data, len, &v[nv]);
		nv++;
		free(data);
	}
	keylist_free(&k);
	if (ret < 0) {
		free(v);
		return ret;
	}
	*out = v;
	*n = nv;
	return 0;
}

bool marker_live(const struct marker_info *m, int64_t now_ns)
{
	return m->valid && m->refreshed_ns > now_ns - (int64_t)MARKER_EXPIRY_S * 1000000000;
}
