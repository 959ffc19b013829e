/* merge_links: hard-link ids in a three-way merge (merge.c). A commit numbers the link groups
 * it makes from the base's highest id + 1 (commit_build.c); so does any other commit on the
 * same base, and a seal from home numbers its own from 1. The merged snapshot must not give
 * two unrelated groups one id (a restorer would link their names together), so:
 *
 *   - ours' new ids (above the base's highest, base_max) move up by shift, to above the head's
 *     highest id: shift = max(0, head's max - base_max); order and grouping are kept. Every
 *     entry the merge takes from ours goes through mlinks_fix_entry, and a subtree of ours it
 *     would take by reference is rewritten when it holds such an id ("dirty");
 *   - ids of base groups keep their number: an entry of ours the merge takes with one was left
 *     as the base had it by the head (or the merge would have taken the head's or reported a
 *     conflict), so the head's group of that id is the same group;
 *   - except an entry of ours kept because the head deleted it: the head may have given its
 *     id to another group (a seal renumbers from 1), so it is kept as a file of its own.
 *
 * The head moving again means a new merge: merge_trees prepares afresh each time. Finding the
 * maxima walks the base's and the head's whole trees, so it is done only when ours has new
 * link ids at all; ours is walked only where it differs from the base. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "log.h"

struct seen {
	struct rec_ref ref;
	uint64_t max; /* the highest link id below it */
};

struct seenv {
	struct seen *v;
	size_t n, cap;
};

static uint64_t key_of(const uint8_t *id)
{
	uint64_t k = 0;
	memcpy(&k, id, sizeof(k));
	return k ? k : 1;
}

static int seen_add(struct seenv *sv, const struct rec_ref *ref, uint64_t max)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 16;
		struct seen *v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = (struct seen){*ref, max};
	return 0;
}

/* Ours' directories that differ from the base's at the same path, each with the highest link
 * id below it (what is equal to the base holds base ids only). */
static int walk_ours(struct store *s, struct seenv *sv, const struct rec_ref *b,
		     const struct rec_ref *o, uint64_t *max, int depth)
{
	struct tree *to = NULL, *tb = NULL;
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	ret = store_load_tree(s, o, &to);
	if (!ret && b)
		ret = store_load_tree(s, b, &tb);
	for (size_t i = 0; !ret && i < to->n; i++) {
		const struct tree_entry *e = &to->e[i], *eb;
		uint64_t sub = 0;
		if (e->type == ENT_FILE && e->link_id > *max)
			*max = e->link_id;
		if (e->type != ENT_DIR)
			continue;
		eb = tb ? tree_find(tb, e->name, e->namelen) : NULL;
		if (eb && eb->type != ENT_DIR)
			eb = NULL;
		if (eb && !memcmp(eb->subtree.id, e->subtree.id, ID_LEN))
			continue;
		ret = walk_ours(s, sv, eb ? &eb->subtree : NULL, &e->subtree, &sub, depth + 1);
		if (!ret)
			ret = seen_add(sv, &e->subtree, sub);
		if (sub > *max)
			*max = sub;
	}
	tree_free(to);
	tree_free(tb);
	return ret;
}

int mlinks_prepare(struct merge *m, const struct rec_ref *b, const struct rec_ref *t,
		   const struct rec_ref *o)
{
	struct seenv sv = {0};
	uint64_t omax = 0, tmax = 0;
	int ret;

	mlinks_free(m);
	if (!o)
		return 0;
	ret = walk_ours(m->s, &sv, b, o, &omax, 0);
	if (!ret)
		ret = seen_add(&sv, o, omax);
	if (!ret && omax && b)
		ret = links_max(m->s, b, &m->base_max);
	if (!ret && omax > m->base_max && t)
		ret = links_max(m->s, t, &tmax);
	if (!ret && tmax > m->base_max) {
		m->shift = tmax - m->base_max;
		log_info("commit: merge: our new hard-link ids move up by %llu, above the head's",
			 (unsigned long long)m->shift);
		for (size_t i = 0; !ret && i < sv.n; i++)
			if (sv.v[i].max > m->base_max)
				ret = u64map_put(&m->dirty, key_of(sv.v[i].ref.id), (void *)1);
	}
	free(sv.v);
	return ret;
}

void mlinks_free(struct merge *m)
{
	u64map_free(&m->dirty);
	m->base_max = m->shift = 0;
}

/* A subtree of ours, its new ids moved up, sealed anew (*ref replaced). */
static int rewrite(struct merge *m, struct rec_ref *ref, int depth)
{
	struct tree *t;
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	if ((ret = store_load_tree(m->s, ref, &t)))
		return ret;
	for (size_t i = 0; !ret && i < t->n; i++) {
		struct tree_entry *e = &t->e[i];
		if (e->type == ENT_FILE && e->link_id > m->base_max)
			e->link_id += m->shift;
		else if (e->type == ENT_DIR && u64map_get(&m->dirty, key_of(e->subtree.id)))
			ret = rewrite(m, &e->subtree, depth + 1);
	}
	if (!ret)
		ret = seal_session_tree(m->ss, t, ref);
	tree_free(t);
	return ret;
}

int mlinks_fix_ref(struct merge *m, struct rec_ref *ref, int depth)
{
	if (!m->shift || !u64map_get(&m->dirty, key_of(ref->id)))
		return 0;
	return rewrite(m, ref, depth);
}

int mlinks_fix_entry(struct merge *m, struct tree_entry *e, bool head_deleted, int depth)
{
	if (e->type == ENT_DIR)
		return mlinks_fix_ref(m, &e->subtree, depth + 1);
	if (e->type != ENT_FILE || !e->link_id)
		return 0;
	if (e->link_id > m->base_max) {
		e->link_id += m->shift;
	} else if (head_deleted) {
		e->link_id = 0;
		e->nlink = 1;
	}
	return 0;
}
