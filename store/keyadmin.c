/* keyadmin: quorum entries, share files, and adding / listing / removing key entries;
 * see keyadmin.h and docs/FORMAT.md 5. */
#include "keyadmin.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "refjson.h"
#include "secmem.h"
#include "shamir.h"
#include "store_int.h"
#include "wrap.h"

#define QUORUM_AD	  "EMBQ1"
#define QUORUM_AD_LEN	  5
#define QUORUM_NONCE_LEN  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define QUORUM_TAG_LEN	  crypto_aead_xchacha20poly1305_ietf_ABYTES
#define QUORUM_SEALED_LEN (QUORUM_SHARE_LEN + crypto_box_SEALBYTES)
#define QUORUM_MAX_SECRET 4096
#define SHARE_FILE_MAGIC  "embassy-quorum-share-v1\n"
#define SHARE_FILE_MAX	  1024

_Static_assert(QUORUM_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "Q");

/* ---- small JSON helpers ---- */

static int set_hex(json_t *obj, const char *name, const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	int ret = -ENOMEM;

	if (s) {
		hex_encode(data, len, s);
		ret = json_object_set_new(obj, name, json_string(s)) ? -ENOMEM : 0;
	}
	free(s);
	return ret;
}

/* obj[name] as exactly len bytes; -EBADMSG otherwise. */
static int get_hex(const json_t *obj, const char *name, uint8_t *out, size_t len)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_string(v) || json_string_length(v) != 2 * len ||
	    hex_decode(json_string_value(v), out, len) < 0)
		return -EBADMSG;
	return 0;
}

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

/* ---- quorum entries ---- */

int quorum_entry_make(const void *secret, size_t len, unsigned m, const uint8_t (*pks)[32],
		      unsigned n, json_t **entry)
{
	uint8_t nonce[QUORUM_NONCE_LEN], rid[32], sealed[QUORUM_SEALED_LEN];
	uint8_t *q = NULL, *ct = NULL, *shares[SHAMIR_MAX_SHARES] = {0};
	json_t *e = NULL, *arr = NULL;
	int ret = -EINVAL;

	*entry = NULL;
	if (m < 1 || m > n || n > SHAMIR_MAX_SHARES || len == 0 || len > QUORUM_MAX_SECRET)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (sodium_memcmp(pks[i], pks[j], 32) == 0)
				return -EINVAL; /* one officer twice would lower the quorum */
	ret = -ENOMEM;
	q = secmem_alloc(QUORUM_KEY_LEN);
	ct = malloc(len + QUORUM_TAG_LEN);
	e = json_object();
	arr = json_array();
	if (!q || !ct || !e || !arr)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_keygen(q);
	randombytes_buf(nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    ct, NULL, secret, len, (const uint8_t *)QUORUM_AD, QUORUM_AD_LEN, NULL, nonce, q);
	ret = shamir_split(q, QUORUM_KEY_LEN, m, n, shares);
	if (ret)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		json_t *slot = json_object();

		ret = -ENOMEM;
		if (!slot || json_array_append_new(arr, slot))
			goto out;
		ret = -EINVAL; /* a public key that is not a curve point */
		if (crypto_box_seal(sealed, shares[i], QUORUM_SHARE_LEN, pks[i]) != 0)
			goto out;
		wrap_recipient_id(pks[i], rid); /* never the public key itself: see wrap.h */
		ret = set_hex(slot, "recipient_id", rid, sizeof(rid));
		if (!ret)
			ret = set_hex(slot, "ct", sealed, sizeof(sealed));
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	if (json_object_set_new(e, "type", json_string("quorum")) ||
	    json_object_set_new(e, "m", json_integer(m)) ||
	    json_object_set_new(e, "n", json_integer(n)) ||
	    set_hex(e, "nonce", nonce, sizeof(nonce)) || set_hex(e, "ct", ct, len + QUORUM_TAG_LEN))
		goto out;
	ret = json_object_set(e, "shares", arr) ? -ENOMEM : 0;
	if (ret)
		goto out;
	*entry = e;
	e = NULL;
out:
	shamir_free(shares, n);
	secmem_free(q);
	free(ct);
	json_decref(arr);
	json_decref(e);
	return ret;
}

int quorum_entry_params(const json_t *entry, unsigned *m, unsigned *n)
{
	const char *t = json_string_value(json_object_get(entry, "type"));
	const json_t *sh = json_object_get(entry, "shares");
	uint64_t vm, vn;

	if (!json_is_object(entry) || !t)
		return -EBADMSG;
	if (strcmp(t, "quorum") != 0)
		return -EINVAL;
	if (refjson_get_uint(entry, "m", SHAMIR_MAX_SHARES, &vm) ||
	    refjson_get_uint(entry, "n", SHAMIR_MAX_SHARES, &vn) || vm < 1 || vm > vn ||
	    !json_is_array(sh) || json_array_size(sh) != vn)
		return -EBADMSG;
	*m = (unsigned)vm;
	*n = (unsigned)vn;
	return 0;
}

int quorum_entry_open_share(const json_t *entry, const uint8_t pk[32], const uint8_t sk[32],
			    uint8_t **share)
{
	uint8_t rid[32], erid[32], sealed[QUORUM_SEALED_LEN];
	unsigned m, n;
	int ret = quorum_entry_params(entry, &m, &n);

	*share = NULL;
	if (ret)
		return ret;
	wrap_recipient_id(pk, rid);
	for (unsigned i = 0; i < n; i++) {
		const json_t *slot = json_array_get(json_object_get(entry, "shares"), i);
		uint8_t *sh;

		if (get_hex(slot, "recipient_id", erid, sizeof(erid)))
			return -EBADMSG;
		if (sodium_memcmp(erid, rid, sizeof(rid)) != 0)
			continue;
		if (get_hex(slot, "ct", sealed, sizeof(sealed)))
			return -EBADMSG;
		sh = secmem_alloc(QUORUM_SHARE_LEN);
		if (!sh)
			return -ENOMEM;
		if (crypto_box_seal_open(sh, sealed, sizeof(sealed), pk, sk) != 0) {
			secmem_free(sh);
			return -EKEYREJECTED;
		}
		if (sh[0] < 1 || sh[0] > n) {
			secmem_free(sh);
			return -EBADMSG;
		}
		*share = sh;
		return 0;
	}
	return -ENOKEY;
}

int quorum_entry_unlock(const json_t *entry, const uint8_t *const *shares, size_t k,
			uint8_t **secret, size_t *len)
{
	uint8_t nonce[QUORUM_NONCE_LEN];
	const json_t *jct = json_object_get(entry, "ct");
	size_t ctlen = json_string_length(jct) / 2;
	uint8_t *q = NULL, *ct = NULL, *plain = NULL;
	unsigned m, n;
	int ret = quorum_entry_params(entry, &m, &n);

	*secret = NULL;
	*len = 0;
	if (ret)
		return ret;
	if (get_hex(entry, "nonce", nonce, sizeof(nonce)) || !json_is_string(jct) ||
	    ctlen <= QUORUM_TAG_LEN || ctlen > QUORUM_MAX_SECRET + QUORUM_TAG_LEN)
		return -EBADMSG;
	ret = -ENOMEM;
	q = secmem_alloc(QUORUM_KEY_LEN);
	ct = malloc(ctlen);
	plain = secmem_alloc(ctlen - QUORUM_TAG_LEN);
	if (!q || !ct || !plain)
		goto out;
	ret = -EBADMSG;
	if (get_hex(entry, "ct", ct, ctlen))
		goto out;
	/* fewer than m shares cannot be right, and would only be slower to reject */
	ret = -EKEYREJECTED;
	if (k < m || shamir_combine(shares, k, QUORUM_KEY_LEN, q) < 0)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct, ctlen,
						       (const uint8_t *)QUORUM_AD, QUORUM_AD_LEN,
						       nonce, q) != 0)
		goto out;
	*secret = plain;
	*len = ctlen - QUORUM_TAG_LEN;
	plain = NULL;
	ret = 0;
out:
	secmem_free(q);
	secmem_free(plain);
	free(ct);
	return ret;
}

/* ---- share files ---- */

static bool quorum_name_ok(const char *name)
{
	size_t pl = strlen(QUORUM_PREFIX), n = strlen(name);

	return n > pl && n < KEY_NAME_MAX && strncmp(name, QUORUM_PREFIX, pl) == 0 &&
	       strspn(name + pl, "0123456789abcdef") == n - pl;
}

int quorum_share_write(const char *path, const struct quorum_share *sh)
{
	char *text = secmem_alloc(SHARE_FILE_MAX);
	char hex[2 * QUORUM_SHARE_LEN + 1];
	int fd = -1, ret = -EINVAL;
	size_t len;

	if (!text)
		return -ENOMEM;
	if (!quorum_name_ok(sh->entry))
		goto out;
	hex_encode(sh->share, QUORUM_SHARE_LEN, hex);
	len = (size_t)snprintf(text, SHARE_FILE_MAX, SHARE_FILE_MAGIC "entry %s\nshare %s\n",
			       sh->entry, hex);
	secmem_wipe(hex, sizeof(hex));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = 0;
	/* exactly 0600 whatever the umask */
	if (fchmod(fd, 0600) || write(fd, text, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
out:
	secmem_free(text);
	return ret;
}

void quorum_share_clear(struct quorum_share *sh)
{
	secmem_free(sh->share);
	memset(sh, 0, sizeof(*sh));
}

/* "name value\n" at p: returns the value's start and length, or NULL. */
static const char *share_line(const char *p, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end;

	if (strncmp(p, name, nl) != 0 || p[nl] != ' ')
		return NULL;
	p += nl + 1;
	end = strchr(p, '\n');
	if (!end)
		return NULL;
	*vlen = (size_t)(end - p);
	return p;
}

int quorum_share_read(const char *path, struct quorum_share *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *text = NULL, *hex = NULL;
	const char *p, *v;
	struct stat st;
	size_t vlen;
	ssize_t n;
	int ret = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_mode & 077) {
		log_err("%s: share file is readable by others (mode %04o); run chmod 600 %s", path,
			(unsigned)(st.st_mode & 07777), path);
		ret = -EPERM;
		goto out;
	}
	ret = -ENOMEM;
	text = secmem_alloc(SHARE_FILE_MAX + 1);
	hex = secmem_alloc(2 * QUORUM_SHARE_LEN + 1);
	out->share = secmem_alloc(QUORUM_SHARE_LEN);
	if (!text || !hex || !out->share)
		goto out;
	n = read(fd, text, SHARE_FILE_MAX);
	ret = n < 0 ? -errno : -EBADMSG;
	if (n < 0 || n == SHARE_FILE_MAX)
		goto out;
	text[n] = '\0';
	ret = -EBADMSG;
	p = text;
	if (strncmp(p, SHARE_FILE_MAGIC, strlen(SHARE_FILE_MAGIC)) != 0)
		goto out;
	p += strlen(SHARE_FILE_MAGIC);
	v = share_line(p, "entry", &vlen);
	if (!v || vlen >= KEY_NAME_MAX)
		goto out;
	memcpy(out->entry, v, vlen);
	out->entry[vlen] = '\0';
	if (!quorum_name_ok(out->entry))
		goto out;
	p = v + vlen + 1;
	v = share_line(p, "share", &vlen);
	if (!v || vlen != 2 * QUORUM_SHARE_LEN || v[vlen + 1] != '\0')
		goto out;
	memcpy(hex, v, vlen);
	hex[vlen] = '\0';
	if (hex_decode(hex, out->share, QUORUM_SHARE_LEN) < 0 || out->share[0] == 0)
		goto out;
	ret = 0;
out:
	secmem_free(hex);
	secmem_free(text);
	close(fd);
	if (ret)
		quorum_share_clear(out);
	return ret;
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
	int (*accept)(void *ctx, uint8_t *bundle);
	void *ctx;
	unsigned m, n, given;
};

/* One entry: 0 unlocked (accepted), or why not. */
static int quorum_try_entry(struct quorum_try *t, struct remote *r, const char *name)
{
	const uint8_t *set[SHAMIR_MAX_SHARES];
	uint8_t *opened[SHAMIR_MAX_SHARES] = {0}, *secret = NULL;
	size_t k = 0, nopened = 0, slen;
	json_t *e = NULL;
	int ret = get_entry(r, name, &e), conflict = 0;

	t->m = t->n = t->given = 0;
	if (!ret)
		ret = quorum_entry_params(e, &t->m, &t->n);
	if (ret)
		goto out;
	for (size_t i = 0; i < t->c->nkf && nopened < SHAMIR_MAX_SHARES; i++) {
		const struct keyfile *kf = &t->c->kfs[i];
		uint8_t *sh;

		ret = quorum_entry_open_share(e, kf->pub, kf->secret, &sh);
		if (ret == -ENOKEY)
			continue;
		if (ret) /* our slot is there but does not open: a damaged entry */
			goto out;
		opened[nopened++] = sh;
		if (add_share(set, &k, sh))
			conflict = 1;
	}
	for (size_t i = 0; i < t->c->nshares && k < SHAMIR_MAX_SHARES; i++) {
		const struct quorum_share *qs = &t->c->shares[i];

		if (strcmp(qs->entry, name) != 0)
			continue;
		if (qs->share[0] > t->n || add_share(set, &k, qs->share))
			conflict = 1;
	}
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
	if (slen != BUNDLE_LEN || memcmp(secret, BUNDLE_MAGIC, 8) != 0) {
		ret = -EBADMSG;
		goto out;
	}
	ret = t->accept(t->ctx, secret); /* takes the bundle */
	secret = NULL;
	if (ret == -EPROTONOSUPPORT)
		ret = -EBADMSG;
	if (ret)
		log_warn("quorum entry %s opens but does not belong to this store's descriptor",
			 name);
out:
	secmem_free(secret);
	for (size_t i = 0; i < nopened; i++)
		secmem_free(opened[i]);
	json_decref(e);
	return ret;
}

int quorum_unlock(struct remote *r, const struct quorum_creds *creds,
		  int (*accept)(void *ctx, uint8_t *bundle), void *ctx,
		  struct store_quorum_status *st)
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
			char name[KEY_NAME_MAX])
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
	ret = quorum_entry_make(bundle, BUNDLE_LEN, o->quorum_m, (const uint8_t(*)[32])pks,
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
			   void (*added)(void *ctx, const char *name), void *ctx)
{
	char name[KEY_NAME_MAX], hex[17];
	uint8_t pk[32], rid[32];
	json_t *entry = NULL;
	int ret = 0;

	if (o->passphrase) {
		ret = wrap_passphrase(bundle, BUNDLE_LEN, o->passphrase, o->passlen,
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
		ret = wrap_recipient(bundle, BUNDLE_LEN, pk, &entry);
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
		ret = write_quorum(r, o, bundle, name);
		if (!ret && added)
			added(ctx, name);
	}
	return ret;
}

int keyadmin_add(struct store *s, const struct store_init_opts *o,
		 void (*added)(void *ctx, const char *name), void *ctx)
{
	uint8_t *bundle;
	int ret;

	if (!store_can_seal(s))
		return -EPERM;
	bundle = secmem_alloc(BUNDLE_LEN);
	if (!bundle)
		return -ENOMEM;
	/* the same bundle init wrote (FORMAT.md 2.2), rebuilt from the sealer's keys */
	memcpy(bundle, BUNDLE_MAGIC, 8);
	memcpy(bundle + 8, s->store_id, STORE_ID_LEN);
	memcpy(bundle + 8 + STORE_ID_LEN, keys_master(s->keys), KEY_LEN);
	memcpy(bundle + 8 + STORE_ID_LEN + KEY_LEN, s->sign_pk, SIGN_PK_LEN);
	ret = keyadmin_write_entries(s->remote, o, bundle, added, ctx);
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
		json_t *e = NULL;

		if (entry && strcmp(entry, l.names[i]) != 0)
			continue;
		ret = get_entry(r, l.names[i], &e);
		if (!ret)
			ret = quorum_entry_open_share(e, kf->pub, kf->secret, &sh);
		json_decref(e);
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
