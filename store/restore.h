/* restore: write a snapshot (or a subtree / one file of it) into a target directory,
 * reproducing content, holes, links, modes, owners (as root), times and xattrs.
 * Never follows a symlink out of the target: every path is opened relative to a directory
 * fd with O_NOFOLLOW, and hostile names were already refused by tree_decode. */
#ifndef EMBASSY_RESTORE_H
#define EMBASSY_RESTORE_H
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct pathmatch;

struct restore_progress {
	uint64_t files, bytes, bytes_total;
};

struct restore_opts {
	bool overwrite; /* allow a non-empty target */
	/* patterns on paths inside the snapshot (pathmatch.h; NULL: none): only what include
	 * matches (and the directories on the way to it), nothing exclude matches */
	const struct pathmatch *include, *exclude;
	void (*progress)(void *ctx, const struct restore_progress *p);
	void *progress_ctx;
};

struct restore_result {
	uint64_t files, dirs, symlinks, others, bytes;
	uint64_t skipped; /* entries left out by include/exclude */
	uint64_t errors;  /* entries that failed (each logged with its path) */
	uint64_t damaged; /* of those, failed because store data was tampered or missing */
	uint64_t nospace; /* of those, failed because the target was full (ENOSPC, EDQUOT) */
};

/* -ENOTEMPTY target not empty without overwrite; 0 when everything was restored;
 * when some entries failed (res->errors > 0; the rest is restored): -EBADMSG if any failed
 * because store data was tampered or missing, else -EIO. Shrinks s's memory cache to
 * RESTORE_MEMORY_CACHE (restore_int.h): a restore reads each chunk once. */
int restore_run(struct store *s, const struct snapshot *sn, const char *path, const char *target,
		const struct restore_opts *o, struct restore_result *res);

#endif
