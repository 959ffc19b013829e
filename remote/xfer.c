/* xfer: see xfer.h. The handle and its pool of easy handles, the libcurl callbacks, one
 * attempt and how its outcome is classified, retries, and xfer_do. The parallel GETs
 * (xfer_do_many, with the pool of multi handles) are in xfer_many.c; xfer_int.h is what the
 * two share. */
#include "xfer.h"
#include "backend.h"
#include "deadline.h"
#include "secmem.h"
#include "xfer_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define MAX_ATTEMPTS	  10 /* hostile or broken replies (-EBADMSG): no use insisting */
#define LAST_TRY_MIN_MS	  50 /* less budget than this left: no further attempt */
#define BACKOFF_BASE_MS	  100
#define BACKOFF_CAP_MS	  5000
#define CONNECT_MS	  10000
#define LOW_SPEED_BYTES	  1024
#define LOW_SPEED_SECS	  15
#define DEFAULT_REPLY_MAX (1u << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint64_t xfer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *ctx)
{
	struct xfer *x = ctx;

	pthread_mutex_lock(&x->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	struct xfer *x = ctx;

	pthread_mutex_unlock(&x->share_lock[data]);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

int xfer_new(const struct xfer_cfg *cfg, struct xfer **out)
{
	const struct remote_opts *o = cfg->opts;
	struct xfer *x;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK || sodium_init() < 0)
		return -EIO;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&x->share_lock[i], NULL);
	x->cacert = dup_or_null(o->cacert);
	x->cert = dup_or_null(o->cert);
	x->key = dup_or_null(o->key);
	x->sigv4 = dup_or_null(cfg->sigv4);
	x->username = dup_or_null(cfg->username);
	if (cfg->password && (x->password = secmem_alloc(strlen(cfg->password) + 1)))
		strcpy(x->password, cfg->password);
	if ((cfg->username && !x->username) || (cfg->password && !x->password)) {
		xfer_free(x);
		return -ENOMEM;
	}
	x->denied_hint = dup_or_null(cfg->denied_hint);
	x->timeout_ms = (o->timeout_s > 0 ? o->timeout_s : 60) * 1000;
	x->max_inflight = o->max_inflight > 0 ? o->max_inflight : 16;
	x->share = curl_share_init();
	if (!x->share) {
		xfer_free(x);
		return -ENOMEM;
	}
	curl_share_setopt(x->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(x->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(x->share, CURLSHOPT_USERDATA, x);
	curl_share_setopt(x->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(x->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = x;
	return 0;
}

void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	while (x->n_idle)
		curl_easy_cleanup(x->idle[--x->n_idle]);
	while (x->n_idle_multi)
		curl_multi_cleanup(x->idle_multi[--x->n_idle_multi]);
	if (x->share)
		curl_share_cleanup(x->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&x->share_lock[i]);
	pthread_mutex_destroy(&x->lock);
	secmem_free(x->password);
	free(x->cacert);
	free(x->cert);
	free(x->key);
	free(x->sigv4);
	free(x->username);
	free(x->denied_hint);
	free(x);
}

uint64_t xfer_retries(struct xfer *x)
{
	return atomic_load(&x->retries);
}

void xfer_resp_free(struct xfer_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

CURL *xfer_easy_get(struct xfer *x)
{
	CURL *h = NULL;

	pthread_mutex_lock(&x->lock);
	if (x->n_idle)
		h = x->idle[--x->n_idle];
	pthread_mutex_unlock(&x->lock);
	return h ? h : curl_easy_init();
}

static void easy_put(struct xfer *x, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&x->lock);
	if (x->n_idle < POOL_MAX) {
		x->idle[x->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	if (h)
		curl_easy_cleanup(h);
}

char *xfer_escape(const char *s, int keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1), *p = o;

	if (!o)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hexd[c >> 4];
			*p++ = hexd[c & 15];
		}
	}
	*p = '\0';
	return o;
}

/* ---- callbacks ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct call *c = ud;
	struct xfer_resp *r = c->resp;
	size_t n = size * nmemb;

	if (n > c->cap - r->len) {
		c->overflow = 1;
		return 0; /* abort: a hostile or confused server must not fill our memory */
	}
	if (r->len + n + 1 > c->body_cap) {
		size_t want = c->body_cap ? c->body_cap : 16384;
		uint8_t *nb;
		while (want < r->len + n + 1)
			want *= 2;
		if (want > c->cap + 1 && c->cap + 1 >= r->len + n + 1)
			want = c->cap + 1;
		nb = realloc(r->body, want);
		if (!nb)
			return 0;
		r->body = nb;
		c->body_cap = want;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void parse_crange(struct call *c, const char *v)
{
	unsigned long long a, b, t;
	char star;

	if (sscanf(v, "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
		c->cr_total = t;
	} else if (sscanf(v, "bytes %llu-%llu/%c", &a, &b, &star) == 3 && star == '*') {
		c->cr_total = UINT64_MAX;
	} else {
		return;
	}
	c->cr_start = a;
	c->cr_end = b;
	c->has_crange = a <= b;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct call *c = ud;
	size_t n = size * nitems;
	char line[512];
	const char *colon, *v;

	copy_value(line, sizeof(line), buf, n);
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* a new header block (after 100 Continue): forget the previous one */
		c->has_crange = 0;
		c->location[0] = '\0';
		c->resp->etag[0] = '\0';
		c->resp->content_length = -1;
		return n;
	}
	colon = strchr(line, ':');
	if (!colon)
		return n;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (!strncasecmp(line, "content-range:", 14))
		parse_crange(c, v);
	else if (!strncasecmp(line, "etag:", 5))
		copy_value(c->resp->etag, sizeof(c->resp->etag), v, strlen(v));
	else if (!strncasecmp(line, "location:", 9))
		copy_value(c->location, sizeof(c->location), v, strlen(v));
	else if (!strncasecmp(line, "content-length:", 15))
		c->resp->content_length = strtoll(v, NULL, 10);
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nitems, void *ud)
{
	struct call *c = ud;
	size_t n = size * nitems, left = c->req->body_len - c->up_pos;

	if (n > left)
		n = left;
	memcpy(buf, (const uint8_t *)c->req->body + c->up_pos, n);
	c->up_pos += n;
	return n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct call *c = ud;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > c->req->body_len)
		return CURL_SEEKFUNC_FAIL;
	c->up_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* ---- one attempt ---- */

static int build_headers(struct call *c)
{
	const struct xfer_req *q = c->req;
	struct curl_slist *l = NULL, *t;
	char range[80];

	for (const char *const *h = q->headers; h && *h; h++) {
		if (!(t = curl_slist_append(l, *h)))
			goto fail;
		l = t;
	}
	if (q->off || q->len) {
		if (q->len)
			snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, q->off,
				 q->off + q->len - 1);
		else
			snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", q->off);
		if (!(t = curl_slist_append(l, range)))
			goto fail;
		l = t;
	}
	c->hdrs = l;
	return 0;
fail:
	curl_slist_free_all(l);
	return -ENOMEM;
}

static void set_method(struct call *c)
{
	const struct xfer_req *q = c->req;
	CURL *h = c->easy;

	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (q->has_body || !strcmp(q->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(h, CURLOPT_READDATA, c);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, c);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		if (strcmp(q->method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	} else if (strcmp(q->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

static void set_tls(struct call *c)
{
	struct xfer *x = c->x;
	CURL *h = c->easy;

	/* Verification stays on (the libcurl default); only the trust anchor can change. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (x->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, x->cacert);
	if (x->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, x->cert);
	if (x->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, x->key);
}

/* (Re)configure the easy handle for the next attempt; 0 or -ETIMEDOUT. */
int xfer_attempt_setup(struct call *c)
{
	struct xfer *x = c->x;
	CURL *h = c->easy;
	uint64_t now = xfer_now_ms();
	long left;

	if (now >= c->deadline_ms)
		return -ETIMEDOUT;
	left = (long)(c->deadline_ms - now);
	xfer_resp_free(c->resp);
	c->resp->status = 0;
	c->resp->content_length = -1;
	c->resp->etag[0] = '\0';
	c->body_cap = 0;
	c->up_pos = 0;
	c->overflow = 0;
	c->has_crange = 0;
	c->location[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_reset(h); /* keeps live connections and caches */
	curl_easy_setopt(h, CURLOPT_URL, c->req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(h, CURLOPT_SHARE, x->share);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left < CONNECT_MS ? left : CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_SECS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	if (x->sigv4)
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, x->sigv4);
	if (x->username)
		curl_easy_setopt(h, CURLOPT_USERNAME, x->username);
	if (x->password)
		curl_easy_setopt(h, CURLOPT_PASSWORD, x->password);
	set_tls(c);
	set_method(c);
	return 0;
}

/* ---- classification ---- */

static int is_get(const struct call *c)
{
	return !strcmp(c->req->method, "GET");
}

static int retry_with(struct call *c, int err, const char *why)
{
	c->last_err = err;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return -EAGAIN;
}

static int tls_refused(struct call *c, const char *what)
{
	remote_log("%s %s: TLS refused (%s): %s", c->req->method, c->req->url,
		   c->errbuf[0] ? c->errbuf : "handshake failed", what);
	return -EACCES;
}

static int os_errno(const struct call *c)
{
	long e = 0;

	curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &e);
	return (int)e;
}

static int classify_curl(struct call *c, CURLcode cc)
{
	char why[sizeof(c->why)];

	snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return retry_with(c, -ETIMEDOUT, why);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		if (strstr(why, "certificate required") || strstr(why, "bad certificate") ||
		    strstr(why, "unknown ca"))
			return tls_refused(c, "the server wants a client certificate it trusts "
					      "(--cert/--key or EMBASSY_CERT/EMBASSY_KEY)");
		if (cc == CURLE_COULDNT_CONNECT && os_errno(c) == ECONNREFUSED)
			return retry_with(c, -ECONNREFUSED, "connection refused");
		return retry_with(c, cc == CURLE_PARTIAL_FILE ? -EBADMSG : -EIO, why);
	case CURLE_SSL_CONNECT_ERROR:
		/* a reset during the handshake is transient; a refused handshake is not */
		if (++c->tls_attempts < 3 && !strstr(why, "alert"))
			return retry_with(c, -EIO, why);
		return tls_refused(c, "check the client certificate (--cert/--key)");
	case CURLE_PEER_FAILED_VERIFICATION:
		return tls_refused(c, "the server certificate is not trusted: check --cacert "
				      "or EMBASSY_CACERT");
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
		return tls_refused(c, "check the certificate and key files");
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		/* garbage on a connection (a proxy or server that broke mid-reply): retry */
		return retry_with(c, -EBADMSG, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* curl 7.88 reports a reply without a status line ("HTTP/0.9") this way */
		if (strstr(why, "HTTP/0.9"))
			return retry_with(c, -EBADMSG, why);
		remote_log("%s: %s", c->req->url, why);
		return -EINVAL;
	case CURLE_URL_MALFORMAT:
		remote_log("%s: %s", c->req->url, why);
		return -EINVAL;
	default:
		remote_log("%s %s: %s", c->req->method, c->req->url, why);
		return -EIO;
	}
}

/* The reply to a ranged GET must be exactly the bytes asked for. */
static int check_range(struct call *c, long st)
{
	const struct xfer_req *q = c->req;
	struct xfer_resp *r = c->resp;
	uint64_t want = q->len;

	if (st == 206) {
		if (!c->has_crange || c->cr_start != q->off ||
		    c->cr_end - c->cr_start + 1 != r->len)
			goto bad;
		if (want ? r->len != want
			 : (c->cr_total != UINT64_MAX && c->cr_end + 1 != c->cr_total))
			goto bad; /* e.g. a range beyond the end of the object */
		return 0;
	}
	/* 200: the server ignored Range; accept only a complete object, then slice it. */
	if (r->content_length < 0 || (uint64_t)r->content_length != r->len || q->off > r->len ||
	    (want && want > r->len - q->off))
		goto bad;
	if (!want)
		want = r->len - q->off;
	memmove(r->body, r->body + q->off, want);
	r->len = want;
	r->body[r->len] = '\0';
	return 0;
bad:
	remote_log("GET %s: reply (HTTP %ld, %zu bytes) does not match the range %" PRIu64
		   "+%" PRIu64,
		   q->url, st, r->len, q->off, q->len);
	return -EBADMSG;
}

static int is_passed(const struct call *c, long st)
{
	for (const int *p = c->req->pass; p && *p; p++)
		if (*p == st)
			return 1;
	return 0;
}

static int classify_status(struct call *c, long st)
{
	const struct xfer_req *q = c->req;
	char why[64];

	if (st >= 200 && st < 300) {
		if (is_get(c) && (q->off || q->len))
			return check_range(c, st);
		if (is_get(c) && st != 200)
			return -EBADMSG; /* a whole-object GET answered with a part */
		return 0;
	}
	if (is_passed(c, st))
		return 0;
	if (st >= 300 && st < 400) {
		remote_log("%s %s: refusing redirect (HTTP %ld) to %s", q->method, q->url, st,
			   c->location[0] ? c->location : "(no location)");
		return -EBADMSG;
	}
	switch (st) {
	case 401:
	case 403:
		remote_log("access denied (HTTP %ld) for %s %s: %s", st, q->method, q->url,
			   c->x->denied_hint ? c->x->denied_hint : "check credentials");
		return -EACCES;
	case 404:
	case 410:
		return -ENOENT;
	case 412:
		return -EEXIST;
	case 416:
		return -EBADMSG;
	case 408:
	case 429:
		break;
	case 400:
		if (c->resp->body && strstr((char *)c->resp->body, "SSL certificate")) {
			remote_log("%s %s: the server requires a valid client certificate "
				   "(mutual TLS): pass --cert/--key or EMBASSY_CERT/EMBASSY_KEY",
				   q->method, q->url);
			return -EACCES;
		}
		/* fallthrough */
	default:
		if (st < 500) {
			remote_log("%s %s: unexpected HTTP %ld", q->method, q->url, st);
			return -EIO;
		}
	}
	snprintf(why, sizeof(why), "HTTP %ld", st);
	return retry_with(c, -EIO, why);
}

/* 0 done, -EAGAIN retry, other -errno final. */
int xfer_attempt_finish(struct call *c, CURLcode cc)
{
	long st = 0;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
	c->resp->status = st;
	if (cc == CURLE_WRITE_ERROR && c->overflow) {
		char why[64];

		if (st < 200 || st >= 300)
			return classify_status(c, st); /* a long error page: the status counts */
		if (c->resp->content_length > 0 && (uint64_t)c->resp->content_length > c->cap) {
			/* the server says the object is this big: asking again will not help */
			remote_log("%s %s: reply of %lld bytes exceeds the limit of %zu",
				   c->req->method, c->req->url, (long long)c->resp->content_length,
				   c->cap);
			return -EBADMSG;
		}
		snprintf(why, sizeof(why), "reply longer than %zu bytes", c->cap);
		return retry_with(c, -EBADMSG, why);
	}
	if (cc != CURLE_OK)
		return classify_curl(c, cc);
	return classify_status(c, st);
}

/* The last word on a call that is given up. A server that refuses connections says so
 * (never "timed out"); a budget spent waiting is a time-out. */
static int give_up(struct call *c, uint64_t now)
{
	const char *m = c->req->method, *u = c->req->url;
	double secs = (double)(now - c->start_ms) / 1000;

	if (c->last_err == -ECONNREFUSED) {
		remote_log("%s %s: connection refused (%d attempts in %.1f s%s)", m, u, c->attempts,
			   secs, c->by_reader ? ", the reader's budget" : "");
		return -ECONNREFUSED;
	}
	if (c->last_err == -ETIMEDOUT ||
	    (c->last_err == -EIO && now >= c->deadline_ms - LAST_TRY_MIN_MS)) {
		remote_log("%s %s: timed out after %.1f s (%s%d attempts; last: %s)", m, u, secs,
			   c->by_reader ? "the reader's budget; " : "", c->attempts, c->why);
		return -ETIMEDOUT;
	}
	remote_log("%s %s: giving up after %d attempts in %.1f s: %s", m, u, c->attempts, secs,
		   c->why);
	return c->last_err;
}

/* After a failed attempt: when to try again, or the final error. The whole budget is used
 * (a server that comes back within it is reached), never more: an attempt is given the time
 * left, and a backoff that would end past the deadline is cut to half of what is left. */
int xfer_schedule_retry(struct call *c)
{
	uint64_t now = xfer_now_ms(), delay, left;
	unsigned shift = c->attempts < 6 ? (unsigned)c->attempts : 6;

	left = c->deadline_ms > now ? c->deadline_ms - now : 0;
	if (left < LAST_TRY_MIN_MS || (c->last_err == -EBADMSG && c->attempts >= MAX_ATTEMPTS))
		return give_up(c, now);
	delay = (uint64_t)BACKOFF_BASE_MS << shift;
	if (delay > BACKOFF_CAP_MS)
		delay = BACKOFF_CAP_MS;
	delay = delay / 2 + randombytes_uniform((uint32_t)(delay / 2 + 1)); /* jitter */
	if (delay >= left)
		delay = left / 2;
	atomic_fetch_add(&c->x->retries, 1);
	c->wake_ms = now + delay;
	return -EAGAIN;
}

static void sleep_until(uint64_t when)
{
	uint64_t now = xfer_now_ms(), ms = when > now ? when - now : 0;
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int xfer_call_init(struct xfer *x, struct call *c, const struct xfer_req *q, struct xfer_resp *resp,
		   uint64_t start)
{
	memset(c, 0, sizeof(*c));
	memset(resp, 0, sizeof(*resp));
	c->x = x;
	c->req = q;
	c->resp = resp;
	c->start_ms = start;
	/* the operation's own budget, or the reader's deadline (deadline.h) if that is sooner */
	c->deadline_ms = deadline_cap(start + (uint64_t)x->timeout_ms);
	c->by_reader = c->deadline_ms < start + (uint64_t)x->timeout_ms;
	c->last_err = -EIO;
	if (q->max_len)
		c->cap = q->max_len;
	else
		c->cap = is_get(c) ? SIZE_MAX - 1 : DEFAULT_REPLY_MAX;
	if (is_get(c) && q->len && q->len > c->cap)
		c->cap = (size_t)q->len; /* a range is its own bound */
	return build_headers(c);
}

void xfer_call_end(struct call *c, int result)
{
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	if (result < 0)
		xfer_resp_free(c->resp);
	easy_put(c->x, c->easy);
	c->easy = NULL;
	c->resp->attempts = c->attempts;
	c->done = 1;
	c->result = result;
}

int xfer_do(struct xfer *x, const struct xfer_req *req, struct xfer_resp *resp)
{
	struct call c;
	int ret = xfer_call_init(x, &c, req, resp, xfer_now_ms());

	if (ret < 0)
		return ret;
	c.easy = xfer_easy_get(x);
	if (!c.easy) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ret = xfer_attempt_setup(&c);
		if (ret < 0)
			break;
		c.attempts++;
		ret = xfer_attempt_finish(&c, curl_easy_perform(c.easy));
		if (ret != -EAGAIN)
			break;
		ret = xfer_schedule_retry(&c);
		if (ret != -EAGAIN)
			break;
		sleep_until(c.wake_ms);
	}
out:
	xfer_call_end(&c, ret);
	return ret;
}
