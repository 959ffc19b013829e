/* libFuzzer target for the framed data records of format 2 (crypto/frec.c).
 *
 * Input: byte 0 = mode, bytes 1..3 = plen (LE24, 1 … 256 KiB after clamping), the rest =
 * payload.
 *   mode & 3 == 0  payload is a record, opened as is (header, then every frame)
 *   mode & 3 == 1  "inner": payload is the header's table (36 n bytes: hash, LE32 clen)
 *                  followed by the frame bodies (clen_i - 16 bytes each, as the table
 *                  says); they are sealed here with the right keys, nonces and associated
 *                  data, and the id is computed from the table's hashes, so the fuzzer
 *                  reaches the length checks, the decompressor and the frame hash checks
 *   mode & 3 >= 2  payload is a plaintext, sealed at zstd level (mode >> 4) & 3 and opened
 * Aborts when a result breaks the contract: an unexpected error code, an accepted record
 * whose plaintext does not give its id, or a round trip that does not give back its input. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "frec.h"
#include "fuzz_record.h"
#include "secmem.h"

#define MAX_PLEN (256u << 10)

static struct keys *K;

static void check_open(const uint8_t id[ID_LEN], uint64_t plen, const uint8_t *rec, size_t len)
{
	uint8_t *out = malloc(plen), check[ID_LEN];
	int ret;

	if (!out)
		return;
	ret = frec_open(K, id, rec, len, plen, out);
	if (ret == 0) {
		frec_id(K, out, plen, check, NULL);
		if (memcmp(check, id, ID_LEN) != 0)
			abort();
	} else if (ret != -EBADMSG && ret != -ENOMEM) {
		abort();
	}
	free(out);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Seal the table and bodies the input gives as a record with valid encryption. */
static void check_inner(uint64_t plen, const uint8_t *in, size_t len)
{
	uint32_t n = frec_nframes(plen);
	size_t tlen = (size_t)n * FREC_ENTRY_LEN, pos = tlen, at;
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN + 4], nonce[RECORD_NONCE_LEN] = {7}, fn[24];
	uint8_t id[ID_LEN], *rec, hashes[FREC_HASH_LEN];
	crypto_generichash_state st;
	uint8_t pre[9] = {0x11};

	if (len < tlen)
		return;
	rec = malloc(frec_header_len(n) + len + (size_t)n * FREC_TAG_LEN);
	if (!rec)
		return;
	for (int b = 0; b < 8; b++)
		pre[1 + b] = (uint8_t)(plen >> (8 * b));
	crypto_generichash_init(&st, keys_get(K, KEY_ID), KEY_LEN, ID_LEN);
	crypto_generichash_update(&st, pre, sizeof(pre));
	for (uint32_t i = 0; i < n; i++) {
		memcpy(hashes, in + (size_t)i * FREC_ENTRY_LEN, FREC_HASH_LEN);
		crypto_generichash_update(&st, hashes, FREC_HASH_LEN);
	}
	crypto_generichash_final(&st, id, ID_LEN);
	memcpy(ad + 5, keys_store_id(K), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = REC_DATA;
	memcpy(ad + 6 + STORE_ID_LEN, id, ID_LEN);
	memcpy(rec, nonce, RECORD_NONCE_LEN);
	at = frec_header_len(n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = in + (size_t)i * FREC_ENTRY_LEN + FREC_HASH_LEN;
		size_t clen = (size_t)e[0] | (size_t)e[1] << 8 | (size_t)e[2] << 16;
		size_t blen = clen > FREC_TAG_LEN ? clen - FREC_TAG_LEN : 0;
		uint64_t x = (uint64_t)i + 1;

		if (blen > len - pos)
			blen = len - pos;
		memcpy(ad, "EMBF2", 5);
		put_le32(ad + 6 + STORE_ID_LEN + ID_LEN, i);
		memcpy(fn, nonce, sizeof(fn));
		for (int b = 0; b < 8; b++)
			fn[16 + b] ^= (uint8_t)(x >> (8 * b));
		crypto_aead_xchacha20poly1305_ietf_encrypt(rec + at, NULL, in + pos, blen, ad,
							   sizeof(ad), NULL, fn,
							   keys_get(K, KEY_DATA));
		pos += blen;
		at += blen + FREC_TAG_LEN;
	}
	memcpy(ad, "EMBH2", 5);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + RECORD_NONCE_LEN, NULL, in, tlen, ad,
						   sizeof(ad) - 4, NULL, nonce,
						   keys_get(K, KEY_DATA));
	check_open(id, plen, rec, at);
	free(rec);
}

static void check_round_trip(const uint8_t *plain, size_t len, int zlevel)
{
	uint8_t id[ID_LEN], *hashes, *rec = NULL, *out;
	size_t reclen;

	if (len == 0)
		return;
	hashes = malloc((size_t)frec_nframes(len) * FREC_HASH_LEN);
	out = malloc(len);
	if (!hashes || !out)
		abort();
	frec_id(K, plain, len, id, hashes);
	if (frec_seal(K, id, hashes, plain, len, zlevel, &rec, &reclen) != 0 ||
	    reclen > frec_raw_len(len) || frec_open(K, id, rec, reclen, len, out) != 0 ||
	    memcmp(out, plain, len) != 0)
		abort();
	free(rec);
	free(out);
	free(hashes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int zlevels[] = {0, 1, 3, 3};
	uint64_t plen;

	if (!K) {
		if (secmem_init() < 0)
			abort();
		K = fuzz_record_keys();
		if (!K)
			abort();
	}
	if (size < 4 + ID_LEN)
		return 0;
	plen = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16;
	plen = plen % MAX_PLEN + 1;
	switch (data[0] & 3) {
	case 0:
		check_open(data + 4, plen, data + 4 + ID_LEN, size - 4 - ID_LEN);
		break;
	case 1:
		check_inner(plen, data + 4, size - 4);
		break;
	default:
		check_round_trip(data + 4, size - 4, zlevels[(data[0] >> 4) & 3]);
	}
	return 0;
}
