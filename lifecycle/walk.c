/* walk: breadth-first over tree records, a level at a time. */
#include "walk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "log.h"

#define WALK_BATCH 4096

struct level {
	struct rec_ref *v;
	size_t n, cap;
};

static int push(struct level *l, struct dedup *seen, const struct rec_ref *ref)
{
	if (dedup_find(seen, ref->id, NULL))
		return 0;
	if (dedup_add(seen, ref))
		return -ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct rec_ref *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *ref;
	return 0;
}

/* Fetch and visit refs[0..n), queueing their subdirectories into next. */
static int visit_batch(struct store *s, const struct rec_ref *refs, size_t n, struct dedup *seen,
		       walk_fn fn, void *ctx, struct level *next)
{
	struct cbuf **bufs = calloc(n, sizeof(*bufs));
	int *res = calloc(n, sizeof(*res));
	int ret = bufs && res ? store_fetch_many(s, REC_TREE, refs, n, bufs, res) : -ENOMEM;

	for (size_t i = 0; i < n && bufs && res; i++) {
		struct tree *t = NULL;
		if (!ret && res[i])
			ret = res[i];
		if (!ret && (ret = tree_decode(bufs[i]->data, bufs[i]->len, store_format(s), &t)) ==
				-EBADMSG)
			log_err("a directory record is authentic but malformed: refused");
		if (!ret)
			ret = store_reloc_tree(s, t); /* records prune moved: FORMAT 16.3.1 */
		if (!ret)
			ret = fn(ctx, &refs[i], t);
		for (size_t k = 0; !ret && k < t->n; k++)
			if (t->e[k].type == ENT_DIR)
				ret = push(next, seen, &t->e[k].subtree);
		tree_free(t);
		if (bufs[i])
			cbuf_unref(bufs[i]);
	}
	free(bufs);
	free(res);
	return ret;
}

int walk_trees(struct store *s, const struct rec_ref *roots, size_t n, struct dedup *seen,
	       walk_fn fn, void *ctx)
{
	struct level cur = {0}, next = {0};
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		struct rec_ref r = roots[i];
		ret = store_reloc_ref(s, &r);
		if (!ret)
			ret = push(&cur, seen, &r);
	}
	for (unsigned depth = 0; !ret && cur.n; depth++) {
		if (depth > TREE_MAX_DEPTH) {
			log_err("directories nested deeper than %d levels: refused",
				TREE_MAX_DEPTH);
			ret = -EBADMSG;
			break;
		}
		for (size_t at = 0; !ret && at < cur.n; at += WALK_BATCH) {
			size_t k = cur.n - at < WALK_BATCH ? cur.n - at : WALK_BATCH;
			ret = visit_batch(s, cur.v + at, k, seen, fn, ctx, &next);
		}
		struct level t = cur;
		cur = next;
		next = t;
		next.n = 0;
	}
	free(cur.v);
	free(next.v);
	return ret;
}
