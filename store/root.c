/* root: the signed, versioned root document (see root.h; docs/FORMAT.md 19). */
#include "root.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

/* Exactly 2 * len lower-case hex digits: one spelling per key, so that two documents that
 * mean the same are the same bytes. */
static int get_hex(const json_t *v, uint8_t *out, size_t len)
{
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != 2 * len || strspn(s, "0123456789abcdef") != 2 * len)
		return -EBADMSG;
	return hex_decode(s, out, len) ? -EBADMSG : 0;
}

static int get_uint(const json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
	json_int_t i = json_integer_value(v);
	if (!json_is_integer(v) || i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return -EBADMSG;
	*out = (uint64_t)i;
	return 0;
}

static bool in_set(const uint8_t (*set)[SIGN_PK_LEN], unsigned n, const uint8_t *pk)
{
	for (unsigned i = 0; i < n; i++)
		if (!memcmp(set[i], pk, SIGN_PK_LEN))
			return true;
	return false;
}

static int get_officers(const json_t *a, struct root *r)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > ROOT_OFFICERS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (get_hex(json_array_get(a, i), r->officers[i], SIGN_PK_LEN))
			return -EBADMSG;
		/* strictly ascending: sorted and distinct, so one officer counts once */
		if (i && memcmp(r->officers[i - 1], r->officers[i], SIGN_PK_LEN) >= 0)
			return -EBADMSG;
	}
	r->nofficers = (unsigned)n;
	return 0;
}

static int get_retired(const json_t *a, struct root *r)
{
	size_t n = json_array_size(a);
	if (!a)
		return 0;
	if (!json_is_array(a) || n > ROOT_RETIRED_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);
		struct root_retired *x = &r->retired[i];
		if (json_array_size(e) != 2 || get_hex(json_array_get(e, 0), x->pk, SIGN_PK_LEN) ||
		    get_uint(json_array_get(e, 1), 0, INT64_MAX, &x->max_seq))
			return -EBADMSG;
		for (size_t k = 0; k < i; k++)
			if (!memcmp(r->retired[k].pk, x->pk, SIGN_PK_LEN))
				return -EBADMSG;
	}
	r->nretired = (unsigned)n;
	return 0;
}

/* The keys' roles are kept apart: an officer key is never also the snapshot or timestamp
 * key (an online key must not count towards a rotation), the current snapshot key is not
 * also retired. */
static int check_roles(const struct root *r)
{
	const uint8_t(*off)[SIGN_PK_LEN] = (const uint8_t(*)[SIGN_PK_LEN])r->officers;
	if (r->threshold < 1 || r->threshold > r->nofficers ||
	    !memcmp(r->snapshot_pk, r->timestamp_pk, SIGN_PK_LEN) ||
	    in_set(off, r->nofficers, r->snapshot_pk) || in_set(off, r->nofficers, r->timestamp_pk))
		return -EBADMSG;
	for (unsigned i = 0; i < r->nretired; i++)
		if (!memcmp(r->retired[i].pk, r->snapshot_pk, SIGN_PK_LEN))
			return -EBADMSG;
	return 0;
}

static int decode_body(const json_t *b, struct root *r)
{
	uint64_t v, thr, t;
	if (!json_is_object(b) || get_uint(json_object_get(b, "v"), 1, 1, &v) ||
	    get_hex(json_object_get(b, "store_id"), r->store_id, STORE_ID_LEN) ||
	    get_uint(json_object_get(b, "version"), 1, ROOT_VERSION_LIMIT, &r->version) ||
	    get_uint(json_object_get(b, "time"), 0, INT64_MAX, &t) ||
	    get_hex(json_object_get(b, "snapshot_key"), r->snapshot_pk, SIGN_PK_LEN) ||
	    get_hex(json_object_get(b, "timestamp_key"), r->timestamp_pk, SIGN_PK_LEN) ||
	    get_officers(json_object_get(b, "officers"), r) ||
	    get_uint(json_object_get(b, "threshold"), 1, ROOT_OFFICERS_MAX, &thr) ||
	    get_retired(json_object_get(b, "retired"), r))
		return -EBADMSG;
	r->time_ns = (int64_t)t;
	r->threshold = (unsigned)thr;
	return check_roles(r);
}

static int decode_sigs(const json_t *a, struct root *r)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n > ROOT_SIGS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);
		if (json_array_size(e) != 2 ||
		    get_hex(json_array_get(e, 0), r->sig_pk[i], SIGN_PK_LEN) ||
		    get_hex(json_array_get(e, 1), r->sig[i], SIGN_LEN))
			return -EBADMSG;
	}
	r->nsigs = (unsigned)n;
	return 0;
}

int root_decode(const uint8_t *data, size_t n, struct root *r)
{
	json_t *env = NULL, *body = NULL;
	const json_t *b;
	int ret = -EBADMSG;

	memset(r, 0, sizeof(*r));
	if (n > ROOT_OBJECT_MAX)
		return -EBADMSG;
	env = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
	b = json_object_get(env, "body");
	if (!json_is_object(env) || !json_is_string(b) ||
	    decode_sigs(json_object_get(env, "sigs"), r))
		goto out;
	body =
	    json_loadb(json_string_value(b), json_string_length(b), JSON_REJECT_DUPLICATES, NULL);
	if (decode_body(body, r))
		goto out;
	r->body_len = json_string_length(b);
	r->body = malloc(r->body_len + 1);
	ret = r->body ? 0 : -ENOMEM;
	if (r->body)
		memcpy(r->body, json_string_value(b), r->body_len + 1);
out:
	json_decref(body);
	json_decref(env);
	if (ret)
		root_clear(r);
	return ret;
}

void root_clear(struct root *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void root_hash(const struct root *r, uint8_t out[32])
{
	crypto_generichash(out, 32, (const uint8_t *)r->body, r->body_len, NULL, 0);
}

unsigned root_signers(const struct root *r, const uint8_t (*keys)[SIGN_PK_LEN], unsigned nkeys)
{
	bool counted[ROOT_SIGS_MAX] = {false};
	unsigned n = 0;

	for (unsigned k = 0; k < nkeys; k++) {
		for (unsigned i = 0; i < r->nsigs; i++) {
			if (counted[i] || memcmp(r->sig_pk[i], keys[k], SIGN_PK_LEN) ||
			    sign_verify(keys[k], SIGCTX_ROOT, r->body, r->body_len, r->sig[i]))
				continue;
			counted[i] = true; /* a key listed twice in keys counts once: see below */
			n++;
			break;
		}
	}
	return n;
}

/* keys[] of a root are distinct (sorted officers), so root_signers counts distinct keys. */
static bool officers_signed(const struct root *signers, const struct root *doc)
{
	const uint8_t(*off)[SIGN_PK_LEN] = (const uint8_t(*)[SIGN_PK_LEN])signers->officers;
	return root_signers(doc, off, signers->nofficers) >= signers->threshold;
}

int root_verify_first(const struct root *r, const uint8_t sid[STORE_ID_LEN],
		      const uint8_t origin[SIGN_PK_LEN])
{
	const uint8_t(*o)[SIGN_PK_LEN] = (const uint8_t(*)[SIGN_PK_LEN])origin;
	if (r->version != 1 || memcmp(r->store_id, sid, STORE_ID_LEN) ||
	    root_signers(r, o, 1) != 1 || !officers_signed(r, r))
		return -EBADMSG;
	return 0;
}

int root_verify_next(const struct root *prev, const struct root *next)
{
	if (prev->version >= ROOT_VERSION_LIMIT || next->version != prev->version + 1 ||
	    memcmp(prev->store_id, next->store_id, STORE_ID_LEN) || !officers_signed(prev, next) ||
	    !officers_signed(next, next))
		return -EBADMSG;
	return 0;
}

bool root_snapshot_key_ok(const struct root *r, const uint8_t pk[SIGN_PK_LEN], uint64_t seq)
{
	if (!memcmp(r->snapshot_pk, pk, SIGN_PK_LEN))
		return true;
	for (unsigned i = 0; i < r->nretired; i++)
		if (!memcmp(r->retired[i].pk, pk, SIGN_PK_LEN))
			return seq <= r->retired[i].max_seq;
	return false;
}

static json_t *hexs(const uint8_t *p, size_t len)
{
	char h[2 * SIGN_LEN + 1];
	hex_encode(p, len, h);
	return json_string(h);
}

static int officer_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SIGN_PK_LEN);
}

int root_seal_body(struct root *r)
{
	json_t *b, *off = json_array(), *ret_a = json_array();
	int ret = -ENOMEM;

	qsort(r->officers, r->nofficers, SIGN_PK_LEN, officer_cmp);
	for (unsigned i = 0; off && i < r->nofficers; i++)
		json_array_append_new(off, hexs(r->officers[i], SIGN_PK_LEN));
	for (unsigned i = 0; ret_a && i < r->nretired; i++)
		json_array_append_new(ret_a, json_pack("[o I]", hexs(r->retired[i].pk, SIGN_PK_LEN),
						       (json_int_t)r->retired[i].max_seq));
	b = json_pack("{s:i s:o s:I s:I s:o s:o s:o s:I}", "v", 1, "store_id",
		      hexs(r->store_id, STORE_ID_LEN), "version", (json_int_t)r->version, "time",
		      (json_int_t)r->time_ns, "snapshot_key", hexs(r->snapshot_pk, SIGN_PK_LEN),
		      "timestamp_key", hexs(r->timestamp_pk, SIGN_PK_LEN), "officers", off,
		      "threshold", (json_int_t)r->threshold);
	if (b && r->nretired)
		json_object_set(b, "retired", ret_a);
	free(r->body);
	r->body = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	r->body_len = r->body ? strlen(r->body) : 0;
	r->nsigs = 0;
	if (r->body)
		ret = check_roles(r) || r->version < 1 ? -EINVAL : 0;
	json_decref(b);
	json_decref(ret_a);
	return ret;
}

int root_sign(struct root *r, const uint8_t sk[SIGN_SK_LEN])
{
	uint8_t pk[SIGN_PK_LEN];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	for (unsigned i = 0; i < r->nsigs; i++)
		if (!memcmp(r->sig_pk[i], pk, SIGN_PK_LEN))
			return 0; /* signed already */
	if (!r->body || r->nsigs == ROOT_SIGS_MAX)
		return -EINVAL;
	memcpy(r->sig_pk[r->nsigs], pk, SIGN_PK_LEN);
	if (sign_detached(sk, SIGCTX_ROOT, r->body, r->body_len, r->sig[r->nsigs]))
		return -EINVAL;
	r->nsigs++;
	return 0;
}

int root_envelope(const struct root *r, char **out)
{
	json_t *sigs = json_array(), *env;
	*out = NULL;
	for (unsigned i = 0; sigs && i < r->nsigs; i++)
		json_array_append_new(sigs, json_pack("[o o]", hexs(r->sig_pk[i], SIGN_PK_LEN),
						      hexs(r->sig[i], SIGN_LEN)));
	env = r->body ? json_pack("{s:s% s:o}", "body", r->body, r->body_len, "sigs", sigs) : NULL;
	if (!env)
		json_decref(sigs);
	*out = env ? json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(env);
	return *out ? 0 : -ENOMEM;
}

void root_object_name(uint64_t version, char out[32])
{
	snprintf(out, 32, "roots/%016llx", (unsigned long long)version);
}
