/* restore: snapshot → directory. Files of one directory are fetched together (neighbouring
 * records coalesced, transfers in parallel), written, then given their metadata; a file
 * whose data cannot be fetched or verified is removed again, never left looking whole. */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cbuf.h"
#include "log.h"

#define RBATCH_BYTES (64u << 20)
#define RBATCH_FILES 256
#define RESTORE_MAX_LINKS (1u << 26) /* beyond: restored as copies (hostile ids) */

struct rfile {
	int dirfd; /* borrowed */
	int fd;
	const struct tree_entry *e;
	char *disp;
	bool failed;
};

struct rchunk {
	size_t file;
	uint64_t foff;
	struct rec_ref ref;
};

struct restorer {
	struct store *s;
	const struct restore_opts *o;
	struct restore_result *res;
	int rootfd;
	bool root_user;
	struct rfile files[RBATCH_FILES];
	size_t nfiles;
	struct rchunk *chunks;
	size_t nchunks, capchunks, bytes;
	char **links; /* link_id-1 → path of the first name, relative to rootfd */
	size_t nlinks;
	struct restore_progress prog;
};

static int fail(struct restorer *r, const char *disp, const char *what, int err)
{
	log_err("%s: %s: %s", disp, what, strerror(err < 0 ? -err : err));
	r->res->errors++;
	return 0;
}

/* Owner, mode, xattrs, times — in this order, since chown clears set-id bits. */
static void set_meta_fd(struct restorer *r, int fd, const struct tree_entry *e, const char *disp)
{
	struct timespec ts[2] = {{.tv_sec = e->mtime_ns / 1000000000, .tv_nsec = e->mtime_ns % 1000000000}};
	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000;
	}
	ts[1] = ts[0];
	if (r->root_user && fchown(fd, e->uid, e->gid))
		fail(r, disp, "chown", errno);
	if (fchmod(fd, e->mode))
		fail(r, disp, "chmod", errno);
	for (size_t i = 0; i < e->nxattrs; i++)
		if (fsetxattr(fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0))
			log_warn("%s: xattr %s not restored: %s", disp, e->xattrs[i].name,
				 strerror(errno));
	if (futimens(fd, ts))
		fail(r, disp, "set times", errno);
}

static int add_chunk(struct restorer *r, size_t file, const struct chunk_ref *c)
{
	if (r->nchunks == r->capchunks) {
		size_t cap = r->capchunks ? 2 * r->capchunks : 1024;
		struct rchunk *v = realloc(r->chunks, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->chunks = v;
		r->capchunks = cap;
	}
	r->chunks[r->nchunks++] = (struct rchunk){.file = file, .foff = c->foff, .ref = c->rec};
	r->bytes += c->rec.plen;
	return 0;
}

static void progress(struct restorer *r)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, &r->prog);
}

/* Fetch every queued chunk (coalesced, parallel) and write it in place. */
static int write_chunks(struct restorer *r)
{
	size_t n = r->nchunks;
	struct rec_ref *refs = malloc((n ? n : 1) * sizeof(*refs));
	struct cbuf **bufs = calloc(n ? n : 1, sizeof(*bufs));
	int *res = calloc(n ? n : 1, sizeof(int)), ret = -ENOMEM;

	if (!refs || !bufs || !res)
		goto out;
	for (size_t i = 0; i < n; i++)
		refs[i] = r->chunks[i].ref;
	ret = n ? store_fetch_many(r->s, REC_DATA, refs, n, bufs, res) : 0;
	for (size_t i = 0; !ret && i < n; i++) {
		struct rfile *f = &r->files[r->chunks[i].file];
		if (f->failed)
			continue;
		if (res[i]) {
			f->failed = true;
			fail(r, f->disp, "content cannot be fetched or does not verify", res[i]);
			continue;
		}
		if (pwrite(f->fd, bufs[i]->data, bufs[i]->len, (off_t)r->chunks[i].foff) !=
		    (ssize_t)bufs[i]->len) {
			f->failed = true;
			fail(r, f->disp, "write", errno ? errno : EIO);
		}
		r->prog.bytes += bufs[i]->len;
	}
	progress(r);
out:
	for (size_t i = 0; bufs && i < n; i++)
		cbuf_unref(bufs[i]);
	free(bufs);
	free(res);
	free(refs);
	r->nchunks = 0;
	r->bytes = 0;
	return ret;
}

static void finish_file(struct restorer *r, struct rfile *f)
{
	if (!f->failed && ftruncate(f->fd, (off_t)f->e->size)) {
		f->failed = true;
		fail(r, f->disp, "truncate", errno);
	}
	if (!f->failed)
		set_meta_fd(r, f->fd, f->e, f->disp);
	close(f->fd);
	if (f->failed) { /* never leave a partial file that looks whole */
		unlinkat(f->dirfd, f->e->name, 0);
		log_err("%s: not restored", f->disp);
	} else {
		r->res->files++;
		r->res->bytes += f->e->size;
		r->prog.files++;
	}
	free(f->disp);
}

/* Write out everything queued, then close all files (the queue holds whole files only). */
static int flush(struct restorer *r)
{
	int ret = write_chunks(r);
	for (size_t i = 0; i < r->nfiles; i++)
		finish_file(r, &r->files[i]);
	r->nfiles = 0;
	return ret;
}

/* Queue a big file's chunks window by window: flush writes but keeps this file open. */
static int queue_file(struct restorer *r, int dirfd, int fd, const struct tree_entry *e,
		      char *disp)
{
	int ret = 0;
	if (r->nfiles == RBATCH_FILES && (ret = flush(r)))
		return ret;
	size_t idx = r->nfiles++;
	r->files[idx] = (struct rfile){.dirfd = dirfd, .fd = fd, .e = e, .disp = disp};
	for (size_t i = 0; !ret && i < e->nchunks; i++) {
		ret = add_chunk(r, idx, &e->chunks[i]);
		if (!ret && r->bytes >= RBATCH_BYTES)
			ret = write_chunks(r);
	}
	if (!ret && r->bytes >= RBATCH_BYTES / 4)
		ret = flush(r);
	return ret;
}

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
	if (fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!r->o->overwrite)
		return -EEXIST;
	if (S_ISDIR(st.st_mode))
		return e->type == ENT_DIR ? 0 : -EISDIR;
	return unlinkat(dirfd, e->name, 0) ? -errno : 0;
}

static int restore_file(struct restorer *r, int dirfd, const struct tree_entry *e, char *disp,
			const char *rel)
{
	char **first = NULL;
	int fd;
	if (e->link_id && e->link_id <= RESTORE_MAX_LINKS) {
		if (e->link_id > r->nlinks) {
			size_t n = e->link_id * 2;
			char **v = realloc(r->links, n * sizeof(*v));
			if (!v)
				return free(disp), -ENOMEM;
			memset(v + r->nlinks, 0, (n - r->nlinks) * sizeof(*v));
			r->links = v;
			r->nlinks = n;
		}
		first = &r->links[e->link_id - 1];
	}
	if (first && *first) { /* another name of a file already restored */
		if (linkat(r->rootfd, *first, dirfd, e->name, 0))
			return fail(r, disp, "hard link", errno), free(disp), 0;
		r->res->files++;
		free(disp);
		return 0;
	}
	fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(r, disp, "create", errno), free(disp), 0;
	if (first)
		*first = strdup(rel);
	return queue_file(r, dirfd, fd, e, disp);
}

static int restore_tree(struct restorer *r, int dirfd, const struct tree *t, const char *rel);

static int restore_dir(struct restorer *r, int dirfd, const struct tree_entry *e,
		       const char *disp, const char *rel)
{
	struct tree *sub = NULL;
	int fd, ret;
	if (mkdirat(dirfd, e->name, 0700) && errno != EEXIST)
		return fail(r, disp, "mkdir", errno);
	fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(r, disp, "open directory", errno);
	ret = store_load_tree(r->s, &e->subtree, &sub);
	if (ret) {
		fail(r, disp, "directory listing cannot be fetched or does not verify", ret);
		ret = 0;
	} else {
		ret = restore_tree(r, fd, sub, rel);
	}
	if (!ret)
		set_meta_fd(r, fd, e, disp);
	r->res->dirs++;
	tree_free(sub);
	close(fd);
	return ret;
}

static void restore_special(struct restorer *r, int dirfd, const struct tree_entry *e,
			    const char *disp)
{
	struct timespec ts[2] = {{.tv_sec = e->mtime_ns / 1000000000, .tv_nsec = e->mtime_ns % 1000000000}};
	int rc;
	ts[1] = ts[0];
	if (e->type == ENT_SYMLINK) {
		rc = symlinkat(e->target, dirfd, e->name);
		r->res->symlinks += rc == 0;
	} else if (e->type == ENT_FIFO) {
		rc = mkfifoat(dirfd, e->name, e->mode);
		r->res->others += rc == 0;
	} else if (!r->root_user) {
		log_warn("%s: device node not restored (needs root)", disp);
		return;
	} else {
		rc = mknodat(dirfd, e->name, (e->type == ENT_CHR ? S_IFCHR : S_IFBLK) | e->mode,
			     (dev_t)e->rdev);
		r->res->others += rc == 0;
	}
	if (rc) {
		fail(r, disp, "create", errno);
		return;
	}
	if (r->root_user && fchownat(dirfd, e->name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW))
		fail(r, disp, "chown", errno);
	if (e->type != ENT_SYMLINK && fchmodat(dirfd, e->name, e->mode, 0))
		fail(r, disp, "chmod", errno);
	if (utimensat(dirfd, e->name, ts, AT_SYMLINK_NOFOLLOW))
		fail(r, disp, "set times", errno);
}

static int restore_entry(struct restorer *r, int dirfd, const struct tree_entry *e,
			 const char *rel)
{
	char *sub = join(rel, e->name);
	int ret;
	if (!sub)
		return -ENOMEM;
	ret = make_room(r, dirfd, e);
	if (ret) {
		fail(r, sub, "cannot replace existing entry", ret);
		free(sub);
		return 0;
	}
	if (e->type == ENT_FILE)
		return restore_file(r, dirfd, e, sub, sub); /* takes sub */
	if (e->type == ENT_DIR)
		ret = restore_dir(r, dirfd, e, sub, sub);
	else
		restore_special(r, dirfd, e, sub);
	free(sub);
	return ret;
}

/* Files first (fetched together), then subdirectories, each finished before the next. */
static int restore_tree(struct restorer *r, int dirfd, const struct tree *t, const char *rel)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < t->n; i++)
		if (t->e[i].type != ENT_DIR)
			ret = restore_entry(r, dirfd, &t->e[i], rel);
	if (!ret)
		ret = flush(r);
	for (size_t i = 0; !ret && i < t->n; i++)
		if (t->e[i].type == ENT_DIR)
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

int restore_run(struct store *s, const struct snapshot *sn, const char *path, const char *target,
		const struct restore_opts *o, struct restore_result *res)
{
	struct restorer r = {.s = s, .o = o, .res = res, .rootfd = -1, .root_user = geteuid() == 0};
	struct tree *dir = NULL, *root = NULL;
	const struct tree_entry *e = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = store_lookup(s, sn, path ? path : "", &dir, &e);
	if (ret)
		return ret;
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
		ret = flush(&r);
	/* one flush of the whole target instead of an fsync per file (20,000 small files) */
	if (!ret && syncfs(r.rootfd))
		ret = -errno;
	if (!ret && res->errors)
		ret = -EIO;
out:
	for (size_t i = 0; r.links && i < r.nlinks; i++)
		free(r.links[i]);
	free(r.links);
	free(r.chunks);
	tree_free(root);
	tree_free(dir);
	if (r.rootfd >= 0)
		close(r.rootfd);
	return ret;
}
