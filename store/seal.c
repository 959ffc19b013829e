/* seal: setting a seal up, running the walk (seal_walk.c), publishing the snapshot. */
#include "seal.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gcwriter.h"
#include "log.h"
#include "memtune.h"
#include "par.h"
#include "seal_int.h"
#include "snaplist.h"
#include "store_int.h"
#include "store_write.h"

#define DEFAULT_VALID_FOR (7 * 24 * 3600)

void seal_report(struct sealer *sl, bool force)
{
	struct timespec now;
	if (!sl->o->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (now.tv_sec - sl->last_progress.tv_sec) * 1000 +
		     (now.tv_nsec - sl->last_progress.tv_nsec) / 1000000;
	if (!force && ms < 200)
		return;
	sl->last_progress = now;
	sl->o->progress(sl->o->progress_ctx, &sl->prog);
}

/* Publishing: the manifest, then one new generation of the signed snapshot list naming it,
 * then the head (snaplist_update). seq is one above the newest listed snapshot and parent is
 * that snapshot; when another writer publishes first, the edit runs again on its list and the
 * manifest is rewritten with the next seq (the one written before stays unlisted: prune
 * removes it). */
struct publication {
	struct sealer *sl;
	struct snapshot sn;
	bool written;
};

static int publish_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct publication *p = ctx;
	const struct snaplist_snap *newest = snaplist_newest(cur);
	uint64_t seq = (newest ? newest->seq : 0) + 1;
	struct timespec now;
	int ret;

	if (!p->written || p->sn.seq != seq || p->sn.has_parent != (newest != NULL) ||
	    (newest && memcmp(p->sn.parent, newest->id, ID_LEN))) {
		clock_gettime(CLOCK_REALTIME, &now);
		p->sn.time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		p->sn.seq = seq;
		p->sn.has_parent = newest != NULL;
		if (newest)
			memcpy(p->sn.parent, newest->id, ID_LEN);
		ret = store_write_snapshot(p->sl->s, &p->sn);
		if (ret)
			return ret;
		p->written = true;
	}
	ret = gcw_claim(p->sl->gc, next); /* packs prune condemned meanwhile: ours again */
	return ret ? ret : snaplist_add(next, p->sn.id, p->sn.seq);
}

static void seal_host(const struct seal_opts *o, char host[256])
{
	memset(host, 0, 256);
	if (o->host)
		snprintf(host, 256, "%s", o->host);
	else if (gethostname(host, 255))
		snprintf(host, 256, "unknown");
}

/* What this seal reads, as a keyed hash (the manifest carries no path): the host, then each
 * path's real path, device and inode. Another directory, or the same path now on another
 * file system or a new directory there, is another source: its files are all read, however
 * alike their size and mtime (a file of the same name, size and mtime in another tree was
 * taken for the parent's before). No source (a path that cannot be resolved): no reuse. */
static void seal_source(struct sealer *sl)
{
	crypto_generichash_state h;
	char host[256], real[PATH_MAX];
	struct stat st;

	seal_host(sl->o, host);
	crypto_generichash_init(&h, keys_get(store_keys(sl->s), KEY_CHUNKER), KEY_LEN,
				SNAP_SOURCE_LEN);
	crypto_generichash_update(&h, (const uint8_t *)"embassy seal source 1", 22);
	crypto_generichash_update(&h, (const uint8_t *)host, strlen(host) + 1);
	for (size_t i = 0; i < sl->o->npaths; i++) {
		uint64_t id[2];
		if (!realpath(sl->o->paths[i], real) || stat(real, &st))
			return;
		id[0] = (uint64_t)st.st_dev;
		id[1] = (uint64_t)st.st_ino;
		crypto_generichash_update(&h, (const uint8_t *)real, strlen(real) + 1);
		crypto_generichash_update(&h, (const uint8_t *)id, sizeof(id));
	}
	crypto_generichash_final(&h, sl->source, SNAP_SOURCE_LEN);
	sl->has_source = true;
}

static int publish(struct sealer *sl, const struct rec_ref *root, struct seal_result *res)
{
	struct publication p = {.sl = sl};
	struct snapshot *sn = &p.sn;
	int ret;

	seal_host(sl->o, sn->host);
	sn->has_source = sl->has_source;
	memcpy(sn->source, sl->source, SNAP_SOURCE_LEN);
	sn->started_ns = sl->started_ns;
	sn->tags = (char **)sl->o->tags;
	sn->ntags = sl->o->ntags;
	sn->root = *root;
	sn->has_root_meta = sl->has_root_meta;
	sn->root_meta = sl->root_meta; /* borrowed: sn is not cleared */
	sn->files = res->files;
	sn->dirs = res->dirs;
	sn->bytes = res->bytes;
	sn->has_xattr_count = true;
	sn->xattr_entries = res->xattr_entries + (sl->has_root_meta && sl->root_meta.nxattrs);
	ret = gcw_check_present(sl->gc); /* a prune may have deleted what we deduplicated */
	if (!ret)
		ret = snaplist_update(sl->s, publish_edit, &p,
				      sl->o->valid_for_s ? sl->o->valid_for_s : DEFAULT_VALID_FOR,
				      NULL);
	if (ret)
		return ret;
	memcpy(res->snapshot, sn->id, ID_LEN);
	res->seq = sn->seq;
	return 0;
}

/* The snapshot the head names: files unchanged since are not read again. A rollback or an
 * unreadable head is reported later by publish(); here it only means no comparison. */
static int load_parent(struct sealer *sl, bool compare)
{
	const struct keys *k = store_keys(sl->s);
	struct head h;
	int ret;

	if (store_read_head(sl->s, &h))
		return 0;
	ret = store_read_snapshot(sl->s, h.snapshot, &sl->parent);
	if (ret == -EKEYREVOKED) {
		/* sealing on under an older epoch would give future data to removed key holders */
		log_err("the store's newest snapshot is sealed under a key epoch this sealer key "
			"file does not hold (it holds epochs 0 to %u): use the sealer key file "
			"'embassy key rotate' updated",
			keys_epoch(k));
		return ret;
	}
	if (ret)
		return 0;
	/* a parent of another key epoch is not compared with: under a new epoch every record is
	 * written anew (FORMAT.md 2.4), none is taken over from the older epoch's trees */
	if (compare && sl->parent.epoch == keys_epoch(k)) {
		sl->has_parent = true;
		sl->same_source = sl->has_source && sl->parent.has_source &&
				  !memcmp(sl->parent.source, sl->source, SNAP_SOURCE_LEN);
	} else
		snapshot_clear(&sl->parent);
	return 0;
}

static int sealer_setup(struct sealer *sl, struct store *s, const struct seal_opts *o,
			struct seal_result *res)
{
	uint32_t mn, avg, mx;
	struct timespec t0;
	int ret;
	memset(res, 0, sizeof(*res));
	memtune_bulk();
	sl->s = s;
	sl->o = o;
	sl->res = res;
	clock_gettime(CLOCK_REALTIME, &t0);
	sl->started_ns = (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec;
	seal_source(sl);
	sl->zlevel = o->zlevel ? o->zlevel : SEAL_ZLEVEL_DEFAULT;
	sl->threads = o->threads ? o->threads : par_ncpu();
	store_chunker_params(s, &mn, &avg, &mx);
	ret = chunker_init(&sl->ck, mn, avg, mx, keys_get(store_keys(s), KEY_CHUNKER));
	if (ret)
		return ret;
	ret = sbatch_init(sl);
	if (!ret)
		ret = dedup_new(&sl->dedup);
	/* a dry run writes no marker: it never blocks a prune, nor waits for one */
	if (!ret)
		ret = o->dry_run ? gcw_peek(s, &sl->gc) : gcw_begin(s, "seal", &sl->gc);
	if (!ret)
		ret = dedup_load_filtered(sl->dedup, s, gcw_skip, sl->gc);
	if (!ret)
		ret = load_parent(sl, !o->reread);
	sl->dry_data.target = PACK_TARGET_DATA;
	sl->dry_trees.target = PACK_TARGET_TREE;
	if (!ret && !o->dry_run)
		ret = packer_new(s, sl->dedup, PACK_TARGET_DATA, &sl->data);
	if (!ret && !o->dry_run)
		ret = packer_new(s, sl->dedup, PACK_TARGET_TREE, &sl->trees);
	return ret;
}

static void sealer_free(struct sealer *sl)
{
	if (sl->has_parent)
		snapshot_clear(&sl->parent);
	sbatch_free(sl);
	seal_trees_free(sl); /* after: the batch thread may write into their entries */
	packer_free(sl->data);
	packer_free(sl->trees);
	dedup_free(sl->dedup);
	gcw_end(sl->gc);
	tree_entry_clear(&sl->root_meta);
	for (size_t i = 0; i < sl->nlinks; i++)
		free(sl->links[i].chunks);
	free(sl->links);
}

int seal_run(struct store *s, const struct seal_opts *o, struct seal_result *res)
{
	struct sealer sl = {0};
	struct rec_ref root;
	struct packer_stats ps;
	uint64_t count;
	int ret;

	if (!o->dry_run && !store_can_seal(s))
		return -EPERM;
	if (!o->npaths)
		return -EINVAL;
	ret = sealer_setup(&sl, s, o, res);
	if (!ret)
		ret = seal_root(&sl, &root, &count);
	if (!ret && o->dry_run) {
		seal_report(&sl, true);
		goto out;
	}
	/* every record the snapshot names must be stored before the snapshot itself */
	if (!ret)
		ret = packer_flush(sl.data);
	if (!ret)
		ret = packer_flush(sl.trees);
	if (!ret) {
		packer_get_stats(sl.data, &ps);
		res->packs_new = ps.packs;
		packer_get_stats(sl.trees, &ps);
		res->packs_new += ps.packs;
		seal_report(&sl, true);
		ret = publish(&sl, &root, res);
	}
out:
	sealer_free(&sl);
	if (ret)
		return ret;
	return res->warnings ? 3 : 0;
}
