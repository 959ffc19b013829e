/* snaplist: codec, reading and the create-only update loop of the signed snapshot list. */
#include "snaplist.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "refjson.h"
#include "store_write.h"

#define DEFAULT_VALID_FOR (7 * 24 * 3600)
#define UPDATE_TRIES	  64

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void snaplist_clear(struct snaplist *l)
{
	free(l->snaps);
	free(l->condemned);
	free(l->swept);
	memset(l, 0, sizeof(*l));
}

static void *dup_array(const void *src, size_t n, size_t size)
{
	void *p = malloc(n ? n * size : 1);
	if (p && n)
		memcpy(p, src, n * size);
	return p;
}

int snaplist_copy(struct snaplist *dst, const struct snaplist *src)
{
	*dst = *src;
	dst->snaps = dup_array(src->snaps, src->nsnaps, sizeof(*src->snaps));
	dst->condemned = dup_array(src->condemned, src->ncondemned, sizeof(*src->condemned));
	dst->swept = dup_array(src->swept, src->nswept, sizeof(*src->swept));
	if (dst->snaps && dst->condemned && dst->swept)
		return 0;
	snaplist_clear(dst);
	return -ENOMEM;
}

void snaplist_key(uint64_t gen, char out[40])
{
	snprintf(out, 40, SNAPLIST_PREFIX "%016llx", (unsigned long long)gen);
}

void snaplist_hash(const uint8_t *obj, size_t n, uint8_t out[ID_LEN])
{
	crypto_generichash(out, ID_LEN, obj, n, NULL, 0);
}

/* ---- sorted arrays ---- */

static int snap_cmp(const void *a, const void *b)
{
	const struct snaplist_snap *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return memcmp(x->id, y->id, ID_LEN);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct snaplist_snap *)a)->id, ((const struct snaplist_snap *)b)->id,
		      ID_LEN);
}

static int pack_cmp(const void *a, const void *b)
{
	return memcmp(((const struct snaplist_pack *)a)->pack,
		      ((const struct snaplist_pack *)b)->pack, PACK_ID_LEN);
}

const struct snaplist_snap *snaplist_find(const struct snaplist *l, const uint8_t id[ID_LEN])
{
	for (size_t i = 0; i < l->nsnaps; i++) /* lists are small: hundreds, not millions */
		if (!memcmp(l->snaps[i].id, id, ID_LEN))
			return &l->snaps[i];
	return NULL;
}

const struct snaplist_snap *snaplist_newest(const struct snaplist *l)
{
	return l->nsnaps ? &l->snaps[l->nsnaps - 1] : NULL;
}

int snaplist_add(struct snaplist *l, const uint8_t id[ID_LEN], uint64_t seq)
{
	struct snaplist_snap *v;
	if (snaplist_find(l, id))
		return -EEXIST;
	if (l->nsnaps >= SNAPLIST_MAX_N)
		return -EFBIG;
	v = realloc(l->snaps, (l->nsnaps + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->snaps = v;
	memcpy(v[l->nsnaps].id, id, ID_LEN);
	v[l->nsnaps++].seq = seq;
	qsort(v, l->nsnaps, sizeof(*v), snap_cmp);
	return 0;
}

bool snaplist_remove(struct snaplist *l, const uint8_t id[ID_LEN])
{
	const struct snaplist_snap *e = snaplist_find(l, id);
	size_t i;
	if (!e)
		return false;
	i = (size_t)(e - l->snaps);
	memmove(&l->snaps[i], &l->snaps[i + 1], (l->nsnaps - i - 1) * sizeof(*l->snaps));
	l->nsnaps--;
	return true;
}

const struct snaplist_pack *snaplist_pack_find(const struct snaplist_pack *v, size_t n,
					       const uint8_t pack[PACK_ID_LEN])
{
	struct snaplist_pack key;
	if (!n)
		return NULL;
	memcpy(key.pack, pack, PACK_ID_LEN);
	return bsearch(&key, v, n, sizeof(*v), pack_cmp);
}

int snaplist_pack_add(struct snaplist_pack **v, size_t *n, const uint8_t pack[PACK_ID_LEN],
		      uint64_t gen)
{
	struct snaplist_pack *p;
	size_t i = 0;
	if (snaplist_pack_find(*v, *n, pack))
		return 0;
	if (*n >= SNAPLIST_MAX_N)
		return -EFBIG;
	p = realloc(*v, (*n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	while (i < *n && memcmp(p[i].pack, pack, PACK_ID_LEN) < 0)
		i++;
	memmove(&p[i + 1], &p[i], (*n - i) * sizeof(*p));
	memcpy(p[i].pack, pack, PACK_ID_LEN);
	p[i].gen = gen;
	(*n)++;
	return 0;
}

bool snaplist_pack_remove(struct snaplist_pack **v, size_t *n, const uint8_t pack[PACK_ID_LEN])
{
	const struct snaplist_pack *e = snaplist_pack_find(*v, *n, pack);
	size_t i;
	if (!e)
		return false;
	i = (size_t)(e - *v);
	memmove(&(*v)[i], &(*v)[i + 1], (*n - i - 1) * sizeof(**v));
	(*n)--;
	return true;
}

/* ---- codec ---- */

static json_t *packs_json(const struct snaplist_pack *v, size_t n)
{
	char h[2 * PACK_ID_LEN + 1];
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		hex_encode(v[i].pack, PACK_ID_LEN, h);
		if (json_array_append_new(a, json_pack("[s I]", h, (json_int_t)v[i].gen))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *body_json(const struct store *s, const struct snaplist *l)
{
	char h[2 * ID_LEN + 1];
	json_t *snaps = json_array(), *b;
	for (size_t i = 0; snaps && i < l->nsnaps; i++) {
		hex_encode(l->snaps[i].id, ID_LEN, h);
		if (json_array_append_new(snaps,
					  json_pack("[s I]", h, (json_int_t)l->snaps[i].seq))) {
			json_decref(snaps);
			return NULL;
		}
	}
	b = json_pack("{s:i s:s s:I s:I s:o}", "v", 1, "store_id", store_id_hex(s), "gen",
		      (json_int_t)l->gen, "time", (json_int_t)l->time_ns, "snapshots", snaps);
	/* optional members only when there is something: most lists have no garbage state */
	if (b && l->ncondemned &&
	    json_object_set_new(b, "condemned", packs_json(l->condemned, l->ncondemned)))
		goto fail;
	if (b && l->nswept && json_object_set_new(b, "swept", packs_json(l->swept, l->nswept)))
		goto fail;
	if (b && l->has_reloc) {
		hex_encode(l->reloc, ID_LEN, h);
		if (json_object_set_new(b, "reloc", json_string(h)))
			goto fail;
	}
	return b;
fail:
	json_decref(b);
	return NULL;
}

int snaplist_encode(const struct store *s, const struct snaplist *l, char **obj, size_t *len)
{
	json_t *b = body_json(s, l);
	int ret;
	if (!b)
		return -ENOMEM;
	ret = store_envelope_make(s, SIGCTX_LIST, b, obj);
	json_decref(b);
	if (!ret)
		*len = strlen(*obj);
	if (!ret && *len > SNAPLIST_MAX) {
		free(*obj);
		*obj = NULL;
		ret = -EFBIG;
	}
	return ret;
}

static int parse_snaps(const json_t *a, struct snaplist *l)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n > SNAPLIST_MAX_N)
		return -EBADMSG;
	l->snaps = calloc(n ? n : 1, sizeof(*l->snaps));
	if (!l->snaps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i), *seq = json_array_get(e, 1);
		const char *id = json_string_value(json_array_get(e, 0));
		if (json_array_size(e) != 2 || !id || strlen(id) != 2 * ID_LEN ||
		    hex_decode(id, l->snaps[i].id, ID_LEN) || !json_is_integer(seq) ||
		    json_integer_value(seq) < 0)
			return -EBADMSG;
		l->snaps[i].seq = (uint64_t)json_integer_value(seq);
		if (i && snap_cmp(&l->snaps[i - 1], &l->snaps[i]) >= 0)
			return -EBADMSG; /* sorted by (seq, id), so no id twice at one seq */
		l->nsnaps++;
	}
	/* an id twice at different seqs: check on a copy sorted by id */
	struct snaplist_snap *c = dup_array(l->snaps, l->nsnaps, sizeof(*c));
	int ret = c ? 0 : -ENOMEM;
	if (c && l->nsnaps > 1) {
		qsort(c, l->nsnaps, sizeof(*c), id_cmp);
		for (size_t i = 1; !ret && i < l->nsnaps; i++)
			if (!memcmp(c[i - 1].id, c[i].id, ID_LEN))
				ret = -EBADMSG;
	}
	free(c);
	return ret;
}

static int parse_packs(const json_t *a, struct snaplist_pack **v, size_t *n)
{
	size_t k = json_array_size(a);
	*v = calloc(k ? k : 1, sizeof(**v));
	*n = 0;
	if (!*v)
		return -ENOMEM;
	if (!a)
		return 0;
	if (!json_is_array(a) || k > SNAPLIST_MAX_N)
		return -EBADMSG;
	for (size_t i = 0; i < k; i++) {
		const json_t *e = json_array_get(a, i), *g = json_array_get(e, 1);
		const char *p = json_string_value(json_array_get(e, 0));
		if (json_array_size(e) != 2 || !p || strlen(p) != 2 * PACK_ID_LEN ||
		    hex_decode(p, (*v)[i].pack, PACK_ID_LEN) || !json_is_integer(g) ||
		    json_integer_value(g) < 0)
			return -EBADMSG;
		(*v)[i].gen = (uint64_t)json_integer_value(g);
		if (i && pack_cmp(&(*v)[i - 1], &(*v)[i]) >= 0)
			return -EBADMSG;
		(*n)++;
	}
	return 0;
}

static int parse_body(const uint8_t sid[STORE_ID_LEN], uint64_t gen, const char *text, size_t len,
		      struct snaplist *l)
{
	json_t *b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(b, "time");
	uint8_t bsid[STORE_ID_LEN];
	int ret = -EBADMSG;

	if (!json_is_object(b) || json_integer_value(json_object_get(b, "v")) != 1 ||
	    refjson_get_hex(b, "store_id", bsid, STORE_ID_LEN) || memcmp(bsid, sid, STORE_ID_LEN) ||
	    refjson_get_uint(b, "gen", INT64_MAX, &l->gen) || l->gen != gen || !json_is_integer(t))
		goto out;
	l->time_ns = json_integer_value(t);
	ret = parse_snaps(json_object_get(b, "snapshots"), l);
	if (!ret)
		ret = parse_packs(json_object_get(b, "condemned"), &l->condemned, &l->ncondemned);
	if (!ret)
		ret = parse_packs(json_object_get(b, "swept"), &l->swept, &l->nswept);
	if (!ret && json_object_get(b, "reloc")) { /* optional: a store prune repacked */
		l->has_reloc = true;
		ret = refjson_get_hex(b, "reloc", l->reloc, ID_LEN) ? -EBADMSG : 0;
	}
out:
	json_decref(b);
	return ret;
}

int snaplist_decode(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN], uint64_t gen,
		    const uint8_t *obj, size_t n, struct snaplist *out)
{
	json_t *root = NULL;
	const char *text;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (n > SNAPLIST_MAX)
		return -EBADMSG;
	ret = store_envelope_open(obj, n, SIGCTX_LIST, pk, &root, &text, &len);
	if (!ret)
		ret = parse_body(sid, gen, text, len, out);
	json_decref(root);
	if (ret)
		snaplist_clear(out);
	else
		snaplist_hash(obj, n, out->hash);
	return ret;
}

/* ---- reading ---- */

static void store_sid(const struct store *s, uint8_t sid[STORE_ID_LEN])
{
	hex_decode(store_id_hex(s), sid, STORE_ID_LEN);
}

int snaplist_fetch(struct store *s, uint64_t gen, const uint8_t *hash, struct snaplist *out)
{
	char key[40];
	uint8_t *obj = NULL, sid[STORE_ID_LEN], h[ID_LEN];
	size_t n;
	int ret, retry;

	memset(out, 0, sizeof(*out));
	snaplist_key(gen, key);
	ret = remote_get(store_remote(s), key, 0, 0, SNAPLIST_MAX, &obj, &n);
	if (ret)
		return ret;
	snaplist_hash(obj, n, h);
	store_sid(s, sid);
	if (hash && sodium_memcmp(h, hash, ID_LEN))
		ret = -EBADMSG;
	else
		ret = snaplist_decode(sid, store_sign_pk(s), gen, obj, n, out);
	/* a local copy (the mount's mirror) that fails is fetched again from the store once */
	retry = ret == -EBADMSG && remote_reject(store_remote(s), key);
	if (ret == -EBADMSG && !retry)
		log_err("%s: %s", key,
			hash && sodium_memcmp(h, hash, ID_LEN)
			    ? "not the snapshot list the head pointer names (replaced by the host?)"
			    : "snapshot list does not verify (forged or from another store)");
	if (!ret)
		remote_keep(store_remote(s), key, obj, n); /* verified: the mirror may keep it */
	free(obj);
	return retry ? snaplist_fetch(s, gen, hash, out) : ret;
}

int snaplist_of_head(struct store *s, const struct head *h, struct snaplist *out)
{
	const struct snaplist_snap *e;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!h->has_list)
		return -ENODATA;
	ret = snaplist_fetch(s, h->gen, h->list, out);
	if (ret == -ENOENT) {
		log_err("the snapshot list the head pointer names (generation %llu) is missing: "
			"deleted by the host",
			(unsigned long long)h->gen);
		return -EBADMSG;
	}
	if (ret)
		return ret;
	e = snaplist_newest(out);
	if (!e || memcmp(e->id, h->snapshot, ID_LEN) || e->seq != h->seq) {
		char idh[2 * ID_LEN + 1];
		hex_encode(h->snapshot, ID_LEN, idh);
		log_err("the head pointer says sequence %llu (snapshot %.12s…), but the newest "
			"manifest in its snapshot list (generation %llu) says %llu%s",
			(unsigned long long)h->seq, idh, (unsigned long long)h->gen,
			(unsigned long long)(e ? e->seq : 0),
			e && memcmp(e->id, h->snapshot, ID_LEN) ? " and is another snapshot" : "");
		snaplist_clear(out);
		return -EBADMSG;
	}
	return 0;
}

struct manifests {
	struct store *s;
	const struct snaplist *l;
	struct snapshot *v;
	int *res;
};

static void read_manifest(void *ctx, size_t i)
{
	struct manifests *m = ctx;
	m->res[i] = store_read_snapshot(m->s, m->l->snaps[i].id, &m->v[i]);
	if (!m->res[i] && m->v[i].seq != m->l->snaps[i].seq) {
		snapshot_clear(&m->v[i]);
		m->res[i] = -EBADMSG;
	}
}

int snaplist_manifests(struct store *s, const struct snaplist *l, struct snapshot **out)
{
	struct manifests m = {.s = s, .l = l};
	int ret = 0;

	m.v = calloc(l->nsnaps ? l->nsnaps : 1, sizeof(*m.v));
	m.res = calloc(l->nsnaps ? l->nsnaps : 1, sizeof(*m.res));
	if (!m.v || !m.res)
		ret = -ENOMEM;
	if (!ret)
		par_for(l->nsnaps, 16, read_manifest, &m);
	for (size_t i = 0; !ret && i < l->nsnaps; i++) {
		char idh[2 * ID_LEN + 1];
		if (!m.res[i])
			continue;
		ret = m.res[i] == -ENOENT ? -EBADMSG : m.res[i];
		hex_encode(l->snaps[i].id, ID_LEN, idh);
		log_err("snapshot %s (sequence %llu) of the signed list is missing or does not "
			"verify: %s",
			idh, (unsigned long long)l->snaps[i].seq, strerror(-m.res[i]));
	}
	if (ret && m.v) {
		for (size_t i = 0; i < l->nsnaps; i++)
			if (!m.res[i])
				snapshot_clear(&m.v[i]);
		free(m.v);
		m.v = NULL;
	}
	free(m.res);
	*out = m.v;
	return ret;
}

/* ---- writing ---- */

/* A store sealed before lists: every manifest that verifies, up to the head's seq (a higher
 * one was left by a seal interrupted before its head: never published). */
static int legacy_list(struct store *s, const struct head *h, struct snaplist *out)
{
	struct snapshot *v = NULL;
	size_t n = 0;
	int ret = store_list_manifests(s, &v, &n, NULL);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !ret && i < n; i++)
		if (v[i].seq <= h->seq)
			ret = snaplist_add(out, v[i].id, v[i].seq);
	store_free_snapshots(v, n);
	if (!ret && !snaplist_find(out, h->snapshot)) {
		log_err("the head pointer names a snapshot that is missing or does not verify");
		ret = -EBADMSG;
	}
	if (ret)
		snaplist_clear(out);
	return ret;
}

/* Adopt generations beyond the one we hold: written by a writer that died before its head,
 * or by one still on its way to the head. */
static int follow_newer(struct store *s, struct snaplist *l)
{
	for (;;) {
		struct snaplist next;
		int ret = snaplist_fetch(s, l->gen + 1, NULL, &next);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		snaplist_clear(l);
		*l = next;
	}
}

static int publish_head(struct store *s, const struct snaplist *l, int64_t valid_for_s);

/* The head, as store_read_head reads it. For a sealer, an apparent rollback is read again a
 * few times over ~1.5 s first: two writers' head publications can cross (each reads the head,
 * then writes its own), so a head one generation old may stand for the moment between a
 * writer's late write and its carry_forward, while this host has already seen the newer one.
 * A host that really serves an older state still fails, after the last try. */
static int read_head_settled(struct store *s, struct head *h)
{
	int ret = store_read_head(s, h);

	for (int i = 0; ret == -ESTALE && store_can_seal(s) && i < 5; i++) {
		struct timespec d = {0, (long)(50000000L << i)}; /* 50 ms … 800 ms */
		log_info("the head looks older than one seen before: reading it again (another "
			 "writer's publication may be crossing ours)");
		nanosleep(&d, NULL);
		ret = store_read_head(s, h);
	}
	return ret;
}

int snaplist_current(struct store *s, struct snaplist *out)
{
	struct head h;
	int ret = read_head_settled(s, &h);
	uint64_t headed;

	memset(out, 0, sizeof(*out));
	if (ret == -ENOENT)
		ret = 0; /* no head: empty, unless a first generation is already on its way */
	else if (!ret && h.has_list)
		ret = snaplist_of_head(s, &h, out);
	else if (!ret)
		ret = legacy_list(s, &h, out);
	headed = out->gen;
	if (!ret)
		ret = follow_newer(s, out);
	/* a writer died between its list and its head: finish its work, so readers see it
	 * (a writer with nothing to change of its own would otherwise leave it half done) */
	if (!ret && out->gen > headed && store_can_seal(s))
		ret = publish_head(s, out, 0);
	if (ret)
		snaplist_clear(out);
	return ret;
}

/* Point the head at l, unless the head already names l or a newer generation. */
static int publish_head(struct store *s, const struct snaplist *l, int64_t valid_for_s)
{
	const struct snaplist_snap *e = snaplist_newest(l);
	struct head h = {0}, cur;
	int ret = store_read_head(s, &cur);

	if (!e)
		return -ENOENT;
	if (!ret && cur.has_list && cur.gen >= l->gen)
		return 0;
	if (ret && ret != -ENOENT && ret != -ESTALE)
		return ret;
	h.seq = e->seq;
	memcpy(h.snapshot, e->id, ID_LEN);
	h.time_ns = now_ns();
	h.expires_ns = h.time_ns + (valid_for_s ? valid_for_s : DEFAULT_VALID_FOR) * 1000000000LL;
	h.has_list = true;
	h.gen = l->gen;
	memcpy(h.list, l->hash, ID_LEN);
	return store_write_head(s, &h);
}

/* After our head: a writer that published a newer generation before we wrote it may now see
 * its head overwritten by ours; carry the head forward to the newest generation. */
static int carry_forward(struct store *s, uint64_t gen, int64_t valid_for_s)
{
	for (;;) {
		struct snaplist next;
		int ret = snaplist_fetch(s, gen + 1, NULL, &next);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		ret = publish_head(s, &next, valid_for_s);
		gen = next.gen;
		snaplist_clear(&next);
		if (ret)
			return ret;
	}
}

/* One attempt: 0 published, -EEXIST lost the race, other -errno failure. */
static int try_publish(struct store *s, const struct snaplist *cur, snaplist_edit_fn edit,
		       void *ctx, int64_t valid_for_s, struct snaplist *next)
{
	char key[40], *obj = NULL;
	size_t len;
	int ret = snaplist_copy(next, cur);

	if (ret)
		return ret;
	next->gen = cur->gen + 1;
	next->time_ns = now_ns();
	ret = edit(ctx, cur, next);
	if (!ret && !snaplist_newest(next))
		ret = -ENOENT;
	if (!ret)
		ret = snaplist_encode(s, next, &obj, &len);
	if (!ret) {
		snaplist_hash((const uint8_t *)obj, len, next->hash);
		snaplist_key(next->gen, key);
		ret = remote_put(store_remote(s), key, obj, len, REMOTE_CREATE_ONLY);
	}
	if (!ret)
		ret = publish_head(s, next, valid_for_s);
	free(obj);
	return ret;
}

int snaplist_update(struct store *s, snaplist_edit_fn edit, void *ctx, int64_t valid_for_s,
		    struct snaplist *out)
{
	int ret = -EAGAIN;

	if (!store_can_seal(s))
		return -EPERM;
	for (int i = 0; i < UPDATE_TRIES; i++) {
		struct snaplist cur, next = {0};
		ret = snaplist_current(s, &cur);
		if (!ret)
			ret = try_publish(s, &cur, edit, ctx, valid_for_s, &next);
		snaplist_clear(&cur);
		if (ret == -EEXIST) { /* another writer took this generation: build on theirs */
			snaplist_clear(&next);
			log_info("snapshot list: generation taken by another writer; retrying");
			continue;
		}
		if (!ret)
			ret = carry_forward(s, next.gen, valid_for_s);
		if (!ret && out)
			*out = next;
		else
			snaplist_clear(&next);
		return ret;
	}
	log_err("snapshot list: gave up after %d generations were taken by other writers",
		UPDATE_TRIES);
	return -EAGAIN;
}
