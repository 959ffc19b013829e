/* packset: open addressing over pack ids; an empty slot has used == false. */
#include "packset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t pack[PACK_ID_LEN];
	uint64_t bytes;
	bool used;
};

struct packset {
	struct slot *v;
	size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

struct packset *packset_new(void)
{
	struct packset *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->cap = 256;
	ps->v = calloc(ps->cap, sizeof(*ps->v));
	if (!ps->v) {
		free(ps);
		return NULL;
	}
	return ps;
}

void packset_free(struct packset *ps)
{
	if (ps)
		free(ps->v);
	free(ps);
}

/* Pack ids are random: their first bytes are a good hash. */
static size_t find(const struct slot *v, size_t cap, const uint8_t pack[PACK_ID_LEN])
{
	uint64_t h;
	memcpy(&h, pack, sizeof(h));
	size_t i = h & (cap - 1);
	while (v[i].used && memcmp(v[i].pack, pack, PACK_ID_LEN))
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct packset *ps)
{
	size_t cap = ps->cap * 2;
	struct slot *v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->v[i].used)
			v[find(v, cap, ps->v[i].pack)] = ps->v[i];
	free(ps->v);
	ps->v = v;
	ps->cap = cap;
	return 0;
}

int packset_add(struct packset *ps, const uint8_t pack[PACK_ID_LEN], uint64_t bytes)
{
	size_t i;
	if (2 * (ps->n + 1) > ps->cap && grow(ps))
		return -ENOMEM;
	i = find(ps->v, ps->cap, pack);
	if (!ps->v[i].used) {
		memcpy(ps->v[i].pack, pack, PACK_ID_LEN);
		ps->v[i].used = true;
		ps->n++;
	}
	ps->v[i].bytes += bytes;
	return 0;
}

bool packset_has(const struct packset *ps, const uint8_t pack[PACK_ID_LEN])
{
	return ps->v[find(ps->v, ps->cap, pack)].used;
}

uint64_t packset_get(const struct packset *ps, const uint8_t pack[PACK_ID_LEN])
{
	const struct slot *s = &ps->v[find(ps->v, ps->cap, pack)];
	return s->used ? s->bytes : 0;
}

size_t packset_count(const struct packset *ps)
{
	return ps->n;
}

int packset_each(const struct packset *ps,
		 int (*cb)(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t bytes), void *ctx)
{
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->v[i].used) {
			int ret = cb(ctx, ps->v[i].pack, ps->v[i].bytes);
			if (ret)
				return ret;
		}
	return 0;
}
