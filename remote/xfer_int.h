/* xfer_int: what xfer.c and xfer_many.c share (neither is for the backends, which use
 * xfer.h): the xfer handle with its pools, the state of one call across its attempts, and the
 * steps of a call, driven one at a time by xfer_do (xfer.c) or many at once on a multi handle
 * by xfer_do_many (xfer_many.c). */
#ifndef EMBASSY_XFER_INT_H
#define EMBASSY_XFER_INT_H
#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xfer.h"

#define POOL_MAX       32
#define MULTI_POOL_MAX 4

struct xfer {
	/* Immutable after xfer_new: */
	char *cacert, *cert, *key, *sigv4, *username, *denied_hint;
	char *password; /* secmem */
	int timeout_ms, max_inflight;
	CURLSH *share; /* DNS + TLS sessions; curl locks it through share_lock[] */
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];

	pthread_mutex_t lock;		   /* guards the two pools below */
	CURL *idle[POOL_MAX];		   /* idle easy handles, each with its live connections */
	size_t n_idle;			   /* guarded by lock */
	CURLM *idle_multi[MULTI_POOL_MAX]; /* idle multi handles (their connection caches) */
	size_t n_idle_multi;		   /* guarded by lock */

	_Atomic uint64_t retries; /* no lock: atomic */
};

/* State of one operation across its attempts; owned by one thread at a time. */
struct call {
	struct xfer *x;
	const struct xfer_req *req;
	struct xfer_resp *resp;
	CURL *easy;
	struct curl_slist *hdrs;
	size_t up_pos;	 /* upload read position */
	size_t cap;	 /* reply body bound */
	size_t body_cap; /* allocated size of resp->body */
	int overflow;	 /* the reply exceeded cap */
	int has_crange;
	uint64_t cr_start, cr_end, cr_total; /* Content-Range; cr_total UINT64_MAX for '*' */
	char location[256];
	char errbuf[CURL_ERROR_SIZE];
	char why[CURL_ERROR_SIZE]; /* reason of the last failed attempt, for the final log line */
	int attempts, tls_attempts;
	int last_err;
	uint64_t start_ms, deadline_ms, wake_ms;
	int by_reader; /* deadline_ms is the reader's (deadline.h), not the operation's budget */
	int active, done, result;
};

/* Monotonic clock, milliseconds. */
uint64_t xfer_now_ms(void);
/* An easy handle from the pool, or a new one; NULL when out of memory. */
CURL *xfer_easy_get(struct xfer *x);
/* Set up c for req (resp cleared), its deadline counted from start; 0 or -ENOMEM. */
int xfer_call_init(struct xfer *x, struct call *c, const struct xfer_req *q, struct xfer_resp *resp,
		   uint64_t start);
/* The call is over with result: frees its headers (and resp on failure), returns its easy
 * handle to the pool, sets done and result. */
void xfer_call_end(struct call *c, int result);
/* (Re)configure the easy handle for the next attempt; 0 or -ETIMEDOUT. */
int xfer_attempt_setup(struct call *c);
/* After an attempt: 0 done, -EAGAIN retry, other -errno final. */
int xfer_attempt_finish(struct call *c, CURLcode cc);
/* After a failed attempt: -EAGAIN with c->wake_ms set, or the final error. */
int xfer_schedule_retry(struct call *c);

#endif
