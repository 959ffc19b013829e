/* wrap: passphrase (Argon2id) and recipient (X25519 sealed box) entries; see wrap.h. */
#include "wrap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "secmem.h"

#define WRAP_AD	       "EMBK1"
#define WRAP_AD_LEN    5
#define WRAP_SALT_LEN  crypto_pwhash_argon2id_SALTBYTES
#define WRAP_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAP_TAG_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAP_KEY_LEN   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
/* Entries come from the untrusted host: bound what they can make us spend. */
#define WRAP_MAX_OPS	64ull
#define WRAP_MAX_MEM	(4ull << 30)
#define WRAP_MAX_SECRET (64u << 10)

_Static_assert(WRAP_SALT_LEN == 16, "salt");
_Static_assert(WRAP_MIN_MEM >= crypto_pwhash_argon2id_MEMLIMIT_MIN, "min mem");

static int wrap_params_ok(unsigned long long ops, unsigned long long mem)
{
	return ops >= crypto_pwhash_argon2id_OPSLIMIT_MIN && ops <= WRAP_MAX_OPS &&
	       mem >= crypto_pwhash_argon2id_MEMLIMIT_MIN && mem <= WRAP_MAX_MEM && mem <= SIZE_MAX;
}

/* Set obj[name] to the hex of data; 0 or -ENOMEM. */
static int json_set_hex(json_t *obj, const char *name, const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	int ret = -ENOMEM;

	if (!s)
		goto out;
	hex_encode(data, len, s);
	if (json_object_set_new(obj, name, json_string(s)) == 0)
		ret = 0;
out:
	free(s);
	return ret;
}

/* Decode obj[name] as exactly len bytes; -EBADMSG when absent or malformed. */
static int json_get_hex(const json_t *obj, const char *name, uint8_t *out, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, name));

	if (!s || hex_decode(s, out, len) < 0)
		return -EBADMSG;
	return 0;
}

/* Decode obj[name] into a malloc'd buffer of min..max bytes. */
static int json_get_hex_alloc(const json_t *obj, const char *name, size_t min, size_t max,
			      uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(obj, name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	uint8_t *buf = NULL;
	int ret = -EBADMSG;

	if (!s || n % 2 || n / 2 < min || n / 2 > max)
		goto out;
	ret = -ENOMEM;
	buf = malloc(n / 2 + 1);
	if (!buf)
		goto out;
	ret = -EBADMSG;
	if (hex_decode(s, buf, n / 2) < 0)
		goto out;
	*out = buf;
	*len = n / 2;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	return ret;
}

/* -EINVAL when the entry is another kind, -EBADMSG when it is not an entry at all. */
static int wrap_check_type(const json_t *entry, const char *type)
{
	const char *t = json_string_value(json_object_get(entry, "type"));

	if (!json_is_object(entry) || !t)
		return -EBADMSG;
	return strcmp(t, type) == 0 ? 0 : -EINVAL;
}

/* Derive the wrapping key into secmem; Argon2id fails mostly for lack of memory. */
static int wrap_derive(const char *pass, size_t passlen, const uint8_t salt[WRAP_SALT_LEN],
		       unsigned long long ops, size_t mem, uint8_t **key)
{
	*key = secmem_alloc(WRAP_KEY_LEN);
	if (!*key)
		return -ENOMEM;
	if (crypto_pwhash(*key, WRAP_KEY_LEN, pass, passlen, salt, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		secmem_free(*key);
		*key = NULL;
		return -ENOMEM;
	}
	return 0;
}

int wrap_passphrase(const void *secret, size_t len, const char *pass, size_t passlen,
		    unsigned long long ops, size_t mem, json_t **entry)
{
	uint8_t salt[WRAP_SALT_LEN], nonce[WRAP_NONCE_LEN];
	uint8_t *key = NULL, *ct = NULL;
	json_t *e = NULL;
	int ret = -EINVAL;

	*entry = NULL;
	if (!wrap_params_ok(ops, mem) || len > WRAP_MAX_SECRET || (!pass && passlen))
		goto out;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	ret = wrap_derive(pass, passlen, salt, ops, mem, &key);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	ct = malloc(len + WRAP_TAG_LEN);
	e = json_object();
	if (!ct || !e)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, secret, len, (const uint8_t *)WRAP_AD,
						   WRAP_AD_LEN, NULL, nonce, key);
	if (json_object_set_new(e, "type", json_string("passphrase")) ||
	    json_object_set_new(e, "kdf", json_string("argon2id13")) ||
	    json_object_set_new(e, "opslimit", json_integer((json_int_t)ops)) ||
	    json_object_set_new(e, "memlimit", json_integer((json_int_t)mem)) ||
	    json_set_hex(e, "salt", salt, sizeof(salt)) ||
	    json_set_hex(e, "nonce", nonce, sizeof(nonce)) ||
	    json_set_hex(e, "ct", ct, len + WRAP_TAG_LEN))
		goto out;
	*entry = e;
	e = NULL;
	ret = 0;
out:
	secmem_free(key);
	free(ct);
	json_decref(e);
	return ret;
}

/* Read and bound-check a passphrase entry's KDF parameters; -EBADMSG if unusable. */
static int wrap_parse_kdf(const json_t *entry, unsigned long long *ops, size_t *mem,
			  uint8_t salt[WRAP_SALT_LEN])
{
	const char *kdf = json_string_value(json_object_get(entry, "kdf"));
	const json_t *jops = json_object_get(entry, "opslimit");
	const json_t *jmem = json_object_get(entry, "memlimit");
	json_int_t o, m;

	if (!kdf || strcmp(kdf, "argon2id13") != 0 || !json_is_integer(jops) ||
	    !json_is_integer(jmem))
		return -EBADMSG;
	o = json_integer_value(jops);
	m = json_integer_value(jmem);
	if (o < 0 || m < 0 || !wrap_params_ok((unsigned long long)o, (unsigned long long)m))
		return -EBADMSG;
	*ops = (unsigned long long)o;
	*mem = (size_t)m;
	return json_get_hex(entry, "salt", salt, WRAP_SALT_LEN);
}

int unwrap_passphrase(const json_t *entry, const char *pass, size_t passlen, uint8_t **secret,
		      size_t *len)
{
	uint8_t salt[WRAP_SALT_LEN], nonce[WRAP_NONCE_LEN];
	uint8_t *key = NULL, *ct = NULL, *plain = NULL;
	unsigned long long ops;
	size_t mem, ctlen;
	int ret;

	*secret = NULL;
	*len = 0;
	ret = wrap_check_type(entry, "passphrase");
	if (ret < 0)
		goto out;
	ret = wrap_parse_kdf(entry, &ops, &mem, salt);
	if (ret == 0)
		ret = json_get_hex(entry, "nonce", nonce, sizeof(nonce));
	if (ret == 0)
		ret = json_get_hex_alloc(entry, "ct", WRAP_TAG_LEN, WRAP_MAX_SECRET + WRAP_TAG_LEN,
					 &ct, &ctlen);
	if (ret < 0)
		goto out;
	ret = wrap_derive(pass, passlen, salt, ops, mem, &key);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	plain = secmem_alloc(ctlen - WRAP_TAG_LEN);
	if (!plain)
		goto out;
	ret = -EKEYREJECTED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct, ctlen,
						       (const uint8_t *)WRAP_AD, WRAP_AD_LEN, nonce,
						       key) != 0)
		goto out;
	*secret = plain;
	*len = ctlen - WRAP_TAG_LEN;
	plain = NULL;
	ret = 0;
out:
	secmem_free(plain);
	secmem_free(key);
	free(ct);
	return ret;
}

int wrap_recipient_keypair(uint8_t pk[32], uint8_t sk[32])
{
	return crypto_box_keypair(pk, sk) == 0 ? 0 : -EIO;
}

void wrap_recipient_id(const uint8_t pk[32], uint8_t id[32])
{
	static const char domain[] = "embassy-recipient-id-v1";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, id, 32);
}

int wrap_recipient(const void *secret, size_t len, const uint8_t pk[32], json_t **entry)
{
	uint8_t rid[32];
	uint8_t *ct = NULL;
	json_t *e = NULL;
	int ret = -EINVAL;

	*entry = NULL;
	if (len > WRAP_MAX_SECRET)
		goto out;
	ret = -ENOMEM;
	ct = malloc(len + crypto_box_SEALBYTES);
	e = json_object();
	if (!ct || !e)
		goto out;
	ret = -EINVAL;
	/* Fails only for a public key that is not a valid curve point. */
	if (crypto_box_seal(ct, secret, len, pk) != 0)
		goto out;
	ret = -ENOMEM;
	if (json_object_set_new(e, "type", json_string("recipient")) ||
	    (wrap_recipient_id(pk, rid), json_set_hex(e, "recipient_id", rid, sizeof(rid))) ||
	    json_set_hex(e, "ct", ct, len + crypto_box_SEALBYTES))
		goto out;
	*entry = e;
	e = NULL;
	ret = 0;
out:
	free(ct);
	json_decref(e);
	return ret;
}

int unwrap_recipient(const json_t *entry, const uint8_t pk[32], const uint8_t sk[32],
		     uint8_t **secret, size_t *len)
{
	uint8_t erid[32], rid[32];
	uint8_t *ct = NULL, *plain = NULL;
	size_t ctlen;
	int ret;

	*secret = NULL;
	*len = 0;
	ret = wrap_check_type(entry, "recipient");
	if (ret == 0)
		ret = json_get_hex(entry, "recipient_id", erid, sizeof(erid));
	if (ret == 0)
		ret = json_get_hex_alloc(entry, "ct", crypto_box_SEALBYTES,
					 WRAP_MAX_SECRET + crypto_box_SEALBYTES, &ct, &ctlen);
	if (ret < 0)
		goto out;
	ret = -ENOKEY;
	wrap_recipient_id(pk, rid);
	if (sodium_memcmp(erid, rid, sizeof(rid)) != 0)
		goto out;
	ret = -ENOMEM;
	plain = secmem_alloc(ctlen - crypto_box_SEALBYTES);
	if (!plain)
		goto out;
	ret = -EKEYREJECTED;
	if (crypto_box_seal_open(plain, ct, ctlen, pk, sk) != 0)
		goto out;
	*secret = plain;
	*len = ctlen - crypto_box_SEALBYTES;
	plain = NULL;
	ret = 0;
out:
	secmem_free(plain);
	free(ct);
	return ret;
}
