/* store_unlock: authenticating an opened store's reader or sealer: the agent's bundle, key
 * entries (passphrase, recipient), officers' quorums, the sealer key file. Every bundle that
 * opens is checked against the signed descriptor (store_desc.c) before it is used. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "epoch.h"
#include "hex.h"
#include "keyadmin.h"
#include "keyfile.h"
#include "log.h"
#include "secmem.h"
#include "store.h"
#include "store_int.h"
#include "wrap.h"

#define MAX_PASSPHRASE_TRIES 8 /* each try costs an Argon2id run the host may inflate */

struct unlock_ctx {
	struct store *s;
	const struct store_auth *a;
	const struct keyfile *kf;
	char want[64];	     /* recipient: the entry name to look for */
	const uint8_t *desc; /* the descriptor an entry must match */
	size_t desc_len;
	uint8_t *bundle; /* out: secmem */
	size_t bundle_len;
	uint8_t *good; /* out: the entry's bytes, when a mirror's other copy opened it */
	size_t good_len;
	int result; /* best error so far */
};

static int adopt_bundle(struct unlock_ctx *u);

/* One copy of a key entry: 0 with u->bundle adopted (it opens and matches the descriptor);
 * -EBADMSG malformed; -EXDEV opens but belongs to another descriptor; else why not. */
static int entry_copy(void *ctx, const uint8_t *data, size_t n)
{
	struct unlock_ctx *u = ctx;
	uint8_t *secret = NULL;
	size_t slen = 0;
	json_error_t jerr;
	json_t *e = NULL;
	int ret = 0;

	e = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!e)
		ret = -EBADMSG;
	else if (u->kf)
		ret = unwrap_recipient(e, u->kf->pub, u->kf->secret, &secret, &slen);
	else
		ret = unwrap_passphrase(e, u->a->passphrase, u->a->passlen, &secret, &slen);
	if (!ret && epoch_bundle_check(secret, slen))
		ret = -EBADMSG;
	if (!ret) {
		u->bundle = secret;
		u->bundle_len = slen;
		secret = NULL;
		ret = adopt_bundle(u);
		if (ret == -EBADMSG || ret == -EPROTONOSUPPORT)
			ret = -EXDEV;
	}
	secmem_free(secret);
	json_decref(e);
	return ret;
}

/* Entry key: the copy remote_get serves; of several embassies, when it does not open, every
 * mirror's other copies (store_copies.c: a tampered entry on one mirror is skipped). */
static int try_entry(struct unlock_ctx *u, const char *key)
{
	struct remote *r = u->s->remote;
	struct store_copies cs = {0};
	uint8_t *data = NULL;
	size_t n = 0, good;
	int ret = remote_get(r, key, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	if (!ret)
		ret = entry_copy(u, data, n);
	if (ret && ret != -ENOMEM && remote_mirrors(r) > 1) {
		ret = store_copies_try(r, key, &cs, data, n, ret, entry_copy, u, &good);
		if (!ret) {
			store_copies_report(r, key, &cs, good);
			u->good = cs.c[good].data; /* the mount's mirror keeps these bytes */
			u->good_len = cs.c[good].n;
			cs.c[good].data = NULL;
		}
		store_copies_free(&cs);
	}
	free(data);
	return ret;
}

/* An entry that opens must also match the signed descriptor: a stale entry from an
 * interrupted init, or one copied from another store, is skipped, not fatal. */
static int adopt_bundle(struct unlock_ctx *u)
{
	struct store *s = u->s;
	memcpy(s->store_id, u->bundle + 8, STORE_ID_LEN);
	memcpy(s->sign_pk, u->bundle + 8 + STORE_ID_LEN + KEY_LEN, SIGN_PK_LEN);
	int ret = store_desc_check(s, u->desc, u->desc_len);
	if (ret) {
		secmem_free(u->bundle);
		u->bundle = NULL;
	}
	return ret;
}

/* The entries to try, in a defined order: the one recipient entry, or the first
 * MAX_PASSPHRASE_TRIES "keys/pass-*" names in byte order (however the host lists them; a
 * fixed array, however many it lists). */
#define ENTRY_NAME_MAX 128
struct entry_names {
	const char *want; /* recipient: the one name; NULL: passphrase entries */
	char v[MAX_PASSPHRASE_TRIES][ENTRY_NAME_MAX];
	size_t n, listed;
};

static int collect_entry(void *ctx, const char *key)
{
	struct entry_names *l = ctx;
	size_t i;

	/* a recipient's entries: keys/rcpt-<id>, and keys/rcpt-<id>-<hex> written by rotations */
	if (l->want ? strncmp(key, l->want, strlen(l->want)) ||
			  (key[strlen(l->want)] && key[strlen(l->want)] != '-')
		    : strncmp(key, "keys/pass-", 10))
		return 0;
	if (strlen(key) >= ENTRY_NAME_MAX)
		return 0;
	l->listed++;
	for (i = l->n; i > 0 && strcmp(key, l->v[i - 1]) < 0; i--)
		;
	if (i == MAX_PASSPHRASE_TRIES)
		return 0; /* sorts after the ones kept */
	if (l->n == MAX_PASSPHRASE_TRIES)
		l->n--; /* the last one kept drops out */
	memmove(l->v[i + 1], l->v[i], (l->n - i) * ENTRY_NAME_MAX);
	snprintf(l->v[i], ENTRY_NAME_MAX, "%s", key);
	l->n++;
	return 0;
}

/* Try one entry: 1 unlocked, 0 go on (u->result keeps the most telling failure). */
static int try_one(struct unlock_ctx *u, const char *key)
{
	int ret = try_entry(u, key);
	if (ret == -EBADMSG) {
		log_warn("key entry %s is malformed; skipped", key);
		u->result = -EBADMSG;
		return 0;
	}
	if (!ret)
		return 1; /* unlocked */
	if (ret == -EXDEV) {
		log_warn("key entry %s opens but does not belong to this store's descriptor", key);
		u->result = -EBADMSG;
		return 0;
	}
	/* remember the most telling failure: a wrong passphrase beats "not for us" */
	if (ret == -EKEYREJECTED || u->result == -ENOKEY)
		u->result = ret;
	if (ret != -ENOKEY && ret != -EKEYREJECTED)
		log_warn("key entry %s: %s", key, strerror(-ret));
	return 0;
}

/* Recovery party: find and open a key entry; sets store id, master key and signing pk. */
static int unlock_entries(struct store *s, const struct store_auth *a, const struct keyfile *kf,
			  const uint8_t *desc, size_t desc_len)
{
	struct unlock_ctx u = {
	    .s = s, .a = a, .kf = kf, .result = -ENOKEY, .desc = desc, .desc_len = desc_len};
	if (kf) {
		uint8_t rid[32];
		char hex[17];
		wrap_recipient_id(kf->pub, rid);
		hex_encode(rid, 8, hex);
		snprintf(u.want, sizeof(u.want), "keys/rcpt-%s", hex);
	}
	struct entry_names l = {.want = kf ? u.want : NULL};
	int ret = remote_list(s->remote, "keys/", collect_entry, &l);
	if (ret < 0)
		return ret;
	if (l.listed > MAX_PASSPHRASE_TRIES)
		log_warn("%zu passphrase entries listed: only the first %d by name are tried",
			 l.listed, MAX_PASSPHRASE_TRIES);
	/* a passphrase: the first entry that opens; a recipient: of its entries (a host may keep
	 * one from before a rotation), the one with the newest key epoch */
	uint8_t *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < l.n && (kf || !best); i++) {
		if (!try_one(&u, l.v[i]))
			continue;
		if (best && epoch_bundle_epoch(u.bundle, u.bundle_len) <=
				epoch_bundle_epoch(best, best_len)) {
			secmem_free(u.bundle);
			free(u.good);
		} else {
			secmem_free(best);
			best = u.bundle;
			best_len = u.bundle_len;
			snprintf(s->kept_entry, sizeof(s->kept_entry), "%s", l.v[i]);
			free(s->kept_bytes);
			s->kept_bytes = u.good;
			s->kept_len = u.good_len;
		}
		u.bundle = NULL;
		u.good = NULL;
	}
	if (!best)
		return u.result;
	ret = epoch_bundle_keys(best, best_len, s->store_id, &s->keys);
	secmem_free(best);
	return ret;
}

static int unlock_sealer(struct store *s, const struct keyfile *kf)
{
	memcpy(s->store_id, kf->store_id, STORE_ID_LEN);
	/* after a rotation the file's key is not the store's original one (FORMAT.md 15.2) */
	memcpy(s->sign_pk, kf->has_origin ? kf->origin : kf->pub, SIGN_PK_LEN);
	memcpy(s->seal_pk, kf->pub, SIGN_PK_LEN);
	s->sign_sk = secmem_alloc(SIGN_SK_LEN);
	if (!s->sign_sk)
		return -ENOMEM;
	memcpy(s->sign_sk, kf->secret, SIGN_SK_LEN);
	return epoch_keys_new(s->store_id, kf->master, kf->epochs, kf->nepochs, &s->keys);
}

/* A quorum's bundle goes through the same descriptor check as any other entry's. */
static int quorum_accept(void *ctx, uint8_t *bundle, size_t len)
{
	struct unlock_ctx *u = ctx;
	u->bundle = bundle;
	u->bundle_len = len;
	return adopt_bundle(u); /* frees the bundle when it does not match */
}

/* Officers: recipient key files present together and share files of those apart. */
static int unlock_quorum(struct store *s, const struct store_auth *a, const struct keyfile *kfs,
			 size_t nkf, const struct quorum_share *shares, size_t nshares,
			 const uint8_t *desc, size_t desc_len)
{
	struct unlock_ctx u = {.s = s, .a = a, .desc = desc, .desc_len = desc_len};
	struct quorum_creds qc = {.kfs = kfs, .nkf = nkf, .shares = shares, .nshares = nshares};
	struct store_quorum_status mine, *st = a->quorum ? a->quorum : &mine;
	int ret = quorum_unlock(s->remote, &qc, quorum_accept, &u, st, &u.good, &u.good_len);

	if (ret)
		return ret;
	snprintf(s->kept_entry, sizeof(s->kept_entry), "%s", st->entry);
	free(s->kept_bytes);
	s->kept_bytes = u.good; /* another mirror's copy opened it: keep that one */
	s->kept_len = u.good_len;
	ret = epoch_bundle_keys(u.bundle, u.bundle_len, s->store_id, &s->keys);
	secmem_free(u.bundle);
	return ret;
}

/* Several key files and/or share files: a quorum, or failing that any one recipient entry. */
static int authenticate_officers(struct store *s, const struct store_auth *a, const uint8_t *desc,
				 size_t desc_len)
{
	size_t nkf = (a->key_file ? 1 : 0) + a->nkey_files, nsh = a->nshare_files, k = 0;
	struct keyfile *kfs = calloc(nkf ? nkf : 1, sizeof(*kfs));
	struct quorum_share *shares = calloc(nsh ? nsh : 1, sizeof(*shares));
	int ret = -ENOMEM;

	if (!kfs || !shares)
		goto out;
	for (k = 0; k < nkf; k++) {
		const char *path =
		    a->key_file && k == 0 ? a->key_file : a->key_files[k - (a->key_file ? 1 : 0)];
		ret = keyfile_load(path, &kfs[k]);
		if (!ret && kfs[k].kind != KEYFILE_RECIPIENT)
			ret = -EBADMSG; /* officers hold recipient key files */
		if (ret) {
			log_err("%s: not an officer's recipient key file (%s)", path,
				strerror(-ret));
			k++;
			goto out;
		}
	}
	for (size_t i = 0; i < nsh; i++) {
		ret = quorum_share_read(a->share_files[i], &shares[i]);
		if (ret) {
			log_err("%s: not a quorum share file (%s)", a->share_files[i],
				strerror(-ret));
			goto out;
		}
	}
	ret = unlock_quorum(s, a, kfs, nkf, shares, nsh, desc, desc_len);
	/* no quorum entry opens: one officer may also hold a recipient entry of their own */
	for (size_t i = 0; ret == -ENOKEY && i < nkf; i++) {
		int r = unlock_entries(s, a, &kfs[i], desc, desc_len);
		if (r != -ENOKEY)
			ret = r;
	}
out:
	for (size_t i = 0; kfs && i < k; i++)
		keyfile_clear(&kfs[i]);
	for (size_t i = 0; shares && i < nsh; i++)
		quorum_share_clear(&shares[i]);
	free(kfs);
	free(shares);
	return ret;
}

_Static_assert(BUNDLE_LEN == AGENT_BUNDLE_LEN && STORE_ID_LEN == AGENT_ID_LEN,
	       "the agent holds key bundles of FORMAT.md 2.2");

/* A bundle held by `embassy agent` goes through the same descriptor check as an entry's:
 * one for another store, or stale, is not used (-ENOKEY: try the credentials). */
static int unlock_agent(struct store *s, const uint8_t *desc, size_t desc_len)
{
	struct unlock_ctx u = {.s = s, .desc = desc, .desc_len = desc_len};
	uint8_t id[STORE_ID_LEN];
	int ret = store_desc_store_id(desc, desc_len, id);

	if (ret)
		return -ENOKEY;
	u.bundle = secmem_alloc(BUNDLE_LEN);
	u.bundle_len = BUNDLE_LEN;
	if (!u.bundle)
		return -ENOMEM;
	ret = agent_get(id, u.bundle);
	if (!ret && (memcmp(u.bundle, BUNDLE_MAGIC, 8) || memcmp(u.bundle + 8, id, STORE_ID_LEN)))
		ret = -EBADMSG;
	if (ret) {
		secmem_free(u.bundle);
		return ret == -EBADMSG ? -ENOKEY : ret == -ENOMEM ? ret : -ENOKEY;
	}
	ret = adopt_bundle(&u); /* frees the bundle when it does not verify */
	if (ret) {
		log_warn("the key embassy agent holds for this store id does not verify its "
			 "descriptor; not used");
		return -ENOKEY;
	}
	ret = keys_new(u.bundle + 8 + STORE_ID_LEN, s->store_id, &s->keys);
	secmem_free(u.bundle);
	if (!ret)
		log_debug("opened with the key held by embassy agent");
	return ret;
}

int store_unlock(struct store *s, const struct store_auth *a, const uint8_t *desc, size_t desc_len)
{
	const char *path = a->sealer_key ? a->sealer_key : a->key_file;
	struct keyfile kf;
	int ret;

	if (a->quorum)
		memset(a->quorum, 0, sizeof(*a->quorum));
	if (a->agent && !a->sealer_key) {
		ret = unlock_agent(s, desc, desc_len);
		if (ret != -ENOKEY)
			return ret;
		if (!path && !a->passphrase && !a->nkey_files && !a->nshare_files)
			return -ENOKEY;
	}
	if (!a->sealer_key && (a->nkey_files || a->nshare_files))
		return authenticate_officers(s, a, desc, desc_len);
	if (!path) {
		if (!a->passphrase)
			return -ENOKEY;
		return unlock_entries(s, a, NULL, desc, desc_len);
	}
	ret = keyfile_load(path, &kf);
	if (ret)
		return ret;
	if (kf.kind == KEYFILE_SEALER) {
		ret = unlock_sealer(s, &kf);
		if (!ret)
			ret = store_desc_check(s, desc, desc_len);
	} else if (kf.kind == KEYFILE_RECIPIENT && !a->sealer_key) {
		ret = unlock_entries(s, a, &kf, desc, desc_len);
		/* no entry of its own: the key may be one officer of a quorum (m = 1 opens) */
		if (ret == -ENOKEY)
			ret = unlock_quorum(s, a, &kf, 1, NULL, 0, desc, desc_len);
	} else
		ret = -EBADMSG; /* a public key file, or a recipient key given as sealer key */
	keyfile_clear(&kf);
	return ret;
}
