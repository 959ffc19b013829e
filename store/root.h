/* root: the store's signed, versioned root document (docs/FORMAT.md 19; docs/KEYS.md 6).
 *
 * roots/<16 hex version> names the key that signs snapshots and lists (the snapshot key),
 * the key that may also sign the head pointer (the timestamp key, for refresh-head), the
 * officers' Ed25519 signing keys and how many of them must sign the next version, and the
 * snapshot keys retired by earlier versions with the last sequence each may still sign.
 *
 * Trust, as TUF's root rotation but anchored where embassy's anchors already are:
 *   version 1      signed by the store's original signing key (the descriptor's, the one
 *                  readers pinned) AND by `threshold` of its own officers;
 *   version N + 1  signed by `threshold` of version N's officers AND `threshold` of its
 *                  own, same store id, version exactly N + 1.
 * Readers walk 1, 2, … and never skip one. This module is pure (no I/O): it parses,
 * encodes, signs and checks one link; store_root.c fetches the chain. */
#ifndef EMBASSY_ROOT_H
#define EMBASSY_ROOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "sign.h"

#define SIGCTX_ROOT	   "embassy-root-v1"
#define ROOT_OFFICERS_MAX  32	       /* officers named by one version */
#define ROOT_SIGS_MAX	   64	       /* signatures carried by one version */
#define ROOT_RETIRED_MAX   64	       /* retired snapshot keys carried along */
#define ROOT_OBJECT_MAX	   (64 * 1024) /* one roots/<version> object, as fetched */
#define ROOT_CHAIN_MAX	   256	       /* versions a reader walks (beyond: -ELOOP) */
#define ROOT_VERSION_LIMIT INT64_MAX   /* versions are 1 … 2^63 − 1 */

struct root_retired {
	uint8_t pk[SIGN_PK_LEN];
	uint64_t max_seq; /* snapshots signed by pk are valid up to this sequence */
};

struct root {
	uint8_t store_id[STORE_ID_LEN];
	uint64_t version;
	int64_t time_ns;
	uint8_t snapshot_pk[SIGN_PK_LEN];
	uint8_t timestamp_pk[SIGN_PK_LEN];
	uint8_t officers[ROOT_OFFICERS_MAX][SIGN_PK_LEN]; /* sorted, distinct */
	unsigned nofficers, threshold;
	struct root_retired retired[ROOT_RETIRED_MAX];
	unsigned nretired;
	/* the signed text (as stored) and the signatures found beside it, unchecked */
	char *body;
	size_t body_len;
	uint8_t sig_pk[ROOT_SIGS_MAX][SIGN_PK_LEN];
	uint8_t sig[ROOT_SIGS_MAX][SIGN_LEN];
	unsigned nsigs;
};

/* Parse a roots/<version> object: shape and bounds only, no signature checked.
 * -EBADMSG malformed. */
int root_decode(const uint8_t *data, size_t n, struct root *out);
void root_clear(struct root *r);
/* BLAKE2b-256 of the signed body: what the trust state remembers of a version. */
void root_hash(const struct root *r, uint8_t out[32]);
/* How many distinct keys of keys[0..nkeys) made a valid signature over r's body. */
unsigned root_signers(const struct root *r, const uint8_t (*keys)[SIGN_PK_LEN], unsigned nkeys);
/* Version 1: store id sid, signed by origin (the store's original signing key) and by a
 * threshold of its own officers. -EBADMSG otherwise. */
int root_verify_first(const struct root *r, const uint8_t sid[STORE_ID_LEN],
		      const uint8_t origin[SIGN_PK_LEN]);
/* next follows prev: same store, version prev + 1, a threshold of prev's officers and a
 * threshold of its own. -EBADMSG otherwise. */
int root_verify_next(const struct root *prev, const struct root *next);
/* May a snapshot signed by pk with sequence seq be accepted under r? (r's snapshot key
 * always; a retired key up to its max_seq.) */
bool root_snapshot_key_ok(const struct root *r, const uint8_t pk[SIGN_PK_LEN], uint64_t seq);

/* Writing: set the fields, then root_seal_body (encodes the body from the fields and
 * drops any signatures), root_sign for each signer, root_envelope for the object. */
int root_seal_body(struct root *r);
int root_sign(struct root *r, const uint8_t sk[SIGN_SK_LEN]);
int root_envelope(const struct root *r, char **out);
/* Object name of a version: "roots/" + 16 hex digits. */
void root_object_name(uint64_t version, char out[32]);

/* ---- in a store (store_root.c) ---- */
struct store;
/* The newest root version verified at open; NULL when the store has none. */
const struct root *store_root(const struct store *s);
/* Write r as roots/<version>, create-only, after checking that it continues the chain the
 * store was opened with (version 1: signed by the store's original key and its officers).
 * -EBADMSG it does not; -EEXIST that version exists already. */
int store_root_put(struct store *s, const struct root *r);

#endif
