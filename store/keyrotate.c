/* keyrotate: a new master key epoch for future snapshots, wrapped for the key entries that
 * stay and not for those left out (docs/KEYS.md 4.13, FORMAT.md 2.4). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch.h"
#include "hex.h"
#include "keyadmin.h"
#include "log.h"
#include "refjson.h"
#include "secmem.h"
#include "store_int.h"
#include "wrap.h"

enum stay_kind { STAY_NONE, STAY_PASS, STAY_RCPT, STAY_QUORUM };

/* One entry of the current epoch and how its holder gets the new one. */
struct stay {
	char name[KEY_NAME_MAX];
	enum stay_kind kind; /* STAY_NONE: left out (--remove) */
	uint8_t rid[32];     /* recipient: its id */
	unsigned m, n;	     /* quorum */
	uint8_t (*pks)[32];  /* quorum: the officers' public keys, in the entry's order */
	unsigned long long ops;
	size_t mem; /* passphrase: the entry's own Argon2id cost */
};

/* The public keys given on the command line, with their recipient ids. */
struct pubs {
	uint8_t (*pk)[32], (*rid)[32];
	size_t n;
};

static int load_pubs(const char *const *files, size_t n, struct pubs *p)
{
	p->n = 0;
	p->pk = calloc(n ? n : 1, 32);
	p->rid = calloc(n ? n : 1, 32);
	if (!p->pk || !p->rid)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct keyfile kf;
		int ret = keyfile_load(files[i], &kf);
		if (!ret && kf.kind != KEYFILE_RECIPIENT_PUB && kf.kind != KEYFILE_RECIPIENT)
			ret = -EBADMSG;
		if (ret) {
			log_err("%s: not a recipient public key file (%s)", files[i],
				strerror(-ret));
			keyfile_clear(&kf);
			return ret;
		}
		memcpy(p->pk[i], kf.pub, 32);
		wrap_recipient_id(kf.pub, p->rid[i]);
		keyfile_clear(&kf);
		p->n++;
	}
	return 0;
}

static void pubs_free(struct pubs *p)
{
	free(p->pk);
	free(p->rid);
}

static const uint8_t *pub_of(const struct pubs *p, const uint8_t rid[32])
{
	for (size_t i = 0; i < p->n; i++)
		if (!sodium_memcmp(p->rid[i], rid, 32))
			return p->pk[i];
	return NULL;
}

static int get_entry(struct remote *r, const char *name, json_t **out)
{
	uint8_t *data = NULL;
	size_t n;
	int ret = remote_get(r, name, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	if (ret)
		return ret;
	*out = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
	free(data);
	return *out ? 0 : -EBADMSG;
}

/* A quorum entry stays when every one of its officers' public keys is given. */
static int plan_quorum(const json_t *e, const struct pubs *officers, struct stay *st)
{
	const json_t *shares = json_object_get(e, "shares");
	uint8_t rid[32];
	int ret = quorum_entry_params(e, &st->m, &st->n);

	if (ret)
		return -EBADMSG;
	st->pks = calloc(st->n, 32);
	if (!st->pks)
		return -ENOMEM;
	for (unsigned i = 0; i < st->n; i++) {
		const uint8_t *pk;
		if (refjson_get_hex(json_array_get(shares, i), "recipient_id", rid, 32))
			return -EBADMSG;
		if (!(pk = pub_of(officers, rid))) {
			log_err(
			    "quorum entry %s stays, but the public key of its officer %u (of %u) "
			    "is not given: give every officer's .pub file with --officer, or "
			    "--remove %s",
			    st->name, i + 1, st->n, st->name + 5);
			return -ENOKEY;
		}
		memcpy(st->pks[i], pk, 32);
	}
	st->kind = STAY_QUORUM;
	return 0;
}

/* Is b a bundle of the same store and keys as mine, with fewer or more epochs? An entry
 * holding one was left by an interrupted rotation: fewer, the old entries were not all
 * deleted yet (killed after the sealer key file took the new epoch); more, the new
 * entries were not all written (killed before it: nobody holds that epoch's key). */
static bool bundle_kin(const uint8_t *b, size_t blen, const uint8_t *mine, size_t mlen)
{
	unsigned nb, nm;

	if (epoch_bundle_check(b, blen) || epoch_bundle_check(mine, mlen) ||
	    memcmp(b + 8, mine + 8, BUNDLE1_LEN - 8))
		return false; /* store id, epoch 0's key and signing key: offsets 8..88 */
	nb = epoch_bundle_epoch(b, blen);
	nm = epoch_bundle_epoch(mine, mlen);
	for (unsigned e = 0; e < nb && e < nm; e++)
		if (sodium_memcmp(b + BUNDLE2_HDR + e * KEY_LEN, mine + BUNDLE2_HDR + e * KEY_LEN,
				  KEY_LEN))
			return false;
	return nb != nm;
}

/* A passphrase entry stays when the passphrase given opens it to this store's bundle. */
static int plan_pass(const json_t *e, const struct rotate_opts *o, const uint8_t *mine, size_t mlen,
		     struct stay *st)
{
	uint8_t *b = NULL;
	size_t blen = 0;
	int ret =
	    o->passphrase ? unwrap_passphrase(e, o->passphrase, o->passlen, &b, &blen) : -ENOKEY;

	if (!ret && (blen != mlen || sodium_memcmp(b, mine, mlen))) {
		ret = bundle_kin(b, blen, mine, mlen) ? -ESTALE : -EBADMSG;
		if (ret == -ESTALE) {
			log_info("passphrase entry %s holds key epoch %u, the sealer key file "
				 "epoch %u: left by an interrupted rotation, it goes with the old "
				 "entries",
				 st->name, epoch_bundle_epoch(b, blen),
				 epoch_bundle_epoch(mine, mlen));
			secmem_free(b);
			return 0; /* st->kind stays STAY_NONE */
		}
	}
	secmem_free(b);
	if (ret) {
		log_err("passphrase entry %s stays, but %s: give its passphrase with "
			"--passphrase-file or --passphrase-command, or --remove %s",
			st->name,
			ret == -ENOKEY	  ? "no passphrase was given"
			: ret == -EBADMSG ? "it holds another key than the sealer's"
					  : "the passphrase given does not open it",
			st->name + 5);
		return ret == -EKEYREJECTED ? -ENOKEY : ret;
	}
	st->ops = (unsigned long long)json_integer_value(json_object_get(e, "opslimit"));
	st->mem = (size_t)json_integer_value(json_object_get(e, "memlimit"));
	st->kind = STAY_PASS;
	return 0;
}

static int plan_one(struct store *s, const struct rotate_opts *o, const struct pubs *rc,
		    const struct pubs *of, const uint8_t *mine, size_t mlen, struct stay *st)
{
	json_t *e = NULL;
	const char *t;
	int ret = get_entry(s->remote, st->name, &e);

	if (ret)
		return ret == -EBADMSG ? 0 : ret; /* malformed: opens nothing, left alone */
	t = json_string_value(json_object_get(e, "type"));
	if (t && !strcmp(t, "recipient") && !strncmp(st->name, "keys/rcpt-", 10)) {
		ret = refjson_get_hex(e, "recipient_id", st->rid, 32) ? -EBADMSG : 0;
		if (!ret && !pub_of(rc, st->rid)) {
			log_err("recipient entry %s stays, but its recipient's public key is not "
				"given: give the .pub file with --recipient, or --remove %s",
				st->name, st->name + 5);
			ret = -ENOKEY;
		}
		st->kind = ret ? STAY_NONE : STAY_RCPT;
	} else if (t && !strcmp(t, "quorum") && !strncmp(st->name, QUORUM_PREFIX, 12)) {
		ret = plan_quorum(e, of, st);
	} else if (t && !strcmp(t, "passphrase") && !strncmp(st->name, "keys/pass-", 10)) {
		ret = plan_pass(e, o, mine, mlen, st);
	}
	if (ret == -EBADMSG)
		log_err("key entry %s is malformed: --remove it, or repair the store", st->name);
	json_decref(e);
	return ret;
}

static void random_hex(char out[17])
{
	uint8_t rnd[8];
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), out);
}

/* Wrap bundle for one staying entry under a new name (create-only). */
static int write_one(struct store *s, const struct rotate_opts *o, const struct stay *st,
		     const struct pubs *rc, const uint8_t *bundle, size_t blen,
		     char name[KEY_NAME_MAX])
{
	char hex[17], rid[17];
	json_t *e = NULL;
	char *text;
	int ret;

	random_hex(hex);
	if (st->kind == STAY_RCPT) {
		hex_encode(st->rid, 8, rid);
		snprintf(name, KEY_NAME_MAX, "keys/rcpt-%s-%s", rid, hex);
		ret = wrap_recipient(bundle, blen, pub_of(rc, st->rid), &e);
	} else if (st->kind == STAY_QUORUM) {
		snprintf(name, KEY_NAME_MAX, "%s%s", QUORUM_PREFIX, hex);
		ret = quorum_entry_make(bundle, blen, st->m, (const uint8_t(*)[32])st->pks, st->n,
					&e);
	} else {
		snprintf(name, KEY_NAME_MAX, "keys/pass-%s", hex);
		ret =
		    wrap_passphrase(bundle, blen, o->passphrase, o->passlen, st->ops, st->mem, &e);
	}
	text = ret ? NULL : json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	if (!ret && !text)
		ret = -ENOMEM;
	if (!ret)
		ret = remote_put(s->remote, name, text, strlen(text), REMOTE_CREATE_ONLY);
	free(text);
	json_decref(e);
	return ret;
}

static bool removed(const struct rotate_opts *o, const char *name)
{
	for (size_t i = 0; i < o->nremove; i++)
		if (!strcmp(o->remove[i], name))
			return true;
	return false;
}

/* Does an earlier entry that stays give the same holders (the same recipient; a quorum
 * of the same officers and M)? After an interrupted rotation a holder has an entry of the
 * old epoch and one of the new: the next rotation wraps for them once. */
static bool twin(const struct stay *v, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (v[j].kind != v[i].kind)
			continue;
		if (v[i].kind == STAY_RCPT && !memcmp(v[j].rid, v[i].rid, 32))
			return true;
		if (v[i].kind == STAY_QUORUM && v[j].m == v[i].m && v[j].n == v[i].n &&
		    !memcmp(v[j].pks, v[i].pks, (size_t)v[i].n * 32))
			return true;
	}
	return false;
}

/* Which entries stay and how each is wrapped again; nothing is written yet. */
static int plan(struct store *s, const struct rotate_opts *o, const struct pubs *rc,
		const struct pubs *of, struct stay *v, size_t n, size_t *nstay)
{
	size_t mlen;
	uint8_t *mine = epoch_bundle_make(s->store_id, s->keys, s->sign_pk, &mlen);
	int ret = mine ? 0 : -ENOMEM;

	*nstay = 0;
	for (size_t i = 0; i < o->nremove && !ret; i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found |= !strcmp(v[j].name, o->remove[i]);
		if (!found) {
			log_err("the store has no key entry %s to remove (after an interrupted "
				"rotation: it went last, so that rotation is complete)",
				o->remove[i]);
			ret = -ENOENT;
		}
	}
	for (size_t i = 0; i < n && !ret; i++) {
		if (removed(o, v[i].name))
			continue;
		ret = plan_one(s, o, rc, of, mine, mlen, &v[i]);
		if (!ret && twin(v, i))
			v[i].kind =
			    STAY_NONE; /* wrapped once; the twin goes with the old entries */
		*nstay += v[i].kind != STAY_NONE;
	}
	if (!ret && !*nstay) {
		log_err("no key entry would open the new epoch: keep at least one");
		ret = -EBUSY;
	}
	secmem_free(mine);
	return ret;
}

/* The new epoch's entries, then the sealer key file; on failure the entries written go. */
static int publish(struct store *s, const struct rotate_opts *o, const struct pubs *rc,
		   struct stay *v, size_t n, void (*added)(void *ctx, const char *name), void *ctx)
{
	uint8_t *key = secmem_alloc(KEY_LEN), *bundle = NULL;
	char(*names)[KEY_NAME_MAX] = calloc(n ? n : 1, KEY_NAME_MAX);
	size_t blen = 0, nw = 0;
	int ret = key && names ? 0 : -ENOMEM;

	if (!ret) {
		randombytes_buf(key, KEY_LEN);
		ret = keys_push_epoch(&s->keys, key);
	}
	if (!ret && !(bundle = epoch_bundle_make(s->store_id, s->keys, s->sign_pk, &blen)))
		ret = -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		if (v[i].kind == STAY_NONE)
			continue;
		ret = write_one(s, o, &v[i], rc, bundle, blen, names[nw]);
		if (!ret)
			nw++;
	}
	/* the sealer seals under the new epoch from the moment its key file holds it */
	if (!ret)
		ret = keyfile_add_epoch(o->sealer_key, keys_epoch(s->keys), key);
	for (size_t i = 0; i < nw; i++) {
		if (ret)
			remote_delete(s->remote, names[i]); /* nothing uses them: the old stay */
		else if (added)
			added(ctx, names[i]);
	}
	secmem_free(bundle);
	secmem_free(key);
	free(names);
	return ret;
}

int keyadmin_rotate(struct store *s, const struct rotate_opts *o,
		    void (*added)(void *ctx, const char *name), void *ctx, size_t *left)
{
	struct pubs rc = {0}, of = {0};
	struct key_entry_info *ki = NULL;
	struct stay *v = NULL;
	size_t n = 0, nstay = 0;
	int ret;

	*left = 0;
	if (!store_can_seal(s))
		return -EPERM;
	ret = load_pubs(o->recipients, o->nrecipients, &rc);
	if (!ret)
		ret = load_pubs(o->officers, o->nofficers, &of);
	if (!ret)
		ret = keyadmin_list(s->remote, &ki, &n);
	if (!ret && !(v = calloc(n ? n : 1, sizeof(*v))))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++)
		snprintf(v[i].name, sizeof(v[i].name), "%s", ki[i].name);
	if (!ret)
		ret = plan(s, o, &rc, &of, v, n, &nstay);
	if (!ret)
		ret = publish(s, o, &rc, v, n, added, ctx);
	/* the old epoch's entries go, of those staying as of those left out; one that cannot be
	 * deleted opens only older epochs: nothing sealed from now on. Those named by --remove
	 * go last: a rotation killed before that is run again as it was, and one killed after
	 * it is done (all the others are gone). */
	for (size_t k = 0; !ret && k < 2 * n; k++) {
		size_t i = k % n;
		if ((k < n) == removed(o, v[i].name))
			continue;
		if (strcmp(ki[i].type, "passphrase") && strcmp(ki[i].type, "recipient") &&
		    strcmp(ki[i].type, "quorum"))
			continue;
		int r = remote_delete(s->remote, v[i].name);
		if (r && r != -ENOENT) {
			log_err("could not delete the old key entry %s (%s): it opens only older "
				"key epochs; remove it with 'embassy key remove'",
				v[i].name, strerror(-r));
			(*left)++;
		}
	}
	for (size_t i = 0; v && i < n; i++)
		free(v[i].pks);
	free(v);
	free(ki);
	pubs_free(&rc);
	pubs_free(&of);
	return ret;
}
