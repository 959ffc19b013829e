/* fuse_floor: the FUSE floor on this kernel — a minimal in-memory file system that answers
 * every request from RAM and does no other work, configured the way embassy's mounts are, so
 * that untar / cp -a / find through it show what FUSE itself costs (round trips, context
 * switches) beside local disk and embassy. A benchmark tool (bench/floor.sh), not a product.
 *
 *   fuse_floor --ro SRC MOUNTPOINT [options]   SRC's tree (data too) loaded at start, read-only
 *   fuse_floor --rw MOUNTPOINT [options]       empty, writable, everything kept in memory
 * options: --writeback-cache, --no-default-permissions, --single-thread, --no-killpriv-v2,
 *          --stats FILE (request counts per opcode written there at exit; also to stderr)
 *
 * Mirrored from embassy (fs/fs.c, fs/fs_ops.c op_init; fs/rw.c, fs/rw_ops.c op_init):
 *   --ro: "ro,default_permissions,max_read=1M"; readdirplus always (not auto), cached
 *         symlinks, POSIX ACLs, no auto_inval_data, max_readahead 1 MiB; open and opendir
 *         answer ENOSYS when the kernel can open by itself (keep_cache otherwise); getxattr
 *         ENOSYS when the tree has no xattrs, listxattr an empty list; timeouts one year.
 *   --rw: "rw,default_permissions"; no readdirplus, cached symlinks, POSIX ACLs, no
 *         auto_inval_data, max_write and max_readahead 1 MiB; FUSE_HANDLE_KILLPRIV_V2 added to
 *         the INIT reply (libfuse 3.14 cannot ask for it); no .flush; negative lookups cached;
 *         keep_cache on open/create; timeouts one day.
 *   both: fuse_session_loop_mt, clone_fd 0, 16 threads at most, 8 idle.
 * Requests are counted as they are read from /dev/fuse (a custom_io read, as embassy's --rw
 * mount already uses), so those libfuse answers by itself (FLUSH, ...) are counted too.
 *
 * One mutex guards the whole tree; in --ro mode nothing changes after loading, so reads take
 * no lock. Inodes are never freed (forget is counted, not acted on): the mount is short-lived.
 * Directories list no "." and ".." (the kernel does not need them). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FL_RO_TIMEOUT (86400.0 * 365)
#define FL_RW_TIMEOUT 86400.0
#define FL_MAX_IO     (1u << 20)
#define FL_MAX_OPS    64

struct fl_xattr {
	char *name;
	char *value;
	size_t len;
};

struct fl_dirent {
	char *name;
	fuse_ino_t ino;
};

struct fl_node {
	struct stat st; /* st_ino, mode, nlink, uid, gid, rdev, size, times */
	char *data;	/* file contents (size st.st_size) or symlink target (NUL-ended) */
	size_t cap;
	struct fl_dirent *kids; /* directories */
	size_t nkids, capkids;
	struct fl_xattr *xa;
	size_t nxa;
};

static struct {
	bool rw, writeback, no_default_perms, single, no_killpriv;
	const char *src, *mnt, *stats;
	pthread_mutex_t lock;	/* guards every field below and every node (rw mode) */
	struct fl_node **nodes; /* index = inode number; 0 unused, 1 the root */
	size_t nnodes, capnodes;
	bool any_xattr;		      /* ro: the loaded tree has at least one xattr */
	bool no_open, no_opendir;     /* set once by op_init */
	uint32_t init_flags;	      /* the kernel's INIT flags (io_read, before init_seen) */
	uint64_t init_unique;	      /* ditto */
	atomic_bool init_seen;	      /* the INIT reply went out */
	atomic_ulong ops[FL_MAX_OPS]; /* requests read, per opcode */
	atomic_ulong ops_other;
} fl = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- the tree ---- */

static struct fl_node *node_new(mode_t mode, uid_t uid, gid_t gid)
{
	struct fl_node *n = calloc(1, sizeof(*n));
	struct timespec now;

	if (!n)
		return NULL;
	if (fl.nnodes == fl.capnodes) {
		size_t cap = fl.capnodes ? fl.capnodes * 2 : 1024;
		struct fl_node **v = realloc(fl.nodes, cap * sizeof(*v));
		if (!v) {
			free(n);
			return NULL;
		}
		fl.nodes = v;
		fl.capnodes = cap;
		if (fl.nnodes == 0)
			fl.nodes[fl.nnodes++] = NULL; /* inode 0 does not exist */
	}
	clock_gettime(CLOCK_REALTIME, &now);
	n->st.st_ino = fl.nnodes;
	n->st.st_mode = mode;
	n->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
	n->st.st_uid = uid;
	n->st.st_gid = gid;
	n->st.st_blksize = 4096;
	n->st.st_atim = n->st.st_mtim = n->st.st_ctim = now;
	fl.nodes[fl.nnodes++] = n;
	return n;
}

static struct fl_node *node_get(fuse_ino_t ino)
{
	return ino < fl.nnodes ? fl.nodes[ino] : NULL;
}

static struct fl_dirent *dir_find(struct fl_node *d, const char *name)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (strcmp(d->kids[i].name, name) == 0)
			return &d->kids[i];
	return NULL;
}

static int dir_add(struct fl_node *d, const char *name, struct fl_node *n)
{
	char *copy;

	if (d->nkids == d->capkids) {
		size_t cap = d->capkids ? d->capkids * 2 : 16;
		struct fl_dirent *v = realloc(d->kids, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->kids = v;
		d->capkids = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->kids[d->nkids++] = (struct fl_dirent){copy, n->st.st_ino};
	if (S_ISDIR(n->st.st_mode))
		d->st.st_nlink++;
	clock_gettime(CLOCK_REALTIME, &d->st.st_mtim);
	d->st.st_ctim = d->st.st_mtim;
	return 0;
}

/* Drop the entry (order kept: a listing in progress skips at most one name). */
static void dir_del(struct fl_node *d, struct fl_dirent *e)
{
	struct fl_node *n = node_get(e->ino);
	size_t i = (size_t)(e - d->kids);

	if (n && S_ISDIR(n->st.st_mode))
		d->st.st_nlink--;
	free(e->name);
	memmove(&d->kids[i], &d->kids[i + 1], (d->nkids - i - 1) * sizeof(*e));
	d->nkids--;
	clock_gettime(CLOCK_REALTIME, &d->st.st_mtim);
	d->st.st_ctim = d->st.st_mtim;
}

static int data_reserve(struct fl_node *n, size_t len)
{
	char *p;
	size_t cap;

	if (len <= n->cap)
		return 0;
	cap = n->cap ? n->cap : 4096;
	while (cap < len)
		cap *= 2;
	p = realloc(n->data, cap);
	if (!p)
		return -ENOMEM;
	memset(p + n->cap, 0, cap - n->cap); /* holes and truncate-up read as zeros */
	n->data = p;
	n->cap = cap;
	return 0;
}

/* ---- loading SRC (--ro) ---- */

static int load_xattrs(const char *path, struct fl_node *n)
{
	char names[65536];
	ssize_t len = llistxattr(path, names, sizeof(names));

	for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(names + off) + 1) {
		const char *nm = names + off;
		ssize_t vl = lgetxattr(path, nm, NULL, 0);
		struct fl_xattr *v = realloc(n->xa, (n->nxa + 1) * sizeof(*v));
		if (vl < 0 || !v)
			return vl < 0 ? -errno : -ENOMEM;
		n->xa = v;
		v[n->nxa].name = strdup(nm);
		v[n->nxa].value = malloc(vl ? (size_t)vl : 1);
		v[n->nxa].len = (size_t)vl;
		if (!v[n->nxa].name || !v[n->nxa].value)
			return -ENOMEM;
		if (lgetxattr(path, nm, v[n->nxa].value, (size_t)vl) != vl)
			return -EIO;
		n->nxa++;
		fl.any_xattr = true;
	}
	return 0;
}

static int load_file(const char *path, struct fl_node *n)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	size_t got = 0;
	int ret = fd < 0 ? -errno : data_reserve(n, (size_t)n->st.st_size);

	while (!ret && got < (size_t)n->st.st_size) {
		ssize_t r = read(fd, n->data + got, (size_t)n->st.st_size - got);
		if (r <= 0)
			ret = r < 0 ? -errno : -EIO; /* shorter than stat said: changed under us */
		else
			got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int load_tree(const char *path, struct fl_node *dir);

static int load_entry(const char *path, const struct stat *sb, struct fl_node *n)
{
	char target[4097];
	ssize_t len;

	n->st = (struct stat){.st_ino = n->st.st_ino,
			      .st_mode = sb->st_mode,
			      .st_nlink = 1,
			      .st_uid = sb->st_uid,
			      .st_gid = sb->st_gid,
			      .st_rdev = sb->st_rdev,
			      .st_size = sb->st_size,
			      .st_blksize = 4096,
			      .st_atim = sb->st_atim,
			      .st_mtim = sb->st_mtim,
			      .st_ctim = sb->st_ctim};
	n->st.st_blocks = (sb->st_size + 511) / 512;
	if (S_ISDIR(sb->st_mode)) {
		n->st.st_nlink = 2;
		return load_tree(path, n);
	}
	if (S_ISREG(sb->st_mode))
		return load_file(path, n);
	if (S_ISLNK(sb->st_mode)) {
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			return -errno;
		n->data = strndup(target, (size_t)len);
		n->st.st_size = len;
		return n->data ? 0 : -ENOMEM;
	}
	n->st.st_size = 0;
	return 0;
}

/* Hard links inside SRC stay hard links: (dev, ino) of every multiply linked file. */
static struct {
	dev_t dev;
	ino_t ino;
	fuse_ino_t to;
} * links;
static size_t nlinks;

static int load_child(struct fl_node *dir, const char *path, const char *name)
{
	struct stat sb;
	struct fl_node *n;
	int ret;

	if (lstat(path, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode) && sb.st_nlink > 1)
		for (size_t i = 0; i < nlinks; i++)
			if (links[i].dev == sb.st_dev && links[i].ino == sb.st_ino) {
				n = node_get(links[i].to);
				n->st.st_nlink++;
				return dir_add(dir, name, n);
			}
	n = node_new(sb.st_mode, sb.st_uid, sb.st_gid);
	if (!n)
		return -ENOMEM;
	ret = load_entry(path, &sb, n);
	if (!ret)
		ret = load_xattrs(path, n);
	if (!ret)
		ret = dir_add(dir, name, n);
	if (!ret && !S_ISDIR(sb.st_mode) && sb.st_nlink > 1) {
		void *v = realloc(links, (nlinks + 1) * sizeof(*links));
		if (!v)
			return -ENOMEM;
		links = v;
		links[nlinks].dev = sb.st_dev;
		links[nlinks].ino = sb.st_ino;
		links[nlinks++].to = n->st.st_ino;
	}
	return ret;
}

static int load_tree(const char *path, struct fl_node *dir)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct timespec mt = dir->st.st_mtim, ct = dir->st.st_ctim;
	char *child;
	int ret = d ? 0 : -errno;

	while (!ret && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&child, "%s/%s", path, de->d_name) < 0)
			return -ENOMEM;
		ret = load_child(dir, child, de->d_name);
		if (ret < 0)
			fprintf(stderr, "fuse_floor: %s: %s\n", child, strerror(-ret));
		free(child);
	}
	if (!ret && errno)
		ret = -errno;
	if (d)
		closedir(d);
	dir->st.st_mtim = mt; /* dir_add touched them: keep SRC's */
	dir->st.st_ctim = ct;
	return ret;
}

static int load_root(const char *src)
{
	struct stat sb;
	struct fl_node *root;

	if (stat(src, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	root = node_new(sb.st_mode, sb.st_uid, sb.st_gid);
	if (!root)
		return -ENOMEM;
	return load_entry(src, &sb, root);
}

/* ---- requests: both modes ---- */

static void lock(void)
{
	if (fl.rw)
		pthread_mutex_lock(&fl.lock);
}

static void unlock(void)
{
	if (fl.rw)
		pthread_mutex_unlock(&fl.lock);
}

static double timeout(void)
{
	return fl.rw ? FL_RW_TIMEOUT : FL_RO_TIMEOUT;
}

static void entry_of(const struct fl_node *n, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = n->st.st_ino;
	ep->attr = n->st;
	ep->attr_timeout = ep->entry_timeout = timeout();
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_readahead = FL_MAX_IO;
	if (fl.rw) {
		conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS;
		conn->max_write = FL_MAX_IO;
		if (fl.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		return;
	}
	fl.no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	fl.no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->max_read = FL_MAX_IO;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param ep = {.entry_timeout = timeout()};
	struct fl_node *d;
	struct fl_dirent *e;

	lock();
	d = node_get(parent);
	e = d && S_ISDIR(d->st.st_mode) ? dir_find(d, name) : NULL;
	if (e)
		entry_of(node_get(e->ino), &ep);
	unlock();
	if (!d)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_entry(req, &ep); /* ino 0: a negative entry the kernel keeps */
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fl_node *n;
	struct stat st;

	(void)fi;
	lock();
	n = node_get(ino);
	if (n)
		st = n->st;
	unlock();
	if (n)
		fuse_reply_attr(req, &st, timeout());
	else
		fuse_reply_err(req, ENOENT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[4097];
	struct fl_node *n;
	int err = 0;

	lock();
	n = node_get(ino);
	if (!n || !S_ISLNK(n->st.st_mode))
		err = EINVAL;
	else
		snprintf(buf, sizeof(buf), "%s", n->data);
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_readlink(req, buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = {.f_bsize = 4096,
			     .f_frsize = 4096,
			     .f_blocks = 1u << 24,
			     .f_bfree = 1u << 23,
			     .f_bavail = 1u << 23,
			     .f_files = 1u << 24,
			     .f_ffree = 1u << 23,
			     .f_favail = 1u << 23,
			     .f_namemax = 255};
	(void)ino;
	fuse_reply_statfs(req, &st);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (!fl.rw && fl.no_opendir) { /* the kernel opens it itself from now on */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->keep_cache = 1;
	fi->cache_readdir = !fl.rw;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* One page of a listing from offset off (= index of the next entry). */
static void list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	char *buf = malloc(size);
	size_t used = 0;
	struct fl_node *d;
	int err = buf ? 0 : ENOMEM;

	lock();
	d = node_get(ino);
	if (!err && (!d || !S_ISDIR(d->st.st_mode)))
		err = ENOTDIR;
	for (size_t i = (size_t)off; !err && i < d->nkids; i++) {
		struct fl_node *n = node_get(d->kids[i].ino);
		struct fuse_entry_param ep;
		size_t len;

		entry_of(n, &ep);
		if (plus)
			len = fuse_add_direntry_plus(req, buf + used, size - used, d->kids[i].name,
						     &ep, (off_t)i + 1);
		else
			len = fuse_add_direntry(req, buf + used, size - used, d->kids[i].name,
						&ep.attr, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	list(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	list(req, ino, size, off, true);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fl_node *n;
	size_t len = 0;

	(void)fi;
	lock(); /* held across the reply in --rw: the data may move under a write */
	n = node_get(ino);
	if (n && off < n->st.st_size)
		len = (size_t)(n->st.st_size - off) < size ? (size_t)(n->st.st_size - off) : size;
	if (!n)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_buf(req, len ? n->data + off : NULL, len);
	unlock();
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fl_node *n;
	struct fl_xattr *x = NULL;
	int err = 0;

	if (!fl.rw && !fl.any_xattr) { /* as embassy: the kernel stops asking */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	lock();
	n = node_get(ino);
	for (size_t i = 0; n && !x && i < n->nxa; i++)
		if (strcmp(n->xa[i].name, name) == 0)
			x = &n->xa[i];
	if (!x)
		err = ENODATA;
	else if (size && size < x->len)
		err = ERANGE;
	if (err)
		fuse_reply_err(req, err);
	else if (size == 0)
		fuse_reply_xattr(req, x->len);
	else
		fuse_reply_buf(req, x->value, x->len);
	unlock();
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char buf[65536];
	size_t used = 0;
	struct fl_node *n;

	lock();
	n = node_get(ino);
	for (size_t i = 0; n && i < n->nxa; i++) {
		size_t l = strlen(n->xa[i].name) + 1;
		if (used + l > sizeof(buf))
			break;
		memcpy(buf + used, n->xa[i].name, l);
		used += l;
	}
	unlock();
	if (!n)
		fuse_reply_err(req, ENOENT);
	else if (size == 0)
		fuse_reply_xattr(req, used);
	else if (size < used)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, used);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fl_node *n;
	int err = 0;

	if (!fl.rw && fl.no_open) { /* the kernel opens files itself from now on */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	lock();
	n = node_get(ino);
	if (!n)
		err = ENOENT;
	else if (S_ISDIR(n->st.st_mode))
		err = EISDIR;
	else if (fl.rw && (fi->flags & O_TRUNC) && S_ISREG(n->st.st_mode)) {
		n->st.st_size = 0; /* atomic_o_trunc: left to us */
		memset(n->data, 0, n->cap);
		clock_gettime(CLOCK_REALTIME, &n->st.st_mtim);
		n->st.st_ctim = n->st.st_mtim;
	}
	unlock();
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* ---- requests: --rw only ---- */

/* A new name in parent: the node made by mk (mode, rdev, target) or an existing one (link). */
static void make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
		 const char *target, fuse_ino_t existing, struct fuse_file_info *fi)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct fuse_entry_param ep;
	struct fl_node *d, *n = NULL;
	int err = 0;

	lock();
	d = node_get(parent);
	if (!d || !S_ISDIR(d->st.st_mode))
		err = ENOTDIR;
	else if (strlen(name) > 255)
		err = ENAMETOOLONG;
	else if (dir_find(d, name))
		err = EEXIST;
	else if (existing) {
		n = node_get(existing);
		if (!n || S_ISDIR(n->st.st_mode))
			err = n ? EPERM : ENOENT;
		else {
			n->st.st_nlink++;
			clock_gettime(CLOCK_REALTIME, &n->st.st_ctim);
		}
	} else if (!(n = node_new(mode, c->uid, c->gid)))
		err = ENOMEM;
	else {
		n->st.st_rdev = rdev;
		if (target && !(n->data = strdup(target)))
			err = ENOMEM;
		else if (target)
			n->st.st_size = (off_t)strlen(target);
	}
	if (!err)
		err = -dir_add(d, name, n);
	if (!err)
		entry_of(n, &ep);
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else if (fi) {
		fi->keep_cache = 1;
		fuse_reply_create(req, &ep, fi);
	} else
		fuse_reply_entry(req, &ep);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	make(req, parent, name, mode, rdev, NULL, 0, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, 0, NULL);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	make(req, parent, name, S_IFLNK | 0777, 0, target, 0, NULL);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	make(req, parent, name, 0, 0, NULL, ino, NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	make(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, 0, fi);
}

/* A write or a change of owner drops setuid, and setgid if group-executable (the kernel
 * leaves that to us under FUSE_HANDLE_KILLPRIV_V2). */
static void kill_suidgid(struct fl_node *n)
{
	n->st.st_mode &= ~(mode_t)S_ISUID;
	if (n->st.st_mode & S_IXGRP)
		n->st.st_mode &= ~(mode_t)S_ISGID;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fl_node *n;
	int err = 0;

	(void)fi;
	lock();
	n = node_get(ino);
	if (!n || !S_ISREG(n->st.st_mode))
		err = n ? EINVAL : ENOENT;
	else
		err = -data_reserve(n, (size_t)off + size);
	if (!err) {
		memcpy(n->data + off, buf, size);
		if (off + (off_t)size > n->st.st_size)
			n->st.st_size = off + (off_t)size;
		n->st.st_blocks = (n->st.st_size + 511) / 512;
		clock_gettime(CLOCK_REALTIME, &n->st.st_mtim);
		n->st.st_ctim = n->st.st_mtim;
		if (!fl.no_killpriv)
			kill_suidgid(n);
	}
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static int set_size(struct fl_node *n, off_t size)
{
	int ret = S_ISREG(n->st.st_mode) ? data_reserve(n, (size_t)size) : -EINVAL;

	if (ret)
		return ret;
	if (size < n->st.st_size) /* what grows again later must read as zeros */
		memset(n->data + size, 0, (size_t)(n->st.st_size - size));
	n->st.st_size = size;
	n->st.st_blocks = (size + 511) / 512;
	clock_gettime(CLOCK_REALTIME, &n->st.st_mtim);
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fl_node *n;
	struct timespec now;
	struct stat st;
	int err = 0;

	(void)fi;
	clock_gettime(CLOCK_REALTIME, &now);
	lock();
	n = node_get(ino);
	if (!n)
		err = ENOENT;
	if (!err && (to_set & FUSE_SET_ATTR_SIZE))
		err = -set_size(n, attr->st_size);
	if (!err && (to_set & FUSE_SET_ATTR_MODE))
		n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
	if (!err && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    !(to_set & FUSE_SET_ATTR_MODE) && !fl.no_killpriv && !S_ISDIR(n->st.st_mode))
		kill_suidgid(n);
	if (!err && (to_set & FUSE_SET_ATTR_UID))
		n->st.st_uid = attr->st_uid;
	if (!err && (to_set & FUSE_SET_ATTR_GID))
		n->st.st_gid = attr->st_gid;
	if (!err && (to_set & FUSE_SET_ATTR_ATIME))
		n->st.st_atim = to_set & FUSE_SET_ATTR_ATIME_NOW ? now : attr->st_atim;
	if (!err && (to_set & FUSE_SET_ATTR_MTIME))
		n->st.st_mtim = to_set & FUSE_SET_ATTR_MTIME_NOW ? now : attr->st_mtim;
	if (!err) {
		n->st.st_ctim = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : now;
		st = n->st;
	}
	unlock();
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, timeout());
}

static void op_unlink_any(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fl_node *d, *n = NULL;
	struct fl_dirent *e = NULL;
	int err = 0;

	lock();
	d = node_get(parent);
	if (!d || !S_ISDIR(d->st.st_mode))
		err = ENOTDIR;
	else if (!(e = dir_find(d, name)))
		err = ENOENT;
	else if (!(n = node_get(e->ino)))
		err = EIO;
	else if (dir && !S_ISDIR(n->st.st_mode))
		err = ENOTDIR;
	else if (!dir && S_ISDIR(n->st.st_mode))
		err = EISDIR;
	else if (dir && n->nkids)
		err = ENOTEMPTY;
	if (!err) {
		dir_del(d, e);
		n->st.st_nlink = dir ? 0 : n->st.st_nlink - 1;
		clock_gettime(CLOCK_REALTIME, &n->st.st_ctim);
	}
	unlock();
	fuse_reply_err(req, err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_any(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_any(req, parent, name, true);
}

/* rename(2) and RENAME_NOREPLACE; RENAME_EXCHANGE is not needed by the benchmark (EINVAL). */
static int do_rename(struct fl_node *d, const char *name, struct fl_node *nd, const char *newname,
		     unsigned flags)
{
	struct fl_dirent *e = dir_find(d, name), *t;
	struct fl_node *n, *old;
	int ret;

	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (!e)
		return -ENOENT;
	n = node_get(e->ino);
	t = dir_find(nd, newname);
	if (t && t->ino == e->ino)
		return 0;
	if (t && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (t) {
		old = node_get(t->ino);
		if (S_ISDIR(old->st.st_mode) != S_ISDIR(n->st.st_mode))
			return S_ISDIR(old->st.st_mode) ? -EISDIR : -ENOTDIR;
		if (S_ISDIR(old->st.st_mode) && old->nkids)
			return -ENOTEMPTY;
		dir_del(nd, t);
		old->st.st_nlink = S_ISDIR(old->st.st_mode) ? 0 : old->st.st_nlink - 1;
	}
	ret = dir_add(nd, newname, n);
	if (ret)
		return ret;
	dir_del(d, dir_find(d, name)); /* dir_add may have moved d's entries (d == nd) */
	clock_gettime(CLOCK_REALTIME, &n->st.st_ctim);
	return 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct fl_node *d, *nd;
	int ret;

	lock();
	d = node_get(parent);
	nd = node_get(newparent);
	if (!d || !nd || !S_ISDIR(d->st.st_mode) || !S_ISDIR(nd->st.st_mode))
		ret = -ENOTDIR;
	else
		ret = do_rename(d, name, nd, newname, flags);
	unlock();
	fuse_reply_err(req, -ret);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fl_node *n;
	struct fl_xattr *x = NULL, *v;
	int err = 0;

	lock();
	n = node_get(ino);
	for (size_t i = 0; n && !x && i < n->nxa; i++)
		if (strcmp(n->xa[i].name, name) == 0)
			x = &n->xa[i];
	if (!n)
		err = ENOENT;
	else if (x && (flags & XATTR_CREATE))
		err = EEXIST;
	else if (!x && (flags & XATTR_REPLACE))
		err = ENODATA;
	else if (!x) {
		v = realloc(n->xa, (n->nxa + 1) * sizeof(*v));
		if (!v)
			err = ENOMEM;
		else {
			n->xa = v;
			x = &v[n->nxa++];
			*x = (struct fl_xattr){.name = strdup(name)};
		}
	}
	if (!err) {
		free(x->value);
		x->value = malloc(size ? size : 1);
		x->len = size;
		if (!x->value || !x->name)
			err = ENOMEM; /* the benchmark stops on it anyway */
		else
			memcpy(x->value, value, size);
	}
	unlock();
	fuse_reply_err(req, err);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fl_node *n;
	int err = ENODATA;

	lock();
	n = node_get(ino);
	for (size_t i = 0; n && i < n->nxa; i++)
		if (strcmp(n->xa[i].name, name) == 0) {
			free(n->xa[i].name);
			free(n->xa[i].value);
			n->xa[i] = n->xa[--n->nxa];
			err = 0;
			break;
		}
	unlock();
	fuse_reply_err(req, n ? err : ENOENT);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ro_ops = {
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
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
};

/* As embassy's --rw: no .flush (ENOSYS once, then the kernel stops sending it). */
static const struct fuse_lowlevel_ops rw_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsync,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
};

/* ---- /dev/fuse: counting requests, the KILLPRIV_V2 INIT reply (as fs/rw.c) ---- */

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	(void)userdata;
	if (n < (ssize_t)sizeof(*h))
		return n; /* as read(2) does: libfuse looks at errno */
	if (h->opcode < FL_MAX_OPS)
		atomic_fetch_add_explicit(&fl.ops[h->opcode], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&fl.ops_other, 1, memory_order_relaxed);
	if (h->opcode == FUSE_INIT && !atomic_load(&fl.init_seen) &&
	    n >= (ssize_t)(sizeof(*h) + offsetof(struct fuse_init_in, flags) + sizeof(uint32_t))) {
		const struct fuse_init_in *in = (const void *)(h + 1);
		fl.init_unique = h->unique;
		fl.init_flags = in->flags;
	}
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (!atomic_load(&fl.init_seen) && count >= 2 &&
	    iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
		const struct fuse_out_header *h = iov[0].iov_base;
		if (h->unique == fl.init_unique && h->error == 0) {
			struct fuse_init_out *out = iov[1].iov_base;
			if (fl.rw && !fl.no_killpriv && (fl.init_flags & FUSE_HANDLE_KILLPRIV_V2))
				out->flags |= FUSE_HANDLE_KILLPRIV_V2;
			atomic_store(&fl.init_seen, true);
		}
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io fl_io = {.read = io_read, .writev = io_writev};

static const char *op_name(unsigned op)
{
	static const char *const names[FL_MAX_OPS] = {
	    [FUSE_LOOKUP] = "LOOKUP",
	    [FUSE_FORGET] = "FORGET",
	    [FUSE_GETATTR] = "GETATTR",
	    [FUSE_SETATTR] = "SETATTR",
	    [FUSE_READLINK] = "READLINK",
	    [FUSE_SYMLINK] = "SYMLINK",
	    [FUSE_MKNOD] = "MKNOD",
	    [FUSE_MKDIR] = "MKDIR",
	    [FUSE_UNLINK] = "UNLINK",
	    [FUSE_RMDIR] = "RMDIR",
	    [FUSE_RENAME] = "RENAME",
	    [FUSE_LINK] = "LINK",
	    [FUSE_OPEN] = "OPEN",
	    [FUSE_READ] = "READ",
	    [FUSE_WRITE] = "WRITE",
	    [FUSE_STATFS] = "STATFS",
	    [FUSE_RELEASE] = "RELEASE",
	    [FUSE_FSYNC] = "FSYNC",
	    [FUSE_SETXATTR] = "SETXATTR",
	    [FUSE_GETXATTR] = "GETXATTR",
	    [FUSE_LISTXATTR] = "LISTXATTR",
	    [FUSE_REMOVEXATTR] = "REMOVEXATTR",
	    [FUSE_FLUSH] = "FLUSH",
	    [FUSE_INIT] = "INIT",
	    [FUSE_OPENDIR] = "OPENDIR",
	    [FUSE_READDIR] = "READDIR",
	    [FUSE_RELEASEDIR] = "RELEASEDIR",
	    [FUSE_FSYNCDIR] = "FSYNCDIR",
	    [FUSE_GETLK] = "GETLK",
	    [FUSE_SETLK] = "SETLK",
	    [FUSE_SETLKW] = "SETLKW",
	    [FUSE_ACCESS] = "ACCESS",
	    [FUSE_CREATE] = "CREATE",
	    [FUSE_INTERRUPT] = "INTERRUPT",
	    [FUSE_BMAP] = "BMAP",
	    [FUSE_DESTROY] = "DESTROY",
	    [FUSE_IOCTL] = "IOCTL",
	    [FUSE_POLL] = "POLL",
	    [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
	    [FUSE_BATCH_FORGET] = "BATCH_FORGET",
	    [FUSE_FALLOCATE] = "FALLOCATE",
	    [FUSE_READDIRPLUS] = "READDIRPLUS",
	    [FUSE_RENAME2] = "RENAME2",
	    [FUSE_LSEEK] = "LSEEK",
	    [FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
	};
	return op < FL_MAX_OPS && names[op] ? names[op] : NULL;
}

/* "NAME count" lines, one per opcode seen, then "TOTAL count". */
static void print_stats(FILE *f)
{
	unsigned long total = 0;

	for (unsigned op = 0; op < FL_MAX_OPS; op++) {
		unsigned long c = atomic_load(&fl.ops[op]);
		if (!c)
			continue;
		if (op_name(op))
			fprintf(f, "%s %lu\n", op_name(op), c);
		else
			fprintf(f, "OP%u %lu\n", op, c);
		total += c;
	}
	if (atomic_load(&fl.ops_other))
		fprintf(f, "OTHER %lu\n", atomic_load(&fl.ops_other));
	fprintf(f, "TOTAL %lu\n", total + atomic_load(&fl.ops_other));
}

static void write_stats(void)
{
	FILE *f;

	print_stats(stderr);
	if (!fl.stats)
		return;
	f = fopen(fl.stats, "w");
	if (!f) {
		fprintf(stderr, "fuse_floor: %s: %s\n", fl.stats, strerror(errno));
		return;
	}
	print_stats(f);
	fclose(f);
}

/* SIGUSR1: the counts so far, to the --stats file (written aside, then renamed into place so
 * a reader never sees half of it). Only async-signal-safe calls: the numbers by hand. */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long v)
{
	char d[24];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(d));
	while (n && at < cap)
		buf[at++] = d[--n];
	return at;
}

static void on_usr1(int sig)
{
	char buf[4096], tmp[4096], num[8];
	size_t at = 0, cap = sizeof(buf);
	unsigned long total = atomic_load(&fl.ops_other);
	int saved = errno, fd;

	(void)sig;
	for (unsigned op = 0; op < FL_MAX_OPS; op++) {
		unsigned long c = atomic_load(&fl.ops[op]);
		if (!c)
			continue;
		if (op_name(op))
			at = put_str(buf, at, cap, op_name(op));
		else {
			num[put_num(num, 0, sizeof(num) - 1, op)] = 0;
			at = put_str(buf, put_str(buf, at, cap, "OP"), cap, num);
		}
		at = put_num(buf, put_str(buf, at, cap, " "), cap, c);
		at = put_str(buf, at, cap, "\n");
		total += c;
	}
	at = put_str(buf, put_num(buf, put_str(buf, at, cap, "TOTAL "), cap, total), cap, "\n");
	tmp[put_str(tmp, put_str(tmp, 0, sizeof(tmp) - 1, fl.stats), sizeof(tmp) - 1, ".tmp")] = 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, at) == (ssize_t)at && close(fd) == 0)
			rename(tmp, fl.stats);
		else
			close(fd);
	}
	errno = saved;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: fuse_floor --ro SRC MOUNTPOINT [options]\n"
	    "       fuse_floor --rw MOUNTPOINT [options]\n"
	    "An in-memory FUSE file system configured as embassy's mounts (read-only: SRC\n"
	    "loaded into memory at start; --rw: empty). Runs in the foreground until\n"
	    "unmounted (fusermount3 -u) or signalled; request counts per opcode at exit.\n"
	    "  --writeback-cache          ask for the kernel's writeback cache (--rw)\n"
	    "  --no-default-permissions   no default_permissions mount option\n"
	    "  --single-thread            fuse_session_loop instead of the threaded loop\n"
	    "  --no-killpriv-v2           no FUSE_HANDLE_KILLPRIV_V2 in the INIT reply (--rw)\n"
	    "  --stats FILE               write the counts there too (\"OPCODE count\"), and on\n"
	    "                             SIGUSR1 the counts so far\n");
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"ro", required_argument, NULL, 'R'},
	    {"rw", no_argument, NULL, 'W'},
	    {"writeback-cache", no_argument, NULL, 'b'},
	    {"no-default-permissions", no_argument, NULL, 'p'},
	    {"single-thread", no_argument, NULL, 's'},
	    {"no-killpriv-v2", no_argument, NULL, 'k'},
	    {"stats", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'R':
			fl.src = optarg;
			break;
		case 'W':
			fl.rw = true;
			break;
		case 'b':
			fl.writeback = true;
			break;
		case 'p':
			fl.no_default_perms = true;
			break;
		case 's':
			fl.single = true;
			break;
		case 'k':
			fl.no_killpriv = true;
			break;
		case 'S':
			fl.stats = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || !fl.src == !fl.rw)
		return -1;
	fl.mnt = argv[optind];
	return 0;
}

static struct fuse_session *session(void)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char o[256];

	snprintf(o, sizeof(o), "%s%s,fsname=fuse_floor,subtype=floor%s", fl.rw ? "rw" : "ro",
		 fl.no_default_perms ? "" : ",default_permissions",
		 fl.rw ? "" : ",max_read=1048576");
	if (!fuse_opt_add_arg(&args, "fuse_floor") && !fuse_opt_add_arg(&args, "-o") &&
	    !fuse_opt_add_arg(&args, o))
		se = fuse_session_new(&args, fl.rw ? &rw_ops : &ro_ops, sizeof(rw_ops), NULL);
	fuse_opt_free_args(&args);
	return se;
}

static int serve(struct fuse_session *se)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (fl.single)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_loop_cfg_set_idle_threads(cfg, 8);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

int main(int argc, char **argv)
{
	struct fuse_session *se;
	int ret;

	if (parse(argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (fl.rw)
		ret = node_new(S_IFDIR | 0755, getuid(), getgid()) ? 0 : -ENOMEM;
	else
		ret = load_root(fl.src);
	if (ret < 0) {
		fprintf(stderr, "fuse_floor: loading %s: %s\n", fl.src ? fl.src : "the root",
			strerror(-ret));
		return 1;
	}
	if (fl.stats)
		signal(SIGUSR1, on_usr1);
	se = session();
	if (!se || fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "fuse_floor: cannot start a FUSE session\n");
		return 1;
	}
	ret = fuse_session_mount(se, fl.mnt)
		  ? -EIO
		  : fuse_session_custom_io(se, &fl_io, fuse_session_fd(se));
	if (ret == 0)
		ret = serve(se);
	else
		fprintf(stderr, "fuse_floor: cannot mount %s\n", fl.mnt);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	write_stats();
	return ret ? 1 : 0;
}
