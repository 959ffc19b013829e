#include "keylist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int keylist_collect(void *ctx, const char *key)
{
	struct keylist *k = ctx;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		char **v = realloc(k->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n] = strdup(key);
	return k->v[k->n++] ? 0 : -ENOMEM;
}

void keylist_free(struct keylist *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}
