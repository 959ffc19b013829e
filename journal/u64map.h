/* u64map: a small open-addressing map from non-zero 64-bit keys to pointers, with deletion by
 * backward shifting (no tombstones). Not thread-safe. */
#ifndef EMBASSY_U64MAP_H
#define EMBASSY_U64MAP_H
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys; /* 0: empty */
	void **vals;
	size_t cap, n; /* cap: a power of two */
};

void *u64map_get(const struct u64map *m, uint64_t k);
/* Insert or overwrite; -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t k, void *v);
void u64map_del(struct u64map *m, uint64_t k);
void u64map_free(struct u64map *m);

#endif
