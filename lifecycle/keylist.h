/* keylist: the object names a remote listing yields, collected into one growable array.
 * keylist_collect is a remote_list callback; keylist_free frees every name and resets the
 * list to empty (reusable). */
#ifndef EMBASSY_KEYLIST_H
#define EMBASSY_KEYLIST_H
#include <stddef.h>

struct keylist {
	char **v;
	size_t n, cap;
};

int keylist_collect(void *ctx, const char *key);
void keylist_free(struct keylist *k);

#endif
