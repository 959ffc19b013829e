/* store_frames: reading framed data records (format 2, crypto/frec.h) a frame at a time.
 *
 * The memory cache holds frames (part = frame index) and verified headers (CACHE_HDR).
 * store_fetch_frames serves a reader: the frames it needs come from the cache, and the
 * missing ones arrive with one ranged read of the record (two when the header is neither
 * cached nor predictable), then are opened — on every core when there are several.
 * store_prefetch_frames (store_pf.c) serves the prefetcher: whole records.
 * Single flight per frame, as for whole records (cache.h): a frame is fetched by the one
 * thread that claimed it; a thread that finds it claimed waits for it afterwards, holding no
 * claim of its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "store_frames_int.h"

#define PAR_MIN 2 /* frames worth spreading over the cores */

void frames_log(const struct rec_ref *ref, int64_t frame, int err)
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

int frames_open_header(struct store *s, const struct rec_ref *ref, const uint8_t *bytes, size_t hl,
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
	if (elen > f->hl && frames_open_header(f->s, f->ref, e, f->hl, false, &hb) == 0 &&
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
	if (elen == f->ref->len && frames_open_header(f->s, f->ref, e, f->hl, false, &hb) == 0) {
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
			ret = frames_open_header(s, ref, hbuf.p ? hbuf.p : buf.p, f->hl, true, hbp);
		if (ret)
			frames_log(ref, -1, ret);
		rbuf_free(&hbuf);
	}
	if (!ret && !buf.p) {
		*from = hdr_of(*hbp)->f[a].off;
		*to = (uint64_t)hdr_of(*hbp)->f[b].off + hdr_of(*hbp)->f[b].clen;
		ret = read_range(s, ref, *from, *to - *from, &buf);
		if (ret)
			frames_log(ref, a, ret);
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
	return frames_integrity(ret);
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
			frames_log(ref, mine[k], res[k]);
			ret = frames_integrity(res[k]);
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
					frames_log(ref, i, res[0]);
				ret = ret ? ret : frames_integrity(res[0]);
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

void store_forget_frames(struct store *s, const struct rec_ref *ref, uint32_t first, uint32_t last)
{
	uint32_t n = frec_nframes(ref->plen);

	for (uint32_t i = first; i <= last && i < n; i++)
		cache_drop_part(s->cache, ref->id, i);
	if (first <= last && last + 1 >= n) /* its last frame: the header is done with too */
		cache_drop_part(s->cache, ref->id, CACHE_HDR);
}
