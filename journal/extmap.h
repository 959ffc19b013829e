/* extmap: the bytes of a file written through the mount since its base — a sorted list of
 * non-overlapping extents, each naming the journal record that holds its bytes. A new write
 * replaces whatever it overlaps (splitting extents at its edges); reading a position finds the
 * extent covering it by binary search. Not thread-safe (the live tree's lock guards it). */
#ifndef EMBASSY_EXTMAP_H
#define EMBASSY_EXTMAP_H
#include <stddef.h>
#include <stdint.h>

#include "jlog.h"

struct extent {
	uint64_t off;	     /* file offset of the first byte */
	uint32_t len;	     /* bytes */
	uint32_t doff;	     /* where those bytes start in the record's body */
	uint64_t epoch;	     /* the commit epoch it was written in */
	struct jlog_pos pos; /* the WRITE record */
};

struct extmap {
	struct extent *v; /* ascending by off, non-overlapping */
	size_t n, cap;
};

void extmap_free(struct extmap *m);
/* Add e, replacing what it overlaps. -ENOMEM leaves m unchanged. */
int extmap_put(struct extmap *m, const struct extent *e);
/* Forget every byte at or after size. */
void extmap_clip(struct extmap *m, uint64_t size);
/* Index of the first extent ending after off (m->n if none). */
size_t extmap_find(const struct extmap *m, uint64_t off);
/* Forget the extents written in epochs <= upto (their bytes are committed). */
void extmap_drop_epochs(struct extmap *m, uint64_t upto);
/* A copy of m. */
int extmap_copy(const struct extmap *m, struct extmap *out);
/* Bytes covered. */
uint64_t extmap_bytes(const struct extmap *m);

#endif
