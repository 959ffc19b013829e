/* prune_inv: what the store holds (packs, index objects) and what the live snapshots use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "keylist.h"
#include "log.h"
#include "par.h"
#include "prune_int.h"
#include "walk.h"

/* ---- in use ---- */

/* Every pack a snapshot refers to is in use, whatever else refers to the same record id
 * elsewhere; the record's bytes are counted once. */
static int note_place(struct pruner *p, const struct rec_ref *ref, enum record_type type)
{
	if (p->nlive == p->caplive) {
		size_t cap = p->caplive ? 2 * p->caplive : 1024;
		struct live_place *v = realloc(p->live, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->live = v;
		p->caplive = cap;
	}
	p->live[p->nlive++] = (struct live_place){.ref = *ref, .type = (uint8_t)type};
	return 0;
}

static int note(struct pruner *p, const struct rec_ref *ref, enum record_type type)
{
	bool seen = dedup_find(p->recs_seen, ref->id, NULL);
	if (note_place(p, ref, type))
		return -ENOMEM;
	if (!seen && dedup_add(p->recs_seen, ref))
		return -ENOMEM;
	return packset_add(p->used, ref->pack, seen ? 0 : ref->len);
}

static int visit(void *ctx, const struct rec_ref *ref, const struct tree *t)
{
	struct pruner *p = ctx;
	int ret = note(p, ref, REC_TREE);
	for (size_t i = 0; !ret && i < t->n; i++)
		for (size_t c = 0; !ret && c < t->e[i].nchunks; c++)
			ret = note(p, &t->e[i].chunks[c].rec, REC_DATA);
	return ret;
}

int inv_walk_new(struct pruner *p, const struct snaplist *l)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < l->nsnaps; i++) {
		struct rec_ref key = {0};
		struct snapshot sn;
		memcpy(key.id, l->snaps[i].id, ID_LEN);
		if (dedup_find(p->snaps_seen, key.id, NULL))
			continue;
		ret = store_read_snapshot(p->s, l->snaps[i].id, &sn);
		if (ret) {
			char idh[2 * ID_LEN + 1];
			hex_encode(l->snaps[i].id, ID_LEN, idh);
			log_err("snapshot %s of the signed list cannot be read (%s): prune deletes "
				"nothing while it cannot see what is in use; run 'embassy verify'",
				idh, strerror(-ret));
			return ret == -ENOENT ? -EBADMSG : ret;
		}
		ret = dedup_add(p->snaps_seen, &key);
		if (!ret)
			ret = walk_trees(p->s, &sn.root, 1, p->trees_seen, visit, p);
		snapshot_clear(&sn);
		if (!ret)
			p->r->snapshots++;
		else if (ret == -EBADMSG)
			log_err(
			    "a directory of a live snapshot cannot be read: prune deletes nothing "
			    "while it cannot see what is in use; run 'embassy verify'");
	}
	return ret;
}

/* ---- inventory ---- */

struct idx_load {
	struct pruner *p;
	struct keylist *k;
	int *res;
	uint8_t (*pack)[PACK_ID_LEN];
	uint64_t *end; /* bytes the index says the pack holds: max(off + len) */
};

struct idx_scan {
	uint8_t pack[PACK_ID_LEN];
	uint64_t end;
	bool any;
};

static int scan_entry(void *ctx, const struct index_entry *e)
{
	struct idx_scan *sc = ctx;
	memcpy(sc->pack, e->ref.pack, PACK_ID_LEN);
	if (e->ref.off + e->ref.len > sc->end)
		sc->end = e->ref.off + e->ref.len;
	sc->any = true;
	return 0;
}

static void load_index(void *ctx, size_t i)
{
	struct idx_load *l = ctx;
	const char *name = l->k->v[i] + strlen("index/");
	uint8_t id[ID_LEN], *data = NULL, *plain = NULL;
	struct idx_scan sc = {0};
	size_t n, plen;
	int ret = strlen(name) == 2 * ID_LEN && !hex_decode(name, id, ID_LEN) ? 0 : -EBADMSG;

	if (!ret)
		ret = remote_get(store_remote(l->p->s), l->k->v[i], 0, 0, RECORD_MAX_PLAIN, &data,
				 &n);
	if (!ret)
		ret = record_open(store_keys(l->p->s), REC_INDEX, id, data, n, RECORD_MAX_PLAIN,
				  &plain, &plen);
	if (!ret)
		ret = index_decode(plain, plen, scan_entry, &sc);
	if (!ret && !sc.any)
		ret = -EBADMSG;
	if (!ret) {
		memcpy(l->pack[i], sc.pack, PACK_ID_LEN);
		l->end[i] = sc.end;
	}
	l->res[i] = ret;
	free(plain);
	free(data);
}

static int load_indexes(struct pruner *p, struct packset *ends)
{
	struct keylist k = {0};
	struct idx_load l = {.p = p, .k = &k};
	int ret = remote_list(store_remote(p->s), "index/", keylist_collect, &k);

	if (ret >= 0) {
		l.res = calloc(k.n ? k.n : 1, sizeof(*l.res));
		l.pack = calloc(k.n ? k.n : 1, PACK_ID_LEN);
		l.end = calloc(k.n ? k.n : 1, sizeof(*l.end));
		p->indexes = calloc(k.n ? k.n : 1, sizeof(*p->indexes));
		ret = l.res && l.pack && l.end && p->indexes ? 0 : -ENOMEM;
	}
	if (!ret)
		par_for(k.n, 8, load_index, &l);
	for (size_t i = 0; !ret && i < k.n; i++) {
		if (l.res[i] == -EBADMSG) { /* kept: it costs nothing, and may be evidence */
			log_warn("%s: unreadable index object left alone", k.v[i]);
			continue;
		}
		if (l.res[i] == -ENOENT)
			continue;
		if ((ret = l.res[i]))
			break;
		struct inv_index *x = &p->indexes[p->nindexes++];
		snprintf(x->key, sizeof(x->key), "%s", k.v[i]);
		memcpy(x->pack, l.pack[i], PACK_ID_LEN);
		if (packset_get(ends, x->pack) < l.end[i])
			ret = packset_add(ends, x->pack, l.end[i] - packset_get(ends, x->pack));
	}
	free(l.res);
	free(l.pack);
	free(l.end);
	keylist_free(&k);
	return ret < 0 ? ret : 0;
}

struct stat_ctx {
	struct pruner *p;
	char (*keys)[64];
	uint64_t *size;
	int *res;
};

static void stat_one(void *ctx, size_t i)
{
	struct stat_ctx *c = ctx;
	c->res[i] = remote_stat(store_remote(c->p->s), c->keys[i], &c->size[i]);
}

/* Packs without a readable index: ask the store for their size. */
static int stat_unknown(struct pruner *p, uint8_t (*packs)[PACK_ID_LEN], size_t n)
{
	struct stat_ctx c = {.p = p};
	int ret = 0;
	c.keys = calloc(n ? n : 1, sizeof(*c.keys));
	c.size = calloc(n ? n : 1, sizeof(*c.size));
	c.res = calloc(n ? n : 1, sizeof(*c.res));
	if (!c.keys || !c.size || !c.res)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++)
		store_pack_key(packs[i], c.keys[i]);
	if (!ret)
		par_for(n, 8, stat_one, &c);
	for (size_t i = 0; !ret && i < n; i++)
		if (c.res[i] == 0 || c.res[i] == -ENOENT) /* gone since the listing: size 0 */
			ret = packset_add(p->present, packs[i], c.res[i] ? 0 : c.size[i]);
		else
			ret = c.res[i];
	free(c.keys);
	free(c.size);
	free(c.res);
	return ret;
}

/* Index objects first, then packs: an index listed without its pack is then either from an
 * interrupted seal or from one still at work (whose marker prune sees; prune.h). */
int inv_load(struct pruner *p)
{
	struct packset *ends = packset_new();
	struct keylist k = {0};
	uint8_t(*unknown)[PACK_ID_LEN] = NULL;
	size_t nunknown = 0;
	int ret = ends ? load_indexes(p, ends) : -ENOMEM;

	if (!ret)
		ret = remote_list(store_remote(p->s), "packs/", keylist_collect, &k);
	if (ret >= 0) {
		unknown = calloc(k.n ? k.n : 1, PACK_ID_LEN);
		ret = unknown ? 0 : -ENOMEM;
	}
	for (size_t i = 0; !ret && i < k.n; i++) {
		const char *name = strrchr(k.v[i], '/');
		uint8_t pack[PACK_ID_LEN];
		if (!name || strlen(name + 1) != 2 * PACK_ID_LEN ||
		    hex_decode(name + 1, pack, PACK_ID_LEN))
			continue; /* not ours: left alone */
		if (packset_has(ends, pack))
			ret = packset_add(p->present, pack, packset_get(ends, pack));
		else
			memcpy(unknown[nunknown++], pack, PACK_ID_LEN);
	}
	if (!ret)
		ret = stat_unknown(p, unknown, nunknown);
	free(unknown);
	keylist_free(&k);
	packset_free(ends);
	return ret < 0 ? ret : 0;
}

bool inv_present(const struct pruner *p, const uint8_t pack[PACK_ID_LEN])
{
	return packset_has(p->present, pack) && !packset_has(p->gone, pack);
}

int inv_delete_pack(struct pruner *p, const uint8_t pack[PACK_ID_LEN])
{
	char key[64];
	int ret;
	store_pack_key(pack, key);
	ret = remote_delete(store_remote(p->s), key);
	if (ret && ret != -ENOENT) {
		log_err("%s: cannot delete: %s", key, strerror(-ret));
		return ret;
	}
	if (packset_add(p->gone, pack, 0))
		return -ENOMEM;
	p->r->packs_deleted++;
	p->r->bytes_deleted += packset_get(p->present, pack);
	for (size_t i = 0; i < p->nindexes; i++) {
		if (memcmp(p->indexes[i].pack, pack, PACK_ID_LEN) || !p->indexes[i].key[0])
			continue;
		ret = remote_delete(store_remote(p->s), p->indexes[i].key);
		if (ret && ret != -ENOENT)
			log_warn("%s: cannot delete: %s", p->indexes[i].key, strerror(-ret));
		else
			p->r->indexes_deleted++;
		p->indexes[i].key[0] = 0; /* done */
	}
	return 0;
}

int inv_delete_orphan_indexes(struct pruner *p)
{
	for (size_t i = 0; i < p->nindexes; i++) {
		struct inv_index *x = &p->indexes[i];
		int ret;
		if (!x->key[0] || packset_has(p->present, x->pack))
			continue;
		ret = remote_delete(store_remote(p->s), x->key);
		if (ret && ret != -ENOENT)
			return ret;
		p->r->indexes_deleted++;
		x->key[0] = 0;
	}
	return 0;
}
