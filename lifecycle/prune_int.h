/* prune_int: the state prune.c and prune_inv.c share. One thread owns it. */
#ifndef EMBASSY_PRUNE_INT_H
#define EMBASSY_PRUNE_INT_H
#include "dedup.h"
#include "marker.h"
#include "packset.h"
#include "prune.h"
#include "reloc.h"
#include "snaplist.h"

/* A place a live snapshot's (relocated) trees name, with the record's type. */
struct live_place {
	struct rec_ref ref;
	uint8_t type;
};

/* An index object and the pack it describes. */
struct inv_index {
	char key[80];
	uint8_t pack[PACK_ID_LEN];
};

struct pruner {
	struct store *s;
	const struct prune_opts *o;
	struct prune_result *r;
	/* what the live snapshots use */
	struct dedup *snaps_seen; /* snapshot ids walked */
	struct dedup *trees_seen; /* tree record ids walked */
	struct dedup *recs_seen;  /* record ids counted in used */
	struct packset *used;	  /* pack -> bytes of its records in use */
	struct live_place *live;  /* every place named, in walk order (repack sorts it) */
	size_t nlive, caplive;
	struct reloc base; /* the relocation table of the list prune started from */
	bool base_has;
	uint8_t base_hash[ID_LEN];
	struct packset *present;   /* pack -> object size, as listed at the start */
	struct packset *gone;	   /* packs deleted since (by this prune) */
	struct inv_index *indexes; /* index objects listed at the start */
	size_t nindexes;
	uint64_t gen_at_start;
	uint64_t mingen; /* lowest generation a live writer's marker names (UINT64_MAX: none) */
	/* decided by the sweep edit; deleted after it is published */
	struct snaplist_pack *sweep;
	size_t nsweep;
};

/* ---- prune_inv.c ---- */
/* Listed at the start and not deleted since. */
bool inv_present(const struct pruner *p, const uint8_t pack[PACK_ID_LEN]);
/* Walk the trees of every snapshot in l not walked yet, adding to used. */
int inv_walk_new(struct pruner *p, const struct snaplist *l);
/* List index objects (and what pack each names), then packs and their sizes. */
int inv_load(struct pruner *p);
/* Delete a pack and every index object naming it; counts into r. */
int inv_delete_pack(struct pruner *p, const uint8_t pack[PACK_ID_LEN]);
/* Index objects whose pack is absent (no writer at work: see prune.h). */
int inv_delete_orphan_indexes(struct pruner *p);

/* ---- repack.c ---- */
/* Copy the live records of packs more than max_unused unused into new packs, publish the
 * relocation table naming their new places (FORMAT 16.3.1). *moved: something was moved
 * (the caller walks again: the old packs are now unused and go through condemn/sweep). */
int repack_run(struct pruner *p, const struct snaplist *cur, bool *moved);
/* The base table: the one cur names (fetched), set as the store's for the walk. */
int repack_load_base(struct pruner *p, const struct snaplist *cur);

#endif
