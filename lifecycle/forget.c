/* forget: a new list generation without the forgotten snapshots, then their manifests go. */
#include "forget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "snaplist.h"

void forget_result_clear(struct forget_result *r)
{
	store_free_snapshots(r->v, r->n);
	free(r->reasons);
	memset(r, 0, sizeof(*r));
}

/* Explicit ids: every other snapshot is kept; each id must name exactly one live snapshot,
 * and never the newest. */
static int decide_ids(const struct forget_opts *o, struct forget_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		r->reasons[i] = KEEP_LAST; /* "kept" until named */
	for (size_t k = 0; k < o->nids; k++) {
		size_t hits = 0, at = 0, len = strlen(o->ids[k]);
		for (size_t i = 0; i < r->n; i++) {
			char idh[2 * ID_LEN + 1];
			hex_encode(r->v[i].id, ID_LEN, idh);
			if (len && len <= 2 * ID_LEN && !strncmp(idh, o->ids[k], len)) {
				hits++;
				at = i;
			}
		}
		if (hits != 1) {
			log_err("'%s' names %s live snapshot", o->ids[k],
				hits ? "more than one" : "no");
			return hits ? -ENOTUNIQ : -ENOENT;
		}
		if (at == r->n - 1) {
			log_err(
			    "'%s' is the newest snapshot, which the head pointer names: it cannot "
			    "be forgotten (seal a newer one first)",
			    o->ids[k]);
			return -EINVAL;
		}
		r->reasons[at] = 0;
	}
	return 0;
}

struct edit {
	const struct forget_result *r;
	size_t removed;
};

/* Applied to whatever generation is current when we publish: a seal that won meanwhile only
 * added a newer snapshot, which stays. */
static int forget_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct edit *e = ctx;
	(void)cur;
	e->removed = 0;
	for (size_t i = 0; i < e->r->n; i++) {
		if (e->r->reasons[i])
			continue;
		const struct snaplist_snap *newest = snaplist_newest(next);
		if (newest && !memcmp(newest->id, e->r->v[i].id, ID_LEN))
			return -EINVAL; /* cannot happen: the newest is always kept */
		e->removed += snaplist_remove(next, e->r->v[i].id);
	}
	return e->removed ? 0 : -ECANCELED;
}

static void delete_manifests(struct store *s, struct forget_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		char key[128], idh[2 * ID_LEN + 1];
		int ret;
		if (r->reasons[i])
			continue;
		hex_encode(r->v[i].id, ID_LEN, idh);
		snprintf(key, sizeof(key), "snapshots/%s", idh);
		ret = remote_delete(store_remote(s), key);
		if (!ret || ret == -ENOENT)
			r->deleted++;
		else /* outside the list already: prune deletes it later */
			log_warn("%s: not deleted (%s); 'embassy prune' removes it later", key,
				 strerror(-ret));
	}
}

int forget_run(struct store *s, const struct forget_opts *o, struct forget_result *r)
{
	struct snaplist cur, out = {0};
	struct edit e = {.r = r};
	int ret;

	memset(r, 0, sizeof(*r));
	if (!store_can_seal(s))
		return -EPERM;
	ret = snaplist_current(s, &cur);
	if (!ret && !cur.nsnaps)
		ret = -ENOENT;
	if (!ret)
		ret = snaplist_manifests(s, &cur, &r->v);
	if (ret)
		goto out;
	r->n = cur.nsnaps;
	r->reasons = calloc(r->n, sizeof(*r->reasons));
	if (!r->reasons) {
		ret = -ENOMEM;
		goto out;
	}
	ret =
	    o->nids ? decide_ids(o, r) : policy_apply(o->policy, r->v, r->n, r->n - 1, r->reasons);
	for (size_t i = 0; !ret && i < r->n; i++)
		r->forgotten += !r->reasons[i];
	if (ret || o->dry_run || !r->forgotten)
		goto out;
	ret = snaplist_update(s, forget_edit, &e, o->valid_for_s, &out);
	if (ret == -ECANCELED) /* all already gone: another forget did it */
		ret = 0;
	r->gen = out.gen;
	snaplist_clear(&out);
	if (!ret)
		delete_manifests(s, r);
out:
	snaplist_clear(&cur);
	return ret;
}
