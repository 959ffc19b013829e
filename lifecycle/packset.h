/* packset: a set of pack ids, each with a byte count (e.g. bytes of its records in use).
 * Open addressing; not thread-safe (one owner). */
#ifndef EMBASSY_PACKSET_H
#define EMBASSY_PACKSET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

struct packset;

struct packset *packset_new(void);
void packset_free(struct packset *ps);
/* Add bytes to pack's count (adding it with 0 first if absent). */
int packset_add(struct packset *ps, const uint8_t pack[PACK_ID_LEN], uint64_t bytes);
bool packset_has(const struct packset *ps, const uint8_t pack[PACK_ID_LEN]);
/* The count, or 0 if absent. */
uint64_t packset_get(const struct packset *ps, const uint8_t pack[PACK_ID_LEN]);
size_t packset_count(const struct packset *ps);
/* Calls cb for each pack (any order) until cb returns non-zero (which is returned). */
int packset_each(const struct packset *ps,
		 int (*cb)(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t bytes), void *ctx);

#endif
