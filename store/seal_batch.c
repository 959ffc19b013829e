/* seal_batch: chunks collected across files, identified and sealed on all cores while the
 * sealing thread reads the next batch, then appended to packs in their original (tree) order. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "gcwriter.h"
#include "log.h"
#include "par.h"
#include "seal_int.h"
#include "zctx.h"

#define PROBE_LEN (64u << 10)

/* Incompressible data (media, encrypted or already compressed files) is the common case for
 * big registers' attachments: try a fast compression of a sample before paying for a full
 * zstd pass over the chunk. */
static bool worth_compressing(const uint8_t *p, size_t len)
{
	uint8_t out[PROBE_LEN + 1024];
	size_t n = PROBE_LEN;
	if (len <= 2 * PROBE_LEN)
		return true; /* a probe would cost as much as compressing it */
	ZSTD_CCtx *c = zctx_compress();
	size_t z = c ? ZSTD_compressCCtx(c, out, sizeof(out), p + (len - n) / 2, n, 1)
		     : ZSTD_compress(out, sizeof(out), p + (len - n) / 2, n, 1);
	return !ZSTD_isError(z) && z < n - n / 32;
}

/* Worker: id, dedup lookup, compress + encrypt when new. */
static void seal_item(void *ctx, size_t i)
{
	struct sealer *sl = ctx;
	struct sbatch_item *it = &sl->inflight->items[i];
	uint8_t *hashes = NULL;

	it->err = store_record_id(sl->s, REC_DATA, it->data, it->len, it->id, &hashes);
	if (it->err)
		return;
	it->known = dedup_find(sl->dedup, it->id, &it->ref);
	if (!it->known)
		it->err = store_record_seal(sl->s, REC_DATA, it->id, hashes, it->data, it->len,
					    worth_compressing(it->data, it->len) ? sl->zlevel : 0,
					    &it->rec, &it->rlen);
	free(hashes);
}

static void *batch_main(void *arg)
{
	struct sealer *sl = arg;
	pthread_mutex_lock(&sl->lock);
	for (;;) {
		while (!sl->stopping && (!sl->inflight || sl->inflight_done))
			pthread_cond_wait(&sl->cond, &sl->lock);
		if (sl->stopping)
			break;
		size_t n = sl->inflight->n;
		pthread_mutex_unlock(&sl->lock);
		/* the CPU pool's helpers are started once: a thread per batch cost a start and
		 * an exit (its stack unmapped: a TLB shootdown on every core) per batch */
		if (sl->threads == par_ncpu())
			par_cpu_for(n, seal_item, sl);
		else
			par_for(n, sl->threads, seal_item, sl);
		pthread_mutex_lock(&sl->lock);
		sl->inflight_done = true;
		pthread_cond_broadcast(&sl->cond);
	}
	pthread_mutex_unlock(&sl->lock);
	return NULL;
}

int sbatch_init(struct sealer *sl)
{
	for (int i = 0; i < 2; i++) {
		struct sbatch *b = &sl->batches[i];
		/* room for a batch's bytes and the unchunked bytes read ahead of them */
		b->cap = SBATCH_BYTES + 2 * (size_t)sl->ck.max;
		b->items = calloc(SBATCH_ITEMS, sizeof(struct sbatch_item));
		b->arena = malloc(b->cap);
		if (!b->items || !b->arena)
			return -ENOMEM;
	}
	sl->cur = &sl->batches[0];
	pthread_mutex_init(&sl->lock, NULL);
	pthread_cond_init(&sl->cond, NULL);
	if (pthread_create(&sl->batch_thread, NULL, batch_main, sl))
		return -EAGAIN;
	sl->batch_thread_up = true;
	return 0;
}

/* Serially, in order: a chunk sealed twice in one batch is packed once. */
static int place_item(struct sealer *sl, struct sbatch_item *it)
{
	struct chunk_ref *c = &it->e->chunks[it->idx];
	int ret = 0;
	sl->res->chunks++;
	if (it->known || dedup_find(sl->dedup, it->id, &it->ref)) {
		c->rec = it->ref;
		return 0;
	}
	ret = seal_pack(sl, false, it->id, it->rec, it->rlen, (uint32_t)it->len, &c->rec);
	sl->res->chunks_new++;
	sl->res->bytes_new_plain += it->len;
	sl->res->bytes_new_stored += it->rlen;
	sl->prog.bytes_new += it->rlen;
	return ret;
}

/* Wait until the batch thread is idle; returns the batch it finished (or NULL). Its arena is
 * free from then on: placing needs only the sealed records. */
static struct sbatch *wait_inflight(struct sealer *sl)
{
	pthread_mutex_lock(&sl->lock);
	while (sl->inflight && !sl->inflight_done)
		pthread_cond_wait(&sl->cond, &sl->lock);
	struct sbatch *b = sl->inflight;
	sl->inflight = NULL;
	pthread_mutex_unlock(&sl->lock);
	return b;
}

/* Place a sealed batch's records (in order) and empty it. */
static int place(struct sealer *sl, struct sbatch *b)
{
	int ret = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct sbatch_item *it = &b->items[i];
		if (!ret)
			ret = it->err ? it->err : place_item(sl, it);
		free(it->rec);
		it->rec = NULL;
	}
	b->n = b->used = 0;
	sl->nplaced++;
	if (ret && !sl->deferred_err)
		sl->deferred_err = ret; /* no tree may name chunks that were not placed */
	seal_trees_ready(sl);		/* the directories whose last chunks these were */
	return ret;
}

uint64_t sbatch_barrier(const struct sealer *sl)
{
	return sl->nsubmitted + (sl->cur->n ? 1 : 0);
}

/* Hand the current batch to the batch thread and continue in the other one, moving the
 * current one's `carry` unchunked bytes (at arena + used) to its start. The batch sealed
 * before is placed while the current one is being sealed: both cores stay busy. */
static int rotate(struct sealer *sl, size_t carry)
{
	struct sbatch *b = sl->cur, *o = b == &sl->batches[0] ? &sl->batches[1] : &sl->batches[0];
	struct sbatch *done = wait_inflight(sl);
	int ret;

	if (!b->n) { /* nothing to seal: only make the carried bytes the arena's first */
		memmove(b->arena, b->arena + b->used, carry);
		b->used = 0;
		return done ? place(sl, done) : 0;
	}
	memcpy(o->arena, b->arena + b->used, carry);
	sl->nsubmitted++;
	pthread_mutex_lock(&sl->lock);
	sl->inflight = b;
	sl->inflight_done = false;
	pthread_cond_broadcast(&sl->cond);
	pthread_mutex_unlock(&sl->lock);
	sl->cur = o;
	ret = done ? place(sl, done) : 0;
	o->n = o->used = 0;
	return ret;
}

static bool batch_full(const struct sbatch *b, size_t have, size_t want)
{
	return b->n == SBATCH_ITEMS || b->used + have + want > b->cap;
}

uint8_t *sbatch_room(struct sealer *sl, size_t have, size_t want, int *err)
{
	*err = 0;
	if (sl->cur->used >= SBATCH_BYTES || batch_full(sl->cur, have, want))
		*err = rotate(sl, have);
	return sl->cur->arena + sl->cur->used;
}

int sbatch_take(struct sealer *sl, struct tree_entry *e, size_t idx, size_t len, size_t have)
{
	struct sbatch *b = sl->cur;
	int ret = 0;
	if (b->n == SBATCH_ITEMS) {
		ret = rotate(sl, have);
		b = sl->cur;
	}
	struct sbatch_item *it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->data = b->arena + b->used;
	it->e = e;
	it->idx = idx;
	it->len = len;
	b->used += len;
	return ret;
}

/* Everything added so far is placed when this returns (a directory's tree needs it). */
int sbatch_flush(struct sealer *sl)
{
	int ret = rotate(sl, 0);
	struct sbatch *b = wait_inflight(sl);
	int r2 = b ? place(sl, b) : 0;
	return ret ? ret : r2;
}

void sbatch_free(struct sealer *sl)
{
	if (sl->batch_thread_up) {
		/* wait, but do not place: on an error path the entries may be gone already */
		pthread_mutex_lock(&sl->lock);
		while (sl->inflight && !sl->inflight_done)
			pthread_cond_wait(&sl->cond, &sl->lock);
		sl->stopping = true;
		pthread_cond_broadcast(&sl->cond);
		pthread_mutex_unlock(&sl->lock);
		pthread_join(sl->batch_thread, NULL);
		pthread_mutex_destroy(&sl->lock);
		pthread_cond_destroy(&sl->cond);
		sl->batch_thread_up = false;
	}
	for (int k = 0; k < 2; k++) {
		struct sbatch *b = &sl->batches[k];
		for (size_t i = 0; b->items && i < b->n; i++)
			free(b->items[i].rec);
		free(b->items);
		free(b->arena);
		b->items = NULL;
		b->arena = NULL;
	}
}

/* The packer's layout (pack.c): the magic, then records; the pack is closed once it reaches
 * its target. Following it makes a dry run's packs_new what the seal's will be. */
static int dry_add(struct sealer *sl, struct dry_pack *d, const uint8_t id[ID_LEN], size_t rlen,
		   uint32_t plen, struct rec_ref *ref)
{
	if (d->len == 0) {
		randombytes_buf(d->id, PACK_ID_LEN);
		d->len = 8;
		sl->res->packs_new++;
	}
	memcpy(ref->id, id, ID_LEN);
	memcpy(ref->pack, d->id, PACK_ID_LEN);
	ref->off = d->len;
	ref->len = (uint32_t)rlen;
	ref->plen = plen;
	d->len += rlen;
	if (d->len >= d->target)
		d->len = 0;
	return dedup_add(sl->dedup, ref);
}

int seal_pack(struct sealer *sl, bool tree, const uint8_t id[ID_LEN], const uint8_t *rec,
	      size_t rlen, uint32_t plen, struct rec_ref *ref)
{
	if (sl->o->dry_run)
		return dry_add(sl, tree ? &sl->dry_trees : &sl->dry_data, id, rlen, plen, ref);
	return packer_add(tree ? sl->trees : sl->data, tree ? REC_TREE : REC_DATA, id, rec, rlen,
			  plen, ref);
}

/* Every pack this tree refers to, and the tree's own: prune must not delete them before the
 * snapshot is published (lifecycle/gcwriter.h). */
static int seal_note_packs(struct sealer *sl, const struct tree *t, const struct rec_ref *ref)
{
	int ret = gcw_note(sl->gc, ref->pack);
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		if (e->type == ENT_DIR)
			ret = gcw_note(sl->gc, e->subtree.pack);
		for (size_t c = 0; !ret && c < e->nchunks; c++)
			ret = gcw_note(sl->gc, e->chunks[c].rec.pack);
	}
	return ret;
}

int seal_tree_record(struct sealer *sl, struct tree *t, struct rec_ref *ref)
{
	uint8_t id[ID_LEN], *rec = NULL, *plain = NULL;
	size_t len, rlen;
	int ret = tree_encode(t, store_format(sl->s), &plain, &len);

	if (ret)
		return ret;
	for (size_t i = 0; i < t->n; i++) /* every listing passes here, reused ones too */
		sl->res->xattr_entries += t->e[i].nxattrs != 0;
	if (len > RECORD_MAX_PLAIN) {
		log_err("a directory listing of %zu entries is too large for one record", t->n);
		ret = -EFBIG;
		goto out;
	}
	ret = store_record_id(sl->s, REC_TREE, plain, len, id, NULL);
	/* an unchanged directory has the same id: reuse it */
	if (ret)
		goto out;
	if (dedup_find(sl->dedup, id, ref))
		goto note;
	ret = store_record_seal(sl->s, REC_TREE, id, NULL, plain, len, sl->zlevel, &rec, &rlen);
	if (!ret)
		ret = seal_pack(sl, true, id, rec, rlen, (uint32_t)len, ref);
	if (!ret)
		sl->res->trees_new++;
note:
	if (!ret)
		ret = seal_note_packs(sl, t, ref);
out:
	free(rec);
	free(plain);
	return ret;
}
