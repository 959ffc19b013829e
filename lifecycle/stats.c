/* stats: sums over the distinct records the snapshots reference. */
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "packset.h"
#include "walk.h"

struct counter {
	struct stats_result *r;
	struct dedup *recs;
	struct packset *packs;
};

static int add_record(struct counter *c, const struct rec_ref *ref)
{
	if (packset_add(c->packs, ref->pack, ref->len) < 0)
		return -ENOMEM;
	c->r->stored_bytes += ref->len;
	return 0;
}

static int on_tree(void *ctx, const struct rec_ref *ref, const struct tree *t)
{
	struct counter *c = ctx;
	int ret = add_record(c, ref);

	c->r->trees++;
	c->r->tree_stored_bytes += ref->len;
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		for (size_t k = 0; !ret && e->type == ENT_FILE && k < e->nchunks; k++) {
			const struct rec_ref *rec = &e->chunks[k].rec;
			if (dedup_find(c->recs, rec->id, NULL))
				continue;
			if (dedup_add(c->recs, rec))
				return -ENOMEM;
			c->r->data_records++;
			c->r->unique_bytes += rec->plen;
			ret = add_record(c, rec);
		}
	}
	return ret;
}

int stats_run(struct store *s, const struct snapshot *v, size_t n, struct stats_result *r)
{
	struct counter c = {.r = r, .packs = packset_new()};
	struct dedup *seen = NULL;
	struct rec_ref *roots = calloc(n ? n : 1, sizeof(*roots));
	int ret = roots && c.packs ? 0 : -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!ret && (dedup_new(&seen) || dedup_new(&c.recs)))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++) {
		roots[i] = v[i].root;
		r->snapshots++;
		r->files += v[i].files;
		r->dirs += v[i].dirs;
		r->bytes += v[i].bytes;
	}
	if (!ret)
		ret = walk_trees(s, roots, n, seen, on_tree, &c);
	if (!ret)
		r->packs = packset_count(c.packs);
	dedup_free(seen);
	dedup_free(c.recs);
	packset_free(c.packs);
	free(roots);
	return ret;
}
