/* dedup: the writer's map from record id to where that record already lives.
 * Loaded from the store's index objects (only entries whose pack object exists), extended
 * as the seal packs new records. Guarded by its own lock: workers look up concurrently. */
#ifndef EMBASSY_DEDUP_H
#define EMBASSY_DEDUP_H
#include <stdbool.h>

#include "store.h"

struct dedup;

int dedup_new(struct dedup **out);
void dedup_free(struct dedup *d);
/* Read the store's index/ objects: names checked, a few at a time, each freed once read
 * (memory does not grow with what the host lists; see dedup.c). Unreadable index objects
 * are skipped with a warning (they only cost deduplication); after 1000 of them the rest
 * are not read. Entries count only if their pack is listed under packs/. */
int dedup_load(struct dedup *d, struct store *s);
/* The same, leaving out the records of packs for which skip returns true (packs prune is
 * deleting: lifecycle/gcwriter.h). */
int dedup_load_filtered(struct dedup *d, struct store *s,
			bool (*skip)(void *ctx, const uint8_t pack[PACK_ID_LEN]), void *ctx);
bool dedup_find(struct dedup *d, const uint8_t id[ID_LEN], struct rec_ref *out);
int dedup_add(struct dedup *d, const struct rec_ref *ref);
size_t dedup_count(struct dedup *d);

/* Index record plaintext for one pack: {"v":1,"pack":hex,"entries":[[type,id,off,len,plen]...]} */
struct index_entry {
	uint8_t type;
	struct rec_ref ref;
};
int index_encode(const uint8_t pack[PACK_ID_LEN], const struct index_entry *e, size_t n,
		 char **json);
/* cb per entry; -EBADMSG on malformed input. */
int index_decode(const uint8_t *json, size_t len, int (*cb)(void *ctx, const struct index_entry *e),
		 void *ctx);

#endif
