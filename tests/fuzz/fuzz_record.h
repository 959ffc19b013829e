/* Shared by fuzz_record.c and gen_record_corpus.c: the fixed keys and the input layout.
 *
 * Input: byte 0 = mode, bytes 1..32 = id, the rest = payload.
 *   mode & 3      record type - 1
 *   mode & 0x80   "inner": payload is flag||body, sealed here with the right key and
 *                 associated data, so the fuzzer reaches the decompressor and id check
 *   otherwise     payload is a record, opened as is
 *   (mode >> 4) & 3  zstd level for the seal/open round trip of the payload */
#ifndef EMBASSY_FUZZ_RECORD_H
#define EMBASSY_FUZZ_RECORD_H
#include <stdint.h>

#include "keys.h"
#include "record.h"

#define FUZZ_MAX_PLAIN (1u << 20)
#define FUZZ_HDR       (1 + ID_LEN)
#define FUZZ_INNER     0x80

static inline struct keys *fuzz_record_keys(void)
{
	uint8_t master[KEY_LEN], sid[STORE_ID_LEN];
	struct keys *k = NULL;

	for (int i = 0; i < KEY_LEN; i++)
		master[i] = (uint8_t)i;
	for (int i = 0; i < STORE_ID_LEN; i++)
		sid[i] = (uint8_t)(0xf0 + i);
	keys_new(master, sid, &k);
	return k;
}

#endif
