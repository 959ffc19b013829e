/* store_heads: the head pointer of a store served by several embassies (remote/multi.c).
 *
 * The head is the one object that changes, so it is the one a lagging or rolled-back mirror
 * serves differently. Every mirror is asked for it, all at once (remote_get_all: a slow or
 * dead mirror costs one slice of the budget, not one per mirror in turn); each head is verified on
 * its own (the store's signing key, the store id); the newest that verifies is the store's current
 * head, and the others are reported: older (lagging, or rolled back by its host), forged, missing,
 * unreachable. The caller then checks the chosen head against what this host remembers
 * (trust.c), as for one store, so all mirrors rolled back together are still caught. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

struct seen_head {
	uint8_t *data;
	size_t n;
	uint64_t seq;
	int state; /* REMOTE_HEAD_* */
};

/* What mirror i answered (c, taken over); fill h. */
static void judge(struct remote *r, const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN],
		  const uint8_t *pk2, size_t i, struct remote_copy *c, struct seen_head *h)
{
	struct head dec;
	int ret = c->ret;

	h->data = c->data;
	h->n = c->n;
	c->data = NULL;

	if (ret == -ENOENT) {
		h->state = REMOTE_HEAD_MISSING;
	} else if (ret) {
		h->state = REMOTE_HEAD_UNREACHABLE;
		log_warn("mirror %s: head pointer unreadable (%s)", remote_mirror_name(r, i),
			 strerror(-ret));
	} else if (store_head_decode(sid, pk, h->data, h->n, &dec) &&
		   (!pk2 || store_head_decode(sid, pk2, h->data, h->n, &dec))) {
		h->state = REMOTE_HEAD_BAD;
		log_err("mirror %s: head pointer does not verify (forged or from another store): "
			"not used",
			remote_mirror_name(r, i));
	} else {
		h->state = REMOTE_HEAD_CURRENT;
		h->seq = dec.seq;
	}
}

int store_head_newest(struct remote *r, const uint8_t sid[STORE_ID_LEN],
		      const uint8_t pk[SIGN_PK_LEN], const uint8_t *pk2, uint8_t **data, size_t *n)
{
	size_t m = remote_mirrors(r), best = m;
	struct seen_head h[16] = {0};
	struct remote_copy c[16];
	int ret = -ENOENT;

	*data = NULL;
	*n = 0;
	if (m > 16)
		return -EINVAL;
	remote_get_all(r, HEAD_KEY, SMALL_OBJECT_MAX, c);
	for (size_t i = 0; i < m; i++) {
		judge(r, sid, pk, pk2, i, &c[i], &h[i]);
		if (h[i].state == REMOTE_HEAD_CURRENT && (best == m || h[i].seq > h[best].seq))
			best = i;
		if (h[i].state == REMOTE_HEAD_UNREACHABLE && ret == -ENOENT)
			ret = -EIO;
		if (h[i].state == REMOTE_HEAD_BAD)
			ret = -EBADMSG;
	}
	for (size_t i = 0; i < m; i++) {
		if (best < m && h[i].state == REMOTE_HEAD_CURRENT && h[i].seq < h[best].seq) {
			h[i].state = REMOTE_HEAD_OLDER;
			log_warn("mirror %s serves head sequence %llu, older than %llu at %s: "
				 "lagging or rolled back, not served as current (bring it up to "
				 "date with 'embassy copy')",
				 remote_mirror_name(r, i), (unsigned long long)h[i].seq,
				 (unsigned long long)h[best].seq, remote_mirror_name(r, best));
		} else if (best < m && h[i].state == REMOTE_HEAD_MISSING) {
			log_warn("mirror %s has no head pointer while %s has sequence %llu: "
				 "lagging or emptied, not served as current",
				 remote_mirror_name(r, i), remote_mirror_name(r, best),
				 (unsigned long long)h[best].seq);
		}
		remote_note_head(r, i, h[i].state, h[i].seq);
	}
	if (best < m) {
		*data = h[best].data;
		*n = h[best].n;
		h[best].data = NULL;
		ret = 0;
	}
	for (size_t i = 0; i < m; i++)
		free(h[i].data);
	return ret;
}
