/* libFuzzer target for record_open (input layout in fuzz_record.h). Aborts when a
 * result breaks the contract: data returned on failure, more than max_plain bytes, an
 * unexpected error code, or a round trip that does not give back its input. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_record.h"
#include "secmem.h"

static struct keys *K;

static const enum key_slot slot_of[] = {0, KEY_DATA, KEY_TREE, KEY_INDEX, KEY_MANIFEST};

static void check_open(enum record_type t, const uint8_t *id, const uint8_t *rec, size_t len)
{
	uint8_t *out = NULL, check[ID_LEN];
	size_t outlen = 0;
	int ret = record_open(K, t, id, rec, len, FUZZ_MAX_PLAIN, &out, &outlen);

	if (ret == 0) {
		record_id(K, t, out, outlen, check);
		if (outlen > FUZZ_MAX_PLAIN || memcmp(check, id, ID_LEN) != 0)
			abort();
	} else if ((ret != -EBADMSG && ret != -EFBIG && ret != -ENOMEM) || out || outlen) {
		abort();
	}
	free(out);
}

/* Seal msg (flag||body) as the AEAD layer of a record, so parsing behind it is reached. */
static void check_inner(enum record_type t, const uint8_t *id, const uint8_t *msg, size_t len)
{
	static const uint8_t nonce[RECORD_NONCE_LEN] = {0};
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN];
	uint8_t *rec = malloc(RECORD_NONCE_LEN + len + 16);
	unsigned long long clen;

	if (!rec)
		return;
	memcpy(ad, "EMBR1", 5);
	memcpy(ad + 5, keys_store_id(K), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = (uint8_t)t;
	memcpy(ad + 6 + STORE_ID_LEN, id, ID_LEN);
	memcpy(rec, nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + RECORD_NONCE_LEN, &clen, msg, len, ad,
						   sizeof(ad), NULL, nonce,
						   keys_get(K, slot_of[t]));
	check_open(t, id, rec, RECORD_NONCE_LEN + (size_t)clen);
	free(rec);
}

static void check_round_trip(enum record_type t, const uint8_t *plain, size_t len, int zlevel)
{
	uint8_t id[ID_LEN], *rec = NULL, *out = NULL;
	size_t reclen, outlen;

	record_id(K, t, plain, len, id);
	if (record_seal(K, t, id, plain, len, zlevel, &rec, &reclen) != 0)
		abort();
	if (reclen > len + RECORD_OVERHEAD ||
	    record_open(K, t, id, rec, reclen, len, &out, &outlen) != 0 || outlen != len ||
	    (len && memcmp(out, plain, len) != 0))
		abort();
	free(rec);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int zlevels[] = {0, 1, 3, 3};
	enum record_type t;

	if (!K) {
		if (secmem_init() < 0)
			abort();
		K = fuzz_record_keys();
		if (!K)
			abort();
	}
	if (size < FUZZ_HDR)
		return 0;
	t = (enum record_type)((data[0] & 3) + 1);
	if (data[0] & FUZZ_INNER)
		check_inner(t, data + 1, data + FUZZ_HDR, size - FUZZ_HDR);
	else
		check_open(t, data + 1, data + FUZZ_HDR, size - FUZZ_HDR);
	check_round_trip(t, data + FUZZ_HDR, size - FUZZ_HDR, zlevels[(data[0] >> 4) & 3]);
	return 0;
}
