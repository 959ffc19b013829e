/* remote: the narrow interface to where a store's objects live.
 * Keys are relative object names ("packs/ab/abcd…", "heads/latest"); every backend is
 * thread-safe. Errors: -ENOENT missing object, -EEXIST create-only put lost, -EACCES
 * credentials refused, -ETIMEDOUT / -EIO after bounded retries, -EBADMSG hostile reply
 * (wrong length, oversize body), -EINVAL bad URL/options. */
#ifndef EMBASSY_REMOTE_H
#define EMBASSY_REMOTE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct remote;

struct remote_opts {
	const char *cacert;	 /* extra CA bundle (PEM) for TLS verification */
	const char *cert, *key;	 /* client certificate for mutual TLS */
	const char *s3_endpoint; /* for s3:// URLs */
	int timeout_s;		 /* total budget for one operation incl. retries (default 60) */
	int max_inflight;	 /* parallel transfers in remote_get_many (default 16) */
	const char *mirror_dir;	 /* keep copies of metadata objects here (mirror.c) */
	int offline;		 /* with mirror_dir: serve metadata from it, never the store */
	int mirror_fresh;	 /* with mirror_dir: serve no copy (still keep what verifies) */
};

enum { REMOTE_CREATE_ONLY = 1 };

/* url: plain path, file:///path, http(s)://host/prefix/, s3://bucket/prefix */
int remote_open(const char *url, const struct remote_opts *opts, struct remote **out);
void remote_free(struct remote *r);
/* Is the store a directory on this host (its objects already on a local disk, a read costs
 * no round trip)? Readers then skip their disk cache and read exactly what they need. */
bool remote_is_local(const struct remote *r);
/* Human-readable name for logs (URL without credentials). */
const char *remote_name(const struct remote *r);
/* The budget of one operation (timeout_s, after defaults), in ms. */
uint64_t remote_timeout_ms(const struct remote *r);

/* Read len bytes at off (len 0: whole object, bounded by max_len). *data malloc'd.
 * A ranged read that returns a different length is -EBADMSG, never short data. */
int remote_get(struct remote *r, const char *key, uint64_t off, uint64_t len, size_t max_len,
	       uint8_t **data, size_t *n);
/* A range (len > 0) into buf (len bytes), like remote_get; a local store reads straight
 * into buf. */
int remote_get_into(struct remote *r, const char *key, uint64_t off, uint64_t len, uint8_t *buf);
int remote_put(struct remote *r, const char *key, const void *data, size_t len, int flags);
int remote_delete(struct remote *r, const char *key);
/* 0 with *size, or -ENOENT. */
int remote_stat(struct remote *r, const char *key, uint64_t *size);
/* Calls cb for every key under prefix (e.g. "snapshots/"); stops with cb's non-zero result. */
int remote_list(struct remote *r, const char *prefix, int (*cb)(void *ctx, const char *key),
		void *ctx);

/* Ranged reads in parallel; each req gets its own result (0 or -errno) and malloc'd data.
 * Returns 0 if every request was issued (check each result), or -errno. */
/* len 0 means the whole object (at most 64 MiB); on success len is set to the bytes read. */
struct remote_req {
	const char *key;
	uint64_t off, len;
	uint8_t *data; /* out: malloc'd, len bytes */
	int result;    /* out */
};
int remote_get_many(struct remote *r, struct remote_req *reqs, size_t n);

/* The metadata mirror (remote/mirror.c; no-ops without one). It keeps only what the caller
 * has verified: remote_keep(key, bytes) once the object's signature/AEAD/trust checks passed
 * (data NULL for a key entry: the bytes this session fetched of it, if all fetches agreed).
 * remote_reject(key) when the bytes remote_get returned for key fail those checks: 1 if they
 * came from a local copy (this session then fetches key from the store: get it again), else
 * 0. remote_copies_served: how many gets a copy answered (0: all came from the store). */
void remote_keep(struct remote *r, const char *key, const void *data, size_t len);
int remote_reject(struct remote *r, const char *key);
size_t remote_copies_served(const struct remote *r);

/* Counters for tests and benchmarks. */
struct remote_stats {
	uint64_t gets, puts, lists, bytes_in, bytes_out, retries;
};
void remote_get_stats(const struct remote *r, struct remote_stats *out);

#endif
