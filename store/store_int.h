/* store_int: the store handle's fields, shared by the store_*.c files only. */
#ifndef EMBASSY_STORE_INT_H
#define EMBASSY_STORE_INT_H
#include <jansson.h>

#include "cache.h"
#include "store.h"
#include "store_write.h"
#include "trust.h"

#define BUNDLE_MAGIC	  "EMBKEYS1"
#define BUNDLE_LEN	  (8 + STORE_ID_LEN + KEY_LEN + SIGN_PK_LEN)
#define DESCRIPTOR_KEY	  "embassy.json"
#define HEAD_KEY	  "heads/latest"
#define SIGCTX_DESCRIPTOR "embassy-descriptor-v1"
#define SIGCTX_SNAPSHOT	  "embassy-snapshot-v1"
#define SIGCTX_HEAD	  "embassy-head-v1"
#define SNAP_MAGIC	  "EMBSNAP1"
#define PACK_MAGIC	  "EMBPACK1"
/* The host can list any number of names under snapshots/: a listing that accumulates them
 * stops at this many (centuries of nightly seals; forget keeps a store far below it) instead of
 * holding and fetching whatever the host makes up. */
#define SNAPSHOT_NAMES_MAX 100000
#define SMALL_OBJECT_MAX   (1u << 20) /* descriptor, key entries, head pointer */

/* Immutable after store_open except the cache, which locks itself. */
struct store {
	struct remote *remote;
	struct keys *keys;
	uint8_t store_id[STORE_ID_LEN];
	char store_id_hex[2 * STORE_ID_LEN + 1];
	uint8_t sign_pk[SIGN_PK_LEN];
	uint8_t *sign_sk; /* secmem; NULL unless opened with a sealer key */
	uint32_t ck_min, ck_avg, ck_max;
	int format; /* from the signed descriptor: STORE_FORMAT_MIN..STORE_FORMAT */
	struct cache *cache;
	struct store_fetch_hook *hook; /* optional persistent cache (set by the mount) */
	struct trust_opts trust;
	char kept_entry[64]; /* the key entry that opened it: the mount's mirror keeps it */
	/* Several embassies (store_copies.c): every mirror's descriptor when the first copy
	 * did not verify, and which one did; the bytes of the key entry that opened the store
	 * when they are not the copy first read. NULL / 0 otherwise. */
	struct store_copies *desc_copies;
	bool desc_other;
	size_t desc_good;
	uint8_t *kept_bytes;
	size_t kept_len;
	/* The root document (store_root.c, docs/FORMAT.md 19). sign_pk above stays the store's
	 * original key (descriptor, key bundles, the readers' pin); snap_pk is the key that
	 * signs snapshots and lists now: the newest root's snapshot key, else sign_pk. */
	struct root *root; /* NULL: the store has no root document */
	uint8_t snap_pk[SIGN_PK_LEN];
	uint8_t seal_pk[SIGN_PK_LEN]; /* the sealer key file's own key (sign_sk's public half) */
	uint8_t *ts_sk;		      /* secmem: a timestamp key for refresh-head, else NULL */
	struct store_reloc *reloc;    /* prune's relocation table, once loaded (store_reloc.c) */
};

void store_reloc_free(struct store_reloc *rl);

/* An object that opens the store (descriptor, key entry) from every mirror of a store
 * served by several embassies (store_copies.c): tried when the copy first read fails. */
#define STORE_COPIES_MAX 16
struct store_copies {
	struct remote_copy c[STORE_COPIES_MAX];
	size_t m;
	bool fetched;
};
/* 0 if data (n bytes) is a good copy; an error otherwise. */
typedef int (*store_copy_fn)(void *ctx, const uint8_t *data, size_t n);
/* Of one store: first_ret. Else key from every mirror (once per cs), each distinct copy other
 * than tried (NULL: none tried) passed to try_copy in URL order: 0 with *good the first that
 * passes, else first_ret (or -ENOMEM). */
int store_copies_try(struct remote *r, const char *key, struct store_copies *cs,
		     const uint8_t *tried, size_t ntried, int first_ret, store_copy_fn try_copy,
		     void *ctx, size_t *good);
/* Report the mirrors whose copy of key differs from cs->c[good] and skip them for key. */
void store_copies_report(struct remote *r, const char *key, const struct store_copies *cs,
			 size_t good);
void store_copies_free(struct store_copies *cs);

/* The descriptor (store_desc.c). store_desc_peek: 0 if data is an envelope of a format this
 * reader knows (no signature checked: before authentication; -EPROTONOSUPPORT, -EBADMSG).
 * store_desc_store_id: the store id it claims, unauthenticated. store_desc_check: verified
 * against s->sign_pk and s->store_id (several embassies: each mirror's copy in turn); sets the
 * format and chunker parameters. */
int store_desc_peek(const uint8_t *data, size_t n);
int store_desc_store_id(const uint8_t *desc, size_t n, uint8_t id[STORE_ID_LEN]);
int store_desc_check(struct store *s, const uint8_t *data, size_t n);

/* Authenticate with a's credentials against the descriptor desc (store_unlock.c): sets the
 * store id, signing key(s), keys and the key entry kept; -ENOKEY when nothing opens it. */
int store_unlock(struct store *s, const struct store_auth *a, const uint8_t *desc, size_t desc_len);

/* Walk and verify the root document chain (store_root.c); sets root and snap_pk. */
int store_root_load(struct store *s);
/* A signed envelope made with a given key (the head with the timestamp key). */
int store_envelope_sign(const uint8_t *sk, int format, const char *ctx, json_t *body, char **out);

/* A failure to reach the store (timeout, refused, reset, I/O), not of integrity: the cache
 * remembers it a moment (cache.h). */
bool store_err_transport(int err);

/* A listing leaves out a snapshot of a key epoch the store's keys lack: warn, once. */
void store_note_epoch_hidden(void);

/* 0 while a listing has collected fewer than SNAPSHOT_NAMES_MAX snapshot names; then logs why
 * and returns -E2BIG, which ends the listing. */
int store_snapnames_bound(size_t n);

#endif
