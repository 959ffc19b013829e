/* libFuzzer target for chunker_cut: no crash, and every cut within the bounds.
 * Input: byte 0 picks min, byte 1 picks avg and max, bytes 2..9 vary the seed; the rest
 * is chunked. Small parameters so short inputs still produce many cuts. */
#include <stdlib.h>
#include <string.h>

#include "chunker.h"

static void chunk_all(const struct chunker *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t n = chunker_cut(c, buf + off, len - off);

		if (n == 0 || n > len - off || n > c->max || (off + n < len && n < c->min))
			abort();
		/* Deterministic: the same bytes cut the same way. */
		if (chunker_cut(c, buf + off, len - off) != n)
			abort();
		off += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[32] = {0};
	struct chunker c;
	uint32_t min, avg, max;

	if (size < 10)
		return 0;
	min = 64 + (uint32_t)data[0] * 3;
	avg = 1u << (10 + (data[1] & 3)); /* 1..8 KiB, always above min (<= 829) */
	max = avg * (2u + (data[1] >> 2 & 7));
	memcpy(seed, data + 2, 8);
	if (chunker_init(&c, min, avg, max, seed) != 0)
		abort();
	chunk_all(&c, data + 10, size - 10);
	/* The full-size defaults on the same bytes: inputs are short, so one chunk. */
	if (chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, seed) != 0)
		abort();
	chunk_all(&c, data + 10, size - 10);
	return 0;
}
