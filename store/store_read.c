/* store_read: fetching records through the caches, trees, path lookup and file reads. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "store_int.h"

#define COALESCE_GAP (256u << 10) /* read across a gap this small rather than pay a round trip */
#define COALESCE_MAX (16u << 20)  /* largest single ranged read */

static const char *type_name(enum record_type t)
{
	return t == REC_DATA	? "data"
	       : t == REC_TREE	? "tree"
	       : t == REC_INDEX ? "index"
				: "manifest";
}

static void log_bad(const struct rec_ref *ref, enum record_type type, int err)
{
	char pk[64], id[2 * ID_LEN + 1];
	store_pack_key(ref->pack, pk);
	hex_encode(ref->id, ID_LEN, id);
	log_err("%s record %.16s… in %s at %llu+%u: %s", type_name(type), id, pk,
		(unsigned long long)ref->off, ref->len,
		err == -EBADMSG	    ? "fails verification (tampered, substituted or a bad reply)"
		: err == -ENOENT    ? "pack object is missing"
		: err == -ETIMEDOUT ? "the store did not deliver it within the budget (--timeout)"
				    : strerror(-err));
}

/* Failures to reach the store are remembered for a moment by the cache (cache.h), so the
 * readers queued behind a failed fetch fail with it instead of each waiting a budget in turn;
 * integrity failures are not (a refetch may get good bytes). */
bool store_err_transport(int err)
{
	return err == -ETIMEDOUT || err == -ECONNREFUSED || err == -EIO || err == -ECONNRESET ||
	       err == -EHOSTUNREACH || err == -ENETUNREACH;
}

static void release_failed(struct store *s, const uint8_t id[ID_LEN], int err)
{
	cache_abandon_err(s->cache, id, store_err_transport(err) ? err : 0);
}

static int open_rec(struct store *s, enum record_type type, const struct rec_ref *ref,
		    const uint8_t *rec, size_t len, struct cbuf **out)
{
	return store_record_open(s, type, ref, rec, len, out);
}

/* Cache miss: disk cache, then the remote. */
static int fetch_uncached(struct store *s, enum record_type type, const struct rec_ref *ref,
			  struct cbuf **out)
{
	uint8_t *rec = NULL;
	size_t n;
	char key[64];
	int ret;

	if (s->hook && s->hook->get(s->hook->ctx, ref, REC_WHOLE, &rec, &n) == 0) {
		ret = open_rec(s, type, ref, rec, n, out);
		free(rec);
		if (!ret)
			return 0;
		s->hook->drop(s->hook->ctx, ref,
			      REC_WHOLE); /* torn or tampered cache entry: refetch */
	}
	store_pack_key(ref->pack, key);
	for (;;) {
		ret = remote_get(s->remote, key, ref->off, ref->len, ref->len, &rec, &n);
		if (!ret)
			ret = open_rec(s, type, ref, rec, n, out);
		/* several embassies: bytes that fail come from one of them; ask another */
		if (ret != -EBADMSG || !remote_reject(s->remote, key))
			break;
		free(rec);
		rec = NULL;
	}
	if (!ret && s->hook)
		s->hook->put(s->hook->ctx, ref, REC_WHOLE, rec, n);
	free(rec);
	return ret;
}

int store_fetch_cbuf(struct store *s, enum record_type type, const struct rec_ref *ref,
		     struct cbuf **out)
{
	int ret = cache_claim(s->cache, ref->id, out);
	if (ret < 0 && ret != -EAGAIN && ret != -ENOMEM) {
		/* another thread's fetch outlived our budget, or failed a moment ago */
		log_bad(ref, type, ret);
		return ret;
	}
	if (ret == 0 && (*out)->len != ref->plen) {
		/* same record named with another length: the tree lies (only a sealer can) */
		cbuf_unref(*out);
		log_bad(ref, type, -EBADMSG);
		return -EBADMSG;
	}
	if (ret != -EAGAIN)
		return ret;
	ret = fetch_uncached(s, type, ref, out);
	if (ret) {
		release_failed(s, ref->id, ret);
		log_bad(ref, type, ret);
		/* a missing object is as much an integrity failure as a tampered one */
		return ret == -ENOENT ? -EBADMSG : ret;
	}
	cache_fill(s->cache, ref->id, *out);
	return 0;
}

int store_fetch(struct store *s, enum record_type type, const struct rec_ref *ref, uint8_t **plain,
		size_t *len)
{
	struct cbuf *b;
	int ret = store_fetch_cbuf(s, type, ref, &b);
	if (ret)
		return ret;
	*plain = malloc(b->len ? b->len : 1);
	if (*plain) {
		memcpy(*plain, b->data, b->len);
		*len = b->len;
	}
	cbuf_unref(b);
	return *plain ? 0 : -ENOMEM;
}

int store_load_tree(struct store *s, const struct rec_ref *at, struct tree **out)
{
	struct cbuf *b;
	struct rec_ref r = *at, *ref = &r;
	int ret = store_reloc_ref(s, ref); /* repacked by prune: FORMAT 16.3.1 */
	if (!ret)
		ret = store_fetch_cbuf(s, REC_TREE, ref, &b);
	if (ret)
		return ret;
	ret = tree_decode(b->data, b->len, store_format(s), out);
	if (!ret && (ret = store_reloc_tree(s, *out)) != 0) {
		tree_free(*out);
		*out = NULL;
	}
	if (ret == -EBADMSG) {
		char id[2 * ID_LEN + 1];
		hex_encode(ref->id, ID_LEN, id);
		log_err("tree record %.16s… is authentic but malformed (hostile names, sizes or "
			"chunk lists): refused",
			id);
	}
	cbuf_unref(b);
	return ret;
}

/* ---- batched fetch: coalesce neighbours, read in parallel, open on all cores ---- */

struct batch {
	struct store *s;
	enum record_type type;
	const struct rec_ref *refs;
	size_t *order; /* indices of misses, sorted by (pack, off) */
	size_t nmiss;
	struct remote_req *reqs;
	size_t *run_of; /* for each position in order: its request */
	struct cbuf **bufs;
	int *results;
	bool check; /* store_check_many: what was read stays out of the disk cache */
};

static int ref_cmp(const struct rec_ref *a, const struct rec_ref *b)
{
	int c = memcmp(a->pack, b->pack, PACK_ID_LEN);
	if (c)
		return c;
	return a->off < b->off ? -1 : a->off > b->off;
}

static const struct rec_ref *sort_refs; /* qsort has no context; guarded by sort_lock */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int order_cmp(const void *a, const void *b)
{
	return ref_cmp(&sort_refs[*(const size_t *)a], &sort_refs[*(const size_t *)b]);
}

/* Group sorted misses into ranged reads; returns the number of requests. */
static size_t plan_runs(struct batch *b, char (*keys)[64])
{
	size_t nreq = 0;
	for (size_t k = 0; k < b->nmiss; k++) {
		const struct rec_ref *r = &b->refs[b->order[k]];
		struct remote_req *q = nreq ? &b->reqs[nreq - 1] : NULL;
		const struct rec_ref *prev = k ? &b->refs[b->order[k - 1]] : NULL;
		if (q && !memcmp(prev->pack, r->pack, PACK_ID_LEN) &&
		    r->off >= q->off + q->len - 0 && r->off <= q->off + q->len + COALESCE_GAP &&
		    r->off + r->len - q->off <= COALESCE_MAX) {
			q->len = r->off + r->len - q->off;
		} else if (q && !memcmp(prev->pack, r->pack, PACK_ID_LEN) &&
			   r->off + r->len <= q->off + q->len) {
			/* the same record twice (a file holding one chunk twice): already covered
			 */
		} else {
			store_pack_key(r->pack, keys[nreq]);
			b->reqs[nreq] =
			    (struct remote_req){.key = keys[nreq], .off = r->off, .len = r->len};
			nreq++;
		}
		b->run_of[k] = nreq - 1;
	}
	return nreq;
}

static void open_one(void *ctx, size_t k)
{
	struct batch *b = ctx;
	size_t i = b->order[k];
	const struct rec_ref *r = &b->refs[i];
	struct remote_req *q = &b->reqs[b->run_of[k]];
	if (q->result) {
		b->results[i] = q->result;
		return;
	}
	b->results[i] =
	    open_rec(b->s, b->type, r, q->data + (r->off - q->off), r->len, &b->bufs[i]);
	if (!b->results[i] && b->s->hook && !b->check)
		b->s->hook->put(b->s->hook->ctx, r, REC_WHOLE, q->data + (r->off - q->off), r->len);
}

/* Several embassies: records whose bytes failed verification are read again, one by one,
 * from another mirror. First every failed request is reported (remote_reject names the
 * mirror that served it, from this thread's reads: so before any read again), then the
 * records are fetched again (fetch_uncached, which skips that mirror for the pack). */
static void retry_rejected(struct batch *b, size_t nreq)
{
	int8_t *again = calloc(nreq ? nreq : 1, 1); /* per request: -1 not asked, 0 no, 1 yes */

	if (!again)
		return;
	memset(again, -1, nreq);
	for (size_t k = 0; k < b->nmiss; k++) {
		size_t i = b->order[k], q = b->run_of[k];
		if (b->results[i] == -EBADMSG && b->reqs[q].result == 0 && again[q] < 0)
			again[q] = (int8_t)remote_reject(b->s->remote, b->reqs[q].key);
	}
	for (size_t k = 0; k < b->nmiss; k++) {
		size_t i = b->order[k];
		if (b->results[i] == -EBADMSG && again[b->run_of[k]] == 1)
			b->results[i] = fetch_uncached(b->s, b->type, &b->refs[i], &b->bufs[i]);
	}
	free(again);
}

static int fetch_misses(struct batch *b)
{
	char(*keys)[64] = calloc(b->nmiss, 64);
	size_t nreq;
	int ret = -ENOMEM;

	b->reqs = calloc(b->nmiss, sizeof(*b->reqs));
	b->run_of = calloc(b->nmiss, sizeof(size_t));
	if (!keys || !b->reqs || !b->run_of)
		goto out;
	pthread_mutex_lock(&sort_lock);
	sort_refs = b->refs;
	qsort(b->order, b->nmiss, sizeof(size_t), order_cmp);
	pthread_mutex_unlock(&sort_lock);
	nreq = plan_runs(b, keys);
	ret = remote_get_many(b->s->remote, b->reqs, nreq);
	if (ret)
		goto out;
	par_cpu_for(b->nmiss, open_one, b);
	if (remote_mirrors(b->s->remote) > 1)
		retry_rejected(b, nreq);
	for (size_t q = 0; q < nreq; q++)
		free(b->reqs[q].data);
out:
	free(keys);
	free(b->reqs);
	free(b->run_of);
	return ret;
}

/* Claimed misses (b.order) are fetched together; ids another thread is fetching are waited
 * for afterwards, when this thread holds no claim any more. */
int store_fetch_many(struct store *s, enum record_type type, const struct rec_ref *refs, size_t n,
		     struct cbuf **bufs, int *results)
{
	struct batch b = {.s = s, .type = type, .refs = refs, .bufs = bufs, .results = results};
	bool *busy = calloc(n ? n : 1, sizeof(bool));
	int ret = 0;

	b.order = calloc(n ? n : 1, sizeof(size_t));
	if (!b.order || !busy) {
		free(b.order);
		free(busy);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		bufs[i] = NULL;
		results[i] = cache_try_claim(s->cache, refs[i].id, &bufs[i]);
		if (results[i] == -EBUSY) {
			busy[i] = true;
			continue;
		}
		if (results[i] != -EAGAIN)
			continue; /* a hit, -ENOMEM or a remembered failure: not a claim of ours */
		if (s->hook) {
			uint8_t *rec;
			size_t len;
			if (s->hook->get(s->hook->ctx, &refs[i], REC_WHOLE, &rec, &len) == 0) {
				results[i] = open_rec(s, type, &refs[i], rec, len, &bufs[i]);
				free(rec);
				if (results[i])
					s->hook->drop(s->hook->ctx, &refs[i], REC_WHOLE);
				else
					cache_fill(s->cache, refs[i].id, bufs[i]);
			}
		}
		if (results[i])
			b.order[b.nmiss++] = i;
	}
	if (b.nmiss)
		ret = fetch_misses(&b);
	for (size_t k = 0; k < b.nmiss; k++) { /* release every claim, whatever happened */
		size_t i = b.order[k];
		if (!ret && !results[i]) {
			cache_fill(s->cache, refs[i].id, bufs[i]);
			continue;
		}
		release_failed(s, refs[i].id, ret ? 0 : results[i]);
		if (ret)
			continue;
		log_bad(&refs[i], type, results[i]);
		if (results[i] == -ENOENT)
			results[i] = -EBADMSG;
	}
	for (size_t i = 0; !ret && i < n; i++)
		if (busy[i])
			results[i] = store_fetch_cbuf(s, type, &refs[i], &bufs[i]);
	free(busy);
	free(b.order);
	return ret;
}
int store_check_many(struct store *s, enum record_type type, const struct rec_ref *refs, size_t n,
		     int *results)
{
	struct batch b = {
	    .s = s, .type = type, .refs = refs, .results = results, .nmiss = n, .check = true};
	int ret = -ENOMEM;

	b.order = calloc(n ? n : 1, sizeof(size_t));
	b.bufs = calloc(n ? n : 1, sizeof(*b.bufs));
	if (!b.order || !b.bufs)
		goto out;
	for (size_t i = 0; i < n; i++) {
		b.order[i] = i;
		results[i] = -EIO;
	}
	ret = n ? fetch_misses(&b) : 0;
	for (size_t i = 0; i < n; i++) {
		cbuf_unref(b.bufs[i]);
		if (ret)
			continue;
		if (results[i])
			log_bad(&refs[i], type, results[i]);
		if (results[i] == -ENOENT)
			results[i] = -EBADMSG;
	}
out:
	free(b.order);
	free(b.bufs);
	return ret;
}

/* ---- paths and files ---- */

int store_lookup(struct store *s, const struct snapshot *sn, const char *path, struct tree **dir,
		 const struct tree_entry **ent)
{
	struct tree *t = NULL;
	const struct tree_entry *e = NULL;
	int ret = store_load_tree(s, &sn->root, &t);

	while (!ret) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		size_t len = strcspn(path, "/");
		if (e) { /* descend into the previous component */
			struct tree *sub = NULL;
			if (e->type != ENT_DIR) {
				ret = -ENOTDIR;
				break;
			}
			ret = store_load_tree(s, &e->subtree, &sub);
			tree_free(t);
			t = sub;
			if (ret)
				break;
		}
		e = tree_find(t, path, len);
		if (!e)
			ret = -ENOENT;
		path += len;
	}
	if (ret) {
		tree_free(t);
		return ret;
	}
	*dir = t;
	*ent = e;
	return 0;
}

/* Copy the part of chunk c that overlaps [off, off+len) into buf (which starts at off). */
static int copy_chunk(struct store *s, const struct chunk_ref *c, uint64_t off, size_t len,
		      uint8_t *buf)
{
	struct cbuf *b;
	int ret = store_fetch_cbuf(s, REC_DATA, &c->rec, &b);
	if (ret)
		return ret;
	uint64_t from = off > c->foff ? off : c->foff;
	uint64_t to = off + len < c->foff + c->rec.plen ? off + len : c->foff + c->rec.plen;
	memcpy(buf + (from - off), b->data + (from - c->foff), to - from);
	cbuf_unref(b);
	return 0;
}

ssize_t store_read_file(struct store *s, const struct tree_entry *e, uint64_t off, size_t len,
			uint8_t *buf)
{
	if (e->type != ENT_FILE)
		return -EINVAL;
	if (off >= e->size)
		return 0;
	if (len > e->size - off)
		len = e->size - off;
	/* holes (gaps between chunks) read as zeros */
	memset(buf, 0, len);
	for (size_t i = tree_chunk_at(e, off); i < e->nchunks; i++) {
		const struct chunk_ref *c = &e->chunks[i];
		if (c->foff >= off + len)
			break;
		int ret = copy_chunk(s, c, off, len, buf);
		if (ret)
			return ret;
	}
	return (ssize_t)len;
}
