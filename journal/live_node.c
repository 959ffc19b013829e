/* live_node: the node table — making nodes from base entries, materialising directories,
 * origins and their paths, attributes, and freeing nodes nothing refers to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live_int.h"
#include "log.h"

int64_t live_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct lnode *node_by_ino(struct live *l, uint64_t ino)
{
	return u64map_get(&l->inos, ino);
}

struct lnode *node_by_jid(struct live *l, uint64_t jid)
{
	return u64map_get(&l->jids, jid);
}

struct lnode *node_new(struct live *l, enum entry_type type)
{
	struct lnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = type;
	n->ino = l->next_ino++;
	if (u64map_put(&l->inos, n->ino, n) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

const struct tree_entry *node_origin(const struct lnode *n)
{
	return n->otree ? &n->otree->t->e[n->oidx] : NULL;
}

static void xattrs_free(struct xattr *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].name);
		free(x[i].value);
	}
	free(x);
}

static void node_free(struct live *l, struct lnode *n)
{
	const struct tree_entry *o = node_origin(n);

	u64map_del(&l->inos, n->ino);
	if (n->jid && u64map_get(&l->jids, n->jid) == n)
		u64map_del(&l->jids, n->jid);
	if (o && o->link_id && u64map_get(&l->links, o->link_id) == n)
		u64map_del(&l->links, o->link_id);
	if (n->ktree) { /* its own listing: no longer owned (nobody else holds it) */
		struct ltree *t = n->ktree;
		n->ktree = NULL;
		t->owner = NULL;
		n->refs--;
		ltree_unref(l, t);
	}
	if (n->otree) {
		if (n->otree->made[n->oidx] == n)
			n->otree->made[n->oidx] = NULL;
		ltree_unref(l, n->otree);
	}
	kids_free(&n->kids);
	extmap_free(&n->ext);
	xattrs_free(n->xattrs, n->nxattrs);
	free(n->target);
	free(n);
}

/* Free n once nothing needs it: no name, no kernel reference, no open handle, and no other
 * node's origin in its own listing (which needs n for its path). */
void node_maybe_free(struct live *l, struct lnode *n)
{
	bool own = n && n->ktree && n->ktree->owner == n;

	if (!n || n == l->root || n->nlink || n->nlookup || n->nopen || l->replaying)
		return; /* replay: a later record may still use it (an open file); swept after */
	if (n->refs != (own ? 1u : 0u) || (own && n->ktree->refs != 1))
		return;
	node_free(l, n);
}

void ltree_unref(struct live *l, struct ltree *t)
{
	struct lnode *owner;

	if (!t)
		return;
	owner = t->owner;
	if (--t->refs == 0) {
		tree_free(t->t);
		free(t->made);
		free(t);
		if (owner)
			owner->refs--;
	}
	/* the last holder besides the directory itself may have gone: a deleted directory can
	 * go too */
	if (owner)
		node_maybe_free(l, owner);
}

void node_set_origin(struct live *l, struct lnode *n, struct ltree *t, size_t i)
{
	struct ltree *old = n->otree;

	if (old && old->made[n->oidx] == n)
		old->made[n->oidx] = NULL;
	if (t) {
		t->refs++;
		t->made[i] = n;
	}
	n->otree = t;
	n->oidx = i;
	ltree_unref(l, old);
}

char *live_origin_path(struct live *l, const struct lnode *n)
{
	char *pp, *p;

	if (n == l->root)
		return strdup("");
	if (!n->otree)
		return NULL;
	if (!n->otree->owner || n->otree->owner == l->root)
		return strdup(n->otree->t->e[n->oidx].name);
	pp = live_origin_path(l, n->otree->owner);
	if (!pp)
		return NULL;
	if (asprintf(&p, "%s/%s", pp, n->otree->t->e[n->oidx].name) < 0)
		p = NULL;
	free(pp);
	return p;
}

/* ---- making nodes from the base ---- */

/* Attributes as the base entry has them. */
static int attrs_from(struct lnode *n, const struct tree_entry *e)
{
	n->mode = e->mode;
	n->uid = e->uid;
	n->gid = e->gid;
	n->rdev = e->rdev;
	n->size = e->type == ENT_DIR ? 0 : e->size;
	n->base_len = e->type == ENT_FILE ? e->size : 0;
	n->low_water = n->size;
	n->atime = n->mtime = n->ctime = e->mtime_ns;
	n->nlink = e->type == ENT_DIR ? 2 : e->nlink ? e->nlink : 1;
	if (e->target && !(n->target = strdup(e->target)))
		return -ENOMEM;
	return tree_xattrs_dup(e->xattrs, e->nxattrs, &n->xattrs, &n->nxattrs);
}

int node_reset_attrs(struct lnode *n, const struct tree_entry *e)
{
	xattrs_free(n->xattrs, n->nxattrs);
	n->xattrs = NULL;
	n->nxattrs = 0;
	free(n->target);
	n->target = NULL;
	return attrs_from(n, e);
}

struct lnode *node_from_base(struct live *l, struct ltree *t, size_t i)
{
	const struct tree_entry *e = &t->t->e[i];
	struct lnode *n = t->made[i];

	if (n)
		return n;
	if (e->link_id && e->type == ENT_FILE && (n = u64map_get(&l->links, e->link_id))) {
		t->made[i] = n; /* another name of a file already made */
		return n;
	}
	n = node_new(l, e->type);
	if (!n)
		return NULL;
	if (attrs_from(n, e) < 0 ||
	    (e->link_id && e->type == ENT_FILE && u64map_put(&l->links, e->link_id, n) < 0)) {
		n->nlink = 0;
		node_maybe_free(l, n);
		return NULL;
	}
	node_set_origin(l, n, t, i);
	return n;
}

/* Where d's base listing is: the snapshot root, or its origin's subtree. */
static bool dir_origin_ref(const struct live *l, const struct lnode *d, struct rec_ref *ref)
{
	const struct tree_entry *e;

	if (d == l->root) {
		if (!l->has_base)
			return false;
		*ref = l->base.root;
		return true;
	}
	e = node_origin(d);
	if (!e || e->type != ENT_DIR)
		return false;
	*ref = e->subtree;
	return true;
}

/* d's entries are those of listing t (taken over). */
static int dir_install(struct live *l, struct lnode *d, struct tree *t)
{
	struct ltree *lt = calloc(1, sizeof(*lt));
	int ret = 0;

	if (!lt || !(lt->made = calloc(t->n ? t->n : 1, sizeof(*lt->made)))) {
		free(lt);
		tree_free(t);
		return -ENOMEM;
	}
	lt->refs = 1;
	lt->t = t;
	lt->owner = d;
	d->refs++;
	d->ktree = lt;
	for (size_t i = 0; !ret && i < t->n; i++) {
		struct lnode *n = node_from_base(l, lt, i);
		if (!n) {
			ret = -ENOMEM;
			break;
		}
		if (n->type == ENT_DIR) {
			n->parent = d;
			d->nsubdirs++;
		}
		ret = kids_put(&d->kids, t->e[i].name, n);
	}
	d->loaded = ret == 0;
	return ret;
}

int dir_ensure(struct live *l, struct lnode *d)
{
	struct rec_ref ref, again;
	struct tree *t = NULL;
	int ret;

	if (d->loaded)
		return 0;
	if (d->type != ENT_DIR)
		return -ENOTDIR;
	if (!dir_origin_ref(l, d, &ref)) {
		d->loaded = true; /* made here: nothing to load */
		return 0;
	}
	d->refs++;
	pthread_mutex_unlock(&l->lock);
	ret = store_load_tree(l->s, &ref, &t);
	pthread_mutex_lock(&l->lock);
	d->refs--;
	if (ret < 0) {
		log_err("journal: cannot read a directory of the base snapshot: %s",
			strerror(-ret));
		ret = ret == -ENOMEM ? ret : -EIO;
	} else if (d->loaded || !dir_origin_ref(l, d, &again) || memcmp(again.id, ref.id, ID_LEN)) {
		tree_free(t); /* another thread was first, or a commit moved the base */
		ret = 1;
	} else {
		ret = dir_install(l, d, t);
		ret = ret < 0 ? ret : 1;
	}
	node_maybe_free(l, d);
	return ret;
}

int node_by_origin_path(struct live *l, const char *path, size_t len, struct lnode **out)
{
	struct lnode *n = l->root;
	size_t start = 0;

	while (start < len) {
		size_t end = start;
		int ret;
		while (end < len && path[end] != '/')
			end++;
		ret = dir_ensure(l, n);
		if (ret)
			return ret; /* 1: the lock was dropped: start over */
		const struct tree_entry *e =
		    n->ktree ? tree_find(n->ktree->t, path + start, end - start) : NULL;
		if (!e)
			return -ENOENT;
		n = n->ktree->made[e - n->ktree->t->e];
		if (!n)
			return -ENOENT; /* deleted and forgotten */
		start = end + 1;
	}
	*out = n;
	return 0;
}

int live_set_root(struct live *l)
{
	struct lnode *r = node_new(l, ENT_DIR);

	if (!r)
		return -ENOMEM;
	if (l->has_base && l->base.has_root_meta) { /* the sealed directory's own attributes */
		if (attrs_from(r, &l->base.root_meta) < 0) {
			u64map_del(&l->inos, r->ino);
			free(r);
			return -ENOMEM;
		}
	} else {
		r->mode = 0755;
		r->uid = getuid();
		r->gid = getgid();
		r->atime = r->mtime = r->ctime = l->has_base ? l->base.time_ns : live_now();
	}
	r->nlink = 2;
	r->jid = 1;
	r->parent = r;
	l->root = r;
	return u64map_put(&l->jids, 1, r);
}

/* Every node goes, whatever refers to it (the mount is over). */
void live_free_nodes(struct live *l)
{
	struct lnode **all = calloc(l->inos.n ? l->inos.n : 1, sizeof(*all));
	size_t n = 0;

	if (!all)
		return; /* leak rather than crash at exit */
	for (size_t i = 0; i < l->inos.cap; i++)
		if (l->inos.keys[i])
			all[n++] = l->inos.vals[i];
	/* first cut every link between nodes and listings, then free both kinds */
	for (size_t i = 0; i < n; i++) {
		struct lnode *x = all[i];
		if (x->otree)
			x->otree->made[x->oidx] = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct lnode *x = all[i];
		struct ltree *o = x->otree, *k = x->ktree;
		x->otree = x->ktree = NULL;
		if (o && --o->refs == 0) {
			tree_free(o->t);
			free(o->made);
			free(o);
		}
		if (k && --k->refs == 0) {
			tree_free(k->t);
			free(k->made);
			free(k);
		}
	}
	for (size_t i = 0; i < n; i++) {
		kids_free(&all[i]->kids);
		extmap_free(&all[i]->ext);
		xattrs_free(all[i]->xattrs, all[i]->nxattrs);
		free(all[i]->target);
		free(all[i]);
	}
	free(all);
	u64map_free(&l->inos);
	u64map_free(&l->jids);
	u64map_free(&l->links);
	l->root = NULL;
}

/* ---- attributes ---- */

static mode_t type_bits(enum entry_type t)
{
	return tree_type_mode(t);
}

static struct timespec ns_to_ts(int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)rem};
}

/* Bytes the file really holds: origin chunks below base_len plus the journal's extents. */
static uint64_t allocated(const struct lnode *n)
{
	const struct tree_entry *o = node_origin(n);
	uint64_t a = extmap_bytes(&n->ext);

	for (size_t i = 0; o && o->type == ENT_FILE && i < o->nchunks; i++) {
		const struct chunk_ref *c = &o->chunks[i];
		if (c->foff >= n->base_len)
			break;
		a += c->foff + c->rec.plen <= n->base_len ? c->rec.plen : n->base_len - c->foff;
	}
	return a;
}

void node_attr(struct live *l, const struct lnode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = type_bits(n->type) | (n->mode & 07777);
	/* a directory's count is exact once its entries are known (2 + subdirectories); before,
	 * 1 means "unknown" to find and fts, which then never skip a subdirectory */
	if (n->type == ENT_DIR)
		st->st_nlink = n->loaded ? 2 + n->nsubdirs : 1;
	else
		st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = (dev_t)n->rdev;
	st->st_size = n->type == ENT_DIR ? 4096 : (off_t)n->size;
	st->st_blocks = n->type == ENT_FILE ? (blkcnt_t)((allocated(n) + 511) / 512) : 0;
	st->st_blksize = 1 << 20;
	st->st_atim = ns_to_ts(n->atime);
	st->st_mtim = ns_to_ts(n->mtime);
	st->st_ctim = ns_to_ts(n->ctime);
}
