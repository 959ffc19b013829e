/* live_ckpt: checkpoints — a new generation (a new segment starting with GEN) that restates
 * every pending change against the current base, so that the journal can forget older
 * segments (FORMAT.md 18.2). Written after a commit rebases the tree, and after a replay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live_int.h"
#include "log.h"

struct ck {
	struct live *l;
	struct u64map in;   /* ino -> node: nodes the checkpoint restates */
	struct u64map segs; /* segment numbers extents still use (value unused) */
};

/* Is n, the entry name of d, exactly the base entry there (nothing to restate)? */
bool live_pristine(const struct lnode *n, const struct lnode *d, const char *name)
{
	return n->otree && n->otree == d->ktree && !n->chg_epoch &&
	       strcmp(n->otree->t->e[n->oidx].name, name) == 0 &&
	       (n->type != ENT_DIR || !n->kids_epoch);
}

static int mark(struct ck *k, struct lnode *n)
{
	return u64map_get(&k->in, n->ino) ? 0 : u64map_put(&k->in, n->ino, n);
}

/* Mark what d's subtree needs restated; *needed: whether anything in it does. */
static int ck_walk(struct ck *k, struct lnode *d, bool *needed)
{
	int ret = 0;

	*needed = d->chg_epoch || d->kids_epoch || !d->otree;
	for (size_t i = 0; !ret && d->loaded && i < d->kids.cap; i++) {
		const struct kid *e = &d->kids.v[i];
		bool sub = false;
		if (!e->name || e->name == TOMBSTONE_NAME)
			continue;
		if (e->n->type == ENT_DIR && e->n->loaded && e->n->parent == d)
			ret = ck_walk(k, e->n, &sub);
		if (!ret && (sub || !live_pristine(e->n, d, e->name))) {
			ret = mark(k, e->n);
			*needed = true;
		}
	}
	if (!ret && *needed && d != k->l->root)
		ret = mark(k, d);
	return ret;
}

/* A node no name reaches any more that is still open (unlinked while open). */
static bool orphan(const struct live *l, const struct lnode *n)
{
	return n != l->root && n->nlink == 0 && (n->nopen || n->nlookup);
}

/* Orphans are restated too, without their origin: writes through their open handles need
 * a number the new generation knows, and their extents' segments must stay. An origin path
 * would be wrong: after a commit it names whatever the new base holds there (a BIND of it
 * made a later replay write an unlinked file's bytes into another file). */
static int mark_orphans(struct ck *k)
{
	struct live *l = k->l;
	int ret = 0;

	for (size_t i = 0; !ret && i < l->inos.cap; i++)
		if (l->inos.keys[i] && orphan(l, l->inos.vals[i]))
			ret = mark(k, l->inos.vals[i]);
	return ret;
}

static int emit_node(struct ck *k, struct lnode *n)
{
	struct live *l = k->l;
	bool named = !orphan(l, n) && (n->otree || n == l->root);
	char *path = named ? live_origin_path(l, n) : NULL;
	struct jop op = {.type = JOP_NODE,
			 .has_origin = path != NULL,
			 .name = path ? path : "",
			 .namelen = path ? strlen(path) : 0,
			 .mode = tree_type_mode(n->type) | n->mode,
			 .uid = n->uid,
			 .gid = n->gid,
			 .rdev = n->rdev,
			 .nlink = n->nlink,
			 .flags = (n->chg_epoch ? JNODE_CHANGED : 0) |
				  (n->kids_epoch ? JNODE_KIDS_CHANGED : 0),
			 .size = n->size,
			 .base_len = named ? n->base_len : 0, /* replay never reads an orphan */
			 .atime = n->atime,
			 .mtime = n->mtime,
			 .ctime = n->ctime,
			 .data = (const uint8_t *)n->target,
			 .datalen = n->target ? strlen(n->target) : 0};
	int ret;

	if (named && !path)
		return -ENOMEM;
	if (!n->jid) {
		n->jid = l->next_jid++;
		if (u64map_put(&l->jids, n->jid, n) < 0) {
			free(path);
			return -ENOMEM;
		}
	}
	op.jid = n->jid;
	ret = jemit(l, &op);
	free(path);
	return ret;
}

static int emit_content(struct ck *k, struct lnode *n)
{
	int ret = 0;

	if (!n->chg_epoch)
		return 0;
	if (n->nxattrs || (n->otree && node_origin(n)->nxattrs)) {
		struct jop op = {.type = JOP_XCLEAR, .jid = n->jid};
		ret = jemit(k->l, &op);
		for (size_t i = 0; !ret && i < n->nxattrs; i++) {
			struct jop x = {.type = JOP_SETXATTR,
					.jid = n->jid,
					.name = n->xattrs[i].name,
					.namelen = strlen(n->xattrs[i].name),
					.data = n->xattrs[i].value,
					.datalen = n->xattrs[i].len,
					.time = n->ctime};
			ret = jemit(k->l, &x);
		}
	}
	for (size_t i = 0; !ret && i < n->ext.n; i++) {
		const struct extent *e = &n->ext.v[i];
		struct jop x = {.type = JOP_EXTENT,
				.jid = n->jid,
				.off = e->off,
				.len = e->len,
				.epoch = e->epoch,
				.pos = e->pos,
				.doff = e->doff};
		ret = jemit(k->l, &x);
		if (!ret && !u64map_get(&k->segs, e->pos.seg))
			ret = u64map_put(&k->segs, e->pos.seg, (void *)1);
	}
	return ret;
}

/* The entries of a restated directory that differ from its base listing. */
static int emit_entries(struct ck *k, struct lnode *d)
{
	int ret = 0;

	if (!d->loaded || !d->kids_epoch)
		return 0;
	for (size_t i = 0; !ret && i < d->kids.cap; i++) {
		const struct kid *e = &d->kids.v[i];
		if (!e->name || e->name == TOMBSTONE_NAME || live_pristine(e->n, d, e->name))
			continue;
		if (e->n->otree == d->ktree && d->ktree &&
		    strcmp(e->n->otree->t->e[e->n->oidx].name, e->name) == 0)
			continue; /* in its place, only changed itself: its NODE says so */
		struct jop op = {.type = JOP_CHILD,
				 .parent = d->jid,
				 .name = e->name,
				 .namelen = strlen(e->name),
				 .jid = e->n->jid};
		ret = jemit(k->l, &op);
	}
	for (size_t i = 0; !ret && d->ktree && i < d->ktree->t->n; i++) {
		const char *name = d->ktree->t->e[i].name;
		if (kids_get(&d->kids, name))
			continue;
		struct jop op = {
		    .type = JOP_TOMB, .parent = d->jid, .name = name, .namelen = strlen(name)};
		ret = jemit(k->l, &op);
	}
	return ret;
}

/* Nodes the checkpoint did not restate are unknown to the new generation. */
static void forget_jids(struct ck *k)
{
	struct live *l = k->l;
	for (size_t i = 0; i < l->inos.cap; i++) {
		struct lnode *n = l->inos.vals[i];
		if (!l->inos.keys[i] || n == l->root || u64map_get(&k->in, n->ino) || !n->jid)
			continue;
		u64map_del(&l->jids, n->jid);
		n->jid = 0;
	}
}

static int emit_all(struct ck *k)
{
	struct live *l = k->l;
	struct lnode **v = calloc(k->in.n + 1, sizeof(*v));
	size_t n = 0;
	int ret = v ? 0 : -ENOMEM;

	if (ret)
		return ret;
	for (size_t i = 0; i < k->in.cap; i++)
		if (k->in.keys[i])
			v[n++] = k->in.vals[i];
	v[n++] = l->root;
	/* every node first (named by origin, or made), then contents, then entries */
	for (size_t i = 0; !ret && i < n; i++)
		ret = emit_node(k, v[i]);
	for (size_t i = 0; !ret && i < n; i++)
		ret = emit_content(k, v[i]);
	for (size_t i = 0; !ret && i < n; i++)
		if (v[i]->type == ENT_DIR)
			ret = emit_entries(k, v[i]);
	free(v);
	return ret;
}

/* Old segments no extent uses any more (their changes are in the base, or gone). */
static void drop_unused(struct ck *k, uint64_t first_of_gen)
{
	uint64_t *v;
	size_t n;

	if (jlog_list(k->l->j, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i] < first_of_gen && !u64map_get(&k->segs, v[i]))
			jlog_drop(k->l->j, v[i]);
	free(v);
}

int live_checkpoint(struct live *l)
{
	struct ck k = {.l = l};
	struct jop gen = {
	    .type = JOP_GEN, .gen = l->gen + 1, .epoch = l->epoch, .has_id = l->has_base};
	bool needed;
	uint64_t first;
	int ret = jlog_rotate(l->j);

	if (ret)
		return ret;
	first = jlog_current(l->j);
	if (l->has_base)
		memcpy(gen.id, l->base.id, ID_LEN);
	ret = ck_walk(&k, l->root, &needed);
	if (!ret)
		ret = mark_orphans(&k);
	if (!ret) {
		/* jids are renumbered from 2 for nodes the old generation did not know */
		gen.jid = l->next_jid;
		ret = jemit(l, &gen);
	}
	if (!ret)
		ret = emit_all(&k);
	if (!ret) {
		struct jop end = {.type = JOP_GEN_END, .gen = gen.gen};
		ret = jemit(l, &end);
	}
	if (!ret)
		ret = jlog_sync(l->j);
	if (ret) {
		/* an unfinished checkpoint: remove it and go on in the old generation */
		log_err("journal %s: cannot write a checkpoint: %s", l->jdir, strerror(-ret));
		jdrop_from(l, first);
		jlog_start(l->j);
		u64map_free(&k.in);
		u64map_free(&k.segs);
		return ret;
	}
	l->gen = gen.gen;
	forget_jids(&k);
	drop_unused(&k, first);
	u64map_free(&k.in);
	u64map_free(&k.segs);
	return 0;
}
