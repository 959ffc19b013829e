/* Unit tests for store/chunker.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "secmem.h"

#define MiB	(1u << 20)
#define BIG_LEN (64u * MiB)

struct cuts {
	size_t n;
	size_t *len;
	uint64_t *hash; /* 64-bit BLAKE2b of each chunk, for set comparisons */
};

static const uint8_t SEED_A[32] = {1, 2, 3};
static const uint8_t SEED_B[32] = {3, 2, 1};

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

TestSuite(chunker, .init = setup);

static uint8_t *random_buf(size_t len, uint8_t tag)
{
	uint8_t seed[randombytes_SEEDBYTES] = {tag, 0x5e};
	uint8_t *buf = malloc(len + 1);

	cr_assert_not_null(buf);
	randombytes_buf_deterministic(buf, len, seed);
	return buf;
}

/* Chunk buf like a streaming caller would, checking the bounds of every cut. */
static struct cuts chunk_all(const struct chunker *c, const uint8_t *buf, size_t len)
{
	struct cuts r = {0, malloc(sizeof(size_t) * (len / c->min + 2)),
			 malloc(sizeof(uint64_t) * (len / c->min + 2))};
	size_t off = 0;

	cr_assert(r.len && r.hash);
	while (off < len) {
		size_t n = chunker_cut(c, buf + off, len - off);

		cr_assert_gt(n, 0);
		cr_assert_leq(n, len - off);
		cr_assert_leq(n, c->max, "chunk %zu of %zu > max", r.n, n);
		if (off + n < len)
			cr_assert_geq(n, c->min, "chunk %zu of %zu < min before eof", r.n, n);
		crypto_generichash((uint8_t *)&r.hash[r.n], 8, buf + off, n, NULL, 0);
		r.len[r.n++] = n;
		off += n;
	}
	return r;
}

static void cuts_free(struct cuts *r)
{
	free(r->len);
	free(r->hash);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Chunks of b that a does not have (multiset difference on chunk hashes). */
static size_t chunks_not_in(const struct cuts *a, const struct cuts *b)
{
	size_t i = 0, j = 0, missing = 0;

	qsort(a->hash, a->n, sizeof(uint64_t), cmp_u64);
	qsort(b->hash, b->n, sizeof(uint64_t), cmp_u64);
	while (j < b->n) {
		if (i < a->n && a->hash[i] == b->hash[j]) {
			i++, j++;
		} else if (i < a->n && a->hash[i] < b->hash[j]) {
			i++;
		} else {
			missing++, j++;
		}
	}
	return missing;
}

Test(chunker, init_validates)
{
	struct chunker c;

	cr_assert_eq(chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A), 0);
	cr_assert_eq(chunker_init(&c, 64, 128, 256, SEED_A), 0);
	cr_assert_eq(chunker_init(&c, 63, 128, 256, SEED_A), -EINVAL);
	cr_assert_eq(chunker_init(&c, 128, 128, 256, SEED_A), -EINVAL);
	cr_assert_eq(chunker_init(&c, 64, 256, 256, SEED_A), -EINVAL);
	cr_assert_eq(chunker_init(&c, 64, 192, 256, SEED_A), -EINVAL);
	cr_assert_eq(chunker_init(&c, 1024, 4096, (64u << 20) + 1, SEED_A), -EINVAL);
	cr_assert_eq(chunker_init(&c, 1024, 4096, 64u << 20, SEED_A), 0);
}

Test(chunker, gear_depends_on_seed_only)
{
	struct chunker a, b, d;

	chunker_init(&a, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	chunker_init(&b, 1024, 8192, 65536, SEED_A);
	chunker_init(&d, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_B);
	cr_assert_arr_eq(a.gear, b.gear, sizeof(a.gear));
	cr_assert_neq(memcmp(a.gear, d.gear, sizeof(a.gear)), 0);
	cr_assert_gt(__builtin_popcountll(a.mask_small), __builtin_popcountll(a.mask_large));
}

Test(chunker, short_inputs_are_one_chunk)
{
	struct chunker c;
	uint8_t *buf = random_buf(CHUNKER_MIN + 1, 9);

	chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	cr_assert_eq(chunker_cut(&c, buf, 0), 0);
	cr_assert_eq(chunker_cut(&c, buf, 1), 1);
	cr_assert_eq(chunker_cut(&c, buf, CHUNKER_MIN - 1), CHUNKER_MIN - 1);
	cr_assert_eq(chunker_cut(&c, buf, CHUNKER_MIN), CHUNKER_MIN);
	cr_assert_leq(chunker_cut(&c, buf, CHUNKER_MIN + 1), CHUNKER_MIN + 1);
	free(buf);
}

Test(chunker, deterministic_and_bounded_64mib)
{
	struct chunker c;
	uint8_t *buf = random_buf(BIG_LEN, 1);
	struct cuts a, b;
	double mean;

	chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	a = chunk_all(&c, buf, BIG_LEN);
	b = chunk_all(&c, buf, BIG_LEN);
	cr_assert_eq(a.n, b.n);
	cr_assert_arr_eq(a.len, b.len, a.n * sizeof(size_t));
	mean = (double)BIG_LEN / (double)a.n;
	cr_assert(mean >= 0.5 * CHUNKER_AVG && mean <= 2.0 * CHUNKER_AVG, "mean %.0f", mean);
	cuts_free(&a);
	cuts_free(&b);
	free(buf);
}

/* Small parameters give thousands of chunks: a sharper check of bounds and mean. */
Test(chunker, small_params_bounds_and_mean)
{
	struct chunker c;
	uint8_t *buf = random_buf(16 * MiB, 2);
	struct cuts a;
	double mean;

	chunker_init(&c, 2048, 8192, 32768, SEED_A);
	a = chunk_all(&c, buf, 16 * MiB);
	mean = (double)(16 * MiB) / (double)a.n;
	cr_assert(mean >= 0.5 * 8192 && mean <= 2.0 * 8192, "mean %.0f", mean);
	cuts_free(&a);
	free(buf);
}

Test(chunker, degenerate_data_bounded)
{
	struct chunker c;
	uint8_t *buf = calloc(1, 16 * MiB);
	struct cuts a;

	cr_assert_not_null(buf);
	chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	a = chunk_all(&c, buf, 16 * MiB);
	cuts_free(&a);
	memset(buf, 0xff, 16 * MiB);
	a = chunk_all(&c, buf, 16 * MiB);
	cuts_free(&a);
	free(buf);
}

Test(chunker, seeds_give_different_cuts)
{
	struct chunker ca, cb;
	uint8_t *buf = random_buf(BIG_LEN / 4, 3);
	struct cuts a, b;

	chunker_init(&ca, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	chunker_init(&cb, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_B);
	a = chunk_all(&ca, buf, BIG_LEN / 4);
	b = chunk_all(&cb, buf, BIG_LEN / 4);
	/* With ~14 chunks each, sharing any chunk at all would be a coincidence. */
	cr_assert_geq(chunks_not_in(&a, &b), b.n - 1, "at most the last chunk may coincide");
	cuts_free(&a);
	cuts_free(&b);
	free(buf);
}

Test(chunker, insert_one_byte_changes_at_most_two_chunks)
{
	struct chunker c;
	uint8_t *buf = random_buf(BIG_LEN, 4), *shifted = malloc(BIG_LEN + 1);
	struct cuts a, b;

	cr_assert_not_null(shifted);
	memcpy(shifted, buf, 1000);
	shifted[1000] = 0x42;
	memcpy(shifted + 1001, buf + 1000, BIG_LEN - 1000);
	chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	a = chunk_all(&c, buf, BIG_LEN);
	b = chunk_all(&c, shifted, BIG_LEN + 1);
	cr_assert_gt(a.n, 16);
	cr_assert_leq(chunks_not_in(&a, &b), 2);
	cuts_free(&a);
	cuts_free(&b);
	free(shifted);
	free(buf);
}

/* The cut points are part of what a store holds: a chunker that cut elsewhere would
 * re-store every byte of a register at its next seal (no deduplication against the
 * store's existing chunks). Faster implementations must cut exactly where this plain
 * gear loop does; it is the specification (docs/FORMAT.md, chunking). */
static size_t reference_cut(const struct chunker *c, const uint8_t *buf, size_t len)
{
	size_t end = len < c->max ? len : c->max;
	size_t normal = end < c->avg ? end : c->avg;
	uint64_t h = 0;

	if (len <= c->min)
		return len;
	for (size_t i = 0; i < end; i++) {
		h = (h << 1) + c->gear[buf[i]];
		if (i >= c->min && !(h & (i < normal ? c->mask_small : c->mask_large)))
			return i + 1;
	}
	return end;
}

/* 64-bit digest of a whole cut list (lengths in order). */
static uint64_t cuts_digest(const struct chunker *c, const uint8_t *buf, size_t len, size_t *n)
{
	crypto_generichash_state st;
	uint64_t d = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	*n = 0;
	for (size_t off = 0; off < len; (*n)++) {
		uint64_t cut = chunker_cut(c, buf + off, len - off);
		uint8_t le[8];
		for (unsigned j = 0; j < 8; j++)
			le[j] = (uint8_t)(cut >> (8 * j));
		crypto_generichash_update(&st, le, sizeof(le));
		off += cut;
	}
	crypto_generichash_final(&st, (uint8_t *)&d, sizeof(d));
	return d;
}

Test(chunker, same_cuts_as_the_reference_loop)
{
	struct chunker c;
	uint8_t *buf = random_buf(4 * MiB, 5);

	/* tiny parameters: thousands of cuts, at every alignment, through both masks, at max */
	cr_assert_eq(chunker_init(&c, 64, 128, 512, SEED_A), 0);
	for (size_t off = 0, k = 0; off < 4 * MiB; k++) {
		/* odd lengths too: a buffer ending inside the unrolled steps */
		size_t len = 4 * MiB - off < 1000 + k % 7 ? 4 * MiB - off : 1000 + k % 7;
		size_t want = reference_cut(&c, buf + off, len);
		size_t got = chunker_cut(&c, buf + off, len);
		cr_assert_eq(got, want, "at %zu (len %zu): %zu, reference %zu", off, len, got,
			     want);
		off += got;
	}
	cr_assert_eq(chunker_init(&c, 2048, 8192, 32768, SEED_B), 0);
	for (size_t off = 0; off < 4 * MiB;) {
		size_t len = 4 * MiB - off;
		size_t want = reference_cut(&c, buf + off, len);
		cr_assert_eq(chunker_cut(&c, buf + off, len), want, "at %zu", off);
		off += want;
	}
	free(buf);
}

/* Known answers: the cut lists of the default and small parameters, as every store sealed
 * so far was cut (a change here breaks deduplication against existing stores). */
Test(chunker, known_cut_points)
{
	struct chunker c;
	uint8_t *buf = random_buf(BIG_LEN, 6);
	size_t n;
	uint64_t d;

	chunker_init(&c, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX, SEED_A);
	d = cuts_digest(&c, buf, BIG_LEN, &n);
	cr_assert_eq(n, 52);
	cr_assert_eq(d, 0xfb4e87f61baa6e53ull, "default cuts: digest 0x%016llx",
		     (unsigned long long)d);
	chunker_init(&c, 2048, 8192, 32768, SEED_B);
	d = cuts_digest(&c, buf, 16 * MiB, &n);
	cr_assert_eq(n, 1708);
	cr_assert_eq(d, 0xe840b4087e889b2dull, "small cuts: digest 0x%016llx",
		     (unsigned long long)d);
	free(buf);
}
