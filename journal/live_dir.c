/* live_dir: a directory's entries in memory — an open-addressing table keyed by name, with
 * deleted slots (rebuilt when they pile up), so a directory of 100,000 entries stays O(1). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live_int.h"

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static bool live_slot(const struct kid *k)
{
	return k->name && k->name != TOMBSTONE_NAME;
}

struct lnode *kids_get(const struct kidmap *m, const char *name)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash_name(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct kid *k = &m->v[i];
		if (!k->name)
			return NULL;
		if (k->name != TOMBSTONE_NAME && strcmp(k->name, name) == 0)
			return k->n;
	}
}

static int rehash(struct kidmap *m, size_t cap)
{
	struct kid *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!live_slot(&m->v[i]))
			continue;
		size_t j = hash_name(m->v[i].name) & (cap - 1);
		while (v[j].name)
			j = (j + 1) & (cap - 1);
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

int kids_reserve(struct kidmap *m)
{
	if ((m->used + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap : 16;
		while ((m->n + 1) * 2 > cap)
			cap *= 2;
		if (rehash(m, cap) < 0)
			return -ENOMEM;
	}
	return 0;
}

int kids_put(struct kidmap *m, const char *name, struct lnode *n)
{
	size_t i, tomb = SIZE_MAX;

	if (kids_reserve(m) < 0)
		return -ENOMEM;
	for (i = hash_name(name) & (m->cap - 1); m->v[i].name; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].name == TOMBSTONE_NAME) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (strcmp(m->v[i].name, name) == 0) {
			m->v[i].n = n; /* replace */
			return 0;
		}
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->used++;
	m->v[i] = (struct kid){.name = copy, .n = n};
	m->n++;
	return 0;
}

void kids_del(struct kidmap *m, const char *name)
{
	if (!m->cap)
		return;
	for (size_t i = hash_name(name) & (m->cap - 1); m->v[i].name; i = (i + 1) & (m->cap - 1)) {
		struct kid *k = &m->v[i];
		if (k->name != TOMBSTONE_NAME && strcmp(k->name, name) == 0) {
			free(k->name);
			k->name = TOMBSTONE_NAME;
			k->n = NULL;
			m->n--;
			return;
		}
	}
}

void kids_free(struct kidmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (live_slot(&m->v[i]))
			free(m->v[i].name);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

const char *kids_name_of(const struct kidmap *m, const struct lnode *n)
{
	for (size_t i = 0; i < m->cap; i++)
		if (live_slot(&m->v[i]) && m->v[i].n == n)
			return m->v[i].name;
	return NULL;
}
