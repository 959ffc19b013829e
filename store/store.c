/* store: creating and opening a store (descriptor, key entries, authentication). */
#include "store.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "chunker.h"
#include "epoch.h"
#include "hex.h"
#include "keyadmin.h"
#include "keyfile.h"
#include "log.h"
#include "refjson.h"
#include "root.h"
#include "secmem.h"
#include "store_int.h"
#include "wrap.h"

#define DEFAULT_MEMORY_CACHE (256u << 20)

int store_envelope_open(const uint8_t *data, size_t len, const char *ctx, const uint8_t *pk,
			json_t **root, const char **body, size_t *body_len)
{
	json_error_t jerr;
	uint8_t sig[SIGN_LEN];
	json_t *r = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	const json_t *b = json_object_get(r, "body");
	const json_t *f = json_object_get(r, "format");

	if (!json_is_object(r) || !json_is_string(b) || !json_is_integer(f))
		goto bad;
	if (json_integer_value(f) > STORE_FORMAT || json_integer_value(f) < STORE_FORMAT_MIN) {
		json_decref(r);
		return -EPROTONOSUPPORT;
	}
	if (pk && (refjson_get_hex(r, "sig", sig, SIGN_LEN) ||
		   sign_verify(pk, ctx, json_string_value(b), json_string_length(b), sig)))
		goto bad;
	*root = r;
	*body = json_string_value(b);
	*body_len = json_string_length(b);
	return 0;
bad:
	json_decref(r);
	return -EBADMSG;
}

int store_envelope_make(const struct store *s, const char *ctx, json_t *body, char **out)
{
	return store_envelope_sign(s->sign_sk, s->format, ctx, body, out);
}

int store_envelope_sign(const uint8_t *sk, int format, const char *ctx, json_t *body, char **out)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t sig[SIGN_LEN];
	char sighex[2 * SIGN_LEN + 1];
	int ret = -ENOMEM;

	if (!text)
		return -ENOMEM;
	ret = sk ? sign_detached(sk, ctx, text, strlen(text), sig) : -EPERM;
	if (ret)
		goto out;
	hex_encode(sig, SIGN_LEN, sighex);
	json_t *env = json_pack("{s:i s:s s:s}", "format", format, "body", text, "sig", sighex);
	*out = env ? json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(env);
	ret = *out ? 0 : -ENOMEM;
out:
	free(text);
	return ret;
}

/* The secret that key entries protect: magic || store id || master key || signing pk. */
static uint8_t *bundle_make(const uint8_t *sid, const uint8_t *master, const uint8_t *pk)
{
	uint8_t *b = secmem_alloc(BUNDLE_LEN);
	if (!b)
		return NULL;
	memcpy(b, BUNDLE_MAGIC, 8);
	memcpy(b + 8, sid, STORE_ID_LEN);
	memcpy(b + 8 + STORE_ID_LEN, master, KEY_LEN);
	memcpy(b + 8 + STORE_ID_LEN + KEY_LEN, pk, SIGN_PK_LEN);
	return b;
}

/* Passphrase, recipient and quorum entries: keyadmin.c, shared with 'embassy key add'. */
static int write_key_entries(struct remote *r, const struct store_init_opts *o,
			     const uint8_t *bundle)
{
	return keyadmin_write_entries(r, o, bundle, BUNDLE_LEN, NULL, NULL);
}

static json_t *descriptor_body(int format, const uint8_t *sid, const uint8_t *pk)
{
	char sidhex[2 * STORE_ID_LEN + 1], pkhex[2 * SIGN_PK_LEN + 1];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	hex_encode(sid, STORE_ID_LEN, sidhex);
	hex_encode(pk, SIGN_PK_LEN, pkhex);
	return json_pack("{s:i s:s s:s s:I s:{s:i s:i s:i}}", "format", format, "store_id", sidhex,
			 "sign_pk", pkhex, "created",
			 (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec, "chunker", "min",
			 CHUNKER_MIN, "avg", CHUNKER_AVG, "max", CHUNKER_MAX);
}

static int init_objects(struct store *s, const struct store_init_opts *o, const uint8_t *master)
{
	uint8_t *bundle = bundle_make(s->store_id, master, s->sign_pk);
	json_t *body = descriptor_body(s->format, s->store_id, s->sign_pk);
	char *env = NULL;
	int ret = -ENOMEM;

	if (!bundle || !body)
		goto out;
	ret = write_key_entries(s->remote, o, bundle);
	if (ret)
		goto out;
	ret = store_envelope_make(s, SIGCTX_DESCRIPTOR, body, &env);
	/* the descriptor last: until it exists, this is not a store */
	if (!ret)
		ret = remote_put(s->remote, DESCRIPTOR_KEY, env, strlen(env), REMOTE_CREATE_ONLY);
out:
	secmem_free(bundle);
	json_decref(body);
	free(env);
	return ret;
}

int store_init(const char *url, const struct remote_opts *ro, const struct store_init_opts *o,
	       char store_id_hex[2 * STORE_ID_LEN + 1])
{
	struct store s = {0};
	uint8_t *master = NULL;
	uint64_t size;
	struct stat st;
	int ret;

	if (!o->passphrase && !o->nrecipients && !o->nofficers)
		return -EINVAL;
	s.format = o->format ? o->format : STORE_FORMAT;
	if (s.format < STORE_FORMAT_MIN || s.format > STORE_FORMAT)
		return -EINVAL;
	if (!lstat(o->sealer_key_out, &st))
		return -EEXIST;
	ret = remote_open(url, ro, &s.remote);
	if (ret)
		return ret;
	ret = remote_stat(s.remote, DESCRIPTOR_KEY, &size);
	if (ret != -ENOENT) {
		ret = ret ? ret : -EEXIST;
		goto out;
	}
	master = secmem_alloc(KEY_LEN);
	s.sign_sk = secmem_alloc(SIGN_SK_LEN);
	if (!master || !s.sign_sk) {
		ret = -ENOMEM;
		goto out;
	}
	randombytes_buf(s.store_id, STORE_ID_LEN);
	randombytes_buf(master, KEY_LEN);
	sign_keypair(s.sign_pk, s.sign_sk);
	/* the sealer key first: a store nobody can seal into would be useless */
	ret = keyfile_write_sealer(o->sealer_key_out, s.store_id, master, s.sign_sk);
	if (!ret)
		ret = init_objects(&s, o, master);
	if (!ret)
		hex_encode(s.store_id, STORE_ID_LEN, store_id_hex);
out:
	secmem_free(master);
	secmem_free(s.sign_sk);
	remote_free(s.remote);
	return ret;
}

/* ---- opening ---- */

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

static int check_descriptor(struct store *s, const uint8_t *data, size_t n);

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
	int ret = check_descriptor(s, u->desc, u->desc_len);
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
	int ret = quorum_unlock(s->remote, &qc, quorum_accept, &u, st);

	if (ret)
		return ret;
	snprintf(s->kept_entry, sizeof(s->kept_entry), "%s", st->entry);
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

/* The store id the descriptor claims (not authenticated: the bundle it selects is checked
 * against the signed descriptor afterwards). */
static int descriptor_store_id(const uint8_t *desc, size_t n, uint8_t id[STORE_ID_LEN])
{
	json_t *root, *body;
	const char *text;
	size_t len;
	int ret = store_envelope_open(desc, n, NULL, NULL, &root, &text, &len);

	if (ret)
		return ret;
	body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	ret = refjson_get_hex(body, "store_id", id, STORE_ID_LEN) ? -EBADMSG : 0;
	json_decref(body);
	json_decref(root);
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
	int ret = descriptor_store_id(desc, desc_len, id);

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

static int authenticate(struct store *s, const struct store_auth *a, const uint8_t *desc,
			size_t desc_len)
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
			ret = check_descriptor(s, desc, desc_len);
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

static int check_descriptor_one(struct store *s, const uint8_t *data, size_t n);

static int descriptor_copy(void *ctx, const uint8_t *data, size_t n)
{
	return check_descriptor_one(ctx, data, n);
}

/* The descriptor is checked against the signing key that authentication vouched for. Of
 * several embassies, a copy that does not verify is not the end: each mirror's is tried
 * (store_copies.c; the first read once per open, the copies once per open). */
static int check_descriptor(struct store *s, const uint8_t *data, size_t n)
{
	int ret = check_descriptor_one(s, data, n);

	if (!ret)
		s->desc_other = false; /* (a bundle of another store fails every copy: no change) */
	if (!ret || ret == -ENOMEM || remote_mirrors(s->remote) < 2)
		return ret;
	if (!s->desc_copies && !(s->desc_copies = calloc(1, sizeof(*s->desc_copies))))
		return -ENOMEM;
	ret = store_copies_try(s->remote, DESCRIPTOR_KEY, s->desc_copies, data, n, ret,
			       descriptor_copy, s, &s->desc_good);
	if (!ret)
		s->desc_other = true;
	return ret;
}

static int check_descriptor_one(struct store *s, const uint8_t *data, size_t n)
{
	json_t *root = NULL, *body = NULL, *ck;
	const char *text;
	size_t len;
	uint8_t sid[STORE_ID_LEN], pk[SIGN_PK_LEN];
	uint64_t mn, avg, mx;
	json_int_t format;
	int ret = store_envelope_open(data, n, SIGCTX_DESCRIPTOR, s->sign_pk, &root, &text, &len);

	if (ret)
		return ret;
	ret = -EBADMSG;
	body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	ck = json_object_get(body, "chunker");
	format = json_integer_value(json_object_get(body, "format"));
	if (!json_is_integer(json_object_get(body, "format")) ||
	    format != json_integer_value(json_object_get(root, "format")))
		goto out; /* the signed format must agree with the envelope's (checked: 1..2) */
	if (refjson_get_hex(body, "store_id", sid, STORE_ID_LEN) ||
	    refjson_get_hex(body, "sign_pk", pk, SIGN_PK_LEN) ||
	    memcmp(sid, s->store_id, STORE_ID_LEN) || memcmp(pk, s->sign_pk, SIGN_PK_LEN) ||
	    refjson_get_uint(ck, "min", UINT32_MAX, &mn) ||
	    refjson_get_uint(ck, "avg", UINT32_MAX, &avg) ||
	    refjson_get_uint(ck, "max", UINT32_MAX, &mx))
		goto out;
	s->ck_min = (uint32_t)mn;
	s->ck_avg = (uint32_t)avg;
	s->ck_max = (uint32_t)mx;
	s->format = (int)format;
	ret = 0;
out:
	json_decref(body);
	json_decref(root);
	return ret;
}

/* Format check before authentication, so a newer store says so instead of "bad key". */
static int peek_format(const uint8_t *data, size_t n)
{
	json_t *root;
	const char *body;
	size_t len;
	int ret = store_envelope_open(data, n, NULL, NULL, &root, &body, &len);
	if (!ret)
		json_decref(root);
	return ret;
}

/* The anchors a reader holds: trust lines in its recipient key files (keyfile.h). One that
 * names other keys only refuses the store: a key entry that opens is no proof, since anyone
 * with the recipient's public key can make one for a store of their own. *anchored: one of
 * them (or the sealer key itself) vouches for this signing key. */
static int check_anchors(struct store *s, const struct store_auth *a, bool *anchored)
{
	size_t n = (a->key_file ? 1 : 0) + a->nkey_files;
	char fpr[33];
	int ret = 0;

	*anchored = a->sealer_key != NULL; /* its own key is the authority */
	sign_fingerprint(s->sign_pk, fpr);
	for (size_t k = 0; !ret && !a->sealer_key && k < n; k++) {
		const char *path =
		    a->key_file && k == 0 ? a->key_file : a->key_files[k - (a->key_file ? 1 : 0)];
		struct keyfile kf;
		if (keyfile_load(path, &kf))
			continue; /* authentication reported it, or did not need it */
		if (kf.kind == KEYFILE_SEALER &&
		    !memcmp(kf.has_origin ? kf.origin : kf.pub, s->sign_pk, SIGN_PK_LEN))
			*anchored = true;
		if (kf.kind == KEYFILE_RECIPIENT && kf.ntrust) {
			if (keyfile_trusts(&kf, fpr)) {
				*anchored = true;
			} else {
				log_err("store %s is signed by key %s, but key file %s trusts only "
					"%s%s: refusing (a store substituted by someone who knows "
					"the recipient's public key?)",
					s->store_id_hex, fpr, path, kf.trust[0],
					kf.ntrust > 1 ? " and others" : "");
				ret = -EBADMSG;
			}
		}
		keyfile_clear(&kf);
	}
	return ret;
}

/* Which store the address serves (15.1). Of several embassies, each address on its own: the
 * store is the same whatever the order or subset of URLs a reader is given. */
static int check_urls(struct store *s, const char *url)
{
	char *all, *part, *save = NULL;
	int ret = 0;

	if (!remote_url_is_multi(url))
		return trust_check_url(&s->trust, url, s->store_id_hex);
	if (!(all = strdup(url)))
		return -ENOMEM;
	for (part = strtok_r(all, ",", &save); part && !ret; part = strtok_r(NULL, ",", &save))
		ret = trust_check_url(&s->trust, part, s->store_id_hex);
	free(all);
	return ret;
}

/* After authentication: the anchors, the pinned key, which store this address serves. */
static int check_trust(struct store *s, const struct store_auth *a, const char *url)
{
	bool anchored = false;
	int ret;

	hex_encode(s->store_id, STORE_ID_LEN, s->store_id_hex);
	ret = check_anchors(s, a, &anchored);
	if (!ret)
		ret = trust_check_key(&s->trust, s->store_id_hex, s->sign_pk, anchored);
	if (!ret)
		ret = check_urls(s, url);
	return ret;
}

static int peek_copy(void *ctx, const uint8_t *data, size_t n)
{
	(void)ctx;
	return peek_format(data, n);
}

/* Several embassies, and the descriptor first read is not even well formed (or claims a
 * format this reader lacks): the first mirror's copy that is becomes *desc. */
static int peek_other(struct store *s, uint8_t **desc, size_t *n, int ret)
{
	size_t good;

	if (!s->desc_copies && !(s->desc_copies = calloc(1, sizeof(*s->desc_copies))))
		return -ENOMEM;
	ret = store_copies_try(s->remote, DESCRIPTOR_KEY, s->desc_copies, *desc, *n, ret, peek_copy,
			       NULL, &good);
	if (ret)
		return ret;
	free(*desc);
	*desc = malloc(s->desc_copies->c[good].n ? s->desc_copies->c[good].n : 1);
	if (!*desc)
		return -ENOMEM;
	memcpy(*desc, s->desc_copies->c[good].data, s->desc_copies->c[good].n);
	*n = s->desc_copies->c[good].n;
	return 0;
}

/* One try; *copies: how many objects the mount's metadata mirror answered from its copies. */
static int open_once(const char *url, const struct remote_opts *ro, const struct store_auth *a,
		     struct store **out, size_t *copies)
{
	struct store *s = calloc(1, sizeof(*s));
	uint8_t *desc = NULL;
	size_t n;
	int ret = -ENOMEM;

	if (!s || secmem_init())
		goto out;
	ret = remote_open(url, ro, &s->remote);
	if (ret)
		goto out;
	ret = remote_get(s->remote, DESCRIPTOR_KEY, 0, 0, SMALL_OBJECT_MAX, &desc, &n);
	if (!ret)
		ret = peek_format(desc, n);
	if (ret && ret != -ENOMEM && remote_mirrors(s->remote) > 1)
		ret = peek_other(s, &desc, &n, ret);
	if (!ret)
		ret = authenticate(s, a, desc, n);
	if (!ret && a->trust)
		s->trust = *a->trust;
	if (!ret)
		ret = check_trust(s, a, url);
	if (!ret)
		ret = store_root_load(s); /* after the pin: the chain starts at the pinned key */
	if (ret)
		goto out;
	s->cache = cache_new(DEFAULT_MEMORY_CACHE);
	ret = s->cache ? 0 : -ENOMEM;
	if (!ret && s->desc_other) { /* another mirror's descriptor verified */
		store_copies_report(s->remote, DESCRIPTOR_KEY, s->desc_copies, s->desc_good);
		free(desc);
		n = s->desc_copies->c[s->desc_good].n;
		desc = s->desc_copies->c[s->desc_good].data;
		s->desc_copies->c[s->desc_good].data = NULL;
	}
	if (!ret) { /* all verified: the mount's mirror may keep them (remote.h) */
		remote_keep(s->remote, DESCRIPTOR_KEY, desc, n);
		if (s->kept_entry[0])
			remote_keep(s->remote, s->kept_entry, s->kept_bytes, s->kept_len);
	}
out:
	free(desc);
	if (ret) {
		*copies = s && s->remote ? remote_copies_served(s->remote) : 0;
		store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

int store_open(const char *url, const struct remote_opts *ro, const struct store_auth *a,
	       struct store **out)
{
	struct remote_opts fresh = {0};
	size_t copies = 0;
	int ret = open_once(url, ro, a, out, &copies);

	/* Local copies of the descriptor or a key entry that do not open the store (damaged,
	 * or kept from another state of it): once more, from the store alone. */
	if (ret && copies && ret != -ENOMEM && ret != -EIO && ret != -ETIMEDOUT &&
	    ret != -ECONNREFUSED && ro && ro->mirror_dir && !ro->offline) {
		log_warn("the local copies of this store's metadata do not open it (%s): reading "
			 "them from the store",
			 strerror(-ret));
		fresh = *ro;
		fresh.mirror_fresh = 1;
		ret = open_once(url, &fresh, a, out, &copies);
	}
	return ret;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	keys_free(s->keys);
	store_copies_free(s->desc_copies);
	free(s->desc_copies);
	free(s->kept_bytes);
	secmem_free(s->sign_sk);
	secmem_free(s->ts_sk);
	if (s->root)
		root_clear(s->root);
	free(s->root);
	cache_free(s->cache);
	store_reloc_free(s->reloc);
	if (s->remote)
		remote_log_mirrors(s->remote); /* several embassies: what each served */
	remote_free(s->remote);
	free(s);
}

struct remote *store_remote(const struct store *s)
{
	return s->remote;
}
const struct keys *store_keys(const struct store *s)
{
	return s->keys;
}
bool store_can_seal(const struct store *s)
{
	return s->sign_sk != NULL;
}
const uint8_t *store_sign_pk(const struct store *s)
{
	return s->snap_pk;
}

const uint8_t *store_anchor_pk(const struct store *s)
{
	return s->sign_pk;
}
const uint8_t *store_sign_sk(const struct store *s)
{
	return s->sign_sk;
}
const char *store_id_hex(const struct store *s)
{
	return s->store_id_hex;
}
int store_format(const struct store *s)
{
	return s->format;
}
int store_key_bundle(const struct store *s, uint8_t *out)
{
	uint8_t *b;

	if (keys_epoch(s->keys))
		return -EOPNOTSUPP; /* the agent holds 88-byte bundles of epoch 0 only */
	b = bundle_make(s->store_id, keys_master(s->keys), s->sign_pk);
	if (!b)
		return -ENOMEM;
	memcpy(out, b, BUNDLE_LEN);
	secmem_free(b);
	return 0;
}
int store_peek_id(const char *url, const struct remote_opts *ro, uint8_t id[STORE_ID_LEN])
{
	struct remote *r = NULL;
	uint8_t *desc = NULL;
	size_t n;
	int ret = remote_open(url, ro, &r);

	if (!ret)
		ret = remote_get(r, DESCRIPTOR_KEY, 0, 0, SMALL_OBJECT_MAX, &desc, &n);
	if (!ret)
		ret = peek_format(desc, n);
	if (!ret)
		ret = descriptor_store_id(desc, n, id);
	free(desc);
	remote_free(r);
	return ret;
}
void store_chunker_params(const struct store *s, uint32_t *mn, uint32_t *avg, uint32_t *mx)
{
	*mn = s->ck_min;
	*avg = s->ck_avg;
	*mx = s->ck_max;
}
void store_set_fetch_hook(struct store *s, struct store_fetch_hook *h)
{
	s->hook = h;
}
int store_set_memory_cache(struct store *s, size_t bytes)
{
	struct cache *c = cache_new(bytes);
	if (!c)
		return -ENOMEM;
	cache_free(s->cache);
	s->cache = c;
	return 0;
}
void store_pack_key(const uint8_t pack[PACK_ID_LEN], char out[64])
{
	char hex[2 * PACK_ID_LEN + 1];
	hex_encode(pack, PACK_ID_LEN, hex);
	snprintf(out, 64, "packs/%.2s/%s", hex, hex);
}
