/* gcwriter: the writer's half of prune's protocol (marker.h, prune.h), for every writer that
 * publishes snapshots: seal, and the write-through commit. Use:
 *
 *   gcw_begin(s, "seal", &w);              marker written, garbage state read
 *   dedup_load_filtered(d, s, gcw_skip, w) never deduplicate against condemned/swept packs
 *   ... gcw_note(w, pack) for every pack the new snapshot's trees refer to (incl. trees) ...
 *   gcw_check_present(w)                   after the last upload: each noted pack exists
 *   snaplist_update(..., edit, ...)        where edit calls gcw_claim(w, next)
 *   gcw_end(w)                             marker deleted (also on failure)
 *
 * A pack prune condemned while we worked is taken back by gcw_claim; one it swept (or that
 * is gone) makes the publish fail with -EIDRM: nothing is published that names deleted
 * data, and running the writer again re-uploads what is missing. */
#ifndef EMBASSY_GCWRITER_H
#define EMBASSY_GCWRITER_H
#include <stdbool.h>
#include <stdint.h>

#include "snaplist.h"
#include "store.h"

struct gcw;

int gcw_begin(struct store *s, const char *kind, struct gcw **out);
/* gcw_begin without the marker, for a writer that writes nothing (seal --dry-run): the same
 * gcw_skip, and it neither blocks a prune nor is protected by one. */
int gcw_peek(struct store *s, struct gcw **out);
void gcw_end(struct gcw *w);
/* For dedup_load_filtered: true for packs prune condemned or swept. */
bool gcw_skip(void *w, const uint8_t pack[PACK_ID_LEN]);
int gcw_note(struct gcw *w, const uint8_t pack[PACK_ID_LEN]);
/* Every noted pack is listed in packs/: -EIDRM (logged) if one is gone. */
int gcw_check_present(struct gcw *w);
/* In the publish edit: remove noted packs from next->condemned; -EIDRM if one was swept. */
int gcw_claim(struct gcw *w, struct snaplist *next);

#endif
