/* Unit tests for crypto/record.c. Known answers (ids, a hand-built record) were computed
 * independently in Python (hashlib BLAKE2b, cryptography's ChaCha20-Poly1305 + HChaCha20)
 * from the layout in record.h, so they pin the on-disk format. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "hex.h"
#include "keys.h"
#include "record.h"
#include "secmem.h"

#define MiB (1u << 20)

static struct keys *K;

static void unhex(const char *s, uint8_t *out, size_t len)
{
	cr_assert_eq(hex_decode(s, out, len), 0, "bad test vector");
}

/* master = 00..1f + base, store id = f0..ff + sid */
static struct keys *make_keys(uint8_t base, uint8_t sid)
{
	uint8_t master[KEY_LEN], store[STORE_ID_LEN];
	struct keys *k;

	for (int i = 0; i < KEY_LEN; i++)
		master[i] = (uint8_t)(base + i);
	for (int i = 0; i < STORE_ID_LEN; i++)
		store[i] = (uint8_t)(0xf0 + sid + i);
	cr_assert_eq(keys_new(master, store, &k), 0);
	return k;
}

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
	K = make_keys(0, 0);
}

static void teardown(void)
{
	keys_free(K);
}

TestSuite(record, .init = setup, .fini = teardown);

/* Seal flag||body by hand exactly as record.h describes, with a chosen nonce. */
static uint8_t *hand_seal(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
			  const uint8_t *msg, size_t len, const uint8_t nonce[24], size_t *outlen)
{
	static const enum key_slot slot[] = {0, KEY_DATA, KEY_TREE, KEY_INDEX, KEY_MANIFEST};
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN];
	uint8_t *rec = malloc(24 + len + 16);
	unsigned long long clen;

	cr_assert_not_null(rec);
	memcpy(ad, "EMBR1", 5);
	memcpy(ad + 5, keys_store_id(k), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = (uint8_t)type;
	memcpy(ad + 6 + STORE_ID_LEN, id, ID_LEN);
	memcpy(rec, nonce, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + 24, &clen, msg, len, ad, sizeof(ad), NULL,
						   nonce, keys_get(k, slot[type]));
	*outlen = 24 + (size_t)clen;
	return rec;
}

static void fill(uint8_t *buf, size_t len, int compressible, uint8_t seedbyte)
{
	uint8_t seed[randombytes_SEEDBYTES] = {seedbyte};

	if (!compressible) {
		randombytes_buf_deterministic(buf, len, seed);
		return;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)("0123456789,;\n"[(i * 7 + i / 13) % 13]);
}

static int open_as(const struct keys *k, enum record_type t, const uint8_t *id, const uint8_t *rec,
		   size_t reclen, size_t max)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	int ret = record_open(k, t, id, rec, reclen, max, &out, &outlen);

	cr_assert(ret == 0 || (out == NULL && outlen == 0), "failure must not return data");
	free(out);
	return ret;
}

Test(record, record_id_known_answers)
{
	uint8_t id[ID_LEN], want[ID_LEN];

	record_id(K, REC_DATA, "", 0, id);
	unhex("80512ebe547e034934799d82425ba64dbaafbcce0966edb79e922c7899d59f59", want, ID_LEN);
	cr_assert_arr_eq(id, want, ID_LEN);
	record_id(K, REC_DATA, "abc", 3, id);
	unhex("2ff2e6d13f7c8ef4340b8f385113a0934fddcad812754fce44e7364ae5b9e243", want, ID_LEN);
	cr_assert_arr_eq(id, want, ID_LEN);
	record_id(K, REC_TREE, "abc", 3, id);
	unhex("547594a4b5306b5b8db40aa9dfcaa123d319703c629de450f64867edf8895761", want, ID_LEN);
	cr_assert_arr_eq(id, want, ID_LEN);
}

/* BLAKE2b reference KAT (blake2b-kat.txt, keyed, key = 00..3f), first two entries. */
Test(record, blake2b_keyed_reference_kat)
{
	uint8_t key[64], out[64], want[64], in0 = 0;

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	crypto_generichash(out, 64, NULL, 0, key, 64);
	unhex("10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc2"
	      "14b0"
	      "05f42d2ff4233499391653df7aefcbc13fc51568",
	      want, 64);
	cr_assert_arr_eq(out, want, 64);
	crypto_generichash(out, 64, &in0, 1, key, 64);
	unhex("961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0"
	      "d0bc"
	      "4ef9b0f34c7003fac09a5ef1532e69430234cebd",
	      want, 64);
	cr_assert_arr_eq(out, want, 64);
}

/* draft-irtf-cfrg-xchacha-03, appendix A.3.1. */
Test(record, xchacha20poly1305_draft_kat)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	static const char ct_hex[] =
	    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
	    "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
	    "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
	    "c0875924c1c7987947deafd8780acf49";
	uint8_t key[32], nonce[24], ad[12], want[114 + 16], out[114 + 16], back[114];
	unsigned long long n;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	for (int i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	unhex("50515253c0c1c2c3c4c5c6c7", ad, sizeof(ad));
	unhex(ct_hex, want, sizeof(want));
	cr_assert_eq(strlen(pt), 114);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, &n, (const uint8_t *)pt, 114, ad, 12, NULL,
						   nonce, key);
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(back, &n, NULL, want, sizeof(want),
								ad, 12, nonce, key),
		     0);
	cr_assert_arr_eq(back, pt, 114);
}

/* Records built outside C from the header's layout must open: pins the format. */
Test(record, opens_hand_built_known_records)
{
	uint8_t id[ID_LEN], rec[24 + 1 + 14 + 16], *out;
	size_t outlen;

	unhex("d11a2f62d4dec4fea0b81a158eccaa74303bba4b71a2a9cf415147bb5f8b5722", id, ID_LEN);
	unhex(
	    "303132333435363738393a3b3c3d3e3f4041424344454647e529aaef47ba370a26e36c8e5576a08d9b563c"
	    "4a92baa95ff1385da56aec",
	    rec, 24 + 1 + 13 + 16);
	cr_assert_eq(record_open(K, REC_DATA, id, rec, 54, 100, &out, &outlen), 0);
	cr_assert_eq(outlen, 13);
	cr_assert_arr_eq(out, "hello embassy", 13);
	free(out);
	unhex("46ba8158ce17c8eb515a4bec25aace092d0d1a2264de17bcbcdad23eff28666a", id, ID_LEN);
	unhex(
	    "303132333435363738393a3b3c3d3e3f4041424344454647b6fc65c82a9c42ffe7e3306cab3b4adcd09e79"
	    "0728c09e0c563f1c712daf83",
	    rec, sizeof(rec));
	cr_assert_eq(record_open(K, REC_TREE, id, rec, sizeof(rec), 100, &out, &outlen), 0);
	cr_assert_eq(outlen, 14);
	cr_assert_arr_eq(out, "{\"entries\":[]}", 14);
	free(out);
	cr_assert_eq(open_as(K, REC_DATA, id, rec, sizeof(rec), 100), -EBADMSG);
}

static void round_trip(size_t len, int compressible, int zlevel, enum record_type type)
{
	uint8_t *plain = malloc(len ? len : 1), *rec, *out;
	uint8_t id[ID_LEN];
	size_t reclen, outlen;

	cr_assert_not_null(plain);
	fill(plain, len, compressible, (uint8_t)len);
	record_id(K, type, plain, len, id);
	cr_assert_eq(record_seal(K, type, id, plain, len, zlevel, &rec, &reclen), 0);
	if (!zlevel || !compressible)
		cr_assert_eq(reclen, len + RECORD_OVERHEAD, "len %zu", len);
	else if (len >= 1000)
		cr_assert_lt(reclen, len / 2, "compressible data stored raw (%zu)", reclen);
	else
		cr_assert_leq(reclen, len + RECORD_OVERHEAD);
	cr_assert_eq(record_open(K, type, id, rec, reclen, len, &out, &outlen), 0,
		     "len %zu compressible %d z %d", len, compressible, zlevel);
	cr_assert_eq(outlen, len);
	if (len)
		cr_assert_arr_eq(out, plain, len);
	free(out);
	free(rec);
	free(plain);
}

Test(record, round_trips)
{
	static const size_t sizes[] = {0, 1, 2, 100, 1000, 65536, 4 * MiB};
	static const int zl[] = {0, 3};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (int c = 0; c < 2; c++)
			for (int z = 0; z < 2; z++)
				round_trip(sizes[s], c, zl[z], REC_DATA);
	round_trip(5000, 1, 3, REC_TREE);
	round_trip(5000, 1, 3, REC_INDEX);
	round_trip(5000, 0, 3, REC_MANIFEST);
	round_trip(5000, 1, 19, REC_DATA);
}

Test(record, nonce_is_fresh)
{
	uint8_t id[ID_LEN], *a, *b;
	size_t alen, blen;

	record_id(K, REC_DATA, "same", 4, id);
	cr_assert_eq(record_seal(K, REC_DATA, id, "same", 4, 0, &a, &alen), 0);
	cr_assert_eq(record_seal(K, REC_DATA, id, "same", 4, 0, &b, &blen), 0);
	cr_assert_eq(alen, blen);
	cr_assert_neq(memcmp(a, b, RECORD_NONCE_LEN), 0);
	cr_assert_neq(memcmp(a, b, alen), 0);
	free(a);
	free(b);
}

/* Flip every bit position's byte, truncate to every length, append: all -EBADMSG. */
static void tamper_all(int zlevel)
{
	uint8_t plain[200], id[ID_LEN], *rec, *big;
	size_t reclen;

	fill(plain, sizeof(plain), 1, 0);
	record_id(K, REC_DATA, plain, sizeof(plain), id);
	cr_assert_eq(record_seal(K, REC_DATA, id, plain, sizeof(plain), zlevel, &rec, &reclen), 0);
	for (size_t i = 0; i < reclen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			rec[i] ^= (uint8_t)(1u << bit);
			cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, 1000), -EBADMSG,
				     "byte %zu bit %d", i, bit);
			rec[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t n = 0; n < reclen; n++)
		cr_assert_eq(open_as(K, REC_DATA, id, rec, n, 1000), -EBADMSG, "truncated %zu", n);
	big = malloc(reclen + 1);
	memcpy(big, rec, reclen);
	big[reclen] = 0;
	cr_assert_eq(open_as(K, REC_DATA, id, big, reclen + 1, 1000), -EBADMSG);
	cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, 1000), 0);
	free(big);
	free(rec);
}

Test(record, tamper_every_byte_raw)
{
	tamper_all(0);
}

Test(record, tamper_every_byte_compressed)
{
	tamper_all(3);
}

Test(record, wrong_key_type_id_store)
{
	struct keys *other = make_keys(1, 0), *other_store = make_keys(0, 1);
	uint8_t plain[5000], id[ID_LEN], id2[ID_LEN], *rec;
	size_t reclen;

	fill(plain, sizeof(plain), 1, 0);
	record_id(K, REC_DATA, plain, sizeof(plain), id);
	cr_assert_eq(record_seal(K, REC_DATA, id, plain, sizeof(plain), 3, &rec, &reclen), 0);
	cr_assert_eq(open_as(other, REC_DATA, id, rec, reclen, MiB), -EBADMSG);
	cr_assert_eq(open_as(other_store, REC_DATA, id, rec, reclen, MiB), -EBADMSG);
	cr_assert_eq(open_as(K, REC_TREE, id, rec, reclen, MiB), -EBADMSG);
	cr_assert_eq(open_as(K, REC_INDEX, id, rec, reclen, MiB), -EBADMSG);
	cr_assert_eq(open_as(K, REC_MANIFEST, id, rec, reclen, MiB), -EBADMSG);
	memcpy(id2, id, ID_LEN);
	id2[31] ^= 1;
	cr_assert_eq(open_as(K, REC_DATA, id2, rec, reclen, MiB), -EBADMSG);
	cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, MiB), 0);
	free(rec);
	keys_free(other);
	keys_free(other_store);
}

/* A read-key holder can produce a valid AEAD for any id; only the id check stops it. */
Test(record, same_id_other_content)
{
	static const uint8_t nonce[24] = {1};
	uint8_t id[ID_LEN], msg[1 + 4] = {0, 'e', 'v', 'i', 'l'}, *rec;
	size_t reclen;

	record_id(K, REC_DATA, "good", 4, id);
	rec = hand_seal(K, REC_DATA, id, msg, sizeof(msg), nonce, &reclen);
	cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, MiB), -EBADMSG);
	free(rec);
	/* ...while the same construction with the right content opens. */
	memcpy(msg + 1, "good", 4);
	rec = hand_seal(K, REC_DATA, id, msg, sizeof(msg), nonce, &reclen);
	cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, MiB), 0);
	free(rec);
}

Test(record, oversize_is_efbig)
{
	size_t len = MiB;
	uint8_t *plain = malloc(len), id[ID_LEN], *rec;
	size_t reclen;

	for (int c = 0; c < 2; c++) {
		fill(plain, len, c, 3);
		record_id(K, REC_DATA, plain, len, id);
		cr_assert_eq(record_seal(K, REC_DATA, id, plain, len, 3, &rec, &reclen), 0);
		cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, len - 1), -EFBIG);
		cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, 0), -EFBIG);
		cr_assert_eq(open_as(K, REC_DATA, id, rec, reclen, len), 0);
		free(rec);
	}
	free(plain);
}

Test(record, seal_rejects_bad_arguments)
{
	uint8_t id[ID_LEN] = {0}, byte = 0, *rec = (uint8_t *)1;
	size_t reclen = 1;

	cr_assert_eq(
	    record_seal(K, REC_DATA, id, &byte, (size_t)RECORD_MAX_PLAIN + 1, 0, &rec, &reclen),
	    -EINVAL);
	cr_assert_null(rec);
	cr_assert_eq(reclen, 0);
	cr_assert_eq(record_seal(K, (enum record_type)9, id, &byte, 1, 0, &rec, &reclen), -EINVAL);
	cr_assert_eq(record_seal(K, (enum record_type)0, id, &byte, 1, 0, &rec, &reclen), -EINVAL);
}

/* Authentic records whose body is not what a sealer writes must still be refused. */
static int open_crafted(const uint8_t *msg, size_t len, const void *plain, size_t plen, size_t max)
{
	static const uint8_t nonce[24] = {2};
	uint8_t id[ID_LEN], *rec;
	size_t reclen;
	int ret;

	record_id(K, REC_DATA, plain, plen, id);
	rec = hand_seal(K, REC_DATA, id, msg, len, nonce, &reclen);
	ret = open_as(K, REC_DATA, id, rec, reclen, max);
	free(rec);
	return ret;
}

Test(record, crafted_bodies)
{
	static const char text[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	size_t tlen = sizeof(text) - 1, zlen, n;
	uint8_t msg[1024];
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer in = {text, tlen, 0};
	ZSTD_outBuffer zout = {msg + 1, sizeof(msg) - 1, 0};

	/* unknown flag */
	msg[0] = 2;
	memcpy(msg + 1, text, tlen);
	cr_assert_eq(open_crafted(msg, 1 + tlen, text, tlen, MiB), -EBADMSG);
	/* a valid single frame opens */
	msg[0] = 1;
	zlen = ZSTD_compress(msg + 1, sizeof(msg) - 1, text, tlen, 3);
	cr_assert(!ZSTD_isError(zlen));
	cr_assert_eq(open_crafted(msg, 1 + zlen, text, tlen, MiB), 0);
	cr_assert_eq(open_crafted(msg, 1 + zlen, text, tlen, tlen - 1), -EFBIG);
	/* two concatenated frames */
	memcpy(msg + 1 + zlen, msg + 1, zlen);
	cr_assert_eq(open_crafted(msg, 1 + 2 * zlen, text, tlen, MiB), -EBADMSG);
	/* trailing garbage, truncated frame, not a frame */
	msg[1 + zlen] = 0;
	cr_assert_eq(open_crafted(msg, 2 + zlen, text, tlen, MiB), -EBADMSG);
	cr_assert_eq(open_crafted(msg, zlen, text, tlen, MiB), -EBADMSG);
	cr_assert_eq(open_crafted(msg, 1, text, 0, MiB), -EBADMSG);
	/* a frame that does not declare its size */
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	n = ZSTD_compressStream2(cc, &zout, &in, ZSTD_e_end);
	cr_assert_eq(n, 0);
	cr_assert_eq(ZSTD_getFrameContentSize(msg + 1, zout.pos), ZSTD_CONTENTSIZE_UNKNOWN);
	cr_assert_eq(open_crafted(msg, 1 + zout.pos, text, tlen, MiB), -EBADMSG);
	ZSTD_freeCCtx(cc);
}

Test(record, flag_only_is_empty_plaintext)
{
	uint8_t msg[1] = {0};

	cr_assert_eq(open_crafted(msg, 1, "", 0, 0), 0);
}
