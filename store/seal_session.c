/* seal_session: seal.c's sealing machinery for other writers (see seal_session.h). */
#include "seal_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gcwriter.h"
#include "memtune.h"
#include "par.h"
#include "seal_int.h"

struct seal_session {
	struct sealer sl;
	struct seal_opts o;
	struct seal_result res;
};

int seal_session_new(struct store *s, struct seal_session **out)
{
	struct seal_session *ss = calloc(1, sizeof(*ss));
	uint32_t mn, avg, mx;
	int ret;

	*out = NULL;
	if (!ss)
		return -ENOMEM;
	if (!store_can_seal(s)) {
		free(ss);
		return -EPERM;
	}
	memtune_bulk();
	ss->sl.s = s;
	ss->sl.o = &ss->o;
	ss->sl.res = &ss->res;
	ss->sl.zlevel = SEAL_ZLEVEL_DEFAULT;
	ss->sl.threads = par_ncpu();
	store_chunker_params(s, &mn, &avg, &mx);
	ret = chunker_init(&ss->sl.ck, mn, avg, mx, keys_get(store_keys(s), KEY_CHUNKER));
	if (!ret)
		ret = sbatch_init(&ss->sl);
	if (!ret)
		ret = dedup_new(&ss->sl.dedup);
	if (!ret) /* prune's protocol, as for a seal (lifecycle/gcwriter.h) */
		ret = gcw_begin(s, "commit", &ss->sl.gc);
	if (!ret)
		ret = dedup_load_filtered(ss->sl.dedup, s, gcw_skip, ss->sl.gc);
	if (!ret)
		ret = packer_new(s, ss->sl.dedup, PACK_TARGET_DATA, &ss->sl.data);
	if (!ret)
		ret = packer_new(s, ss->sl.dedup, PACK_TARGET_TREE, &ss->sl.trees);
	if (ret) {
		seal_session_free(ss);
		return ret;
	}
	*out = ss;
	return 0;
}

void seal_session_free(struct seal_session *ss)
{
	if (!ss)
		return;
	gcw_end(ss->sl.gc);
	sbatch_free(&ss->sl);
	packer_free(ss->sl.data);
	packer_free(ss->sl.trees);
	dedup_free(ss->sl.dedup);
	free(ss);
}

void seal_session_chunker(const struct seal_session *ss, uint32_t *min, uint32_t *max)
{
	*min = ss->sl.ck.min;
	*max = ss->sl.ck.max;
}

size_t seal_session_cut(const struct seal_session *ss, const uint8_t *buf, size_t len)
{
	return chunker_cut(&ss->sl.ck, buf, len);
}

/* One more slot in e->chunks (grown at powers of two, as seal_file.c grows them). */
static struct chunk_ref *chunk_slot(struct tree_entry *e)
{
	size_t n = e->nchunks;
	if (n == 0 || (n & (n - 1)) == 0) {
		size_t cap = n ? 2 * n : 4;
		struct chunk_ref *c = realloc(e->chunks, cap * sizeof(*c));
		if (!c)
			return NULL;
		e->chunks = c;
	}
	memset(&e->chunks[n], 0, sizeof(*e->chunks));
	return &e->chunks[n];
}

uint8_t *seal_session_room(struct seal_session *ss, size_t have, size_t want, int *err)
{
	return sbatch_room(&ss->sl, have, want, err);
}

int seal_session_take(struct seal_session *ss, struct tree_entry *e, uint64_t foff, size_t len,
		      size_t have)
{
	struct chunk_ref *c = chunk_slot(e);

	if (!c)
		return -ENOMEM;
	c->foff = foff;
	c->rec.plen = (uint32_t)len;
	return sbatch_take(&ss->sl, e, e->nchunks++, len, have);
}

int seal_session_reuse(struct seal_session *ss, struct tree_entry *e, const struct chunk_ref *c)
{
	struct chunk_ref *slot = chunk_slot(e);

	if (!slot)
		return -ENOMEM;
	*slot = *c;
	e->nchunks++;
	ss->res.chunks++;
	return 0;
}

int seal_session_flush(struct seal_session *ss)
{
	return sbatch_flush(&ss->sl);
}

int seal_session_tree(struct seal_session *ss, struct tree *t, struct rec_ref *ref)
{
	return seal_tree_record(&ss->sl, t, ref);
}

int seal_session_finish(struct seal_session *ss)
{
	int ret = sbatch_flush(&ss->sl);
	struct packer_stats ps;

	if (!ret)
		ret = packer_flush(ss->sl.data);
	if (!ret)
		ret = packer_flush(ss->sl.trees);
	if (!ret) {
		packer_get_stats(ss->sl.data, &ps);
		ss->res.packs_new = ps.packs;
		packer_get_stats(ss->sl.trees, &ps);
		ss->res.packs_new += ps.packs;
	}
	if (!ret) /* a prune may have deleted what we deduplicated: -EIDRM */
		ret = gcw_check_present(ss->sl.gc);
	return ret;
}

int seal_session_claim(void *ss, struct snaplist *next)
{
	return gcw_claim(((struct seal_session *)ss)->sl.gc, next);
}

void seal_session_stats(const struct seal_session *ss, struct seal_result *out)
{
	*out = ss->res;
}
