/* find: depth first, in name order, pruned by pathmatch_may_contain. */
#include "find.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define FIND_PATH_MAX (1u << 16)

struct finder {
	struct store *s;
	const struct pathmatch *pm;
	find_fn fn;
	void *ctx;
	char *path;
	size_t len;
	unsigned depth;
};

static int visit(struct finder *f, const struct rec_ref *dir)
{
	struct tree *t = NULL;
	int ret;

	if (f->depth >= TREE_MAX_DEPTH) {
		log_err("directories nested deeper than %d levels: refused", TREE_MAX_DEPTH);
		return -EBADMSG;
	}
	if ((ret = store_load_tree(f->s, dir, &t)) != 0)
		return ret;
	f->depth++;
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		size_t old = f->len, sep = f->len ? 1 : 0;

		if (f->len + sep + e->namelen + 1 > FIND_PATH_MAX) {
			log_err("a path in the snapshot is longer than %u bytes: refused",
				FIND_PATH_MAX);
			ret = -ENAMETOOLONG;
			break;
		}
		if (sep)
			f->path[f->len++] = '/';
		memcpy(f->path + f->len, e->name, e->namelen);
		f->len += e->namelen;
		f->path[f->len] = '\0';
		if (pathmatch_match_self(f->pm, f->path))
			ret = f->fn(f->ctx, f->path, f->len, e);
		if (!ret && e->type == ENT_DIR && pathmatch_may_contain(f->pm, f->path))
			ret = visit(f, &e->subtree);
		f->len = old;
		f->path[old] = '\0';
	}
	f->depth--;
	tree_free(t);
	return ret;
}

int find_walk(struct store *s, const struct snapshot *sn, const struct pathmatch *pm, find_fn fn,
	      void *ctx)
{
	struct finder f = {.s = s, .pm = pm, .fn = fn, .ctx = ctx};
	int ret;

	if (!(f.path = malloc(FIND_PATH_MAX)))
		return -ENOMEM;
	f.path[0] = '\0';
	ret = visit(&f, &sn->root);
	free(f.path);
	return ret;
}
