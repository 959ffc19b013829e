/* walk: visit every distinct tree record reachable from some roots — breadth first, each
 * level fetched with many records in flight and neighbours coalesced (store_fetch_many), so
 * a walk over a WAN link costs a few round trips per level, not one per directory. Used by
 * prune (what is in use), copy (what to carry) and stats. */
#ifndef EMBASSY_WALK_H
#define EMBASSY_WALK_H
#include <stddef.h>

#include "dedup.h"
#include "store.h"

/* Called once per distinct tree (by record id), with its ref and decoded listing. A
 * non-zero return stops the walk and is returned. */
typedef int (*walk_fn)(void *ctx, const struct rec_ref *ref, const struct tree *t);

/* seen: ids of trees already visited (a walk of more roots later skips them); it is filled.
 * A tree that cannot be fetched or decoded stops the walk with its error (-EBADMSG for a
 * missing, tampered or malformed one, logged): callers that delete data must not act on an
 * incomplete walk. */
int walk_trees(struct store *s, const struct rec_ref *roots, size_t n, struct dedup *seen,
	       walk_fn fn, void *ctx);

#endif
