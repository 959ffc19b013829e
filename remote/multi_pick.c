/* multi_pick: which mirror of a multi-URL to ask first (multi.h: pure, no I/O, no clock of
 * its own, no lock; multi.c holds one). */
#include <string.h>

#include "multi.h"

void mpick_init(struct mpick *p, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->n = n < MULTI_MAX ? n : MULTI_MAX;
}

bool mpick_is_down(const struct mpick *p, size_t i, uint64_t now_ms)
{
	return p->down_until[i] > now_ms;
}

/* up mirrors by cost (unmeasured first: they get measured), then down ones by return time */
static bool before(const struct mpick *p, size_t a, size_t b, uint64_t now)
{
	bool da = mpick_is_down(p, a, now), db = mpick_is_down(p, b, now);

	if (da != db)
		return !da;
	if (da)
		return p->down_until[a] < p->down_until[b];
	return p->cost_us[a] < p->cost_us[b] || (p->cost_us[a] == p->cost_us[b] && a < b);
}

size_t mpick_order(struct mpick *p, uint64_t now_ms, uint32_t skip, size_t order[MULTI_MAX])
{
	size_t k = 0, probe = MULTI_MAX;

	for (size_t i = 0; i < p->n; i++) {
		size_t j = k++;
		if (skip & (1u << i)) {
			k--;
			continue;
		}
		while (j > 0 && before(p, i, order[j - 1], now_ms)) { /* insertion sort */
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	if (++p->choices % MPICK_PROBE != 0)
		return k;
	for (size_t j = 0; j < k; j++) /* the up mirror measured longest ago goes first */
		if (!mpick_is_down(p, order[j], now_ms) &&
		    (probe == MULTI_MAX || p->seen_at[order[j]] < p->seen_at[order[probe]]))
			probe = j;
	for (size_t j = probe; j > 0 && j < MULTI_MAX; j--) {
		size_t t = order[j];
		order[j] = order[j - 1];
		order[j - 1] = t;
	}
	return k;
}

void mpick_ok(struct mpick *p, size_t i, uint64_t us, uint64_t bytes)
{
	/* the cost of a quarter MiB: a small request costs its latency, a large one is not
	 * held against a mirror for its size */
	uint64_t q = 256u << 10, c = bytes > q ? us * q / bytes : us;

	if (c == 0)
		c = 1;
	p->cost_us[i] = p->cost_us[i] ? (3 * p->cost_us[i] + c) / 4 : c;
	p->seen_at[i] = p->choices;
	p->fails[i] = 0;
	p->down_until[i] = 0;
}

void mpick_fail(struct mpick *p, size_t i, uint64_t now_ms)
{
	unsigned f = p->fails[i] < 16 ? p->fails[i] : 16;
	uint64_t cool = (uint64_t)MPICK_COOL_MIN_MS << f;

	p->fails[i]++;
	p->down_until[i] = now_ms + (cool < MPICK_COOL_MAX_MS ? cool : MPICK_COOL_MAX_MS);
	p->seen_at[i] = p->choices;
}
