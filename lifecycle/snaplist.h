/* snaplist: the signed list of live snapshots, and the shared state of garbage collection.
 *
 * Object lists/<gen as 16 hex digits>: a signed envelope (context "embassy-list-v1") naming
 * every live snapshot (id, seq), the packs prune has condemned and swept, and the list's
 * generation. The head pointer names the current generation and the BLAKE2b-256 of the
 * object's bytes (docs/FORMAT.md, "Snapshot list"). Readers list exactly the snapshots the
 * list names: a manifest the list names but the host does not serve is reported like a
 * deleted object; a manifest the list does not name is not a live snapshot (forgotten, or
 * left by an interrupted seal).
 *
 * Writers (seal, commit, forget, prune) never replace a list: each change is a new
 * generation, written with a create-only put of lists/<gen+1>. Whoever wins that put has
 * made the change; a loser re-reads the newer list and applies its edit again
 * (snaplist_update). That create-only put is the store's compare-and-swap: the head pointer
 * is only a signed cache of "the newest generation" plus freshness, rewritten after every
 * win, and writers that find a generation beyond the head adopt it (a writer died between
 * its list and its head, or is still writing). */
#ifndef EMBASSY_SNAPLIST_H
#define EMBASSY_SNAPLIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SNAPLIST_PREFIX "lists/"
#define SNAPLIST_MAX	(16u << 20) /* bytes of a list object */
#define SNAPLIST_MAX_N	(1u << 20)  /* entries of each kind */
#define SIGCTX_LIST	"embassy-list-v1"

struct snaplist_snap {
	uint8_t id[ID_LEN];
	uint64_t seq;
};

/* A pack in prune's care, with the generation at which it entered that state. */
struct snaplist_pack {
	uint8_t pack[PACK_ID_LEN];
	uint64_t gen;
};

struct snaplist {
	uint64_t gen;	 /* 0: no list object (a store sealed before lists, or empty) */
	int64_t time_ns; /* when this generation was signed */
	uint8_t hash[ID_LEN];
	struct snaplist_snap *snaps; /* by seq (then id), ascending */
	size_t nsnaps;
	/* unused packs prune will delete once no seal that may use them is running */
	struct snaplist_pack *condemned; /* by pack id */
	size_t ncondemned;
	/* packs prune has decided to delete (and deletes right after publishing this) */
	struct snaplist_pack *swept; /* by pack id */
	size_t nswept;
	/* prune's relocation table (reloc.h): BLAKE2b-256 of the relocs/ object's bytes */
	bool has_reloc;
	uint8_t reloc[ID_LEN];
};

void snaplist_clear(struct snaplist *l);
int snaplist_copy(struct snaplist *dst, const struct snaplist *src);
/* "lists/000000000000002a" */
void snaplist_key(uint64_t gen, char out[40]);

/* ---- codec (no store handle needed: the keyless copier uses it) ---- */
/* The signed object for l (sealer only). *obj malloc'd, NUL-terminated. */
int snaplist_encode(const struct store *s, const struct snaplist *l, char **obj, size_t *len);
/* Verify (signature under pk, store id, gen as named) and parse; fills out->hash. -EBADMSG
 * on anything forged or out of shape, -EPROTONOSUPPORT on a newer envelope format. */
int snaplist_decode(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN], uint64_t gen,
		    const uint8_t *obj, size_t n, struct snaplist *out);
/* BLAKE2b-256 (unkeyed) of an object's bytes, as the head names it. */
void snaplist_hash(const uint8_t *obj, size_t n, uint8_t out[ID_LEN]);

/* ---- reading ---- */
/* Fetch and verify lists/<gen>; with hash, the bytes must hash to it. -ENOENT if absent. */
int snaplist_fetch(struct store *s, uint64_t gen, const uint8_t *hash, struct snaplist *out);
/* The list a verified head names, checked against the head (its snapshot is the newest
 * entry, with the head's seq). A head without a list: -ENODATA. */
int snaplist_of_head(struct store *s, const struct head *h, struct snaplist *out);

/* Read the manifest of every listed snapshot (in parallel), in list order. Any that is
 * missing or does not verify: -EBADMSG, logged (writers must not act on a partial view). */
int snaplist_manifests(struct store *s, const struct snaplist *l, struct snapshot **out);

/* ---- lookups and edits (entries stay sorted) ---- */
const struct snaplist_snap *snaplist_find(const struct snaplist *l, const uint8_t id[ID_LEN]);
/* The entry the head must name: highest seq (the last one). NULL when empty. */
const struct snaplist_snap *snaplist_newest(const struct snaplist *l);
int snaplist_add(struct snaplist *l, const uint8_t id[ID_LEN], uint64_t seq);
bool snaplist_remove(struct snaplist *l, const uint8_t id[ID_LEN]);
const struct snaplist_pack *snaplist_pack_find(const struct snaplist_pack *v, size_t n,
					       const uint8_t pack[PACK_ID_LEN]);
int snaplist_pack_add(struct snaplist_pack **v, size_t *n, const uint8_t pack[PACK_ID_LEN],
		      uint64_t gen);
bool snaplist_pack_remove(struct snaplist_pack **v, size_t *n, const uint8_t pack[PACK_ID_LEN]);

/* ---- writing (sealer key) ---- */
/* The newest generation a writer must build on: the head's list, or a newer one found
 * beyond it. A store sealed before lists gives gen 0 holding every manifest that verifies
 * with a seq up to the head's; a store without a head gives an empty gen 0. */
int snaplist_current(struct store *s, struct snaplist *out);

/* Build generation cur->gen + 1 into next (a copy of cur with gen and time set). Called again
 * on every lost race, with the newer cur. Return 0 to publish, -ECANCELED to publish nothing
 * (snaplist_update then returns -ECANCELED), or -errno. */
typedef int (*snaplist_edit_fn)(void *ctx, const struct snaplist *cur, struct snaplist *next);

/* Apply edit as one signed generation: write lists/<gen> create-only, then the head (with
 * an expiry valid_for_s from now; 0: 7 days), then carry the head forward over any newer
 * generation another writer published meanwhile. *out (may be NULL) gets the published
 * list. -EAGAIN after too many lost races; -ENOENT when the result would name no snapshot
 * (a head must name one). */
int snaplist_update(struct store *s, snaplist_edit_fn edit, void *ctx, int64_t valid_for_s,
		    struct snaplist *out);

#endif
