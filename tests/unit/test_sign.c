/* Unit tests for crypto/sign.c. The raw Ed25519 primitive is checked against RFC 8032
 * section 7.1 tests 1 and 2; our framing (context || 0x00 || msg) against a signature
 * computed independently (Python cryptography) over those exact bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "hex.h"
#include "secmem.h"
#include "sign.h"

#define RFC1_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define RFC1_PK	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC1_SIG                                                                                   \
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970" \
	"1cf"                                                                                      \
	"9b46bd25bf5f0595bbe24655141438e7a100b"
#define RFC2_SEED "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
#define RFC2_PK	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
#define RFC2_SIG                                                                                   \
	"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613" \
	"d0f"                                                                                      \
	"11d8c387b2eaeb4302aeeb00d291612bb0c00"
/* Ed25519(RFC1 key, "embassy-head" || 0x00 || "hello") */
#define CTX_SIG                                                                                    \
	"9fafe48800487e7bdcce778c1e38aaf9c873c2b77803e5270c85470f19a519663d38d6abd794000bc4c16163" \
	"c54"                                                                                      \
	"d05235696b16558738508ef50acbc59919408"

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

static void unhex(const char *s, uint8_t *out, size_t len)
{
	cr_assert_eq(hex_decode(s, out, len), 0, "bad test vector %s", s);
}

/* Keypair from a seed, with the secret key in secmem. */
static uint8_t *seed_keypair(const char *seed_hex, uint8_t pk[SIGN_PK_LEN])
{
	uint8_t seed[32];
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN);

	cr_assert_not_null(sk);
	unhex(seed_hex, seed, sizeof(seed));
	cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
	return sk;
}

static void rfc_vector(const char *seed, const char *pkhex, const uint8_t *msg, size_t len,
		       const char *sighex)
{
	uint8_t pk[SIGN_PK_LEN], want_pk[SIGN_PK_LEN], sig[SIGN_LEN], want[SIGN_LEN];
	uint8_t *sk = seed_keypair(seed, pk);

	unhex(pkhex, want_pk, sizeof(want_pk));
	unhex(sighex, want, sizeof(want));
	cr_assert_arr_eq(pk, want_pk, SIGN_PK_LEN);
	cr_assert_eq(crypto_sign_detached(sig, NULL, msg, len, sk), 0);
	cr_assert_arr_eq(sig, want, SIGN_LEN);
	cr_assert_eq(crypto_sign_verify_detached(want, msg, len, pk), 0);
	secmem_free(sk);
}

Test(sign, rfc8032_test1_raw, .init = setup)
{
	rfc_vector(RFC1_SEED, RFC1_PK, (const uint8_t *)"", 0, RFC1_SIG);
}

Test(sign, rfc8032_test2_raw, .init = setup)
{
	const uint8_t msg[] = {0x72};

	rfc_vector(RFC2_SEED, RFC2_PK, msg, sizeof(msg), RFC2_SIG);
}

Test(sign, context_framing_known_answer, .init = setup)
{
	uint8_t pk[SIGN_PK_LEN], sig[SIGN_LEN], want[SIGN_LEN];
	uint8_t *sk = seed_keypair(RFC1_SEED, pk);

	unhex(CTX_SIG, want, sizeof(want));
	cr_assert_eq(sign_detached(sk, "embassy-head", "hello", 5, sig), 0);
	cr_assert_arr_eq(sig, want, SIGN_LEN);
	cr_assert_eq(sign_verify(pk, "embassy-head", "hello", 5, want), 0);
	secmem_free(sk);
}

Test(sign, round_trip_and_rejections, .init = setup)
{
	uint8_t pk[SIGN_PK_LEN], pk2[SIGN_PK_LEN], sig[SIGN_LEN];
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN), *sk2 = secmem_alloc(SIGN_SK_LEN);
	uint8_t msg[100];

	cr_assert(sk && sk2);
	randombytes_buf(msg, sizeof(msg));
	cr_assert_eq(sign_keypair(pk, sk), 0);
	cr_assert_eq(sign_keypair(pk2, sk2), 0);
	cr_assert_eq(sign_detached(sk, "manifest", msg, sizeof(msg), sig), 0);
	cr_assert_eq(sign_verify(pk, "manifest", msg, sizeof(msg), sig), 0);
	cr_assert_eq(sign_verify(pk2, "manifest", msg, sizeof(msg), sig), -EBADMSG);
	cr_assert_eq(sign_verify(pk, "head", msg, sizeof(msg), sig), -EBADMSG);
	cr_assert_eq(sign_verify(pk, "manifest", msg, sizeof(msg) - 1, sig), -EBADMSG);
	for (size_t i = 0; i < sizeof(msg); i++) {
		msg[i] ^= 1;
		cr_assert_eq(sign_verify(pk, "manifest", msg, sizeof(msg), sig), -EBADMSG);
		msg[i] ^= 1;
	}
	for (size_t i = 0; i < SIGN_LEN; i++) {
		sig[i] ^= 0x80;
		cr_assert_eq(sign_verify(pk, "manifest", msg, sizeof(msg), sig), -EBADMSG);
		sig[i] ^= 0x80;
	}
	secmem_free(sk);
	secmem_free(sk2);
}

/* ("ab", "c") and ("a", "bc") must not share a signature: the NUL separates them. */
Test(sign, context_boundary, .init = setup)
{
	uint8_t pk[SIGN_PK_LEN], sig[SIGN_LEN];
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN);

	cr_assert_not_null(sk);
	cr_assert_eq(sign_keypair(pk, sk), 0);
	cr_assert_eq(sign_detached(sk, "ab", "c", 1, sig), 0);
	cr_assert_eq(sign_verify(pk, "a", "bc", 2, sig), -EBADMSG);
	cr_assert_eq(sign_verify(pk, "abc", "", 0, sig), -EBADMSG);
	cr_assert_eq(sign_verify(pk, "ab", "c", 1, sig), 0);
	cr_assert_eq(sign_detached(sk, "empty", NULL, 0, sig), 0);
	cr_assert_eq(sign_verify(pk, "empty", NULL, 0, sig), 0);
	cr_assert_eq(sign_detached(sk, NULL, "x", 1, sig), -EINVAL);
	secmem_free(sk);
}

Test(sign, fingerprint, .init = setup)
{
	uint8_t pk[SIGN_PK_LEN];
	char fp[33];

	unhex(RFC1_PK, pk, sizeof(pk));
	memset(fp, 'x', sizeof(fp));
	sign_fingerprint(pk, fp);
	/* BLAKE2b-128 of the key, from Python hashlib. */
	cr_assert_str_eq(fp, "d7108b422f25cc5edb865cc4ae184f55");
}
