#include "dedup.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "refjson.h"
#include "store_int.h"

struct dedup {
	pthread_mutex_t lock;
	/* guarded by lock: open addressing, power-of-two capacity, zero id = empty slot */
	struct rec_ref *slots;
	size_t cap, n;
};

int dedup_new(struct dedup **out)
{
	struct dedup *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cap = 1u << 12;
	d->slots = calloc(d->cap, sizeof(*d->slots));
	if (!d->slots) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d->slots);
	free(d);
}

static const uint8_t zero_id[ID_LEN];

static size_t slot_of(const struct rec_ref *slots, size_t cap, const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	size_t i = h & (cap - 1);
	while (memcmp(slots[i].id, zero_id, ID_LEN) && memcmp(slots[i].id, id, ID_LEN))
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct dedup *d)
{
	size_t cap = d->cap * 2;
	struct rec_ref *s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < d->cap; i++)
		if (memcmp(d->slots[i].id, zero_id, ID_LEN))
			s[slot_of(s, cap, d->slots[i].id)] = d->slots[i];
	free(d->slots);
	d->slots = s;
	d->cap = cap;
	return 0;
}

bool dedup_find(struct dedup *d, const uint8_t id[ID_LEN], struct rec_ref *out)
{
	pthread_mutex_lock(&d->lock);
	size_t i = slot_of(d->slots, d->cap, id);
	bool found = memcmp(d->slots[i].id, zero_id, ID_LEN) != 0;
	if (found && out)
		*out = d->slots[i];
	pthread_mutex_unlock(&d->lock);
	return found;
}

int dedup_add(struct dedup *d, const struct rec_ref *ref)
{
	int ret = 0;
	pthread_mutex_lock(&d->lock);
	if (2 * (d->n + 1) > d->cap)
		ret = grow(d);
	if (!ret) {
		size_t i = slot_of(d->slots, d->cap, ref->id);
		if (!memcmp(d->slots[i].id, zero_id, ID_LEN)) {
			d->slots[i] = *ref;
			d->n++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

size_t dedup_count(struct dedup *d)
{
	pthread_mutex_lock(&d->lock);
	size_t n = d->n;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int index_encode(const uint8_t pack[PACK_ID_LEN], const struct index_entry *e, size_t n,
		 char **json)
{
	char ph[2 * PACK_ID_LEN + 1], idh[2 * ID_LEN + 1];
	json_t *arr = json_array(), *root;
	hex_encode(pack, PACK_ID_LEN, ph);
	for (size_t i = 0; arr && i < n; i++) {
		hex_encode(e[i].ref.id, ID_LEN, idh);
		json_array_append_new(
		    arr, json_pack("[i s I I I]", e[i].type, idh, (json_int_t)e[i].ref.off,
				   (json_int_t)e[i].ref.len, (json_int_t)e[i].ref.plen));
	}
	root = json_pack("{s:i s:s s:o}", "v", 1, "pack", ph, "entries", arr);
	*json = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return *json ? 0 : -ENOMEM;
}

int index_decode(const uint8_t *json, size_t len, int (*cb)(void *ctx, const struct index_entry *e),
		 void *ctx)
{
	json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *arr = json_object_get(root, "entries");
	struct index_entry ie;
	int ret = -EBADMSG;

	if (!json_is_array(arr) || json_integer_value(json_object_get(root, "v")) != 1 ||
	    refjson_get_hex(root, "pack", ie.ref.pack, PACK_ID_LEN))
		goto out;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *a = json_array_get(arr, i);
		json_t *t = json_array_get(a, 0);
		if (json_array_size(a) != 5 || !json_is_integer(t))
			goto out;
		/* reuse the ref parser: splice the pack id in as element 1 */
		json_t *r =
		    json_pack("[O s O O O]", json_array_get(a, 1),
			      json_string_value(json_object_get(root, "pack")),
			      json_array_get(a, 2), json_array_get(a, 3), json_array_get(a, 4));
		int bad = !r || refjson_get_ref(r, &ie.ref);
		json_decref(r);
		if (bad)
			goto out;
		ie.type = (uint8_t)json_integer_value(t);
		ret = cb(ctx, &ie);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* ---- loading from the store ----
 *
 * What the host lists drives no allocation beyond a small batch: index/ names are checked
 * (index/<64 hex>) and fetched INDEX_BATCH at a time as the listing goes, each opened,
 * decoded and freed before the next batch; at most INDEX_BATCH * INDEX_PARALLEL_MAX bytes
 * are in flight, and an index object larger than that share (up to RECORD_MAX_PLAIN) is
 * fetched again alone. Entries go to a candidate table, and the packs they name to a set;
 * the packs/ listing then only marks which of those packs exist (a listed name nobody
 * wants costs nothing). Only then are the candidates whose pack exists added. After
 * INDEX_UNUSABLE_MAX index objects that cannot be used (missing, oversize, not opening
 * with the store's keys), the rest of the listing is not fetched: deduplication is lost
 * for them, nothing else. */

#define INDEX_BATCH	   8
#define INDEX_PARALLEL_MAX (4u << 20)
#define INDEX_UNUSABLE_MAX 1000

struct load_ctx {
	struct store *s;
	struct dedup *cand;  /* entries of the index objects read so far */
	struct dedup *packs; /* packs they name: id in .id (padded), present: .off = 1 */
	char batch[INDEX_BATCH][6 + 2 * ID_LEN + 1];
	struct remote_req reqs[INDEX_BATCH];
	size_t nbatch, unusable, skipped;
	int err; /* a failure to reach the store: the load fails */
	bool (*skip)(void *ctx, const uint8_t pack[PACK_ID_LEN]);
	void *skip_ctx;
};

/* The slot of id (present or where it would go); the table is not shared yet (no lock). */
static struct rec_ref *slot(struct dedup *d, const uint8_t *id)
{
	return &d->slots[slot_of(d->slots, d->cap, id)];
}

static void pack_key_id(const uint8_t pack[PACK_ID_LEN], uint8_t id[ID_LEN])
{
	memset(id, 0, ID_LEN);
	memcpy(id, pack, PACK_ID_LEN);
	id[ID_LEN - 1] = 1; /* never all-zero */
}

static int add_candidate(void *ctx, const struct index_entry *e)
{
	struct load_ctx *c = ctx;
	struct rec_ref p = {0};
	int ret;

	pack_key_id(e->ref.pack, p.id);
	if (!dedup_find(c->packs, p.id, NULL) && (ret = dedup_add(c->packs, &p)))
		return ret;
	return dedup_add(c->cand, &e->ref);
}

static int load_one_index(struct load_ctx *c, const char *key, const uint8_t *data, size_t n)
{
	uint8_t id[ID_LEN], *plain = NULL;
	size_t plen;
	int ret = hex_decode(key + 6, id, ID_LEN) ? -EBADMSG : 0;

	if (!ret)
		ret = record_open(store_keys(c->s), REC_INDEX, id, data, n, RECORD_MAX_PLAIN,
				  &plain, &plen);
	if (!ret)
		ret = index_decode(plain, plen, add_candidate, c);
	free(plain);
	return ret;
}

static void fetch_index(void *ctx, size_t i)
{
	struct load_ctx *c = ctx;
	size_t n = 0;

	c->reqs[i].result = remote_get(store_remote(c->s), c->batch[i], 0, 0, INDEX_PARALLEL_MAX,
				       &c->reqs[i].data, &n);
	c->reqs[i].len = n;
}

/* One fetched index object (result: its fetch's): used, skipped, or the load's end. */
static void use_index(struct load_ctx *c, const char *key, int result, uint8_t *data, size_t n)
{
	int ret = result;

	if (ret == -EBADMSG) { /* perhaps only too big to fetch with others: alone, fully */
		free(data);
		data = NULL;
		ret = remote_get(store_remote(c->s), key, 0, 0, RECORD_MAX_PLAIN, &data, &n);
	}
	if (!ret)
		ret = load_one_index(c, key, data, n);
	free(data);
	if (ret == -ENOMEM || ret == -EIO || ret == -ETIMEDOUT || ret == -ECONNREFUSED ||
	    ret == -EACCES) {
		c->err = c->err ? c->err : ret;
		return;
	}
	if (ret) {
		c->unusable++;
		/* gone since the listing (-ENOENT) is no news; the first few others are */
		if (ret != -ENOENT && c->unusable <= 10)
			log_warn("%s: unreadable index object ignored (costs only deduplication)",
				 key);
	}
}

static int flush_batch(struct load_ctx *c)
{
	memset(c->reqs, 0, sizeof(c->reqs));
	/* index objects are small and many: several requests in flight */
	par_for(c->nbatch, INDEX_BATCH, fetch_index, c);
	for (size_t i = 0; i < c->nbatch; i++) {
		use_index(c, c->batch[i], c->reqs[i].result, c->reqs[i].data, c->reqs[i].len);
		c->reqs[i].data = NULL; /* freed as we go */
	}
	c->nbatch = 0;
	if (c->err)
		return c->err;
	if (c->unusable >= INDEX_UNUSABLE_MAX) {
		log_warn("%zu index objects could not be used: the rest are not read (the new "
			 "snapshot may store again data the store already holds)",
			 c->unusable);
		return 1; /* stop the listing */
	}
	return 0;
}

static bool is_index_name(const char *key)
{
	size_t n = strlen(key);

	return n == 6 + 2 * ID_LEN && !strncmp(key, "index/", 6) &&
	       strspn(key + 6, "0123456789abcdef") == 2 * ID_LEN;
}

static int on_index_name(void *ctx, const char *key)
{
	struct load_ctx *c = ctx;

	if (!is_index_name(key)) {
		c->skipped++; /* not a name this store writes: never fetched */
		return 0;
	}
	memcpy(c->batch[c->nbatch++], key, strlen(key) + 1);
	return c->nbatch == INDEX_BATCH ? flush_batch(c) : 0;
}

/* packs/xx/<32 hex>: marks a wanted pack present; other names cost nothing. */
static int on_pack_name(void *ctx, const char *key)
{
	struct load_ctx *c = ctx;
	uint8_t pack[PACK_ID_LEN], id[ID_LEN];
	const char *name = key + 9;

	if (strlen(key) != 9 + 2 * PACK_ID_LEN || strncmp(key, "packs/", 6) || key[8] != '/' ||
	    strncmp(key + 6, name, 2) || hex_decode(name, pack, PACK_ID_LEN))
		return 0;
	pack_key_id(pack, id);
	struct rec_ref *r = slot(c->packs, id);
	if (!memcmp(r->id, id, ID_LEN))
		r->off = 1;
	return 0;
}

int dedup_load(struct dedup *d, struct store *s)
{
	return dedup_load_filtered(d, s, NULL, NULL);
}

int dedup_load_filtered(struct dedup *d, struct store *s,
			bool (*skip)(void *ctx, const uint8_t pack[PACK_ID_LEN]), void *ctx)
{
	struct load_ctx c = {.s = s, .skip = skip, .skip_ctx = ctx};
	int ret = dedup_new(&c.cand);

	if (!ret)
		ret = dedup_new(&c.packs);
	if (!ret)
		ret = remote_list(store_remote(s), "index/", on_index_name, &c);
	if (ret == 0 && c.nbatch)
		ret = flush_batch(&c);
	if (ret == 1)
		ret = 0; /* stopped early: what was read is used */
	if (c.skipped)
		log_warn("%zu names under index/ are not index objects: ignored", c.skipped);
	if (c.unusable > 10)
		log_warn("%zu index objects were unusable in all", c.unusable);
	if (!ret)
		ret = remote_list(store_remote(s), "packs/", on_pack_name, &c);
	/* only records in packs that exist (an index may outlive its pack, or precede it) */
	for (size_t i = 0; !ret && c.cand && i < c.cand->cap; i++) {
		const struct rec_ref *e = &c.cand->slots[i];
		uint8_t pid[ID_LEN];
		if (!memcmp(e->id, zero_id, ID_LEN))
			continue;
		pack_key_id(e->pack, pid);
		if (slot(c.packs, pid)->off != 1)
			continue; /* pack deleted since, or not written yet: do not dedup against it
				   */
		if (c.skip && c.skip(c.skip_ctx, e->pack))
			continue; /* prune is deleting it (lifecycle/gcwriter.h) */
		ret = dedup_add(d, e);
	}
	dedup_free(c.cand);
	dedup_free(c.packs);
	return ret < 0 ? ret : 0;
}
