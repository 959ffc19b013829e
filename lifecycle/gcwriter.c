/* gcwriter: marker, dedup exclusion, rescue and checks for a writer (see gcwriter.h). */
#include "gcwriter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "marker.h"
#include "packset.h"

struct gcw {
	struct store *s;
	struct marker *marker;
	struct packset *excluded; /* condemned or swept when we started */
	struct packset *refs;	  /* packs the new snapshot refers to */
};

static int exclude_all(struct gcw *w, const struct snaplist *l)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < l->ncondemned; i++)
		ret = packset_add(w->excluded, l->condemned[i].pack, 0);
	for (size_t i = 0; !ret && i < l->nswept; i++)
		ret = packset_add(w->excluded, l->swept[i].pack, 0);
	return ret;
}

/* Read G, write the marker naming G, then read the list again: prune sweeps only packs
 * condemned at a generation <= G, and those are in the second read (marker.h). kind NULL:
 * no marker (gcw_peek). */
static int gcw_start(struct store *s, const char *kind, struct gcw **out)
{
	struct gcw *w = calloc(1, sizeof(*w));
	struct snaplist l = {0};
	int ret = w ? 0 : -ENOMEM;

	if (!ret) {
		w->s = s;
		w->excluded = packset_new();
		w->refs = packset_new();
		ret = w->excluded && w->refs ? 0 : -ENOMEM;
	}
	if (!ret)
		ret = snaplist_current(s, &l);
	if (!ret && kind)
		ret = marker_begin(s, kind, l.gen, &w->marker);
	snaplist_clear(&l);
	if (!ret)
		ret = snaplist_current(s, &l);
	if (!ret)
		ret = exclude_all(w, &l);
	snaplist_clear(&l);
	if (ret) {
		gcw_end(w);
		return ret;
	}
	*out = w;
	return 0;
}

int gcw_begin(struct store *s, const char *kind, struct gcw **out)
{
	return gcw_start(s, kind, out);
}

int gcw_peek(struct store *s, struct gcw **out)
{
	return gcw_start(s, NULL, out);
}

void gcw_end(struct gcw *w)
{
	if (!w)
		return;
	marker_end(w->marker);
	packset_free(w->excluded);
	packset_free(w->refs);
	free(w);
}

bool gcw_skip(void *w, const uint8_t pack[PACK_ID_LEN])
{
	return packset_has(((struct gcw *)w)->excluded, pack);
}

int gcw_note(struct gcw *w, const uint8_t pack[PACK_ID_LEN])
{
	return packset_add(w->refs, pack, 0);
}

static int list_present(void *ctx, const char *key)
{
	struct packset *present = ctx;
	const char *name = strrchr(key, '/');
	uint8_t pack[PACK_ID_LEN];
	if (!name || strlen(name + 1) != 2 * PACK_ID_LEN || hex_decode(name + 1, pack, PACK_ID_LEN))
		return 0;
	return packset_add(present, pack, 0);
}

static void gone(const uint8_t pack[PACK_ID_LEN], const char *how)
{
	char key[64];
	store_pack_key(pack, key);
	log_err("%s, which this snapshot refers to, was %s by a prune running at the same time: "
		"nothing was published; run it again (it uploads what is missing)",
		key, how);
}

static int check_one(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t bytes)
{
	(void)bytes;
	if (packset_has(ctx, pack))
		return 0;
	gone(pack, "deleted");
	return -EIDRM;
}

int gcw_check_present(struct gcw *w)
{
	struct packset *present = packset_new();
	int ret =
	    present ? remote_list(store_remote(w->s), "packs/", list_present, present) : -ENOMEM;
	if (ret >= 0)
		ret = packset_each(w->refs, check_one, present);
	packset_free(present);
	return ret < 0 ? ret : 0;
}

int gcw_claim(struct gcw *w, struct snaplist *next)
{
	for (size_t i = 0; i < next->nswept; i++)
		if (packset_has(w->refs, next->swept[i].pack)) {
			gone(next->swept[i].pack, "swept");
			return -EIDRM;
		}
	for (size_t i = next->ncondemned; i-- > 0;)
		if (packset_has(w->refs, next->condemned[i].pack)) {
			log_info(
			    "taking back a pack prune condemned meanwhile: this snapshot uses it");
			snaplist_pack_remove(&next->condemned, &next->ncondemned,
					     next->condemned[i].pack);
		}
	return 0;
}
