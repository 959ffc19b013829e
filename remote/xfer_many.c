/* xfer_many: parallel GETs (xfer_do_many, see xfer.h) on a pooled multi handle: each call
 * goes through the same attempt, classification and retry steps as xfer_do (xfer.c, shared
 * through xfer_int.h), at most max_inflight at once, waiting out backoffs between polls. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "xfer.h"
#include "xfer_int.h"

/* ---- the pool of multi handles (their connection caches) ---- */

static CURLM *multi_get(struct xfer *x)
{
	CURLM *m = NULL;

	pthread_mutex_lock(&x->lock);
	if (x->n_idle_multi)
		m = x->idle_multi[--x->n_idle_multi];
	pthread_mutex_unlock(&x->lock);
	if (!m && (m = curl_multi_init()))
		curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return m;
}

static void multi_put(struct xfer *x, CURLM *m)
{
	pthread_mutex_lock(&x->lock);
	if (x->n_idle_multi < MULTI_POOL_MAX) {
		x->idle_multi[x->n_idle_multi++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	if (m)
		curl_multi_cleanup(m);
}

/* ---- parallel GETs ---- */

struct many {
	struct xfer *x;
	CURLM *m;
	struct call *calls;
	size_t n, done, active;
};

/* Start every waiting call whose backoff is over, up to max_inflight at once. */
static void many_start(struct many *g)
{
	uint64_t now = xfer_now_ms();

	for (size_t i = 0; i < g->n && g->active < (size_t)g->x->max_inflight; i++) {
		struct call *c = &g->calls[i];
		int ret;

		if (c->done || c->active || c->wake_ms > now)
			continue;
		if (!c->easy && !(c->easy = xfer_easy_get(g->x))) {
			xfer_call_end(c, -ENOMEM);
			g->done++;
			continue;
		}
		ret = xfer_attempt_setup(c);
		if (ret == 0 && curl_multi_add_handle(g->m, c->easy) != CURLM_OK)
			ret = -EIO;
		if (ret < 0) {
			xfer_call_end(c, ret);
			g->done++;
			continue;
		}
		c->attempts++;
		c->active = 1;
		g->active++;
	}
}

static void many_reap(struct many *g)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(g->m, &left))) {
		struct call *c = NULL;
		int ret;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		curl_multi_remove_handle(g->m, c->easy);
		c->active = 0;
		g->active--;
		ret = xfer_attempt_finish(c, msg->data.result);
		if (ret == -EAGAIN)
			ret = xfer_schedule_retry(c);
		if (ret != -EAGAIN) {
			xfer_call_end(c, ret);
			g->done++;
		}
	}
}

/* How long to wait for network activity: until the next backoff ends, at most 1 s. */
static int many_wait_ms(const struct many *g)
{
	uint64_t now = xfer_now_ms(), next = now + 1000;

	for (size_t i = 0; i < g->n; i++) {
		const struct call *c = &g->calls[i];
		if (!c->done && !c->active && c->wake_ms < next)
			next = c->wake_ms > now ? c->wake_ms : now;
	}
	return (int)(next - now);
}

int xfer_do_many(struct xfer *x, const struct xfer_req *reqs, struct xfer_resp *resps, int *results,
		 size_t n)
{
	struct many g = {.x = x, .n = n};
	uint64_t start = xfer_now_ms();
	int running, ret = 0;

	g.calls = calloc(n ? n : 1, sizeof(*g.calls));
	g.m = multi_get(x);
	if (!g.calls || !g.m) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (xfer_call_init(x, &g.calls[i], &reqs[i], &resps[i], start) < 0) {
			xfer_call_end(&g.calls[i], -ENOMEM);
			g.done++;
		}
	}
	while (g.done < n) {
		many_start(&g);
		if (curl_multi_perform(g.m, &running) != CURLM_OK) {
			ret = -EIO;
			break;
		}
		many_reap(&g);
		if (g.done < n &&
		    curl_multi_poll(g.m, NULL, 0, many_wait_ms(&g), NULL) != CURLM_OK) {
			ret = -EIO;
			break;
		}
	}
out:
	for (size_t i = 0; g.calls && i < n; i++) {
		struct call *c = &g.calls[i];
		if (c->active)
			curl_multi_remove_handle(g.m, c->easy);
		if (!c->done)
			xfer_call_end(c, ret ? ret : -EIO);
		results[i] = c->result;
	}
	if (g.m)
		multi_put(x, g.m);
	free(g.calls);
	return ret;
}
