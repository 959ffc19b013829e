/* store_copies: an object that opens the store (the descriptor, a key entry) when it is
 * served by several embassies (remote/multi.c).
 *
 * remote_get serves one mirror's copy. When that copy does not verify (tampered, forged,
 * damaged, another store's), the object is read from every mirror at once and each distinct
 * copy is tried in turn, in the order of the URLs; the first that verifies is used. The
 * descriptor and the key entries are written once, create-only, and never replaced, so
 * honest mirrors serve the same bytes: a mirror whose copy differs from the one that
 * verified is reported and skipped for that object. Only when no copy verifies does the
 * open fail, with the error the first copy gave. Identical copies are tried once, so a wrong
 * passphrase costs one key derivation per distinct copy, not one per mirror. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void store_copies_free(struct store_copies *cs)
{
	if (!cs)
		return;
	remote_copies_free(cs->c, cs->m);
	cs->fetched = false;
	cs->m = 0;
}

static bool same(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	return a && b && na == nb && memcmp(a, b, na) == 0;
}

int store_copies_try(struct remote *r, const char *key, struct store_copies *cs,
		     const uint8_t *tried, size_t ntried, int first_ret, store_copy_fn try_copy,
		     void *ctx, size_t *good)
{
	if (remote_mirrors(r) < 2 || remote_mirrors(r) > STORE_COPIES_MAX)
		return first_ret;
	if (!cs->fetched) {
		cs->m = remote_mirrors(r);
		remote_get_all(r, key, SMALL_OBJECT_MAX, cs->c);
		cs->fetched = true;
	}
	for (size_t i = 0; i < cs->m; i++) {
		bool seen = cs->c[i].ret || same(cs->c[i].data, cs->c[i].n, tried, ntried);
		for (size_t j = 0; j < i && !seen; j++)
			seen = !cs->c[j].ret &&
			       same(cs->c[i].data, cs->c[i].n, cs->c[j].data, cs->c[j].n);
		if (seen)
			continue;
		int ret = try_copy(ctx, cs->c[i].data, cs->c[i].n);
		if (ret == 0) {
			*good = i;
			return 0;
		}
		if (ret == -ENOMEM)
			return ret;
	}
	return first_ret;
}

void store_copies_report(struct remote *r, const char *key, const struct store_copies *cs,
			 size_t good)
{
	const struct remote_copy *g = &cs->c[good];

	for (size_t i = 0; i < cs->m; i++) {
		if (i == good || cs->c[i].ret == -ENOENT ||
		    (!cs->c[i].ret && same(cs->c[i].data, cs->c[i].n, g->data, g->n)))
			continue;
		if (!cs->c[i].ret) /* unreachable ones: reported by the remote layer */
			remote_reject_from(r, i, key); /* logs it, counts it, skips it for key */
	}
}
