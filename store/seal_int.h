/* seal_int: state shared by the seal_*.c files. One sealing thread drives everything;
 * two kinds of helpers run beside it: the batch thread seals one batch of chunks on all
 * cores while the sealing thread reads and chunks the next (see struct sbatch), and the
 * packer's uploader thread (pack.c). Helpers touch only their own batch and the dedup map
 * (which locks itself). */
#ifndef EMBASSY_SEAL_INT_H
#define EMBASSY_SEAL_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "chunker.h"
#include "dedup.h"
#include "pack.h"
#include "seal.h"

/* One chunk waiting to be identified, sealed and packed. */
struct sbatch_item {
	struct tree_entry *e; /* where the result goes: e->chunks[idx] */
	size_t idx;
	const uint8_t *data; /* in its batch's arena */
	size_t len;
	/* filled by workers */
	uint8_t id[ID_LEN];
	bool known; /* already in the store */
	struct rec_ref ref;
	uint8_t *rec;
	size_t rlen;
	int err;
};

#define SBATCH_BYTES (32u << 20)
#define SBATCH_ITEMS 1024

struct hardlink {
	dev_t dev;
	ino_t ino;
	uint64_t link_id;
	struct tree_entry *first; /* valid while !done && !failed */
	bool done;		  /* chunks copied below */
	bool failed;		  /* the content could not be read: no name is recorded */
	struct chunk_ref *chunks;
	size_t nchunks;
	uint64_t size;
};

/* A batch of chunks. Ownership: the sealing thread fills it; once submitted, the batch
 * thread owns it until it sets done (under sealer.lock); then the sealing thread places it.
 * The chunks' bytes lie back to back in the batch's arena, where seal_file.c reads a file
 * straight in (no copy between the read and the sealing); arena[used, cap) is free. */
struct sbatch {
	struct sbatch_item *items;
	size_t n;
	uint8_t *arena;
	size_t used, cap;
};

/* Where a dry run's records would go: the pack being filled, as the packer would fill it. */
struct dry_pack {
	uint8_t id[PACK_ID_LEN]; /* a random stand-in, as a real pack id is random */
	uint64_t len;		 /* 0: no pack open */
	uint64_t target;
};

/* A directory whose entries are all walked, its tree record waiting for its files' chunks:
 * the batches up to number `barrier` (counted as submitted) must be placed first. The walk
 * goes on into the next directory meanwhile, so the cores do not idle at directory
 * boundaries; jobs are run in the order they were queued (children before their parent). */
struct tree_job {
	struct tree t;	     /* owned by the job */
	struct rec_ref *ref; /* where the tree's record goes (the parent's entry, or the root) */
	uint64_t barrier;
};

struct gcw;
struct sealer {
	struct store *s;
	const struct seal_opts *o;
	struct seal_result *res;
	struct gcw *gc; /* prune's protocol: marker, packs left out, packs referred to */
	struct chunker ck;
	struct dedup *dedup;
	struct packer *data, *trees;	     /* NULL in a dry run */
	struct dry_pack dry_data, dry_trees; /* a dry run's stand-ins for them */
	int zlevel, threads;
	struct sbatch batches[2];
	struct sbatch *cur;		/* being filled by the sealing thread */
	struct sbatch *inflight;	/* submitted, or NULL; guarded by lock */
	bool inflight_done;		/* guarded by lock */
	bool batch_thread_up, stopping; /* stopping guarded by lock */
	pthread_t batch_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t nsubmitted, nplaced; /* batches handed to the batch thread / placed */
	struct tree_job *jobs;	      /* [jobs_head, njobs): trees waiting for their chunks */
	size_t jobs_head, njobs, capjobs;
	int deferred_err; /* the first error of a deferred tree; stops the walk */
	struct hardlink *links;
	size_t nlinks, caplinks;
	dev_t root_dev;
	struct tree_entry root_meta; /* the sealed directory's own metadata */
	bool has_root_meta;
	struct snapshot parent; /* the head's snapshot, to skip unchanged files */
	bool has_parent;
	uint8_t source[SNAP_SOURCE_LEN]; /* this seal's source (struct snapshot) */
	bool has_source, same_source;	 /* same_source: the parent's is this one */
	int64_t started_ns;
	struct seal_progress prog;
	struct timespec last_progress;
};

/* Zero-copy: the current batch's arena holds `have` unchunked bytes at arena + used, read
 * there by the caller. Make room for `want` more after them (submitting the batch and moving
 * those bytes into the next one if needed): returns where the bytes are now. */
uint8_t *sbatch_room(struct sealer *sl, size_t have, size_t want, int *err);
/* The first len bytes at arena + used are the chunk e->chunks[idx]; have: all the unchunked
 * bytes there (len of them are taken). */
int sbatch_take(struct sealer *sl, struct tree_entry *e, size_t idx, size_t len, size_t have);
int sbatch_init(struct sealer *sl);
/* How many batches must be placed before every chunk added so far is. */
uint64_t sbatch_barrier(const struct sealer *sl);
/* Run the queued tree jobs whose chunks are all placed (seal_walk.c; after each placement). */
void seal_trees_ready(struct sealer *sl);
/* Drop the tree jobs left (an error path: their trees are not sealed). */
void seal_trees_free(struct sealer *sl);
int sbatch_flush(struct sealer *sl);
void sbatch_free(struct sealer *sl);
/* Chunk a regular file opened as fd into e->chunks (finalised by the next flush). */
int seal_file_content(struct sealer *sl, int fd, struct tree_entry *e, const struct stat *st);
/* Append a sealed record to the packer (data or trees), filling ref; in a dry run, only
 * note where it would go (in dedup, so a second copy deduplicates as in a real seal). */
int seal_pack(struct sealer *sl, bool tree, const uint8_t id[ID_LEN], const uint8_t *rec,
	      size_t rlen, uint32_t plen, struct rec_ref *ref);
/* Seal and pack a tree record (deduplicated); fills ref. */
int seal_tree_record(struct sealer *sl, struct tree *t, struct rec_ref *ref);
void seal_report(struct sealer *sl, bool force);
/* Walk the PATHs (seal_walk.c): the root tree's record in ref, its entry count in count. */
int seal_root(struct sealer *sl, struct rec_ref *ref, uint64_t *count);

#endif
