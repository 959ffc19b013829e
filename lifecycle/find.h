/* find: the entries of a snapshot whose path matches a pattern (store/pathmatch.h rules,
 * applied to the path itself: an entry inside a matched directory is not a match unless it
 * matches too). Directories no match can lie below are not read. Used by `embassy find`. */
#ifndef EMBASSY_FIND_H
#define EMBASSY_FIND_H
#include <stddef.h>

#include "pathmatch.h"
#include "store.h"

/* Called for each match, in path order; path is relative to the snapshot root. Non-zero
 * stops the walk and is returned. */
typedef int (*find_fn)(void *ctx, const char *path, size_t len, const struct tree_entry *e);

/* -EBADMSG when a tree cannot be read (logged), -ENOMEM, -ENAMETOOLONG. */
int find_walk(struct store *s, const struct snapshot *sn, const struct pathmatch *pm, find_fn fn,
	      void *ctx);

#endif
