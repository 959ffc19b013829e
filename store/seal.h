/* seal: walk source trees, chunk, deduplicate, encrypt and pack them, then publish a signed
 * snapshot and head pointer. Objects are written in dependency order — each pack after its
 * index object, trees, the manifest, the head last — so an interrupted seal leaves a valid
 * store whose finished packs the next seal reuses. */
#ifndef EMBASSY_SEAL_H
#define EMBASSY_SEAL_H
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct pathmatch;

struct seal_progress {
	uint64_t files, bytes_read, bytes_total, bytes_new;
};

/* zstd level 1: on the bench data set (CSV, SQLite, XML) it cost 0.3 % more store than level 3
 * and 7-10 % less CPU for the whole seal (level 3 compressed the SQLite and XML registers at
 * half the speed for 1-3 % smaller output). */
#define SEAL_ZLEVEL_DEFAULT 1

struct seal_opts {
	const char *const *paths;
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *host;    /* NULL: gethostname */
	int64_t valid_for_s; /* head expiry; 0: default 7 days */
	int zlevel;	     /* zstd level; 0: SEAL_ZLEVEL_DEFAULT */
	int threads;	     /* 0: number of CPUs */
	bool reread;	     /* read every file, even those unchanged since the last seal */
	/* entries below a PATH whose snapshot path (relative to the root, pathmatch.h) a
	 * pattern matches are left out; a PATH itself is always sealed. NULL: none */
	const struct pathmatch *exclude;
	/* directories on another file system than their PATH are kept, empty */
	bool one_file_system;
	/* read, chunk, identify and seal everything as a seal would, but write nothing to the
	 * store (no pack, index, tree, manifest, head, nor prune's marker) and publish no
	 * snapshot: the result says what a seal would do. Needs the store's read keys only. */
	bool dry_run;
	/* called from the sealing thread now and then; may be NULL */
	void (*progress)(void *ctx, const struct seal_progress *p);
	void *progress_ctx;
};

struct seal_result {
	uint8_t snapshot[ID_LEN];
	uint64_t seq;
	uint64_t files, dirs, symlinks, others, bytes;
	uint64_t xattr_entries; /* entries recorded with xattrs (the root's own included) */
	uint64_t chunks, chunks_new, bytes_new_plain, bytes_new_stored, packs_new;
	uint64_t trees_new;	/* directory listings (tree records) not in the store yet */
	uint64_t warnings;	/* unreadable or changing files, skipped sockets */
	uint64_t excluded;	/* entries left out by --exclude (their contents not counted) */
	uint64_t fs_boundaries; /* directories not descended into (one_file_system) */
};

/* 0 all well; 3 (positive) snapshot written (or, dry_run, nothing written) but with
 * warnings; -errno on failure. A seal
 * that loses the race for the snapshot list to another writer publishes on top of the
 * winner's list (both snapshots stay listed, this one the latest); -EAGAIN after too many
 * lost races, nothing published. */
int seal_run(struct store *s, const struct seal_opts *o, struct seal_result *res);

#endif
