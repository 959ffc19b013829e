/* reloc: the relocation table prune's repacking writes — codec round trip, every malformed
 * shape refused, lookup, and the reader-side fetch (hash-bound, withheld, tampered). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reloc.h"

static struct reloc_entry ent(uint8_t op, uint64_t oo, uint8_t np, uint64_t no)
{
	struct reloc_entry e;
	memset(e.old_pack, op, PACK_ID_LEN);
	memset(e.new_pack, np, PACK_ID_LEN);
	e.old_off = oo;
	e.new_off = no;
	return e;
}

static void build(struct reloc *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = n; i-- > 0;) { /* added backwards: finish sorts */
		struct reloc_entry e = ent((uint8_t)(1 + i % 3), 8 + 100 * i, 0xee, 8 + 50 * i);
		cr_assert_eq(reloc_add(r, &e), 0);
	}
	cr_assert_eq(reloc_finish(r), 0);
}

Test(reloc, round_trip_and_lookup)
{
	struct reloc r, d;
	uint8_t *buf;
	size_t len;
	build(&r, 300);
	cr_assert_eq(reloc_encode(&r, &buf, &len), 0);
	cr_assert_eq(len, RELOC_HEAD + 300 * RELOC_ENTRY);
	cr_assert_eq(memcmp(buf, "EMBRELO1", 8), 0);
	cr_assert_eq(reloc_decode(buf, len, &d), 0);
	cr_assert_eq(d.n, 300);
	cr_assert_eq(memcmp(d.v, r.v, 300 * sizeof(*d.v)), 0);
	for (size_t i = 0; i < 300; i++) {
		struct rec_ref ref = {.off = 8 + 100 * i, .len = 50};
		memset(ref.pack, (int)(1 + i % 3), PACK_ID_LEN);
		cr_assert(reloc_apply(&d, &ref));
		cr_assert_eq(ref.off, 8 + 50 * i);
		cr_assert_eq(ref.pack[0], 0xee);
		cr_assert_eq(ref.len, 50); /* length and id are the record's own: unchanged */
		cr_assert_not(reloc_apply(&d, &ref), "a target is never relocated again");
	}
	struct rec_ref miss = {.off = 9};
	memset(miss.pack, 1, PACK_ID_LEN);
	cr_assert_not(reloc_apply(&d, &miss));
	cr_assert_eq(miss.off, 9);
	cr_assert_not(reloc_apply(NULL, &miss));
	free(buf);
	reloc_clear(&r);
	reloc_clear(&d);
}

Test(reloc, empty_table)
{
	struct reloc r = {0}, d;
	uint8_t *buf;
	size_t len;
	cr_assert_eq(reloc_finish(&r), 0);
	cr_assert_eq(reloc_encode(&r, &buf, &len), 0);
	cr_assert_eq(len, RELOC_HEAD);
	cr_assert_eq(reloc_decode(buf, len, &d), 0);
	cr_assert_eq(d.n, 0);
	free(buf);
	reloc_clear(&d);
}

Test(reloc, writer_refuses_duplicates_and_chains)
{
	struct reloc r = {0};
	struct reloc_entry a = ent(1, 8, 2, 8), b = ent(1, 8, 3, 8);
	cr_assert_eq(reloc_add(&r, &a), 0);
	cr_assert_eq(reloc_add(&r, &b), 0);
	cr_assert_eq(reloc_finish(&r), -EINVAL, "one old place named twice");
	reloc_clear(&r);
	struct reloc_entry c = ent(1, 8, 2, 8), d = ent(2, 8, 3, 8);
	cr_assert_eq(reloc_add(&r, &c), 0);
	cr_assert_eq(reloc_add(&r, &d), 0);
	cr_assert_eq(reloc_finish(&r), -EINVAL, "a target that moves again is a chain");
	reloc_clear(&r);
}

/* Encode two sorted entries, then damage the bytes one way. */
static int decode_damaged(void (*damage)(uint8_t *b, size_t *len))
{
	struct reloc r = {0}, d;
	struct reloc_entry a = ent(1, 8, 5, 8), b = ent(1, 200, 5, 300);
	uint8_t *buf, big[256];
	size_t len;
	cr_assert_eq(reloc_add(&r, &a), 0);
	cr_assert_eq(reloc_add(&r, &b), 0);
	cr_assert_eq(reloc_finish(&r), 0);
	cr_assert_eq(reloc_encode(&r, &buf, &len), 0);
	cr_assert_leq(len, sizeof(big) - 64);
	memcpy(big, buf, len);
	damage(big, &len);
	int ret = reloc_decode(big, len, &d);
	cr_assert(ret || d.n);
	reloc_clear(&d);
	reloc_clear(&r);
	free(buf);
	return ret;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void bad_magic(uint8_t *b, size_t *len)
{
	(void)len, b[7] ^= 1;
}
static void short_head(uint8_t *b, size_t *len)
{
	(void)b, *len = 15;
}
static void count_high(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 8, 3);
}
static void count_huge(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 8, (uint64_t)1 << 60);
}
static void count_over_max(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 8, RELOC_MAX_N + 1);
}
static void trailing(uint8_t *b, size_t *len)
{
	b[(*len)++] = 0;
}
static void truncated(uint8_t *b, size_t *len)
{
	(void)b, (*len)--;
}
static void unsorted(uint8_t *b, size_t *len)
{
	(void)len;
	uint8_t t[RELOC_ENTRY];
	memcpy(t, b + 16, RELOC_ENTRY);
	memcpy(b + 16, b + 16 + RELOC_ENTRY, RELOC_ENTRY);
	memcpy(b + 16 + RELOC_ENTRY, t, RELOC_ENTRY);
}
static void duplicate(uint8_t *b, size_t *len)
{
	(void)len;
	memcpy(b + 16 + RELOC_ENTRY, b + 16, RELOC_ENTRY);
}
static void old_off_in_magic(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 16 + 16, 7);
}
static void new_off_in_magic(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 16 + 40, 0);
}
static void off_negative(uint8_t *b, size_t *len)
{
	(void)len, put64(b + 16 + RELOC_ENTRY + 40, (uint64_t)1 << 63);
}
static void same_pack(uint8_t *b, size_t *len)
{
	(void)len, memset(b + 16 + 24, 1, PACK_ID_LEN);
}
static void chain(uint8_t *b, size_t *len)
{
	(void)len; /* entry 0 now moves to entry 1's old place, which moves again */
	memset(b + 16 + 24, 1, PACK_ID_LEN);
	put64(b + 16 + 40, 200);
	put64(b + 16 + 16, 100);
	memset(b + 16, 0, PACK_ID_LEN);
}
static void nothing(uint8_t *b, size_t *len)
{
	(void)b, (void)len;
}

Test(reloc, malformed_refused)
{
	cr_assert_eq(decode_damaged(nothing), 0);
	void (*bad[])(uint8_t *, size_t *) = {
	    bad_magic,	      short_head,   count_high, count_huge, count_over_max,
	    trailing,	      truncated,    unsorted,	duplicate,  old_off_in_magic,
	    new_off_in_magic, off_negative, same_pack,	chain};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(decode_damaged(bad[i]), -EBADMSG, "damage %zu accepted", i);
}

Test(reloc, oversized_refused)
{
	struct reloc r = {0};
	r.n = RELOC_MAX_N + 1; /* no entries needed: the bound comes first */
	uint8_t *buf = NULL;
	size_t len;
	cr_assert_eq(reloc_finish(&r), -EFBIG);
	cr_assert_eq(reloc_encode(&r, &buf, &len), -EFBIG);
	cr_assert_null(buf);
}

Test(reloc, key_names_the_hash)
{
	uint8_t h[ID_LEN];
	char key[80];
	memset(h, 0xab, ID_LEN);
	reloc_key(h, key);
	cr_assert_eq(strlen(key), strlen("relocs/") + 64);
	cr_assert_eq(strncmp(key, "relocs/abab", 11), 0);
}
