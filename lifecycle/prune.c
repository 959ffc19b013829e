/* prune: the condemn / sweep protocol over the signed list (see prune.h, marker.h). */
#include "prune.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "prune_int.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void progress(struct pruner *p, const char *phase, uint64_t done, uint64_t total)
{
	if (p->o->progress)
		p->o->progress(
		    p->o->progress_ctx,
		    &(struct prune_progress){.phase = phase, .done = done, .total = total});
}

void prune_result_clear(struct prune_result *r)
{
	memset(r, 0, sizeof(*r));
}

int prune_parse_percent(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || (*end && strcmp(end, "%")) || !(v >= 0 && v <= 100))
		return -EINVAL;
	*out = v;
	return 0;
}

json_t *prune_result_json(const struct prune_result *r)
{
	return json_pack(
	    "{s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:b s:I s:I}",
	    "snapshots", (json_int_t)r->snapshots, "packs_total", (json_int_t)r->packs_total,
	    "bytes_total", (json_int_t)r->bytes_total, "packs_used", (json_int_t)r->packs_used,
	    "bytes_used", (json_int_t)r->bytes_used, "packs_deleted", (json_int_t)r->packs_deleted,
	    "bytes_deleted", (json_int_t)r->bytes_deleted, "packs_deferred",
	    (json_int_t)r->packs_deferred, "bytes_deferred", (json_int_t)r->bytes_deferred,
	    "packs_repacked", (json_int_t)r->packs_repacked, "bytes_repacked",
	    (json_int_t)r->bytes_repacked, "indexes_deleted", (json_int_t)r->indexes_deleted,
	    "manifests_deleted", (json_int_t)r->manifests_deleted, "lists_deleted",
	    (json_int_t)r->lists_deleted, "markers_deleted", (json_int_t)r->markers_deleted,
	    "writers", (json_int_t)r->writers, "generation", (json_int_t)r->gen, "dry_run",
	    (int)r->dry_run, "bytes_partly_unused", (json_int_t)r->bytes_partly_unused,
	    "generation_start", (json_int_t)r->gen_start);
}

/* ---- condemn ---- */

struct unused_ctx {
	struct pruner *p;
	struct snaplist *next;
	bool changed;
};

static int add_unused(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t size)
{
	struct unused_ctx *u = ctx;
	struct snaplist *n = u->next;
	(void)size;
	if (!inv_present(u->p, pack) || packset_has(u->p->used, pack) ||
	    snaplist_pack_find(n->condemned, n->ncondemned, pack) ||
	    snaplist_pack_find(n->swept, n->nswept, pack))
		return 0;
	u->changed = true;
	return snaplist_pack_add(&n->condemned, &n->ncondemned, pack, n->gen);
}

/* Forget garbage-state entries that no longer mean anything: swept packs that are gone, and
 * condemned packs that are gone or in use again. */
static bool tidy(struct pruner *p, struct snaplist *n)
{
	bool changed = false;
	for (size_t i = n->nswept; i-- > 0;)
		if (!inv_present(p, n->swept[i].pack)) {
			snaplist_pack_remove(&n->swept, &n->nswept, n->swept[i].pack);
			changed = true;
		}
	for (size_t i = n->ncondemned; i-- > 0;) {
		const uint8_t *pk = n->condemned[i].pack;
		if (!inv_present(p, pk) || packset_has(p->used, pk)) {
			snaplist_pack_remove(&n->condemned, &n->ncondemned, pk);
			changed = true;
		}
	}
	return changed;
}

static int condemn_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct pruner *p = ctx;
	struct unused_ctx u = {.p = p, .next = next};
	int ret = inv_walk_new(p, next); /* a seal that won meanwhile: its packs are in use */
	(void)cur;
	if (ret)
		return ret;
	u.changed = tidy(p, next);
	ret = packset_each(p->present, add_unused, &u);
	if (!ret && !u.changed)
		ret = -ECANCELED;
	return ret;
}

/* ---- sweep ---- */

static int sweep_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct pruner *p = ctx;
	int ret = inv_walk_new(p, next);
	(void)cur;
	free(p->sweep);
	p->sweep = NULL;
	p->nsweep = 0;
	for (size_t i = next->ncondemned; !ret && i-- > 0;) {
		struct snaplist_pack c = next->condemned[i];
		if (c.gen > p->mingen || packset_has(p->used, c.pack) || !inv_present(p, c.pack))
			continue;
		snaplist_pack_remove(&next->condemned, &next->ncondemned, c.pack);
		ret = snaplist_pack_add(&next->swept, &next->nswept, c.pack, next->gen);
		if (!ret)
			ret = snaplist_pack_add(&p->sweep, &p->nsweep, c.pack, next->gen);
	}
	if (!ret && !p->nsweep)
		ret = -ECANCELED;
	return ret;
}

/* The lowest generation any other writer's live marker names. */
static int read_markers(struct pruner *p, struct marker_info **mv, size_t *mn)
{
	int64_t now = now_ns();
	int ret = marker_list(p->s, mv, mn);
	p->mingen = UINT64_MAX;
	for (size_t i = 0; !ret && i < *mn; i++) {
		const struct marker_info *m = &(*mv)[i];
		if (!marker_live(m, now))
			continue;
		p->r->writers++;
		if (m->gen < p->mingen)
			p->mingen = m->gen;
		log_info("%s: a %s on %s (pid %ld) is at work since generation %llu", m->key,
			 m->kind, m->host, m->pid, (unsigned long long)m->gen);
	}
	return ret;
}

static int update(struct pruner *p, snaplist_edit_fn edit)
{
	struct snaplist out = {0};
	int ret = snaplist_update(p->s, edit, p, p->o->valid_for_s, &out);
	if (!ret)
		p->r->gen = out.gen;
	snaplist_clear(&out);
	return ret == -ECANCELED ? 0 : ret;
}

static int delete_swept(struct pruner *p, const struct snaplist_pack *v, size_t n)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < n; i++) {
		progress(p, "delete", i, n);
		if (inv_present(p, v[i].pack) && !packset_has(p->used, v[i].pack))
			ret = inv_delete_pack(p, v[i].pack);
	}
	return ret;
}

/* ---- cleanup when no writer is at work ---- */

struct stray_ctx {
	struct pruner *p;
	const struct snaplist *l;
	int64_t cutoff;
};

static int delete_stray_manifest(void *ctx, const char *key)
{
	struct stray_ctx *c = ctx;
	const char *name = key + strlen("snapshots/");
	struct snapshot sn;
	uint8_t id[ID_LEN];
	int ret;

	if (strlen(name) != 2 * ID_LEN || hex_decode(name, id, ID_LEN) || snaplist_find(c->l, id))
		return 0;
	ret = store_read_snapshot(c->p->s, id, &sn);
	if (ret) /* a forgery or damage stays for verify to report */
		return ret == -EBADMSG || ret == -ENOENT ? 0 : ret;
	if (sn.time_ns < c->cutoff) {
		ret = remote_delete(store_remote(c->p->s), key);
		if (!ret)
			c->p->r->manifests_deleted++;
		ret = ret == -ENOENT ? 0 : ret;
	}
	snapshot_clear(&sn);
	return ret;
}

/* A relocation table the current list does not name: replaced by a newer one, or written
 * by a prune killed before it published it. */
static int delete_stale_reloc(void *ctx, const char *key)
{
	struct stray_ctx *c = ctx;
	char cur[80];
	int ret;
	if (c->l->has_reloc) {
		reloc_key(c->l->reloc, cur);
		if (!strcmp(cur, key))
			return 0;
	}
	ret = remote_delete(store_remote(c->p->s), key);
	return ret == -ENOENT ? 0 : ret;
}

static int delete_old_lists(void *ctx, const char *key)
{
	struct pruner *p = ctx;
	const char *name = key + strlen(SNAPLIST_PREFIX);
	char *end;
	unsigned long long g = strtoull(name, &end, 16);
	int ret;
	if (strlen(name) != 16 || *end || g >= p->gen_at_start)
		return 0;
	ret = remote_delete(store_remote(p->s), key);
	if (!ret)
		p->r->lists_deleted++;
	return ret == -ENOENT ? 0 : ret;
}

static int cleanup(struct pruner *p, const struct marker_info *mv, size_t mn)
{
	struct snaplist cur;
	int64_t grace = p->o->grace_s ? p->o->grace_s : PRUNE_DEFAULT_GRACE_S;
	int ret = inv_delete_orphan_indexes(p);

	if (!ret)
		ret = snaplist_current(p->s, &cur);
	if (ret)
		return ret;
	struct stray_ctx sc = {.p = p, .l = &cur, .cutoff = now_ns() - grace * 1000000000};
	ret = remote_list(store_remote(p->s), "snapshots/", delete_stray_manifest, &sc);
	if (ret >= 0)
		ret = remote_list(store_remote(p->s), RELOC_PREFIX, delete_stale_reloc, &sc);
	snaplist_clear(&cur);
	for (size_t i = 0; ret >= 0 && i < mn; i++) /* expired or unreadable: its writer is gone */
		if (!marker_live(&mv[i], now_ns()) && !remote_delete(store_remote(p->s), mv[i].key))
			p->r->markers_deleted++;
	return ret < 0 ? ret : 0;
}

/* ---- the run ---- */

static int count_use(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t size)
{
	struct pruner *p = ctx;
	p->r->packs_total++;
	p->r->bytes_total += size;
	if (packset_has(p->used, pack)) {
		uint64_t used = packset_get(p->used, pack);
		p->r->packs_used++;
		p->r->bytes_used += used;
		p->r->bytes_partly_unused += size > used + 8 ? size - used - 8 : 0; /* 8: magic */
	}
	return 0;
}

/* A dry run: what a prune would delete now, given the writers at work. */
static void dry_count(struct pruner *p, const struct snaplist *cur)
{
	struct snaplist n;
	if (snaplist_copy(&n, cur))
		return;
	n.gen = cur->gen + 1;
	struct unused_ctx u = {.p = p, .next = &n};
	tidy(p, &n);
	packset_each(p->present, add_unused, &u);
	for (size_t i = 0; i < n.ncondemned; i++) {
		uint64_t size = packset_get(p->present, n.condemned[i].pack);
		if (n.condemned[i].gen <= p->mingen) {
			p->r->packs_deleted++;
			p->r->bytes_deleted += size;
		} else {
			p->r->packs_deferred++;
			p->r->bytes_deferred += size;
		}
	}
	snaplist_clear(&n);
}

static int setup(struct pruner *p, struct store *s, const struct prune_opts *o,
		 struct prune_result *r)
{
	memset(r, 0, sizeof(*r));
	r->dry_run = o->dry_run;
	*p = (struct pruner){.s = s, .o = o, .r = r};
	p->used = packset_new();
	p->present = packset_new();
	p->gone = packset_new();
	if (!p->used || !p->present || !p->gone)
		return -ENOMEM;
	if (dedup_new(&p->snaps_seen) || dedup_new(&p->trees_seen) || dedup_new(&p->recs_seen))
		return -ENOMEM;
	return store_can_seal(s) ? 0 : -EPERM;
}

static void teardown(struct pruner *p)
{
	packset_free(p->used);
	packset_free(p->present);
	packset_free(p->gone);
	dedup_free(p->snaps_seen);
	dedup_free(p->trees_seen);
	dedup_free(p->recs_seen);
	free(p->indexes);
	free(p->sweep);
	free(p->live);
	reloc_clear(&p->base);
}

/* After a repack: what is in use and present, from scratch, under the new table (the
 * copied-from packs are now unused; the new packs are present and used). */
static int reinventory(struct pruner *p)
{
	struct snaplist cur;
	dedup_free(p->snaps_seen);
	dedup_free(p->trees_seen);
	dedup_free(p->recs_seen);
	p->snaps_seen = p->trees_seen = p->recs_seen = NULL;
	packset_free(p->used);
	packset_free(p->present);
	p->used = packset_new();
	p->present = packset_new();
	free(p->indexes);
	p->indexes = NULL;
	p->nindexes = 0;
	p->nlive = 0;
	if (!p->used || !p->present || dedup_new(&p->snaps_seen) || dedup_new(&p->trees_seen) ||
	    dedup_new(&p->recs_seen))
		return -ENOMEM;
	uint64_t walked = p->r->snapshots; /* the report counts each snapshot once */
	int ret = snaplist_current(p->s, &cur);
	if (!ret)
		ret = inv_walk_new(p, &cur);
	p->r->snapshots = walked;
	snaplist_clear(&cur);
	return ret ? ret : inv_load(p);
}

/* Condemn, then sweep what no live writer may want, then delete it. */
static int collect_garbage(struct pruner *p, struct marker_info **mv, size_t *mn)
{
	int ret = update(p, condemn_edit);
	if (!ret)
		ret = read_markers(p, mv, mn);
	if (!ret)
		ret = update(p, sweep_edit);
	if (!ret)
		ret = delete_swept(p, p->sweep, p->nsweep);
	if (!ret) {
		struct snaplist cur;
		ret = snaplist_current(p->s, &cur); /* what stays condemned, for the report */
		for (size_t i = 0; !ret && i < cur.ncondemned; i++) {
			p->r->packs_deferred++;
			p->r->bytes_deferred += packset_get(p->present, cur.condemned[i].pack);
		}
		snaplist_clear(&cur);
	}
	return ret;
}

int prune_run(struct store *s, const struct prune_opts *o, struct prune_result *r)
{
	struct pruner p;
	struct snaplist cur = {0};
	struct marker_info *mv = NULL;
	size_t mn = 0;
	bool moved = false;
	int ret = setup(&p, s, o, r);

	if (!ret)
		ret = snaplist_current(s, &cur);
	if (!ret && !cur.nsnaps)
		ret = -ENOENT; /* a head must name a snapshot: seal one first */
	if (!ret)
		ret = repack_load_base(&p, &cur); /* the walk follows records moved before */
	p.gen_at_start = r->gen_start = cur.gen;
	progress(&p, "walk", 0, cur.nsnaps);
	if (!ret)
		ret = inv_walk_new(&p, &cur);
	progress(&p, "inventory", 0, 0);
	if (!ret)
		ret = inv_load(&p);
	if (!ret)
		packset_each(p.present, count_use, &p);
	if (!ret && o->dry_run) {
		ret = read_markers(&p, &mv, &mn);
		if (!ret)
			dry_count(&p, &cur);
		if (!ret)
			ret = repack_run(&p, &cur, &moved); /* counts only */
		goto out;
	}
	/* an earlier prune killed after its sweep was published: finish its deletions */
	if (!ret)
		ret = delete_swept(&p, cur.swept, cur.nswept);
	progress(&p, "repack", 0, 0);
	if (!ret)
		ret = repack_run(&p, &cur, &moved);
	if (!ret && moved)
		ret = reinventory(&p);
	if (!ret)
		ret = collect_garbage(&p, &mv, &mn);
	if (!ret && !p.r->writers)
		ret = cleanup(&p, mv, mn);
	else if (!ret)
		log_warn("%llu writer(s) at work: packs they may use stay condemned, and index "
			 "objects and manifests of unfinished seals stay; prune again later",
			 (unsigned long long)p.r->writers);
	if (!ret) /* generations before this prune are never needed again */
		ret = remote_list(store_remote(s), SNAPLIST_PREFIX, delete_old_lists, &p);
	ret = ret < 0 ? ret : 0;
out:
	snaplist_clear(&cur);
	free(mv);
	teardown(&p);
	return ret;
}
