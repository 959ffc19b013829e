/* floor_ops: fuse_floor's answers to FUSE requests, from RAM (both modes, then --rw). */
#include "fuse_floor.h"

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
	d = fl_node_get(parent);
	e = d && S_ISDIR(d->st.st_mode) ? fl_dir_find(d, name) : NULL;
	if (e)
		entry_of(fl_node_get(e->ino), &ep);
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
	n = fl_node_get(ino);
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
	n = fl_node_get(ino);
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
	d = fl_node_get(ino);
	if (!err && (!d || !S_ISDIR(d->st.st_mode)))
		err = ENOTDIR;
	for (size_t i = (size_t)off; !err && i < d->nkids; i++) {
		struct fl_node *n = fl_node_get(d->kids[i].ino);
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
	n = fl_node_get(ino);
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
	n = fl_node_get(ino);
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
	n = fl_node_get(ino);
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
	n = fl_node_get(ino);
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
	d = fl_node_get(parent);
	if (!d || !S_ISDIR(d->st.st_mode))
		err = ENOTDIR;
	else if (strlen(name) > 255)
		err = ENAMETOOLONG;
	else if (fl_dir_find(d, name))
		err = EEXIST;
	else if (existing) {
		n = fl_node_get(existing);
		if (!n || S_ISDIR(n->st.st_mode))
			err = n ? EPERM : ENOENT;
		else {
			n->st.st_nlink++;
			clock_gettime(CLOCK_REALTIME, &n->st.st_ctim);
		}
	} else if (!(n = fl_node_new(mode, c->uid, c->gid)))
		err = ENOMEM;
	else {
		n->st.st_rdev = rdev;
		if (target && !(n->data = strdup(target)))
			err = ENOMEM;
		else if (target)
			n->st.st_size = (off_t)strlen(target);
	}
	if (!err)
		err = -fl_dir_add(d, name, n);
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
	n = fl_node_get(ino);
	if (!n || !S_ISREG(n->st.st_mode))
		err = n ? EINVAL : ENOENT;
	else
		err = -fl_data_reserve(n, (size_t)off + size);
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
	int ret = S_ISREG(n->st.st_mode) ? fl_data_reserve(n, (size_t)size) : -EINVAL;

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
	n = fl_node_get(ino);
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
	d = fl_node_get(parent);
	if (!d || !S_ISDIR(d->st.st_mode))
		err = ENOTDIR;
	else if (!(e = fl_dir_find(d, name)))
		err = ENOENT;
	else if (!(n = fl_node_get(e->ino)))
		err = EIO;
	else if (dir && !S_ISDIR(n->st.st_mode))
		err = ENOTDIR;
	else if (!dir && S_ISDIR(n->st.st_mode))
		err = EISDIR;
	else if (dir && n->nkids)
		err = ENOTEMPTY;
	if (!err) {
		fl_dir_del(d, e);
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
	struct fl_dirent *e = fl_dir_find(d, name), *t;
	struct fl_node *n, *old;
	int ret;

	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (!e)
		return -ENOENT;
	n = fl_node_get(e->ino);
	t = fl_dir_find(nd, newname);
	if (t && t->ino == e->ino)
		return 0;
	if (t && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (t) {
		old = fl_node_get(t->ino);
		if (S_ISDIR(old->st.st_mode) != S_ISDIR(n->st.st_mode))
			return S_ISDIR(old->st.st_mode) ? -EISDIR : -ENOTDIR;
		if (S_ISDIR(old->st.st_mode) && old->nkids)
			return -ENOTEMPTY;
		fl_dir_del(nd, t);
		old->st.st_nlink = S_ISDIR(old->st.st_mode) ? 0 : old->st.st_nlink - 1;
	}
	ret = fl_dir_add(nd, newname, n);
	if (ret)
		return ret;
	fl_dir_del(d, fl_dir_find(d, name)); /* fl_dir_add may have moved d's entries (d == nd) */
	clock_gettime(CLOCK_REALTIME, &n->st.st_ctim);
	return 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct fl_node *d, *nd;
	int ret;

	lock();
	d = fl_node_get(parent);
	nd = fl_node_get(newparent);
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
	n = fl_node_get(ino);
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
	n = fl_node_get(ino);
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

const struct fuse_lowlevel_ops fl_ro_ops = {
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
const struct fuse_lowlevel_ops fl_rw_ops = {
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
