/* chunker: FastCDC-style content-defined chunking (see chunker.h).
 *
 * The gear hash h = (h << 1) + gear[byte] forgets a byte after 64 steps, so the hash at
 * any position depends only on the last 64 bytes. That makes two things cheap: cut
 * points can be tested on the top bits (which mix all 64 bytes), and hashing can start
 * 64 bytes before min instead of at 0 with exactly the same result. */
#include "chunker.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define CHUNKER_WINDOW 64u
#define CHUNKER_LIMIT  (64u << 20)
/* Normalisation level 1: one bit harder before avg, one easier after. Level 2 (the FastCDC
 * paper's default) gives tighter sizes but re-synchronises slowly after an edit: measured on
 * 30 random 256 MiB files with 1 MiB overwritten in the middle, level 2 rewrote 3.65 MiB on
 * average and 16.3 MiB at worst, level 1 2.88 MiB and 5.8 MiB at worst. */
#define CHUNKER_NORM 1

/* A mask of the top n bits: a cut happens where they are all zero. */
static uint64_t chunker_mask(unsigned n)
{
	return ~(uint64_t)0 << (64 - n);
}

static int chunker_gear(uint64_t gear[256], const uint8_t seed[32])
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = "EMBGEAR";
	uint8_t bytes[256 * 8];

	if (sodium_init() < 0)
		return -EIO;
	/* A keyed stream: without the seed the host cannot predict cut points. */
	crypto_stream_chacha20(bytes, sizeof(bytes), nonce, seed);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t v = 0;

		/* Little-endian on every host, so cuts are the same everywhere. */
		for (unsigned j = 0; j < 8; j++)
			v |= (uint64_t)bytes[8 * i + j] << (8 * j);
		gear[i] = v;
	}
	sodium_memzero(bytes, sizeof(bytes));
	return 0;
}

int chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max,
		 const uint8_t seed[32])
{
	unsigned bits = 0;

	if (min < CHUNKER_WINDOW || min >= avg || avg >= max || max > CHUNKER_LIMIT ||
	    (avg & (avg - 1)) != 0)
		return -EINVAL;
	while ((1u << bits) < avg)
		bits++;
	memset(c, 0, sizeof(*c));
	c->min = min;
	c->avg = avg;
	c->max = max;
	c->mask_small = chunker_mask(bits + CHUNKER_NORM);
	c->mask_large = chunker_mask(bits - CHUNKER_NORM);
	return chunker_gear(c->gear, seed);
}

size_t chunker_cut(const struct chunker *c, const uint8_t *buf, size_t len)
{
	const uint64_t *gear = c->gear;
	size_t end = len < c->max ? len : c->max;
	size_t normal = end < c->avg ? end : c->avg;
	size_t i = c->min - CHUNKER_WINDOW;
	uint64_t h = 0;

	if (len <= c->min)
		return len;
	/* Warm up over the 64 bytes before min; no cut can fall here. */
	for (; i < c->min; i++)
		h = (h << 1) + gear[buf[i]];
	for (; i < normal; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & c->mask_small))
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & c->mask_large))
			return i + 1;
	}
	return end;
}
