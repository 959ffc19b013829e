/* store_frames: reading framed data records (format 2, crypto/frec.h) a frame at a time.
 *
 * The memory cache holds frames (part = frame index) and verified headers (CACHE_HDR).
 * store_fetch_frames serves a reader: the frames it needs come from the cache, and the
 * missing ones arrive with one ranged read of the record (two when the header is neither
 * cached nor predictable), then are opened — on every core when there are several.
 * store_prefetch_frames serves the prefetcher: whole records, neighbours in a pack read
 * together, every frame opened on every core and offered to the cache.
 * Single flight per frame, as for whole records (cache.h): a frame is fetched by the one
 * thread that claimed it; a thread that finds it claimed waits for it afterwards, holding no
 * claim of its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frec.h"
#include "hex.h"
#include "iobuf.h"
#include "log.h"
#include "par.h"
#include "store_int.h"

#define ONE_READ_GAP (256u << 10) /* header and frames this close: one ranged read (network) */
#define PF_RUN_MAX   (16u << 20)  /* largest ranged read of the prefetcher */
#define PAR_MIN	     2		  /* frames worth spreading over the cores */

static void log_frame(const struct rec_ref *ref, int64_t frame, int err)
{
	char pk[64], id[2 * ID_LEN + 1];

	store_pack_key(ref->pack, pk);
	hex_encode(ref->id, ID_LEN, id);
	if (frame < 0)
		log_err("data record %.16s… in %s at %llu+%u: header %s", id, pk,
			(unsigned long long)ref->off, ref->len,
			err == -EBADMSG
			    ? "fails verification (tampered, substituted or a bad reply)"
			: err == -ENOENT ? "unreadable: the pack object is missing"
					 : strerror(-err));
	else
		log_err("data record %.16s… in %s at %llu+%u: frame %lld %s", id, pk,
			(unsigned long long)ref->off, ref->len, (long long)frame,
			err == -EBADMSG
			    ? "fails verification (tampered, substituted or a bad reply)"
			: err == -ENOENT ? "unreadable: the pack object is missing"
					 : strerror(-err));
}

/* A missing pack is as much an integrity failure as a tampered record. */
static int integrity(int err)
{
	return err == -ENOENT ? -EBADMSG : err;
}

/* Bytes read from the store: an iobuf (cap > 0), or malloc'd by a parallel read (cap 0). */
struct rbuf {
	uint8_t *p;
	size_t cap;
};

static void rbuf_free(struct rbuf *b)
{
	if (b->cap)
		iobuf_put(b->p, b->cap);
	else
		free(b->p);
	b->p = NULL;
	b->cap = 0;
}

/* [off, off+len) of the record (offsets relative to the record). */
static int read_range(struct store *s, const struct rec_ref *ref, uint64_t off, uint64_t len,
		      struct rbuf *b)
{
	char key[64];
	int ret;

	b->p = iobuf_get(len, &b->cap);
	if (!b->p)
		return -ENOMEM;
	store_pack_key(ref->pack, key);
	ret = remote_get_into(s->remote, key, ref->off + off, len, b->p);
	if (ret)
		rbuf_free(b);
	return ret;
}

/* The header [0, hl) and [from, to) of the record in parallel (one round trip). */
static int read_two(struct store *s, const struct rec_ref *ref, uint64_t hl, uint64_t from,
		    uint64_t to, struct rbuf *hbuf, struct rbuf *buf)
{
	struct remote_req q[2];
	char key[64];
	int ret;

	store_pack_key(ref->pack, key);
	q[0] = (struct remote_req){.key = key, .off = ref->off, .len = hl};
	q[1] = (struct remote_req){.key = key, .off = ref->off + from, .len = to - from};
	ret = remote_get_many(s->remote, q, 2);
	if (!ret)
		ret = q[0].result ? q[0].result : q[1].result;
	if (ret) {
		free(q[0].data);
		free(q[1].data);
		return ret;
	}
	*hbuf = (struct rbuf){q[0].data, 0};
	*buf = (struct rbuf){q[1].data, 0};
	return 0;
}

/* ---- headers ---- */

/* A header in the memory cache: which record instance it belongs to (the same content may
 * be stored twice, with other nonces and lengths), the verified table, and its raw bytes
 * (the disk cache stores them in front of each frame). */
struct hmeta {
	uint8_t pack[PACK_ID_LEN];
	uint64_t off;
	uint32_t rawlen, tablen;
};

static const struct hmeta *meta_of(const struct cbuf *b)
{
	return (const struct hmeta *)(const void *)b->data;
}

static const struct frec_hdr *hdr_of(const struct cbuf *b)
{
	return (const struct frec_hdr *)(const void *)(b->data + sizeof(struct hmeta));
}

static const uint8_t *hraw_of(const struct cbuf *b)
{
	return b->data + sizeof(struct hmeta) + meta_of(b)->tablen;
}

/* Verify the header in bytes (the record's first hl bytes) for ref; *out holds it. Offered
 * to the memory cache only when it came from ref's own place in its pack (offer). */
static int open_header(struct store *s, const struct rec_ref *ref, const uint8_t *bytes, size_t hl,
		       bool offer, struct cbuf **out)
{
	struct frec_hdr *h;
	struct hmeta m = {.off = ref->off, .rawlen = (uint32_t)hl};
	struct cbuf *b;
	int ret = frec_open_header(s->keys, ref->id, ref->plen, ref->len, bytes, hl, &h);

	*out = NULL;
	if (ret)
		return ret;
	memcpy(m.pack, ref->pack, PACK_ID_LEN);
	m.tablen = (uint32_t)(sizeof(*h) + (size_t)h->n * sizeof(h->f[0]));
	m.tablen = (m.tablen + 7) & ~7u; /* keep the raw bytes' offset aligned */
	b = cbuf_new(sizeof(m) + m.tablen + hl);
	if (b) {
		memcpy(b->data, &m, sizeof(m));
		memcpy(b->data + sizeof(m), h, sizeof(*h) + (size_t)h->n * sizeof(h->f[0]));
		memcpy(b->data + sizeof(m) + m.tablen, bytes, hl);
		if (offer)
			cache_offer_part(s->cache, ref->id, CACHE_HDR, b);
	}
	free(h);
	*out = b;
	return b ? 0 : -ENOMEM;
}

/* The cached header of ref's record instance, or NULL. */
static struct cbuf *cached_header(struct store *s, const struct rec_ref *ref)
{
	struct cbuf *b;

	if (cache_peek_part(s->cache, ref->id, CACHE_HDR, &b) < 0)
		return NULL;
	if (meta_of(b)->off == ref->off && !memcmp(meta_of(b)->pack, ref->pack, PACK_ID_LEN))
		return b;
	cbuf_unref(b); /* the same content stored elsewhere: its offsets are not ours */
	return NULL;
}

/* ---- opening frames ---- */

#define PENDING 1 /* a frame's result before anything was tried */

/* What one reader fetches: the claimed frames idx[0..n) (ascending) of ref. */
struct fetch {
	struct store *s;
	const struct rec_ref *ref;
	size_t hl; /* header length */
	const uint32_t *idx;
	size_t n;
	struct cbuf **out; /* per k */
	int *res;	   /* per k: 0, -errno or PENDING */
	/* for one batch of opens */
	const struct frec_hdr *h;
	const uint8_t *buf; /* record bytes [base, …) */
	uint64_t base;
	size_t *todo; /* positions k to open */
};

static void open_one(void *ctx, size_t t)
{
	struct fetch *f = ctx;
	size_t k = f->todo[t];
	uint32_t i = f->idx[k];
	struct cbuf *b = cbuf_new(frec_frame_len(f->h->plen, i));

	f->out[k] = NULL;
	f->res[k] =
	    b ? frec_open_frame(f->s->keys, f->ref->id, f->h, i,
				f->buf + (f->h->f[i].off - f->base), f->h->f[i].clen, b->data)
	      : -ENOMEM;
	if (f->res[k]) {
		cbuf_unref(b);
		return;
	}
	f->out[k] = b;
}

/* Open the frames todo[0..nt) from f->buf (record bytes from f->base on), on all cores when
 * there are several. */
static void open_frames(struct fetch *f, size_t nt)
{
	if (nt >= PAR_MIN)
		par_cpu_for(nt, open_one, f);
	else
		for (size_t t = 0; t < nt; t++)
			open_one(f, t);
}

/* ---- from the disk cache ---- */

/* A frame's own entry: header || frame. */
static void disk_frame(struct fetch *f, size_t k)
{
	struct store_fetch_hook *hk = f->s->hook;
	uint32_t i = f->idx[k];
	struct cbuf *hb = NULL;
	uint8_t *e = NULL;
	size_t elen;

	if (hk->get(hk->ctx, f->ref, i, &e, &elen) < 0)
		return;
	if (elen > f->hl && open_header(f->s, f->ref, e, f->hl, false, &hb) == 0 &&
	    elen == f->hl + hdr_of(hb)->f[i].clen) {
		f->h = hdr_of(hb);
		f->buf = e;
		f->base = hdr_of(hb)->f[i].off - f->hl;
		f->todo[0] = k;
		open_frames(f, 1);
	}
	if (f->res[k]) {
		f->res[k] = PENDING; /* torn or tampered: dropped, fetched from the store */
		hk->drop(hk->ctx, f->ref, i);
	}
	if (hb)
		cbuf_unref(hb);
	free(e);
}

/* Pending frames from the disk cache: their own entries, then the whole record's. */
static void from_disk(struct fetch *f)
{
	struct store_fetch_hook *hk = f->s->hook;
	struct cbuf *hb = NULL;
	uint8_t *e = NULL;
	size_t elen, nt = 0;

	for (size_t k = 0; k < f->n; k++)
		disk_frame(f, k);
	for (size_t k = 0; k < f->n; k++)
		if (f->res[k] == PENDING)
			f->todo[nt++] = k;
	if (!nt || hk->get(hk->ctx, f->ref, REC_WHOLE, &e, &elen) < 0)
		return;
	if (elen == f->ref->len && open_header(f->s, f->ref, e, f->hl, false, &hb) == 0) {
		f->h = hdr_of(hb);
		f->buf = e;
		f->base = 0;
		open_frames(f, nt);
	}
	bool bad = false;
	for (size_t t = 0; t < nt; t++)
		if (f->res[f->todo[t]]) {
			f->res[f->todo[t]] = PENDING;
			bad = true;
		}
	if (bad) /* torn or tampered: the store's copy replaces it */
		hk->drop(hk->ctx, f->ref, REC_WHOLE);
	if (hb)
		cbuf_unref(hb);
	free(e);
}

/* ---- from the store ---- */

/* The disk cache gets what came from the store: the whole record if it was read, else each
 * opened frame behind a copy of the header. */
static void to_disk(struct fetch *f, const struct cbuf *hb, size_t nt, uint64_t to)
{
	struct store_fetch_hook *hk = f->s->hook;
	const struct frec_hdr *h = hdr_of(hb);

	if (f->base == 0 && to == f->ref->len) {
		hk->put(hk->ctx, f->ref, REC_WHOLE, f->buf, f->ref->len);
		return;
	}
	for (size_t t = 0; t < nt; t++) {
		size_t k = f->todo[t];
		uint32_t i = f->idx[k], clen = h->f[i].clen;
		uint8_t *e;

		if (f->res[k] || !(e = malloc(f->hl + clen)))
			continue;
		memcpy(e, hraw_of(hb), f->hl);
		memcpy(e + f->hl, f->buf + (h->f[i].off - f->base), clen);
		hk->put(hk->ctx, f->ref, i, e, f->hl + clen);
		free(e);
	}
}

/* Read the header (unless hb holds it) and the frames a … b; *hbp gets the header. */
static int read_net(struct fetch *f, uint32_t a, uint32_t b, struct cbuf **hbp, struct rbuf *bufp,
		    uint64_t *from, uint64_t *to)
{
	struct store *s = f->s;
	const struct rec_ref *ref = f->ref;
	uint64_t gap = remote_is_local(s->remote) ? 0 : ONE_READ_GAP;
	struct rbuf hbuf = {0}, buf = {0};
	int ret = 0;

	*from = *to = 0;
	/* With a disk cache, a read of most of a record reads all of it: one entry on disk
	 * instead of an entry per frame */
	if (s->hook && 2 * (uint64_t)(b - a + 1) >= frec_nframes(ref->plen)) {
		a = 0;
		b = frec_nframes(ref->plen) - 1;
		if (*hbp) {
			cbuf_unref(*hbp); /* the whole record brings its header */
			*hbp = NULL;
		}
	}
	if (!*hbp) {
		/* Frames end at the latest where they would if all were raw, and exactly there
		 * when the record has the raw length: then the header and the frames are read at
		 * once (one round trip; a local store needs no round trips, so it reads exactly
		 * what is needed), else the header comes first. */
		bool raw = ref->len == frec_raw_len(ref->plen);
		uint64_t rstart = f->hl + (uint64_t)a * (FREC_FRAME + FREC_TAG_LEN);
		uint64_t rend = f->hl + (uint64_t)b * (FREC_FRAME + FREC_TAG_LEN) +
				frec_frame_len(ref->plen, b) + FREC_TAG_LEN;

		bool whole = a == 0 && b + 1 == frec_nframes(ref->plen);

		if (rend > ref->len || whole)
			rend = ref->len;
		if ((raw && rstart - f->hl <= gap) || (!raw && rend <= gap) || whole) {
			*to = rend;
			ret = read_range(s, ref, 0, rend, &buf);
		} else if (raw && !remote_is_local(s->remote)) {
			ret = read_two(s, ref, f->hl, rstart, rend, &hbuf, &buf);
			*from = rstart;
			*to = rend;
		} else {
			ret = read_range(s, ref, 0, f->hl, &hbuf);
		}
		if (!ret)
			ret = open_header(s, ref, hbuf.p ? hbuf.p : buf.p, f->hl, true, hbp);
		if (ret)
			log_frame(ref, -1, ret);
		rbuf_free(&hbuf);
	}
	if (!ret && !buf.p) {
		*from = hdr_of(*hbp)->f[a].off;
		*to = (uint64_t)hdr_of(*hbp)->f[b].off + hdr_of(*hbp)->f[b].clen;
		ret = read_range(s, ref, *from, *to - *from, &buf);
		if (ret)
			log_frame(ref, a, ret);
	}
	/* what was read must hold the frames the verified header places (a predicted range
	 * always does: a record of the raw length has only raw frames) */
	if (!ret && (hdr_of(*hbp)->f[a].off < *from ||
		     (uint64_t)hdr_of(*hbp)->f[b].off + hdr_of(*hbp)->f[b].clen > *to))
		ret = -EBADMSG;
	if (ret)
		rbuf_free(&buf);
	else
		*bufp = buf;
	return ret;
}

/* Pending frames from the store: one ranged read from the first to the last (plus the
 * header when it is not cached). */
static int from_net(struct fetch *f)
{
	struct cbuf *hb = cached_header(f->s, f->ref);
	struct rbuf buf = {0};
	uint64_t from, to;
	size_t nt = 0;
	int ret;

	for (size_t k = 0; k < f->n; k++)
		if (f->res[k] == PENDING)
			f->todo[nt++] = k;
	ret = read_net(f, f->idx[f->todo[0]], f->idx[f->todo[nt - 1]], &hb, &buf, &from, &to);
	if (!ret) {
		f->h = hdr_of(hb);
		f->buf = buf.p;
		f->base = from;
		open_frames(f, nt);
		if (f->s->hook)
			to_disk(f, hb, nt, to);
	}
	rbuf_free(&buf);
	if (hb)
		cbuf_unref(hb);
	return integrity(ret);
}

/* from_net, and again while bytes fail verification and the remote knows another source for
 * them (several embassies: remote_reject names the one that served them, which is then
 * skipped for this pack). Frames that opened are kept; the failed ones are read again. */
static int from_net_checked(struct fetch *f)
{
	char key[64];

	for (;;) {
		int ret = from_net(f);
		bool bad = ret == -EBADMSG;

		for (size_t k = 0; k < f->n; k++)
			bad |= f->res[k] == -EBADMSG;
		store_pack_key(f->ref->pack, key);
		if (!bad || !remote_reject(f->s->remote, key))
			return ret;
		for (size_t k = 0; k < f->n; k++)
			if (f->res[k] != 0)
				f->res[k] = PENDING;
	}
}

/* Fetch and open the claimed frames idx[0..n) (ascending) of ref; fills out[k] / res[k]. */
static int fetch_claimed(struct store *s, const struct rec_ref *ref, const uint32_t *idx, size_t n,
			 struct cbuf **out, int *res)
{
	size_t todo[FREC_MAX_FRAMES];
	struct fetch f = {.s = s,
			  .ref = ref,
			  .hl = frec_header_len(frec_nframes(ref->plen)),
			  .idx = idx,
			  .n = n,
			  .out = out,
			  .res = res,
			  .todo = todo};

	for (size_t k = 0; k < n; k++) {
		res[k] = PENDING;
		out[k] = NULL;
	}
	if (n > FREC_MAX_FRAMES)
		return -EINVAL;
	if (s->hook)
		from_disk(&f);
	for (size_t k = 0; k < n; k++)
		if (res[k] == PENDING)
			return from_net_checked(&f);
	return 0;
}

int store_fetch_frames(struct store *s, const struct rec_ref *ref, uint32_t first, uint32_t last,
		       struct cbuf **out)
{
	size_t n = last - first + 1, nmine = 0;
	uint32_t *mine = malloc(n * sizeof(*mine));
	struct cbuf **got = malloc(n * sizeof(*got));
	int *res = malloc(n * sizeof(*res)), *st = malloc(n * sizeof(*st));
	int ret = -ENOMEM, fret;
	bool fetched;

	if (!mine || !got || !res || !st || last >= frec_nframes(ref->plen) || first > last) {
		ret = mine && got && res && st ? -EINVAL : -ENOMEM;
		goto out;
	}
	ret = 0;
	for (uint32_t i = first; i <= last; i++) {
		out[i - first] = NULL;
		st[i - first] = cache_try_claim_part(s->cache, ref->id, i, &out[i - first]);
		if (st[i - first] == -EAGAIN)
			mine[nmine++] = i;
		else if (st[i - first] != 0 && st[i - first] != -EBUSY)
			ret = st[i - first]; /* out of memory, or a fetch that failed a moment ago:
					      * release what we claimed below */
	}
	fetched = !ret && nmine;
	if (fetched)
		ret = fetch_claimed(s, ref, mine, nmine, got, res);
	fret = ret;			     /* the fetch's own outcome, before any frame's error */
	for (size_t k = 0; k < nmine; k++) { /* release every claim, whatever happened */
		/* a frame opened (from the disk cache) before the store failed is good */
		if (fetched && res[k] == 0) {
			cache_fill_part(s->cache, ref->id, mine[k], got[k]);
			out[mine[k] - first] = got[k];
			continue;
		}
		/* a failure to reach the store is remembered a moment (cache.h), for the
		 * readers queued behind this one; an integrity failure is not */
		cache_abandon_err_part(s->cache, ref->id, mine[k],
				       store_err_transport(fret) ? fret : 0);
		if (!ret) {
			log_frame(ref, mine[k], res[k]);
			ret = integrity(res[k]);
		}
	}
	/* frames other threads were fetching: wait for them now that we hold no claim */
	for (uint32_t i = first; !ret && i <= last; i++) {
		if (st[i - first] != -EBUSY)
			continue;
		ret = cache_claim_part(s->cache, ref->id, i, &out[i - first]);
		if (ret == -EAGAIN) { /* that fetch failed: try once ourselves */
			uint32_t one = i;
			ret = fetch_claimed(s, ref, &one, 1, got, res);
			if (!ret && res[0] == 0) {
				cache_fill_part(s->cache, ref->id, i, got[0]);
				out[i - first] = got[0];
			} else {
				cache_abandon_err_part(s->cache, ref->id, i,
						       store_err_transport(ret) ? ret : 0);
				if (!ret)
					log_frame(ref, i, res[0]);
				ret = ret ? ret : integrity(res[0]);
			}
		}
	}
	if (ret)
		for (size_t k = 0; k < n; k++)
			if (out[k]) {
				cbuf_unref(out[k]);
				out[k] = NULL;
			}
out:
	free(mine);
	free(got);
	free(res);
	free(st);
	return ret;
}

/* ---- the prefetcher's whole records ---- */

struct pf_rec {
	const struct rec_ref *ref;
	uint32_t *idx; /* claimed frames */
	size_t nidx;
	uint8_t *disk;	      /* the record from the disk cache (bytes points here), or NULL */
	const uint8_t *bytes; /* the whole record, inside a read below */
	struct cbuf *hb;      /* verified header */
	size_t first;	      /* its frames' place in the flat list */
};

struct pf_batch {
	struct store *s;
	struct pf_rec *r;
	size_t nr;
	struct pf_rec **frame_rec; /* flat list of (record, frame) */
	uint32_t *frame_idx;
	struct cbuf **out;
	int *res;
};

static int pf_cmp(const void *a, const void *b)
{
	const struct rec_ref *x = ((const struct pf_rec *)a)->ref;
	const struct rec_ref *y = ((const struct pf_rec *)b)->ref;
	int c = memcmp(x->pack, y->pack, PACK_ID_LEN);

	return c ? c : x->off < y->off ? -1 : x->off > y->off;
}

static void pf_open_frame(void *ctx, size_t k)
{
	struct pf_batch *b = ctx;
	struct pf_rec *r = b->frame_rec[k];
	const struct frec_hdr *h = hdr_of(r->hb);
	uint32_t i = b->frame_idx[k];
	struct cbuf *f = cbuf_new(frec_frame_len(h->plen, i));

	b->out[k] = f;
	b->res[k] = f ? frec_open_frame(b->s->keys, r->ref->id, h, i, r->bytes + h->f[i].off,
					h->f[i].clen, f->data)
		      : -ENOMEM;
}

/* One request into an iobuf. */
static int read_into(struct store *s, const struct remote_req *q, struct rbuf *b)
{
	int ret;

	b->p = iobuf_get(q->len, &b->cap);
	if (!b->p)
		return -ENOMEM;
	ret = remote_get_into(s->remote, q->key, q->off, q->len, b->p);
	if (ret)
		rbuf_free(b);
	return ret;
}

/* Read the records (sorted by pack and offset), neighbours together; bytes of each set. */
static int pf_read(struct store *s, struct pf_rec *r, size_t n, struct remote_req **reqs_out,
		   size_t *nreq_out, char (**keys_out)[64], struct rbuf **bufs_out)
{
	struct remote_req *q = calloc(n, sizeof(*q));
	char(*keys)[64] = calloc(n, 64);
	size_t nreq = 0, *run = calloc(n, sizeof(size_t));
	const struct rec_ref *p = NULL; /* the last record put in a request */
	bool local = remote_is_local(s->remote);
	int ret = -ENOMEM;

	if (!q || !keys || !run)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct rec_ref *x = r[i].ref;
		struct remote_req *last = nreq ? &q[nreq - 1] : NULL;

		run[i] = SIZE_MAX;
		if (r[i].disk)
			continue;
		/* a local store has no round trips to save: a read per record keeps the buffers
		 * to a few sizes the iobuf pool reuses (runs of any length were fresh mappings) */
		if (last && !local && !memcmp(p->pack, x->pack, PACK_ID_LEN) &&
		    x->off >= last->off && x->off <= last->off + last->len + ONE_READ_GAP &&
		    x->off + x->len - last->off <= PF_RUN_MAX) {
			if (x->off + x->len > last->off + last->len)
				last->len = x->off + x->len - last->off;
		} else {
			store_pack_key(x->pack, keys[nreq]);
			q[nreq] =
			    (struct remote_req){.key = keys[nreq], .off = x->off, .len = x->len};
			nreq++;
		}
		run[i] = nreq - 1;
		p = x;
	}
	*bufs_out = calloc(nreq ? nreq : 1, sizeof(struct rbuf));
	if (!*bufs_out) {
		ret = -ENOMEM;
		goto out;
	}
	if (local) { /* no round trips to save: read into reused buffers */
		ret = 0;
		for (size_t i = 0; i < nreq; i++) {
			q[i].result = read_into(s, &q[i], &(*bufs_out)[i]);
			q[i].data = (*bufs_out)[i].p;
		}
	} else {
		ret = nreq ? remote_get_many(s->remote, q, nreq) : 0;
		for (size_t i = 0; i < nreq; i++) /* owned by bufs from here on */
			(*bufs_out)[i] = (struct rbuf){q[i].data, 0};
	}
	for (size_t i = 0; !ret && i < n; i++) {
		struct remote_req *rq = run[i] == SIZE_MAX ? NULL : &q[run[i]];
		if (!rq)
			continue;
		r[i].bytes = rq->result ? NULL : rq->data + (r[i].ref->off - rq->off);
		if (r[i].bytes && s->hook) /* the disk cache keeps what came from the store */
			s->hook->put(s->hook->ctx, r[i].ref, REC_WHOLE, r[i].bytes, r[i].ref->len);
	}
out:
	free(run);
	*reqs_out = q;
	*nreq_out = nreq;
	*keys_out = keys;
	return ret;
}

/* Records the disk cache holds whole are opened from there. */
static void pf_from_disk(struct pf_batch *b)
{
	struct store_fetch_hook *hk = b->s->hook;
	size_t len;

	for (size_t i = 0; hk && i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		if (hk->get(hk->ctx, r->ref, REC_WHOLE, &r->disk, &len) < 0)
			continue;
		if (len == r->ref->len) {
			r->bytes = r->disk;
			continue;
		}
		hk->drop(hk->ctx, r->ref, REC_WHOLE);
		free(r->disk);
		r->disk = NULL;
	}
}

/* A record from the disk cache that failed is dropped there (its reader refetches it). */
static void pf_drop_bad(struct pf_batch *b)
{
	struct store_fetch_hook *hk = b->s->hook;

	for (size_t i = 0; hk && i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		bool bad = !r->hb;
		for (size_t m = 0; !bad && m < r->nidx; m++)
			bad = b->res[r->first + m] != 0;
		if (r->disk && bad)
			hk->drop(hk->ctx, r->ref, REC_WHOLE);
	}
}

/* Open the headers, then every claimed frame of every record on all cores. */
static void pf_open(struct pf_batch *b)
{
	size_t nf = 0;

	for (size_t i = 0; i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		r->first = nf;
		if (!r->bytes ||
		    open_header(b->s, r->ref, r->bytes, frec_header_len(frec_nframes(r->ref->plen)),
				!r->disk, &r->hb) != 0) /* a disk copy may be another instance's */
			continue;
		for (size_t m = 0; m < r->nidx; m++) {
			b->frame_rec[nf] = r;
			b->frame_idx[nf++] = r->idx[m];
		}
	}
	par_cpu_for(nf, pf_open_frame, b);
	/* publish what opened, forget the rest (its reader will fetch it and see the error) */
	for (size_t i = 0; i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		for (size_t m = 0; m < r->nidx; m++) {
			size_t k = r->first + m;
			if (r->hb && b->res[k] == 0)
				cache_fill_part(b->s->cache, r->ref->id, r->idx[m], b->out[k]);
			else
				cache_abandon_part(b->s->cache, r->ref->id, r->idx[m]);
			if (r->hb && b->out[k])
				cbuf_unref(b->out[k]);
		}
	}
}

/* Release the claims of records whose frames will not be opened. */
static void pf_abandon(struct pf_batch *b)
{
	for (size_t i = 0; i < b->nr; i++)
		for (size_t m = 0; m < b->r[i].nidx; m++)
			cache_abandon_part(b->s->cache, b->r[i].ref->id, b->r[i].idx[m]);
}

/* Claim the frames of refs not in the cache; records with none are left out. */
static int pf_claim(struct pf_batch *b, const struct rec_ref *refs, size_t n, size_t *nframes)
{
	*nframes = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t nf = frec_nframes(refs[i].plen);
		struct pf_rec *r = &b->r[b->nr];

		r->ref = &refs[i];
		r->idx = malloc((nf ? nf : 1) * sizeof(uint32_t));
		if (!r->idx)
			return -ENOMEM; /* what is claimed so far is released by the caller */
		for (uint32_t f = 0; f < nf; f++) {
			struct cbuf *hit = NULL;
			int c = cache_try_claim_part(b->s->cache, refs[i].id, f, &hit);
			if (c == -EAGAIN)
				r->idx[r->nidx++] = f;
			else if (c == 0)
				cbuf_unref(hit);
		}
		*nframes += r->nidx;
		if (r->nidx)
			b->nr++;
		else
			free(r->idx);
	}
	return 0;
}

int store_prefetch_frames(struct store *s, const struct rec_ref *refs, size_t n)
{
	struct pf_batch b = {.s = s};
	struct remote_req *q = NULL;
	char(*keys)[64] = NULL;
	struct rbuf *bufs = NULL;
	size_t nreq = 0, nf = 0;
	int ret;

	b.r = calloc(n ? n : 1, sizeof(*b.r));
	if (!b.r)
		return -ENOMEM;
	ret = pf_claim(&b, refs, n, &nf);
	if (!ret) {
		b.frame_rec = calloc(nf ? nf : 1, sizeof(*b.frame_rec));
		b.frame_idx = calloc(nf ? nf : 1, sizeof(*b.frame_idx));
		b.out = calloc(nf ? nf : 1, sizeof(*b.out));
		b.res = calloc(nf ? nf : 1, sizeof(*b.res));
		ret = b.frame_rec && b.frame_idx && b.out && b.res ? 0 : -ENOMEM;
	}
	if (ret) {
		pf_abandon(&b);
		goto out;
	}
	qsort(b.r, b.nr, sizeof(*b.r), pf_cmp);
	pf_from_disk(&b);
	if (b.nr)
		ret = pf_read(s, b.r, b.nr, &q, &nreq, &keys, &bufs);
	if (ret)
		for (size_t i = 0; i < b.nr; i++)
			b.r[i].bytes = NULL; /* nothing to open: every claim is abandoned */
	pf_open(&b);
	pf_drop_bad(&b);
out:
	for (size_t i = 0; i < b.nr; i++) {
		if (b.r[i].hb)
			cbuf_unref(b.r[i].hb);
		free(b.r[i].idx);
		free(b.r[i].disk);
	}
	for (size_t i = 0; bufs && i < nreq; i++)
		rbuf_free(&bufs[i]);
	if (!bufs)
		for (size_t i = 0; i < nreq; i++)
			free(q[i].data);
	free(bufs);
	free(q);
	free(keys);
	free(b.r);
	free(b.frame_rec);
	free(b.frame_idx);
	free(b.out);
	free(b.res);
	return ret;
}
