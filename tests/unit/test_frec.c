/* Unit tests for crypto/frec.c, the framed data records of store format 2. The known answers
 * were computed independently from docs/FORMAT.md 3.4 by tests/tools/frec_ref.py (Python
 * hashlib BLAKE2b, cryptography's ChaCha20-Poly1305 and HChaCha20 by hand). */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "frec.h"
#include "hex.h"
#include "keys.h"
#include "secmem.h"

static struct keys *K;

static void setup(void)
{
	uint8_t master[KEY_LEN], sid[STORE_ID_LEN];

	cr_assert_eq(secmem_init(), 0);
	for (int i = 0; i < KEY_LEN; i++)
		master[i] = (uint8_t)i;
	for (int i = 0; i < STORE_ID_LEN; i++)
		sid[i] = (uint8_t)(0xf0 + i);
	cr_assert_eq(keys_new(master, sid, &K), 0);
}

static void teardown(void)
{
	keys_free(K);
}

TestSuite(frec, .init = setup, .fini = teardown);

static void unhex(const char *s, uint8_t *out, size_t len)
{
	cr_assert_eq(hex_decode(s, out, len), 0, "bad test vector");
}

/* compressible: text-like rows; otherwise deterministic random bytes */
static uint8_t *make_plain(size_t len, int compressible, uint8_t seedbyte)
{
	uint8_t seed[randombytes_SEEDBYTES] = {seedbyte};
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	if (!compressible) {
		randombytes_buf_deterministic(p, len, seed);
		return p;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)("0123456789,Tamm;Saar\n"[(i * 7 + i / 300) % 21]);
	return p;
}

struct sealed {
	uint8_t id[ID_LEN];
	uint8_t *hashes, *rec;
	size_t reclen;
};

static struct sealed seal(const uint8_t *p, size_t len, int zlevel)
{
	struct sealed s;

	s.hashes = malloc((size_t)frec_nframes(len) * FREC_HASH_LEN);
	cr_assert_not_null(s.hashes);
	frec_id(K, p, len, s.id, s.hashes);
	cr_assert_eq(frec_seal(K, s.id, s.hashes, p, len, zlevel, &s.rec, &s.reclen), 0);
	return s;
}

static void sealed_free(struct sealed *s)
{
	free(s->hashes);
	free(s->rec);
}

static int open_all(const struct sealed *s, size_t plen, uint8_t **out)
{
	*out = malloc(plen);
	cr_assert_not_null(*out);
	return frec_open(K, s->id, s->rec, s->reclen, plen, *out);
}

Test(frec, round_trips_raw_and_compressed)
{
	static const size_t sizes[] = {1,
				       2,
				       100,
				       FREC_FRAME - 1,
				       FREC_FRAME,
				       FREC_FRAME + 1,
				       3 * FREC_FRAME + 17,
				       (1u << 20) + 123,
				       4u << 20};
	for (size_t z = 0; z < 2; z++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t len = sizes[i];
			uint8_t *p = make_plain(len, (int)z, (uint8_t)i), *out;
			struct sealed s = seal(p, len, z ? 3 : 0);

			if (z && len > 1000)
				cr_assert_lt(s.reclen, len / 2, "compressible data did not shrink");
			if (!z)
				cr_assert_eq(s.reclen, frec_raw_len(len), "raw record length");
			cr_assert_eq(open_all(&s, len, &out), 0, "open %zu bytes, z %zu", len, z);
			cr_assert_eq(memcmp(out, p, len), 0);
			free(out);
			sealed_free(&s);
			free(p);
		}
}

Test(frec, id_depends_on_every_frame_and_length)
{
	size_t len = 3 * FREC_FRAME;
	uint8_t *p = make_plain(len, 0, 9), a[ID_LEN], b[ID_LEN];

	frec_id(K, p, len, a, NULL);
	for (size_t at = 0; at < len; at += FREC_FRAME) {
		p[at + 5] ^= 1;
		frec_id(K, p, len, b, NULL);
		cr_assert_neq(memcmp(a, b, ID_LEN), 0, "a change in frame %zu kept the id", at);
		p[at + 5] ^= 1;
	}
	frec_id(K, p, len - 1, b, NULL);
	cr_assert_neq(memcmp(a, b, ID_LEN), 0);
	/* not the format 1 id of the same bytes */
	record_id(K, REC_DATA, p, len, b);
	cr_assert_neq(memcmp(a, b, ID_LEN), 0);
	free(p);
}

/* The vector of docs/FORMAT.md 3.4, from tests/tools/frec_ref.py. */
Test(frec, known_answer)
{
	size_t len = FREC_FRAME + 100;
	uint8_t *p = malloc(len), nonce[RECORD_NONCE_LEN], id[ID_LEN], want[ID_LEN];
	uint8_t hashes[2 * FREC_HASH_LEN], h1[FREC_HASH_LEN], digest[32], *rec, *out;
	size_t reclen;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < RECORD_NONCE_LEN; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	frec_id(K, p, len, id, hashes);
	unhex("656c39f94e741b920fe9fdb87f335a5d435bcc439b902e03a2c616fc5417193f", h1,
	      FREC_HASH_LEN);
	cr_assert_eq(memcmp(hashes, h1, FREC_HASH_LEN), 0, "h_0");
	unhex("dedcc3c6b8a4bd1592a8e64696b17f70ad977694320fdb4d0163b048c9240b37", h1,
	      FREC_HASH_LEN);
	cr_assert_eq(memcmp(hashes + FREC_HASH_LEN, h1, FREC_HASH_LEN), 0, "h_1");
	unhex("741bb4969ef00293ec728eeced09a83e3495089625e18fb235dc4ed77f3da476", want, ID_LEN);
	cr_assert_eq(memcmp(id, want, ID_LEN), 0, "id");
	cr_assert_eq(frec_seal_nonce(K, id, hashes, p, len, 0, nonce, &rec, &reclen), 0);
	cr_assert_eq(reclen, 65780);
	crypto_generichash(digest, sizeof(digest), rec, reclen, NULL, 0);
	unhex("1b103e334cea8838cc9ec7927eec8701932e1bf0d426f9b833cbb7e5519cb73b", want, 32);
	cr_assert_eq(memcmp(digest, want, 32), 0, "record bytes");
	out = malloc(len);
	cr_assert_eq(frec_open(K, id, rec, reclen, len, out), 0);
	cr_assert_eq(memcmp(out, p, len), 0);
	free(out);
	free(rec);
	free(p);
}

/* Frames are opened one at a time with only the header and their own bytes. */
Test(frec, single_frames_alone)
{
	size_t len = 5 * FREC_FRAME + 999;
	uint8_t *p = make_plain(len, 1, 3), dst[FREC_FRAME];
	struct sealed s = seal(p, len, 3);
	uint32_t n = frec_nframes(len);
	struct frec_hdr *h;

	/* only the header bytes: no frame needed to verify it */
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, frec_header_len(n), &h), 0);
	cr_assert_eq(h->n, n);
	for (uint32_t i = n; i-- > 0;) {
		uint8_t *ct = malloc(h->f[i].clen); /* a copy: nothing else of the record */
		memcpy(ct, s.rec + h->f[i].off, h->f[i].clen);
		cr_assert_eq(frec_open_frame(K, s.id, h, i, ct, h->f[i].clen, dst), 0, "%u", i);
		cr_assert_eq(memcmp(dst, p + (size_t)i * FREC_FRAME, frec_frame_len(len, i)), 0);
		free(ct);
	}
	cr_assert_eq(frec_open_frame(K, s.id, h, n, s.rec, 20, dst), -EINVAL);
	free(h);
	sealed_free(&s);
	free(p);
}

/* Flipping any header byte fails the header; a flip in frame i fails frame i only. */
Test(frec, tamper_header_and_every_frame)
{
	size_t len = 4 * FREC_FRAME + 40;
	uint8_t *p = make_plain(len, 0, 4), dst[FREC_FRAME];
	struct sealed s = seal(p, len, 0);
	uint32_t n = frec_nframes(len);
	size_t hl = frec_header_len(n);
	struct frec_hdr *h, *bad;

	for (size_t b = 0; b < hl; b++) {
		s.rec[b] ^= 0x01;
		cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, hl, &bad), -EBADMSG,
			     "header byte %zu", b);
		cr_assert_null(bad);
		s.rec[b] ^= 0x01;
	}
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, hl, &h), 0);
	for (uint32_t i = 0; i < n; i++) {
		size_t at[] = {0, 1, h->f[i].clen / 2, h->f[i].clen - 17, h->f[i].clen - 1};
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			s.rec[h->f[i].off + at[k]] ^= 0x80;
			for (uint32_t j = 0; j < n; j++) {
				int r = frec_open_frame(K, s.id, h, j, s.rec + h->f[j].off,
							h->f[j].clen, dst);
				cr_assert_eq(r, i == j ? -EBADMSG : 0, "flip in frame %u, open %u",
					     i, j);
			}
			s.rec[h->f[i].off + at[k]] ^= 0x80;
		}
		/* a frame served at another index, or a truncated one */
		if (i + 1 < n)
			cr_assert_eq(frec_open_frame(K, s.id, h, i + 1, s.rec + h->f[i].off,
						     h->f[i].clen, dst),
				     -EBADMSG);
		cr_assert_eq(
		    frec_open_frame(K, s.id, h, i, s.rec + h->f[i].off, h->f[i].clen - 1, dst),
		    -EBADMSG);
	}
	/* the whole record with any frame's byte flipped fails */
	uint8_t *out;
	s.rec[h->f[n - 1].off + 3] ^= 1;
	cr_assert_eq(open_all(&s, len, &out), -EBADMSG);
	free(out);
	free(h);
	sealed_free(&s);
	free(p);
}

Test(frec, wrong_reference_fields)
{
	size_t len = 2 * FREC_FRAME + 1;
	uint8_t *p = make_plain(len, 0, 5), *out, other[ID_LEN];
	struct sealed s = seal(p, len, 0);
	struct frec_hdr *h;

	cr_assert_eq(frec_open_header(K, s.id, len + 1, s.reclen, s.rec, s.reclen, &h), -EBADMSG);
	cr_assert_eq(frec_open_header(K, s.id, len - 1, s.reclen, s.rec, s.reclen, &h), -EBADMSG);
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen - 1, s.rec, s.reclen, &h), -EBADMSG);
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen + 1, s.rec, s.reclen, &h), -EBADMSG);
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, 30, &h), -EBADMSG);
	cr_assert_eq(frec_open_header(K, s.id, 0, s.reclen, s.rec, s.reclen, &h), -EBADMSG);
	memcpy(other, s.id, ID_LEN);
	other[7] ^= 1;
	cr_assert_eq(frec_open_header(K, other, len, s.reclen, s.rec, s.reclen, &h), -EBADMSG);
	cr_assert_eq(open_all(&s, len, &out), 0);
	free(out);
	sealed_free(&s);
	free(p);
}

/* ---- a holder of the read key (who has every AEAD key) colluding with the host ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-encrypt frame i of rec with content f (raw), keeping the record's layout. */
static void insider_frame(const struct sealed *s, const struct frec_hdr *h, uint32_t i,
			  const uint8_t *f)
{
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN + 4], nonce[RECORD_NONCE_LEN];
	uint32_t flen = frec_frame_len(h->plen, i);
	uint64_t x = (uint64_t)i + 1;

	memcpy(ad, "EMBF2", 5);
	memcpy(ad + 5, keys_store_id(K), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = REC_DATA;
	memcpy(ad + 6 + STORE_ID_LEN, s->id, ID_LEN);
	put_le32(ad + 6 + STORE_ID_LEN + ID_LEN, i);
	memcpy(nonce, s->rec, RECORD_NONCE_LEN);
	for (int b = 0; b < 8; b++)
		nonce[16 + b] ^= (uint8_t)(x >> (8 * b));
	cr_assert_eq(h->f[i].clen, flen + FREC_TAG_LEN, "the test needs a raw frame");
	crypto_aead_xchacha20poly1305_ietf_encrypt(s->rec + h->f[i].off, NULL, f, flen, ad,
						   sizeof(ad), NULL, nonce, keys_get(K, KEY_DATA));
}

/* Re-encrypt the header with table tab (n entries). */
static void insider_header(const struct sealed *s, const uint8_t *tab, uint32_t n)
{
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN];

	memcpy(ad, "EMBH2", 5);
	memcpy(ad + 5, keys_store_id(K), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = REC_DATA;
	memcpy(ad + 6 + STORE_ID_LEN, s->id, ID_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(s->rec + RECORD_NONCE_LEN, NULL, tab,
						   (size_t)n * FREC_ENTRY_LEN, ad, sizeof(ad), NULL,
						   s->rec, keys_get(K, KEY_DATA));
}

Test(frec, insider_cannot_substitute)
{
	size_t len = 3 * FREC_FRAME;
	uint8_t *p = make_plain(len, 0, 6), *evil = make_plain(FREC_FRAME, 0, 66);
	uint8_t dst[FREC_FRAME], tab[3 * FREC_ENTRY_LEN], eh[FREC_HASH_LEN];
	struct sealed s = seal(p, len, 0);
	struct frec_hdr *h, *h2;

	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, s.reclen, &h), 0);
	/* (a) other content in frame 1, correctly encrypted: its hash does not match */
	insider_frame(&s, h, 1, evil);
	cr_assert_eq(frec_open_frame(K, s.id, h, 1, s.rec + h->f[1].off, h->f[1].clen, dst),
		     -EBADMSG);
	for (size_t i = 0; i < sizeof(dst); i++)
		cr_assert_eq(dst[i], 0, "unverified plaintext left in the buffer");
	cr_assert_eq(frec_open_frame(K, s.id, h, 0, s.rec + h->f[0].off, h->f[0].clen, dst), 0);
	/* (b) ... plus a header whose entry 1 is the evil frame's hash: the id no longer fits */
	frec_frame_hash(K, evil, FREC_FRAME, eh);
	for (uint32_t i = 0; i < 3; i++) {
		memcpy(tab + i * FREC_ENTRY_LEN, i == 1 ? eh : h->f[i].hash, FREC_HASH_LEN);
		put_le32(tab + i * FREC_ENTRY_LEN + FREC_HASH_LEN, h->f[i].clen);
	}
	insider_header(&s, tab, 3);
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, s.reclen, &h2), -EBADMSG);
	/* (c) a header whose lengths lie (frames 0 and 1 re-split) */
	for (uint32_t i = 0; i < 3; i++)
		memcpy(tab + i * FREC_ENTRY_LEN, h->f[i].hash, FREC_HASH_LEN);
	put_le32(tab + FREC_HASH_LEN, h->f[0].clen - 5);
	put_le32(tab + FREC_ENTRY_LEN + FREC_HASH_LEN, h->f[1].clen + 5);
	insider_header(&s, tab, 3);
	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, s.reclen, &h2), -EBADMSG);
	free(h);
	sealed_free(&s);
	free(evil);
	free(p);
}

/* A compressed frame that inflates to the wrong size, or is two zstd frames, is refused. */
Test(frec, insider_bad_compressed_frames)
{
	size_t len = FREC_FRAME;
	uint8_t *p = make_plain(len, 1, 7), dst[FREC_FRAME];
	uint8_t ad[5 + STORE_ID_LEN + 1 + ID_LEN + 4], nonce[RECORD_NONCE_LEN];
	uint8_t z[2 * FREC_FRAME];
	struct sealed s = seal(p, len, 3);
	struct frec_hdr h1 = {0}, *h;
	size_t zl;

	cr_assert_eq(frec_open_header(K, s.id, len, s.reclen, s.rec, s.reclen, &h), 0);
	memcpy(&h1, h, sizeof(h1));
	memcpy(ad, "EMBF2", 5);
	memcpy(ad + 5, keys_store_id(K), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = REC_DATA;
	memcpy(ad + 6 + STORE_ID_LEN, s.id, ID_LEN);
	put_le32(ad + 6 + STORE_ID_LEN + ID_LEN, 0);
	memcpy(nonce, s.rec, RECORD_NONCE_LEN);
	nonce[16] ^= 1;
	for (int mode = 0; mode < 2; mode++) {
		/* mode 0: a frame of len - 1 bytes; mode 1: the right frame twice over half */
		if (mode == 0)
			zl = ZSTD_compress(z, sizeof(z), p, len - 1, 3);
		else {
			zl = ZSTD_compress(z, sizeof(z), p, len / 2, 3);
			zl += ZSTD_compress(z + zl, sizeof(z) - zl, p + len / 2, len / 2, 3);
		}
		cr_assert(!ZSTD_isError(zl) && zl < len);
		uint8_t *ct = malloc(zl + FREC_TAG_LEN);
		crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, z, zl, ad, sizeof(ad), NULL,
							   nonce, keys_get(K, KEY_DATA));
		h->f[0].clen = (uint32_t)(zl + FREC_TAG_LEN);
		cr_assert_eq(frec_open_frame(K, s.id, h, 0, ct, zl + FREC_TAG_LEN, dst), -EBADMSG,
			     "mode %d", mode);
		free(ct);
	}
	free(h);
	sealed_free(&s);
	free(p);
}
