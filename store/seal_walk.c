/* seal_walk: walking the source trees — metadata, xattrs, hard links, exclusions, one file
 * system — into tree entries whose files' chunks go to the batch (seal_batch.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "pathmatch.h"
#include "rootmeta.h"
#include "seal_int.h"
#include "store_int.h"

#define XATTR_LIST_MAX_BYTES (64u << 10)

static int read_xattrs(int fd, const char *path, struct tree_entry *e)
{
	char *names = malloc(XATTR_LIST_MAX_BYTES);
	ssize_t n = names ? flistxattr(fd, names, XATTR_LIST_MAX_BYTES) : -1;
	int ret = 0;

	if (n <= 0) {
		free(names);
		return 0; /* none, or not supported here */
	}
	for (char *p = names; !ret && p < names + n; p += strlen(p) + 1) {
		if (e->nxattrs ==
		    TREE_MAX_XATTRS) { /* readers refuse more: keep the tree readable */
			log_warn("%s: more than %d xattrs; the rest are not recorded", path,
				 TREE_MAX_XATTRS);
			break;
		}
		ssize_t vl = fgetxattr(fd, p, NULL, 0);
		if (vl < 0 || vl > (ssize_t)TREE_MAX_XATTR_VALUE)
			continue;
		struct xattr *x = realloc(e->xattrs, (e->nxattrs + 1) * sizeof(*x));
		if (!x) {
			ret = -ENOMEM;
			break;
		}
		e->xattrs = x;
		x = &e->xattrs[e->nxattrs];
		x->name = strdup(p);
		x->value = malloc(vl ? (size_t)vl : 1);
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			ret = -ENOMEM;
			break;
		}
		vl = fgetxattr(fd, p, x->value, (size_t)vl);
		x->len = vl < 0 ? 0 : (size_t)vl;
		e->nxattrs++;
	}
	/* names come back in no particular order; sort for a stable tree id */
	for (size_t i = 1; i < e->nxattrs; i++)
		for (size_t j = i; j > 0 && strcmp(e->xattrs[j - 1].name, e->xattrs[j].name) > 0;
		     j--) {
			struct xattr t = e->xattrs[j];
			e->xattrs[j] = e->xattrs[j - 1];
			e->xattrs[j - 1] = t;
		}
	free(names);
	return ret;
}

static void fill_meta(struct tree_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	e->nlink = 1;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		e->type = ENT_FILE;
		break;
	case S_IFDIR:
		e->type = ENT_DIR;
		break;
	case S_IFLNK:
		e->type = ENT_SYMLINK;
		break;
	case S_IFIFO:
		e->type = ENT_FIFO;
		break;
	case S_IFCHR:
		e->type = ENT_CHR;
		break;
	case S_IFBLK:
		e->type = ENT_BLK;
		break;
	default:
		e->type = 0;
		break;
	}
	if (e->type == ENT_CHR || e->type == ENT_BLK)
		e->rdev = st->st_rdev;
}

/* ---- hard links ---- */

static struct hardlink *link_find(struct sealer *sl, const struct stat *st)
{
	for (size_t i = 0; i < sl->nlinks; i++)
		if (sl->links[i].dev == st->st_dev && sl->links[i].ino == st->st_ino)
			return &sl->links[i];
	return NULL;
}

static int copy_chunks(struct tree_entry *dst, const struct chunk_ref *c, size_t n)
{
	dst->chunks = malloc((n ? n : 1) * sizeof(*c));
	if (!dst->chunks)
		return -ENOMEM;
	memcpy(dst->chunks, c, n * sizeof(*c));
	dst->nchunks = n;
	return 0;
}

static int skip(struct sealer *sl, struct tree_entry *e, const char *disp, const char *why,
		int err);

/* A second name of a file already sealed: share its content and link id. */
static int link_again(struct sealer *sl, struct hardlink *h, struct tree_entry *e, const char *disp)
{
	int ret = 0;
	if (h->failed) /* never a partial chunk list with the full size under another name */
		return skip(sl, e, disp, "hard link to a file whose content could not be read",
			    EIO);
	e->link_id = h->link_id;
	if (!h->done) {
		ret = sbatch_flush(sl); /* the first name's chunks must be final */
		if (ret)
			return ret;
	}
	if (!h->done) { /* its directory's tree is still queued (the flush may have run it) */
		e->size = h->first->size;
		return copy_chunks(e, h->first->chunks, h->first->nchunks);
	}
	e->size = h->size;
	return copy_chunks(e, h->chunks, h->nchunks);
}

static int link_first(struct sealer *sl, const struct stat *st, struct tree_entry *e)
{
	if (sl->nlinks == sl->caplinks) {
		size_t cap = sl->caplinks ? 2 * sl->caplinks : 64;
		struct hardlink *l = realloc(sl->links, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		sl->links = l;
		sl->caplinks = cap;
	}
	e->link_id = sl->nlinks + 1;
	sl->links[sl->nlinks++] = (struct hardlink){
	    .dev = st->st_dev, .ino = st->st_ino, .link_id = e->link_id, .first = e};
	return 0;
}

/* When a directory is done its entries go away: keep the chunk lists links still need. */
static int links_settle(struct sealer *sl, struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tree_entry *e = &t->e[i];
		if (!e->link_id)
			continue;
		struct hardlink *h = &sl->links[e->link_id - 1];
		if (h->done || h->first != e)
			continue;
		h->chunks = malloc((e->nchunks ? e->nchunks : 1) * sizeof(*e->chunks));
		if (!h->chunks)
			return -ENOMEM;
		memcpy(h->chunks, e->chunks, e->nchunks * sizeof(*e->chunks));
		h->nchunks = e->nchunks;
		h->size = e->size;
		h->done = true;
		h->first = NULL;
	}
	return 0;
}

/* ---- the walk ---- */

static int seal_dir(struct sealer *sl, int fd, const char *disp, const char *rel,
		    struct rec_ref *ref, uint64_t *count, const struct rec_ref *old_ref);

static char *join(const char *a, const char *b)
{
	char *p;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

static int skip(struct sealer *sl, struct tree_entry *e, const char *disp, const char *why, int err)
{
	log_warn("%s: %s%s%s; not in the snapshot", disp, why, err ? ": " : "",
		 err ? strerror(err) : "");
	sl->res->warnings++;
	e->type = 0; /* removed when the directory is compacted */
	return 0;
}

static int open_ro(int dirfd, const char *name, int extra)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | extra);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | extra);
	return fd;
}

/* Unchanged since the previous snapshot (sealed from the same source; same size, mtime to
 * the nanosecond and mode, not a hard link; its status not changed since a second before
 * that seal began) and all its records still in the store: its chunk list can be reused
 * without reading the file — what makes a re-seal of a mostly unchanged tree cheap. The
 * ctime rule catches content replaced with the old size and mtime kept (cp -p, touch -r,
 * rsync -a of another version); the second covers the kernel's coarse file clock. */
static bool unchanged(struct sealer *sl, const struct tree_entry *old, const struct stat *st)
{
	int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	int64_t ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	if (!sl->same_source || ctime >= sl->parent.started_ns - 1000000000)
		return false;
	if (!old || old->type != ENT_FILE || old->link_id || st->st_nlink != 1 ||
	    old->size != (uint64_t)st->st_size || old->mtime_ns != mtime ||
	    old->mode != (st->st_mode & 07777))
		return false;
	for (size_t i = 0; i < old->nchunks; i++) {
		struct rec_ref at;
		/* known where the old snapshot says: not in a pack prune condemned, for one */
		if (!dedup_find(sl->dedup, old->chunks[i].rec.id, &at) ||
		    memcmp(at.pack, old->chunks[i].rec.pack, PACK_ID_LEN) ||
		    at.off != old->chunks[i].rec.off)
			return false;
	}
	return true;
}

static int seal_regular(struct sealer *sl, int dirfd, const char *name, const char *disp,
			struct tree_entry *e, const struct stat *st, const struct tree_entry *old)
{
	struct hardlink *h = st->st_nlink > 1 ? link_find(sl, st) : NULL;
	int fd, ret;

	e->nlink = (uint32_t)st->st_nlink;
	if (h)
		return link_again(sl, h, e, disp);
	fd = open_ro(dirfd, name, 0);
	if (fd < 0)
		return skip(sl, e, disp, "cannot open", errno);
	ret = read_xattrs(fd, disp, e);
	if (!ret && st->st_nlink > 1)
		ret = link_first(sl, st, e);
	if (!ret && unchanged(sl, old, st)) {
		ret = copy_chunks(e, old->chunks, old->nchunks);
		e->size = old->size;
		sl->res->chunks += old->nchunks;
		sl->prog.bytes_read += old->size;
	} else if (!ret) {
		ret = seal_file_content(sl, fd, e, st);
	}
	close(fd);
	if ((ret == -EIO || ret == -EACCES) && e->link_id) {
		/* its chunks so far are partial: later names must not share them */
		h = &sl->links[e->link_id - 1];
		h->failed = true;
		h->first = NULL;
		e->link_id = 0;
	}
	if (ret == -EIO || ret == -EACCES)
		return skip(sl, e, disp, "read error", -ret);
	sl->res->files++;
	sl->prog.files++;
	sl->res->bytes += e->size;
	return ret;
}

/* --one-file-system: a directory on another file system is kept with its own metadata, but
 * empty (as tar and rsync -x keep a mount point). */
static int seal_boundary(struct sealer *sl, int fd, const char *disp, struct tree_entry *e)
{
	struct tree t = {0};
	int ret = read_xattrs(fd, disp, e);

	log_info("%s: on another file system; kept empty (--one-file-system)", disp);
	sl->res->fs_boundaries++;
	e->subtree_entries = 0;
	return ret ? ret : seal_tree_record(sl, &t, &e->subtree);
}

static int seal_entry(struct sealer *sl, int dirfd, const char *name, const char *disp,
		      const char *rel, struct tree_entry *e, const struct stat *st,
		      const struct tree_entry *old)
{
	char buf[4096];
	ssize_t n;
	int fd, ret;

	switch (e->type) {
	case ENT_FILE:
		return seal_regular(sl, dirfd, name, disp, e, st, old);
	case ENT_DIR:
		fd = open_ro(dirfd, name, O_DIRECTORY);
		if (fd < 0)
			return skip(sl, e, disp, "cannot open directory", errno);
		if (sl->o->one_file_system && st->st_dev != sl->root_dev)
			ret = seal_boundary(sl, fd, disp, e);
		else
			ret = read_xattrs(fd, disp, e);
		if (!ret && !(sl->o->one_file_system && st->st_dev != sl->root_dev))
			ret = seal_dir(sl, fd, disp, rel, &e->subtree, &e->subtree_entries,
				       old && old->type == ENT_DIR ? &old->subtree : NULL);
		close(fd);
		sl->res->dirs++;
		return ret;
	case ENT_SYMLINK:
		n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
		if (n <= 0)
			return skip(sl, e, disp, "cannot read link", n < 0 ? errno : 0);
		e->target = strndup(buf, (size_t)n);
		e->size = (uint64_t)n;
		sl->res->symlinks++;
		return e->target ? 0 : -ENOMEM;
	case ENT_FIFO:
	case ENT_CHR:
	case ENT_BLK:
		sl->res->others++;
		return 0;
	default:
		return skip(sl, e, disp, S_ISSOCK(st->st_mode) ? "socket skipped" : "unknown type",
			    0);
	}
}

/* A directory entry with its stat, sorted together. */
struct pending {
	struct tree_entry e;
	struct stat st;
};

static int pending_cmp(const void *a, const void *b)
{
	const struct tree_entry *x = &((const struct pending *)a)->e;
	const struct tree_entry *y = &((const struct pending *)b)->e;
	return tree_namecmp(x->name, x->namelen, y->name, y->namelen);
}

/* Is the entry name of directory rel (its snapshot path, "" at the root) excluded? */
static bool excluded(struct sealer *sl, const char *disp, const char *rel, const char *name)
{
	char *path;
	bool out;

	if (!sl->o->exclude)
		return false;
	if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", name) < 0)
		return false; /* out of memory: keep it (never silently lose data) */
	out = pathmatch_match(sl->o->exclude, path);
	free(path);
	if (out) {
		log_info("%s/%s: excluded", disp, name);
		sl->res->excluded++;
	}
	return out;
}

static int add_pending(struct sealer *sl, int fd, const char *disp, const char *rel,
		       const char *name, struct pending **v, size_t *n, size_t *cap)
{
	if (excluded(sl, disp, rel, name))
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct pending *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	struct pending *p = &(*v)[*n];
	memset(p, 0, sizeof(*p));
	if (fstatat(fd, name, &p->st, AT_SYMLINK_NOFOLLOW)) {
		log_warn("%s/%s: cannot stat: %s; not in the snapshot", disp, name,
			 strerror(errno));
		sl->res->warnings++;
		return 0;
	}
	p->e.name = strdup(name);
	p->e.namelen = strlen(name);
	if (!p->e.name)
		return -ENOMEM;
	fill_meta(&p->e, &p->st);
	(*n)++;
	return 0;
}

/* Read a directory into name-sorted entries (t->e) and their stat buffers (*sts). */
static int list_dir(struct sealer *sl, int fd, const char *disp, const char *rel, struct tree *t,
		    struct stat **sts)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct pending *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		ret = -errno;
		if (dfd >= 0)
			close(dfd);
		return ret;
	}
	while (!ret && (errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ret = add_pending(sl, fd, disp, rel, de->d_name, &v, &n, &cap);
	if (!ret && errno) /* a directory that cannot be listed completely is an error */
		ret = -errno;
	closedir(d);
	if (n) /* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), pending_cmp);
	t->e = calloc(n ? n : 1, sizeof(*t->e));
	*sts = calloc(n ? n : 1, sizeof(**sts));
	if (!ret && (!t->e || !*sts))
		ret = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ret) {
			tree_entry_clear(&v[i].e);
			continue;
		}
		t->e[i] = v[i].e;
		(*sts)[i] = v[i].st;
		t->n++;
	}
	free(v);
	return ret;
}

/* Drop entries marked removed (type 0). */
static void compact(struct tree *t)
{
	size_t j = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].type == 0)
			tree_entry_clear(&t->e[i]);
		else
			t->e[j++] = t->e[i];
	}
	t->n = j;
}

/* A queued directory whose chunks are all placed: its hard links settled, the entries left
 * out dropped, then its tree record sealed into the job's ref. */
static int tree_job_run(struct sealer *sl, struct tree_job *j)
{
	int ret = links_settle(sl, &j->t);
	compact(&j->t);
	return ret ? ret : seal_tree_record(sl, &j->t, j->ref);
}

static void tree_job_free(struct tree_job *j)
{
	for (size_t i = 0; i < j->t.n; i++)
		tree_entry_clear(&j->t.e[i]);
	free(j->t.e);
	j->t.e = NULL;
	j->t.n = 0;
}

void seal_trees_ready(struct sealer *sl)
{
	while (!sl->deferred_err && sl->jobs_head < sl->njobs &&
	       sl->jobs[sl->jobs_head].barrier <= sl->nplaced) {
		struct tree_job *j = &sl->jobs[sl->jobs_head++];
		sl->deferred_err = tree_job_run(sl, j);
		tree_job_free(j);
	}
	if (sl->jobs_head == sl->njobs)
		sl->jobs_head = sl->njobs = 0;
}

void seal_trees_free(struct sealer *sl)
{
	for (size_t i = sl->jobs_head; i < sl->njobs; i++)
		tree_job_free(&sl->jobs[i]);
	free(sl->jobs);
	sl->jobs = NULL;
	sl->jobs_head = sl->njobs = sl->capjobs = 0;
}

/* A directory's entries are all walked (ret: how that went): its tree is queued (taken
 * from t) to be sealed into ref once its files' chunks are placed, while the walk goes on;
 * *count: its entries (those left out are not counted). */
static int dir_finish(struct sealer *sl, struct tree *t, int ret, struct rec_ref *ref,
		      uint64_t *count)
{
	if (ret)
		return ret;
	if (sl->deferred_err)
		return sl->deferred_err;
	*count = 0;
	for (size_t i = 0; i < t->n; i++)
		*count += t->e[i].type != 0;
	if (sl->njobs == sl->capjobs) {
		size_t cap = sl->capjobs ? 2 * sl->capjobs : 64;
		struct tree_job *j = realloc(sl->jobs, cap * sizeof(*j));
		if (!j)
			return -ENOMEM;
		sl->jobs = j;
		sl->capjobs = cap;
	}
	sl->jobs[sl->njobs++] =
	    (struct tree_job){.t = *t, .ref = ref, .barrier = sbatch_barrier(sl)};
	t->e = NULL;
	t->n = 0;
	seal_trees_ready(sl); /* nothing to wait for when no new chunk was added */
	return sl->deferred_err;
}

/* Every queued tree sealed: the walk is over, ref (the root's) is final. */
static int dir_drain(struct sealer *sl, int ret)
{
	if (!ret)
		ret = sbatch_flush(sl);
	if (!ret)
		ret = sl->deferred_err;
	if (!ret && sl->njobs) {
		log_err("internal error: %zu directory trees left unsealed",
			sl->njobs - sl->jobs_head);
		ret = -EIO;
	}
	return ret;
}

/* The previous snapshot's version of a directory, when there is one to compare with. */
static struct tree *old_tree(struct sealer *sl, const struct rec_ref *ref)
{
	struct tree *t = NULL;
	if (ref && store_load_tree(sl->s, ref, &t))
		t = NULL; /* unreadable: every file is simply read again */
	return t;
}

static const struct tree_entry *old_entry(const struct tree *old, const struct tree_entry *e)
{
	return old ? tree_find(old, e->name, e->namelen) : NULL;
}

/* Small files: ask the kernel to read the next files of the directory (their first
 * PREFETCH_FILE bytes; seal_file.c reads ahead within bigger ones) while this thread seals
 * the current one, so the disk has many requests to serve instead of one file at a time.
 * Bounded by PREFETCH_FILES entries and PREFETCH_BYTES ahead of entry i; *next: the first
 * entry not yet asked for. */
#define PREFETCH_FILES 64
#define PREFETCH_BYTES (8u << 20)
#define PREFETCH_FILE  (1u << 20)

static void prefetch(struct sealer *sl, int dirfd, const struct tree *t, const struct stat *sts,
		     const struct tree *old, size_t i, size_t *next, uint64_t *ahead)
{
	if (*next <= i) {
		*next = i + 1;
		*ahead = 0;
	}
	while (*next < t->n && *next - i <= PREFETCH_FILES && *ahead < PREFETCH_BYTES) {
		const struct stat *st = &sts[*next];
		const struct tree_entry *e = &t->e[*next];
		(*next)++;
		if (e->type != ENT_FILE || st->st_size == 0 || unchanged(sl, old_entry(old, e), st))
			continue;
		int fd = open_ro(dirfd, e->name, O_NONBLOCK);
		if (fd < 0)
			continue; /* reported when it is read */
		off_t n = st->st_size < PREFETCH_FILE ? st->st_size : PREFETCH_FILE;
		(void)posix_fadvise(fd, 0, n, POSIX_FADV_WILLNEED);
		close(fd);
		*ahead += (uint64_t)n;
	}
}

static int seal_dir(struct sealer *sl, int fd, const char *disp, const char *rel,
		    struct rec_ref *ref, uint64_t *count, const struct rec_ref *old_ref)
{
	struct tree t = {0}, *old = old_tree(sl, old_ref);
	struct stat *sts = NULL;
	int ret = list_dir(sl, fd, disp, rel, &t, &sts);

	if (ret) {
		log_err("%s: cannot list directory: %s", disp, strerror(-ret));
		goto out;
	}
	size_t pf_next = 0;
	uint64_t pf_ahead = 0;
	for (size_t i = 0; !ret && i < t.n; i++) {
		char *sub = join(disp, t.e[i].name), *subrel = NULL;
		if (t.e[i].type == ENT_FILE) {
			uint64_t sz = (uint64_t)sts[i].st_size;
			pf_ahead -= pf_ahead < sz ? pf_ahead : sz;
			prefetch(sl, fd, &t, sts, old, i, &pf_next, &pf_ahead);
		}
		if (asprintf(&subrel, "%s%s%s", rel, *rel ? "/" : "", t.e[i].name) < 0)
			subrel = NULL;
		ret = sub && subrel ? seal_entry(sl, fd, t.e[i].name, sub, subrel, &t.e[i], &sts[i],
						 old_entry(old, &t.e[i]))
				    : -ENOMEM;
		free(subrel);
		free(sub);
	}
	ret = dir_finish(sl, &t, ret, ref, count);
out:
	for (size_t i = 0; i < t.n; i++)
		tree_entry_clear(&t.e[i]);
	free(t.e);
	free(sts);
	tree_free(old);
	return ret;
}

/* Several PATHs: a synthetic root holding each under its base name. */
struct root_src {
	struct pending p; /* first member: sorts with pending_cmp */
	const char *path;
};

static int root_entry(const char *path, struct root_src *r)
{
	char *copy = strdup(path), *base;
	size_t l = copy ? strlen(copy) : 0;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	while (l > 1 && copy[l - 1] == '/')
		copy[--l] = 0;
	base = strrchr(copy, '/');
	base = base ? base + 1 : copy;
	if (lstat(path, &r->p.st)) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
	} else if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		log_err("%s: give a path that ends in a name", path);
		ret = -EINVAL;
	} else {
		r->path = path;
		r->p.e.name = strdup(base);
		r->p.e.namelen = strlen(base);
		ret = r->p.e.name ? 0 : -ENOMEM;
		fill_meta(&r->p.e, &r->p.st);
	}
	free(copy);
	return ret;
}

static int seal_multi_root(struct sealer *sl, struct rec_ref *ref, uint64_t *count)
{
	size_t n = sl->o->npaths;
	struct root_src *v = calloc(n, sizeof(*v));
	struct tree t = {0}, *old = old_tree(sl, sl->has_parent ? &sl->parent.root : NULL);
	int ret = v ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < n; i++)
		ret = root_entry(sl->o->paths[i], &v[i]);
	if (!ret)
		qsort(v, n, sizeof(*v), pending_cmp);
	for (size_t i = 1; !ret && i < n; i++)
		if (!pending_cmp(&v[i - 1], &v[i])) {
			log_err("%s and %s share the base name %s", v[i - 1].path, v[i].path,
				v[i].p.e.name);
			ret = -EINVAL;
		}
	t.e = calloc(n, sizeof(*t.e));
	if (!ret && !t.e)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++) {
		t.e[i] = v[i].p.e;
		memset(&v[i].p.e, 0, sizeof(v[i].p.e));
		t.n++;
		sl->root_dev = v[i].p.st.st_dev; /* each PATH is its own file system's root */
		ret = seal_entry(sl, AT_FDCWD, v[i].path, v[i].path, t.e[i].name, &t.e[i],
				 &v[i].p.st, old_entry(old, &t.e[i]));
	}
	ret = dir_drain(sl, dir_finish(sl, &t, ret, ref, count));
	for (size_t i = 0; i < t.n; i++)
		tree_entry_clear(&t.e[i]);
	for (size_t i = 0; v && i < n; i++)
		tree_entry_clear(&v[i].p.e);
	free(t.e);
	free(v);
	tree_free(old);
	return ret;
}

/* The sealed directory's own metadata: taken before the walk (which reads inside it) and
 * kept in the manifest, since no tree entry describes the root. */
static int root_meta(struct sealer *sl, int fd, const char *disp)
{
	struct tree_entry *e = &sl->root_meta;
	struct stat st;
	int ret;

	if (fstat(fd, &st)) {
		ret = -errno;
		log_err("%s: %s", disp, strerror(-ret));
		return ret;
	}
	fill_meta(e, &st);
	ret = read_xattrs(fd, disp, e);
	if (!ret && rootmeta_xattr_bytes(e) > ROOTMETA_XATTR_BYTES) {
		log_warn("%s: the directory's own xattrs exceed %u KiB; not recorded", disp,
			 ROOTMETA_XATTR_BYTES >> 10);
		sl->res->warnings++;
		tree_entry_clear(e);
		fill_meta(e, &st);
	}
	sl->has_root_meta = ret == 0;
	return ret;
}

int seal_root(struct sealer *sl, struct rec_ref *ref, uint64_t *count)
{
	struct stat st;
	const char *p = sl->o->paths[0];
	int fd, ret;

	if (sl->o->npaths > 1 || (!stat(p, &st) && !S_ISDIR(st.st_mode)))
		return seal_multi_root(sl, ref, count);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: %s", p, strerror(-ret));
		return ret;
	}
	ret = root_meta(sl, fd, p);
	sl->root_dev = st.st_dev;
	if (!ret)
		ret = dir_drain(sl, seal_dir(sl, fd, p, "", ref, count,
					     sl->has_parent ? &sl->parent.root : NULL));
	close(fd);
	return ret;
}
