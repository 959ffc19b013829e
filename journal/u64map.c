/* u64map: see u64map.h. */
#include "u64map.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(const struct u64map *m, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (m->cap - 1);
}

void *u64map_get(const struct u64map *m, uint64_t k)
{
	if (!m->cap || !k)
		return NULL;
	for (size_t i = slot_of(m, k);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int grow(struct u64map *m)
{
	struct u64map g = {.cap = m->cap ? m->cap * 2 : 256};

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.vals = calloc(g.cap, sizeof(*g.vals));
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot_of(&g, m->keys[i]);
		while (g.keys[j])
			j = (j + 1) & (g.cap - 1);
		g.keys[j] = m->keys[i];
		g.vals[j] = m->vals[i];
	}
	g.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = g;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t k, void *v)
{
	size_t i;

	if (!k)
		return -EINVAL;
	if ((m->n + 1) * 10 > m->cap * 7 && grow(m) < 0)
		return -ENOMEM;
	for (i = slot_of(m, k); m->keys[i] && m->keys[i] != k; i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

void u64map_del(struct u64map *m, uint64_t k)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap || !k)
		return;
	for (i = slot_of(m, k); m->keys[i] != k; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->keys[j]);
		/* move j back into the hole at i unless its home lies in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}
