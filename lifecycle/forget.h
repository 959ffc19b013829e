/* forget: remove snapshots from the signed snapshot list — by a retention policy (policy.h)
 * or by id — and then delete their manifests. Sealer only: forgetting is a signed act (a new
 * list generation without them), so a host cannot forget, or hide, a snapshot unseen. The
 * manifests are deleted only after the new generation is published; a forget killed in
 * between leaves manifests outside the list, which readers do not list and prune deletes.
 * Data is freed by prune (prune.h), not here. */
#ifndef EMBASSY_FORGET_H
#define EMBASSY_FORGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "store.h"

struct forget_opts {
	const struct policy *policy; /* or ids: */
	const char *const *ids;	     /* snapshot ids or unique prefixes */
	size_t nids;
	bool dry_run;
	int64_t valid_for_s; /* expiry of the re-signed head; 0: 7 days */
};

struct forget_result {
	struct snapshot *v; /* the live snapshots considered, oldest first */
	size_t n;
	unsigned *reasons; /* per v[i]: why kept (policy.h), 0 = forgotten */
	size_t forgotten;  /* snapshots removed from the list */
	size_t deleted;	   /* their manifests deleted */
	uint64_t gen;	   /* the published generation (0 for a dry run or no change) */
};

/* -EPERM without the sealer key; -ENOENT for an id that names no live snapshot (nothing
 * changed); -EINVAL when an id names the newest snapshot (the head must name one);
 * -EBADMSG when a listed manifest is missing or bad (run verify: a policy cannot be applied
 * to snapshots it cannot see). */
int forget_run(struct store *s, const struct forget_opts *o, struct forget_result *r);
void forget_result_clear(struct forget_result *r);

#endif
