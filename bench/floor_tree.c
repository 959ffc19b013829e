/* floor_tree: fuse_floor's in-memory tree and the loading of SRC (--ro). */
#include "fuse_floor.h"

/* ---- the tree ---- */

struct fl_node *fl_node_new(mode_t mode, uid_t uid, gid_t gid)
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

struct fl_node *fl_node_get(fuse_ino_t ino)
{
	return ino < fl.nnodes ? fl.nodes[ino] : NULL;
}

struct fl_dirent *fl_dir_find(struct fl_node *d, const char *name)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (strcmp(d->kids[i].name, name) == 0)
			return &d->kids[i];
	return NULL;
}

int fl_dir_add(struct fl_node *d, const char *name, struct fl_node *n)
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
void fl_dir_del(struct fl_node *d, struct fl_dirent *e)
{
	struct fl_node *n = fl_node_get(e->ino);
	size_t i = (size_t)(e - d->kids);

	if (n && S_ISDIR(n->st.st_mode))
		d->st.st_nlink--;
	free(e->name);
	memmove(&d->kids[i], &d->kids[i + 1], (d->nkids - i - 1) * sizeof(*e));
	d->nkids--;
	clock_gettime(CLOCK_REALTIME, &d->st.st_mtim);
	d->st.st_ctim = d->st.st_mtim;
}

int fl_data_reserve(struct fl_node *n, size_t len)
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
	int ret = fd < 0 ? -errno : fl_data_reserve(n, (size_t)n->st.st_size);

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
				n = fl_node_get(links[i].to);
				n->st.st_nlink++;
				return fl_dir_add(dir, name, n);
			}
	n = fl_node_new(sb.st_mode, sb.st_uid, sb.st_gid);
	if (!n)
		return -ENOMEM;
	ret = load_entry(path, &sb, n);
	if (!ret)
		ret = load_xattrs(path, n);
	if (!ret)
		ret = fl_dir_add(dir, name, n);
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
	dir->st.st_mtim = mt; /* fl_dir_add touched them: keep SRC's */
	dir->st.st_ctim = ct;
	return ret;
}

int fl_load_root(const char *src)
{
	struct stat sb;
	struct fl_node *root;

	if (stat(src, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	root = fl_node_new(sb.st_mode, sb.st_uid, sb.st_gid);
	if (!root)
		return -ENOMEM;
	return load_entry(src, &sb, root);
}
