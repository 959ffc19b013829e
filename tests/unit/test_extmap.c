/* extmap: random writes, truncations and epoch drops against a byte-per-position model. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "extmap.h"

#define SPACE 4096

/* model[p]: 0 = not covered; else the id of the write covering p (id encodes the epoch) */
static uint32_t model[SPACE];

static void check(const struct extmap *m)
{
	static uint32_t got[SPACE];
	memset(got, 0, sizeof(got));
	for (size_t i = 0; i < m->n; i++) {
		const struct extent *e = &m->v[i];
		cr_assert_gt(e->len, 0);
		if (i)
			cr_assert_geq(e->off, m->v[i - 1].off + m->v[i - 1].len,
				      "overlap or order");
		for (uint32_t k = 0; k < e->len; k++) {
			/* doff moves with the cut: the byte at off + k is the write's byte doff + k
			 */
			uint32_t id = (uint32_t)e->pos.off;
			cr_assert_eq(e->doff + k, (uint32_t)(e->off + k - e->pos.seg) + 100);
			got[e->off + k] = id;
		}
	}
	cr_assert_arr_eq(got, model, sizeof(model));
}

Test(extmap, random_against_a_model)
{
	struct extmap m = {0};
	srand(42);
	memset(model, 0, sizeof(model));
	for (uint32_t id = 1; id < 20000; id++) {
		int what = rand() % 10;
		if (what < 8) {
			uint64_t off = (uint64_t)(rand() % (SPACE - 1));
			uint32_t len = 1 + (uint32_t)(rand() % (what < 6 ? 64 : 1024));
			if (off + len > SPACE)
				len = (uint32_t)(SPACE - off);
			/* pos.seg remembers where the write started, pos.off its id */
			struct extent e = {.off = off,
					   .len = len,
					   .doff = 100,
					   .epoch = id / 1000,
					   .pos = {.seg = off, .off = id}};
			cr_assert_eq(extmap_put(&m, &e), 0);
			for (uint32_t k = 0; k < len; k++)
				model[off + k] = id;
		} else if (what == 8) {
			uint64_t size = (uint64_t)(rand() % SPACE);
			extmap_clip(&m, size);
			for (uint64_t p = size; p < SPACE; p++)
				model[p] = 0;
		} else if (id % 500 == 0) {
			uint64_t upto = id / 1000 - 1;
			extmap_drop_epochs(&m, upto);
			for (size_t p = 0; p < SPACE; p++)
				if (model[p] && model[p] / 1000 <= upto)
					model[p] = 0;
		}
		check(&m);
	}
	struct extmap c;
	cr_assert_eq(extmap_copy(&m, &c), 0);
	cr_assert_eq(c.n, m.n);
	cr_assert_eq(extmap_bytes(&c), extmap_bytes(&m));
	extmap_free(&c);
	extmap_free(&m);
}
