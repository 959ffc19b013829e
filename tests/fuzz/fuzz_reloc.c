/* libFuzzer target for reloc_decode (prune's relocation table: host-supplied bytes, checked
 * against the signed list's hash only by readers that got that far). An accepted table is
 * sorted, unique, chain-free and in range, and survives an encode/decode round trip. */
#include <stdlib.h>
#include <string.h>

#include "reloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reloc r, again;
	uint8_t *buf = NULL;
	size_t len;
	int ret = reloc_decode(data, size, &r);
	if (ret)
		return 0;
	for (size_t i = 0; i < r.n; i++) {
		const struct reloc_entry *e = &r.v[i];
		if (e->old_off < 8 || e->new_off < 8 || e->old_off > INT64_MAX ||
		    reloc_find(&r, e->old_pack, e->old_off) != e ||
		    reloc_find(&r, e->new_pack, e->new_off))
			abort();
	}
	if (reloc_encode(&r, &buf, &len) || len != size || memcmp(buf, data, size) ||
	    reloc_decode(buf, len, &again) || again.n != r.n)
		abort();
	free(buf);
	reloc_clear(&again);
	reloc_clear(&r);
	return 0;
}
