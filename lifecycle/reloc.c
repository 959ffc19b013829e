/* reloc: codec and lookup of the relocation table (reloc.h). */
#include "reloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

void reloc_clear(struct reloc *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int reloc_add(struct reloc *r, const struct reloc_entry *e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		struct reloc_entry *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *e;
	return 0;
}

static int place_cmp(const uint8_t *pa, uint64_t oa, const uint8_t *pb, uint64_t ob)
{
	int c = memcmp(pa, pb, PACK_ID_LEN);
	return c ? c : (oa > ob) - (oa < ob);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct reloc_entry *x = a, *y = b;
	return place_cmp(x->old_pack, x->old_off, y->old_pack, y->old_off);
}

int reloc_finish(struct reloc *r)
{
	if (r->n > RELOC_MAX_N)
		return -EFBIG;
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
	for (size_t i = 1; i < r->n; i++)
		if (!entry_cmp(&r->v[i - 1], &r->v[i]))
			return -EINVAL;
	for (size_t i = 0; i < r->n; i++)
		if (reloc_find(r, r->v[i].new_pack, r->v[i].new_off))
			return -EINVAL; /* a chain: the writer must map to the final place */
	return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int reloc_encode(const struct reloc *r, uint8_t **out, size_t *len)
{
	if (r->n > RELOC_MAX_N)
		return -EFBIG;
	size_t n = RELOC_HEAD + r->n * RELOC_ENTRY;
	uint8_t *b = malloc(n), *p = b + RELOC_HEAD;
	if (!b)
		return -ENOMEM;
	memcpy(b, RELOC_MAGIC, 8);
	put64(b + 8, r->n);
	for (size_t i = 0; i < r->n; i++, p += RELOC_ENTRY) {
		memcpy(p, r->v[i].old_pack, PACK_ID_LEN);
		put64(p + 16, r->v[i].old_off);
		memcpy(p + 24, r->v[i].new_pack, PACK_ID_LEN);
		put64(p + 40, r->v[i].new_off);
	}
	*out = b;
	*len = n;
	return 0;
}

static bool entry_ok(const struct reloc_entry *e)
{
	return e->old_off >= 8 && e->old_off <= INT64_MAX && e->new_off >= 8 &&
	       e->new_off <= INT64_MAX && memcmp(e->old_pack, e->new_pack, PACK_ID_LEN);
}

int reloc_decode(const uint8_t *buf, size_t len, struct reloc *out)
{
	memset(out, 0, sizeof(*out));
	if (len < RELOC_HEAD || memcmp(buf, RELOC_MAGIC, 8))
		return -EBADMSG;
	uint64_t n = get64(buf + 8);
	if (n > RELOC_MAX_N || len != RELOC_HEAD + n * RELOC_ENTRY)
		return -EBADMSG;
	out->v = malloc(n ? n * sizeof(*out->v) : 1);
	if (!out->v)
		return -ENOMEM;
	out->cap = n;
	const uint8_t *p = buf + RELOC_HEAD;
	for (size_t i = 0; i < n; i++, p += RELOC_ENTRY) {
		struct reloc_entry *e = &out->v[i];
		memcpy(e->old_pack, p, PACK_ID_LEN);
		e->old_off = get64(p + 16);
		memcpy(e->new_pack, p + 24, PACK_ID_LEN);
		e->new_off = get64(p + 40);
		if (!entry_ok(e) || (i && entry_cmp(&out->v[i - 1], e) >= 0)) {
			reloc_clear(out);
			return -EBADMSG;
		}
		out->n++;
	}
	/* every target is a current place: one lookup is final, a chain is malformed */
	for (size_t i = 0; i < n; i++)
		if (reloc_find(out, out->v[i].new_pack, out->v[i].new_off)) {
			reloc_clear(out);
			return -EBADMSG;
		}
	return 0;
}

const struct reloc_entry *reloc_find(const struct reloc *r, const uint8_t pack[PACK_ID_LEN],
				     uint64_t off)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = place_cmp(r->v[mid].old_pack, r->v[mid].old_off, pack, off);
		if (!c)
			return &r->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool reloc_apply(const struct reloc *r, struct rec_ref *ref)
{
	const struct reloc_entry *e = r && r->n ? reloc_find(r, ref->pack, ref->off) : NULL;
	if (!e)
		return false;
	memcpy(ref->pack, e->new_pack, PACK_ID_LEN);
	ref->off = e->new_off;
	return true;
}

void reloc_key(const uint8_t hash[ID_LEN], char out[80])
{
	char h[2 * ID_LEN + 1];
	hex_encode(hash, ID_LEN, h);
	snprintf(out, 80, RELOC_PREFIX "%s", h);
}
