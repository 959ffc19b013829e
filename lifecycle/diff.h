/* diff: what changed between two directory trees of a store (embassy diff). Only the trees
 * that differ are fetched: two directories with the same tree record id are equal, all the
 * way down, and are skipped without a read. Used by `embassy diff`. */
#ifndef EMBASSY_DIFF_H
#define EMBASSY_DIFF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum diff_change {
	DIFF_ADDED = 1, /* only in the second tree */
	DIFF_REMOVED,	/* only in the first */
	DIFF_MODIFIED,	/* same type, other contents (file data, symlink target, device) */
	DIFF_METADATA,	/* same contents, other mode, owner, mtime or xattrs */
	DIFF_TYPE,	/* another type of entry under the same name */
};

/* What differs in a DIFF_MODIFIED or DIFF_METADATA entry's metadata (bits). */
enum {
	DIFF_META_MODE = 1,
	DIFF_META_UID = 2,
	DIFF_META_GID = 4,
	DIFF_META_MTIME = 8,
	DIFF_META_XATTRS = 16,
};

struct diff_item {
	enum diff_change change;
	const char *path; /* relative to the trees compared; "" for their roots */
	size_t pathlen;
	const struct tree_entry *old, *new; /* NULL for an added / removed entry */
	unsigned meta;			    /* DIFF_META_* bits */
};

struct diff_stats {
	uint64_t added, removed, modified, metadata, type_changed; /* entries */
	uint64_t bytes_added, bytes_removed; /* sizes of files added / removed */
	int64_t bytes_delta;		     /* change of the files' total size */
	uint64_t trees_read;		     /* tree records fetched */
	uint64_t trees_skipped;		     /* directory pairs equal by id: not read */
};

/* Called for every change, in path order (bytewise, a directory before what is in it; the
 * contents of an added or removed directory are reported too). Non-zero stops the diff and
 * is returned. */
typedef int (*diff_fn)(void *ctx, const struct diff_item *it);

/* Compare entry a with entry b (either may be NULL: all of the other is added / removed),
 * reporting under path (a prefix for every path reported; "" at a snapshot root). st is
 * zeroed first. -EBADMSG when a tree cannot be read (logged), -ENOMEM, -ENAMETOOLONG. */
int diff_entries(struct store *s, const struct tree_entry *a, const struct tree_entry *b,
		 const char *path, diff_fn fn, void *ctx, struct diff_stats *st);
/* A snapshot's root as a directory entry (its root_meta when the manifest has it). The entry
 * points into sn: keep sn alive while it is used. */
void diff_root_entry(const struct snapshot *sn, struct tree_entry *out);
/* Do two entries of the same type hold the same contents? (files: the same records at the
 * same offsets and the same size; symlinks: target; devices: rdev; directories: tree id) */
bool diff_same_contents(const struct tree_entry *a, const struct tree_entry *b);
/* DIFF_META_* bits of what differs between a's and b's metadata. */
unsigned diff_metadata(const struct tree_entry *a, const struct tree_entry *b);

#endif
