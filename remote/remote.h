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

/* Several embassies as one store (remote/multi.c): "URL1,URL2,..." opens one remote over
 * all of them. Reads go to the fastest mirror that answers and fail over to the others;
 * writes are refused (-EROFS). A comma always separates stores (docs/CLI.md: a literal comma
 * in an http(s):// or s3:// URL is written %2C; a local directory whose name holds a comma
 * is taken whole when it exists). */
bool remote_url_is_multi(const char *url);
/* How many mirrors r reads from (1 for an ordinary store). */
size_t remote_mirrors(const struct remote *r);
/* Mirror i's name for logs (credentials starred). */
const char *remote_mirror_name(const struct remote *r, size_t i);
/* A whole object (at most max_len) from mirror i alone: the head checks ask every mirror.
 * For an ordinary store, i 0 is remote_get. */
int remote_get_from(struct remote *r, size_t i, const char *key, size_t max_len, uint8_t **data,
		    size_t *n);
/* key (whole, at most max_len) from every mirror at once, out[i] from mirror i (out: room for
 * remote_mirrors(r)); of one store, out[0] from remote_get. Free with remote_copies_free. */
struct remote_copy {
	uint8_t *data;
	size_t n;
	int ret; /* 0, or why mirror i gave nothing */
};
void remote_get_all(struct remote *r, const char *key, size_t max_len, struct remote_copy *out);
void remote_copies_free(struct remote_copy *c, size_t n);
/* Mirror i served bytes of key (from remote_get_all) that fail verification: report it and
 * skip it for key from now on. 1 while another mirror may still serve key. */
int remote_reject_from(struct remote *r, size_t i, const char *key);
/* What the head checks found at a mirror, for its stats. */
enum {
	REMOTE_HEAD_UNKNOWN,
	REMOTE_HEAD_CURRENT,
	REMOTE_HEAD_OLDER,
	REMOTE_HEAD_BAD,
	REMOTE_HEAD_MISSING,
	REMOTE_HEAD_UNREACHABLE
};
void remote_note_head(struct remote *r, size_t i, int state, uint64_t seq);
struct remote_mirror_stats {
	const char *name;
	uint64_t gets;	   /* requests it answered */
	uint64_t bytes;	   /* bytes it served */
	uint64_t failures; /* requests it failed (unreachable, refused, timed out) */
	uint64_t missing;  /* objects it lacked that another mirror had or might have */
	uint64_t rejected; /* objects whose bytes from it failed verification: skipped */
	uint64_t cost_us;  /* smoothed cost of a request (latency-aware choice) */
	int head;	   /* REMOTE_HEAD_* */
	uint64_t head_seq; /* the sequence of the head it served (when it verified) */
	bool down;	   /* cooling down after failures */
};
/* 0 with *out for mirror i < remote_mirrors(r), else -EINVAL. */
int remote_mirror_stats(const struct remote *r, size_t i, struct remote_mirror_stats *out);
/* A line per mirror in the log (after a mount, a restore, a verify). No-op for one store. */
void remote_log_mirrors(const struct remote *r);

/* Counters for tests and benchmarks. */
struct remote_stats {
	uint64_t gets, puts, lists, bytes_in, bytes_out, retries;
};
void remote_get_stats(const struct remote *r, struct remote_stats *out);

#endif
