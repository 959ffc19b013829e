/* record: seal and open encrypted records (layout in record.h). */
#include "record.h"
#include "zctx.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define AD_MAGIC     "EMBR1"
#define AD_MAGIC_LEN 5
#define AD_LEN	     (AD_MAGIC_LEN + STORE_ID_LEN + 1 + ID_LEN)
#define TAG_LEN	     crypto_aead_xchacha20poly1305_ietf_ABYTES
#define FLAG_RAW     0
#define FLAG_ZSTD    1

_Static_assert(RECORD_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(RECORD_OVERHEAD == RECORD_NONCE_LEN + TAG_LEN + 1, "overhead");
_Static_assert(KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");

/* Each type has its own key so a tree key holder cannot open data, and vice versa. */
static const uint8_t *record_key(const struct keys *k, enum record_type type)
{
	switch (type) {
	case REC_DATA:
		return keys_get(k, KEY_DATA);
	case REC_TREE:
		return keys_get(k, KEY_TREE);
	case REC_INDEX:
		return keys_get(k, KEY_INDEX);
	case REC_MANIFEST:
		return keys_get(k, KEY_MANIFEST);
	}
	return NULL;
}

/* The associated data binds the record to its store, type and id. */
static void record_ad(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		      uint8_t ad[AD_LEN])
{
	memcpy(ad, AD_MAGIC, AD_MAGIC_LEN);
	memcpy(ad + AD_MAGIC_LEN, keys_store_id(k), STORE_ID_LEN);
	ad[AD_MAGIC_LEN + STORE_ID_LEN] = (uint8_t)type;
	memcpy(ad + AD_MAGIC_LEN + STORE_ID_LEN + 1, id, ID_LEN);
}

void record_id(const struct keys *k, enum record_type type, const void *plain, size_t len,
	       uint8_t id[ID_LEN])
{
	crypto_generichash_state st;
	uint8_t t = (uint8_t)type;

	/* The type byte keeps a tree and a data chunk with equal bytes apart. */
	crypto_generichash_init(&st, keys_get(k, KEY_ID), KEY_LEN, ID_LEN);
	crypto_generichash_update(&st, &t, 1);
	crypto_generichash_update(&st, plain, len);
	crypto_generichash_final(&st, id, ID_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* Write flag||body at dst (capacity 1 + len); returns the body length. Compressing
 * into a buffer one byte short of the plaintext makes zstd fail unless it saves space. */
static size_t record_body(const void *plain, size_t len, int zlevel, uint8_t *dst)
{
	if (zlevel > 0 && len > 1) {
		ZSTD_CCtx *c = zctx_compress();
		size_t z = c ? ZSTD_compressCCtx(c, dst + 1, len - 1, plain, len, zlevel)
			     : ZSTD_compress(dst + 1, len - 1, plain, len, zlevel);

		if (!ZSTD_isError(z)) {
			dst[0] = FLAG_ZSTD;
			return z;
		}
	}
	dst[0] = FLAG_RAW;
	if (len)
		memcpy(dst + 1, plain, len);
	return len;
}

int record_seal(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		const void *plain, size_t len, int zlevel, uint8_t **out, size_t *outlen)
{
	const uint8_t *key = record_key(k, type);
	uint8_t ad[AD_LEN];
	uint8_t *rec = NULL, *shrunk;
	unsigned long long clen;
	size_t body;
	int ret = -EINVAL;

	*out = NULL;
	*outlen = 0;
	if (!key || len > RECORD_MAX_PLAIN)
		goto out;
	ret = -ENOMEM;
	rec = malloc(RECORD_OVERHEAD + len);
	if (!rec)
		goto out;
	randombytes_buf(rec, RECORD_NONCE_LEN);
	body = record_body(plain, len, zlevel, rec + RECORD_NONCE_LEN);
	record_ad(k, type, id, ad);
	/* In place: libsodium's AEAD allows c == m. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + RECORD_NONCE_LEN, &clen,
						   rec + RECORD_NONCE_LEN, 1 + body, ad, AD_LEN,
						   NULL, rec, key);
	*outlen = RECORD_NONCE_LEN + (size_t)clen;
	/* Give back the space compression saved; keeping the big block is harmless. */
	shrunk = body < len ? realloc(rec, *outlen) : NULL;
	*out = shrunk ? shrunk : rec;
	rec = NULL;
	ret = 0;
out:
	free(rec);
	return ret;
}

/* Authenticate and decrypt flag||body to offset at of a malloc'd buffer (*msg is the start
 * of the allocation); *mlen = length of flag||body. */
static int record_decrypt(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
			  const uint8_t *rec, size_t reclen, size_t at, uint8_t **msg, size_t *mlen)
{
	const uint8_t *key = record_key(k, type);
	uint8_t ad[AD_LEN];
	unsigned long long n;
	uint8_t *m = NULL;
	int ret = -EINVAL;

	if (!key)
		goto out;
	ret = -EBADMSG;
	if (reclen < RECORD_OVERHEAD)
		goto out;
	ret = -ENOMEM;
	m = malloc(at + reclen - RECORD_NONCE_LEN - TAG_LEN);
	if (!m)
		goto out;
	record_ad(k, type, id, ad);
	ret = -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m + at, &n, NULL, rec + RECORD_NONCE_LEN,
						       reclen - RECORD_NONCE_LEN, ad, AD_LEN, rec,
						       key) != 0)
		goto out;
	*msg = m;
	*mlen = (size_t)n;
	m = NULL;
	ret = 0;
out:
	free(m);
	return ret;
}

/* Decompress one zstd frame that declares its size, refusing anything above max. */
static int record_inflate(const uint8_t *body, size_t blen, size_t max, size_t room, uint8_t **out,
			  size_t *outlen)
{
	unsigned long long fsize;
	uint8_t *plain = NULL;
	int ret = -EBADMSG;

	/* Exactly one frame with a declared size: the bound is known before any work. */
	fsize = ZSTD_getFrameContentSize(body, blen);
	if (fsize == ZSTD_CONTENTSIZE_UNKNOWN || fsize == ZSTD_CONTENTSIZE_ERROR ||
	    ZSTD_findFrameCompressedSize(body, blen) != blen)
		goto out;
	ret = -EFBIG;
	if (fsize > max)
		goto out;
	ret = -ENOMEM;
	plain = malloc(room + (fsize ? (size_t)fsize : 1));
	if (!plain)
		goto out;
	ret = -EBADMSG;
	ZSTD_DCtx *d = zctx_decompress();
	size_t got = d ? ZSTD_decompressDCtx(d, plain + room, (size_t)fsize, body, blen)
		       : ZSTD_decompress(plain + room, (size_t)fsize, body, blen);
	if (got != fsize)
		goto out;
	*out = plain;
	*outlen = (size_t)fsize;
	plain = NULL;
	ret = 0;
out:
	free(plain);
	return ret;
}

/* Flag at msg[at], body after it (taking ownership of msg): the plaintext ends up at
 * *base + at + 1 — in place for a raw body, in a new buffer with the same headroom for zstd. */
static int record_unpack(uint8_t *msg, size_t at, size_t mlen, size_t max, uint8_t **base,
			 size_t *outlen)
{
	size_t blen = mlen - 1;
	int ret = -EBADMSG;

	if (msg[at] == FLAG_ZSTD) {
		ret = record_inflate(msg + at + 1, blen, max, at + 1, base, outlen);
	} else if (msg[at] == FLAG_RAW) {
		ret = -EFBIG;
		if (blen > max)
			goto out;
		*base = msg;
		*outlen = blen;
		msg = NULL;
		ret = 0;
	}
out:
	free(msg);
	return ret;
}

/* The record's epoch is not written anywhere: each epoch's key is tried, newest first. A tag
 * that fails under one key fails under the others unless it is that one's (FORMAT.md 2.4). */
static int record_decrypt_any(const struct keys **k, enum record_type type,
			      const uint8_t id[ID_LEN], const uint8_t *rec, size_t reclen,
			      size_t at, uint8_t **msg, size_t *mlen)
{
	int ret = -EBADMSG;

	for (const struct keys *e = *k; e && ret == -EBADMSG; e = keys_older(e)) {
		ret = record_decrypt(e, type, id, rec, reclen, at, msg, mlen);
		if (!ret)
			*k = e;
	}
	return ret;
}

int record_open_room(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		     const void *rec, size_t reclen, size_t max_plain, size_t room, uint8_t **base,
		     size_t *outlen)
{
	return record_open_epoch(k, type, id, rec, reclen, max_plain, room, base, outlen, NULL);
}

int record_open_epoch(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		      const void *rec, size_t reclen, size_t max_plain, size_t room, uint8_t **base,
		      size_t *outlen, unsigned *epoch)
{
	uint8_t check[ID_LEN];
	uint8_t *msg = NULL, *b = NULL;
	size_t mlen, plen;
	int ret = -EINVAL;

	*base = NULL;
	*outlen = 0;
	if (room < 1)
		goto out;
	if (max_plain > RECORD_MAX_PLAIN)
		max_plain = RECORD_MAX_PLAIN;
	/* the flag byte goes just before the caller's room, so a raw body needs no copy */
	ret = record_decrypt_any(&k, type, id, rec, reclen, room - 1, &msg, &mlen);
	if (ret < 0)
		goto out;
	ret = record_unpack(msg, room - 1, mlen, max_plain, &b, &plen);
	if (ret < 0)
		goto out;
	/* A read-key holder could seal other content under this id; only the hash tells. */
	record_id(k, type, b + room, plen, check);
	ret = -EBADMSG;
	if (sodium_memcmp(check, id, ID_LEN) != 0)
		goto out;
	*base = b;
	*outlen = plen;
	if (epoch)
		*epoch = keys_epoch(k);
	b = NULL;
	ret = 0;
out:
	free(b);
	return ret;
}

int record_open(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		const void *rec, size_t reclen, size_t max_plain, uint8_t **out, size_t *outlen)
{
	uint8_t *base;
	int ret = record_open_room(k, type, id, rec, reclen, max_plain, 1, &base, outlen);
	if (ret < 0) {
		*out = NULL;
		return ret;
	}
	memmove(base, base + 1, *outlen); /* one byte of headroom: shift it out */
	*out = base;
	return 0;
}
