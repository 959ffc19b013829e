/* repack: prune's copying of live records out of mostly unused packs (FORMAT 16.3.1).
 *
 * Records are encrypted independently of their place (associated data: store id, type,
 * id), so a record is copied as the same bytes, without opening it. Its new place goes
 * into the relocation table, which is published, by hash, in the signed list; only after
 * that do the old packs (now unused under the new table) go through condemn and sweep. A
 * prune killed before the publish leaves new packs nobody uses (the next prune condemns
 * them); after it, old packs nobody uses (likewise). While it copies, prune holds a writer's
 * marker (gcwriter.h), so a concurrent prune cannot sweep the new packs before the table
 * naming them is published. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcwriter.h"
#include "log.h"
#include "pack.h"
#include "prune_int.h"

#define PACK_FETCH_MAX ((size_t)PACK_TARGET_DATA + (66u << 20)) /* a pack: target + a record */

static int place_cmp(const void *a, const void *b)
{
	const struct live_place *x = a, *y = b;
	int c = memcmp(x->ref.pack, y->ref.pack, PACK_ID_LEN);
	return c ? c : (x->ref.off > y->ref.off) - (x->ref.off < y->ref.off);
}

/* Sort by place, one entry per place. */
static void unique_places(struct pruner *p)
{
	size_t k = 0;
	if (p->nlive > 1)
		qsort(p->live, p->nlive, sizeof(*p->live), place_cmp);
	for (size_t i = 0; i < p->nlive; i++)
		if (!k || place_cmp(&p->live[k - 1], &p->live[i]))
			p->live[k++] = p->live[i];
	p->nlive = k;
}

static const struct live_place *find_place(const struct pruner *p, const uint8_t pack[PACK_ID_LEN],
					   uint64_t off)
{
	struct live_place key = {.ref.off = off};
	memcpy(key.ref.pack, pack, PACK_ID_LEN);
	return bsearch(&key, p->live, p->nlive, sizeof(*p->live), place_cmp);
}

int repack_load_base(struct pruner *p, const struct snaplist *cur)
{
	int ret = 0;
	reloc_clear(&p->base);
	p->base_has = cur->has_reloc;
	memcpy(p->base_hash, cur->reloc, ID_LEN);
	if (cur->has_reloc)
		ret = reloc_fetch(p->s, cur->reloc, &p->base);
	return ret ? ret : store_reloc_set(p->s, &p->base); /* the walk follows this one */
}

/* A run of live places [at, end) in one pack: is it worth copying out? */
static bool worth(const struct pruner *p, const struct snaplist *cur, size_t at, size_t end,
		  uint64_t *used)
{
	const uint8_t *pack = p->live[at].ref.pack;
	uint64_t size = packset_get(p->present, pack);
	*used = 0;
	if (p->o->max_unused >= 100 || !inv_present(p, pack) || !size ||
	    snaplist_pack_find(cur->condemned, cur->ncondemned, pack) ||
	    snaplist_pack_find(cur->swept, cur->nswept, pack))
		return false;
	for (size_t i = at; i < end; i++) {
		if (p->live[i].ref.off + p->live[i].ref.len > size)
			return false; /* the index does not cover it: leave the pack alone */
		*used += p->live[i].ref.len;
	}
	uint64_t unused = size > *used + 8 ? size - *used - 8 : 0; /* 8: the pack's magic */
	return unused && (double)unused * 100.0 > p->o->max_unused * (double)size;
}

struct copier {
	struct pruner *p;
	struct packer *data, *tree;
	struct dedup *moved_ids; /* the packers' own bookkeeping */
	struct gcw *w;
	struct reloc moved; /* what this prune moved */
};

static int copy_pack(struct copier *c, size_t at, size_t end)
{
	struct pruner *p = c->p;
	char key[64];
	uint8_t *buf = NULL;
	size_t n;
	int ret;

	store_pack_key(p->live[at].ref.pack, key);
	ret = remote_get(store_remote(p->s), key, 0, 0, PACK_FETCH_MAX, &buf, &n);
	for (size_t i = at; !ret && i < end; i++) {
		const struct live_place *l = &p->live[i];
		struct rec_ref to;
		struct reloc_entry e;
		if (l->ref.off + l->ref.len > n) {
			ret = -EBADMSG; /* shorter than its index says: leave it to verify */
			break;
		}
		ret = packer_add(l->type == REC_TREE ? c->tree : c->data, (enum record_type)l->type,
				 l->ref.id, buf + l->ref.off, l->ref.len, l->ref.plen, &to);
		if (!ret)
			ret = gcw_note(c->w, to.pack);
		memcpy(e.old_pack, l->ref.pack, PACK_ID_LEN);
		e.old_off = l->ref.off;
		memcpy(e.new_pack, to.pack, PACK_ID_LEN);
		e.new_off = to.off;
		if (!ret)
			ret = reloc_add(&c->moved, &e);
	}
	if (ret)
		log_err("%s: cannot repack: %s", key, strerror(-ret));
	free(buf);
	return ret;
}

/* The new table: the old entries whose target is still a live place (followed to where it
 * moved now, if it did), and every move of this prune. */
static int merge(struct copier *c, struct reloc *out)
{
	const struct reloc *base = &c->p->base;
	int ret = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !ret && i < base->n; i++) {
		struct reloc_entry e = base->v[i];
		if (!find_place(c->p, e.new_pack, e.new_off))
			continue; /* no live tree reaches that record any more */
		const struct reloc_entry *m = reloc_find(&c->moved, e.new_pack, e.new_off);
		if (m) {
			memcpy(e.new_pack, m->new_pack, PACK_ID_LEN);
			e.new_off = m->new_off;
		}
		ret = reloc_add(out, &e);
	}
	for (size_t i = 0; !ret && i < c->moved.n; i++)
		ret = reloc_add(out, &c->moved.v[i]);
	return ret ? ret : reloc_finish(out);
}

struct publish {
	struct pruner *p;
	struct gcw *w;
	uint8_t hash[ID_LEN];
};

static int publish_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct publish *u = ctx;
	(void)cur;
	if (next->has_reloc != u->p->base_has ||
	    (next->has_reloc && memcmp(next->reloc, u->p->base_hash, ID_LEN))) {
		log_err("another prune published a relocation table meanwhile: this one's copies "
			"are left unused (the next prune removes them); run prune again");
		return -ESTALE;
	}
	int ret = gcw_claim(u->w, next); /* our new packs, should a prune have condemned them */
	if (!ret) {
		next->has_reloc = true;
		memcpy(next->reloc, u->hash, ID_LEN);
	}
	return ret;
}

static int publish(struct copier *c, const struct reloc *table)
{
	struct pruner *p = c->p;
	struct publish u = {.p = p, .w = c->w};
	struct snaplist out = {0};
	uint8_t *buf = NULL;
	size_t len;
	char key[80];
	int ret = reloc_encode(table, &buf, &len);

	if (!ret) {
		snaplist_hash(buf, len, u.hash);
		reloc_key(u.hash, key);
		ret = remote_put(store_remote(p->s), key, buf, len, REMOTE_CREATE_ONLY);
		ret = ret == -EEXIST ? 0 : ret; /* named by its hash: the same bytes */
	}
	if (!ret)
		ret = gcw_check_present(c->w);
	if (!ret)
		ret = snaplist_update(p->s, publish_edit, &u, p->o->valid_for_s, &out);
	if (!ret) {
		p->r->gen = out.gen;
		ret = store_reloc_set(p->s, table);
	}
	snaplist_clear(&out);
	free(buf);
	return ret;
}

static int copy_all(struct copier *c, const struct snaplist *cur, size_t npacks)
{
	struct pruner *p = c->p;
	size_t done = 0;
	int ret = 0;
	for (size_t at = 0, end; !ret && at < p->nlive; at = end) {
		uint64_t used;
		for (end = at + 1; end < p->nlive && !memcmp(p->live[end].ref.pack,
							     p->live[at].ref.pack, PACK_ID_LEN);
		     end++)
			;
		if (!worth(p, cur, at, end, &used))
			continue;
		if (p->o->progress)
			p->o->progress(p->o->progress_ctx,
				       &(struct prune_progress){
					   .phase = "repack", .done = done++, .total = npacks});
		p->r->packs_repacked++;
		p->r->bytes_repacked += used;
		if (!p->o->dry_run)
			ret = copy_pack(c, at, end);
	}
	return ret;
}

static size_t count_worth(struct pruner *p, const struct snaplist *cur)
{
	size_t n = 0;
	for (size_t at = 0, end; at < p->nlive; at = end) {
		uint64_t used;
		for (end = at + 1; end < p->nlive && !memcmp(p->live[end].ref.pack,
							     p->live[at].ref.pack, PACK_ID_LEN);
		     end++)
			;
		n += worth(p, cur, at, end, &used);
	}
	return n;
}

int repack_run(struct pruner *p, const struct snaplist *cur, bool *moved)
{
	struct copier c = {.p = p};
	struct reloc table = {0};
	int ret;

	*moved = false;
	unique_places(p);
	size_t npacks = count_worth(p, cur);
	if (!npacks)
		return 0;
	if (p->o->dry_run)
		return copy_all(&c, cur, npacks); /* counts only */
	ret = dedup_new(&c.moved_ids);
	if (!ret)
		ret = gcw_begin(p->s, "prune", &c.w);
	if (!ret)
		ret = packer_new(p->s, c.moved_ids, PACK_TARGET_DATA, &c.data);
	if (!ret)
		ret = packer_new(p->s, c.moved_ids, PACK_TARGET_TREE, &c.tree);
	if (!ret)
		ret = copy_all(&c, cur, npacks);
	if (!ret)
		ret = packer_flush(c.data);
	if (!ret)
		ret = packer_flush(c.tree);
	if (!ret)
		ret = reloc_finish(&c.moved);
	if (!ret)
		ret = merge(&c, &table);
	if (!ret)
		ret = publish(&c, &table);
	*moved = !ret;
	packer_free(c.data);
	packer_free(c.tree);
	gcw_end(c.w);
	dedup_free(c.moved_ids);
	reloc_clear(&c.moved);
	reloc_clear(&table);
	return ret;
}
