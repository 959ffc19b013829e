/* store_snap: snapshot manifests and the head pointer (docs/FORMAT.md, "Snapshots", "Head"). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "refjson.h"
#include "root.h"
#include "rootmeta.h"
#include "store_int.h"

#define SNAP_HDR (8 + SIGN_LEN)

void snapshot_clear(struct snapshot *sn)
{
	for (size_t i = 0; i < sn->ntags; i++)
		free(sn->tags[i]);
	free(sn->tags);
	tree_entry_clear(&sn->root_meta);
	memset(sn, 0, sizeof(*sn));
}

static json_t *manifest_json(const struct store *s, const struct snapshot *sn)
{
	char parent[2 * ID_LEN + 1];
	json_t *tags = json_array(), *m;
	for (size_t i = 0; tags && i < sn->ntags; i++)
		json_array_append_new(tags, json_string(sn->tags[i]));
	m = json_pack("{s:i s:s s:I s:I s:s s:o s:o s:I s:I s:I}", "v", 1, "store_id",
		      s->store_id_hex, "seq", (json_int_t)sn->seq, "time", (json_int_t)sn->time_ns,
		      "host", sn->host, "tags", tags, "root", refjson_ref(&sn->root), "files",
		      (json_int_t)sn->files, "dirs", (json_int_t)sn->dirs, "bytes",
		      (json_int_t)sn->bytes);
	if (m && sn->has_xattr_count)
		json_object_set_new(m, "xattrs", json_integer((json_int_t)sn->xattr_entries));
	/* epoch 0 writes no member: a store never rotated seals what it always did */
	if (m && keys_epoch(s->keys))
		json_object_set_new(m, "epoch", json_integer((json_int_t)keys_epoch(s->keys)));
	if (m && sn->has_parent) {
		hex_encode(sn->parent, ID_LEN, parent);
		json_object_set_new(m, "parent", json_string(parent));
	}
	if (m && sn->has_merged) {
		hex_encode(sn->merged, ID_LEN, parent);
		json_object_set_new(m, "merged", json_string(parent));
	}
	if (m && sn->has_source) {
		char src[2 * SNAP_SOURCE_LEN + 1];
		hex_encode(sn->source, SNAP_SOURCE_LEN, src);
		json_object_set_new(m, "source", json_string(src));
		json_object_set_new(m, "started", json_integer((json_int_t)sn->started_ns));
	}
	if (m && sn->has_root_meta &&
	    json_object_set_new(m, "root_meta", rootmeta_encode(&sn->root_meta))) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/* What the signature covers: store id || snapshot id || the sealed record. */
static uint8_t *signed_msg(const struct store *s, const uint8_t *id, const uint8_t *rec, size_t len,
			   size_t *mlen)
{
	uint8_t *m = malloc(STORE_ID_LEN + ID_LEN + len);
	if (!m)
		return NULL;
	memcpy(m, s->store_id, STORE_ID_LEN);
	memcpy(m + STORE_ID_LEN, id, ID_LEN);
	memcpy(m + STORE_ID_LEN + ID_LEN, rec, len);
	*mlen = STORE_ID_LEN + ID_LEN + len;
	return m;
}

int store_write_snapshot(struct store *s, struct snapshot *sn)
{
	json_t *m = manifest_json(s, sn);
	char *text = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	uint8_t *rec = NULL, *obj = NULL, *msg = NULL;
	size_t rlen, mlen;
	char key[128], idhex[2 * ID_LEN + 1];
	int ret = -ENOMEM;

	if (!text)
		goto out;
	record_id(s->keys, REC_MANIFEST, text, strlen(text), sn->id);
	ret = record_seal(s->keys, REC_MANIFEST, sn->id, text, strlen(text), 3, &rec, &rlen);
	if (ret)
		goto out;
	ret = -ENOMEM;
	obj = malloc(SNAP_HDR + rlen);
	msg = signed_msg(s, sn->id, rec, rlen, &mlen);
	if (!obj || !msg)
		goto out;
	memcpy(obj, SNAP_MAGIC, 8);
	ret = sign_detached(s->sign_sk, SIGCTX_SNAPSHOT, msg, mlen, obj + 8);
	if (ret)
		goto out;
	memcpy(obj + SNAP_HDR, rec, rlen);
	hex_encode(sn->id, ID_LEN, idhex);
	snprintf(key, sizeof(key), "snapshots/%s", idhex);
	ret = remote_put(s->remote, key, obj, SNAP_HDR + rlen, REMOTE_CREATE_ONLY);
out:
	free(msg);
	free(obj);
	free(rec);
	free(text);
	json_decref(m);
	return ret;
}

static int parse_tags(const json_t *a, struct snapshot *sn)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n > 256)
		return -EBADMSG;
	sn->tags = calloc(n ? n : 1, sizeof(char *));
	if (!sn->tags)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *t = json_string_value(json_array_get(a, i));
		if (!t || !(sn->tags[i] = strdup(t)))
			return -EBADMSG;
		sn->ntags++;
	}
	return 0;
}

static int parse_manifest(const struct store *s, const uint8_t *text, size_t len,
			  struct snapshot *sn)
{
	json_t *m = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
	uint8_t sid[STORE_ID_LEN];
	const json_t *t = json_object_get(m, "time"), *p = json_object_get(m, "parent");
	const char *host = json_string_value(json_object_get(m, "host"));
	int ret = -EBADMSG;

	if (!json_is_object(m) || json_integer_value(json_object_get(m, "v")) != 1 ||
	    refjson_get_hex(m, "store_id", sid, STORE_ID_LEN) ||
	    memcmp(sid, s->store_id, STORE_ID_LEN) ||
	    refjson_get_uint(m, "seq", INT64_MAX, &sn->seq) || !json_is_integer(t) || !host ||
	    refjson_get_ref(json_object_get(m, "root"), &sn->root) ||
	    refjson_get_uint(m, "files", INT64_MAX, &sn->files) ||
	    refjson_get_uint(m, "dirs", INT64_MAX, &sn->dirs) ||
	    refjson_get_uint(m, "bytes", INT64_MAX, &sn->bytes))
		goto out;
	sn->time_ns = json_integer_value(t);
	snprintf(sn->host, sizeof(sn->host), "%s", host);
	if (p) {
		if (refjson_get_hex(m, "parent", sn->parent, ID_LEN))
			goto out;
		sn->has_parent = true;
	}
	if (json_object_get(m, "xattrs")) {
		if (refjson_get_uint(m, "xattrs", INT64_MAX, &sn->xattr_entries))
			goto out;
		sn->has_xattr_count = true;
	}
	if (json_object_get(m, "merged")) {
		if (refjson_get_hex(m, "merged", sn->merged, ID_LEN))
			goto out;
		sn->has_merged = true;
	}
	if (json_object_get(m, "epoch")) {
		uint64_t e;
		if (refjson_get_uint(m, "epoch", KEY_EPOCH_MAX, &e) || e == 0)
			goto out;
		sn->epoch = (unsigned)e;
	}
	if (json_object_get(m, "source") || json_object_get(m, "started")) {
		const json_t *st = json_object_get(m, "started");
		if (refjson_get_hex(m, "source", sn->source, SNAP_SOURCE_LEN) ||
		    !json_is_integer(st))
			goto out;
		sn->started_ns = json_integer_value(st);
		sn->has_source = true;
	}
	if (json_object_get(m, "root_meta")) {
		sn->has_root_meta = true; /* so that snapshot_clear frees a partial decode */
		ret = rootmeta_decode(json_object_get(m, "root_meta"), &sn->root_meta);
		if (ret)
			goto out;
	}
	ret = parse_tags(json_object_get(m, "tags"), sn);
out:
	json_decref(m);
	return ret;
}

int store_snapshot_check(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN],
			 const uint8_t id[ID_LEN], const uint8_t *obj, size_t n)
{
	uint8_t *msg;
	size_t mlen, rlen = n - SNAP_HDR;
	int ret;

	if (n < SNAP_HDR + RECORD_OVERHEAD || memcmp(obj, SNAP_MAGIC, 8))
		return -EBADMSG;
	msg = malloc(STORE_ID_LEN + ID_LEN + rlen);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, sid, STORE_ID_LEN);
	memcpy(msg + STORE_ID_LEN, id, ID_LEN);
	memcpy(msg + STORE_ID_LEN + ID_LEN, obj + SNAP_HDR, rlen);
	mlen = STORE_ID_LEN + ID_LEN + rlen;
	ret = sign_verify(pk, SIGCTX_SNAPSHOT, msg, mlen, obj + 8);
	free(msg);
	return ret;
}

/* A host can serve any number of manifests that do not verify: the first ones are named, the
 * rest only counted by the callers' summaries (a flood must not flood the terminal or log). */
#define BAD_MANIFESTS_NAMED 20
static atomic_uint bad_manifests;

static void log_bad_manifest(const char *idhex)
{
	unsigned k = atomic_fetch_add(&bad_manifests, 1);
	if (k < BAD_MANIFESTS_NAMED)
		log_err("snapshot %s: signature or record does not verify", idhex);
	else if (k == BAD_MANIFESTS_NAMED)
		log_err("more snapshot manifests do not verify: not named one by one");
}

/* Which key signed a snapshot: the current snapshot key, or one a root document retired
 * (valid only up to the sequence the rotation named, checked once the manifest is open).
 * *retired: the index of that retired key, -1 for the current one. */
static int snapshot_signer(const struct store *s, const uint8_t id[ID_LEN], const uint8_t *obj,
			   size_t n, int *retired)
{
	int ret = store_snapshot_check(s->store_id, s->snap_pk, id, obj, n);
	*retired = -1;
	for (unsigned i = 0; ret == -EBADMSG && s->root && i < s->root->nretired; i++)
		if (!store_snapshot_check(s->store_id, s->root->retired[i].pk, id, obj, n)) {
			*retired = (int)i;
			ret = 0;
		}
	return ret;
}

static int retired_ok(const struct store *s, int retired, const struct snapshot *sn)
{
	const struct root_retired *r = retired < 0 ? NULL : &s->root->retired[retired];
	if (!r || sn->seq <= r->max_seq)
		return 0;
	log_err("snapshot with sequence %llu is signed by a snapshot key that root document "
		"version %llu retired after sequence %llu: refusing (signed with a stolen key?)",
		(unsigned long long)sn->seq, (unsigned long long)s->root->version,
		(unsigned long long)r->max_seq);
	return -EBADMSG;
}

/* Open a manifest whose signature verified. If no key epoch held opens it, the sealer sealed
 * it under an epoch this credential was not given (FORMAT.md 2.4): -EKEYREVOKED, said once. */
static int open_manifest(struct store *s, const char *idhex, const uint8_t id[ID_LEN],
			 const uint8_t *obj, size_t n, uint8_t **plain, size_t *plen,
			 unsigned *epoch)
{
	uint8_t *base = NULL;
	int ret = record_open_epoch(s->keys, REC_MANIFEST, id, obj + SNAP_HDR, n - SNAP_HDR,
				    SMALL_OBJECT_MAX, 1, &base, plen, epoch);

	if (ret == -EBADMSG) {
		log_info(
		    "snapshot %s is signed by the sealer but sealed under a key epoch this key "
		    "does not hold (it holds epochs 0 to %u)",
		    idhex, keys_epoch(s->keys));
		return -EKEYREVOKED;
	}
	if (ret)
		return ret;
	memmove(base, base + 1, *plen);
	*plain = base;
	return 0;
}

void store_note_epoch_hidden(void)
{
	static atomic_uint said;
	if (!atomic_fetch_add(&said, 1))
		log_warn(
		    "snapshots sealed under a key epoch this key does not hold are not shown: "
		    "the key was left out of a key rotation ('embassy key rotate'), or the store "
		    "serves an outdated key entry");
}

int store_read_snapshot(struct store *s, const uint8_t id[ID_LEN], struct snapshot *sn)
{
	int retired;
	char key[128], idhex[2 * ID_LEN + 1];
	uint8_t *obj = NULL, *plain = NULL;
	size_t n, plen;
	unsigned epoch = 0;
	int ret, retry;

	memset(sn, 0, sizeof(*sn));
	hex_encode(id, ID_LEN, idhex);
	snprintf(key, sizeof(key), "snapshots/%s", idhex);
	ret = remote_get(s->remote, key, 0, 0, SMALL_OBJECT_MAX, &obj, &n);
	if (ret)
		return ret;
	ret = snapshot_signer(s, id, obj, n, &retired);
	if (!ret)
		ret = open_manifest(s, idhex, id, obj, n, &plain, &plen, &epoch);
	if (!ret)
		ret = parse_manifest(s, plain, plen, sn);
	if (!ret && (ret = retired_ok(s, retired, sn)))
		snapshot_clear(sn);
	/* the epoch the manifest names is the one whose key opened it: a manifest moved to
	 * another epoch's place cannot be, it is signed; this catches a sealer bug */
	if (!ret && sn->epoch != epoch) {
		log_err("snapshot %s names key epoch %u but is sealed under epoch %u", idhex,
			sn->epoch, epoch);
		ret = -EBADMSG;
	}
	if (!ret)
		memcpy(sn->id, id, ID_LEN);
	/* a local copy (the mount's mirror) that fails is fetched again from the store once */
	retry = ret == -EBADMSG && remote_reject(s->remote, key);
	if (ret == -EBADMSG && !retry)
		log_bad_manifest(idhex);
	if (!ret)
		remote_keep(s->remote, key, obj, n); /* verified: the mirror may keep it */
	if (ret)
		snapshot_clear(sn);
	free(plain);
	free(obj);
	return retry ? store_read_snapshot(s, id, sn) : ret;
}

struct idlist {
	uint8_t (*ids)[ID_LEN];
	size_t n, cap;
	const char *prefix; /* only ids whose hex starts with this (NULL: all) */
};

int store_snapnames_bound(size_t n)
{
	if (n < SNAPSHOT_NAMES_MAX)
		return 0;
	log_err("the store lists more than %d snapshot names: not reading them (a broken or "
		"hostile host; a real store is kept far smaller with forget)",
		SNAPSHOT_NAMES_MAX);
	return -E2BIG;
}

static int collect_id(void *ctx, const char *key)
{
	struct idlist *l = ctx;
	const char *name = key + strlen("snapshots/");
	if (strncmp(key, "snapshots/", 10) || strlen(name) != 2 * ID_LEN)
		return 0;
	if (l->prefix && strncmp(name, l->prefix, strlen(l->prefix)))
		return 0;
	if (store_snapnames_bound(l->n))
		return -E2BIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->ids, cap * ID_LEN);
		if (!p)
			return -ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	if (hex_decode(name, l->ids[l->n], ID_LEN))
		return 0; /* not ours: ignore stray objects */
	l->n++;
	return 0;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

struct read_all {
	struct store *s;
	const struct idlist *l;
	struct snapshot *v;
	int *res;
};

static void read_one(void *ctx, size_t i)
{
	struct read_all *r = ctx;
	r->res[i] = store_read_snapshot(r->s, r->l->ids[i], &r->v[i]);
}

/* Manifests are fetched with many requests in flight: over a WAN link a store with hundreds
 * of snapshots would otherwise take a round trip each to list. */
int store_list_manifests(struct store *s, struct snapshot **out, size_t *n, size_t *bad)
{
	struct idlist l = {0};
	struct snapshot *v = NULL;
	int *res = NULL;
	size_t nv = 0, nbad = 0;
	int ret = remote_list(s->remote, "snapshots/", collect_id, &l);

	if (ret < 0)
		goto out;
	v = calloc(l.n ? l.n : 1, sizeof(*v));
	res = calloc(l.n ? l.n : 1, sizeof(int));
	ret = v && res ? 0 : -ENOMEM;
	if (!ret)
		par_for(l.n, 16, read_one, &(struct read_all){.s = s, .l = &l, .v = v, .res = res});
	for (size_t i = 0; !ret && i < l.n; i++)
		if (res[i] && res[i] != -EBADMSG && res[i] != -ENOENT && res[i] != -EKEYREVOKED)
			ret = res[i]; /* e.g. the store is unreachable: no partial list */
	if (ret) {
		for (size_t i = 0; i < l.n; i++)
			if (res[i] == 0)
				snapshot_clear(&v[i]);
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (res[i] == 0)
			v[nv++] = v[i]; /* compact: nv <= i, and the moved-from slot is dropped */
		else if (res[i] != -EKEYREVOKED) /* genuine, of a key epoch not ours */
			nbad++;
		else
			store_note_epoch_hidden();
	}
	if (nv)
		qsort(v, nv, sizeof(*v), snap_cmp);
	*out = v;
	*n = nv;
	if (bad)
		*bad = nbad;
	v = NULL;
out:
	store_free_snapshots(v, nv);
	free(res);
	free(l.ids);
	return ret < 0 ? ret : 0;
}

void store_free_snapshots(struct snapshot *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		snapshot_clear(&v[i]);
	free(v);
}

/* ---- head pointer ---- */

int store_write_head(struct store *s, const struct head *h)
{
	char snap[2 * ID_LEN + 1], list[2 * ID_LEN + 1], *env = NULL;
	json_t *body;
	int ret;

	hex_encode(h->snapshot, ID_LEN, snap);
	body = json_pack("{s:i s:s s:I s:s s:I s:I}", "v", 1, "store_id", s->store_id_hex, "seq",
			 (json_int_t)h->seq, "snapshot", snap, "time", (json_int_t)h->time_ns,
			 "expires", (json_int_t)h->expires_ns);
	if (body && h->has_list) { /* optional members: v1 readers ignore them */
		hex_encode(h->list, ID_LEN, list);
		if (json_object_set_new(body, "gen", json_integer((json_int_t)h->gen)) ||
		    json_object_set_new(body, "list", json_string(list))) {
			json_decref(body);
			body = NULL;
		}
	}
	if (!body)
		return -ENOMEM;
	/* the sealer signs with its snapshot key; refresh-head may hold only the timestamp key */
	ret = store_envelope_sign(s->sign_sk ? s->sign_sk : s->ts_sk, s->format, SIGCTX_HEAD, body,
				  &env);
	if (!ret)
		ret = remote_put(s->remote, HEAD_KEY, env, strlen(env), 0);
	if (!ret)
		trust_remember(&s->trust, s->store_id_hex, s->sign_pk, h->seq,
			       h->has_list ? h->gen : 0);
	free(env);
	json_decref(body);
	return ret;
}

/* gen and list come together or not at all; gen 0 is never written (lists start at 1). */
static int decode_list_ref(const json_t *b, struct head *h)
{
	const json_t *g = json_object_get(b, "gen"), *l = json_object_get(b, "list");
	h->has_list = false;
	h->gen = 0;
	if (!g && !l)
		return 0;
	if (!g || !l || refjson_get_uint(b, "gen", INT64_MAX, &h->gen) || h->gen == 0 ||
	    refjson_get_hex(b, "list", h->list, ID_LEN))
		return -EBADMSG;
	h->has_list = true;
	return 0;
}

int store_head_decode(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN],
		      const uint8_t *data, size_t n, struct head *h)
{
	uint8_t bsid[STORE_ID_LEN];
	json_t *root = NULL, *b = NULL;
	const char *text;
	size_t len;
	int ret = store_envelope_open(data, n, SIGCTX_HEAD, pk, &root, &text, &len);

	if (ret)
		return ret;
	ret = -EBADMSG;
	b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(b, "time"), *e = json_object_get(b, "expires");
	if (json_integer_value(json_object_get(b, "v")) != 1 ||
	    refjson_get_hex(b, "store_id", bsid, STORE_ID_LEN) || memcmp(bsid, sid, STORE_ID_LEN) ||
	    refjson_get_uint(b, "seq", INT64_MAX, &h->seq) ||
	    refjson_get_hex(b, "snapshot", h->snapshot, ID_LEN) || !json_is_integer(t) ||
	    !json_is_integer(e) || decode_list_ref(b, h))
		goto out;
	h->time_ns = json_integer_value(t);
	h->expires_ns = json_integer_value(e);
	ret = 0;
out:
	json_decref(b);
	json_decref(root);
	return ret;
}

int store_read_head(struct store *s, struct head *h)
{
	uint8_t *data = NULL;
	size_t n;
	/* several embassies: the newest head that verifies (store_heads.c) */
	int ret = remote_mirrors(s->remote) > 1
		      ? store_head_newest(s->remote, s->store_id, s->snap_pk,
					  s->root ? s->root->timestamp_pk : NULL, &data, &n)
		      : remote_get(s->remote, HEAD_KEY, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	if (ret == -ENOENT)
		return trust_check_missing_head(&s->trust, s->store_id_hex);
	if (ret)
		return ret;
	ret = store_head_decode(s->store_id, s->snap_pk, data, n, h);
	if (ret == -EBADMSG && s->root) /* or by the root's timestamp key (refresh-head) */
		ret = store_head_decode(s->store_id, s->root->timestamp_pk, data, n, h);
	if (ret == -EBADMSG)
		log_err("%s: head pointer does not verify (forged or from another store)",
			HEAD_KEY);
	if (!ret)
		ret = trust_check_head(&s->trust, s->store_id_hex, s->sign_pk, h);
	if (!ret)
		remote_keep(s->remote, HEAD_KEY, data, n); /* for offline mounts */
	free(data);
	return ret;
}

int store_resolve_snapshot(struct store *s, const char *spec, struct snapshot *out)
{
	struct idlist l = {.prefix = spec};
	struct head h;
	int ret;

	if (!strcmp(spec, "latest")) {
		ret = store_read_head(s, &h);
		if (ret)
			return ret;
		ret = store_read_snapshot(s, h.snapshot, out);
		if (!ret && out->seq != h.seq) {
			log_err(
			    "head pointer names snapshot with sequence %llu, manifest says %llu",
			    (unsigned long long)h.seq, (unsigned long long)out->seq);
			snapshot_clear(out);
			ret = -EBADMSG;
		}
		return ret;
	}
	if (!*spec || strlen(spec) > 2 * ID_LEN || strspn(spec, "0123456789abcdef") != strlen(spec))
		return -ENOENT;
	ret = store_live_resolve(s, spec, out); /* against the signed list, when there is one */
	if (ret != -ENODATA)
		return ret;
	ret = remote_list(s->remote, "snapshots/", collect_id, &l);
	if (ret >= 0)
		ret = l.n == 0	? -ENOENT
		      : l.n > 1 ? -ENOTUNIQ
				: store_read_snapshot(s, l.ids[0], out);
	free(l.ids);
	return ret;
}

/* The newest snapshot that verifies, to compare the head with: every manifest, listed or
 * not (a head rolled back with its older snapshot list lists only older ones). */
static int newest_manifest(struct store *s, uint64_t *seq)
{
	struct snapshot *v = NULL;
	size_t n = 0;
	int ret = store_list_manifests(s, &v, &n, NULL);
	*seq = 0;
	for (size_t i = 0; !ret && i < n; i++)
		if (v[i].seq > *seq)
			*seq = v[i].seq;
	store_free_snapshots(v, n);
	return ret;
}

int store_refresh_head(struct store *s, int64_t valid_for_s, bool without_state, struct head *out)
{
	struct snapshot sn;
	struct head h;
	struct timespec now;
	uint64_t known = 0, newest;
	int ret;

	if (!store_can_seal(s) && !s->ts_sk)
		return -EPERM;
	/* re-signing makes whatever the host serves fresh: only with the memory of what was
	 * published can a rolled-back head be told from the real one */
	if (!without_state && !s->trust.no_state) {
		ret = trust_known_seq(&s->trust, s->store_id_hex, &known);
		if (ret == -ENOENT) {
			log_err(
			    "refresh-head: no remembered sequence for store %s here; without it "
			    "a rolled-back head cannot be told from the real one. Run it where "
			    "the sealer's state is (--state-dir), or give --without-state after "
			    "checking 'embassy snapshots'",
			    s->store_id_hex);
			return -ENODATA;
		}
		if (ret < 0) {
			log_err("refresh-head: the trust state of store %s cannot be used: %s",
				s->store_id_hex, strerror(-ret));
			return ret == -ENOTRECOVERABLE ? ret : -ENODATA;
		}
	}
	ret = store_read_head(s, &h); /* refuses a head below the remembered sequence */
	if (!ret)
		ret = newest_manifest(s, &newest);
	if (ret)
		return ret;
	if (newest > h.seq) {
		log_err("refresh-head: the head names sequence %llu but a snapshot with sequence "
			"%llu exists: a rolled-back head (or a seal interrupted before its head); "
			"refusing to re-sign it. Seal again to publish a newer head",
			(unsigned long long)h.seq, (unsigned long long)newest);
		return -ESTALE;
	}
	ret = store_read_snapshot(s, h.snapshot, &sn);
	if (!ret && sn.seq != h.seq)
		ret = -EBADMSG;
	if (!ret)
		snapshot_clear(&sn);
	if (ret) {
		log_err("refresh-head: the head names a snapshot that is missing or does not match "
			"it; refusing to re-sign it");
		return ret == -ENOENT ? -EBADMSG : ret;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	/* same snapshot and sequence: only the freshness window moves */
	h.time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	h.expires_ns = h.time_ns + valid_for_s * 1000000000LL;
	ret = store_write_head(s, &h);
	if (!ret && out)
		*out = h;
	return ret;
}
