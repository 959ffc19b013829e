/* extmap: sorted extent lists (see extmap.h). */
#include "extmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void extmap_free(struct extmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int reserve(struct extmap *m, size_t more)
{
	if (m->n + more <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 8;
	while (cap < m->n + more)
		cap *= 2;
	struct extent *v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	m->cap = cap;
	return 0;
}

size_t extmap_find(const struct extmap *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->v[mid].off + m->v[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The part of x from file offset from on. */
static struct extent tail_from(const struct extent *x, uint64_t from)
{
	struct extent t = *x;
	uint32_t cut = (uint32_t)(from - x->off);
	t.off = from;
	t.len -= cut;
	t.doff += cut;
	return t;
}

int extmap_put(struct extmap *m, const struct extent *e)
{
	uint64_t end = e->off + e->len;
	size_t i = extmap_find(m, e->off), j = i;
	struct extent left, right;
	size_t nl = 0, nr = 0;

	if (reserve(m, 3) < 0)
		return -ENOMEM;
	while (j < m->n && m->v[j].off < end)
		j++;
	/* [i, j) overlap e: keep what sticks out on either side */
	if (i < j && m->v[i].off < e->off) {
		left = m->v[i];
		left.len = (uint32_t)(e->off - left.off);
		nl = 1;
	}
	if (i < j && m->v[j - 1].off + m->v[j - 1].len > end) {
		right = tail_from(&m->v[j - 1], end);
		nr = 1;
	}
	size_t add = nl + 1 + nr;
	memmove(&m->v[i + add], &m->v[j], (m->n - j) * sizeof(*m->v));
	m->n = m->n - (j - i) + add;
	if (nl)
		m->v[i++] = left;
	m->v[i++] = *e;
	if (nr)
		m->v[i] = right;
	return 0;
}

void extmap_clip(struct extmap *m, uint64_t size)
{
	size_t i = extmap_find(m, size);
	if (i < m->n && m->v[i].off < size) {
		m->v[i].len = (uint32_t)(size - m->v[i].off);
		i++;
	}
	m->n = i;
}

void extmap_drop_epochs(struct extmap *m, uint64_t upto)
{
	size_t j = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].epoch > upto)
			m->v[j++] = m->v[i];
	m->n = j;
}

int extmap_copy(const struct extmap *m, struct extmap *out)
{
	memset(out, 0, sizeof(*out));
	if (!m->n)
		return 0;
	out->v = malloc(m->n * sizeof(*m->v));
	if (!out->v)
		return -ENOMEM;
	memcpy(out->v, m->v, m->n * sizeof(*m->v));
	out->n = out->cap = m->n;
	return 0;
}

uint64_t extmap_bytes(const struct extmap *m)
{
	uint64_t s = 0;
	for (size_t i = 0; i < m->n; i++)
		s += m->v[i].len;
	return s;
}
