/* fs_read: a file's bytes for the kernel, straight from the memory cache's buffers.
 *
 * A read becomes an iovec over the plaintext it touches (references held until the reply is
 * written) and a shared zero page for holes, so the only copy is the kernel's. In a format 2
 * store the plaintext comes a 64 KiB frame at a time (store_fetch_frames): a 4 KiB read
 * fetches, verifies and opens one frame, not a whole chunk. In a format 1 store each chunk
 * comes whole through store_fetch_cbuf. Either way: memory cache, disk cache, then the store,
 * with one fetch per frame or chunk however many readers wait. Whole or nothing: any part
 * that fails fails the read, which is never shortened (only the end of the file ends a read
 * early). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbuf.h"
#include "frec.h"
#include "fs_int.h"

static const uint8_t zeros[64 << 10]; /* holes: one iovec entry per 64 KiB of zeros */

void fs_readv_release(struct fs_readv *rv)
{
	for (size_t i = 0; i < rv->nheld; i++)
		cbuf_unref(rv->held[i]);
	free(rv->held);
	free(rv->iov);
	memset(rv, 0, sizeof(*rv));
}

static int hold(struct fs_readv *rv, struct cbuf *b)
{
	if (rv->nheld == rv->capheld) {
		size_t cap = rv->capheld ? rv->capheld * 2 : 16;
		struct cbuf **h = realloc(rv->held, cap * sizeof(*h));
		if (!h) {
			cbuf_unref(b);
			return -ENOMEM;
		}
		rv->held = h;
		rv->capheld = cap;
	}
	rv->held[rv->nheld++] = b;
	return 0;
}

static int add_iov(struct fs_readv *rv, const void *p, size_t len)
{
	if (rv->niov == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16;
		struct iovec *v = realloc(rv->iov, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rv->iov = v;
		rv->cap = cap;
	}
	rv->iov[rv->niov++] = (struct iovec){.iov_base = (void *)p, .iov_len = len};
	rv->len += len;
	return 0;
}

static int add_zeros(struct fs_readv *rv, uint64_t len)
{
	int ret = 0;

	while (len && !ret) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ret = add_iov(rv, zeros, n);
		len -= n;
	}
	return ret;
}

/* Append [from, to) (file offsets) of framed chunk c: the frames it touches. */
static int add_frames(struct store *s, struct fs_readv *rv, const struct chunk_ref *c,
		      uint64_t from, uint64_t to)
{
	uint32_t fa = (uint32_t)((from - c->foff) / FREC_FRAME);
	uint32_t fb = (uint32_t)((to - 1 - c->foff) / FREC_FRAME);
	struct cbuf *fr[FS_MAX_READ / FREC_FRAME + 2];
	int ret;

	if (fb - fa >= sizeof(fr) / sizeof(fr[0]))
		return -EINVAL; /* reads are at most FS_MAX_READ */
	ret = store_fetch_frames(s, &c->rec, fa, fb, fr);
	if (ret)
		return ret;
	for (uint32_t i = fa; i <= fb; i++) {
		uint64_t base = c->foff + (uint64_t)i * FREC_FRAME;
		uint64_t lo = from > base ? from : base;
		uint64_t hi = to < base + FREC_FRAME ? to : base + FREC_FRAME;
		struct cbuf *b = fr[i - fa];

		if (ret ||
		    b->len < hi - base) { /* short: cannot happen, frames have their length */
			cbuf_unref(b);
			ret = ret ? ret : -EIO;
			continue;
		}
		ret = hold(rv, b);
		if (!ret)
			ret = add_iov(rv, b->data + (lo - base), (size_t)(hi - lo));
	}
	return ret;
}

/* Append [from, to) of chunk c, holding a reference on its buffer. */
static int add_chunk(struct store *s, struct fs_readv *rv, const struct chunk_ref *c, uint64_t from,
		     uint64_t to)
{
	struct cbuf *b;
	int ret;

	if (store_framed(s, REC_DATA))
		return add_frames(s, rv, c, from, to);
	ret = store_fetch_cbuf(s, REC_DATA, &c->rec, &b);
	if (ret < 0)
		return ret;
	if (b->len < to - c->foff) {
		cbuf_unref(b);
		return -EIO; /* cannot happen: the store checks plen; never hand out short data */
	}
	ret = hold(rv, b);
	return ret ? ret : add_iov(rv, b->data + (from - c->foff), (size_t)(to - from));
}

int fs_readv(struct store *s, const struct tree_entry *e, uint64_t off, size_t size,
	     struct fs_readv *rv)
{
	uint64_t end = off + size < e->size ? off + size : e->size, pos = off;
	size_t first = tree_chunk_at(e, off), i;
	int ret = 0;

	memset(rv, 0, sizeof(*rv));
	if (off >= e->size)
		return 0;
	for (i = first; !ret && i < e->nchunks && e->chunks[i].foff < end; i++) {
		const struct chunk_ref *c = &e->chunks[i];
		uint64_t from = c->foff > pos ? c->foff : pos;
		uint64_t to = c->foff + c->rec.plen < end ? c->foff + c->rec.plen : end;
		if (c->foff > pos)
			ret = add_zeros(rv, c->foff - pos);
		if (!ret)
			ret = add_chunk(s, rv, c, from, to);
		pos = to;
	}
	if (!ret && pos < end)
		ret = add_zeros(rv, end - pos);
	if (ret < 0)
		fs_readv_release(rv);
	return ret;
}

void fs_read_done(struct store *s, const struct tree_entry *e, uint64_t off, size_t size)
{
	uint64_t end = off + size < e->size ? off + size : e->size;

	if (!store_framed(s, REC_DATA))
		return; /* whole chunks: rarely all inside one read; left to the LRU */
	for (size_t i = tree_chunk_at(e, off); i < e->nchunks && e->chunks[i].foff < end; i++) {
		const struct chunk_ref *c = &e->chunks[i];
		uint64_t cend = c->foff + c->rec.plen;
		uint64_t lo =
		    off > c->foff ? off - c->foff : 0; /* [lo, hi) of the chunk was read */
		uint64_t hi = (end < cend ? end : cend) - c->foff;
		uint32_t fa =
		    (uint32_t)((lo + FREC_FRAME - 1) / FREC_FRAME); /* first whole frame */
		/* frames wholly inside: up to the one ending at hi (or at the chunk's end) */
		uint32_t fz =
		    hi == c->rec.plen ? frec_nframes(c->rec.plen) : (uint32_t)(hi / FREC_FRAME);

		if (hi <= lo || fz <= fa)
			continue;
		store_forget_frames(s, &c->rec, fa, fz - 1);
	}
}

off_t fs_seek_data_hole(const struct tree_entry *e, uint64_t off, int whence)
{
	size_t i = tree_chunk_at(e, off);

	if (off >= e->size)
		return -ENXIO;
	if (whence == SEEK_DATA) {
		if (i >= e->nchunks)
			return -ENXIO;
		return (off_t)(e->chunks[i].foff > off ? e->chunks[i].foff : off);
	}
	if (i >= e->nchunks || e->chunks[i].foff > off)
		return (off_t)off; /* already in a hole */
	for (; i + 1 < e->nchunks; i++)
		if (e->chunks[i].foff + e->chunks[i].rec.plen < e->chunks[i + 1].foff)
			break;
	return (off_t)(e->chunks[i].foff + e->chunks[i].rec.plen);
}
