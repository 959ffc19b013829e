/* adopt: after a commit merged this mount's changes into a head that had moved (another
 * recovery host, a seal from home), the live tree moves onto that merge without a remount —
 * the mount then shows the other side's changes and the conflict copies `commit` reported.
 *
 * When it runs: right after the rebase onto our own snapshot (commit.c), so the tree is "ours
 * plus what was written during the commit". The merge differs from ours only where the other
 * side changed something (or a conflict copy was added); those directories are compared here.
 *
 *   1. prepare (no lock): the listings of ours and of the merge, for every directory whose
 *      record differs, from the root down (subtrees with one record id are not opened);
 *   2. check (lock held): every name the merge changes must be exactly as ours left it in
 *      the live tree — nothing written there during the commit, not open, not a hard link —
 *      and every name it adds must be free. Otherwise the tree stays on ours, as before this
 *      existed, and status says why; the next commit merges again and retries (nothing shown
 *      is ever a mix of both);
 *   3. apply (same lock hold): ADOPT in the journal, then per changed directory a new listing
 *      (the merge's): nodes of names the merge left alone keep their inode and whatever was
 *      written to them since the freeze, their origin moves to the equal entry; names changed
 *      or removed by the merge leave the tree (a changed file comes back as a new node with a
 *      new inode: content never changes under an inode the kernel already knows); new names
 *      get nodes from the merge's entries. The kernel is told which names and directories
 *      changed (live_flush_inval, after the locks are released).
 *
 * Crash safety: ADOPT follows COMMITTED in the journal, and replay applies it in the same
 * place (commit_replay_adopt), so a kill -9 before the checkpoint that follows still comes
 * back on the merge with the changes made during the commit on top; once that checkpoint is
 * complete its generation names the merge as the base. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "hex.h"
#include "log.h"

#define ADOPT_DEPTH_MAX 4096

/* A directory whose record differs between ours and the merge. */
struct adir {
	struct tree *ours, *m; /* the two listings (m moves to the live tree when applied) */
	struct asub {
		const char *name; /* in m */
		struct adir *d;
	} * sub; /* entries that are directories on both sides, with different records */
	size_t nsub, capsub;
};

struct adopt {
	struct snapshot m; /* the merge */
	struct adir *root; /* NULL: the two roots are one record */
};

static void adir_free(struct adir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nsub; i++)
		adir_free(d->sub[i].d);
	free(d->sub);
	tree_free(d->ours);
	tree_free(d->m);
	free(d);
}

void adopt_free(struct adopt *a)
{
	if (!a)
		return;
	adir_free(a->root);
	snapshot_clear(&a->m);
	free(a);
}

static bool is_dir(const struct tree_entry *e)
{
	return e && e->type == ENT_DIR;
}

static int adir_load(struct store *s, const struct rec_ref *ours, const struct rec_ref *m,
		     int depth, struct adir **out)
{
	struct adir *d = calloc(1, sizeof(*d));
	int ret = d ? 0 : -ENOMEM;

	*out = NULL;
	if (!ret && depth > ADOPT_DEPTH_MAX)
		ret = -ELOOP;
	if (!ret)
		ret = store_load_tree(s, ours, &d->ours);
	if (!ret)
		ret = store_load_tree(s, m, &d->m);
	for (size_t i = 0; !ret && i < d->m->n; i++) {
		const struct tree_entry *me = &d->m->e[i];
		const struct tree_entry *oe = tree_find(d->ours, me->name, me->namelen);
		if (!is_dir(me) || !is_dir(oe) || !memcmp(me->subtree.id, oe->subtree.id, ID_LEN))
			continue;
		if (d->nsub == d->capsub) {
			size_t cap = d->capsub ? 2 * d->capsub : 8;
			void *v = realloc(d->sub, cap * sizeof(*d->sub));
			if (!v) {
				ret = -ENOMEM;
				break;
			}
			d->sub = v;
			d->capsub = cap;
		}
		d->sub[d->nsub].name = me->name;
		ret = adir_load(s, &oe->subtree, &me->subtree, depth + 1, &d->sub[d->nsub].d);
		d->nsub++;
	}
	if (ret)
		adir_free(d);
	else
		*out = d;
	return ret;
}

int adopt_prepare(struct store *s, const struct rec_ref *ours_root, const uint8_t id[ID_LEN],
		  struct adopt **out)
{
	struct adopt *a = calloc(1, sizeof(*a));
	int ret = a ? store_read_snapshot(s, id, &a->m) : -ENOMEM;

	*out = NULL;
	if (!a)
		return ret;
	if (!ret && memcmp(ours_root->id, a->m.root.id, ID_LEN))
		ret = adir_load(s, ours_root, &a->m.root, 0, &a->root);
	if (ret) {
		adopt_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

static struct adir *sub_of(const struct adir *d, const char *name)
{
	for (size_t i = 0; i < d->nsub; i++)
		if (!strcmp(d->sub[i].name, name))
			return d->sub[i].d;
	return NULL;
}

/* ---- the check: may the tree move onto the merge here? ---- */

/* Nothing under n was changed since the freeze, is open, or has another name elsewhere: it
 * can leave the tree. NULL if so, else why not (the operator sees it). */
static const char *not_quiet(const struct lnode *n, int depth)
{
	const char *why = NULL;

	if (n->nopen)
		return "a file the merge changes or removes is open";
	if (n->chg_epoch || n->kids_epoch)
		return "a path the merge changes or removes was changed on this mount since";
	if (depth > ADOPT_DEPTH_MAX)
		return "a directory the merge removes is too deep to move in place";
	if (n->type == ENT_FILE && n->nlink > 1)
		return "a file the merge changes or removes has another name (a hard link)";
	for (size_t i = 0; !why && n->type == ENT_DIR && n->loaded && i < n->kids.cap; i++) {
		const struct kid *k = &n->kids.v[i];
		if (k->name && k->name != TOMBSTONE_NAME)
			why = not_quiet(k->n, depth + 1);
	}
	return why;
}

/* Mode, owner and xattrs (a directory's mtime moves with its entries: not compared). */
static bool same_dir_meta(const struct tree_entry *a, const struct tree_entry *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       merge_same_xattrs(a, b);
}

/* A directory d lists under name as its origin there (it may have changed since: entries are
 * compared one level down; its own attributes only if the merge changed them too). */
static bool dir_in_place(const struct lnode *n, const struct lnode *d, const char *name,
			 const struct tree_entry *oe, const struct tree_entry *me)
{
	return n && n->type == ENT_DIR && n->otree && n->otree == d->ktree &&
	       !strcmp(n->otree->t->e[n->oidx].name, name) &&
	       (!n->chg_epoch || same_dir_meta(oe, me));
}

/* The live listing of d is ours (what was just committed), entry for entry. */
static bool listing_is(const struct lnode *d, const struct tree *ours)
{
	const struct tree *t = d->ktree ? d->ktree->t : NULL;

	if (!t || t->n != ours->n)
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (!merge_same_entry(&t->e[i], &ours->e[i]))
			return false;
	return true;
}

static const char *check_dir(const struct lnode *d, const struct adir *ad, int depth)
{
	const struct tree *o = ad->ours, *m = ad->m;

	if (!d->loaded)
		return NULL; /* nothing of it in memory: it will be read from the merge */
	if (depth > ADOPT_DEPTH_MAX || !listing_is(d, o))
		return "a directory in memory is not the one committed";
	for (size_t i = 0; i < o->n; i++) {
		const struct tree_entry *oe = &o->e[i], *me = tree_find(m, oe->name, oe->namelen);
		const struct lnode *kid = kids_get(&d->kids, oe->name);
		const char *why;
		if (merge_same_entry(oe, me))
			continue; /* whatever happened to it here since stays on top */
		if (is_dir(oe) && is_dir(me) && dir_in_place(kid, d, oe->name, oe, me)) {
			if ((why = check_dir(kid, sub_of(ad, oe->name), depth + 1)))
				return why;
			continue;
		}
		if (!kid || !live_pristine(kid, d, oe->name))
			return "a path the merge changes was changed on this mount during the "
			       "commit";
		if (oe->link_id || (me && me->link_id))
			return "the merge changes a hard-linked file";
		if ((why = not_quiet(kid, 0)))
			return why;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct tree_entry *me = &m->e[i];
		if (!tree_find(o, me->name, me->namelen) && kids_get(&d->kids, me->name))
			return "a name the merge adds was made on this mount during the commit";
	}
	return NULL;
}

/* ---- applying it ---- */

static int inval_push(struct live *l, uint64_t parent, const char *name, uint64_t ino)
{
	if (!l->inval || l->replaying)
		return 0;
	if (l->ninv == l->capinv) {
		size_t cap = l->capinv ? 2 * l->capinv : 32;
		void *v = realloc(l->inv, cap * sizeof(*l->inv));
		if (!v)
			return -ENOMEM;
		l->inv = v;
		l->capinv = cap;
	}
	l->inv[l->ninv] = (struct linval){.parent = parent, .ino = ino};
	if (name && !(l->inv[l->ninv].name = strdup(name)))
		return -ENOMEM;
	l->ninv++;
	return 0;
}

/* Take the entry name (node c) out of d, and everything below it (checked quiet: nothing in
 * it is open or changed, so nodes go as soon as the kernel forgets them). */
static void detach(struct live *l, struct lnode *d, const char *name, struct lnode *c)
{
	if (c->type == ENT_DIR && c->loaded) {
		for (size_t i = 0; i < c->kids.cap; i++) {
			struct kid *k = &c->kids.v[i];
			if (k->name && k->name != TOMBSTONE_NAME) {
				char *copy = strdup(k->name);
				if (copy) /* without memory the node stays (a leak, not a wrong
					     tree) */
					detach(l, c, copy, k->n);
				free(copy);
			}
		}
	}
	kids_del(&d->kids, name);
	if (c->type == ENT_DIR) {
		d->nsubdirs--;
		c->nlink = 0;
	} else if (c->nlink) {
		c->nlink--;
	}
	node_maybe_free(l, c);
}

/* A node made from entry i of old now has its origin at entry j of lt (an equal entry). */
static void move_origin(struct live *l, struct ltree *old, size_t i, struct ltree *lt, size_t j)
{
	struct lnode *n = old->made[i];

	if (!n)
		return;
	if (n->otree == old && n->oidx == i)
		node_set_origin(l, n, lt, j);
	else
		lt->made[j] = n; /* another name of a hard-linked file made elsewhere */
}

static int apply_dir(struct live *l, struct lnode *d, struct adir *ad);

/* Entry j of lt (the merge's listing of d), given ours' entry of that name (or NULL). */
static int apply_entry(struct live *l, struct lnode *d, struct adir *ad, struct ltree *old,
		       struct ltree *lt, size_t j)
{
	const struct tree_entry *me = &lt->t->e[j];
	const struct tree_entry *oe = tree_find(old->t, me->name, me->namelen);
	struct lnode *n;
	int ret;

	if (merge_same_entry(oe, me)) {
		move_origin(l, old, (size_t)(oe - old->t->e), lt, j);
		return 0;
	}
	if (is_dir(oe) && is_dir(me)) { /* the same directory, its listing changed */
		n = kids_get(&d->kids, me->name);
		node_set_origin(l, n, lt, j);
		ret = n->chg_epoch ? 0 : node_reset_attrs(n, me); /* else ours stay on top */
		if (!ret)
			ret = inval_push(l, 0, NULL, n->ino);
		return ret ? ret : apply_dir(l, n, sub_of(ad, me->name));
	}
	/* new here (or replacing what detach_changed took away): a node of its own */
	if ((ret = kids_reserve(&d->kids)))
		return ret;
	n = node_from_base(l, lt, j);
	if (!n)
		return -ENOMEM;
	if ((ret = kids_put(&d->kids, me->name, n)))
		return ret;
	if (n->type == ENT_DIR) {
		n->parent = d;
		d->nsubdirs++;
	}
	return oe ? 0 : inval_push(l, d->ino, me->name, 0); /* a cached "no such name" */
}

static int apply_dir(struct live *l, struct lnode *d, struct adir *ad)
{
	struct ltree *old = d->ktree, *lt;
	int ret = 0;

	if (!d->loaded || !ad)
		return 0;
	lt = calloc(1, sizeof(*lt));
	if (!lt || !(lt->made = calloc(ad->m->n ? ad->m->n : 1, sizeof(*lt->made)))) {
		free(lt);
		return -ENOMEM;
	}
	lt->t = ad->m;
	ad->m = NULL;
	lt->refs = 1;
	lt->owner = d;
	d->refs++;
	/* names the merge changed (other than a directory's listing) or removed go first */
	for (size_t i = 0; !ret && i < old->t->n; i++) {
		const struct tree_entry *oe = &old->t->e[i];
		const struct tree_entry *me = tree_find(lt->t, oe->name, oe->namelen);
		if (merge_same_entry(oe, me) || (is_dir(oe) && is_dir(me)))
			continue;
		detach(l, d, oe->name, kids_get(&d->kids, oe->name));
		ret = inval_push(l, d->ino, oe->name, 0);
	}
	for (size_t j = 0; !ret && j < lt->t->n; j++)
		ret = apply_entry(l, d, ad, old, lt, j);
	d->ktree = lt;
	ltree_unref(l, old);
	return ret ? ret : inval_push(l, 0, NULL, d->ino);
}

/* Hard-link groups are found by the base's link ids: those of the merge from now on. */
static int relink(struct live *l)
{
	u64map_free(&l->links);
	for (size_t i = 0; i < l->inos.cap; i++) {
		struct lnode *n = l->inos.vals[i];
		const struct tree_entry *o = l->inos.keys[i] ? node_origin(n) : NULL;
		if (!o || n->type != ENT_FILE || !n->nlink || !o->link_id || o->nlink < 2 ||
		    u64map_get(&l->links, o->link_id))
			continue;
		if (u64map_put(&l->links, o->link_id, n) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool same_root_meta(const struct snapshot *a, const struct snapshot *b)
{
	if (a->has_root_meta != b->has_root_meta)
		return false;
	return !a->has_root_meta || merge_same_entry(&a->root_meta, &b->root_meta);
}

const char *adopt_check(struct live *l, const struct adopt *a)
{
	if (!l->has_base)
		return "the tree has no base";
	if (l->root->chg_epoch && !same_root_meta(&l->base, &a->m))
		return "the merge changes the root directory, changed here during the commit";
	return a->root ? check_dir(l->root, a->root, 0) : NULL;
}

int adopt_apply(struct live *l, struct adopt *a)
{
	int ret = 0;

	u64map_free(&l->links); /* ours' link ids: rebuilt from the merge's below */
	if (a->root)
		ret = apply_dir(l, l->root, a->root);
	if (!ret && !l->root->chg_epoch && a->m.has_root_meta && !same_root_meta(&l->base, &a->m)) {
		ret = node_reset_attrs(l->root, &a->m.root_meta);
		l->root->nlink = 2;
		if (!ret)
			ret = inval_push(l, 0, NULL, l->root->ino);
	}
	snapshot_clear(&l->base);
	l->base = a->m; /* taken over */
	memset(&a->m, 0, sizeof(a->m));
	links_free(l);
	if (!ret)
		ret = relink(l);
	l->adopt_wait = false;
	l->adopt_why = NULL;
	return ret;
}

int commit_replay_adopt(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN])
{
	struct adopt *a = NULL;
	const char *why;
	char hex[2 * ID_LEN + 1];
	int ret;

	(void)epoch;
	if (!l->has_base)
		return -EBADMSG;
	ret = adopt_prepare(l->s, &l->base.root, id, &a);
	if (!ret && (why = adopt_check(l, a))) {
		hex_encode(id, ID_LEN, hex);
		log_err("journal %s: the move onto merge %.16s cannot be replayed: %s", l->jdir,
			hex, why);
		ret = -EBADMSG;
	}
	if (!ret)
		ret = adopt_apply(l, a);
	adopt_free(a);
	return ret;
}

void live_set_inval(struct live *l,
		    void (*inval)(void *ctx, uint64_t parent, const char *name, uint64_t ino),
		    void *ctx)
{
	pthread_mutex_lock(&l->inval_lock);
	pthread_mutex_lock(&l->lock);
	l->inval = inval;
	l->inval_ctx = ctx;
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_unlock(&l->inval_lock);
}

void live_flush_inval(struct live *l)
{
	struct linval *v;
	size_t n;

	pthread_mutex_lock(&l->inval_lock);
	pthread_mutex_lock(&l->lock);
	v = l->inv;
	n = l->ninv;
	l->inv = NULL;
	l->ninv = l->capinv = 0;
	pthread_mutex_unlock(&l->lock);
	for (size_t i = 0; i < n; i++) { /* l->inval cannot change while inval_lock is held */
		if (l->inval)
			l->inval(l->inval_ctx, v[i].parent, v[i].name, v[i].ino);
		free(v[i].name);
	}
	pthread_mutex_unlock(&l->inval_lock);
	free(v);
}
