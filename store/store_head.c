/* store_head: moving the head with a compare-and-swap, so that two writers racing for the same
 * next head (a seal from home, commits from recovery hosts, forget and prune) can never both
 * win.
 *
 * heads/latest is replaced in place and so cannot arbitrate. The signed snapshot list does
 * (lifecycle/snaplist.h): every change is a new generation lists/<gen>, written create-only
 * (link(2), WebDAV MOVE with Overwrite: F, S3 If-None-Match: *); whoever creates it first has
 * made the change, the other sees -EEXIST and builds on the winner's list. heads/latest is a
 * signed cache of the newest generation: a writer that died between its list and
 * heads/latest leaves it one step behind, and the next writer finds the true head by
 * following the generations beyond it (snaplist_current). docs/FORMAT.md 10.5 and 11.1. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "snaplist.h"
#include "store_int.h"

struct cas {
	const uint8_t *parent; /* the head the writer built on (NULL: none) */
	const struct head *h;
	bool has_merged; /* h's snapshot merges this one (a commit's own): listed too */
	uint8_t merged[ID_LEN];
	uint64_t merged_seq;
	bool moved; /* out: the newest listed snapshot is not parent */
	int (*claim)(void *ctx, struct snaplist *next); /* the writer's gcw_claim, or NULL */
	void *claim_ctx;
};

static int cas_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct cas *c = ctx;
	const struct snaplist_snap *e = snaplist_newest(cur);

	if (c->parent ? !e || memcmp(e->id, c->parent, ID_LEN) : e != NULL) {
		c->moved = true;
		return -ECANCELED;
	}
	if (e && c->h->seq <= e->seq)
		return -EINVAL; /* the head must name the newest entry */
	if (c->claim) { /* prune's sets: what it condemned is ours again; what it swept is gone */
		int ret = c->claim(c->claim_ctx, next);
		if (ret)
			return ret;
	}
	if (c->has_merged && c->merged_seq < c->h->seq && !snaplist_find(cur, c->merged)) {
		int ret = snaplist_add(next, c->merged, c->merged_seq);
		if (ret)
			return ret;
	}
	return snaplist_add(next, c->h->snapshot, c->h->seq);
}

/* A merge snapshot names the writer's own snapshot it merged: that one stays a listed
 * snapshot too (it is what the writer had), published in the same generation. */
static int find_merged(struct store *s, const struct head *h, struct cas *c)
{
	struct snapshot sn, ours;
	int ret = store_read_snapshot(s, h->snapshot, &sn);

	if (ret || !sn.has_merged) {
		snapshot_clear(&sn);
		return ret;
	}
	ret = store_read_snapshot(s, sn.merged, &ours);
	if (!ret) {
		c->has_merged = true;
		memcpy(c->merged, ours.id, ID_LEN);
		c->merged_seq = ours.seq;
		snapshot_clear(&ours);
	}
	snapshot_clear(&sn);
	return ret;
}

int store_publish_head(struct store *s, const uint8_t *parent, const struct head *h)
{
	return store_publish_head_claim(s, parent, h, NULL, NULL);
}

int store_publish_head_claim(struct store *s, const uint8_t *parent, const struct head *h,
			     int (*claim)(void *ctx, struct snaplist *next), void *ctx)
{
	struct cas c = {.parent = parent, .h = h, .claim = claim, .claim_ctx = ctx};
	int64_t valid_for_s = (h->expires_ns - h->time_ns) / 1000000000LL;
	int ret;

	if (!store_can_seal(s))
		return -EPERM;
	ret = find_merged(s, h, &c);
	if (!ret)
		ret = snaplist_update(s, cas_edit, &c, valid_for_s > 0 ? valid_for_s : 0, NULL);
	if (c.moved) {
		log_info("another writer moved the head first");
		return -EEXIST;
	}
	return ret;
}

int store_head_walk(struct store *s, struct head *out)
{
	struct snaplist l;
	const struct snaplist_snap *e;
	int ret = store_read_head(s, out); /* the rollback and freeze checks */

	if (ret && ret != -ENOENT)
		return ret;
	/* generations beyond heads/latest (a writer that did not get to update it) count */
	ret = snaplist_current(s, &l);
	if (ret)
		return ret;
	e = snaplist_newest(&l);
	if (!e)
		ret = -ENOENT;
	else if (memcmp(out->snapshot, e->id, ID_LEN) || out->seq != e->seq) {
		log_info("heads/latest was behind the snapshot list (generation %llu)",
			 (unsigned long long)l.gen);
		ret = store_read_head(s, out); /* snaplist_current moved it on */
		if (!ret && (memcmp(out->snapshot, e->id, ID_LEN) || out->seq != e->seq)) {
			out->seq = e->seq; /* a writer is moving it right now: the list rules */
			memcpy(out->snapshot, e->id, ID_LEN);
		}
	}
	snaplist_clear(&l);
	return ret;
}
