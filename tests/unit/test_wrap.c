/* Unit tests for crypto/wrap.c. Argon2id runs with small parameters (ops 1, 8 MiB) so
 * the suite stays fast; the known entry was built in Python (cryptography's Argon2id and
 * ChaCha20-Poly1305 + HChaCha20) from the layout in wrap.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "secmem.h"
#include "wrap.h"

#define OPS    1ull
#define MEM    (8u << 20)
#define SECRET "embassy master key bundle"
#define SLEN   (sizeof(SECRET) - 1)

static const char known_entry[] =
    "{\"type\": \"passphrase\", \"kdf\": \"argon2id13\", \"opslimit\": 1, \"memlimit\": 8388608, "
    "\"salt\": \"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\", "
    "\"nonce\": \"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7\", "
    "\"ct\": "
    "\"85e57002d75925720d3637d33c56afa0f515f914d6ef9d36c010ba13d6bf4428955f7ef2b8b2a0e336\"}";

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

TestSuite(wrap, .init = setup);

static json_t *load(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);

	cr_assert_not_null(j, "%s", err.text);
	return j;
}

static int unwrap_pass(const json_t *e, const char *pass)
{
	uint8_t *secret = (uint8_t *)1;
	size_t len = 1;
	int ret = unwrap_passphrase(e, pass, strlen(pass), &secret, &len);

	if (ret == 0) {
		cr_assert_eq(len, SLEN);
		cr_assert_arr_eq(secret, SECRET, SLEN);
	} else {
		cr_assert_null(secret);
		cr_assert_eq(len, 0);
	}
	secmem_free(ret == 0 ? secret : NULL);
	return ret;
}

/* The Argon2id primitive itself: reference CLI vector (argon2 -id -v 13 -k 8192 -t 2). */
Test(wrap, argon2id_known_answer)
{
	static const uint8_t want[32] = {0x3e, 0xe9, 0x50, 0x48, 0x8d, 0x26, 0xce, 0x69,
					 0x16, 0x57, 0xb1, 0xd7, 0x53, 0xf5, 0x62, 0x13,
					 0x98, 0x57, 0xb6, 0x1a, 0x58, 0xf2, 0x34, 0xd6,
					 0xcb, 0x0c, 0xe8, 0x4c, 0x4c, 0xc2, 0x73, 0x28};
	uint8_t out[32];

	cr_assert_eq(crypto_pwhash(out, 32, "123", 3, (const uint8_t *)"ABCDEFGHIJKLMNOP", 2,
				   8u << 20, crypto_pwhash_ALG_ARGON2ID13),
		     0);
	cr_assert_arr_eq(out, want, 32);
}

Test(wrap, opens_known_entry)
{
	json_t *e = load(known_entry);

	cr_assert_eq(unwrap_pass(e, "correct horse"), 0);
	cr_assert_eq(unwrap_pass(e, "correct horsf"), -EKEYREJECTED);
	json_decref(e);
}

Test(wrap, passphrase_round_trip_and_fields)
{
	json_t *e = NULL, *copy;
	char *text;

	cr_assert_eq(wrap_passphrase(SECRET, SLEN, "pw", 2, OPS, MEM, &e), 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "type")), "passphrase");
	cr_assert_str_eq(json_string_value(json_object_get(e, "kdf")), "argon2id13");
	cr_assert_eq(json_integer_value(json_object_get(e, "opslimit")), OPS);
	cr_assert_eq(json_integer_value(json_object_get(e, "memlimit")), MEM);
	cr_assert_eq(strlen(json_string_value(json_object_get(e, "salt"))), 32);
	cr_assert_eq(strlen(json_string_value(json_object_get(e, "nonce"))), 48);
	cr_assert_eq(strlen(json_string_value(json_object_get(e, "ct"))), 2 * (SLEN + 16));
	cr_assert_eq(json_object_size(e), 7);
	cr_assert_eq(unwrap_pass(e, "pw"), 0);
	cr_assert_eq(unwrap_pass(e, "pW"), -EKEYREJECTED);
	cr_assert_eq(unwrap_pass(e, ""), -EKEYREJECTED);
	text = json_dumps(e, JSON_COMPACT);
	copy = load(text);
	cr_assert_eq(unwrap_pass(copy, "pw"), 0);
	free(text);
	json_decref(copy);
	json_decref(e);
}

Test(wrap, passphrase_rejects_bad_parameters)
{
	json_t *e = (json_t *)1;

	cr_assert_eq(wrap_passphrase(SECRET, SLEN, "pw", 2, 0, MEM, &e), -EINVAL);
	cr_assert_null(e);
	cr_assert_eq(wrap_passphrase(SECRET, SLEN, "pw", 2, 65, MEM, &e), -EINVAL);
	cr_assert_eq(wrap_passphrase(SECRET, SLEN, "pw", 2, OPS, 4096, &e), -EINVAL);
	cr_assert_eq(wrap_passphrase(SECRET, SLEN, "pw", 2, OPS, (size_t)(4ull << 30) + 1, &e),
		     -EINVAL);
}

/* Replace one field of the known entry (NULL: delete it) and try to open it. */
static int mutate(const char *field, json_t *value)
{
	json_t *e = load(known_entry);
	int ret;

	if (value)
		json_object_set_new(e, field, value);
	else
		json_object_del(e, field);
	ret = unwrap_pass(e, "correct horse");
	json_decref(e);
	return ret;
}

Test(wrap, passphrase_malformed_entries)
{
	static const char *const fields[] = {"type", "kdf",   "opslimit", "memlimit",
					     "salt", "nonce", "ct"};
	json_t *arr = json_array();
	uint8_t *s;
	size_t n;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_assert_eq(mutate(fields[i], NULL), -EBADMSG, "without %s", fields[i]);
	cr_assert_eq(mutate("type", json_integer(1)), -EBADMSG);
	cr_assert_eq(mutate("type", json_string("recipient")), -EINVAL);
	cr_assert_eq(mutate("kdf", json_string("argon2i13")), -EBADMSG);
	cr_assert_eq(mutate("opslimit", json_integer(65)), -EBADMSG);
	cr_assert_eq(mutate("opslimit", json_integer(0)), -EBADMSG);
	cr_assert_eq(mutate("opslimit", json_integer(-1)), -EBADMSG);
	cr_assert_eq(mutate("opslimit", json_string("1")), -EBADMSG);
	cr_assert_eq(mutate("opslimit", json_real(1.0)), -EBADMSG);
	cr_assert_eq(mutate("memlimit", json_integer((json_int_t)(4ll << 30) + 1)), -EBADMSG);
	cr_assert_eq(mutate("memlimit", json_integer(crypto_pwhash_MEMLIMIT_MIN - 1)), -EBADMSG);
	cr_assert_eq(mutate("memlimit", json_integer(-8388608)), -EBADMSG);
	cr_assert_eq(mutate("salt", json_string("a0a1a2a3a4a5a6a7a8a9aaabacadae")), -EBADMSG);
	cr_assert_eq(mutate("salt", json_string("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0")), -EBADMSG);
	cr_assert_eq(mutate("salt", json_string("z0a1a2a3a4a5a6a7a8a9aaabacadaeaf")), -EBADMSG);
	cr_assert_eq(mutate("nonce", json_string("c0c1")), -EBADMSG);
	cr_assert_eq(mutate("ct", json_string("85e570")), -EBADMSG);
	cr_assert_eq(mutate("ct", json_string("85e57002d75925720d3637d33c56afa0f")), -EBADMSG);
	cr_assert_eq(mutate("ct", json_integer(0)), -EBADMSG);
	/* well-formed but altered: authentication fails, not parsing */
	cr_assert_eq(mutate("salt", json_string("a1a1a2a3a4a5a6a7a8a9aaabacadaeaf")),
		     -EKEYREJECTED);
	cr_assert_eq(mutate("memlimit", json_integer(8388608 + 1024)), -EKEYREJECTED);
	cr_assert_eq(unwrap_passphrase(arr, "x", 1, &s, &n), -EBADMSG);
	cr_assert_eq(unwrap_passphrase(NULL, "x", 1, &s, &n), -EBADMSG);
	json_decref(arr);
}

Test(wrap, passphrase_every_ct_byte)
{
	json_t *e = load(known_entry);
	char ct[128];

	strcpy(ct, json_string_value(json_object_get(e, "ct")));
	for (size_t i = 0; ct[i]; i++) {
		char saved = ct[i];

		ct[i] = saved == '0' ? '1' : '0';
		json_object_set_new(e, "ct", json_string(ct));
		cr_assert_eq(unwrap_pass(e, "correct horse"), -EKEYREJECTED, "hex digit %zu", i);
		ct[i] = saved;
	}
	json_decref(e);
}

struct party {
	uint8_t pk[32];
	uint8_t *sk; /* secmem */
};

static void party_new(struct party *p)
{
	p->sk = secmem_alloc(32);
	cr_assert_not_null(p->sk);
	cr_assert_eq(wrap_recipient_keypair(p->pk, p->sk), 0);
}

static int unwrap_rcpt(const json_t *e, const struct party *p)
{
	uint8_t *secret = (uint8_t *)1;
	size_t len = 1;
	int ret = unwrap_recipient(e, p->pk, p->sk, &secret, &len);

	if (ret == 0) {
		cr_assert_eq(len, SLEN);
		cr_assert_arr_eq(secret, SECRET, SLEN);
		secmem_free(secret);
	} else {
		cr_assert_null(secret);
	}
	return ret;
}

Test(wrap, recipient_round_trip)
{
	struct party alice, bob;
	json_t *e = NULL;
	char pkhex[65];
	uint8_t rid[32];

	party_new(&alice);
	party_new(&bob);
	cr_assert_eq(wrap_recipient(SECRET, SLEN, alice.pk, &e), 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "type")), "recipient");
	/* the entry names the recipient by a hash, never by its public key */
	wrap_recipient_id(alice.pk, rid);
	for (int i = 0; i < 32; i++)
		sprintf(pkhex + 2 * i, "%02x", rid[i]);
	cr_assert_str_eq(json_string_value(json_object_get(e, "recipient_id")), pkhex);
	cr_assert_null(json_object_get(e, "recipient"));
	for (int i = 0; i < 32; i++)
		sprintf(pkhex + 2 * i, "%02x", alice.pk[i]);
	char *text = json_dumps(e, 0);
	cr_assert_null(strstr(text, pkhex));
	free(text);
	cr_assert_eq(strlen(json_string_value(json_object_get(e, "ct"))),
		     2 * (SLEN + crypto_box_SEALBYTES));
	cr_assert_eq(unwrap_rcpt(e, &alice), 0);
	cr_assert_eq(unwrap_rcpt(e, &bob), -ENOKEY);
	/* Right public key claimed, wrong secret key: the box does not open. */
	memcpy(bob.pk, alice.pk, 32);
	cr_assert_eq(unwrap_rcpt(e, &bob), -EKEYREJECTED);
	json_decref(e);
	secmem_free(alice.sk);
	secmem_free(bob.sk);
}

Test(wrap, recipient_malformed_and_tampered)
{
	struct party alice;
	json_t *e = NULL;
	char ct[1024] = {0}; /* hex of SLEN + crypto_box_SEALBYTES */

	party_new(&alice);
	cr_assert_eq(wrap_recipient(SECRET, SLEN, alice.pk, &e), 0);
	strcpy(ct, json_string_value(json_object_get(e, "ct")));
	cr_assert_eq(unwrap_passphrase(e, "x", 1, &(uint8_t *){0}, &(size_t){0}), -EINVAL);
	/* stop at the NUL: stepping past it would flip bytes that are not in the entry */
	for (size_t i = 0; i < strlen(ct); i += 7) {
		char saved = ct[i];

		ct[i] = saved == 'f' ? 'e' : 'f';
		json_object_set_new(e, "ct", json_string(ct));
		cr_assert_eq(unwrap_rcpt(e, &alice), -EKEYREJECTED, "hex digit %zu", i);
		ct[i] = saved;
	}
	ct[2 * crypto_box_SEALBYTES - 2] = '\0';
	json_object_set_new(e, "ct", json_string(ct));
	cr_assert_eq(unwrap_rcpt(e, &alice), -EBADMSG);
	json_object_set_new(e, "ct", json_string("xyz"));
	cr_assert_eq(unwrap_rcpt(e, &alice), -EBADMSG);
	json_object_del(e, "ct");
	cr_assert_eq(unwrap_rcpt(e, &alice), -EBADMSG);
	json_object_set_new(e, "recipient_id", json_string("00"));
	cr_assert_eq(unwrap_rcpt(e, &alice), -EBADMSG);
	json_object_del(e, "recipient_id");
	cr_assert_eq(unwrap_rcpt(e, &alice), -EBADMSG);
	json_object_set_new(e, "type", json_string("passphrase"));
	cr_assert_eq(unwrap_rcpt(e, &alice), -EINVAL);
	json_decref(e);
	secmem_free(alice.sk);
}

Test(wrap, empty_secret)
{
	struct party alice;
	json_t *e = NULL;
	uint8_t *s = NULL;
	size_t n = 1;

	party_new(&alice);
	cr_assert_eq(wrap_recipient("", 0, alice.pk, &e), 0);
	cr_assert_eq(unwrap_recipient(e, alice.pk, alice.sk, &s, &n), 0);
	cr_assert_eq(n, 0);
	secmem_free(s);
	json_decref(e);
	cr_assert_eq(wrap_passphrase("", 0, "pw", 2, OPS, MEM, &e), 0);
	cr_assert_eq(unwrap_passphrase(e, "pw", 2, &s, &n), 0);
	cr_assert_eq(n, 0);
	secmem_free(s);
	json_decref(e);
	secmem_free(alice.sk);
}
