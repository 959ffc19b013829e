/* reloc: the relocation table that prune's repacking writes (docs/FORMAT.md 16.3.1).
 *
 * A reference in a tree names the pack and offset of its record (FORMAT 9.2). When prune
 * copies the live records of a mostly unused pack into a new pack, the trees keep naming the
 * old place; the relocation table maps every such old (pack, offset) to the record's new
 * (pack, offset). Records are encrypted independently of where they lie (their associated
 * data is store id, type and id), so a moved record is the same bytes, and a reader still
 * verifies it against the id its tree names: a wrong entry gives EBADMSG, never wrong data.
 *
 * Object relocs/<64 hex>: the name is the BLAKE2b-256 of the bytes, and the signed snapshot
 * list names that hash ("reloc"), so the host can neither swap nor forge it. Bytes:
 *   "EMBRELO1" || LE64(n) || n x (old pack (16) || LE64(old off) || new pack (16) ||
 *   LE64(new off)), strictly increasing by (old pack, old off). */
#ifndef EMBASSY_RELOC_H
#define EMBASSY_RELOC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define RELOC_PREFIX "relocs/"
#define RELOC_MAGIC  "EMBRELO1"
#define RELOC_HEAD   16u	/* magic, count */
#define RELOC_ENTRY  48u	/* bytes per entry */
#define RELOC_MAX_N  (1u << 20) /* entries: an object is at most 48 MiB + 16 */

struct reloc_entry {
	uint8_t old_pack[PACK_ID_LEN];
	uint64_t old_off;
	uint8_t new_pack[PACK_ID_LEN];
	uint64_t new_off;
};

struct reloc {
	struct reloc_entry *v; /* sorted by (old_pack, old_off), unique */
	size_t n, cap;
};

void reloc_clear(struct reloc *r);
/* Append (unsorted); reloc_finish sorts and rejects duplicates. */
int reloc_add(struct reloc *r, const struct reloc_entry *e);
/* Sort; -EINVAL when an old place is named twice, -EFBIG beyond RELOC_MAX_N. */
int reloc_finish(struct reloc *r);

/* r must be finished. *out malloc'd. */
int reloc_encode(const struct reloc *r, uint8_t **out, size_t *len);
/* -EBADMSG on anything out of shape: magic, count, length, order, duplicates, an offset
 * below 8 (the pack magic) or above 2^63-1, a record "moved" within its own pack. */
int reloc_decode(const uint8_t *buf, size_t len, struct reloc *out);

/* The entry for an old place, or NULL. */
const struct reloc_entry *reloc_find(const struct reloc *r, const uint8_t pack[PACK_ID_LEN],
				     uint64_t off);
/* Point ref at the record's new place if it moved; true if it did. */
bool reloc_apply(const struct reloc *r, struct rec_ref *ref);

/* "relocs/<64 hex>" for the BLAKE2b-256 of the object's bytes. */
void reloc_key(const uint8_t hash[ID_LEN], char out[80]);

/* ---- store side (store_reloc.c): what readers use ---- */
/* Fetch relocs/<hash> (at most RELOC_MAX_N entries), check its bytes hash to hash, decode. */
int reloc_fetch(struct store *s, const uint8_t hash[ID_LEN], struct reloc *out);

#endif
