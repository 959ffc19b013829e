/* fs_ops: the FUSE low-level handlers. Each one finds its node, delegates to fs_inode /
 * fs_layout / fs_prefetch / the store, and answers; errors travel as negative errno and are
 * turned into a reply only here, at the edge. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "deadline.h"
#include "fs_int.h"
#include "log.h"

/* An open directory: its listing, or NULL for a synthetic directory. */
struct fs_dirh {
	struct fs_node *dir;
	struct fs_tree *kids;
};

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* What the kernel is told: the core's reasons (tampered record, unreachable server, timed
 * out) all read as EIO to applications; the reason is in the log. */
static int kernel_err(int ret)
{
	switch (-ret) {
	case ENOENT:
	case ENOTDIR:
	case ENOMEM:
	case ERANGE:
	case ENODATA:
	case EROFS:
	case EINVAL:
	case ENXIO:
	case ENAMETOOLONG:
		return -ret;
	default:
		return EIO;
	}
}

static void fill_entry(struct fs *fs, const struct fs_node *n, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = n->ino;
	inode_attr(fs, n, &ep->attr);
	ep->attr_timeout = FS_TIMEOUT;
	ep->entry_timeout = FS_TIMEOUT;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* open answers ENOSYS: the kernel then opens and releases files without asking (two
	 * round trips less per file for cp -a, rsync, tar) and keeps their pages across
	 * opens, as keep_cache did; a read finds its file by inode */
	fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	log_debug("files opened by the kernel without a request: %s", fs->no_open ? "yes" : "no");
	/* the same for directories: opendir answers ENOSYS, and the kernel then opens and
	 * releases them itself and caches their listings (FOPEN_CACHE_DIR is its default then),
	 * so a cold find costs two READDIRPLUS per directory instead of four round trips */
	fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	log_debug("directories opened by the kernel without a request: %s",
		  fs->no_opendir ? "yes" : "no");
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* always plus: one listing gives every attribute, no lookup storm after ls -l */
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* the kernel then caches each inode's ACL (or its absence): `ls -l` asks for
	 * system.posix_acl_access on every file, a round trip each time otherwise; and ACLs
	 * sealed as xattrs are enforced like on the source */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* nothing ever changes: no need to compare mtimes to drop cached pages */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_readahead = FS_MAX_READ;
	conn->max_read = FS_MAX_READ; /* must match the max_read mount option */
}

/* ---- names and attributes ---- */

static int lookup_child(struct fs *fs, struct fs_node *dir, const char *name,
			struct fs_node **child)
{
	struct fs_tree *kids;
	const struct tree_entry *e;
	int ret;

	/* no snapshot holds such a name: say so as a file system does, not "absent" */
	if (strlen(name) > TREE_NAME_MAX)
		return -ENAMETOOLONG;
	if (layout_is_synthetic_dir(dir))
		return layout_lookup(fs, dir, name, child);
	ret = inode_kids(fs, dir, &kids);
	if (ret < 0)
		return ret;
	e = tree_find(kids->t, name, strlen(name));
	ret = e ? inode_child(fs, dir, kids, (size_t)(e - kids->t->e), child) : -ENOENT;
	fs_tree_unref(kids);
	return ret;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fs_node *dir = inode_get(fs, parent), *child = NULL;
	struct fuse_entry_param ep;
	uint64_t dl = fs_deadline_begin(fs);
	int ret = dir ? lookup_child(fs, dir, name, &child) : -ENOENT;

	deadline_set(dl);
	if (ret == -ENOENT) { /* cached negative entry: the snapshot never changes */
		memset(&ep, 0, sizeof(ep));
		ep.entry_timeout = FS_TIMEOUT;
		fuse_reply_entry(req, &ep);
		return;
	}
	if (ret < 0) {
		fuse_reply_err(req, kernel_err(ret));
		return;
	}
	fill_entry(fs, child, &ep);
	if (fuse_reply_entry(req, &ep) < 0) /* interrupted: the kernel did not take it */
		inode_forget(fs, child->ino, 1);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(req_fs(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n = inode_get(fs, ino);
	struct stat st;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	inode_attr(fs, n, &st);
	fuse_reply_attr(req, &st, FS_TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n = inode_get(fs, ino);
	const char *target = n ? layout_readlink(fs, n) : NULL;

	if (target)
		fuse_reply_readlink(req, target);
	else
		fuse_reply_err(req, EINVAL);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct statvfs st = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = TREE_NAME_MAX};

	st.f_blocks = (fs->total_bytes + 4095) / 4096;
	st.f_files = fs->total_files;
	fuse_reply_statfs(req, &st);
}

/* ---- directories ---- */

/* What a listing needs: the directory's node and its decoded tree (or, for a synthetic
 * directory, its list loaded). All or nothing: never a short listing. */
static int dirh_fill(struct fs *fs, fuse_ino_t ino, struct fs_dirh *dh)
{
	struct fs_node *n = inode_get(fs, ino);
	uint64_t dl;
	int ret;

	dh->dir = n;
	dh->kids = NULL;
	if (!n)
		return -ENOENT;
	dl = fs_deadline_begin(fs);
	if (layout_is_synthetic_dir(n))
		ret = layout_open_dir(fs, n); /* snapshots/: the list, whole or an error */
	else
		ret = inode_kids(fs, n, &dh->kids);
	deadline_set(dl);
	return ret;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_dirh *dh;
	int ret;

	/* reached once at most (op_init): this ENOSYS is the open's success, and readdir
	 * finds its directory by inode from now on */
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	dh = calloc(1, sizeof(*dh));
	ret = dh ? dirh_fill(fs, ino, dh) : -ENOMEM;
	if (ret < 0) {
		free(dh);
		fuse_reply_err(req, kernel_err(ret));
		return;
	}
	fi->fh = (uintptr_t)dh;
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	if (fuse_reply_open(req, fi) < 0) {
		fs_tree_unref(dh->kids);
		free(dh);
	}
}

/* Entry idx of an open directory: ".", "..", then the children. For plus, *child gets
 * a lookup reference (not for "." and "..", which the kernel does not count). */
static int dir_entry(struct fs *fs, struct fs_dirh *dh, size_t idx, bool plus, const char **name,
		     struct fs_node **child, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	*child = NULL;
	if (idx < 2) {
		*name = idx == 0 ? "." : "..";
		st->st_ino = idx == 0 ? dh->dir->ino : dh->dir->parent;
		st->st_mode = S_IFDIR;
		return 0;
	}
	idx -= 2;
	if (!dh->kids) {
		int ret = layout_child(fs, dh->dir, idx, name, child);
		if (ret == 0 && !plus)
			inode_forget(fs, (*child)->ino, 1); /* pinned: never freed */
		return ret;
	}
	if (idx >= dh->kids->t->n)
		return -ENOENT;
	*name = dh->kids->t->e[idx].name;
	if (plus)
		return inode_child(fs, dh->dir, dh->kids, idx, child);
	st->st_ino = inode_child_ino(fs, dh->dir, dh->kids, idx);
	st->st_mode = inode_type_bits(dh->kids->t->e[idx].type); /* d_type: symlinks too */
	return 0;
}

/* Add entry idx to buf if it fits: its size, 0 when it does not fit, or -errno. */
static ssize_t add_entry(fuse_req_t req, struct fs_dirh *dh, size_t idx, bool plus, char *buf,
			 size_t room)
{
	struct fs *fs = req_fs(req);
	struct fuse_entry_param ep = {0};
	struct fs_node *child;
	const char *name;
	int ret = dir_entry(fs, dh, idx, plus, &name, &child, &ep.attr);
	size_t need;

	if (ret < 0)
		return ret;
	need = plus ? fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0)
		    : fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	if (need > room) {
		if (child)
			inode_forget(fs, child->ino, 1);
		return 0;
	}
	if (child)
		fill_entry(fs, child, &ep);
	else
		ep.ino = ep.attr.st_ino;
	if (plus)
		return (ssize_t)fuse_add_direntry_plus(req, buf, room, name, &ep, (off_t)idx + 1);
	return (ssize_t)fuse_add_direntry(req, buf, room, name, &ep.attr, (off_t)idx + 1);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct fs_dirh own, *dh = (struct fs_dirh *)(uintptr_t)fi->fh;
	char *buf;
	size_t used = 0;
	ssize_t n = 0;

	if (!dh) { /* opened by the kernel (op_opendir): found by inode, for this call */
		int ret = dirh_fill(req_fs(req), ino, &own);
		if (ret < 0) {
			fs_tree_unref(own.kids);
			fuse_reply_err(req, kernel_err(ret));
			return;
		}
		dh = &own;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		n = -ENOMEM;
		size = 0;
	}
	for (size_t idx = (size_t)off; used < size; idx++) {
		n = add_entry(req, dh, idx, plus, buf + used, size - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	/* -ENOENT is the end of the listing; any other failure with nothing added is an
	 * error, while a partial buffer is fine: the kernel asks again from where it stopped */
	if (n < 0 && n != -ENOENT && used == 0)
		fuse_reply_err(req, kernel_err((int)n));
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
	if (dh == &own)
		fs_tree_unref(own.kids);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirh *dh = (struct fs_dirh *)(uintptr_t)fi->fh;

	if (dh) /* none when the kernel opened it (op_opendir) */
		fs_tree_unref(dh->kids);
	free(dh);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

/* The file a read or lseek is about: the kernel holds a lookup reference on it while it
 * is open, so the node stays. */
static struct fs_node *file_node(struct fs *fs, fuse_ino_t ino)
{
	struct fs_node *n = inode_get(fs, ino);

	return n && n->kind == FS_ENTRY && n->e->type == ENT_FILE ? n : NULL;
}

/* Reached once at most when the kernel supports opening by itself (op_init): the ENOSYS
 * answer is this open's success and tells the kernel to stop asking. Otherwise a reply
 * with nothing to remember: reads find their file by inode. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n = inode_get(fs, ino);

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!n || n->kind != FS_ENTRY || n->e->type != ENT_FILE) {
		fuse_reply_err(req, n ? EINVAL : ENOENT);
		return;
	}
	if (fs->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1; /* immutable: pages read once stay valid across opens */
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

/* ---- pushing a directory's small files into the kernel's page cache ---- */

#define PUSH_FILE_MAX (1u << 20) /* files pushed: one chunk of at most this */
#define PUSH_FIRST    8		 /* entries in the first range pushed */

/* A range of a directory whose small files' records are being prefetched, for push_files. */
struct push {
	struct fs *fs;
	struct fs_tree *dir; /* a reference */
	size_t from, to;     /* entries [from, to) of its listing */
};

/* Hand one file's bytes to the kernel (FUSE_NOTIFY_STORE): they land in its page cache as
 * read, so the reader's own read (cp -a, rsync, tar) needs no READ round trip. */
static void push_file(struct fs *fs, fuse_ino_t ino, const struct tree_entry *e)
{
	struct fs_readv rv;
	struct fuse_bufvec *bv;

	if (fs_readv(fs->s, e, 0, (size_t)e->size, &rv) < 0)
		return; /* the reader will ask, and get the error itself */
	bv = calloc(1, sizeof(*bv) + (rv.niov ? rv.niov - 1 : 0) * sizeof(bv->buf[0]));
	if (bv && rv.len == e->size) {
		bv->count = rv.niov;
		for (size_t i = 0; i < rv.niov; i++)
			bv->buf[i] =
			    (struct fuse_buf){.size = rv.iov[i].iov_len, .mem = rv.iov[i].iov_base};
		/* fails harmlessly (ENOENT) if the kernel forgot the inode meanwhile */
		fuse_lowlevel_notify_store(fs->se, ino, 0, bv, 0);
	}
	free(bv);
	fs_readv_release(&rv);
}

/* prefetch_dir_files' callback, on a prefetch worker once the range's records are in the
 * memory cache: push every small file of it the kernel knows (it listed the directory with
 * READDIRPLUS, or looked the name up). Not hard-linked files (their inode number may be
 * another entry's), not empty ones (nothing to read). */
static void push_files(void *arg, bool ran)
{
	struct push *p = arg;
	const struct tree *t = p->dir->t;

	for (size_t i = p->from; ran && i < p->to; i++) {
		const struct tree_entry *e = &t->e[i];
		fuse_ino_t ino = p->dir->base + i;

		if (e->type == ENT_FILE && e->nchunks == 1 && e->size <= PUSH_FILE_MAX &&
		    !e->link_id && inode_get(p->fs, ino))
			push_file(p->fs, ino, e);
	}
	fs_tree_unref(p->dir);
	free(p);
}

/* Prefetch (and push) entries [from, to) of dir in ranges that double from PUSH_FIRST, so
 * the first files are in the page cache before the reader gets to them. */
static void push_ranges(struct fs *fs, struct fs_tree *dir, size_t from, size_t to)
{
	for (size_t a = from, g = PUSH_FIRST; a < to; a += g, g *= 2) {
		struct push *p = malloc(sizeof(*p));
		if (to - a < g + PUSH_FIRST)
			g = to - a; /* no short range at the end: the prefetcher skips those */
		if (!p)
			return;
		*p = (struct push){.fs = fs, .dir = fs_tree_ref(dir), .from = a, .to = a + g};
		prefetch_dir_files(fs->pf, dir->t, a, a + g, push_files, p);
	}
}

/* The first read of a file of directory dir (entry `reading`): prefetch its small files and
 * push them, those after it first (a reader goes in listing order: cp -a, tar, rsync). */
static void start_dir_files(struct fs *fs, struct fs_tree *dir, size_t reading)
{
	if (!fs->se) {
		prefetch_dir_files(fs->pf, dir->t, 0, dir->t->n, NULL, NULL);
		return;
	}
	push_ranges(fs, dir, reading + 1, dir->t->n);
	push_ranges(fs, dir, 0, reading);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n = file_node(fs, ino);
	struct prefetch_stream *ps = n ? inode_stream(n) : NULL;
	struct fs_readv rv;
	uint64_t dl;
	bool stream;
	int ret;

	if (!n || !ps) {
		fuse_reply_err(req, n ? ENOMEM : EBADF);
		return;
	}
	if (size > FS_MAX_READ)
		size = FS_MAX_READ;
	/* a reader of one file of a directory (cp -a, rsync, tar) reads its neighbours next */
	if (!atomic_load_explicit(&n->holder->files_prefetched, memory_order_relaxed) &&
	    !atomic_exchange(&n->holder->files_prefetched, true))
		start_dir_files(fs, n->holder, (size_t)(n->e - n->holder->t->e));
	stream = prefetch_on_read(fs->pf, ps, n->e, (uint64_t)off, size);
	dl = fs_deadline_begin(fs);
	ret = fs_readv(fs->s, n->e, (uint64_t)off, size, &rv);
	deadline_set(dl);
	if (ret < 0) {
		fuse_reply_err(req, kernel_err(ret));
		return;
	}
	/* a stream's frames are dropped only once the kernel has them (keep_cache) */
	if (fuse_reply_iov(req, rv.iov, (int)rv.niov) == 0 && stream)
		fs_read_done(fs->s, n->e, (uint64_t)off, size);
	fs_readv_release(&rv);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct fs_node *n = file_node(req_fs(req), ino);
	off_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!n) {
		fuse_reply_err(req, EBADF);
		return;
	}
	r = off < 0 ? -ENXIO : fs_seek_data_hole(n->e, (uint64_t)off, whence);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, r);
}

/* ---- extended attributes ---- */

/* Nothing in any snapshot of this mount has xattrs (the manifests say so): ENOSYS makes the
 * kernel stop asking for the life of the mount (and answer EOPNOTSUPP itself), instead of a
 * round trip per file for security.selinux on every ls -l, or for ACLs and capabilities.
 * listxattr keeps answering (an empty list), so cp -a and rsync -X see "no xattrs" and
 * getfattr -d prints nothing rather than an error per file; that costs cp -a two round
 * trips per file (of three, open and release gone: op_open). */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n;
	const struct tree_entry *e;
	const struct xattr *x = NULL;

	if (atomic_load_explicit(&fs->no_xattrs, memory_order_relaxed)) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	n = inode_get(fs, ino);
	e = n ? inode_entry(fs, n) : NULL;
	for (size_t i = 0; e && !x && i < e->nxattrs; i++)
		if (strcmp(e->xattrs[i].name, name) == 0)
			x = &e->xattrs[i];
	if (!x)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, x->len);
	else if (size < x->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)x->value, x->len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = req_fs(req);
	struct fs_node *n;
	const struct tree_entry *e;
	size_t nx, total = 0, at = 0;
	char *buf;

	/* cp -a and rsync -X ask twice per file: when no entry has any, the empty list is
	 * known without finding the inode (no lock, no allocation) */
	if (atomic_load_explicit(&fs->no_xattrs, memory_order_relaxed)) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = inode_get(fs, ino);
	e = n ? inode_entry(fs, n) : NULL;
	nx = e ? e->nxattrs : 0;
	for (size_t i = 0; i < nx; i++)
		total += strlen(e->xattrs[i].name) + 1;
	if (size == 0) {
		fuse_reply_xattr(req, total);
		return;
	}
	if (size < total) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	buf = malloc(total ? total : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = 0; i < nx; i++) {
		size_t len = strlen(e->xattrs[i].name) + 1;
		memcpy(buf + at, e->xattrs[i].name, len);
		at += len;
	}
	fuse_reply_buf(req, buf, total);
	free(buf);
}

/* ---- every change: EROFS (the mount is also "ro", so most never get here) ---- */

static void rofs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
			const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			  size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			   struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void rofs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
				 struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
				 struct fuse_file_info *fi_out, size_t len, int flags)
{
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .statfs = op_statfs,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .open = op_open,
    .read = op_read,
    .lseek = op_lseek,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setattr = rofs_setattr,
    .mknod = rofs_mknod,
    .mkdir = rofs_mkdir,
    .unlink = rofs_unlink,
    .rmdir = rofs_unlink,
    .symlink = rofs_symlink,
    .rename = rofs_rename,
    .link = rofs_link,
    .write = rofs_write,
    .setxattr = rofs_setxattr,
    .removexattr = rofs_removexattr,
    .create = rofs_create,
    .fallocate = rofs_fallocate,
    .copy_file_range = rofs_copy_file_range,
};
