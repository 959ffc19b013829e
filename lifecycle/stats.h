/* stats: how much the snapshots hold and what they cost in the store (embassy stats). One
 * walk of the distinct trees (lifecycle/walk.h); no file data is read: a file's records
 * are known from its tree entry. */
#ifndef EMBASSY_STATS_H
#define EMBASSY_STATS_H
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct stats_result {
	uint64_t snapshots;
	uint64_t files, dirs, bytes; /* logical: the manifests' counts, summed over snapshots */
	uint64_t trees;		     /* distinct directory records */
	uint64_t data_records;	     /* distinct data records */
	uint64_t unique_bytes;	     /* plaintext of the distinct data records (deduplicated) */
	uint64_t stored_bytes;	     /* ciphertext of the distinct records, trees included */
	uint64_t tree_stored_bytes;  /* of that, the directory records */
	uint64_t packs;		     /* distinct packs holding those records */
};

/* Walk the trees of v[0..n). -EBADMSG when a tree cannot be read (logged), -ENOMEM. */
int stats_run(struct store *s, const struct snapshot *v, size_t n, struct stats_result *r);

#endif
