/* record: the unit of encrypted storage.
 *
 * id     = BLAKE2b-256(key = KEY_ID subkey, msg = type byte || plaintext)
 * record = nonce[24] || XChaCha20-Poly1305-IETF(key = subkey of type,
 *                        msg = flag byte || body, ad = "EMBR1" || store_id[16] || type || id[32])
 * flag 0: body is the plaintext; flag 1: body is one zstd frame of it (used only when smaller).
 * Opening checks the tag, decompresses within a bound, and recomputes the id, so a record
 * cannot be altered, moved to another id/type/store, or re-encrypted with other content
 * by a read-key holder without -EBADMSG. */
#ifndef EMBASSY_RECORD_H
#define EMBASSY_RECORD_H
#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define ID_LEN		 32
#define RECORD_NONCE_LEN 24
#define RECORD_OVERHEAD	 (24 + 16 + 1) /* nonce + tag + flag byte */
#define RECORD_MAX_PLAIN (64u << 20)   /* no record may expand past this */

enum record_type { REC_DATA = 1, REC_TREE = 2, REC_INDEX = 3, REC_MANIFEST = 4 };

/* A part of a record, where caches tell a whole record from one frame of a framed record
 * (frec.h): a frame index, or this. */
#define REC_WHOLE UINT32_MAX

/* Compute the id of plaintext for a type. */
void record_id(const struct keys *k, enum record_type type, const void *plain, size_t len,
	       uint8_t id[ID_LEN]);

/* Seal plain (with known id) into a malloc'd record. zlevel 0 = never compress.
 * Returns 0, -EINVAL (too large), -ENOMEM. */
int record_seal(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		const void *plain, size_t len, int zlevel, uint8_t **out, size_t *outlen);

/* Open a record: authenticate, decompress (at most max_plain bytes), check the id.
 * Returns 0 with a malloc'd *out, -EBADMSG (tampered, wrong id/type/store/key, bad frame),
 * -EFBIG (plaintext larger than max_plain), -ENOMEM. */
int record_open(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		const void *rec, size_t reclen, size_t max_plain, uint8_t **out, size_t *outlen);

/* Like record_open, but the plaintext lands at *base + room inside one malloc'd block
 * (room >= 1), so a caller can put its own header in front without copying the data. */
int record_open_room(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		     const void *rec, size_t reclen, size_t max_plain, size_t room, uint8_t **base,
		     size_t *outlen);
/* record_open_room that also tells which key epoch opened it (keys.h; may be NULL). Every
 * epoch k holds is tried, newest first. */
int record_open_epoch(const struct keys *k, enum record_type type, const uint8_t id[ID_LEN],
		      const void *rec, size_t reclen, size_t max_plain, size_t room, uint8_t **base,
		      size_t *outlen, unsigned *epoch);

#endif
