/* commit_links: every name of a changed hard-linked file of the base must carry the new
 * content (the format gives all names of a link group one chunk list), also names in
 * directories the mount never loaded. Before freezing, the base is walked once to find where
 * each such group's names are, and their directories are loaded: the freeze then sees the
 * node under every name and rewrites each. The walk is cached until the base changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "log.h"

struct linkpaths {
	char **v; /* directory paths of names with this link id (base-relative) */
	size_t n, cap;
};

static int add_path(struct u64map *m, uint64_t id, const char *dir)
{
	struct linkpaths *lp = u64map_get(m, id);
	if (!lp) {
		if (!(lp = calloc(1, sizeof(*lp))) || u64map_put(m, id, lp) < 0) {
			free(lp);
			return -ENOMEM;
		}
	}
	if (lp->n == lp->cap) {
		size_t cap = lp->cap ? 2 * lp->cap : 4;
		char **v = realloc(lp->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		lp->v = v;
		lp->cap = cap;
	}
	return (lp->v[lp->n++] = strdup(dir)) ? 0 : -ENOMEM;
}

/* Every name of a linked file: its directory into m, by link id (max: only the highest id). */
static int walk(struct store *s, const struct rec_ref *ref, const char *path, struct u64map *m,
		uint64_t *max, int depth)
{
	struct tree *t;
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	if ((ret = store_load_tree(s, ref, &t)))
		return ret;
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		if (e->type == ENT_FILE && e->link_id) {
			if (max && e->link_id > *max)
				*max = e->link_id;
			else if (!max)
				ret = add_path(m, e->link_id, path);
		} else if (e->type == ENT_DIR) {
			char *sub;
			if (max)
				ret = walk(s, &e->subtree, "", m, max, depth + 1);
			else if (asprintf(&sub, "%s%s%s", path, *path ? "/" : "", e->name) < 0)
				ret = -ENOMEM;
			else {
				ret = walk(s, &e->subtree, sub, m, NULL, depth + 1);
				free(sub);
			}
		}
	}
	tree_free(t);
	return ret;
}

int links_max(struct store *s, const struct rec_ref *ref, uint64_t *max)
{
	struct u64map none = {0};
	return walk(s, ref, "", &none, max, 0);
}

void links_free(struct live *l)
{
	struct u64map *m = &l->linkdirs;
	for (size_t i = 0; i < m->cap; i++) {
		struct linkpaths *lp = m->keys[i] ? m->vals[i] : NULL;
		for (size_t k = 0; lp && k < lp->n; k++)
			free(lp->v[k]);
		if (lp)
			free(lp->v);
		free(lp);
	}
	u64map_free(m);
	l->linkdirs_loaded = false;
}

/* Changed files of the base that have other names. (lock held) */
static size_t wanted(struct live *l, uint64_t *ids, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < l->inos.cap && n < max; i++) {
		const struct lnode *x = l->inos.vals[i];
		const struct tree_entry *o = l->inos.keys[i] ? node_origin(x) : NULL;
		if (o && o->type == ENT_FILE && o->link_id && x->chg_epoch && x->nlink)
			ids[n++] = o->link_id;
	}
	return n;
}

/* Load the directories of id's names. (lock held; may drop it) */
static int load_names(struct live *l, uint64_t id)
{
	struct linkpaths *lp = u64map_get(&l->linkdirs, id);
	int ret = 0;

	for (size_t k = 0; !ret && lp && k < lp->n; k++) {
		struct lnode *d;
		while ((ret = node_by_origin_path(l, lp->v[k], strlen(lp->v[k]), &d)) == 1)
			;
		if (ret == -ENOENT) { /* that directory is gone from the tree: nothing to do */
			ret = 0;
			continue;
		}
		if (!ret && d->type == ENT_DIR)
			while ((ret = dir_ensure(l, d)) == 1)
				;
	}
	return ret;
}

int links_prepare(struct live *l)
{
	uint64_t ids[256];
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	n = wanted(l, ids, 256);
	if (n && !l->linkdirs_loaded && l->has_base) {
		struct rec_ref root = l->base.root;
		struct u64map m = {0};
		pthread_mutex_unlock(&l->lock); /* the walk reads the store */
		log_info("commit: a changed file has hard links: finding their names");
		ret = walk(l->s, &root, "", &m, NULL, 0);
		pthread_mutex_lock(&l->lock);
		if (!ret && !memcmp(root.id, l->base.root.id, ID_LEN)) {
			links_free(l);
			l->linkdirs = m;
			l->linkdirs_loaded = true;
		} else {
			struct u64map keep = l->linkdirs;
			l->linkdirs = m;
			links_free(l);
			l->linkdirs = keep;
		}
		n = wanted(l, ids, 256);
	}
	for (size_t i = 0; !ret && l->linkdirs_loaded && i < n; i++)
		ret = load_names(l, ids[i]);
	pthread_mutex_unlock(&l->lock);
	return ret;
}
