/* store_pf: the prefetcher's side of framed records (store_prefetch_frames, store.h): whole
 * records, neighbours in a pack read together, every claimed frame opened on every core and
 * offered to the memory cache (single flight per frame as in store_frames.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "par.h"
#include "store_frames_int.h"

#define PF_RUN_MAX (16u << 20) /* largest ranged read of the prefetcher */
/* Frames read and opened together from a local store: small enough that the ciphertext is
 * still in the core's L2 cache when it is decrypted and the plaintext when it is hashed. */
#define PF_GROUP 2

struct pf_rec {
	const struct rec_ref *ref;
	uint32_t *idx; /* claimed frames */
	size_t nidx;
	uint8_t *disk;	      /* the record from the disk cache (bytes points here), or NULL */
	const uint8_t *bytes; /* the whole record, inside a read below */
	struct cbuf *hb;      /* verified header */
	size_t first;	      /* its frames' place in the flat list */
};

/* Claimed frames r->idx[m0 .. m1) of one record, next to each other in it (local store). */
struct pf_group {
	struct pf_rec *r;
	size_t m0, m1;
};

struct pf_batch {
	struct store *s;
	struct pf_rec *r;
	size_t nr;
	struct pf_group *g;	   /* local store: what each task reads and opens */
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
		    frames_open_header(b->s, r->ref, r->bytes,
				       frec_header_len(frec_nframes(r->ref->plen)), !r->disk,
				       &r->hb) != 0) /* a disk copy may be another instance's */
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

/* ---- a local store: each few frames read, then opened while their bytes are in cache ----
 * Reading a whole job (up to PF_JOB_MAX) first and opening it after decrypted and hashed it
 * out of main memory: perf showed ChaCha20 and Poly1305 at 3.5 times their hot rate. Here each
 * task of the CPU pool reads PF_GROUP frames into a reused buffer, opens them at once and
 * hands them to the memory cache, so readers waiting for a frame get it as soon as it is
 * open, not when the whole job is. */

/* Read and verify every record's header (a small read each); a record whose header fails
 * releases its claims (its reader fetches it again and reports why). */
static void pf_local_headers(struct pf_batch *b)
{
	char key[64];

	for (size_t i = 0; i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		size_t hl = frec_header_len(frec_nframes(r->ref->plen));
		uint8_t *h = hl <= r->ref->len ? malloc(hl) : NULL;
		int ret = h ? 0 : -EBADMSG;

		store_pack_key(r->ref->pack, key);
		if (!ret)
			ret = remote_get_into(b->s->remote, key, r->ref->off, hl, h);
		if (!ret)
			ret = frames_open_header(b->s, r->ref, h, hl, true, &r->hb);
		free(h);
		if (ret)
			for (size_t m = 0; m < r->nidx; m++)
				cache_abandon_part(b->s->cache, r->ref->id, r->idx[m]);
	}
}

/* Cut the claimed frames of records with a header into groups of up to PF_GROUP
 * consecutive frames; returns their number. */
static size_t pf_local_groups(struct pf_batch *b)
{
	size_t ng = 0;

	for (size_t i = 0; i < b->nr; i++) {
		struct pf_rec *r = &b->r[i];
		for (size_t m = 0; r->hb && m < r->nidx;) {
			size_t e = m + 1;
			while (e < r->nidx && e - m < PF_GROUP && r->idx[e] == r->idx[e - 1] + 1)
				e++;
			b->g[ng++] = (struct pf_group){r, m, e};
			m = e;
		}
	}
	return ng;
}

/* One task: read a group's frames, open them and publish each (or release its claim). */
static void pf_local_group(void *ctx, size_t k)
{
	struct pf_batch *b = ctx;
	const struct pf_group *g = &b->g[k];
	const struct rec_ref *ref = g->r->ref;
	const struct frec_hdr *h = hdr_of(g->r->hb);
	uint32_t a = g->r->idx[g->m0], z = g->r->idx[g->m1 - 1];
	uint64_t from = h->f[a].off, to = (uint64_t)h->f[z].off + h->f[z].clen;
	struct rbuf buf = {0};
	char key[64];
	int ret = -ENOMEM;

	buf.p = iobuf_get(to - from, &buf.cap);
	store_pack_key(ref->pack, key);
	if (buf.p)
		ret = remote_get_into(b->s->remote, key, ref->off + from, to - from, buf.p);
	for (size_t m = g->m0; m < g->m1; m++) {
		uint32_t i = g->r->idx[m];
		struct cbuf *f = ret ? NULL : cbuf_new(frec_frame_len(h->plen, i));
		int r = f ? frec_open_frame(b->s->keys, ref->id, h, i, buf.p + (h->f[i].off - from),
					    h->f[i].clen, f->data)
			  : -ENOMEM;

		if (r == 0)
			cache_fill_part(b->s->cache, ref->id, i, f);
		else
			cache_abandon_part(b->s->cache, ref->id, i);
		if (f)
			cbuf_unref(f);
	}
	if (buf.p)
		rbuf_free(&buf);
}

static void pf_local(struct pf_batch *b)
{
	pf_local_headers(b);
	par_cpu_for(pf_local_groups(b), pf_local_group, b);
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
		b.g = calloc(nf ? nf : 1, sizeof(*b.g));
		ret = b.frame_rec && b.frame_idx && b.out && b.res && b.g ? 0 : -ENOMEM;
	}
	if (ret) {
		pf_abandon(&b);
		goto out;
	}
	qsort(b.r, b.nr, sizeof(*b.r), pf_cmp);
	if (remote_is_local(s->remote) && !s->hook) { /* no disk cache to fill either */
		pf_local(&b);
		goto out;
	}
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
	free(b.g);
	return ret;
}
