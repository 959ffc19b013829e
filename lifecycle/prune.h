/* prune: delete what no live snapshot uses — packs, their index objects, manifests outside
 * the signed list, old list generations, expired markers — safely against writers running
 * at the same time and against being killed at any point (docs/FORMAT.md, "Garbage
 * collection"). Sealer only: it signs list generations and reads trees.
 *
 * Protocol, in order; every step leaves a store that verifies clean:
 *   1. finish an earlier, interrupted prune: delete packs its list marked swept;
 *   2. walk every live snapshot's trees: the packs in use (a tree that cannot be read stops
 *      prune: nothing is deleted on an incomplete view);
 *   3. condemn: publish a generation marking the present packs nobody uses;
 *   4. list the writers' markers (marker.h); sweep: publish a generation moving to "swept"
 *      the condemned packs that no live writer may still refer to (condemned at a
 *      generation <= every live marker's), then delete them and their index objects.
 *      Packs a running seal may still want stay condemned; a later prune sweeps them;
 *   5. when no writer is at work: delete index objects without a pack, manifests outside
 *      the list older than the grace period, list generations older than this prune's,
 *      expired markers.
 * Each publish re-walks snapshots a concurrent seal added, so a pack one of them uses is
 * never swept. */
#ifndef EMBASSY_PRUNE_H
#define EMBASSY_PRUNE_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* percent of a pack, not of the store as restic's 5%: a repack copies at most 9 live bytes
 * per byte it frees, which matters over a slow, distant link */
#define PRUNE_DEFAULT_MAX_UNUSED 10.0
#define PRUNE_DEFAULT_GRACE_S	 3600

struct prune_progress {
	const char *phase;
	uint64_t done, total;
};

struct prune_opts {
	double max_unused; /* repack each pack in use whose unused share exceeds this
			    * (percent; repack.c); 100: never */
	bool dry_run;
	int64_t grace_s;     /* manifests outside the list younger than this stay; 0: default */
	int64_t valid_for_s; /* expiry of re-signed heads; 0: 7 days */
	void (*progress)(void *ctx, const struct prune_progress *p);
	void *progress_ctx;
};

struct prune_result {
	uint64_t snapshots;			 /* live snapshots walked */
	uint64_t packs_total, bytes_total;	 /* present before */
	uint64_t packs_used, bytes_used;	 /* records in use (bytes of those records) */
	uint64_t packs_deleted, bytes_deleted;	 /* swept now (or, dry run: would be) */
	uint64_t packs_deferred, bytes_deferred; /* condemned, left for a later prune */
	uint64_t packs_repacked, bytes_repacked; /* partly used packs rewritten */
	uint64_t indexes_deleted, manifests_deleted, lists_deleted, markers_deleted;
	uint64_t bytes_partly_unused; /* unused bytes inside packs still in use */
	uint64_t writers;	      /* live markers of other writers seen */
	uint64_t gen_start;	      /* the list generation prune started from */
	uint64_t gen;		      /* the last generation published (0: none) */
	bool dry_run;
};

int prune_run(struct store *s, const struct prune_opts *o, struct prune_result *r);
void prune_result_clear(struct prune_result *r);
json_t *prune_result_json(const struct prune_result *r);
/* "5", "5%", "12.5": 0..100. */
int prune_parse_percent(const char *s, double *out);

#endif
