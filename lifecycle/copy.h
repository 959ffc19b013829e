/* copy: bring a second embassy (DST) up to a store (SRC), ciphertext only.
 *
 * Objects are immutable except the head pointer, so a copy is: every object DST lacks —
 * packs and index objects, the manifests of the live snapshots, key entries, the descriptor,
 * the current snapshot-list generation — then the head pointer last. DST is the same store
 * (same id, same keys): any reader with the store's credentials reads either. An interrupted
 * copy leaves DST at its previous head with some more objects; running it again skips what
 * DST has (objects appear atomically under their final names) and finishes: resumable and
 * idempotent. DST can be any backend kind.
 *
 * What a copier can check depends on what it holds (docs/THREAT-MODEL.md 5.15):
 *   - the pinned signing key only (--trust FINGERPRINT, or the state file of an earlier
 *     read): the descriptor, head, list and every manifest verify, the head is no rollback,
 *     every listed manifest and every pack arrives whole (same size at DST as at SRC); it
 *     copies every pack, since it cannot read which ones the snapshots use;
 *   - a read key as well: it copies only the packs the live snapshots use, and the caller
 *     can verify DST like any store (verify, --read-data).
 * DST must hold no other store and must not be ahead of SRC (a newer or diverged list
 * generation is refused: copying would roll it back). Snapshots forgotten at SRC stay at DST
 * as unlisted manifests and unused packs until a prune of DST (sealer). */
#ifndef EMBASSY_COPY_H
#define EMBASSY_COPY_H
#include <stdbool.h>
#include <stdint.h>

#include "remote.h"
#include "store.h"
#include "trust.h"

struct copy_src {
	struct remote *r; /* SRC's objects */
	struct store *s;  /* opened with a read key, or NULL (keyless) */
	uint8_t sid[STORE_ID_LEN];
	char sid_hex[2 * STORE_ID_LEN + 1];
	uint8_t pk[SIGN_PK_LEN];
	const struct trust_opts *trust;
};

struct copy_progress {
	uint64_t objects_done, objects_total, bytes_done, bytes_total;
};

struct copy_opts {
	const char *const *snapshots; /* only these (ids or prefixes; needs a read key): their
				       * manifests and packs, not the head or list */
	size_t nsnapshots;
	int parallel; /* transfers in flight; 0: 4 */
	bool dry_run;
	void (*progress)(void *ctx, const struct copy_progress *p);
	void *progress_ctx;
};

struct copy_result {
	uint64_t objects, copied, skipped; /* objects considered, copied, already at DST */
	uint64_t bytes_copied, bytes_skipped;
	uint64_t snapshots, packs;
	uint64_t gen, seq; /* the SRC state copied */
	bool head_copied;  /* DST's head moved */
};

/* Keyless source: read SRC's descriptor and take its signing key only if it matches the
 * --trust fingerprint or the state file's for its store id (-EBADMSG otherwise; -ENOKEY when
 * neither exists: a keyless copier needs a pin). */
int copy_src_keyless(struct remote *r, const struct trust_opts *trust, struct copy_src *out);
/* Source from an opened store. */
int copy_src_store(struct store *s, const struct trust_opts *trust, struct copy_src *out);

/* -ENOENT: SRC has no snapshot; -EEXIST: DST holds another store, or objects that differ;
 * -ESTALE: DST is ahead of SRC or diverged; -EBADMSG: SRC (or DST after the copy) does not
 * verify; -EIO etc. from the backends. */
int copy_run(const struct copy_src *src, struct remote *dst, const struct copy_opts *o,
	     struct copy_result *res);

#endif
