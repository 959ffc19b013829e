/* store_desc: the store's descriptor (docs/FORMAT.md): signed envelopes, the format peek before
 * authentication, the store id it claims, and its check against the authenticated key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "refjson.h"
#include "store.h"
#include "store_int.h"

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

/* The store id the descriptor claims (not authenticated: the bundle it selects is checked
 * against the signed descriptor afterwards). */
int store_desc_store_id(const uint8_t *desc, size_t n, uint8_t id[STORE_ID_LEN])
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

static int check_descriptor_one(struct store *s, const uint8_t *data, size_t n);

static int descriptor_copy(void *ctx, const uint8_t *data, size_t n)
{
	return check_descriptor_one(ctx, data, n);
}

/* The descriptor is checked against the signing key that authentication vouched for. Of
 * several embassies, a copy that does not verify is not the end: each mirror's is tried
 * (store_copies.c; the first read once per open, the copies once per open). */
int store_desc_check(struct store *s, const uint8_t *data, size_t n)
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
int store_desc_peek(const uint8_t *data, size_t n)
{
	json_t *root;
	const char *body;
	size_t len;
	int ret = store_envelope_open(data, n, NULL, NULL, &root, &body, &len);
	if (!ret)
		json_decref(root);
	return ret;
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
		ret = store_desc_peek(desc, n);
	if (!ret)
		ret = store_desc_store_id(desc, n, id);
	free(desc);
	remote_free(r);
	return ret;
}
