/* keyadmin: the store's key entries on the remote: unlocking with a quorum, and adding /
 * listing / removing entries; see keyadmin.h and docs/FORMAT.md 5. The quorum entry format
 * and share files are in quorum.c. */
#include "keyadmin.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch.h"
#include "hex.h"
#include "log.h"
#include "secmem.h"
#include "shamir.h"
#include "store_int.h"
#include "wrap.h"

/* ---- small JSON helpers ---- */

static int put_json(struct remote *r, const char *key, const json_t *j, int flags)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int ret = text ? remote_put(r, key, text, strlen(text), flags) : -ENOMEM;

	free(text);
	return ret;
}

static int get_entry(struct remote *r, const char *name, json_t **out)
{
	uint8_t *data = NULL;
	size_t n;
	json_error_t jerr;
	int ret = remote_get(r, name, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	if (ret)
		return ret;
	*out = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	return *out ? 0 : -EBADMSG;
}

/* ---- unlocking with a quorum ---- */

struct name_list {
	char (*names)[KEY_NAME_MAX];
	size_t n, cap;
	const char *prefix;
};

static int collect_cb(void *ctx, const char *key)
{
	struct name_list *l = ctx;

	if (strncmp(key, l->prefix, strlen(l->prefix)) != 0 || strlen(key) >= KEY_NAME_MAX)
		return 0;
	if (l->n == KEY_NAMES_MAX)
		return -E2BIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p = realloc(l->names, cap * sizeof(*l->names));
		if (!p)
			return -ENOMEM;
		l->names = p;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], KEY_NAME_MAX, "%s", key);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int list_names(struct remote *r, const char *prefix, struct name_list *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->prefix = prefix;
	ret = remote_list(r, "keys/", collect_cb, l);
	if (ret < 0) {
		free(l->names);
		memset(l, 0, sizeof(*l));
		return ret;
	}
	if (l->n)
		qsort(l->names, l->n, sizeof(*l->names), cmp_names);
	return 0;
}

/* Add share sh to set[*k] unless an identical one is there; -EKEYREJECTED for two different
 * shares with the same x (they cannot both be right). */
static int add_share(const uint8_t **set, size_t *k, const uint8_t *sh)
{
	for (size_t i = 0; i < *k; i++) {
		if (set[i][0] != sh[0])
			continue;
		return sodium_memcmp(set[i], sh, QUORUM_SHARE_LEN) == 0 ? 0 : -EKEYREJECTED;
	}
	set[(*k)++] = sh;
	return 0;
}

/* How telling a failure is: the one reported is the most telling over all entries. */
static int rank(int err, unsigned given)
{
	switch (err) {
	case -EKEYREJECTED:
		return 4;
	case -ENOKEY:
		return given ? 3 : 0;
	case -EBADMSG:
		return 2;
	default:
		return 1;
	}
}

struct quorum_try {
	const struct quorum_creds *c;
	int (*accept)(void *ctx, uint8_t *bundle, size_t len);
	void *ctx;
	const char *name; /* the entry tried */
	unsigned m, n, given;
	int fail; /* of the entry's copies tried, the most telling failure, and its counts */
	unsigned fm, fn, fgiven;
	uint8_t *good; /* the entry's bytes, when another mirror's copy opened it */
	size_t good_len;
};

/* Copy after copy of one entry: keep the most telling failure (rank) and its counts. */
static void note_failure(struct quorum_try *t, int err)
{
	if (t->fail && rank(err, t->given) <= rank(t->fail, t->fgiven))
		return;
	t->fail = err;
	t->fm = t->m, t->fn = t->n, t->fgiven = t->given;
}

/* The shares creds give for entry e (t->name) into set[*k]: opened from its slots with the
 * key files, and from the share files that name it. 0, or why not (a slot of ours that does
 * not open, -ENOMEM); *conflict when two differ for one x. */
static int quorum_shares(struct quorum_try *t, const json_t *e, const uint8_t **set, size_t *k,
			 uint8_t **opened, size_t *nopened, int *conflict)
{
	for (size_t i = 0; i < t->c->nkf && *nopened < SHAMIR_MAX_SHARES; i++) {
		const struct keyfile *kf = &t->c->kfs[i];
		uint8_t *sh;
		int ret = quorum_entry_open_share(e, kf->pub, kf->secret, &sh);

		if (ret == -ENOKEY)
			continue;
		if (ret) /* our slot is there but does not open: a damaged entry */
			return ret;
		opened[(*nopened)++] = sh;
		if (add_share(set, k, sh))
			*conflict = 1;
	}
	for (size_t i = 0; i < t->c->nshares && *k < SHAMIR_MAX_SHARES; i++) {
		const struct quorum_share *qs = &t->c->shares[i];

		if (strcmp(qs->entry, t->name) != 0)
			continue;
		if (qs->share[0] > t->n || add_share(set, k, qs->share))
			*conflict = 1;
	}
	return 0;
}

/* One copy of entry t->name (n bytes): 0 unlocked (accepted), or why not. */
static int quorum_try_copy(void *ctx, const uint8_t *data, size_t n)
{
	struct quorum_try *t = ctx;
	const uint8_t *set[SHAMIR_MAX_SHARES];
	uint8_t *opened[SHAMIR_MAX_SHARES] = {0}, *secret = NULL;
	size_t k = 0, nopened = 0, slen;
	json_error_t jerr;
	json_t *e = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
	int ret = e ? 0 : -EBADMSG, conflict = 0;

	t->m = t->n = t->given = 0;
	if (!ret)
		ret = quorum_entry_params(e, &t->m, &t->n);
	if (!ret)
		ret = quorum_shares(t, e, set, &k, opened, &nopened, &conflict);
	if (ret)
		goto out;
	t->given = (unsigned)k;
	ret = -ENOKEY;
	if (k == 0)
		goto out;
	ret = -EKEYREJECTED;
	if (conflict)
		goto out;
	ret = -ENOKEY;
	if (k < t->m)
		goto out;
	ret = quorum_entry_unlock(e, set, k, &secret, &slen);
	if (ret)
		goto out;
	if (epoch_bundle_check(secret, slen)) {
		ret = -EBADMSG;
		goto out;
	}
	ret = t->accept(t->ctx, secret, slen); /* takes the bundle */
	secret = NULL;
	if (ret == -EPROTONOSUPPORT)
		ret = -EBADMSG;
	if (ret)
		log_warn("quorum entry %s opens but does not belong to this store's descriptor",
			 t->name);
out:
	if (ret && ret != -ENOMEM)
		note_failure(t, ret);
	secmem_free(secret);
	for (size_t i = 0; i < nopened; i++)
		secmem_free(opened[i]);
	json_decref(e);
	return ret;
}

/* Entry name: the copy remote_get serves; of several embassies, when it does not open with
 * the shares given, every mirror's other copies (store_copies.c: a tampered entry on one
 * mirror is reported and skipped). None opens: the most telling failure over the copies and
 * its counts (a single honest store's answer, whatever a lying mirror's copy said). */
static int quorum_try_entry(struct quorum_try *t, struct remote *r, const char *name)
{
	struct store_copies cs = {0};
	uint8_t *data = NULL;
	size_t n = 0, good;
	int ret = remote_get(r, name, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	t->name = name;
	t->m = t->n = t->given = 0;
	t->fail = 0;
	if (ret)
		note_failure(t, ret);
	else
		ret = quorum_try_copy(t, data, n);
	if (ret && ret != -ENOMEM && remote_mirrors(r) > 1) {
		ret = store_copies_try(r, name, &cs, data, n, ret, quorum_try_copy, t, &good);
		if (!ret) {
			store_copies_report(r, name, &cs, good);
			free(t->good);
			t->good = cs.c[good].data; /* the mount's mirror keeps these bytes */
			t->good_len = cs.c[good].n;
			cs.c[good].data = NULL;
		} else if (ret != -ENOMEM) {
			ret = t->fail;
			t->m = t->fm, t->n = t->fn, t->given = t->fgiven;
		}
		store_copies_free(&cs);
	}
	free(data);
	return ret;
}

int quorum_unlock(struct remote *r, const struct quorum_creds *creds,
		  int (*accept)(void *ctx, uint8_t *bundle, size_t len), void *ctx,
		  struct store_quorum_status *st, uint8_t **good, size_t *good_len)
{
	struct quorum_try t = {.c = creds, .accept = accept, .ctx = ctx};
	struct name_list l;
	int ret, best = -ENOKEY, best_rank = -1;
	unsigned best_given = 0;

	if (st)
		memset(st, 0, sizeof(*st));
	ret = list_names(r, QUORUM_PREFIX, &l);
	if (ret)
		return ret;
	for (size_t i = 0; i < l.n; i++) {
		if (i == QUORUM_MAX_TRIES) {
			log_warn("more than %d quorum entries: the rest are not tried",
				 QUORUM_MAX_TRIES);
			break;
		}
		ret = quorum_try_entry(&t, r, l.names[i]);
		if (ret == 0) {
			best = 0;
			if (st) {
				st->m = t.m;
				st->n = t.n;
				st->given = t.given;
				snprintf(st->entry, sizeof(st->entry), "%s", l.names[i]);
			}
			break;
		}
		if (ret == -EBADMSG && !t.given)
			log_warn("quorum entry %s is malformed; skipped", l.names[i]);
		else if (ret != -ENOKEY && ret != -EKEYREJECTED && ret != -EBADMSG)
			log_warn("quorum entry %s: %s", l.names[i], strerror(-ret));
		if (rank(ret, t.given) > best_rank ||
		    (rank(ret, t.given) == best_rank && t.given > best_given)) {
			best_rank = rank(ret, t.given);
			best_given = t.given;
			best = ret;
			if (st && t.given) {
				st->m = t.m;
				st->n = t.n;
				st->given = t.given;
				snprintf(st->entry, sizeof(st->entry), "%s", l.names[i]);
			}
		}
	}
	free(l.names);
	*good = best ? NULL : t.good;
	*good_len = best ? 0 : t.good_len;
	if (best)
		free(t.good);
	return best;
}

/* ---- administration ---- */

static void random_name(const char *prefix, char out[KEY_NAME_MAX])
{
	uint8_t rnd[8];
	char hex[17];

	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(out, KEY_NAME_MAX, "%s%s", prefix, hex);
}

/* The X25519 public key of a recipient key file or .pub file. */
static int load_pub(const char *path, uint8_t pk[32])
{
	struct keyfile kf;
	int ret = keyfile_load(path, &kf);

	if (!ret && kf.kind != KEYFILE_RECIPIENT_PUB && kf.kind != KEYFILE_RECIPIENT)
		ret = -EBADMSG;
	if (ret)
		log_err("%s: not a recipient key file (%s)", path, strerror(-ret));
	else
		memcpy(pk, kf.pub, 32);
	keyfile_clear(&kf);
	return ret;
}

static int write_quorum(struct remote *r, const struct store_init_opts *o, const uint8_t *bundle,
			size_t blen, char name[KEY_NAME_MAX])
{
	uint8_t(*pks)[32] = NULL;
	json_t *e = NULL;
	int ret = -EINVAL;

	if (o->nofficers < 1 || o->nofficers > SHAMIR_MAX_SHARES || o->quorum_m < 1 ||
	    o->quorum_m > o->nofficers) {
		log_err("a quorum needs 1 <= M <= N <= %d officers (M = %u, N = %zu)",
			SHAMIR_MAX_SHARES, o->quorum_m, o->nofficers);
		return -EINVAL;
	}
	pks = calloc(o->nofficers, sizeof(*pks));
	if (!pks)
		return -ENOMEM;
	for (size_t i = 0; i < o->nofficers; i++) {
		ret = load_pub(o->officers[i], pks[i]);
		if (ret)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (memcmp(pks[i], pks[j], 32) == 0) {
				log_err("officer %s is the same key as %s: each officer must count "
					"once",
					o->officers[i], o->officers[j]);
				ret = -EINVAL;
				goto out;
			}
		}
	}
	ret = quorum_entry_make(bundle, blen, o->quorum_m, (const uint8_t(*)[32])pks,
				(unsigned)o->nofficers, &e);
	if (ret)
		goto out;
	random_name(QUORUM_PREFIX, name);
	ret = put_json(r, name, e, REMOTE_CREATE_ONLY);
out:
	json_decref(e);
	free(pks);
	return ret;
}

int keyadmin_write_entries(struct remote *r, const struct store_init_opts *o, const uint8_t *bundle,
			   size_t blen, void (*added)(void *ctx, const char *name), void *ctx)
{
	char name[KEY_NAME_MAX], hex[17];
	uint8_t pk[32], rid[32];
	json_t *entry = NULL;
	int ret = 0;

	if (o->passphrase) {
		ret = wrap_passphrase(bundle, blen, o->passphrase, o->passlen,
				      o->kdf_ops ? o->kdf_ops : WRAP_DEFAULT_OPS,
				      o->kdf_mem ? o->kdf_mem : WRAP_DEFAULT_MEM, &entry);
		random_name("keys/pass-", name);
		if (!ret)
			ret = put_json(r, name, entry, REMOTE_CREATE_ONLY);
		json_decref(entry);
		if (!ret && added)
			added(ctx, name);
	}
	for (size_t i = 0; !ret && i < o->nrecipients; i++) {
		ret = load_pub(o->recipients[i], pk);
		if (ret)
			break;
		ret = wrap_recipient(bundle, blen, pk, &entry);
		wrap_recipient_id(pk, rid); /* never the public key itself: see wrap.h */
		hex_encode(rid, 8, hex);
		snprintf(name, sizeof(name), "keys/rcpt-%s", hex);
		if (!ret)
			ret = put_json(r, name, entry, REMOTE_CREATE_ONLY);
		json_decref(entry);
		if (ret == -EEXIST)
			log_info("%s: the store already has an entry for this recipient (%s)",
				 o->recipients[i], name);
		if (!ret && added)
			added(ctx, name);
	}
	if (!ret && o->nofficers) {
		ret = write_quorum(r, o, bundle, blen, name);
		if (!ret && added)
			added(ctx, name);
	}
	return ret;
}

int keyadmin_add(struct store *s, const struct store_init_opts *o,
		 void (*added)(void *ctx, const char *name), void *ctx)
{
	uint8_t *bundle;
	size_t blen;
	int ret;

	if (!store_can_seal(s))
		return -EPERM;
	/* the bundle the other entries hold (FORMAT.md 2.2, 2.4), rebuilt from the sealer's keys:
	 * every key epoch the sealer key file holds */
	bundle = epoch_bundle_make(s->store_id, s->keys, s->sign_pk, &blen);
	if (!bundle)
		return -ENOMEM;
	ret = keyadmin_write_entries(s->remote, o, bundle, blen, added, ctx);
	secmem_free(bundle);
	return ret;
}

int keyadmin_open_remote(const char *url, const struct remote_opts *ro, struct remote **out)
{
	uint64_t size;
	int ret = remote_open(url, ro, out);

	if (ret)
		return ret;
	ret = remote_stat(*out, DESCRIPTOR_KEY, &size);
	if (ret) {
		remote_free(*out);
		*out = NULL;
	}
	return ret;
}

static void entry_info(struct remote *r, const char *name, struct key_entry_info *ki)
{
	json_t *e = NULL;
	const char *t;
	unsigned m, n;

	memset(ki, 0, sizeof(*ki));
	snprintf(ki->name, sizeof(ki->name), "%s", name);
	remote_stat(r, name, &ki->size);
	if (get_entry(r, name, &e)) {
		snprintf(ki->type, sizeof(ki->type), "malformed");
		return;
	}
	t = json_string_value(json_object_get(e, "type"));
	if (!t || !json_is_object(e))
		snprintf(ki->type, sizeof(ki->type), "malformed");
	else if (strcmp(t, "quorum") == 0) {
		if (quorum_entry_params(e, &m, &n) == 0) {
			snprintf(ki->type, sizeof(ki->type), "quorum");
			ki->m = m;
			ki->n = n;
		} else
			snprintf(ki->type, sizeof(ki->type), "malformed");
	} else if (strcmp(t, "passphrase") == 0 && strncmp(name, "keys/pass-", 10) == 0)
		snprintf(ki->type, sizeof(ki->type), "passphrase");
	else if (strcmp(t, "recipient") == 0 && strncmp(name, "keys/rcpt-", 10) == 0)
		snprintf(ki->type, sizeof(ki->type), "recipient");
	else
		snprintf(ki->type, sizeof(ki->type), "unknown");
	json_decref(e);
}

int keyadmin_list(struct remote *r, struct key_entry_info **out, size_t *n)
{
	struct name_list l;
	struct key_entry_info *v;
	int ret = list_names(r, "keys/", &l);

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	v = calloc(l.n ? l.n : 1, sizeof(*v));
	if (!v) {
		free(l.names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++)
		entry_info(r, l.names[i], &v[i]);
	free(l.names);
	*out = v;
	*n = l.n;
	return 0;
}

int keyadmin_entry_name(const char *arg, char out[KEY_NAME_MAX])
{
	const char *base = strncmp(arg, "keys/", 5) == 0 ? arg + 5 : arg;
	size_t n = strlen(base);

	if (n == 0 || n + 5 >= KEY_NAME_MAX || strchr(base, '/') || base[0] == '.' ||
	    strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return -EINVAL;
	snprintf(out, KEY_NAME_MAX, "keys/%s", base);
	return 0;
}

static bool can_open(const struct key_entry_info *ki)
{
	return !strcmp(ki->type, "passphrase") || !strcmp(ki->type, "recipient") ||
	       !strcmp(ki->type, "quorum");
}

int keyadmin_remove(struct store *s, const char *name)
{
	struct key_entry_info *v;
	size_t n, others = 0;
	bool found = false, target_opens = false;
	int ret;

	if (!store_can_seal(s))
		return -EPERM;
	ret = keyadmin_list(s->remote, &v, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0) {
			found = true;
			target_opens = can_open(&v[i]);
		} else if (can_open(&v[i]))
			others++;
	}
	free(v);
	if (!found)
		return -ENOENT;
	if (target_opens && others == 0)
		return -EBUSY; /* the store would become unreadable for every recovery party */
	return remote_delete(s->remote, name);
}

struct share_try {
	const struct keyfile *kf;
	uint8_t *sh; /* out: the share, secmem */
};

static int share_copy(void *ctx, const uint8_t *data, size_t n)
{
	struct share_try *st = ctx;
	json_error_t jerr;
	json_t *e = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
	int ret = e ? quorum_entry_open_share(e, st->kf->pub, st->kf->secret, &st->sh) : -EBADMSG;

	json_decref(e);
	return ret;
}

/* The officer's share of entry name: from the copy remote_get serves; of several embassies,
 * when our slot there is missing or does not open, from another mirror's copy (the mirror
 * with a bad copy is reported). */
static int open_share(struct remote *r, const struct keyfile *kf, const char *name, uint8_t **sh)
{
	struct share_try st = {.kf = kf};
	struct store_copies cs = {0};
	uint8_t *data = NULL;
	size_t n = 0, good;
	int ret = remote_get(r, name, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	if (!ret)
		ret = share_copy(&st, data, n);
	if (ret && ret != -ENOMEM && remote_mirrors(r) > 1) {
		ret = store_copies_try(r, name, &cs, data, n, ret, share_copy, &st, &good);
		if (!ret)
			store_copies_report(r, name, &cs, good);
		store_copies_free(&cs);
	}
	free(data);
	*sh = ret ? NULL : st.sh;
	return ret;
}

int keyadmin_share(struct remote *r, const struct keyfile *kf, const char *entry,
		   struct quorum_share *out)
{
	struct name_list l;
	uint8_t *sh = NULL;
	int ret = list_names(r, QUORUM_PREFIX, &l), found = 0, err = -ENOKEY;

	memset(out, 0, sizeof(*out));
	if (ret)
		return ret;
	for (size_t i = 0; i < l.n; i++) {
		if (entry && strcmp(entry, l.names[i]) != 0)
			continue;
		ret = open_share(r, kf, l.names[i], &sh);
		if (ret == -ENOKEY)
			continue;
		if (ret) {
			log_warn("quorum entry %s: %s", l.names[i], strerror(-ret));
			err = ret;
			continue;
		}
		if (found++) {
			secmem_free(sh);
			quorum_share_clear(out);
			err = -ENOTUNIQ;
			break;
		}
		out->share = sh;
		snprintf(out->entry, sizeof(out->entry), "%s", l.names[i]);
	}
	free(l.names);
	if (found == 1)
		return 0;
	quorum_share_clear(out);
	return err;
}
