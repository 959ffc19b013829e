/* live_ops: names — lookup, create, link, unlink, rename, attributes, listings (extended
 * attributes: live_xattr.c).
 *
 * Each change is an x_*() that checks what POSIX requires, writes its journal record (unless
 * the journal is being replayed, which calls the same x_*() with the record's values) and
 * only then changes the tree: a change that cannot be journaled (ENOSPC) has no effect. The
 * live_*() entry points look the nodes up, load the directories involved and call x_*(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live_int.h"
#include "log.h"
#include "store.h"

void node_touch(struct live *l, struct lnode *n)
{
	n->chg_epoch = l->epoch;
}

void node_touch_kids(struct live *l, struct lnode *d)
{
	d->kids_epoch = l->epoch;
}

static int name_check(const char *name)
{
	size_t len = strlen(name);
	if (len > TREE_NAME_MAX)
		return -ENAMETOOLONG;
	return jrec_name_ok(name, len) ? 0 : -EINVAL;
}

/* mknod(2) with no type bits makes a regular file. Sockets exist in format 2's trees only:
 * a format 1 store cannot hold them (an older reader would reject the directory). */
static enum entry_type type_of(const struct live *l, uint32_t mode)
{
	enum entry_type t = (mode & S_IFMT) ? tree_mode_type(mode) : ENT_FILE;

	return t == ENT_SOCK && store_format(l->s) < 2 ? 0 : t;
}

/* A directory p may get a new entry: alive, loaded, name free. */
static int can_add(const struct lnode *p, const char *name)
{
	int ret = name_check(name);
	if (ret)
		return ret;
	if (p->type != ENT_DIR)
		return -ENOTDIR;
	if (p->nlink == 0)
		return -ENOENT; /* removed while open */
	return kids_get(&p->kids, name) ? -EEXIST : 0;
}

static void dir_changed(struct live *l, struct lnode *d, int64_t t)
{
	d->mtime = d->ctime = t;
	node_touch_kids(l, d);
}

int x_mknod(struct live *l, struct lnode *p, const char *name, uint32_t mode, uint64_t rdev,
	    uint32_t uid, uint32_t gid, const char *target, int64_t t, uint64_t jid,
	    struct lnode **out)
{
	enum entry_type type = type_of(l, mode);
	struct lnode *n;
	int ret = can_add(p, name);

	if (ret)
		return ret;
	if (!type)
		return -EOPNOTSUPP;
	if (type == ENT_SYMLINK && (!target || !*target || strlen(target) > JREC_TARGET_MAX))
		return target && *target ? -ENAMETOOLONG : -ENOENT;
	if (kids_reserve(&p->kids) < 0)
		return -ENOMEM;
	if (p->mode & S_ISGID) { /* BSD group semantics of a setgid directory */
		gid = p->gid;
		if (type == ENT_DIR)
			mode |= S_ISGID;
	}
	if (!l->replaying && (ret = jbind(l, p))) /* first: it may take the next jid */
		return ret;
	if (!l->replaying) {
		struct jop op = {.type = JOP_CREATE,
				 .parent = p->jid,
				 .name = name,
				 .namelen = strlen(name),
				 .jid = l->next_jid,
				 .mode = mode,
				 .uid = uid,
				 .gid = gid,
				 .rdev = rdev,
				 .time = t,
				 .data = (const uint8_t *)target,
				 .datalen = target ? strlen(target) : 0};
		if ((ret = jemit(l, &op)))
			return ret;
		jid = l->next_jid;
	}
	n = node_new(l, type);
	if (!n || (target && !(n->target = strdup(target))) || u64map_put(&l->jids, jid, n) < 0 ||
	    kids_put(&p->kids, name, n) < 0) {
		log_err("journal: out of memory applying a change; remount to replay it");
		return -ENOMEM;
	}
	if (jid >= l->next_jid)
		l->next_jid = jid + 1;
	n->jid = jid;
	n->mode = mode & 07777;
	n->uid = uid;
	n->gid = gid;
	n->rdev = type == ENT_CHR || type == ENT_BLK ? rdev : 0;
	n->size = type == ENT_SYMLINK ? strlen(target) : 0;
	n->atime = n->mtime = n->ctime = t;
	n->nlink = type == ENT_DIR ? 2 : 1;
	if (type == ENT_DIR) {
		n->parent = p;
		n->loaded = true;
		p->nsubdirs++;
	}
	node_touch(l, n);
	if (type == ENT_DIR)
		node_touch_kids(l, n);
	dir_changed(l, p, t);
	*out = n;
	return 0;
}

int x_link(struct live *l, struct lnode *n, struct lnode *p, const char *name, int64_t t)
{
	int ret;

	if ((ret = can_add(p, name))) /* EEXIST before EPERM, as Linux checks them */
		return ret;
	/* directories never; symlinks and device nodes cannot be hard links in a snapshot (the
	 * format links regular files only): refused, rather than turned into copies unseen */
	if (n->type != ENT_FILE)
		return -EPERM;
	if (n->nlink == 0)
		return -ENOENT;
	if (n->nlink >= 65000)
		return -EMLINK;
	if (kids_reserve(&p->kids) < 0)
		return -ENOMEM;
	if (!l->replaying) {
		struct jop op = {.type = JOP_LINK,
				 .parent = p->jid,
				 .name = name,
				 .namelen = strlen(name),
				 .time = t};
		if ((ret = jbind(l, p)) || (ret = jbind(l, n)))
			return ret;
		op.parent = p->jid;
		op.jid = n->jid;
		if ((ret = jemit(l, &op)))
			return ret;
	}
	if (kids_put(&p->kids, name, n) < 0)
		return -ENOMEM;
	n->nlink++;
	n->ctime = t;
	node_touch(l, n);
	dir_changed(l, p, t);
	return 0;
}

static bool dir_empty(const struct lnode *d)
{
	return d->kids.n == 0;
}

/* Take c (the entry name of p) out of the tree. */
static void drop_entry(struct live *l, struct lnode *p, const char *name, struct lnode *c,
		       int64_t t)
{
	kids_del(&p->kids, name);
	if (c->type == ENT_DIR) {
		p->nsubdirs--;
		c->nlink = 0;
	} else if (c->nlink) {
		c->nlink--;
		node_touch(l, c); /* its other names show the new count */
	}
	c->ctime = t;
}

int x_unlink(struct live *l, struct lnode *p, const char *name, bool dir, int64_t t)
{
	struct lnode *c = p->type == ENT_DIR ? kids_get(&p->kids, name) : NULL;
	int ret;

	if (p->type != ENT_DIR)
		return -ENOTDIR;
	if (!c)
		return -ENOENT;
	if (dir && c->type != ENT_DIR)
		return -ENOTDIR;
	if (!dir && c->type == ENT_DIR)
		return -EISDIR;
	if (dir && !c->loaded)
		return -EAGAIN; /* the caller loads it first */
	if (dir && !dir_empty(c))
		return -ENOTEMPTY;
	if (!l->replaying) {
		struct jop op = {
		    .type = JOP_UNLINK, .name = name, .namelen = strlen(name), .time = t};
		if ((ret = jbind(l, p)))
			return ret;
		op.parent = p->jid;
		if ((ret = jemit(l, &op)))
			return ret;
	}
	drop_entry(l, p, name, c, t);
	dir_changed(l, p, t);
	node_maybe_free(l, c);
	return 0;
}

static bool is_ancestor(const struct lnode *a, const struct lnode *d)
{
	for (const struct lnode *x = d; x; x = x->parent == x ? NULL : x->parent)
		if (x == a)
			return true;
	return false;
}

static int rename_check(const struct lnode *p, const struct lnode *s, const struct lnode *np,
			const struct lnode *d, unsigned flags)
{
	if (np->nlink == 0 || p->nlink == 0)
		return -ENOENT;
	if ((flags & LIVE_RENAME_NOREPLACE) && d)
		return -EEXIST;
	if ((flags & LIVE_RENAME_EXCHANGE) && !d)
		return -ENOENT;
	if (s->type == ENT_DIR && is_ancestor(s, np))
		return -EINVAL;
	/* the target an ancestor of the source: Linux says ENOTEMPTY (EINVAL when exchanging) */
	if (d && d->type == ENT_DIR && is_ancestor(d, p))
		return flags & LIVE_RENAME_EXCHANGE ? -EINVAL : -ENOTEMPTY;
	if (!d || (flags & LIVE_RENAME_EXCHANGE))
		return 0;
	if (s->type == ENT_DIR && d->type != ENT_DIR)
		return -ENOTDIR;
	if (s->type != ENT_DIR && d->type == ENT_DIR)
		return -EISDIR;
	if (d->type == ENT_DIR && !d->loaded)
		return -EAGAIN;
	if (d->type == ENT_DIR && !dir_empty(d))
		return -ENOTEMPTY;
	return 0;
}

static int rename_emit(struct live *l, struct lnode *p, const char *name, struct lnode *np,
		       const char *newname, unsigned flags, int64_t t)
{
	struct jop op = {.type = JOP_RENAME,
			 .name = name,
			 .namelen = strlen(name),
			 .name2 = newname,
			 .name2len = strlen(newname),
			 .flags = flags,
			 .time = t};
	int ret;

	if ((ret = jbind(l, p)) || (ret = jbind(l, np)))
		return ret;
	op.parent = p->jid;
	op.newparent = np->jid;
	return jemit(l, &op);
}

static void move_in(struct lnode *np, const char *newname, struct lnode *s, struct lnode *from)
{
	kids_put(&np->kids, newname, s); /* the slot exists or the table has room: no ENOMEM */
	if (s->type == ENT_DIR) {
		from->nsubdirs--;
		np->nsubdirs++;
		s->parent = np;
	}
}

int x_rename(struct live *l, struct lnode *p, const char *name, struct lnode *np,
	     const char *newname, unsigned flags, int64_t t)
{
	struct lnode *s, *d;
	int ret;

	if (p->type != ENT_DIR || np->type != ENT_DIR)
		return -ENOTDIR;
	if ((ret = name_check(newname)))
		return ret;
	s = kids_get(&p->kids, name);
	if (!s)
		return -ENOENT;
	d = kids_get(&np->kids, newname);
	if ((flags & LIVE_RENAME_NOREPLACE) && d)
		return -EEXIST;
	if (s == d) /* the same file under both names (or the same name): nothing to do */
		return 0;
	if ((ret = rename_check(p, s, np, d, flags)))
		return ret;
	if (kids_reserve(&np->kids) < 0) /* before anything changes */
		return -ENOMEM;
	if (!l->replaying && (ret = rename_emit(l, p, name, np, newname, flags, t)))
		return ret;
	if (flags & LIVE_RENAME_EXCHANGE) {
		kids_put(&p->kids, name, d);
		move_in(np, newname, s, p);
		if (d->type == ENT_DIR) {
			np->nsubdirs--;
			p->nsubdirs++;
			d->parent = p;
		}
		d->ctime = t;
	} else {
		if (d)
			drop_entry(l, np, newname, d, t);
		kids_del(&p->kids, name);
		move_in(np, newname, s, p);
	}
	s->ctime = t;
	dir_changed(l, p, t);
	dir_changed(l, np, t);
	if (d && !(flags & LIVE_RENAME_EXCHANGE))
		node_maybe_free(l, d);
	return 0;
}

/* ---- entry points ---- */

/* A directory by inode number, its entries loaded. 1: the lock was dropped (start over). */
static int get_dir(struct live *l, uint64_t ino, struct lnode **out)
{
	struct lnode *d = node_by_ino(l, ino);
	int ret;

	if (!d)
		return -ENOENT;
	if (d->type != ENT_DIR)
		return -ENOTDIR;
	ret = dir_ensure(l, d);
	*out = d;
	return ret;
}

int live_lookup(struct live *l, uint64_t parent, const char *name, struct stat *st)
{
	struct lnode *p, *c;
	int ret;

	pthread_mutex_lock(&l->lock);
	while ((ret = get_dir(l, parent, &p)) == 1)
		;
	if (!ret && strlen(name) > TREE_NAME_MAX)
		ret = -ENAMETOOLONG;
	if (!ret) {
		c = kids_get(&p->kids, name);
		if (!c) {
			ret = -ENOENT;
		} else {
			c->nlookup++;
			node_attr(l, c, st);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void live_forget(struct live *l, uint64_t ino, uint64_t n)
{
	struct lnode *x;

	pthread_mutex_lock(&l->lock);
	x = node_by_ino(l, ino);
	if (x && x != l->root) {
		x->nlookup -= n < x->nlookup ? n : x->nlookup;
		node_maybe_free(l, x);
	}
	pthread_mutex_unlock(&l->lock);
}

int live_getattr(struct live *l, uint64_t ino, struct stat *st)
{
	struct lnode *n;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (n)
		node_attr(l, n, st);
	else
		ret = -ENOENT;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int live_readlink(struct live *l, uint64_t ino, char *buf, size_t size)
{
	struct lnode *n;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (!n)
		ret = -ENOENT;
	else if (n->type != ENT_SYMLINK || !n->target)
		ret = -EINVAL;
	else if (strlen(n->target) >= size)
		ret = -ENAMETOOLONG;
	else
		strcpy(buf, n->target);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int make(struct live *l, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
		uid_t uid, gid_t gid, const char *target, struct stat *st)
{
	struct lnode *p, *n;
	int ret;

	pthread_mutex_lock(&l->lock);
	while ((ret = get_dir(l, parent, &p)) == 1)
		;
	if (!ret)
		ret = x_mknod(l, p, name, mode, rdev, uid, gid, target, live_now(), 0, &n);
	if (!ret) {
		n->nlookup++;
		node_attr(l, n, st);
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int live_mknod(struct live *l, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
	       uid_t uid, gid_t gid, struct stat *st)
{
	if (S_ISLNK(mode))
		return -EINVAL;
	return make(l, parent, name, mode, rdev, uid, gid, NULL, st);
}

int live_symlink(struct live *l, uint64_t parent, const char *name, const char *target, uid_t uid,
		 gid_t gid, struct stat *st)
{
	return make(l, parent, name, S_IFLNK | 0777, 0, uid, gid, target, st);
}

int live_link(struct live *l, uint64_t ino, uint64_t parent, const char *name, struct stat *st)
{
	struct lnode *p, *n;
	int ret;

	pthread_mutex_lock(&l->lock);
	while ((ret = get_dir(l, parent, &p)) == 1)
		;
	n = ret ? NULL : node_by_ino(l, ino);
	if (!ret && !n)
		ret = -ENOENT;
	if (!ret)
		ret = x_link(l, n, p, name, live_now());
	if (!ret) {
		n->nlookup++;
		node_attr(l, n, st);
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int remove_name(struct live *l, uint64_t parent, const char *name, bool dir)
{
	struct lnode *p, *c;
	int ret;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		if ((ret = get_dir(l, parent, &p)) == 1)
			continue;
		if (ret)
			break;
		c = kids_get(&p->kids, name);
		if (dir && c && c->type == ENT_DIR && (ret = dir_ensure(l, c)) == 1)
			continue; /* emptiness needs its entries */
		if (!ret)
			ret = x_unlink(l, p, name, dir, live_now());
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int live_unlink(struct live *l, uint64_t parent, const char *name)
{
	return remove_name(l, parent, name, false);
}

int live_rmdir(struct live *l, uint64_t parent, const char *name)
{
	return remove_name(l, parent, name, true);
}

int live_rename(struct live *l, uint64_t parent, const char *name, uint64_t newparent,
		const char *newname, unsigned flags)
{
	struct lnode *p, *np, *d;
	int ret;

	if ((flags & LIVE_RENAME_NOREPLACE) && (flags & LIVE_RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & ~(unsigned)(LIVE_RENAME_NOREPLACE | LIVE_RENAME_EXCHANGE))
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		if ((ret = get_dir(l, parent, &p)) == 1 ||
		    (!ret && (ret = get_dir(l, newparent, &np)) == 1))
			continue;
		if (ret)
			break;
		d = kids_get(&np->kids, newname);
		if (d && d->type == ENT_DIR && (ret = dir_ensure(l, d)) == 1)
			continue;
		if (!ret)
			ret = x_rename(l, p, name, np, newname, flags, live_now());
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* ---- listings ---- */

static mode_t dirent_type(enum entry_type t)
{
	return tree_type_mode(t);
}

void live_dirents_free(struct live_dirent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

static int dirent_cmp(const void *a, const void *b)
{
	const struct live_dirent *x = a, *y = b;
	return strcmp(x->name, y->name);
}

int live_readdir(struct live *l, uint64_t ino, struct live_dirent **out, size_t *nout)
{
	struct live_dirent *v = NULL;
	struct lnode *d;
	size_t n = 0;
	int ret;

	pthread_mutex_lock(&l->lock);
	while ((ret = get_dir(l, ino, &d)) == 1)
		;
	if (!ret && !(v = calloc(d->kids.n ? d->kids.n : 1, sizeof(*v))))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < d->kids.cap; i++) {
		const struct kid *k = &d->kids.v[i];
		if (!k->name || k->name == TOMBSTONE_NAME)
			continue;
		v[n] = (struct live_dirent){
		    .name = strdup(k->name), .ino = k->n->ino, .type = dirent_type(k->n->type)};
		if (!v[n++].name)
			ret = -ENOMEM;
	}
	pthread_mutex_unlock(&l->lock);
	if (ret) {
		live_dirents_free(v, n);
		return ret;
	}
	if (n) /* name order: a listing looks the same every time */
		qsort(v, n, sizeof(*v), dirent_cmp);
	*out = v;
	*nout = n;
	return 0;
}

uint64_t live_parent(struct live *l, uint64_t ino)
{
	struct lnode *n;
	uint64_t p = LIVE_INO_ROOT;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (n && n->parent)
		p = n->parent->ino;
	pthread_mutex_unlock(&l->lock);
	return p;
}
