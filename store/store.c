/* store: opening a store (descriptor read, authentication, trust pin, root chain), closing it,
 * and the handle's accessors. Creating one: store_init.c; the descriptor: store_desc.c; key
 * entries and credentials: store_unlock.c. */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "keyfile.h"
#include "log.h"
#include "root.h"
#include "secmem.h"
#include "store_int.h"

#define DEFAULT_MEMORY_CACHE (256u << 20)

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
	return store_desc_peek(data, n);
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
		ret = store_desc_peek(desc, n);
	if (ret && ret != -ENOMEM && remote_mirrors(s->remote) > 1)
		ret = peek_other(s, &desc, &n, ret);
	if (!ret)
		ret = store_unlock(s, a, desc, n);
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
