/* Unit tests for crypto/shamir.c (GF(2^8) secret sharing) and the quorum entries and share
 * files built on it (store/keyadmin.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyadmin.h"
#include "secmem.h"
#include "shamir.h"

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

TestSuite(shamir, .init = setup);

/* A slow reference multiply with ordinary branches, to check the branch-free one. */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0, aa = a;

	for (int i = 0; i < 8; i++) {
		if (b & (1u << i))
			r ^= aa;
		aa <<= 1;
		if (aa & 0x100)
			aa ^= 0x11b;
	}
	return (uint8_t)r;
}

Test(shamir, field_known_answers)
{
	/* FIPS-197 section 4.2: {57} x {83} = {c1}, {57} x {13} = {fe} */
	cr_assert_eq(shamir_gf_mul(0x57, 0x83), 0xc1);
	cr_assert_eq(shamir_gf_mul(0x57, 0x13), 0xfe);
	/* the AES S-box's inverse step: {53}^-1 = {ca} */
	cr_assert_eq(shamir_gf_inv(0x53), 0xca);
	cr_assert_eq(shamir_gf_inv(0x01), 0x01);
	cr_assert_eq(shamir_gf_inv(0x00), 0x00);
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++)
			cr_assert_eq(shamir_gf_mul((uint8_t)a, (uint8_t)b),
				     ref_mul((uint8_t)a, (uint8_t)b), "%02x*%02x", a, b);
		if (a)
			cr_assert_eq(shamir_gf_mul((uint8_t)a, shamir_gf_inv((uint8_t)a)), 1,
				     "inverse of %02x", a);
	}
}

/* Computed by hand: f(x) = 07 + 03.x over GF(2^8), so f(1) = 07^03 = 04,
 * f(2) = 07 ^ (03.02 = 06) = 01, f(3) = 07 ^ (03.03 = 05) = 02.
 * From (1, 04) and (2, 01): l1 = 2/(1^2) = 2.inv(3) = 2.f6 = f7, l2 = 1/3 = f6,
 * f(0) = 04.f7 ^ 01.f6 = f1 ^ f6 = 07. */
Test(shamir, hand_vector)
{
	static const uint8_t s1[2] = {1, 0x04}, s2[2] = {2, 0x01}, s3[2] = {3, 0x02};
	const uint8_t *pairs[][2] = {{s1, s2}, {s2, s1}, {s1, s3}, {s2, s3}};
	const uint8_t *all[3] = {s1, s2, s3};
	uint8_t out;

	cr_assert_eq(shamir_gf_inv(0x03), 0xf6);
	cr_assert_eq(shamir_gf_mul(0x02, 0xf6), 0xf7);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(shamir_combine(pairs[i], 2, 1, &out), 0);
		cr_assert_eq(out, 0x07, "pair %zu gave %02x", i, out);
	}
	cr_assert_eq(shamir_combine(all, 3, 1, &out), 0);
	cr_assert_eq(out, 0x07);
	/* one share of a 2-of-n split is just a point: alone it gives f(x)'s y, not 07 */
	cr_assert_eq(shamir_combine(all, 1, 1, &out), 0);
	cr_assert_eq(out, 0x04);
}

static void split_ok(const uint8_t *secret, size_t len, unsigned m, unsigned n, uint8_t **sh)
{
	cr_assert_eq(shamir_split(secret, len, m, n, sh), 0);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_not_null(sh[i]);
		cr_assert_eq(sh[i][0], i + 1);
	}
}

/* All subsets of 5 shares (bit masks): size >= 3 recombine, smaller ones do not. */
Test(shamir, every_subset_5_of_3)
{
	uint8_t secret[32], out[32], *sh[5];

	randombytes_buf(secret, sizeof(secret));
	split_ok(secret, sizeof(secret), 3, 5, sh);
	for (unsigned mask = 1; mask < 32; mask++) {
		const uint8_t *set[5];
		size_t k = 0;

		for (unsigned i = 0; i < 5; i++)
			if (mask & (1u << i))
				set[k++] = sh[i];
		cr_assert_eq(shamir_combine(set, k, sizeof(secret), out), 0);
		if (k >= 3)
			cr_assert_arr_eq(out, secret, sizeof(secret), "subset %02x", mask);
		else
			cr_assert(memcmp(out, secret, sizeof(secret)) != 0,
				  "subset %02x of %zu < M shares gave the secret", mask, k);
	}
	/* order does not matter */
	const uint8_t *rev[3] = {sh[4], sh[2], sh[0]};
	cr_assert_eq(shamir_combine(rev, 3, sizeof(secret), out), 0);
	cr_assert_arr_eq(out, secret, sizeof(secret));
	shamir_free(sh, 5);
	cr_assert_null(sh[0]);
}

Test(shamir, one_of_n_and_n_of_n)
{
	uint8_t secret[32], out[32], *sh[255];
	const uint8_t *set[255];

	randombytes_buf(secret, sizeof(secret));
	split_ok(secret, sizeof(secret), 1, 4, sh);
	for (unsigned i = 0; i < 4; i++) /* degree 0: every share holds the secret */
		cr_assert_arr_eq(sh[i] + 1, secret, sizeof(secret));
	shamir_free(sh, 4);

	split_ok(secret, sizeof(secret), 255, 255, sh);
	for (unsigned i = 0; i < 255; i++)
		set[i] = sh[i];
	cr_assert_eq(shamir_combine(set, 255, sizeof(secret), out), 0);
	cr_assert_arr_eq(out, secret, sizeof(secret));
	cr_assert_eq(shamir_combine(set, 254, sizeof(secret), out), 0);
	cr_assert(memcmp(out, secret, sizeof(secret)) != 0);
	shamir_free(sh, 255);
}

Test(shamir, tampered_share_gives_wrong_secret)
{
	uint8_t secret[32], out[32], *sh[3];

	randombytes_buf(secret, sizeof(secret));
	split_ok(secret, sizeof(secret), 2, 3, sh);
	sh[1][5] ^= 0x01;
	const uint8_t *set[2] = {sh[0], sh[1]};
	cr_assert_eq(shamir_combine(set, 2, sizeof(secret), out), 0);
	cr_assert(memcmp(out, secret, sizeof(secret)) != 0);
	/* only the tampered byte position differs: sharing is byte-wise */
	for (size_t i = 0; i < sizeof(secret); i++)
		cr_assert_eq(out[i] == secret[i], i != 4, "byte %zu", i);
	shamir_free(sh, 3);
}

Test(shamir, rejects_bad_parameters)
{
	uint8_t secret[4] = {1, 2, 3, 4}, out[4], *sh[255];
	uint8_t a[5] = {1, 9, 9, 9, 9}, b[5] = {1, 8, 8, 8, 8}, z[5] = {0, 1, 1, 1, 1};

	cr_assert_eq(shamir_split(secret, 4, 0, 3, sh), -EINVAL);
	cr_assert_eq(shamir_split(secret, 4, 4, 3, sh), -EINVAL);
	cr_assert_eq(shamir_split(secret, 4, 2, 256, sh), -EINVAL);
	cr_assert_eq(shamir_split(secret, 0, 1, 1, sh), -EINVAL);
	const uint8_t *dup[2] = {a, b}, *zero[2] = {a, z};
	cr_assert_eq(shamir_combine(dup, 2, 4, out), -EINVAL);
	cr_assert_eq(shamir_combine(zero, 2, 4, out), -EINVAL);
	cr_assert_eq(shamir_combine(dup, 0, 4, out), -EINVAL);
}

/* ---- quorum entries ---- */

#define BUNDLE "EMBKEYS1 an 88-byte key bundle stands here, any bytes will do for the test.."

struct officer {
	uint8_t pk[32], sk[32];
};

static json_t *make_entry(struct officer *o, unsigned m, unsigned n)
{
	uint8_t pks[8][32];
	json_t *e = NULL;

	for (unsigned i = 0; i < n; i++) {
		crypto_box_keypair(o[i].pk, o[i].sk);
		memcpy(pks[i], o[i].pk, 32);
	}
	cr_assert_eq(quorum_entry_make(BUNDLE, sizeof(BUNDLE), m, (const uint8_t(*)[32])pks, n, &e),
		     0);
	return e;
}

static uint8_t *open_share(const json_t *e, const struct officer *o)
{
	uint8_t *sh = NULL;

	cr_assert_eq(quorum_entry_open_share(e, o->pk, o->sk, &sh), 0);
	return sh;
}

Test(shamir, quorum_entry_round_trip)
{
	struct officer o[3], stranger;
	json_t *e = make_entry(o, 2, 3);
	char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS), pkhex[65];
	uint8_t *sh[3], *secret, *none;
	size_t len;
	unsigned m, n;

	/* no officer's public key appears in the entry */
	for (int i = 0; i < 3; i++) {
		sodium_bin2hex(pkhex, sizeof(pkhex), o[i].pk, 32);
		cr_assert_null(strstr(text, pkhex));
	}
	cr_assert_not_null(strstr(text, "\"type\":\"quorum\""));
	free(text);
	cr_assert_eq(quorum_entry_params(e, &m, &n), 0);
	cr_assert_eq(m, 2);
	cr_assert_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		sh[i] = open_share(e, &o[i]);
		cr_assert_eq(sh[i][0], i + 1);
	}
	crypto_box_keypair(stranger.pk, stranger.sk);
	cr_assert_eq(quorum_entry_open_share(e, stranger.pk, stranger.sk, &none), -ENOKEY);
	cr_assert_null(none);

	for (int i = 0; i < 3; i++) {
		const uint8_t *set[2] = {sh[i], sh[(i + 1) % 3]};
		cr_assert_eq(quorum_entry_unlock(e, set, 2, &secret, &len), 0);
		cr_assert_eq(len, sizeof(BUNDLE));
		cr_assert_arr_eq(secret, BUNDLE, len);
		secmem_free(secret);
	}
	const uint8_t *one[1] = {sh[0]};
	cr_assert_eq(quorum_entry_unlock(e, one, 1, &secret, &len), -EKEYREJECTED);
	cr_assert_null(secret);

	/* a tampered share combines to a wrong Q: the AEAD tag catches it */
	sh[1][7] ^= 0x80;
	const uint8_t *bad[2] = {sh[0], sh[1]};
	cr_assert_eq(quorum_entry_unlock(e, bad, 2, &secret, &len), -EKEYREJECTED);
	for (int i = 0; i < 3; i++)
		secmem_free(sh[i]);
	json_decref(e);
}

Test(shamir, quorum_share_of_another_entry_is_rejected)
{
	struct officer o[3], p[3];
	json_t *e1 = make_entry(o, 2, 3), *e2 = make_entry(p, 2, 3);
	uint8_t *a = open_share(e1, &o[0]), *b = open_share(e2, &p[1]), *secret;
	const uint8_t *set[2] = {a, b};
	size_t len;

	cr_assert_eq(quorum_entry_unlock(e1, set, 2, &secret, &len), -EKEYREJECTED);
	cr_assert_eq(quorum_entry_unlock(e2, set, 2, &secret, &len), -EKEYREJECTED);
	secmem_free(a);
	secmem_free(b);
	json_decref(e1);
	json_decref(e2);
}

Test(shamir, quorum_entry_rejects_bad_input)
{
	uint8_t pks[2][32], *sh;
	struct officer o[3];
	json_t *e = NULL;
	unsigned m, n;

	crypto_box_keypair(pks[0], o[0].sk);
	memcpy(pks[1], pks[0], 32);
	cr_assert_eq(quorum_entry_make(BUNDLE, sizeof(BUNDLE), 2, (const uint8_t(*)[32])pks, 2, &e),
		     -EINVAL, "one officer twice");
	cr_assert_eq(quorum_entry_make(BUNDLE, sizeof(BUNDLE), 3, (const uint8_t(*)[32])pks, 2, &e),
		     -EINVAL, "m > n");
	cr_assert_null(e);

	e = make_entry(o, 2, 3);
	json_object_set_new(e, "m", json_integer(4)); /* m > n */
	cr_assert_eq(quorum_entry_params(e, &m, &n), -EBADMSG);
	json_object_set_new(e, "m", json_integer(2));
	json_array_remove(json_object_get(e, "shares"), 2); /* n slots promised, 2 present */
	cr_assert_eq(quorum_entry_params(e, &m, &n), -EBADMSG);
	cr_assert_eq(quorum_entry_open_share(e, o[0].pk, o[0].sk, &sh), -EBADMSG);
	json_object_set_new(e, "type", json_string("recipient"));
	cr_assert_eq(quorum_entry_params(e, &m, &n), -EINVAL);
	json_decref(e);
}

Test(shamir, share_file_round_trip)
{
	char dir[] = "/tmp/test_shamir.XXXXXX", path[128];
	struct quorum_share w = {0}, r;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/o1.share", dir);
	snprintf(w.entry, sizeof(w.entry), "keys/quorum-0123456789abcdef");
	w.share = secmem_alloc(QUORUM_SHARE_LEN);
	randombytes_buf(w.share, QUORUM_SHARE_LEN);
	w.share[0] = 2;
	cr_assert_eq(quorum_share_write(path, &w), 0);
	cr_assert_eq(quorum_share_write(path, &w), -EEXIST);
	cr_assert_eq(quorum_share_read(path, &r), 0);
	cr_assert_str_eq(r.entry, w.entry);
	cr_assert_arr_eq(r.share, w.share, QUORUM_SHARE_LEN);
	quorum_share_clear(&r);

	chmod(path, 0640);
	cr_assert_eq(quorum_share_read(path, &r), -EPERM);
	cr_assert_null(r.share);
	unlink(path);

	/* an entry name outside keys/quorum-<hex> is not a share file */
	snprintf(w.entry, sizeof(w.entry), "keys/../quorum-01");
	cr_assert_eq(quorum_share_write(path, &w), -EINVAL);
	FILE *f = fopen(path, "w");
	fputs("embassy-quorum-share-v1\nentry keys/pass-0011\nshare 01\n", f);
	fclose(f);
	chmod(path, 0600);
	cr_assert_eq(quorum_share_read(path, &r), -EBADMSG);
	unlink(path);
	quorum_share_clear(&w);
	rmdir(dir);
}
