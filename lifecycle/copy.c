/* copy: SRC's live state to DST, object by object, the head last (see copy.h). */
#include "copy.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "keylist.h"
#include "log.h"
#include "packset.h"
#include "par.h"
#include "reloc.h"
#include "root.h"
#include "snaplist.h"
#include "store_write.h"
#include "walk.h"

#define SMALL_MAX  (1u << 20)
#define OBJECT_MAX (128u << 20) /* a pack: its target plus one record of up to 64 MiB */

enum kind { K_PACK, K_INDEX, K_SNAP, K_KEY, K_DESC, K_ROOT, K_LIST, K_HEAD };

struct obj {
	char key[96];
	enum kind kind;
	bool at_dst;  /* DST had it before we began */
	uint64_t len; /* bytes copied (or, skipped: unknown until checked) */
	int res;
};

struct copier {
	const struct copy_src *src;
	struct remote *dst;
	const struct copy_opts *o;
	struct copy_result *r;
	struct head h;
	uint8_t *head_obj, *desc_obj;
	size_t head_len, desc_len;
	struct snaplist live; /* the list the head names (gen 0: a store before lists) */
	/* SRC's root document (FORMAT.md 19), verified from the pinned key: its keys check
	 * what is copied, and its versions are copied too (hashes of the verified bytes) */
	struct root root; /* version 0: none, the pinned key signs everything */
	uint8_t (*root_hash)[ID_LEN];
	uint8_t (*snaps)[ID_LEN]; /* the snapshots to copy */
	size_t nsnaps;
	struct obj *v; /* every object to copy, in phase order */
	size_t n, cap;
	char **dst_keys; /* what DST holds, sorted */
	bool dst_desc;	 /* DST holds this store's descriptor */
	size_t ndst;
	pthread_mutex_t lock; /* guards prog */
	struct copy_progress prog;
};

/* ---- key lists ---- */

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool at_dst(const struct copier *c, const char *key)
{
	return c->ndst && bsearch(&key, c->dst_keys, c->ndst, sizeof(char *), strp_cmp);
}

static int add(struct copier *c, const char *key, enum kind kind)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		struct obj *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	struct obj *x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->key, sizeof(x->key), "%s", key);
	x->kind = kind;
	x->at_dst = kind == K_DESC ? c->dst_desc : at_dst(c, key);
	return 0;
}

/* ---- sources ---- */

int copy_src_store(struct store *s, const struct trust_opts *trust, struct copy_src *out)
{
	memset(out, 0, sizeof(*out));
	out->r = store_remote(s);
	out->s = s;
	out->trust = trust;
	snprintf(out->sid_hex, sizeof(out->sid_hex), "%s", store_id_hex(s));
	hex_decode(out->sid_hex, out->sid, STORE_ID_LEN);
	memcpy(out->pk, store_anchor_pk(s), SIGN_PK_LEN);
	return 0;
}

int copy_src_keyless(struct remote *r, const struct trust_opts *trust, struct copy_src *out)
{
	uint8_t *d = NULL;
	size_t n;
	char *state;
	int ret = remote_get(r, STORE_KEY_DESCRIPTOR, 0, 0, SMALL_MAX, &d, &n);

	memset(out, 0, sizeof(*out));
	out->r = r;
	out->trust = trust;
	if (ret)
		return ret;
	ret = store_descriptor_check(d, n, out->sid, out->pk);
	free(d);
	if (ret)
		return ret;
	hex_encode(out->sid, STORE_ID_LEN, out->sid_hex);
	state = trust_state_path(trust, out->sid_hex);
	if (!(trust && trust->trust_fpr) && (!state || access(state, R_OK))) {
		log_err("store %s: a copy without the store's keys needs the sealer's key pinned: "
			"--trust FINGERPRINT (see 'embassy init'), or a state file from an earlier "
			"read of this store",
			out->sid_hex);
		ret = -ENOKEY;
	}
	free(state);
	return ret ? ret : trust_check_key(trust, out->sid_hex, out->pk, false);
}

/* ---- what SRC holds ---- */

/* Walk SRC's root versions 1, 2, … from the pinned key, as a reader does (store_root.c). */
static int read_src_roots(struct copier *c)
{
	struct root next;
	char key[32];
	int ret = 0;

	for (uint64_t v = 1; !ret && v <= ROOT_CHAIN_MAX + 1; v++) {
		uint8_t *d = NULL;
		size_t n;
		root_object_name(v, key);
		ret = remote_get(c->src->r, key, 0, 0, ROOT_OBJECT_MAX, &d, &n);
		if (ret == -ENOENT)
			return 0;
		if (!ret && v > ROOT_CHAIN_MAX)
			ret = -ELOOP;
		if (!ret && !c->root_hash && !(c->root_hash = calloc(ROOT_CHAIN_MAX, ID_LEN)))
			ret = -ENOMEM;
		if (!ret && !(ret = root_decode(d, n, &next)) &&
		    (v == 1 ? root_verify_first(&next, c->src->sid, c->src->pk)
			    : root_verify_next(&c->root, &next))) {
			root_clear(&next);
			ret = -EBADMSG;
		}
		if (!ret) {
			crypto_generichash(c->root_hash[v - 1], ID_LEN, d, n, NULL, 0);
			root_clear(&c->root);
			c->root = next;
		}
		free(d);
	}
	if (ret)
		log_err("%s of the source does not verify: not copied (%s)", key, strerror(-ret));
	return ret;
}

/* The keys that may sign a head (which: 0) or a list (1): the root's, else the pinned one. */
static const uint8_t *src_key(const struct copier *c, int which)
{
	if (!c->root.version)
		return c->src->pk;
	return which == 1 ? c->root.snapshot_pk : c->root.timestamp_pk;
}

/* A head of SRC's chain: signed by the snapshot key or the timestamp key; with old: also by
 * a retired key or the pinned one (DST's head, from before a rotation). */
static int head_decode(const struct copier *c, const uint8_t *d, size_t n, bool old, struct head *h)
{
	int ret = store_head_decode(c->src->sid, src_key(c, 1), d, n, h);

	if (ret == -EBADMSG && c->root.version)
		ret = store_head_decode(c->src->sid, src_key(c, 0), d, n, h);
	for (unsigned i = 0; old && ret == -EBADMSG && i < c->root.nretired; i++)
		ret = store_head_decode(c->src->sid, c->root.retired[i].pk, d, n, h);
	if (old && ret == -EBADMSG && c->root.version)
		ret = store_head_decode(c->src->sid, c->src->pk, d, n, h);
	return ret;
}

static int read_src_head(struct copier *c)
{
	const struct copy_src *s = c->src;
	/* several embassies as SRC: the newest head that verifies (store_heads.c) */
	int ret =
	    remote_mirrors(s->r) > 1
		? store_head_newest(s->r, s->sid, src_key(c, 1),
				    c->root.version ? src_key(c, 0) : NULL, &c->head_obj,
				    &c->head_len)
		: remote_get(s->r, STORE_KEY_HEAD, 0, 0, SMALL_MAX, &c->head_obj, &c->head_len);
	if (ret)
		return ret == -ENOENT ? trust_check_missing_head(s->trust, s->sid_hex) : ret;
	ret = head_decode(c, c->head_obj, c->head_len, false, &c->h);
	if (ret == -EBADMSG)
		log_err("%s of the source does not verify", STORE_KEY_HEAD);
	return ret ? ret : trust_check_head(s->trust, s->sid_hex, s->pk, &c->h);
}

static int read_src_list(struct copier *c)
{
	const struct copy_src *s = c->src;
	char key[40];
	uint8_t *obj = NULL, h[ID_LEN];
	size_t n;
	int ret;

	if (!c->h.has_list)
		return 0;
	snaplist_key(c->h.gen, key);
	ret = remote_get(s->r, key, 0, 0, SNAPLIST_MAX, &obj, &n);
	if (!ret) {
		snaplist_hash(obj, n, h);
		ret = sodium_memcmp(h, c->h.list, ID_LEN) ? -EBADMSG : 0;
	}
	if (!ret)
		ret = snaplist_decode(s->sid, src_key(c, 1), c->h.gen, obj, n, &c->live);
	if (!ret && (!snaplist_newest(&c->live) ||
		     memcmp(snaplist_newest(&c->live)->id, c->h.snapshot, ID_LEN)))
		ret = -EBADMSG;
	if (ret == -EBADMSG || ret == -ENOENT)
		log_err("%s of the source is missing or does not verify", key);
	free(obj);
	return ret == -ENOENT ? -EBADMSG : ret;
}

/* The snapshots to copy: the list's, a subset of it, or (a store before lists) every
 * manifest under snapshots/. */
static int pick_snapshots(struct copier *c)
{
	struct keylist k = {0};
	int ret = 0;

	if (c->o->nsnapshots || c->live.gen) {
		size_t n = c->o->nsnapshots ? c->o->nsnapshots : c->live.nsnaps;
		c->snaps = calloc(n ? n : 1, ID_LEN);
		if (!c->snaps)
			return -ENOMEM;
	}
	for (size_t i = 0; !c->o->nsnapshots && i < c->live.nsnaps; i++)
		memcpy(c->snaps[c->nsnaps++], c->live.snaps[i].id, ID_LEN);
	for (size_t i = 0; !ret && i < c->o->nsnapshots; i++) {
		struct snapshot sn;
		ret = store_resolve_snapshot(c->src->s, c->o->snapshots[i], &sn);
		if (!ret) {
			memcpy(c->snaps[c->nsnaps++], sn.id, ID_LEN);
			snapshot_clear(&sn);
		}
	}
	if (ret || c->o->nsnapshots || c->live.gen)
		return ret;
	ret = remote_list(c->src->r, "snapshots/", keylist_collect, &k); /* before lists: all */
	c->snaps = calloc(k.n ? k.n : 1, ID_LEN);
	for (size_t i = 0; ret >= 0 && c->snaps && i < k.n; i++)
		if (strlen(k.v[i]) == 10 + 2 * ID_LEN &&
		    !hex_decode(k.v[i] + 10, c->snaps[c->nsnaps], ID_LEN))
			c->nsnaps++;
	keylist_free(&k);
	return ret < 0 ? ret : c->snaps ? 0 : -ENOMEM;
}

/* ---- what DST holds ---- */

static int read_dst(struct copier *c)
{
	static const char *const prefixes[] = {"packs/", "index/",	  "snapshots/", "keys/",
					       "roots/", SNAPLIST_PREFIX, RELOC_PREFIX};
	struct keylist k = {0};
	int ret = 0;
	for (size_t i = 0; ret >= 0 && i < sizeof(prefixes) / sizeof(*prefixes); i++)
		ret = remote_list(c->dst, prefixes[i], keylist_collect, &k);
	if (ret < 0) {
		keylist_free(&k);
		return ret;
	}
	if (k.n)
		qsort(k.v, k.n, sizeof(*k.v), strp_cmp);
	c->dst_keys = k.v;
	c->ndst = k.n;
	return 0;
}

/* DST must be this store, and not ahead of SRC. */
static int check_dst(struct copier *c)
{
	uint8_t *d = NULL;
	struct head dh;
	size_t n;
	int ret = remote_get(c->dst, STORE_KEY_DESCRIPTOR, 0, 0, SMALL_MAX, &d, &n);

	c->dst_desc = !ret;
	if (!ret && (n != c->desc_len || memcmp(d, c->desc_obj, n))) {
		log_err("the destination holds another store (its %s differs)",
			STORE_KEY_DESCRIPTOR);
		ret = -EEXIST;
	}
	free(d);
	d = NULL;
	if (ret && ret != -ENOENT)
		return ret;
	ret = remote_get(c->dst, STORE_KEY_HEAD, 0, 0, SMALL_MAX, &d, &n);
	if (ret == -ENOENT)
		return 0;
	if (!ret)
		ret = head_decode(c, d, n, true, &dh);
	free(d);
	if (ret == -EBADMSG)
		log_err("the destination's head pointer does not verify: refusing to build on it");
	if (ret)
		return ret;
	bool ahead = dh.has_list ? (!c->h.has_list || dh.gen > c->h.gen ||
				    (dh.gen == c->h.gen && memcmp(dh.list, c->h.list, ID_LEN)))
				 : (!c->h.has_list && dh.seq > c->h.seq);
	if (ahead) {
		log_err("the destination is ahead of the source or diverged from it (list "
			"generation %llu, sequence %llu; the source: %llu, %llu): copying would "
			"roll it back",
			(unsigned long long)dh.gen, (unsigned long long)dh.seq,
			(unsigned long long)c->h.gen, (unsigned long long)c->h.seq);
		return -ESTALE;
	}
	return 0;
}

/* ---- the object set ---- */

struct pack_keys {
	struct copier *c;
	int ret;
};

static int add_pack(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t bytes)
{
	struct pack_keys *pk = ctx;
	char key[64];
	(void)bytes;
	store_pack_key(pack, key);
	pk->c->r->packs++;
	return add(pk->c, key, K_PACK);
}

static int note_tree(void *ctx, const struct rec_ref *ref, const struct tree *t)
{
	struct packset *used = ctx;
	int ret = packset_add(used, ref->pack, 0);
	for (size_t i = 0; !ret && i < t->n; i++)
		for (size_t k = 0; !ret && k < t->e[i].nchunks; k++)
			ret = packset_add(used, t->e[i].chunks[k].rec.pack, 0);
	return ret;
}

/* With a read key: the packs the copied snapshots use. */
static int add_used_packs(struct copier *c)
{
	struct packset *used = packset_new();
	struct dedup *seen = NULL;
	struct pack_keys pk = {.c = c};
	int ret = used ? dedup_new(&seen) : -ENOMEM;
	for (size_t i = 0; !ret && i < c->nsnaps; i++) {
		struct snapshot sn;
		ret = store_read_snapshot(c->src->s, c->snaps[i], &sn);
		if (!ret)
			ret = walk_trees(c->src->s, &sn.root, 1, seen, note_tree, used);
		if (!ret)
			snapshot_clear(&sn);
	}
	if (!ret)
		ret = packset_each(used, add_pack, &pk);
	packset_free(used);
	dedup_free(seen);
	return ret;
}

static int add_listed(struct copier *c, const char *prefix, enum kind kind)
{
	struct keylist k = {0};
	int ret = remote_list(c->src->r, prefix, keylist_collect, &k);
	for (size_t i = 0; ret >= 0 && i < k.n; i++) {
		ret = add(c, k.v[i], kind);
		if (kind == K_PACK)
			c->r->packs++;
	}
	keylist_free(&k);
	return ret < 0 ? ret : 0;
}

static int build_set(struct copier *c)
{
	char key[96], idh[2 * ID_LEN + 1];
	int ret = c->src->s ? add_used_packs(c) : add_listed(c, "packs/", K_PACK);
	if (!ret)
		ret = add_listed(c, "index/", K_INDEX);
	for (size_t i = 0; !ret && i < c->nsnaps; i++) {
		hex_encode(c->snaps[i], ID_LEN, idh);
		snprintf(key, sizeof(key), "snapshots/%s", idh);
		ret = add(c, key, K_SNAP);
	}
	c->r->snapshots = c->nsnaps;
	if (!ret)
		ret = add_listed(c, "keys/", K_KEY);
	if (!ret)
		ret = add(c, STORE_KEY_DESCRIPTOR, K_DESC);
	for (uint64_t v = 1; !ret && v <= c->root.version; v++) { /* in order: none skipped */
		root_object_name(v, key);
		ret = add(c, key, K_ROOT);
	}
	if (!ret && !c->o->nsnapshots && c->live.gen) {
		snaplist_key(c->live.gen, key);
		ret = add(c, key, K_LIST);
	}
	/* prune's relocation table (FORMAT 16.3.1): with the data, before the list naming it */
	if (!ret && !c->o->nsnapshots && c->live.has_reloc) {
		reloc_key(c->live.reloc, key);
		ret = add(c, key, K_INDEX);
	}
	if (!ret && !c->o->nsnapshots)
		ret = add(c, STORE_KEY_HEAD, K_HEAD);
	return ret;
}

/* ---- transfers ---- */

/* Signed objects are checked on the way: a host serving SRC cannot slip anything into DST
 * that a reader of DST would not refuse anyway, but the copy should fail loudly. */
static int check_object(struct copier *c, const struct obj *x, const uint8_t *d, size_t n)
{
	uint8_t id[ID_LEN], h[ID_LEN];
	switch (x->kind) {
	case K_SNAP: { /* by the snapshot key, or a retired one (readers check the sequence) */
		if (hex_decode(x->key + 10, id, ID_LEN))
			return -EBADMSG;
		int ret = store_snapshot_check(c->src->sid, src_key(c, 1), id, d, n);
		for (unsigned i = 0; ret == -EBADMSG && i < c->root.nretired; i++)
			ret = store_snapshot_check(c->src->sid, c->root.retired[i].pk, id, d, n);
		return ret;
	}
	case K_ROOT: /* the bytes verified at the start */
		crypto_generichash(h, ID_LEN, d, n, NULL, 0);
		return sodium_memcmp(h, c->root_hash[strtoull(x->key + 6, NULL, 16) - 1], ID_LEN)
			   ? -EBADMSG
			   : 0;
	case K_LIST:
		snaplist_hash(d, n, h);
		return sodium_memcmp(h, c->h.list, ID_LEN) ? -EBADMSG : 0;
	case K_INDEX: /* a relocation table is named by the hash the signed list names */
		if (strncmp(x->key, RELOC_PREFIX, strlen(RELOC_PREFIX)))
			return 0;
		snaplist_hash(d, n, h);
		return sodium_memcmp(h, c->live.reloc, ID_LEN) ? -EBADMSG : 0;
	case K_DESC:
		return n == c->desc_len && !memcmp(d, c->desc_obj, n) ? 0 : -EBADMSG;
	default:
		return 0;
	}
}

static size_t max_len(enum kind k)
{
	return k == K_PACK || k == K_INDEX ? OBJECT_MAX : k == K_LIST ? SNAPLIST_MAX : SMALL_MAX;
}

static void report(struct copier *c, uint64_t bytes)
{
	pthread_mutex_lock(&c->lock);
	c->prog.objects_done++;
	c->prog.bytes_done += bytes;
	if (c->o->progress)
		c->o->progress(c->o->progress_ctx, &c->prog);
	pthread_mutex_unlock(&c->lock);
}

static int transfer(struct copier *c, struct obj *x)
{
	uint8_t *d = NULL;
	size_t n = 0;
	uint64_t size;
	int ret;

	if (x->kind == K_HEAD) { /* what we verified at the start, not what is there now */
		d = c->head_obj;
		n = c->head_len;
		ret = 0;
	} else {
		ret = remote_get(c->src->r, x->key, 0, 0, max_len(x->kind), &d, &n);
	}
	if (!ret && (ret = check_object(c, x, d, n)))
		log_err("%s: does not verify at the source; not copied", x->key);
	if (!ret)
		ret = remote_put(c->dst, x->key, d, n, x->kind == K_HEAD ? 0 : REMOTE_CREATE_ONLY);
	if (ret == -EEXIST)
		log_err("%s: the destination holds different bytes under this name", x->key);
	if (!ret) /* what arrived is whole */
		ret = remote_stat(c->dst, x->key, &size);
	if (!ret && size != n) {
		log_err("%s: the destination stored %llu bytes of %zu", x->key,
			(unsigned long long)size, n);
		ret = -EIO;
	}
	if (d != c->head_obj)
		free(d);
	x->len = n;
	return ret;
}

struct phase_ctx {
	struct copier *c;
	size_t base;
};

static void transfer_one(void *ctx, size_t i)
{
	struct phase_ctx *p = ctx;
	struct obj *x = &p->c->v[p->base + i];
	if (x->at_dst && x->kind != K_HEAD) {
		report(p->c, 0);
		return;
	}
	x->res = transfer(p->c, x);
	report(p->c, x->res ? 0 : x->len);
}

/* Objects of kind k in parallel; then the first error. Phases keep the order that makes
 * every state of DST valid: data, manifests, key entries, descriptor, list, head. */
static int phase(struct copier *c, enum kind k)
{
	size_t a = 0, b;
	while (a < c->n && c->v[a].kind < k)
		a++;
	for (b = a; b < c->n && c->v[b].kind == k; b++)
		;
	par_for(b - a, c->o->parallel > 0 ? c->o->parallel : 4, transfer_one,
		&(struct phase_ctx){.c = c, .base = a});
	for (size_t i = a; i < b; i++) {
		if (c->v[i].res) {
			log_err("%s: copy failed: %s", c->v[i].key, strerror(-c->v[i].res));
			return c->v[i].res;
		}
		if (c->v[i].at_dst && c->v[i].kind != K_HEAD) {
			c->r->skipped++;
		} else {
			c->r->copied++;
			c->r->bytes_copied += c->v[i].len;
		}
	}
	return 0;
}

static int kind_cmp(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;
	return (int)x->kind - (int)y->kind;
}

/* The head last, and only when it moves DST forward (a repeated copy rewrites nothing). */
static bool head_needed(struct copier *c)
{
	uint8_t *d = NULL;
	size_t n;
	bool same = !remote_get(c->dst, STORE_KEY_HEAD, 0, 0, SMALL_MAX, &d, &n) &&
		    n == c->head_len && !memcmp(d, c->head_obj, n);
	free(d);
	return !same;
}

/* ---- after the copy: what a reader of DST will see ---- */

static int verify_dst(struct copier *c)
{
	uint8_t *d = NULL;
	size_t n;
	struct head dh;
	int ret = 0;

	for (size_t i = 0; !ret && i < c->n; i++) {
		struct obj *x = &c->v[i];
		uint64_t size, want;
		if (x->kind != K_PACK || !x->at_dst)
			continue; /* copied ones were checked as they went */
		ret = remote_stat(c->dst, x->key, &size);
		if (!ret)
			ret = remote_stat(c->src->r, x->key, &want);
		if (ret == -ENOENT)
			ret = 0; /* gone at SRC meanwhile: not ours to judge */
		else if (!ret && size != want) {
			log_err("%s: %llu bytes at the destination, %llu at the source", x->key,
				(unsigned long long)size, (unsigned long long)want);
			ret = -EBADMSG;
		}
	}
	if (ret || c->o->nsnapshots)
		return ret;
	ret = remote_get(c->dst, STORE_KEY_HEAD, 0, 0, SMALL_MAX, &d, &n);
	if (!ret)
		ret = head_decode(c, d, n, false, &dh);
	if (!ret && (dh.seq != c->h.seq || dh.gen != c->h.gen))
		ret = -EBADMSG;
	free(d);
	if (ret)
		log_err("the destination's head pointer is not the one copied");
	return ret;
}

static void copier_free(struct copier *c)
{
	free(c->head_obj);
	free(c->desc_obj);
	snaplist_clear(&c->live);
	root_clear(&c->root);
	free(c->root_hash);
	free(c->snaps);
	free(c->v);
	for (size_t i = 0; i < c->ndst; i++)
		free(c->dst_keys[i]);
	free(c->dst_keys);
	pthread_mutex_destroy(&c->lock);
}

static int prepare(struct copier *c)
{
	int ret = remote_get(c->src->r, STORE_KEY_DESCRIPTOR, 0, 0, SMALL_MAX, &c->desc_obj,
			     &c->desc_len);
	uint8_t sid[STORE_ID_LEN], pk[SIGN_PK_LEN];

	if (!ret && (store_descriptor_check(c->desc_obj, c->desc_len, sid, pk) ||
		     memcmp(sid, c->src->sid, STORE_ID_LEN) || memcmp(pk, c->src->pk, SIGN_PK_LEN)))
		ret = -EBADMSG;
	if (!ret)
		ret = read_src_roots(c);
	if (!ret)
		ret = read_src_head(c);
	if (!ret)
		ret = read_src_list(c);
	if (!ret && c->o->nsnapshots && !c->src->s) {
		log_err("copying chosen snapshots needs a read key (to find their data)");
		ret = -EINVAL;
	}
	if (!ret)
		ret = pick_snapshots(c);
	if (!ret)
		ret = check_dst(c);
	if (!ret)
		ret = read_dst(c);
	if (!ret)
		ret = build_set(c);
	if (!ret && c->n)
		qsort(c->v, c->n, sizeof(*c->v), kind_cmp);
	return ret;
}

int copy_run(const struct copy_src *src, struct remote *dst, const struct copy_opts *o,
	     struct copy_result *res)
{
	struct copier c = {.src = src, .dst = dst, .o = o, .r = res};
	int ret;

	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&c.lock, NULL);
	ret = prepare(&c);
	res->objects = c.n;
	res->gen = c.h.gen;
	res->seq = c.h.seq;
	c.prog.objects_total = c.n;
	for (size_t i = 0; !ret && o->dry_run && i < c.n; i++)
		res->copied += !c.v[i].at_dst && (c.v[i].kind != K_HEAD || head_needed(&c));
	if (!ret && o->dry_run) {
		res->skipped = c.n - res->copied;
		goto out;
	}
	for (enum kind k = K_PACK; !ret && k < K_HEAD; k++)
		ret = phase(&c, k);
	if (!ret && !o->nsnapshots && head_needed(&c)) {
		ret = phase(&c, K_HEAD);
		res->head_copied = !ret;
	} else if (!ret && !o->nsnapshots) {
		res->skipped++;
	}
	if (!ret)
		ret = verify_dst(&c);
out:
	copier_free(&c);
	return ret;
}
