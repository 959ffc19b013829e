/* frec: seal and open framed data records (layout in frec.h and docs/FORMAT.md 3.4). */
#include "frec.h"
#include "zctx.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define HDR_MAGIC    "EMBH2"
#define FRAME_MAGIC  "EMBF2"
#define MAGIC_LEN    5
#define HDR_AD_LEN   (MAGIC_LEN + STORE_ID_LEN + 1 + ID_LEN)
#define FRAME_AD_LEN (HDR_AD_LEN + 4)
#define DOM_ID	     0x11 /* first byte of the id's message (v1 ids start with 1…4) */
#define DOM_FRAME    0x12 /* first byte of a frame hash's message */

_Static_assert(FREC_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(FREC_HASH_LEN == ID_LEN, "hash");

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ad = magic || store_id || REC_DATA || id [|| LE32(i)] */
static void make_ad(const struct keys *k, const char *magic, const uint8_t id[ID_LEN],
		    uint8_t ad[FRAME_AD_LEN])
{
	memcpy(ad, magic, MAGIC_LEN);
	memcpy(ad + MAGIC_LEN, keys_store_id(k), STORE_ID_LEN);
	ad[MAGIC_LEN + STORE_ID_LEN] = REC_DATA;
	memcpy(ad + MAGIC_LEN + STORE_ID_LEN + 1, id, ID_LEN);
}

/* Frame i's nonce: the record nonce with LE64(i + 1) xored into its last 8 bytes, so no two
 * frames of a record (nor its header, which uses N itself) share a nonce. */
static void frame_nonce(const uint8_t n[RECORD_NONCE_LEN], uint32_t i,
			uint8_t out[RECORD_NONCE_LEN])
{
	uint64_t x = (uint64_t)i + 1;

	memcpy(out, n, RECORD_NONCE_LEN);
	for (int b = 0; b < 8; b++)
		out[16 + b] ^= (uint8_t)(x >> (8 * b));
}

void frec_frame_hash(const struct keys *k, const void *frame, size_t len,
		     uint8_t out[FREC_HASH_LEN])
{
	crypto_generichash_state st;
	const uint8_t dom = DOM_FRAME;

	crypto_generichash_init(&st, keys_get(k, KEY_ID), KEY_LEN, FREC_HASH_LEN);
	crypto_generichash_update(&st, &dom, 1);
	crypto_generichash_update(&st, frame, len);
	crypto_generichash_final(&st, out, FREC_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* The id's state after its prefix 0x11 || LE64(plen); the frame hashes follow. */
static void id_begin(const struct keys *k, uint64_t plen, crypto_generichash_state *st)
{
	uint8_t pre[9];

	pre[0] = DOM_ID;
	for (int b = 0; b < 8; b++)
		pre[1 + b] = (uint8_t)(plen >> (8 * b));
	crypto_generichash_init(st, keys_get(k, KEY_ID), KEY_LEN, ID_LEN);
	crypto_generichash_update(st, pre, sizeof(pre));
}

static void id_end(crypto_generichash_state *st, uint8_t id[ID_LEN])
{
	crypto_generichash_final(st, id, ID_LEN);
	sodium_memzero(st, sizeof(*st));
}

void frec_id(const struct keys *k, const void *plain, size_t len, uint8_t id[ID_LEN],
	     uint8_t *hashes)
{
	uint32_t n = frec_nframes(len);
	uint8_t one[FREC_HASH_LEN];
	crypto_generichash_state st;

	id_begin(k, len, &st);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *h = hashes ? hashes + (size_t)i * FREC_HASH_LEN : one;
		frec_frame_hash(k, (const uint8_t *)plain + (size_t)i * FREC_FRAME,
				frec_frame_len(len, i), h);
		crypto_generichash_update(&st, h, FREC_HASH_LEN);
	}
	id_end(&st, id);
}

/* body of frame F (len bytes) into dst (capacity len): compressed when strictly smaller. */
/* A frame's body before encryption: compressed into dst when that saves a byte, else the
 * plaintext itself, encrypted from where it lies (no copy: incompressible data, most of a
 * big register's bytes, went through a memcpy per frame before). *body: where it is. */
static size_t frame_body(const uint8_t *f, size_t len, int zlevel, uint8_t *dst,
			 const uint8_t **body)
{
	*body = dst;
	if (zlevel > 0 && len > 1) {
		ZSTD_CCtx *c = zctx_compress();
		size_t z = c ? ZSTD_compressCCtx(c, dst, len - 1, f, len, zlevel)
			     : ZSTD_compress(dst, len - 1, f, len, zlevel);
		if (!ZSTD_isError(z))
			return z;
	}
	*body = f;
	return len;
}

int frec_seal_nonce(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *hashes,
		    const void *plain, size_t len, int zlevel,
		    const uint8_t nonce[RECORD_NONCE_LEN], uint8_t **out, size_t *outlen)
{
	const uint8_t *key = keys_get(k, KEY_DATA);
	uint32_t n = frec_nframes(len);
	uint8_t ad[FRAME_AD_LEN], fn[RECORD_NONCE_LEN];
	uint8_t *rec = NULL, *tab = NULL, *shrunk;
	size_t pos = frec_header_len(n);
	int ret = -EINVAL;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len > RECORD_MAX_PLAIN)
		goto out;
	ret = -ENOMEM;
	rec = malloc(frec_raw_len(len));
	tab = malloc((size_t)n * FREC_ENTRY_LEN);
	if (!rec || !tab)
		goto out;
	memcpy(rec, nonce, RECORD_NONCE_LEN);
	make_ad(k, FRAME_MAGIC, id, ad);
	for (uint32_t i = 0; i < n; i++) {
		size_t flen = frec_frame_len(len, i), blen;
		unsigned long long clen;
		const uint8_t *body;

		blen = frame_body((const uint8_t *)plain + (size_t)i * FREC_FRAME, flen, zlevel,
				  rec + pos, &body);
		put_le32(ad + HDR_AD_LEN, i);
		frame_nonce(nonce, i, fn);
		crypto_aead_xchacha20poly1305_ietf_encrypt(rec + pos, &clen, body, blen, ad,
							   FRAME_AD_LEN, NULL, fn, key);
		memcpy(tab + (size_t)i * FREC_ENTRY_LEN, hashes + (size_t)i * FREC_HASH_LEN,
		       FREC_HASH_LEN);
		put_le32(tab + (size_t)i * FREC_ENTRY_LEN + FREC_HASH_LEN, (uint32_t)clen);
		pos += (size_t)clen;
	}
	make_ad(k, HDR_MAGIC, id, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + RECORD_NONCE_LEN, NULL, tab,
						   (size_t)n * FREC_ENTRY_LEN, ad, HDR_AD_LEN, NULL,
						   nonce, key);
	/* give back what compression saved */
	shrunk = pos < frec_raw_len(len) ? realloc(rec, pos) : NULL;
	*out = shrunk ? shrunk : rec;
	*outlen = pos;
	rec = NULL;
	ret = 0;
out:
	free(rec);
	free(tab);
	return ret;
}

int frec_seal(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *hashes,
	      const void *plain, size_t len, int zlevel, uint8_t **out, size_t *outlen)
{
	uint8_t nonce[RECORD_NONCE_LEN];

	randombytes_buf(nonce, sizeof(nonce));
	return frec_seal_nonce(k, id, hashes, plain, len, zlevel, nonce, out, outlen);
}

/* Fill h's frame table from the decrypted entries; -EBADMSG unless every length is
 * possible and they add up to the record's length. */
static int parse_table(struct frec_hdr *h, const uint8_t *tab)
{
	uint64_t pos = frec_header_len(h->n);

	for (uint32_t i = 0; i < h->n; i++) {
		const uint8_t *e = tab + (size_t)i * FREC_ENTRY_LEN;
		uint32_t clen = get_le32(e + FREC_HASH_LEN);

		if (clen < FREC_TAG_LEN + 1 || clen > frec_frame_len(h->plen, i) + FREC_TAG_LEN)
			return -EBADMSG;
		memcpy(h->f[i].hash, e, FREC_HASH_LEN);
		h->f[i].off = (uint32_t)pos;
		h->f[i].clen = clen;
		pos += clen;
	}
	return pos == h->reclen ? 0 : -EBADMSG;
}

int frec_open_header(const struct keys *k, const uint8_t id[ID_LEN], uint64_t plen, uint64_t reclen,
		     const uint8_t *hdr, size_t hdrlen, struct frec_hdr **out)
{
	uint32_t n = frec_nframes(plen);
	size_t tlen = (size_t)n * FREC_ENTRY_LEN;
	uint8_t ad[FRAME_AD_LEN], check[ID_LEN];
	crypto_generichash_state st;
	uint8_t *tab = NULL;
	struct frec_hdr *h = NULL;
	int ret = -EBADMSG;

	*out = NULL;
	/* the smallest frame is a 1-byte body and its tag */
	if (plen == 0 || plen > RECORD_MAX_PLAIN || hdrlen < frec_header_len(n) ||
	    reclen < frec_header_len(n) + (uint64_t)n * (FREC_TAG_LEN + 1) ||
	    reclen > frec_raw_len(plen))
		goto out;
	ret = -ENOMEM;
	h = malloc(sizeof(*h) + (size_t)n * sizeof(h->f[0]));
	tab = malloc(tlen);
	if (!h || !tab)
		goto out;
	memcpy(h->nonce, hdr, RECORD_NONCE_LEN);
	h->plen = plen;
	h->reclen = reclen;
	h->n = n;
	make_ad(k, HDR_MAGIC, id, ad);
	ret = -EBADMSG;
	/* the record's key epoch is not written: each held epoch is tried, newest first */
	while (k && crypto_aead_xchacha20poly1305_ietf_decrypt(
			tab, NULL, NULL, hdr + RECORD_NONCE_LEN, tlen + FREC_TAG_LEN, ad,
			HDR_AD_LEN, h->nonce, keys_get(k, KEY_DATA)) != 0)
		k = keys_older(k);
	if (!k)
		goto out;
	h->ek = k;
	if (parse_table(h, tab) < 0)
		goto out;
	/* the hash list must give the id a signed tree named: only then is any h_i trusted */
	id_begin(k, plen, &st);
	for (uint32_t i = 0; i < n; i++)
		crypto_generichash_update(&st, h->f[i].hash, FREC_HASH_LEN);
	id_end(&st, check);
	if (sodium_memcmp(check, id, ID_LEN) != 0)
		goto out;
	*out = h;
	h = NULL;
	ret = 0;
out:
	free(h);
	free(tab);
	return ret;
}

/* Decompress exactly one zstd frame that declares exactly flen bytes. */
static int inflate_frame(const uint8_t *body, size_t blen, uint8_t *dst, size_t flen)
{
	unsigned long long fsize = ZSTD_getFrameContentSize(body, blen);
	ZSTD_DCtx *d;
	size_t got;

	if (fsize != flen || ZSTD_findFrameCompressedSize(body, blen) != blen)
		return -EBADMSG;
	d = zctx_decompress();
	got = d ? ZSTD_decompressDCtx(d, dst, flen, body, blen)
		: ZSTD_decompress(dst, flen, body, blen);
	return got == flen ? 0 : -EBADMSG;
}

int frec_open_frame(const struct keys *k, const uint8_t id[ID_LEN], const struct frec_hdr *h,
		    uint32_t i, const uint8_t *ct, size_t ctlen, uint8_t *dst)
{
	uint8_t ad[FRAME_AD_LEN], fn[RECORD_NONCE_LEN], check[FREC_HASH_LEN];
	uint8_t zbuf[FREC_FRAME]; /* a compressed body is shorter than its frame */
	size_t flen, blen;
	int ret;

	if (i >= h->n)
		return -EINVAL;
	if (h->ek)
		k = h->ek;
	flen = frec_frame_len(h->plen, i);
	if (ctlen != h->f[i].clen || ctlen < FREC_TAG_LEN + 1)
		return -EBADMSG;
	blen = ctlen - FREC_TAG_LEN;
	make_ad(k, FRAME_MAGIC, id, ad);
	put_le32(ad + HDR_AD_LEN, i);
	frame_nonce(h->nonce, i, fn);
	/* raw frames decrypt straight into dst; libsodium writes nothing unless the tag holds */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(blen == flen ? dst : zbuf, NULL, NULL, ct,
						       ctlen, ad, FRAME_AD_LEN, fn,
						       keys_get(k, KEY_DATA)) != 0)
		return -EBADMSG;
	ret = blen == flen ? 0 : inflate_frame(zbuf, blen, dst, flen);
	sodium_memzero(zbuf, blen < flen ? blen : 0);
	if (ret == 0) {
		frec_frame_hash(k, dst, flen, check);
		if (sodium_memcmp(check, h->f[i].hash, FREC_HASH_LEN) != 0)
			ret = -EBADMSG;
	}
	if (ret)
		sodium_memzero(dst, flen); /* never leave unverified plaintext behind */
	return ret;
}

int frec_open(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *rec, size_t reclen,
	      uint64_t plen, uint8_t *dst)
{
	struct frec_hdr *h;
	int ret = frec_open_header(k, id, plen, reclen, rec, reclen, &h);

	for (uint32_t i = 0; !ret && i < h->n; i++)
		ret = frec_open_frame(k, id, h, i, rec + h->f[i].off, h->f[i].clen,
				      dst + (size_t)i * FREC_FRAME);
	free(h);
	return ret;
}
