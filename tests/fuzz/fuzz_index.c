/* libFuzzer target for index_decode (writers' dedup index records: host-supplied bytes once
 * the record opens). Every entry handed to the callback must be in range, and an accepted
 * index must survive an encode/decode round trip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"

struct acc {
	struct index_entry e[64];
	size_t n, total;
};

static int collect(void *ctx, const struct index_entry *e)
{
	struct acc *a = ctx;
	if (e->ref.len < RECORD_OVERHEAD || e->ref.plen > RECORD_MAX_PLAIN)
		abort();
	if (a->n < 64)
		a->e[a->n++] = *e;
	a->total++;
	return 0;
}

static int count(void *ctx, const struct index_entry *e)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acc a;
	char *json = NULL;
	size_t again = 0;
	int ret;

	a.n = a.total = 0;
	ret = index_decode(data, size, collect, &a);
	if (ret) {
		if (ret != -EBADMSG && ret != -ENOMEM)
			abort();
		return 0;
	}
	if (a.total > 64)
		return 0;
	if (index_encode(a.n ? a.e[0].ref.pack : (const uint8_t *)"0123456789abcdef", a.e, a.n,
			 &json))
		abort();
	if (index_decode((const uint8_t *)json, strlen(json), count, &again) || again != a.n)
		abort();
	free(json);
	return 0;
}
