/* seal_batch: chunks collected across files, identified and sealed on all cores, then
 * appended to packs in their original (tree) order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "par.h"
#include "seal_int.h"

int sbatch_add(struct sealer *sl, struct tree_entry *e, size_t idx, const uint8_t *data,
	       size_t len)
{
	int ret;
	if (sl->nitems == SBATCH_ITEMS || sl->batch_bytes + len > SBATCH_BYTES) {
		ret = sbatch_flush(sl);
		if (ret)
			return ret;
	}
	struct sbatch_item *it = &sl->items[sl->nitems];
	memset(it, 0, sizeof(*it));
	it->data = malloc(len ? len : 1);
	if (!it->data)
		return -ENOMEM;
	memcpy(it->data, data, len);
	it->e = e;
	it->idx = idx;
	it->len = len;
	sl->nitems++;
	sl->batch_bytes += len;
	return 0;
}

/* Worker: id, dedup lookup, compress + encrypt when new. */
static void seal_item(void *ctx, size_t i)
{
	struct sealer *sl = ctx;
	struct sbatch_item *it = &sl->items[i];
	const struct keys *k = store_keys(sl->s);
	record_id(k, REC_DATA, it->data, it->len, it->id);
	it->known = dedup_find(sl->dedup, it->id, &it->ref);
	if (!it->known)
		it->err = record_seal(k, REC_DATA, it->id, it->data, it->len, sl->zlevel, &it->rec,
				      &it->rlen);
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
	ret = packer_add(sl->data, REC_DATA, it->id, it->rec, it->rlen, (uint32_t)it->len, &c->rec);
	sl->res->chunks_new++;
	sl->res->bytes_new_plain += it->len;
	sl->res->bytes_new_stored += it->rlen;
	sl->prog.bytes_new += it->rlen;
	return ret;
}

int sbatch_flush(struct sealer *sl)
{
	int ret = 0;
	if (!sl->nitems)
		return 0;
	par_for(sl->nitems, sl->threads, seal_item, sl);
	for (size_t i = 0; i < sl->nitems; i++) {
		struct sbatch_item *it = &sl->items[i];
		if (!ret)
			ret = it->err ? it->err : place_item(sl, it);
		free(it->data);
		free(it->rec);
	}
	sl->nitems = 0;
	sl->batch_bytes = 0;
	return ret;
}

void sbatch_free(struct sealer *sl)
{
	for (size_t i = 0; i < sl->nitems; i++) {
		free(sl->items[i].data);
		free(sl->items[i].rec);
	}
	sl->nitems = 0;
	free(sl->items);
	sl->items = NULL;
}

int seal_tree_record(struct sealer *sl, struct tree *t, struct rec_ref *ref)
{
	const struct keys *k = store_keys(sl->s);
	char *json = NULL;
	uint8_t id[ID_LEN], *rec = NULL;
	size_t len, rlen;
	int ret = tree_encode(t, &json, &len);

	if (ret)
		return ret;
	if (len > RECORD_MAX_PLAIN) {
		log_err("a directory listing of %zu entries is too large for one record", t->n);
		ret = -EFBIG;
		goto out;
	}
	record_id(k, REC_TREE, json, len, id);
	/* an unchanged directory has the same id: reuse it */
	if (dedup_find(sl->dedup, id, ref))
		goto out;
	ret = record_seal(k, REC_TREE, id, json, len, sl->zlevel, &rec, &rlen);
	if (!ret)
		ret = packer_add(sl->trees, REC_TREE, id, rec, rlen, (uint32_t)len, ref);
out:
	free(rec);
	free(json);
	return ret;
}
