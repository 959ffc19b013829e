/* backend: what a remote backend implements (see remote.h for the contract of each call). */
#ifndef EMBASSY_BACKEND_H
#define EMBASSY_BACKEND_H
#include "remote.h"

struct backend_ops {
	int (*get)(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		   uint8_t **data, size_t *n);
	int (*put)(void *be, const char *key, const void *data, size_t len, int flags);
	int (*del)(void *be, const char *key);
	int (*stat)(void *be, const char *key, uint64_t *size);
	int (*list)(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx);
	/* optional: parallel ranged reads; remote.c falls back to serial get. remote.c has
	 * validated the requests: skip those whose result is already non-zero. */
	int (*get_many)(void *be, struct remote_req *reqs, size_t n);
	/* optional: a range (len > 0, validated) read into the caller's buffer, no copy;
	 * remote.c falls back to get + copy */
	int (*get_into)(void *be, const char *key, uint64_t off, uint64_t len, uint8_t *buf);
	void (*free)(void *be);
	/* optional: how many attempts were retried so far (for remote_get_stats) */
	uint64_t (*retries)(void *be);
	/* optional, the metadata mirror's (see remote.h: remote_keep, remote_reject) */
	void (*keep)(void *be, const char *key, const void *data, size_t len);
	int (*reject)(void *be, const char *key);
	size_t (*copies_served)(void *be);
};

/* Create-only puts (REMOTE_CREATE_ONLY) in every backend: -EEXIST if the key holds other
 * bytes; 0 if it already holds exactly these bytes. Over a network a put may be resent after
 * its reply was lost and then find its own object; identical bytes (random nonces, signed
 * content) can only come from the same write, so that is success, everywhere alike. */

/* One log line through store/log (stderr, a log file or syslog), prefixed "remote: ", for
 * errors worth a human's attention. Host-chosen bytes in it are escaped by the logger. */
void remote_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0 if key is a valid object name ([A-Za-z0-9._/-], no "..", no leading or double "/",
 * no trailing "/", no component starting with ".tmp."), else -EINVAL. */
int remote_key_check(const char *key);
/* Same rules for a listing prefix, which may be empty or end in "/". */
int remote_prefix_check(const char *prefix);
/* Name prefix of temporary objects (create-only puts); listings skip them. */
#define REMOTE_TMP_PREFIX ".tmp."

int local_backend_open(const char *path, void **be, const struct backend_ops **ops);
int http_backend_open(const char *url, const struct remote_opts *o, void **be,
		      const struct backend_ops **ops);
int s3_backend_open(const char *url, const struct remote_opts *o, void **be,
		    const struct backend_ops **ops);

#endif
