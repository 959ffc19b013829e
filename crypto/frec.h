/* frec: framed data records (store format 2; docs/FORMAT.md 3.4).
 *
 * A chunk's plaintext P (plen bytes) is cut into frames of FREC_FRAME bytes (the last one
 * shorter), F_0 … F_{n-1}, n = ceil(plen / FREC_FRAME). Each frame is hashed, compressed (only
 * when that makes it smaller) and sealed on its own, so one frame can be fetched, verified
 * and opened without the rest of the record:
 *
 *   h_i    = BLAKE2b-256(key = KEY_ID subkey, msg = 0x12 || F_i)
 *   id     = BLAKE2b-256(key = KEY_ID subkey, msg = 0x11 || LE64(plen) || h_0 || … || h_{n-1})
 *   record = N[24] || header || c_0 || … || c_{n-1}
 *   header = AEAD(KEY_DATA, nonce N, ad = "EMBH2" || store_id || 0x01 || id,
 *                 msg = (h_i || LE32(clen_i)) for i = 0 … n-1)                 36 n + 16 bytes
 *   c_i    = AEAD(KEY_DATA, nonce N xor (0^16 || LE64(i + 1)),
 *                 ad = "EMBF2" || store_id || 0x01 || id || LE32(i), msg = body_i)
 *   body_i = F_i (raw), or one zstd frame of F_i strictly shorter than F_i; clen_i = |c_i|
 *            = |body_i| + 16, so clen_i = |F_i| + 16 means raw and anything less zstd.
 *
 * The id covers every frame hash, and a frame is accepted only if it hashes to its h_i: a
 * holder of the read key (who has the AEAD key) still cannot substitute content under an id
 * a signed tree names. */
#ifndef EMBASSY_FREC_H
#define EMBASSY_FREC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "record.h"

#define FREC_FRAME	(64u << 10)
#define FREC_MAX_FRAMES (RECORD_MAX_PLAIN / FREC_FRAME)
#define FREC_HASH_LEN	32
#define FREC_TAG_LEN	16
#define FREC_ENTRY_LEN	(FREC_HASH_LEN + 4) /* one header entry: h_i || LE32(clen_i) */

/* Number of frames of a plaintext of plen bytes (0 for 0). */
static inline uint32_t frec_nframes(uint64_t plen)
{
	return (uint32_t)((plen + FREC_FRAME - 1) / FREC_FRAME);
}
/* Length of the record's nonce and header: frame 0 starts here. */
static inline size_t frec_header_len(uint32_t n)
{
	return RECORD_NONCE_LEN + (size_t)n * FREC_ENTRY_LEN + FREC_TAG_LEN;
}
/* Plaintext length of frame i. */
static inline uint32_t frec_frame_len(uint64_t plen, uint32_t i)
{
	uint64_t rest = plen - (uint64_t)i * FREC_FRAME;
	return rest < FREC_FRAME ? (uint32_t)rest : FREC_FRAME;
}
/* Length of the record when every frame is stored raw (the longest it can be). */
static inline uint64_t frec_raw_len(uint64_t plen)
{
	uint32_t n = frec_nframes(plen);
	return frec_header_len(n) + plen + (uint64_t)n * FREC_TAG_LEN;
}

/* A verified header. Frame i's ciphertext is record[off[i] .. off[i] + clen[i]). */
struct frec_hdr {
	const struct keys *ek; /* the key epoch that opened the header: its frames use it too */
	uint8_t nonce[RECORD_NONCE_LEN];
	uint64_t plen, reclen;
	uint32_t n;
	struct frec_frame {
		uint8_t hash[FREC_HASH_LEN];
		uint32_t off, clen;
	} f[];
};

/* The id of plain, and its frame hashes (frec_nframes(len) * FREC_HASH_LEN bytes at hashes,
 * which may be NULL). len must be 1 … RECORD_MAX_PLAIN. */
void frec_id(const struct keys *k, const void *plain, size_t len, uint8_t id[ID_LEN],
	     uint8_t *hashes);
/* Hash of one frame (h_i above). */
void frec_frame_hash(const struct keys *k, const void *frame, size_t len,
		     uint8_t out[FREC_HASH_LEN]);

/* Seal plain (id and hashes from frec_id) into one malloc'd record; zlevel 0: no frame is
 * compressed. -EINVAL (empty or too large), -ENOMEM. */
int frec_seal(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *hashes,
	      const void *plain, size_t len, int zlevel, uint8_t **out, size_t *outlen);
/* frec_seal with a given nonce, for known-answer tests only (a nonce must never repeat). */
int frec_seal_nonce(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *hashes,
		    const void *plain, size_t len, int zlevel,
		    const uint8_t nonce[RECORD_NONCE_LEN], uint8_t **out, size_t *outlen);

/* Open the header of a record of reclen bytes whose plaintext is plen bytes (both from the
 * reference): hdr is the record's first hdrlen >= frec_header_len(frec_nframes(plen)) bytes.
 * Authenticates it, checks that the frame lengths add up to reclen and that the frame hashes
 * give id. 0 with *out malloc'd; -EBADMSG (tampered, substituted, inconsistent), -ENOMEM. */
int frec_open_header(const struct keys *k, const uint8_t id[ID_LEN], uint64_t plen, uint64_t reclen,
		     const uint8_t *hdr, size_t hdrlen, struct frec_hdr **out);
/* Open frame i: ct is its h->f[i].clen bytes of ciphertext; dst receives
 * frec_frame_len(h->plen, i) bytes, written only after the frame verified. -EBADMSG
 * (tampered, bad compressed frame, hash mismatch), -EINVAL (i out of range), -ENOMEM. */
int frec_open_frame(const struct keys *k, const uint8_t id[ID_LEN], const struct frec_hdr *h,
		    uint32_t i, const uint8_t *ct, size_t ctlen, uint8_t *dst);
/* Open a whole record into dst (plen bytes): header, then every frame. */
int frec_open(const struct keys *k, const uint8_t id[ID_LEN], const uint8_t *rec, size_t reclen,
	      uint64_t plen, uint8_t *dst);

#endif
