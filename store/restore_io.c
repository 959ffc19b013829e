/* restore_io: write-behind of file contents. Files from many directories are queued until a
 * batch is full, then their chunks are fetched together — neighbours in a pack coalesced into
 * one ranged read, reads in flight in parallel, records opened on all cores — and written in
 * place. A file whose data cannot be fetched or verified is removed again, never left looking
 * whole. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cbuf.h"
#include "log.h"
#include "restore_int.h"

int rfail(struct restorer *r, const char *rel, const char *what, int err)
{
	log_err("%s: %s: %s", rel, what, strerror(err < 0 ? -err : err));
	r->res->errors++;
	r->res->damaged += err == EBADMSG || err == -EBADMSG;
	err = err < 0 ? -err : err;
	r->res->nospace += err == ENOSPC || err == EDQUOT;
	return 0;
}

/* Walk rel one component at a time (no symlink followed, no PATH_MAX limit: snapshots may
 * hold paths longer than the kernel accepts in one call). Returns the parent's fd. */
int rio_open_parent(struct restorer *r, const char *rel, const char **leaf)
{
	int fd = dup(r->rootfd);
	const char *p = rel, *slash;
	char comp[TREE_NAME_MAX + 1];

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		if (n == 0 || n > TREE_NAME_MAX) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int saved = errno;
		close(fd);
		errno = saved;
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

int rio_open_beneath(struct restorer *r, const char *rel, int flags)
{
	const char *leaf;
	int dfd = rio_open_parent(r, rel, &leaf), fd;
	if (dfd < 0)
		return -1;
	fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC);
	int saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* Owner, mode, xattrs, times — in this order, since chown clears set-id bits. */
void rio_set_meta(struct restorer *r, int fd, const struct tree_entry *e, const char *rel)
{
	struct timespec ts[2];
	ts[0].tv_sec = e->mtime_ns / 1000000000;
	ts[0].tv_nsec = e->mtime_ns % 1000000000;
	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000;
	}
	ts[1] = ts[0];
	if (r->root_user && fchown(fd, e->uid, e->gid))
		rfail(r, rel, "chown", errno);
	if (fchmod(fd, e->mode))
		rfail(r, rel, "chmod", errno);
	for (size_t i = 0; i < e->nxattrs; i++)
		if (fsetxattr(fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0))
			log_warn("%s: xattr %s not restored: %s", rel, e->xattrs[i].name,
				 strerror(errno));
	if (futimens(fd, ts))
		rfail(r, rel, "set times", errno);
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

int rio_hold(struct restorer *r, struct tree *t)
{
	if (r->nheld == r->capheld) {
		size_t cap = r->capheld ? 2 * r->capheld : 64;
		struct tree **v = realloc(r->held, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->held = v;
		r->capheld = cap;
	}
	r->held[r->nheld++] = t;
	return 0;
}

static void write_one(struct restorer *r, const struct rchunk *c, struct cbuf *b, int res)
{
	struct rfile *f = &r->files[c->file];
	if (f->failed)
		return;
	if (res) {
		f->failed = true;
		f->damaged = res == -EBADMSG;
		rfail(r, f->rel, "content cannot be fetched or does not verify", res);
		return;
	}
	/* a full disk first writes short (errno untouched), then fails with ENOSPC */
	for (size_t done = 0; done < b->len;) {
		ssize_t n = pwrite(f->fd, b->data + done, b->len - done, (off_t)(c->foff + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			f->failed = true;
			rfail(r, f->rel, "write", n < 0 ? errno : ENOSPC);
			break;
		}
		done += (size_t)n;
	}
	r->prog.bytes += b->len;
}

/* One slice of the queued chunks: fetched (possibly on the fetcher thread) then written. */
struct slice {
	struct restorer *r;
	size_t from, n;
	struct rec_ref *refs;
	struct cbuf **bufs;
	int *res;
	int ret;
};

/* noinline: gcc 12 -O3 inlines it into write_chunks and misreads the slice arrays as
 * possibly uninitialised */
__attribute__((noinline)) static void *fetch_slice(void *arg)
{
	struct slice *sl = arg;
	sl->ret = store_fetch_many(sl->r->s, REC_DATA, sl->refs + sl->from, sl->n,
				   sl->bufs + sl->from, sl->res + sl->from);
	return NULL;
}

/* Slices of about RSLICE_BYTES: the end of the next slice */
static size_t slice_end(const struct restorer *r, size_t from)
{
	uint64_t bytes = 0;
	size_t i = from;
	while (i < r->nchunks && (i == from || bytes < RSLICE_BYTES))
		bytes += r->chunks[i++].ref.plen;
	return i;
}

/* Fetch every queued chunk and write it in place. The fetch of slice k+1 (network round
 * trips, decryption on all cores) runs on a helper thread while slice k is written. */
static int write_chunks(struct restorer *r)
{
	size_t n = r->nchunks;
	struct slice cur = {.r = r}, next = {.r = r};
	pthread_t th;
	bool running = false;
	int ret = -ENOMEM;

	cur.refs = malloc((n ? n : 1) * sizeof(*cur.refs));
	cur.bufs = calloc(n ? n : 1, sizeof(*cur.bufs));
	cur.res = calloc(n ? n : 1, sizeof(int));
	if (!cur.refs || !cur.bufs || !cur.res)
		goto out;
	for (size_t i = 0; i < n; i++)
		cur.refs[i] = r->chunks[i].ref;
	cur.n = slice_end(r, 0);
	fetch_slice(&cur);
	ret = cur.ret;
	while (!ret && cur.from < n) {
		next = cur;
		next.from = cur.from + cur.n;
		next.n = slice_end(r, next.from) - next.from;
		running = next.n && !pthread_create(&th, NULL, fetch_slice, &next);
		if (next.n && !running)
			fetch_slice(&next); /* no thread: serially */
		for (size_t i = cur.from; i < cur.from + cur.n; i++) {
			write_one(r, &r->chunks[i], cur.bufs[i], cur.res[i]);
			cbuf_unref(cur.bufs[i]);
			cur.bufs[i] = NULL;
		}
		if (running)
			pthread_join(th, NULL);
		running = false;
		ret = next.n ? next.ret : 0;
		cur.from = next.from;
		cur.n = next.n;
		if (!next.n)
			break;
	}
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, &r->prog);
out:
	for (size_t i = 0; cur.bufs && i < n; i++)
		cbuf_unref(cur.bufs[i]);
	free(cur.bufs);
	free(cur.res);
	free(cur.refs);
	r->nchunks = 0;
	r->bytes = 0;
	return ret;
}

struct rlink *rio_link(struct restorer *r, uint64_t link_id)
{
	if (!link_id || link_id > RESTORE_MAX_LINKS)
		return NULL;
	if (link_id > r->nlinks) {
		size_t n = link_id * 2;
		struct rlink *v = realloc(r->links, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + r->nlinks, 0, (n - r->nlinks) * sizeof(*v));
		r->links = v;
		r->nlinks = n;
	}
	return &r->links[link_id - 1];
}

static void remove_name(struct restorer *r, const char *rel)
{
	const char *leaf;
	int dfd = rio_open_parent(r, rel, &leaf);
	if (dfd >= 0) {
		unlinkat(dfd, leaf, 0);
		close(dfd);
	}
}

static void finish_file(struct restorer *r, struct rfile *f)
{
	struct rlink *l = f->e->link_id <= r->nlinks ? rio_link(r, f->e->link_id) : NULL;

	if (!f->failed && ftruncate(f->fd, (off_t)f->e->size)) {
		f->failed = true;
		rfail(r, f->rel, "truncate", errno);
	}
	if (!f->failed)
		rio_set_meta(r, f->fd, f->e, f->rel);
	close(f->fd);
	if (f->failed) { /* never leave a partial file that looks whole, under any name */
		remove_name(r, f->rel);
		log_err("%s: not restored", f->rel);
		for (size_t i = 0; i < f->nlinks; i++) {
			remove_name(r, f->links[i]);
			rfail(r, f->links[i],
			      "not restored: the content of this hard-linked file failed",
			      f->damaged ? EBADMSG : EIO);
		}
	} else {
		r->res->files += 1 + f->nlinks;
		r->res->bytes += f->e->size;
		r->prog.files += 1 + f->nlinks;
	}
	if (l) {
		l->state = f->failed ? RLINK_FAILED : RLINK_DONE;
		l->damaged = f->damaged;
	}
	for (size_t i = 0; i < f->nlinks; i++)
		free(f->links[i]);
	free(f->links);
	free(f->rel);
}

int rio_flush(struct restorer *r)
{
	int ret = write_chunks(r);
	for (size_t i = 0; i < r->nfiles; i++) {
		struct rfile *f = &r->files[i];
		if (ret && !f->failed) { /* the batch could not be fetched: none is whole */
			f->failed = true;
			rfail(r, f->rel, "content cannot be fetched", ret);
		}
		finish_file(r, f);
	}
	r->nfiles = 0;
	for (size_t i = 0; i < r->nheld; i++)
		tree_free(r->held[i]);
	r->nheld = 0;
	return ret;
}

int rio_queue_file(struct restorer *r, int fd, const struct tree_entry *e, char *rel)
{
	int ret = 0;
	if (r->nfiles == RBATCH_FILES)
		ret = rio_flush(r);
	if (ret) {
		close(fd);
		free(rel);
		return ret;
	}
	size_t idx = r->nfiles++;
	struct rlink *l = rio_link(r, e->link_id);
	r->files[idx] = (struct rfile){.fd = fd, .e = e, .rel = rel};
	if (l) {
		l->state = RLINK_PENDING;
		l->file = idx;
	}
	/* a big file goes out window by window; its fd stays open until the next flush */
	for (size_t i = 0; !ret && i < e->nchunks; i++) {
		ret = add_chunk(r, idx, &e->chunks[i]);
		if (!ret && r->bytes >= RBATCH_BYTES)
			ret = write_chunks(r);
	}
	return ret;
}

void rio_free(struct restorer *r)
{
	/* files still queued were never completed (the restore stopped): none may stay */
	for (size_t i = 0; i < r->nfiles; i++) {
		close(r->files[i].fd);
		remove_name(r, r->files[i].rel);
		free(r->files[i].rel);
		for (size_t k = 0; k < r->files[i].nlinks; k++) {
			remove_name(r, r->files[i].links[k]);
			free(r->files[i].links[k]);
		}
		free(r->files[i].links);
	}
	for (size_t i = 0; i < r->nheld; i++)
		tree_free(r->held[i]);
	for (size_t i = 0; i < r->ndirs; i++) {
		free(r->dirs[i].rel);
		for (size_t k = 0; k < r->dirs[i].nxattrs; k++) {
			free(r->dirs[i].xattrs[k].name);
			free(r->dirs[i].xattrs[k].value);
		}
		free(r->dirs[i].xattrs);
	}
	for (size_t i = 0; r->links && i < r->nlinks; i++)
		free(r->links[i].first);
	free(r->links);
	free(r->dirs);
	free(r->held);
	free(r->chunks);
}
