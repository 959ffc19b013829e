/* pack: the writer of pack objects. Records are appended in the order given (tree order);
 * a pack is uploaded when it reaches its target size, right after its index object, so that
 * a seal interrupted at any point leaves every uploaded pack indexed (an index whose pack
 * never arrived is ignored by dedup_load, which checks that packs exist).
 * Pack layout: "EMBPACK1" then records back to back (docs/FORMAT.md, "Packs").
 * Not thread-safe: one sealing thread owns a packer. */
#ifndef EMBASSY_PACK_H
#define EMBASSY_PACK_H
#include <stddef.h>
#include <stdint.h>

#include "dedup.h"
#include "store.h"

#define PACK_TARGET_DATA (32u << 20)
#define PACK_TARGET_TREE (8u << 20)

struct packer;

struct packer_stats {
	uint64_t packs, bytes, records;
};

int packer_new(struct store *s, struct dedup *d, size_t target, struct packer **out);
/* Append a sealed record; fills ref with its future location and adds it to dedup. */
int packer_add(struct packer *p, enum record_type type, const uint8_t id[ID_LEN],
	       const uint8_t *rec, size_t len, uint32_t plen, struct rec_ref *ref);
/* Upload the current pack (if any) and its index; returns once every pack of this
 * packer is stored (or the first upload error). Full packs upload in the background. */
int packer_flush(struct packer *p);
void packer_get_stats(const struct packer *p, struct packer_stats *st);
void packer_free(struct packer *p);

#endif
