/* xfer: the libcurl machinery shared by the HTTP(S)/WebDAV and S3 backends.
 *
 * One xfer per backend: TLS settings, a mutex-protected pool of easy handles (each keeps its
 * connections alive between operations: keep-alive, HTTP/2 where the server offers it), a
 * pool of multi handles for parallel GETs, and a share of DNS + TLS sessions.
 * Every operation has a total deadline (opts->timeout_s) covering all its attempts; attempts
 * are retried with exponential backoff and jitter on 5xx, 408, 429, connection failures and
 * resets, timeouts, truncated or over-long bodies; never on 401/403 (-EACCES, logged once),
 * 404 (-ENOENT), 412 (-EEXIST), TLS verification failures (-EACCES) or redirects (-EBADMSG;
 * redirects are never followed).
 * Ranged GETs are checked here: 206 with the exact Content-Range and length, or a 200 whose
 * body is exactly the whole object (then sliced); anything else is -EBADMSG, never short data. */
#ifndef EMBASSY_XFER_H
#define EMBASSY_XFER_H
#include "remote.h"

#include <stddef.h>
#include <stdint.h>

struct xfer;

struct xfer_cfg {
	const struct remote_opts *opts; /* cacert, cert, key, timeout_s, max_inflight */
	const char *sigv4;		/* CURLOPT_AWS_SIGV4 value, or NULL */
	/* SigV4 access key and secret, or HTTP basic auth; never part of a URL (which reaches
	 * logs): handed to libcurl as CURLOPT_USERNAME / CURLOPT_PASSWORD. NULL: none. */
	const char *username, *password;
	const char *denied_hint; /* printed with 401/403, e.g. which credentials to check */
};

struct xfer_req {
	const char *method;	    /* GET HEAD PUT POST DELETE MKCOL MOVE PROPFIND */
	const char *url;	    /* fully encoded */
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const void *body;	    /* request body, sent when has_body */
	size_t body_len;
	int has_body;
	uint64_t off, len; /* GET byte range; len 0 = to the end; 0,0 = whole object */
	size_t max_len;	   /* reply body bound (0: unbounded for GET, 1 MiB otherwise) */
	const int *pass;   /* 0-terminated statuses handed back as success (e.g. MKCOL 405) */
};

struct xfer_resp {
	long status;
	uint8_t *body; /* malloc'd, NUL-terminated (not counted in len); NULL if empty */
	size_t len;
	int64_t content_length; /* -1 when the reply had none */
	char etag[160];
	int attempts; /* set on success and failure: >1 means a reply may have been lost */
};

int xfer_new(const struct xfer_cfg *cfg, struct xfer **out);
void xfer_free(struct xfer *x);
/* Attempts retried so far (thread-safe). */
uint64_t xfer_retries(struct xfer *x);

/* One operation with retries; 0 with *resp filled (free with xfer_resp_free) or -errno. */
int xfer_do(struct xfer *x, const struct xfer_req *req, struct xfer_resp *resp);
/* n operations in parallel (at most opts->max_inflight at once), each with its own retries
 * and the shared deadline; results[i] is 0 (resps[i] filled) or -errno. Returns 0 or -errno
 * if the batch could not be run at all. */
int xfer_do_many(struct xfer *x, const struct xfer_req *reqs, struct xfer_resp *resps, int *results,
		 size_t n);
void xfer_resp_free(struct xfer_resp *resp);

/* Percent-encode for a URL path ('/' kept when keep_slash) or an S3 query value
 * (RFC 3986 unreserved kept, everything else %XX). malloc'd. */
char *xfer_escape(const char *s, int keep_slash);

#endif
