/* keypasswd: a passphrase entry replaced by one for a new passphrase; see keypasswd.h. */
#include "keypasswd.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch.h"
#include "hex.h"
#include "keyadmin.h"
#include "log.h"
#include "secmem.h"
#include "store_int.h"
#include "wrap.h"

#define PASS_PREFIX "keys/pass-"

/* The bundle built from the sealer's keys (every key epoch it holds), with its length. */
struct mine {
	uint8_t *b;
	size_t len;
};

static int same_bundle(const uint8_t *b, size_t len, const struct mine *m)
{
	return len == m->len && sodium_memcmp(b, m->b, len) == 0;
}

/* Open passphrase entry name with pass: 0 and *bundle (secmem, *blen bytes, any key epoch), or
 * -EKEYREJECTED / -EBADMSG / a remote error. */
static int open_entry(struct remote *r, const char *name, const char *pass, size_t passlen,
		      uint8_t **bundle, size_t *blen)
{
	uint8_t *data = NULL, *secret = NULL;
	size_t n, slen = 0;
	json_t *e;
	int ret = remote_get(r, name, 0, 0, SMALL_OBJECT_MAX, &data, &n);

	*bundle = NULL;
	if (ret)
		return ret;
	e = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
	free(data);
	if (!e)
		return -EBADMSG;
	ret = unwrap_passphrase(e, pass, passlen, &secret, &slen);
	json_decref(e);
	if (ret == -EINVAL)
		ret = -EBADMSG; /* a "keys/pass-" name holding another kind of entry */
	if (!ret && epoch_bundle_check(secret, slen))
		ret = -EBADMSG;
	if (ret)
		secmem_free(secret);
	else
		*bundle = secret;
	*blen = ret ? 0 : slen;
	return ret;
}

/* Does entry name open with the old passphrase to this store's bundle (mine)? */
static int try_entry(struct store *s, const char *name, const struct keypasswd *p,
		     const struct mine *mine)
{
	uint8_t *b = NULL;
	size_t blen;
	int ret = open_entry(s->remote, name, p->old, p->oldlen, &b, &blen);

	if (!ret && !same_bundle(b, blen, mine)) {
		log_info("key entry %s opens with this passphrase but holds another store's key",
			 name);
		ret = -EBADMSG;
	}
	secmem_free(b);
	return ret;
}

/* The more telling of two failures: a wrong passphrase beats "malformed" beats the rest. */
static int worse(int a, int b)
{
	if (a == -EKEYREJECTED || b == -EKEYREJECTED)
		return -EKEYREJECTED;
	if (a == -EBADMSG || b == -EBADMSG)
		return -EBADMSG;
	return a ? a : b;
}

static int find_among(struct store *s, struct keypasswd *p, const struct key_entry_info *v,
		      size_t n, const struct mine *mine)
{
	size_t tried = 0;
	int ret, best = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (p->entry && strcmp(v[i].name, p->entry) != 0)
			continue;
		if (p->entry && strcmp(v[i].type, "passphrase") != 0)
			return strcmp(v[i].type, "malformed") == 0 ? -EBADMSG : -EINVAL;
		if (!p->entry && strcmp(v[i].type, "passphrase") != 0)
			continue;
		any = true;
		if (tried++ == KEYPASSWD_MAX_TRIES) {
			log_warn("more than %d passphrase entries: the rest are not tried; name "
				 "the one to change",
				 KEYPASSWD_MAX_TRIES);
			break;
		}
		ret = try_entry(s, v[i].name, p, mine);
		if (!ret) {
			snprintf(p->old_name, sizeof(p->old_name), "%s", v[i].name);
			return 0;
		}
		best = worse(best, ret);
	}
	if (!any)
		return p->entry ? -ENOENT : -ENOKEY;
	return best;
}

int keypasswd_find(struct store *s, struct keypasswd *p)
{
	struct key_entry_info *v = NULL;
	struct mine mine;
	size_t n = 0;
	int ret;

	p->old_name[0] = '\0';
	if (!store_can_seal(s))
		return -EPERM;
	if (p->entry && strncmp(p->entry, PASS_PREFIX, strlen(PASS_PREFIX)) != 0)
		return -EINVAL;
	mine.b = epoch_bundle_make(s->store_id, s->keys, s->sign_pk, &mine.len);
	if (!mine.b)
		return -ENOMEM;
	ret = keyadmin_list(store_remote(s), &v, &n);
	if (!ret)
		ret = find_among(s, p, v, n, &mine);
	free(v);
	secmem_free(mine.b);
	return ret;
}

/* Read the new entry back and open it: what the next reader will do. */
static int check_written(struct store *s, struct keypasswd *p, const struct mine *mine)
{
	uint8_t *b = NULL;
	size_t blen;
	int ret = open_entry(s->remote, p->new_name, p->new, p->newlen, &b, &blen);

	if (!ret && !same_bundle(b, blen, mine))
		ret = -EBADMSG;
	secmem_free(b);
	if (ret == -EKEYREJECTED || ret == -EBADMSG) {
		log_err("the new key entry %s does not open as written (%s); removing it, the old "
			"entry stays",
			p->new_name, strerror(-ret));
		remote_delete(s->remote, p->new_name);
		ret = -EIO;
		p->new_name[0] = '\0';
	}
	return ret;
}

int keypasswd_write(struct store *s, struct keypasswd *p)
{
	struct mine mine;
	uint8_t rnd[8];
	char hex[17], *text = NULL;
	json_t *e = NULL;
	int ret;

	p->new_name[0] = '\0';
	if (!store_can_seal(s))
		return -EPERM;
	if (!p->new || !p->newlen)
		return -EINVAL;
	mine.b = epoch_bundle_make(s->store_id, s->keys, s->sign_pk, &mine.len);
	if (!mine.b)
		return -ENOMEM;
	ret = wrap_passphrase(mine.b, mine.len, p->new, p->newlen,
			      p->kdf_ops ? p->kdf_ops : WRAP_DEFAULT_OPS,
			      p->kdf_mem ? p->kdf_mem : WRAP_DEFAULT_MEM, &e);
	if (!ret && !(text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS)))
		ret = -ENOMEM;
	if (!ret) {
		randombytes_buf(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(p->new_name, sizeof(p->new_name), "%s%s", PASS_PREFIX, hex);
		ret = remote_put(s->remote, p->new_name, text, strlen(text), REMOTE_CREATE_ONLY);
	}
	if (ret)
		p->new_name[0] = '\0'; /* nothing written */
	else
		ret = check_written(s, p, &mine); /* on a remote error, new_name may exist */
	free(text);
	json_decref(e);
	secmem_free(mine.b);
	return ret;
}

int keypasswd_change(struct store *s, struct keypasswd *p)
{
	int ret = keypasswd_find(s, p);

	if (!ret)
		ret = keypasswd_write(s, p);
	if (!ret)
		ret = remote_delete(s->remote, p->old_name);
	return ret;
}
