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

/* ---- loading from the store ---- */

struct keylist {
	char **keys;
	size_t n, cap;
};

static int collect_key(void *ctx, const char *key)
{
	struct keylist *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **k = realloc(l->keys, cap * sizeof(char *));
		if (!k)
			return -ENOMEM;
		l->keys = k;
		l->cap = cap;
	}
	l->keys[l->n] = strdup(key);
	return l->keys[l->n++] ? 0 : -ENOMEM;
}

static void keylist_free(struct keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
}

struct load_ctx {
	struct dedup *d, *packs; /* packs: pack ids present, as refs with the id in .id */
	bool (*skip)(void *ctx, const uint8_t pack[PACK_ID_LEN]);
	void *skip_ctx;
};

static int add_entry(void *ctx, const struct index_entry *e)
{
	struct load_ctx *c = ctx;
	uint8_t pid[ID_LEN] = {0};
	memcpy(pid, e->ref.pack, PACK_ID_LEN);
	pid[ID_LEN - 1] = 1; /* never all-zero */
	if (!dedup_find(c->packs, pid, NULL))
		return 0; /* pack deleted since: do not dedup against it */
	if (c->skip && c->skip(c->skip_ctx, e->ref.pack))
		return 0; /* prune is deleting it (lifecycle/gcwriter.h) */
	return dedup_add(c->d, &e->ref);
}

static int load_pack_set(struct store *s, struct dedup *packs)
{
	struct keylist l = {0};
	int ret = remote_list(store_remote(s), "packs/", collect_key, &l);
	for (size_t i = 0; ret >= 0 && i < l.n; i++) {
		const char *name = strrchr(l.keys[i], '/');
		struct rec_ref r = {0};
		if (!name || strlen(name + 1) != 2 * PACK_ID_LEN ||
		    hex_decode(name + 1, r.id, PACK_ID_LEN))
			continue;
		r.id[ID_LEN - 1] = 1;
		ret = dedup_add(packs, &r);
	}
	keylist_free(&l);
	return ret < 0 ? ret : 0;
}

static int load_one_index(struct store *s, struct load_ctx *c, const char *key, const uint8_t *data,
			  size_t n)
{
	uint8_t id[ID_LEN], *plain = NULL;
	size_t plen;
	const char *name = key + strlen("index/");
	int ret = -EBADMSG;
	if (strlen(name) == 2 * ID_LEN && !hex_decode(name, id, ID_LEN))
		ret = record_open(store_keys(s), REC_INDEX, id, data, n, RECORD_MAX_PLAIN, &plain,
				  &plen);
	if (!ret)
		ret = index_decode(plain, plen, add_entry, c);
	free(plain);
	if (ret == -EBADMSG)
		log_warn("%s: unreadable index object ignored (costs only deduplication)", key);
	return ret == -EBADMSG ? 0 : ret;
}

struct fetch_ctx {
	struct store *s;
	struct keylist *l;
	struct remote_req *reqs;
};

static void fetch_index(void *ctx, size_t i)
{
	struct fetch_ctx *f = ctx;
	size_t n = 0;
	f->reqs[i].result = remote_get(store_remote(f->s), f->l->keys[i], 0, 0, RECORD_MAX_PLAIN,
				       &f->reqs[i].data, &n);
	f->reqs[i].len = n;
}

int dedup_load(struct dedup *d, struct store *s)
{
	return dedup_load_filtered(d, s, NULL, NULL);
}

int dedup_load_filtered(struct dedup *d, struct store *s,
			bool (*skip)(void *ctx, const uint8_t pack[PACK_ID_LEN]), void *ctx)
{
	struct keylist l = {0};
	struct load_ctx c = {.d = d, .skip = skip, .skip_ctx = ctx};
	struct remote_req *reqs = NULL;
	int ret = dedup_new(&c.packs);

	if (!ret)
		ret = load_pack_set(s, c.packs);
	if (!ret)
		ret = remote_list(store_remote(s), "index/", collect_key, &l);
	if (ret < 0)
		goto out;
	reqs = calloc(l.n ? l.n : 1, sizeof(*reqs));
	ret = reqs ? 0 : -ENOMEM;
	/* index objects are small and many: fetch them with several requests in flight */
	if (!ret)
		par_for(l.n, 8, fetch_index, &(struct fetch_ctx){.s = s, .l = &l, .reqs = reqs});
	for (size_t i = 0; !ret && i < l.n; i++) {
		if (reqs[i].result == 0)
			ret = load_one_index(s, &c, l.keys[i], reqs[i].data, reqs[i].len);
		else if (reqs[i].result != -ENOENT)
			ret = reqs[i].result;
	}
out:
	for (size_t i = 0; reqs && i < l.n; i++)
		free(reqs[i].data);
	free(reqs);
	keylist_free(&l);
	dedup_free(c.packs);
	return ret < 0 ? ret : 0;
}
