/* live_file: file content — writes into the journal, reads from the journal and the base,
 * truncation, holes, and attribute changes.
 *
 * A file's byte at position p is: the journal's, if an extent covers p; else the base's, if
 * p < base_len (a hole of the base reads as zeros); else zero. Truncating lowers base_len, so
 * bytes of the base never reappear when the file grows again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbuf.h"
#include "live_int.h"
#include "log.h"

/* ---- attributes and size ---- */

static void set_size(struct lnode *n, uint64_t size)
{
	if (size < n->size) {
		extmap_clip(&n->ext, size);
		if (n->base_len > size)
			n->base_len = size;
		if (n->low_water > size)
			n->low_water = size;
	}
	n->size = size;
}

int x_setattr(struct live *l, struct lnode *n, unsigned valid, uint32_t mode, uint32_t uid,
	      uint32_t gid, uint64_t size, int64_t atime, int64_t mtime, int64_t ctime)
{
	int ret;

	if ((valid & LIVE_SET_SIZE) && n->type != ENT_FILE)
		return n->type == ENT_DIR ? -EISDIR : -EINVAL;
	if ((valid & LIVE_SET_SIZE) && size > INT64_MAX)
		return -EFBIG;
	if (!l->replaying) {
		struct jop op = {.type = JOP_SETATTR,
				 .valid = valid,
				 .mode = mode,
				 .uid = uid,
				 .gid = gid,
				 .size = size,
				 .atime = atime,
				 .mtime = mtime,
				 .ctime = ctime};
		if ((ret = jbind(l, n)))
			return ret;
		op.jid = n->jid;
		if ((ret = jemit(l, &op)))
			return ret;
	}
	if (valid & LIVE_SET_MODE)
		n->mode = mode & 07777;
	if (valid & LIVE_SET_UID)
		n->uid = uid;
	if (valid & LIVE_SET_GID)
		n->gid = gid;
	if (valid & LIVE_SET_SIZE)
		set_size(n, size);
	if (valid & LIVE_SET_ATIME)
		n->atime = atime;
	if (valid & LIVE_SET_MTIME)
		n->mtime = mtime;
	if (valid & LIVE_SET_CTIME)
		n->ctime = ctime;
	node_touch(l, n);
	return 0;
}

int live_setattr(struct live *l, uint64_t ino, const struct stat *a, unsigned valid,
		 struct stat *st)
{
	int64_t now = live_now();
	unsigned v = valid & (LIVE_SET_MODE | LIVE_SET_UID | LIVE_SET_GID | LIVE_SET_SIZE |
			      LIVE_SET_ATIME | LIVE_SET_MTIME);
	int64_t at = (int64_t)a->st_atim.tv_sec * 1000000000 + a->st_atim.tv_nsec;
	int64_t mt = (int64_t)a->st_mtim.tv_sec * 1000000000 + a->st_mtim.tv_nsec;
	struct lnode *n;
	uint32_t mode;
	int ret;

	if (valid & LIVE_SET_ATIME_NOW) {
		v |= LIVE_SET_ATIME;
		at = now;
	}
	if (valid & LIVE_SET_MTIME_NOW) {
		v |= LIVE_SET_MTIME;
		mt = now;
	}
	if ((valid & LIVE_SET_SIZE) && !(v & LIVE_SET_MTIME)) {
		v |= LIVE_SET_MTIME; /* truncate(2) changes the modification time */
		mt = now;
	}
	v |= LIVE_SET_CTIME; /* every change of attributes is a status change */
	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	mode = a->st_mode;
	if (n && (valid & LIVE_SET_KILL_SUIDGID) && !(v & LIVE_SET_MODE) && n->type != ENT_DIR) {
		mode = n->mode & ~(uint32_t)S_ISUID;
		if (mode & S_IXGRP)
			mode &= ~(uint32_t)S_ISGID;
		if (mode != n->mode)
			v |= LIVE_SET_MODE;
	}
	ret = n ? x_setattr(l, n, v, mode, a->st_uid, a->st_gid, (uint64_t)a->st_size, at, mt, now)
		: -ENOENT;
	if (!ret)
		node_attr(l, n, st);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static bool in_groups(gid_t g, gid_t gid, const gid_t *groups, size_t ngroups)
{
	if (g == gid)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == g)
			return true;
	return false;
}

int live_drop_privs(struct live *l, uint64_t ino, gid_t gid, const gid_t *groups, size_t ngroups)
{
	struct lnode *n;
	uint32_t mode;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (!n) {
		ret = -ENOENT;
		goto out;
	}
	mode = n->mode;
	if (n->type != ENT_FILE || !(mode & (S_ISUID | S_ISGID)))
		goto out; /* the common case: nothing to drop, no record */
	if ((mode & S_ISGID) && !(mode & S_IXGRP) && n->gid != gid && !groups) {
		ret = -EAGAIN;
		goto out;
	}
	mode &= ~(uint32_t)S_ISUID;
	if ((mode & S_IXGRP) || !in_groups(n->gid, gid, groups, ngroups))
		mode &= ~(uint32_t)S_ISGID;
	if (mode != n->mode) {
		ret = x_setattr(l, n, LIVE_SET_MODE | LIVE_SET_CTIME, mode, 0, 0, 0, 0, 0,
				live_now());
		ret = ret ? ret : 1;
	}
out:
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* ---- writing ---- */

/* Apply one WRITE record's worth, journalled at pos, to n. */
static int apply_piece(struct live *l, struct lnode *n, uint64_t off, size_t len, int64_t t,
		       const struct jlog_pos *pos)
{
	struct extent e = {.off = off,
			   .len = (uint32_t)len,
			   .doff = JREC_WRITE_HDR,
			   .epoch = l->epoch,
			   .pos = *pos};

	if (extmap_put(&n->ext, &e) < 0) {
		log_err("journal: out of memory applying a write; remount to replay it");
		return -ENOMEM;
	}
	if (off + len > n->size)
		n->size = off + len;
	n->mtime = n->ctime = t;
	l->pending_write_bytes += len;
	node_touch(l, n);
	return 0;
}

/* Journal len bytes (at most JLOG_BATCH_MAX records' worth) at off as one batch of WRITE
 * records and apply them. With defer (and a journal that allows it) the records are only
 * reserved: *defer gets the batch, to be written by the caller after letting go of the lock
 * (a read of these bytes meanwhile waits for it); the tree already shows the write. Without,
 * they are written first and a failure leaves the journal and the tree unchanged. */
static int write_batch(struct live *l, struct lnode *n, uint64_t off, const uint8_t *data,
		       size_t len, int64_t t, struct jlog_batch **defer)
{
	struct jlog_pos pos[JLOG_BATCH_MAX];
	size_t blen[JLOG_BATCH_MAX] = {0}, k = 0, done;
	struct jlog_batch *b;
	int ret;

	for (done = 0; done < len; k++) {
		size_t piece = len - done < JREC_WRITE_MAX ? len - done : JREC_WRITE_MAX;
		blen[k] = JREC_WRITE_HDR + piece;
		done += piece;
	}
	ret = jlog_reserve(l->j, blen, k, &b);
	if (ret)
		return ret;
	done = 0;
	for (size_t i = 0; i < k; i++) {
		size_t piece = blen[i] - JREC_WRITE_HDR;
		struct jop op = {.type = JOP_WRITE,
				 .jid = n->jid,
				 .off = off + done,
				 .time = t,
				 .datalen = piece};
		uint8_t head[JREC_WRITE_HDR];
		(void)jrec_write_head(&op, head); /* a JOP_WRITE: cannot fail */
		jlog_batch_set(b, i, head, sizeof(head), data + done, piece);
		pos[i] = *jlog_batch_pos(b, i);
		done += piece;
	}
	if (defer && jlog_async(l->j)) {
		*defer = b; /* written by the caller, whatever happens below */
	} else if ((ret = jlog_batch_write(l->j, b, true))) {
		return ret;
	}
	done = 0;
	for (size_t i = 0; !ret && i < k; i++) {
		ret = apply_piece(l, n, off + done, blen[i] - JREC_WRITE_HDR, t, &pos[i]);
		done += blen[i] - JREC_WRITE_HDR;
	}
	return ret;
}

#define BATCH_BYTES ((size_t)JLOG_BATCH_MAX * JREC_WRITE_MAX)

int x_write(struct live *l, struct lnode *n, uint64_t off, const void *data, size_t len, int64_t t,
	    const struct jlog_pos *replay_pos, struct jlog_batch **defer)
{
	const uint8_t *p = data;
	size_t done = 0;
	int ret = 0;

	if (n->type != ENT_FILE)
		return n->type == ENT_DIR ? -EISDIR : -EINVAL;
	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EFBIG;
	if (replay_pos)
		return apply_piece(l, n, off, len, t, replay_pos);
	if ((ret = jbind(l, n)))
		return ret;
	if (len <= BATCH_BYTES) /* one batch: a FUSE write (at most 1 MiB) */
		return (ret = write_batch(l, n, off, p, len, t, defer)) ? ret : (int)len;
	while (done < len) { /* batches written one after the other */
		size_t piece = len - done < BATCH_BYTES ? len - done : BATCH_BYTES;
		ret = write_batch(l, n, off + done, p + done, piece, t, NULL);
		if (ret)
			break;
		done += piece;
	}
	return done ? (int)(done > INT32_MAX ? INT32_MAX : done) : ret;
}

/* Past the journal's bound, a writer waits for a commit to make room (lock held, dropped
 * while waiting). ENOSPC when nobody can commit, or a commit ended and left no room. */
static int wait_for_space(struct live *l, size_t len)
{
	for (int round = 0; jlog_bytes(l->j) + len > l->o.journal_max; round++) {
		void (*kick)(void *) = l->kick;
		void *ctx = l->kick_ctx;
		uint64_t gen = l->commit_gen;
		if (!kick || round == 3)
			return -ENOSPC;
		pthread_mutex_unlock(&l->lock);
		kick(ctx);
		pthread_mutex_lock(&l->lock);
		while (l->commit_gen == gen)
			pthread_cond_wait(&l->space_cond, &l->lock);
		if (l->cinfo.last_err && jlog_bytes(l->j) + len > l->o.journal_max)
			return -ENOSPC; /* the commit failed (store unreachable?): no room */
	}
	return 0;
}

ssize_t live_write_begin(struct live *l, uint64_t ino, uint64_t off, const void *buf, size_t len,
			 struct live_wr *w)
{
	struct lnode *n;
	ssize_t ret;

	w->l = l;
	w->b = NULL;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&l->lock);
	ret = wait_for_space(l, len);
	n = ret ? NULL : node_by_ino(l, ino);
	if (!ret && !n)
		ret = -ENOENT;
	if (!ret)
		ret = x_write(l, n, off, buf, len, live_now(), NULL, &w->b);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int live_write_end(struct live_wr *w)
{
	int ret = 0;

	if (w->b)
		ret = jlog_batch_write(w->l->j, w->b, false);
	w->b = NULL;
	return ret;
}

ssize_t live_write(struct live *l, uint64_t ino, uint64_t off, const void *buf, size_t len)
{
	struct live_wr w;
	ssize_t ret = live_write_begin(l, ino, off, buf, len, &w);
	int end = live_write_end(&w);

	return ret < 0 || !end ? ret : end;
}

/* ---- reading ---- */

int plan_add(struct plan *p, const struct piece *x)
{
	if (p->n && x->kind == P_ZERO && p->v[p->n - 1].kind == P_ZERO) {
		p->v[p->n - 1].len += x->len;
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct piece *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *x;
	return 0;
}

/* Index of the first chunk of c[0..n) ending after off (n if none). */
static size_t chunk_at(const struct chunk_ref *c, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c[mid].foff + c[mid].rec.plen <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* [from, to) below base_len, from the base's chunks (holes as zeros). */
static int plan_base(struct plan *p, const struct chunk_ref *oc, size_t noc, uint64_t from,
		     uint64_t to)
{
	size_t i = chunk_at(oc, noc, from);
	int ret = 0;

	while (!ret && from < to) {
		const struct chunk_ref *c = i < noc ? &oc[i] : NULL;
		if (!c || c->foff >= to) {
			ret = plan_add(p, &(struct piece){.kind = P_ZERO, .len = to - from});
			break;
		}
		if (c->foff > from) {
			ret = plan_add(p, &(struct piece){.kind = P_ZERO, .len = c->foff - from});
			from = c->foff;
			continue;
		}
		uint64_t end = c->foff + c->rec.plen < to ? c->foff + c->rec.plen : to;
		ret = plan_add(p, &(struct piece){.kind = P_BASE,
						  .len = end - from,
						  .rec = c->rec,
						  .coff = from - c->foff});
		from = end;
		i++;
	}
	return ret;
}

int content_plan(const struct extent *ext, size_t next, const struct chunk_ref *oc, size_t noc,
		 uint64_t base_len, uint64_t off, uint64_t end, struct plan *p)
{
	struct extmap m = {.v = (struct extent *)ext, .n = next};
	size_t i = extmap_find(&m, off);
	uint64_t pos = off;
	int ret = 0;

	while (!ret && pos < end) {
		const struct extent *e = i < next ? &ext[i] : NULL;
		if (e && e->off <= pos) {
			uint64_t stop = e->off + e->len < end ? e->off + e->len : end;
			ret = plan_add(p,
				       &(struct piece){.kind = P_JOURNAL,
						       .len = stop - pos,
						       .pos = e->pos,
						       .doff = e->doff + (uint32_t)(pos - e->off)});
			pos = stop;
			i++;
			continue;
		}
		uint64_t stop = e && e->off < end ? e->off : end;
		uint64_t base_end = base_len < stop ? base_len : stop;
		if (pos < base_end) {
			ret = plan_base(p, oc, noc, pos, base_end);
			pos = base_end;
		}
		if (!ret && pos < stop)
			ret = plan_add(p, &(struct piece){.kind = P_ZERO, .len = stop - pos});
		pos = stop;
	}
	return ret;
}

/* What [off, end) of n is made of. */
static int plan_read(const struct lnode *n, uint64_t off, uint64_t end, struct plan *p)
{
	const struct tree_entry *o = node_origin(n);
	bool base = o && o->type == ENT_FILE;

	return content_plan(n->ext.v, n->ext.n, base ? o->chunks : NULL, base ? o->nchunks : 0,
			    base ? n->base_len : 0, off, end, p);
}

static int serve_piece(struct live *l, const struct piece *x, uint8_t *out)
{
	struct cbuf *b;
	int ret;

	switch (x->kind) {
	case P_ZERO:
		memset(out, 0, x->len);
		return 0;
	case P_JOURNAL:
		ret = jlog_read_at(l->j, &x->pos, x->doff, x->len, out);
		if (ret == -ENOENT)
			return ret; /* a commit dropped the segment meanwhile: plan again */
		if (ret && ret != -EIO)
			log_err("journal %s: cannot read back written data: %s", l->jdir,
				strerror(-ret));
		return ret ? -EIO : 0;
	case P_BASE:
		ret = store_fetch_cbuf(l->s, REC_DATA, &x->rec, &b);
		if (ret < 0)
			return ret == -ENOMEM ? ret : -EIO;
		if (x->coff + x->len > b->len)
			ret = -EIO;
		else
			memcpy(out, b->data + x->coff, x->len);
		cbuf_unref(b);
		return ret;
	}
	return -EIO;
}

int content_serve(struct live *l, const struct plan *p, uint8_t *out)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < p->n; i++) {
		ret = serve_piece(l, &p->v[i], out);
		out += p->v[i].len;
	}
	return ret;
}

ssize_t live_read(struct live *l, uint64_t ino, uint64_t off, size_t len, void *buf)
{
	struct plan p = {0};
	struct lnode *n;
	uint64_t end = 0;
	int ret = 0;

	/* a commit may drop journal segments between planning and reading: plan again (the
	 * bytes are then in the base) */
	for (int tries = 0; tries < 5; tries++) {
		p.n = 0;
		end = 0;
		pthread_mutex_lock(&l->lock);
		n = node_by_ino(l, ino);
		if (!n)
			ret = -ENOENT;
		else if (n->type == ENT_DIR)
			ret = -EISDIR;
		else if (n->type != ENT_FILE)
			ret = -EINVAL;
		else if (off < n->size) {
			end = off + len < n->size ? off + len : n->size;
			ret = plan_read(n, off, end, &p);
		}
		pthread_mutex_unlock(&l->lock);
		if (!ret)
			ret = content_serve(l, &p, buf);
		if (ret != -ENOENT || !n)
			break;
	}
	free(p.v);
	if (ret == -ENOENT && n)
		ret = -EIO;
	return ret ? ret : (ssize_t)(end > off ? end - off : 0);
}

/* ---- holes ---- */

struct span {
	uint64_t a, b;
};

static int span_cmp(const void *x, const void *y)
{
	const struct span *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* Where n holds data: its extents and its origin's chunks below base_len, merged. */
static int data_spans(const struct lnode *n, struct span **out, size_t *nout)
{
	const struct tree_entry *o = node_origin(n);
	size_t cap = n->ext.n + (o && o->type == ENT_FILE ? o->nchunks : 0), k = 0;
	struct span *v = malloc((cap ? cap : 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n->ext.n; i++)
		v[k++] = (struct span){n->ext.v[i].off, n->ext.v[i].off + n->ext.v[i].len};
	for (size_t i = 0; o && o->type == ENT_FILE && i < o->nchunks; i++) {
		uint64_t a = o->chunks[i].foff, b = a + o->chunks[i].rec.plen;
		if (a >= n->base_len)
			break;
		v[k++] = (struct span){a, b < n->base_len ? b : n->base_len};
	}
	if (k)
		qsort(v, k, sizeof(*v), span_cmp);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && v[i].a <= v[m - 1].b) {
			if (v[i].b > v[m - 1].b)
				v[m - 1].b = v[i].b;
		} else {
			v[m++] = v[i];
		}
	}
	*out = v;
	*nout = m;
	return 0;
}

off_t live_lseek(struct live *l, uint64_t ino, off_t off, int whence)
{
	struct span *v = NULL;
	struct lnode *n;
	size_t k = 0;
	off_t ret;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (!n)
		ret = -ENOENT;
	else if (n->type != ENT_FILE || off < 0)
		ret = -EINVAL;
	else if ((uint64_t)off >= n->size)
		ret = -ENXIO;
	else if ((ret = data_spans(n, &v, &k)) == 0) {
		uint64_t pos = (uint64_t)off;
		size_t i = 0;
		while (i < k && v[i].b <= pos)
			i++;
		if (whence == SEEK_DATA)
			ret = i == k ? -ENXIO : (off_t)(v[i].a > pos ? v[i].a : pos);
		else
			ret = i < k && v[i].a <= pos ? (off_t)(v[i].b < n->size ? v[i].b : n->size)
						     : (off_t)pos;
	}
	pthread_mutex_unlock(&l->lock);
	free(v);
	return ret;
}

/* ---- handles and durability ---- */

int live_open_file(struct live *l, uint64_t ino)
{
	struct lnode *n;
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (n)
		n->nopen++;
	else
		ret = -ENOENT;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void live_release(struct live *l, uint64_t ino)
{
	struct lnode *n;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (n && n->nopen) {
		n->nopen--;
		node_maybe_free(l, n);
	}
	pthread_mutex_unlock(&l->lock);
}

int live_sync(struct live *l)
{
	return jlog_sync(l->j);
}
