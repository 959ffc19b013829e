/* live_journal: writing records for changes and replaying them into a fresh tree (checkpoints,
 * the generations that restate the pending changes against a new base: live_ckpt.c).
 *
 * Replay starts at the last generation whose checkpoint is complete (GEN … GEN_END): segments
 * are peeked at from the newest; a generation cut short by a crash (no GEN_END) held nothing
 * but its unfinished checkpoint, so its segments are removed and the one before is used. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "hex.h"
#include "live_int.h"
#include "log.h"

int jemit(struct live *l, struct jop *op)
{
	struct jlog_pos pos;
	int ret;

	if (l->replaying)
		return 0;
	ret = jrec_encode(op, &l->jb);
	if (!ret)
		ret = jlog_append(l->j, l->jb.p, l->jb.len, &pos);
	return ret;
}

int jbind(struct live *l, struct lnode *n)
{
	struct jop op = {.type = JOP_BIND};
	char *path;
	int ret;

	if (n->jid)
		return 0;
	if (l->replaying)
		return -EBADMSG; /* a replayed record names a node no record introduced */
	path = live_origin_path(l, n);
	if (!path)
		return -ENOMEM;
	op.jid = l->next_jid;
	op.name = path;
	op.namelen = strlen(path);
	ret = jemit(l, &op);
	free(path);
	if (!ret && u64map_put(&l->jids, l->next_jid, n) < 0)
		ret = -ENOMEM;
	if (!ret)
		n->jid = l->next_jid++;
	return ret;
}

/* ---- replay ---- */

struct rctx {
	struct live *l;
	bool gen_seen, gen_done;
	struct lnode **displaced; /* checkpoint: origin entries a CHILD or TOMB took away */
	size_t ndisp, capdisp;
};

static int bad(const char *what)
{
	log_err("journal: %s; the journal does not match its base (damaged?)", what);
	return -EBADMSG;
}

static struct lnode *jnode(struct live *l, uint64_t jid)
{
	return jid ? node_by_jid(l, jid) : NULL;
}

/* A directory named by jid with its entries loaded (the lock may be dropped: nothing else
 * runs during replay). */
static int jdir(struct live *l, uint64_t jid, struct lnode **out)
{
	struct lnode *d = jnode(l, jid);
	int ret;

	if (!d || d->type != ENT_DIR)
		return bad("a record names a directory that is not there");
	while ((ret = dir_ensure(l, d)) == 1)
		;
	*out = d;
	return ret;
}

static void name_copy(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = 0;
}

static int bind_path(struct live *l, const char *path, size_t len, uint64_t jid, struct lnode **out)
{
	struct lnode *n;
	int ret;

	while ((ret = node_by_origin_path(l, path, len, &n)) == 1)
		;
	if (ret)
		return bad("a record names a path that is not in the base");
	if (n->jid && n->jid != jid)
		return bad("a node is named twice");
	if (!n->jid && u64map_put(&l->jids, jid, n) < 0)
		return -ENOMEM;
	n->jid = jid;
	if (jid >= l->next_jid)
		l->next_jid = jid + 1;
	*out = n;
	return 0;
}

static int gen_start(struct rctx *c, const struct jop *op)
{
	struct live *l = c->l;
	int ret;

	if (c->gen_seen)
		return bad("a second generation inside one");
	c->gen_seen = true;
	l->gen = op->gen;
	l->epoch = op->epoch ? op->epoch : 1;
	l->next_jid = op->jid > 2 ? op->jid : 2;
	l->has_base = op->has_id;
	if (op->has_id) {
		ret = store_read_snapshot(l->s, op->id, &l->base);
		if (ret) {
			char hex[2 * ID_LEN + 1];
			hex_encode(op->id, ID_LEN, hex);
			log_err("journal: its base snapshot %.16s cannot be read: %s", hex,
				strerror(-ret));
			return ret;
		}
	}
	return live_set_root(l);
}

static int ck_node(struct live *l, const struct jop *op)
{
	struct lnode *n;
	int ret;
	enum entry_type type;

	type = tree_mode_type(op->mode);
	if (!type)
		type = ENT_FILE;
	if (op->has_origin) {
		if ((ret = bind_path(l, op->name, op->namelen, op->jid, &n)))
			return ret;
		if (n->type != type)
			return bad("a node changed its type");
	} else {
		if (node_by_jid(l, op->jid))
			return bad("a node is named twice");
		n = node_new(l, type);
		if (!n || u64map_put(&l->jids, op->jid, n) < 0)
			return -ENOMEM;
		n->jid = op->jid;
		if (op->jid >= l->next_jid)
			l->next_jid = op->jid + 1;
		n->loaded = type == ENT_DIR;
	}
	n->mode = op->mode & 07777;
	n->uid = op->uid;
	n->gid = op->gid;
	n->rdev = op->rdev;
	n->nlink = op->nlink;
	n->size = op->size;
	n->base_len = op->base_len;
	n->low_water = op->size;
	n->atime = op->atime;
	n->mtime = op->mtime;
	n->ctime = op->ctime;
	free(n->target);
	n->target = NULL;
	if (op->datalen) {
		if (!(n->target = malloc(op->datalen + 1)))
			return -ENOMEM;
		name_copy(n->target, (const char *)op->data, op->datalen);
	}
	n->chg_epoch = op->flags & JNODE_CHANGED ? l->epoch : 0;
	n->kids_epoch = op->flags & JNODE_KIDS_CHANGED ? l->epoch : 0;
	return 0;
}

static int displace(struct rctx *c, struct lnode *n)
{
	if (c->ndisp == c->capdisp) {
		size_t cap = c->capdisp ? 2 * c->capdisp : 16;
		struct lnode **v = realloc(c->displaced, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->displaced = v;
		c->capdisp = cap;
	}
	n->refs++; /* kept until the checkpoint is complete */
	c->displaced[c->ndisp++] = n;
	return 0;
}

/* CHILD (n != NULL) or TOMB: the entry name of d. */
static int ck_entry(struct rctx *c, uint64_t pjid, const char *name, struct lnode *n)
{
	struct lnode *d, *old;
	int ret = jdir(c->l, pjid, &d);

	if (ret)
		return ret;
	old = kids_get(&d->kids, name);
	if (old == n)
		return 0;
	if (old) {
		kids_del(&d->kids, name);
		if (old->type == ENT_DIR)
			d->nsubdirs--;
		if ((ret = displace(c, old)))
			return ret;
	}
	if (!n)
		return 0;
	if (kids_put(&d->kids, name, n) < 0)
		return -ENOMEM;
	if (n->type == ENT_DIR) {
		n->parent = d;
		d->nsubdirs++;
	}
	return 0;
}

/* The checkpoint is complete: entries it took away and did not restate are deleted. */
static void gen_end(struct rctx *c)
{
	for (size_t i = 0; i < c->ndisp; i++) {
		struct lnode *n = c->displaced[i];
		n->refs--;
		if (!n->jid) /* not in the checkpoint: the journal removed it */
			n->nlink = 0;
		node_maybe_free(c->l, n);
	}
	c->ndisp = 0;
	c->gen_done = true;
}

static int ck_extent(struct live *l, const struct jop *op)
{
	struct lnode *n = jnode(l, op->jid);
	struct extent e = {.off = op->off,
			   .len = (uint32_t)op->len,
			   .doff = op->doff,
			   .epoch = op->epoch,
			   .pos = op->pos};

	if (!n || n->type != ENT_FILE)
		return bad("an extent names a node that is not a file");
	return extmap_put(&n->ext, &e);
}

static int ck_xclear(struct live *l, const struct jop *op)
{
	struct lnode *n = jnode(l, op->jid);

	if (!n)
		return bad("a record names a node that is not there");
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	n->xattrs = NULL;
	n->nxattrs = 0;
	return 0;
}

/* Replayed changes must succeed as they did when they were made. */
static int must(int ret, const char *what)
{
	return ret < 0 ? bad(what) : 0;
}

static int r_unlink(struct live *l, const struct jop *op, const char *name)
{
	struct lnode *p, *ch;
	int ret = jdir(l, op->parent, &p);

	if (ret)
		return ret;
	ch = kids_get(&p->kids, name);
	if (ch && ch->type == ENT_DIR)
		while ((ret = dir_ensure(l, ch)) == 1)
			;
	if (ret < 0)
		return ret;
	return must(x_unlink(l, p, name, ch && ch->type == ENT_DIR, op->time), "unlink");
}

static int r_rename(struct live *l, const struct jop *op, const char *name, const char *name2)
{
	struct lnode *p, *np, *d;
	int ret = jdir(l, op->parent, &p);

	if (!ret)
		ret = jdir(l, op->newparent, &np);
	if (ret)
		return ret;
	d = kids_get(&np->kids, name2);
	if (d && d->type == ENT_DIR)
		while ((ret = dir_ensure(l, d)) == 1)
			;
	if (ret < 0)
		return ret;
	return must(x_rename(l, p, name, np, name2, op->flags, op->time), "rename");
}

static int r_op(struct rctx *c, const struct jlog_pos *pos, const struct jop *op)
{
	struct live *l = c->l;
	char name[TREE_NAME_MAX + 1], name2[TREE_NAME_MAX + 1], *target = NULL;
	struct lnode *n, *p;
	int ret = 0;

	if (op->namelen <= TREE_NAME_MAX && op->name)
		name_copy(name, op->name, op->namelen);
	if (op->name2len <= TREE_NAME_MAX && op->name2)
		name_copy(name2, op->name2, op->name2len);
	switch (op->type) {
	case JOP_BIND:
		return bind_path(l, op->name, op->namelen, op->jid, &n);
	case JOP_CREATE:
		if ((ret = jdir(l, op->parent, &p)))
			return ret;
		if (op->datalen && !(target = malloc(op->datalen + 1)))
			return -ENOMEM;
		if (target)
			name_copy(target, (const char *)op->data, op->datalen);
		if (node_by_jid(l, op->jid))
			ret = bad("a node is made twice");
		else
			ret = must(x_mknod(l, p, name, op->mode, op->rdev, op->uid, op->gid, target,
					   op->time, op->jid, &n),
				   "create");
		free(target);
		return ret;
	case JOP_LINK:
		if ((ret = jdir(l, op->parent, &p)))
			return ret;
		n = jnode(l, op->jid);
		return n ? must(x_link(l, n, p, name, op->time), "link")
			 : bad("link of an unknown node");
	case JOP_UNLINK:
		return r_unlink(l, op, name);
	case JOP_RENAME:
		return r_rename(l, op, name, name2);
	case JOP_SETATTR:
		n = jnode(l, op->jid);
		return n ? must(x_setattr(l, n, op->valid, op->mode, op->uid, op->gid, op->size,
					  op->atime, op->mtime, op->ctime),
				"setattr")
			 : bad("setattr of an unknown node");
	case JOP_WRITE:
		n = jnode(l, op->jid);
		return n ? must(x_write(l, n, op->off, op->data, op->datalen, op->time, pos, NULL),
				"write")
			 : bad("write to an unknown node");
	case JOP_SETXATTR:
		n = jnode(l, op->jid);
		return n ? must(x_setxattr(l, n, name, op->data, op->datalen, 0, op->time),
				"setxattr")
			 : bad("setxattr of an unknown node");
	case JOP_RMXATTR:
		n = jnode(l, op->jid);
		return n ? must(x_rmxattr(l, n, name, op->time), "removexattr")
			 : bad("removexattr of an unknown node");
	case JOP_FREEZE: /* what that commit saw, in case a later record says it finished */
		ret = commit_replay_freeze(l, op->epoch);
		l->epoch = op->epoch + 1;
		return ret;
	case JOP_INTENT:
		return commit_replay_intent(l, op->epoch, op->id);
	case JOP_COMMITTED:
		return commit_replay_committed(l, op->epoch, op->id);
	case JOP_ADOPT:
		return commit_replay_adopt(l, op->epoch, op->id);
	default:
		return bad("a checkpoint record outside a checkpoint");
	}
}

static int replay_rec(struct rctx *c, const struct jlog_pos *pos, const uint8_t *body, size_t len);

/* A WRITE record's data is read from the journal when it is read, never at replay (whose
 * x_write keeps only its position): its body need not be decrypted past the header. */
static bool replay_whole(void *ctx, const uint8_t *head, size_t n)
{
	(void)ctx;
	return !(n >= JREC_WRITE_HDR && head[0] == JOP_WRITE);
}

static int replay_one(void *ctx, const struct jlog_pos *pos, const uint8_t *body, size_t len)
{
	int ret = replay_rec(ctx, pos, body, len);

	if (ret == -EBADMSG)
		log_err("journal %s: the record at segment %llu offset %llu (type %u) cannot be "
			"applied",
			((struct rctx *)ctx)->l->jdir, (unsigned long long)pos->seg,
			(unsigned long long)pos->off, len ? body[0] : 0);
	return ret;
}

static int replay_rec(struct rctx *c, const struct jlog_pos *pos, const uint8_t *body, size_t len)
{
	struct jop op;
	char name[TREE_NAME_MAX + 1];

	if (jrec_decode(body, len, &op) < 0)
		return bad("a record is malformed");
	if (!c->gen_seen && op.type != JOP_GEN)
		return bad("a generation does not start with its header");
	if (op.namelen <= TREE_NAME_MAX && op.name)
		name_copy(name, op.name, op.namelen);
	if (op.type == JOP_GEN)
		return gen_start(c, &op);
	if (!c->gen_done) { /* inside the checkpoint */
		switch (op.type) {
		case JOP_NODE:
			return ck_node(c->l, &op);
		case JOP_XCLEAR:
			return ck_xclear(c->l, &op);
		case JOP_SETXATTR:
			return r_op(c, pos, &op);
		case JOP_EXTENT:
			return ck_extent(c->l, &op);
		case JOP_CHILD:
			if (!jnode(c->l, op.jid))
				return bad("an entry names a node that is not there");
			return ck_entry(c, op.parent, name, jnode(c->l, op.jid));
		case JOP_TOMB:
			return ck_entry(c, op.parent, name, NULL);
		case JOP_GEN_END:
			gen_end(c);
			return 0;
		default:
			return bad("an operation inside a checkpoint");
		}
	}
	return r_op(c, pos, &op);
}

/* Segments whose first record is a generation header, newest first. */
static int gen_segments(struct live *l, uint64_t **out, size_t *nout)
{
	uint64_t *segs = NULL;
	size_t n = 0, k = 0;
	int ret = jlog_list(l->j, &segs, &n);

	for (size_t i = n; !ret && i-- > 0;) {
		uint8_t *body;
		size_t len;
		struct jop op;
		int r = jlog_first(l->j, segs[i], &body, &len);
		if (r == -ENODATA || r == -EBADMSG)
			continue; /* an empty segment, or one cut short */
		if (r) {
			ret = r;
			break;
		}
		if (jrec_decode(body, len, &op) == 0 && op.type == JOP_GEN)
			segs[k++] = segs[i];
		free(body);
	}
	*out = segs;
	*nout = k;
	return ret;
}

static void reset_tree(struct live *l)
{
	commit_state_free(l);
	live_free_nodes(l);
	if (l->has_base)
		snapshot_clear(&l->base);
	l->has_base = false;
	l->next_ino = LIVE_INO_ROOT;
	l->pending_write_bytes = 0;
}

int jdrop_from(struct live *l, uint64_t seg)
{
	uint64_t *v;
	size_t n;
	int ret = jlog_list(l->j, &v, &n);

	for (size_t i = 0; !ret && i < n; i++)
		if (v[i] >= seg) {
			log_warn(
			    "journal %s: removing segment %llu (a checkpoint a crash cut short)",
			    l->jdir, (unsigned long long)v[i]);
			ret = jlog_drop(l->j, v[i]);
		}
	free(v);
	return ret;
}

/* Nodes the replay left without a name (files unlinked while open, when the crash came). */
static void sweep(struct live *l)
{
	size_t n = 0;
	uint64_t *v = calloc(l->inos.n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < l->inos.cap; i++)
		if (l->inos.keys[i])
			v[n++] = l->inos.keys[i];
	/* by number: freeing one node can free others (a deleted directory it kept) */
	for (size_t i = 0; i < n; i++) {
		struct lnode *x = node_by_ino(l, v[i]);
		if (x && !x->nlink)
			node_maybe_free(l, x);
	}
	free(v);
}

int live_replay(struct live *l, bool *found)
{
	struct jlog_replay_stats st;
	uint64_t *gens = NULL;
	size_t ngens = 0;
	int ret = gen_segments(l, &gens, &ngens);

	*found = false;
	l->replaying = true;
	for (size_t i = 0; !ret && i < ngens; i++) {
		struct rctx c = {.l = l};
		reset_tree(l);
		ret = jlog_replay_peek(l->j, gens[i], replay_whole, replay_one, &c, &st);
		for (size_t k = 0; k < c.ndisp; k++)
			c.displaced[k]->refs--;
		free(c.displaced);
		if (!ret && !c.gen_done) {
			ret = jdrop_from(l, gens[i]);
			continue;
		}
		if (!ret) {
			sweep(l);
			*found = true;
			log_info(
			    "journal %s: replayed %llu records (%llu bytes) from %llu segment(s)%s",
			    l->jdir, (unsigned long long)st.records, (unsigned long long)st.bytes,
			    (unsigned long long)st.segments,
			    st.torn_bytes ? "; a torn tail was dropped" : "");
		}
		break;
	}
	l->replaying = false;
	free(gens);
	if (ret)
		reset_tree(l);
	return ret;
}
