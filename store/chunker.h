/* chunker: content-defined chunking (FastCDC-style gear hash with normalised cut masks).
 * The gear table is derived from a secret seed (KEY_CHUNKER subkey) so the host cannot
 * learn file contents from chunk sizes. Deterministic for a given seed and parameters. */
#ifndef EMBASSY_CHUNKER_H
#define EMBASSY_CHUNKER_H
#include <stddef.h>
#include <stdint.h>

#define CHUNKER_MIN (256u << 10)
#define CHUNKER_AVG (1u << 20)
#define CHUNKER_MAX (4u << 20)

struct chunker {
	uint32_t min, avg, max;
	uint64_t mask_small, mask_large; /* harder mask before avg, easier after */
	uint64_t gear[256];
};

/* -EINVAL unless 64 <= min < avg < max <= 64 MiB and avg is a power of two. */
int chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max,
		 const uint8_t seed[32]);
/* Length of the chunk starting at buf. The caller passes len >= max unless the data ends
 * within len (eof); the result is in [min, max] except for a final chunk shorter than min. */
size_t chunker_cut(const struct chunker *c, const uint8_t *buf, size_t len);

#endif
