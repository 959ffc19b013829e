/* commit_plan: the freeze — a copy of every directory a commit must rewrite, each entry as it
 * is at that instant — and the rebase once the snapshot is published. Both with live.lock held.
 *
 * A directory is rewritten when any entry differs from its base listing (added, removed,
 * renamed, changed, or a subdirectory rewritten); the others keep their base tree record. An
 * entry that is its base entry, unchanged and in its place, is copied as it is (chunks and
 * subtree by reference). The plan holds a reference on every directory it rewrites, so that
 * the rebase can hang the new listing on it even if it was removed meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "log.h"

/* ---- copying entries ---- */

static int copy_xattrs(struct tree_entry *e, const struct xattr *x, size_t n)
{
	if (!n)
		return 0;
	e->xattrs = calloc(n, sizeof(*x));
	if (!e->xattrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		e->xattrs[i].name = strdup(x[i].name);
		e->xattrs[i].value = malloc(x[i].len ? x[i].len : 1);
		if (!e->xattrs[i].name || !e->xattrs[i].value) {
			free(e->xattrs[i].name);
			free(e->xattrs[i].value);
			return -ENOMEM;
		}
		if (x[i].len)
			memcpy(e->xattrs[i].value, x[i].value, x[i].len);
		e->xattrs[i].len = x[i].len;
		e->nxattrs++;
	}
	return 0;
}

static int copy_chunks(struct tree_entry *e, const struct chunk_ref *c, size_t n)
{
	e->chunks = malloc((n ? n : 1) * sizeof(*c));
	if (!e->chunks)
		return -ENOMEM;
	if (n) /* an empty file's list may be NULL: memcpy from NULL is undefined even for 0 */
		memcpy(e->chunks, c, n * sizeof(*c));
	e->nchunks = n;
	return 0;
}

/* A deep copy of base entry o under name. */
int centry_copy(struct tree_entry *e, const struct tree_entry *o, const char *name)
{
	*e = *o;
	e->name = strdup(name);
	e->namelen = strlen(name);
	e->target = NULL;
	e->xattrs = NULL;
	e->nxattrs = 0;
	e->chunks = NULL;
	e->nchunks = 0;
	if (!e->name || (o->target && !(e->target = strdup(o->target))))
		return -ENOMEM;
	if (o->type == ENT_FILE && copy_chunks(e, o->chunks, o->nchunks) < 0)
		return -ENOMEM;
	return copy_xattrs(e, o->xattrs, o->nxattrs);
}

/* The node's attributes as an entry (content and subtree filled in by the caller). */
static int entry_of(struct tree_entry *e, const struct lnode *n, const char *name)
{
	const struct tree_entry *o = node_origin(n);

	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->namelen = strlen(name);
	e->type = n->type;
	e->mode = n->mode;
	e->uid = n->uid;
	e->gid = n->gid;
	e->mtime_ns = n->mtime;
	e->rdev = n->type == ENT_CHR || n->type == ENT_BLK ? n->rdev : 0;
	e->size = n->type == ENT_FILE ? n->size : n->type == ENT_SYMLINK ? strlen(n->target) : 0;
	e->nlink = n->type == ENT_FILE ? n->nlink : 1;
	e->link_id = n->type == ENT_FILE && n->nlink > 1 && o ? o->link_id : 0;
	if (!e->name || (n->target && !(e->target = strdup(n->target))))
		return -ENOMEM;
	return copy_xattrs(e, n->xattrs, n->nxattrs);
}

/* ---- which directories ---- */

struct freeze {
	struct live *l;
	struct cplan *p;
	struct u64map need; /* dir ino -> (void *)1 rewrite, (void *)2 keep */
};

static bool content_same(const struct lnode *n)
{
	const struct tree_entry *o = node_origin(n);
	return o && o->type == ENT_FILE && !n->ext.n && n->base_len == n->size &&
	       o->size == n->size;
}

static bool needs(struct freeze *f, struct lnode *d);

/* Does entry name of d differ from what its base listing says? */
static bool entry_changed(struct freeze *f, struct lnode *d, const char *name, struct lnode *n)
{
	if (!live_pristine(n, d, name) || n->chg_epoch)
		return true;
	return n->type == ENT_DIR && n->loaded && n->parent == d && needs(f, n);
}

static bool needs(struct freeze *f, struct lnode *d)
{
	void *v = u64map_get(&f->need, d->ino);
	bool r;

	if (v)
		return v == (void *)1;
	r = (d == f->l->root ? !f->l->has_base : !d->otree) || d->kids_epoch;
	for (size_t i = 0; d->loaded && i < d->kids.cap; i++) {
		const struct kid *k = &d->kids.v[i];
		if (k->name && k->name != TOMBSTONE_NAME && entry_changed(f, d, k->name, k->n))
			r = true; /* no early exit: every subdirectory's answer is remembered */
	}
	if (d->loaded && d->ktree && d->kids.n != d->ktree->t->n)
		r = true;
	u64map_put(&f->need, d->ino, r ? (void *)1 : (void *)2);
	return r;
}

/* ---- building the plan ---- */

static struct cdir *plan_dir(struct freeze *f, struct lnode *d, const char *path, int *err);

static int add_link(struct cplan *p, struct tree_entry *e, uint64_t ino, struct cextra *x)
{
	for (size_t i = 0; i < p->nlinks; i++)
		if (p->links[i].ino == ino) {
			x->link_first = (long)i;
			return 0;
		}
	if (p->nlinks == p->caplinks) {
		size_t cap = p->caplinks ? 2 * p->caplinks : 16;
		void *v = realloc(p->links, cap * sizeof(*p->links));
		if (!v)
			return -ENOMEM;
		p->links = v;
		p->caplinks = cap;
	}
	p->links[p->nlinks++] = (struct cplan_link){.e = e, .ino = ino};
	x->link_first = -1;
	return 0;
}

static int freeze_file(struct tree_entry *e, struct cextra *x, const struct lnode *n)
{
	const struct tree_entry *o = node_origin(n);
	struct cfile *c;

	if (content_same(n))
		return copy_chunks(e, o->chunks, o->nchunks);
	c = x->file = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->size = n->size;
	c->base_len = o && o->type == ENT_FILE ? n->base_len : 0;
	if (o && o->type == ENT_FILE && c->base_len) {
		size_t k = 0;
		while (k < o->nchunks && o->chunks[k].foff < c->base_len)
			k++;
		c->oc = malloc((k ? k : 1) * sizeof(*c->oc));
		if (!c->oc)
			return -ENOMEM;
		if (k)
			memcpy(c->oc, o->chunks, k * sizeof(*c->oc));
		c->noc = k;
	}
	if (n->ext.n) {
		c->ext = malloc(n->ext.n * sizeof(*c->ext));
		if (!c->ext)
			return -ENOMEM;
		memcpy(c->ext, n->ext.v, n->ext.n * sizeof(*c->ext));
		c->next = n->ext.n;
	}
	return 0;
}

/* Entry i of dir d's plan: name with node n. */
static int freeze_entry(struct freeze *f, struct cdir *cd, size_t i, struct lnode *d,
			const char *name, struct lnode *n, const char *path)
{
	struct tree_entry *e = &cd->t.e[i];
	struct cextra *x = &cd->x[i];
	const struct tree_entry *o = node_origin(n);
	bool sub = n->type == ENT_DIR && n->loaded && n->parent == d && needs(f, n);
	int ret = 0;

	x->ino = n->ino;
	x->frozen_size = n->size;
	x->link_first = -1;
	if (live_pristine(n, d, name) && !n->chg_epoch && !sub) {
		x->pristine = true;
		return centry_copy(e, o, name);
	}
	f->p->entries++;
	if ((ret = entry_of(e, n, name)))
		return ret;
	if (n->type == ENT_FILE && n->nlink > 1 && (ret = add_link(f->p, e, n->ino, x)))
		return ret;
	if (n->type == ENT_FILE && x->link_first < 0)
		return freeze_file(e, x, n);
	if (n->type == ENT_DIR && o && o->type == ENT_DIR && !sub) {
		e->subtree = o->subtree; /* renamed or changed itself only: the same listing */
		e->subtree_entries = o->subtree_entries;
	} else if (n->type == ENT_DIR) { /* rewritten, or made here */
		char *p = NULL;
		if (asprintf(&p, "%s%s%s", path, *path ? "/" : "", name) < 0)
			return -ENOMEM;
		x->sub = plan_dir(f, n, p, &ret);
		free(p);
	}
	return ret;
}

static int kid_cmp(const void *a, const void *b)
{
	const struct kid *x = a, *y = b;
	return tree_namecmp(x->name, strlen(x->name), y->name, strlen(y->name));
}

static void cdir_free(struct live *l, struct cdir *cd);

static struct cdir *plan_dir(struct freeze *f, struct lnode *d, const char *path, int *err)
{
	struct cdir *cd = calloc(1, sizeof(*cd));
	struct kid *kids = NULL;
	size_t n = 0;

	*err = -ENOMEM;
	if (!cd || !(cd->path = strdup(path)))
		goto fail;
	cd->ino = d->ino;
	d->refs++; /* kept for the rebase, even if removed meanwhile */
	if (d == f->l->root && f->l->has_base) {
		cd->has_old = true;
		cd->old_ref = f->l->base.root;
	} else if (d != f->l->root && node_origin(d) && node_origin(d)->type == ENT_DIR) {
		cd->has_old = true;
		cd->old_ref = node_origin(d)->subtree;
	}
	if (d->ktree) {
		cd->old = d->ktree;
		d->ktree->refs++;
	}
	kids = calloc(d->kids.n ? d->kids.n : 1, sizeof(*kids));
	cd->t.e = calloc(d->kids.n ? d->kids.n : 1, sizeof(*cd->t.e));
	cd->x = calloc(d->kids.n ? d->kids.n : 1, sizeof(*cd->x));
	if (!kids || !cd->t.e || !cd->x)
		goto fail;
	for (size_t i = 0; i < d->kids.cap; i++)
		if (d->kids.v[i].name && d->kids.v[i].name != TOMBSTONE_NAME)
			kids[n++] = d->kids.v[i];
	if (n)
		qsort(kids, n, sizeof(*kids), kid_cmp);
	for (size_t i = 0; i < n; i++) {
		cd->t.n = cd->n = i + 1;
		if ((*err = freeze_entry(f, cd, i, d, kids[i].name, kids[i].n, path)))
			goto fail;
	}
	free(kids);
	*err = 0;
	return cd;
fail:
	free(kids);
	cdir_free(f->l, cd);
	return NULL;
}

int cplan_freeze(struct live *l, struct cplan **out)
{
	struct freeze f = {.l = l};
	struct cplan *p = calloc(1, sizeof(*p));
	int ret = 0;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	f.p = p;
	p->epoch = l->epoch;
	p->root_changed = l->root->chg_epoch != 0;
	if (needs(&f, l->root) || p->root_changed)
		p->root = plan_dir(&f, l->root, "", &ret);
	if (!ret)
		ret = entry_of(&p->root_meta, l->root, "/");
	u64map_free(&f.need);
	if (ret) {
		cplan_free(l, p);
		return ret;
	}
	/* truncations from now on are measured from here (the rebase needs the smallest) */
	for (size_t i = 0; i < l->inos.cap; i++)
		if (l->inos.keys[i]) {
			struct lnode *n = l->inos.vals[i];
			n->low_water = n->size;
		}
	*out = p;
	return 0;
}

static void cfile_free(struct cfile *c)
{
	if (!c)
		return;
	free(c->oc);
	free(c->ext);
	free(c);
}

static void cdir_free(struct live *l, struct cdir *cd)
{
	struct lnode *d;

	if (!cd)
		return;
	for (size_t i = 0; cd->x && i < cd->n; i++) {
		cdir_free(l, cd->x[i].sub);
		cfile_free(cd->x[i].file);
	}
	for (size_t i = 0; cd->t.e && i < cd->t.n; i++)
		tree_entry_clear(&cd->t.e[i]);
	free(cd->t.e);
	free(cd->x);
	free(cd->path);
	ltree_unref(l, cd->old);
	d = node_by_ino(l, cd->ino);
	if (d && d->refs) {
		d->refs--;
		node_maybe_free(l, d);
	}
	free(cd);
}

void cplan_free(struct live *l, struct cplan *p)
{
	if (!p)
		return;
	cdir_free(l, p->root);
	tree_entry_clear(&p->root_meta);
	free(p->links);
	free(p);
}

/* ---- the rebase ---- */

/* Entry i of the new listing lt is node n's origin now; what the snapshot holds of it is no
 * longer the journal's to keep. */
static void rebase_node(struct live *l, struct lnode *n, struct ltree *lt, size_t i,
			const struct cextra *x, uint64_t epoch)
{
	const struct tree_entry *e = &lt->t->e[i];

	node_set_origin(l, n, lt, i);
	if (n->type == ENT_FILE) {
		extmap_drop_epochs(&n->ext, epoch);
		n->base_len = x->frozen_size < n->low_water ? x->frozen_size : n->low_water;
		if (e->link_id && e->nlink > 1)
			u64map_put(&l->links, e->link_id, n);
	}
	if (n->chg_epoch <= epoch)
		n->chg_epoch = 0;
	if (n->type != ENT_DIR)
		n->kids_epoch = 0;
}

static int rebase_dir(struct live *l, struct cdir *cd, uint64_t epoch)
{
	struct lnode *d = node_by_ino(l, cd->ino);
	struct ltree *lt = calloc(1, sizeof(*lt));
	struct tree *t = malloc(sizeof(*t));
	int ret = 0;

	if (!lt || !t || !(lt->made = calloc(cd->t.n ? cd->t.n : 1, sizeof(*lt->made)))) {
		free(lt);
		free(t);
		return -ENOMEM;
	}
	*t = cd->t; /* the entries move to the new listing */
	memset(&cd->t, 0, sizeof(cd->t));
	lt->t = t;
	lt->refs = 1; /* the directory's */
	lt->owner = d;
	if (d)
		d->refs++;
	for (size_t i = 0; i < cd->n; i++) {
		struct lnode *n = node_by_ino(l, cd->x[i].ino);
		if (n)
			rebase_node(l, n, lt, i, &cd->x[i], epoch);
		if (!ret && cd->x[i].sub)
			ret = rebase_dir(l, cd->x[i].sub, epoch);
	}
	if (d && d->loaded) {
		struct ltree *old = d->ktree;
		d->ktree = lt;
		if (d->kids_epoch <= epoch)
			d->kids_epoch = 0;
		ltree_unref(l, old);
	} else {
		ltree_unref(l, lt); /* nobody lists it: only origins hold it */
	}
	return ret;
}

int cplan_rebase(struct live *l, struct cplan *p, struct snapshot *sn)
{
	int ret = 0;

	if (p->root) {
		ret = rebase_dir(l, p->root, p->epoch);
		if (!ret && l->root->kids_epoch <= p->epoch)
			l->root->kids_epoch = 0;
	}
	if (l->root->chg_epoch <= p->epoch)
		l->root->chg_epoch = 0;
	if (l->has_base)
		snapshot_clear(&l->base);
	links_free(l); /* the base's link groups change with it */
	l->base = *sn; /* taken over */
	memset(sn, 0, sizeof(*sn));
	l->has_base = true;
	return ret;
}
