/* restore: snapshot → directory. The walk creates entries as it goes; file contents are
 * written behind in batches (restore_io.c); directory metadata is applied last, children
 * before parents, because writing into a directory changes its mtime. Every name is created
 * relative to its parent's fd with O_NOFOLLOW / O_EXCL, so a hostile snapshot cannot reach
 * outside the target (and tree_decode already refused "/", "." and ".." names). */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbuf.h"
#include "log.h"
#include "memtune.h"
#include "pathmatch.h"
#include "restore_int.h"

static char *join(const char *a, const char *b)
{
	char *p;
	if (!*a)
		return strdup(b);
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* With --overwrite an existing non-directory is replaced; a directory is reused. */
static int make_room(struct restorer *r, int dirfd, const struct tree_entry *e)
{
	struct stat st;
	if (!r->o->overwrite)
		return 0; /* the target was empty: O_EXCL creation catches any clash */
	if (fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode))
		return e->type == ENT_DIR ? 0 : -EISDIR;
	return unlinkat(dirfd, e->name, 0) ? -errno : 0;
}

/* Another name of a hard-linked file whose first name exists. Takes rel. A name is counted
 * only once the content it shares is complete; if that content fails, it goes too. */
static int restore_link(struct restorer *r, int dirfd, const struct tree_entry *e, struct rlink *l,
			char *rel)
{
	const char *leaf;
	int pfd;

	if (l->state == RLINK_FAILED) {
		rfail(r, rel, "not restored: the content of this hard-linked file failed",
		      l->damaged ? EBADMSG : EIO);
		free(rel);
		return 0;
	}
	pfd = rio_open_parent(r, l->first, &leaf);
	if (pfd < 0 || linkat(pfd, leaf, dirfd, e->name, 0)) {
		rfail(r, rel, "hard link", errno);
	} else if (l->state == RLINK_PENDING) {
		struct rfile *f = &r->files[l->file];
		char **v = realloc(f->links, (f->nlinks + 1) * sizeof(*v));
		if (!v) {
			unlinkat(dirfd, e->name, 0);
			rfail(r, rel, "hard link", ENOMEM);
		} else {
			f->links = v;
			f->links[f->nlinks++] = rel;
			rel = NULL; /* counted, or removed, when its content is done */
		}
	} else {
		r->res->files++;
	}
	if (pfd >= 0)
		close(pfd);
	free(rel);
	return 0;
}

/* Takes rel. */
static int restore_file(struct restorer *r, int dirfd, const struct tree_entry *e, char *rel)
{
	struct rlink *l = rio_link(r, e->link_id);
	int fd;
	if (l && l->first) /* another name of a file already created */
		return restore_link(r, dirfd, e, l, rel);
	fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rfail(r, rel, "create", errno);
		free(rel);
		return 0;
	}
	if (l && !(l->first = strdup(rel))) {
		close(fd);
		free(rel);
		return -ENOMEM;
	}
	return rio_queue_file(r, fd, e, rel);
}

static mode_t type_bits(enum entry_type t)
{
	return tree_type_mode(t);
}

/* Owner, mode and times of a symlink, FIFO or device node just created. The target may be
 * writable by others, who could put a symlink (or a hard link to a file elsewhere) in its
 * place meanwhile: so the name is opened once, O_PATH | O_NOFOLLOW, checked to be what was
 * made (type, one link, still ours), and only that inode is changed — through the fd, and
 * for the mode through /proc/self/fd (no fchmod on an O_PATH fd; chmod of a symlink is
 * meaningless anyway). Nothing here follows a name. */
static void special_meta(struct restorer *r, int dirfd, const struct tree_entry *e, const char *rel)
{
	struct timespec ts[2] = {
	    {.tv_sec = e->mtime_ns / 1000000000, .tv_nsec = e->mtime_ns % 1000000000}};
	int fd = openat(dirfd, e->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char proc[64];
	struct stat st;

	if (ts[0].tv_nsec < 0) { /* before 1970: C division truncates towards zero */
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000;
	}
	ts[1] = ts[0];
	if (fd < 0 || fstat(fd, &st)) {
		rfail(r, rel, "reopen", errno);
		goto out;
	}
	if ((st.st_mode & S_IFMT) != type_bits(e->type) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		rfail(r, rel, "replaced by something else while being restored; left alone",
		      EEXIST);
		goto out;
	}
	if (r->root_user && fchownat(fd, "", e->uid, e->gid, AT_EMPTY_PATH))
		rfail(r, rel, "chown", errno);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (e->type != ENT_SYMLINK && chmod(proc, e->mode))
		rfail(r, rel, "chmod", errno);
	if (utimensat(fd, "", ts, AT_EMPTY_PATH))
		rfail(r, rel, "set times", errno);
out:
	if (fd >= 0)
		close(fd);
}

static void restore_special(struct restorer *r, int dirfd, const struct tree_entry *e,
			    const char *rel)
{
	int rc;
	if (e->type == ENT_SYMLINK) {
		rc = symlinkat(e->target, dirfd, e->name);
		r->res->symlinks += rc == 0;
	} else if (e->type == ENT_FIFO) {
		rc = mkfifoat(dirfd, e->name, e->mode & 0777);
		r->res->others += rc == 0;
	} else if (e->type == ENT_SOCK) { /* no one listens on it: a name, as it was */
		rc = mknodat(dirfd, e->name, S_IFSOCK | (e->mode & 0777), 0);
		r->res->others += rc == 0;
	} else if (!r->root_user) {
		log_warn("%s: device node not restored (needs root)", rel);
		return;
	} else {
		rc = mknodat(dirfd, e->name, (e->type == ENT_CHR ? S_IFCHR : S_IFBLK) | 0600,
			     (dev_t)e->rdev);
		r->res->others += rc == 0;
	}
	if (rc) {
		rfail(r, rel, "create", errno);
		return;
	}
	special_meta(r, dirfd, e, rel);
}

static int defer_dir_meta(struct restorer *r, const struct tree_entry *e, const char *rel)
{
	if (r->ndirs == r->capdirs) {
		size_t cap = r->capdirs ? 2 * r->capdirs : 64;
		struct dirmeta *v = realloc(r->dirs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->dirs = v;
		r->capdirs = cap;
	}
	struct dirmeta *d = &r->dirs[r->ndirs];
	memset(d, 0, sizeof(*d));
	d->rel = strdup(rel);
	d->mode = e->mode;
	d->uid = e->uid;
	d->gid = e->gid;
	d->mtime_ns = e->mtime_ns;
	if (!d->rel)
		return -ENOMEM;
	r->ndirs++;
	return tree_xattrs_dup(e->xattrs, e->nxattrs, &d->xattrs, &d->nxattrs);
}

static void apply_dir_meta(struct restorer *r)
{
	for (size_t i = 0; i < r->ndirs; i++) {
		struct dirmeta *d = &r->dirs[i];
		struct tree_entry e = {.mode = d->mode,
				       .uid = d->uid,
				       .gid = d->gid,
				       .mtime_ns = d->mtime_ns,
				       .xattrs = d->xattrs,
				       .nxattrs = d->nxattrs};
		int fd = rio_open_beneath(r, d->rel, O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			rfail(r, d->rel, "open directory", errno);
			continue;
		}
		rio_set_meta(r, fd, &e, d->rel);
		close(fd);
	}
}

static int restore_tree(struct restorer *r, int dirfd, const struct tree *t, const char *rel);

static int restore_dir(struct restorer *r, int dirfd, const struct tree_entry *e, const char *rel)
{
	struct tree *sub = NULL;
	int fd, ret;
	if (r->depth >= TREE_MAX_DEPTH)
		/* deeper than any reader follows: a hostile or broken snapshot */
		return rfail(r, rel, "directories nested too deeply (refused)", EBADMSG);
	if (mkdirat(dirfd, e->name, 0700) && errno != EEXIST)
		return rfail(r, rel, "mkdir", errno);
	fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rfail(r, rel, "open directory", errno);
	ret = store_load_tree(r->s, &e->subtree, &sub);
	if (ret) {
		rfail(r, rel, "directory listing cannot be fetched or does not verify", ret);
		ret = 0;
	} else {
		r->depth++;
		ret = restore_tree(r, fd, sub, rel);
		r->depth--;
		/* queued files may point into sub: it lives until their flush */
		if (rio_hold(r, sub)) {
			ret = rio_flush(r);
			tree_free(sub);
		}
	}
	if (!ret)
		ret = defer_dir_meta(r, e, rel);
	r->res->dirs++;
	close(fd);
	return ret;
}

/* --include / --exclude, on the entry's path inside the snapshot: 1 restore it, 0 leave it
 * out, -ENOMEM. A directory is entered when something below it may be included. */
static int wanted(struct restorer *r, const struct tree_entry *e, const char *rel)
{
	const struct pathmatch *in = r->o->include, *ex = r->o->exclude;
	char *full;
	int ret;

	if (!in && !ex)
		return 1;
	full = join(r->base, rel);
	if (!full)
		return -ENOMEM;
	ret = !(ex && pathmatch_match(ex, full)) &&
	      (!in || pathmatch_match(in, full) ||
	       (e->type == ENT_DIR && pathmatch_may_contain(in, full)));
	free(full);
	if (!ret)
		r->res->skipped++;
	return ret;
}

static int restore_entry(struct restorer *r, int dirfd, const struct tree_entry *e, const char *rel)
{
	char *sub = join(rel, e->name);
	int ret;
	if (!sub)
		return -ENOMEM;
	ret = wanted(r, e, sub);
	if (ret <= 0) {
		free(sub);
		return ret;
	}
	ret = make_room(r, dirfd, e);
	if (ret) {
		rfail(r, sub, "cannot replace existing entry", ret);
		free(sub);
		return 0;
	}
	if (e->type == ENT_FILE)
		return restore_file(r, dirfd, e, sub);
	if (e->type == ENT_DIR)
		ret = restore_dir(r, dirfd, e, sub);
	else
		restore_special(r, dirfd, e, sub);
	free(sub);
	return ret;
}

/* All subdirectory listings of a directory in one go: tree records sit together in
 * metadata packs, so this is one ranged read instead of one round trip per directory. */
static void prefetch_subtrees(struct restorer *r, const struct tree *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += t->e[i].type == ENT_DIR;
	if (n < 2)
		return;
	struct rec_ref *refs = malloc(n * sizeof(*refs));
	struct cbuf **bufs = calloc(n, sizeof(*bufs));
	int *res = calloc(n, sizeof(int));
	if (refs && bufs && res) {
		n = 0;
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].type == ENT_DIR)
				refs[n++] = t->e[i].subtree;
		/* results land in the memory cache; failures are reported by restore_dir */
		if (!store_fetch_many(r->s, REC_TREE, refs, n, bufs, res))
			for (size_t i = 0; i < n; i++)
				cbuf_unref(bufs[i]);
	}
	free(refs);
	free(bufs);
	free(res);
}

static int restore_tree(struct restorer *r, int dirfd, const struct tree *t, const char *rel)
{
	int ret = 0;
	prefetch_subtrees(r, t);
	for (size_t i = 0; !ret && i < t->n; i++)
		ret = restore_entry(r, dirfd, &t->e[i], rel);
	return ret;
}

static int prepare_target(struct restorer *r, const char *target)
{
	struct stat st;
	if (mkdir(target, 0700) && errno != EEXIST)
		return -errno;
	r->rootfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->rootfd < 0 || fstat(r->rootfd, &st))
		return -errno;
	if (!r->o->overwrite) {
		int dfd = dup(r->rootfd);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		int n = 0;
		while (d && (de = readdir(d)))
			n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (d)
			closedir(d);
		if (n)
			return -ENOTEMPTY;
	}
	return 0;
}

/* Up to RBATCH_FILES files stay open until their batch is written: lift the soft limit on
 * open files to the hard one (usually well above the default 1024). */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < 4 * RBATCH_FILES) {
		rl.rlim_cur = rl.rlim_max < 4 * RBATCH_FILES ? rl.rlim_max : 4 * RBATCH_FILES;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The snapshot path that entries' paths below the restore's top are relative to: the
 * restored directory, or the parent of a restored file; no leading or trailing '/'. */
static int restore_base(struct restorer *r, const char *path, const struct tree_entry *e)
{
	char *b = strdup(path ? path + strspn(path, "/") : ""), *slash;
	size_t n = b ? strlen(b) : 0;

	if (!b)
		return -ENOMEM;
	while (n && b[n - 1] == '/')
		b[--n] = 0;
	if (e && e->type != ENT_DIR) {
		slash = strrchr(b, '/');
		*(slash ? slash : b) = 0;
	}
	r->base = b;
	return 0;
}

int restore_run(struct store *s, const struct snapshot *sn, const char *path, const char *target,
		const struct restore_opts *o, struct restore_result *res)
{
	struct restorer r = {.s = s, .o = o, .res = res, .rootfd = -1, .root_user = geteuid() == 0};
	struct tree *dir = NULL, *root = NULL;
	const struct tree_entry *e = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	memtune_bulk();
	raise_nofile();
	ret = store_set_memory_cache(s, RESTORE_MEMORY_CACHE);
	if (ret)
		return ret;
	ret = store_lookup(s, sn, path ? path : "", &dir, &e);
	if (ret)
		return ret;
	ret = restore_base(&r, path, e);
	if (!ret)
		ret = prepare_target(&r, target);
	if (ret)
		goto out;
	r.prog.bytes_total = sn->bytes;
	if (!e)
		ret = restore_tree(&r, r.rootfd, dir, "");
	else if (e->type == ENT_DIR && !(ret = store_load_tree(s, &e->subtree, &root)))
		ret = restore_tree(&r, r.rootfd, root, "");
	else if (e->type != ENT_DIR)
		ret = restore_entry(&r, r.rootfd, e, "");
	if (!ret)
		ret = rio_flush(&r);
	if (!ret)
		apply_dir_meta(&r);
	/* the target becomes the directory restored: the snapshot root, or the subdirectory */
	if (!ret && (e ? e->type == ENT_DIR : sn->has_root_meta))
		rio_set_meta(&r, r.rootfd, e ? e : &sn->root_meta, target);
	/* one flush of the whole target instead of an fsync per file (20,000 small files) */
	if (!ret && syncfs(r.rootfd))
		ret = -errno;
	if (!ret && res->errors)
		ret = res->damaged ? -EBADMSG : -EIO;
out:
	rio_free(&r);
	tree_free(root);
	tree_free(dir);
	if (r.rootfd >= 0)
		close(r.rootfd);
	free((char *)r.base);
	return ret;
}
