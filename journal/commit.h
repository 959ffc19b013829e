/* commit: turning the changes of a live tree into a signed snapshot of the store.
 *
 *   1. freeze: under the tree's lock, record FREEZE in the journal and copy what changed
 *      (the plan: every directory to rewrite, each entry as it is now); writers go on at once
 *      into the next epoch;
 *   2. build: unchanged files and directories of the base are reused by reference; a written
 *      file is chunked again only around what was written (content-defined cuts fall back onto
 *      the base's own after a changed region); packs upload as they fill; trees bottom-up;
 *   3. publish: the manifest (parent = the base), INTENT in the journal (synced), then the
 *      head is moved by compare-and-swap (store_publish_head). If the head moved since the
 *      base (a seal from home, another recovery host), a three-way merge against the base
 *      (merge.c) gives a second snapshot whose parent is that head and which names ours as
 *      "merged"; same-path changes keep both versions and are reported as conflicts;
 *   4. rebase: COMMITTED in the journal; the tree's base becomes our snapshot, the bytes of the
 *      frozen epoch are dropped from memory, and a checkpoint lets the journal forget them;
 *      when step 3 merged, the tree first moves on to the merge (adopt.c: ADOPT in the
 *      journal), so the mount shows the other side's changes without a remount — unless a
 *      path the merge changes is open or was written meanwhile (then it stays on ours, and
 *      the result's adopt_why says so).
 * A crash anywhere leaves the store valid (objects before the manifest before the head) and the
 * journal whole: the next mount replays it, and if the head names the commit (INTENT without
 * COMMITTED), finishes step 4; otherwise the next commit simply does it all again. */
#ifndef EMBASSY_COMMIT_H
#define EMBASSY_COMMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live.h"

struct commit_opts {
	const char *const *tags;
	size_t ntags;
	int64_t valid_for_s; /* head expiry; 0: 7 days */
};

struct commit_conflict {
	char *path;	  /* where the head's version stays */
	char *copy;	  /* where ours went (NULL when only one version survived) */
	const char *what; /* "both changed", "changed here, deleted there", ... */
};

struct commit_result {
	bool nothing; /* no changes: no snapshot; snapshot, seq, time_ns are then the base's */
	bool no_base; /* nothing, and the store had no snapshot either (all three unset) */
	uint8_t snapshot[ID_LEN]; /* the head now (ours, or the merge) */
	uint64_t seq;
	uint8_t ours[ID_LEN]; /* our changes on the base (== snapshot unless merged) */
	bool merged;
	bool adopted;	       /* the mount now shows the merge (snapshot) */
	const char *adopt_why; /* merged, not adopted: why (static text) */
	struct commit_conflict *conflicts;
	size_t nconflicts;
	uint64_t entries;			/* nodes written */
	uint64_t chunks, chunks_new, bytes_new; /* records; new ones; their stored bytes */
	int64_t time_ns;
};
void commit_result_clear(struct commit_result *r);

/* Commit everything changed so far. Only one commit runs at a time (a second caller waits,
 * then commits what is left). 0, or -errno: -EIO/-ETIMEDOUT store unreachable (nothing
 * lost: the journal keeps the changes), -ESTALE a rolled-back head, -EBUSY lost the race for
 * the head too many times in a row. */
int commit_run(struct live *l, const struct commit_opts *o, struct commit_result *res);

/* Crash tests: at each named stage of a commit ("frozen", "built", "manifest", "intent",
 * "merged" — only when the head moved: the merge is written, not yet published; once per
 * try —, "published", "rebased"), a commit stops as if the process died there when the environment
 * names that stage in EMBASSY_COMMIT_CRASH (the process is killed with SIGKILL), or when the
 * hook returns non-zero (the commit returns -EINTR, leaving everything as a crash would). */
extern int (*commit_failpoint)(const char *stage);

/* What status reports about commits. */
struct commit_info {
	bool running;
	bool have_last;
	struct commit_result last; /* the last successful commit */
	int last_err;		   /* the last failure (0: none since) */
	int64_t last_err_ns;
};
void commit_get_info(struct live *l, struct commit_info *out);
void commit_info_clear(struct commit_info *i);

#endif
