/* verify: walk every snapshot's trees, check that every record they name exists (its pack is
 * present and long enough) and, with read_data, that it opens and matches its id. */
#include "verify.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbuf.h"
#include "dedup.h"
#include "hex.h"
#include "log.h"
#include "packset.h"
#include "snaplist.h"
#include "store_int.h"

#define VBATCH_BYTES (64u << 20)

/* One use of a data record by a file path. */
struct use {
	struct rec_ref ref;
	size_t path; /* index into paths */
	bool bad;    /* its stored copy is missing, short or fails to open */
};

/* A directory record met again at another place in the store: the same id (so the same
 * content, already walked), but a stored copy of its own that must be read too. */
struct tree_copy {
	struct rec_ref ref;
	char *path;
};

struct verifier {
	struct store *s;
	const struct verify_opts *o;
	struct verify_result *res;
	struct dedup *trees_seen; /* record id → the first place it was read from */
	struct snaplist *live;	  /* the signed list, or NULL (sealed before lists) */
	struct use *uses;
	size_t nuses, capuses;
	struct tree_copy *copies;
	size_t ncopies, capcopies;
	char **paths;
	size_t npaths, cappaths;
	struct verify_progress prog;
	struct packset *chosen; /* --read-data-subset P% or SIZE: the packs drawn */
};

__attribute__((format(printf, 2, 3))) static void report(struct verifier *v, const char *fmt, ...)
{
	char line[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->res->problems++;
	if (v->o->report)
		v->o->report(v->o->report_ctx, line);
	else
		log_err("%s", line);
}

static int add_path(struct verifier *v, char *p)
{
	if (v->npaths == v->cappaths) {
		size_t cap = v->cappaths ? 2 * v->cappaths : 256;
		char **n = realloc(v->paths, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->paths = n;
		v->cappaths = cap;
	}
	v->paths[v->npaths++] = p;
	return 0;
}

static int add_use(struct verifier *v, const struct rec_ref *ref)
{
	if (v->nuses == v->capuses) {
		size_t cap = v->capuses ? 2 * v->capuses : 1024;
		struct use *n = realloc(v->uses, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->uses = n;
		v->capuses = cap;
	}
	v->uses[v->nuses++] = (struct use){.ref = *ref, .path = v->npaths - 1};
	return 0;
}

static char *join(const char *a, const char *b)
{
	char *p;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

static bool same_place(const struct rec_ref *a, const struct rec_ref *b)
{
	return !memcmp(a->pack, b->pack, PACK_ID_LEN) && a->off == b->off && a->len == b->len &&
	       a->plen == b->plen && !memcmp(a->id, b->id, ID_LEN);
}

/* Another directory names a tree already walked: its content is the same (same id), but if
 * it lives elsewhere in the store that copy is read too (check_copies). */
static int add_copy(struct verifier *v, const struct rec_ref *ref, const char *path)
{
	for (size_t i = 0; i < v->ncopies; i++)
		if (same_place(&v->copies[i].ref, ref))
			return 0;
	if (v->ncopies == v->capcopies) {
		size_t cap = v->capcopies ? 2 * v->capcopies : 16;
		struct tree_copy *n = realloc(v->copies, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->copies = n;
		v->capcopies = cap;
	}
	v->copies[v->ncopies].path = strdup(path);
	if (!v->copies[v->ncopies].path)
		return -ENOMEM;
	v->copies[v->ncopies++].ref = *ref;
	return 0;
}

static int walk(struct verifier *v, const struct rec_ref *ref, const char *path, unsigned depth)
{
	struct tree *t = NULL;
	struct rec_ref first;
	int ret = 0;
	if (dedup_find(v->trees_seen, ref->id, &first)) /* shared: already walked */
		return same_place(&first, ref) ? 0 : add_copy(v, ref, path);
	if ((ret = dedup_add(v->trees_seen, ref)))
		return ret;
	if (depth > TREE_MAX_DEPTH) {
		report(v, "directories nested deeper than %d: %.200s…", TREE_MAX_DEPTH, path);
		return 0;
	}
	v->res->trees++;
	if (store_load_tree(v->s, ref, &t)) {
		report(v, "%s/: directory record missing, tampered or malformed", path);
		return 0;
	}
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		char *sub = join(path, e->name);
		if (!sub) {
			ret = -ENOMEM;
			break;
		}
		if (e->type == ENT_DIR) {
			ret = walk(v, &e->subtree, sub, depth + 1);
			free(sub);
			continue;
		}
		if (e->type != ENT_FILE || !e->nchunks) {
			free(sub);
			continue;
		}
		ret = add_path(v, sub);
		for (size_t c = 0; !ret && c < e->nchunks; c++)
			ret = add_use(v, &e->chunks[c].rec);
		if (ret && v->paths[v->npaths - 1] != sub)
			free(sub);
	}
	tree_free(t);
	return ret;
}

/* By place in the store: uses of one stored record end up next to each other. */
static int use_cmp(const void *a, const void *b)
{
	const struct rec_ref *x = &((const struct use *)a)->ref, *y = &((const struct use *)b)->ref;
	int c = memcmp(x->pack, y->pack, PACK_ID_LEN);
	if (c)
		return c;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->id, y->id, ID_LEN);
}

/* Every pack named must exist and hold the byte ranges named. */
static int check_packs(struct verifier *v)
{
	uint64_t size = 0;
	int st = 0;
	if (v->nuses) /* qsort(NULL, 0) is undefined */
		qsort(v->uses, v->nuses, sizeof(*v->uses), use_cmp);
	for (size_t i = 0; i < v->nuses; i++) {
		struct use *u = &v->uses[i];
		if (!i || memcmp(u->ref.pack, v->uses[i - 1].ref.pack, PACK_ID_LEN)) {
			char key[64];
			store_pack_key(u->ref.pack, key);
			st = remote_stat(store_remote(v->s), key, &size);
			v->res->packs++;
			if (st && st != -ENOENT)
				return st;
			if (st)
				report(v, "%s: pack object missing", key);
		}
		if (st || u->ref.off + u->ref.len > size) {
			if (!st) {
				char key[64];
				store_pack_key(u->ref.pack, key);
				report(v, "%s: shorter than the records it should hold", key);
			}
			u->bad = true;
		}
	}
	return 0;
}

/* Open every stored record — every place, not every id: a record stored twice (two packs,
 * or twice in one) is read twice, or the host could corrupt the copy nobody reads. Batches
 * of neighbours coalesced, read around the caches, opened on all cores. */
static int check_batch(struct verifier *v, const size_t *group, size_t n, struct rec_ref *refs,
		       int *res)
{
	int ret;
	for (size_t k = 0; k < n; k++)
		refs[k] = v->uses[group[k]].ref;
	ret = store_check_many(v->s, REC_DATA, refs, n, res);
	for (size_t k = 0; !ret && k < n; k++) {
		/* every use of this place shares the outcome (uses are sorted by place) */
		for (size_t i = group[k]; res[k] && i < v->nuses; i++) {
			if (!same_place(&v->uses[i].ref, &refs[k]))
				break;
			v->uses[i].bad = true;
		}
	}
	v->prog.records_done += n;
	if (v->o->progress)
		v->o->progress(v->o->progress_ctx, &v->prog);
	return ret;
}

static bool in_subset(const struct verifier *v, const struct rec_ref *ref)
{
	uint32_t x = (uint32_t)ref->pack[0] << 24 | (uint32_t)ref->pack[1] << 16 |
		     (uint32_t)ref->pack[2] << 8 | ref->pack[3];
	if (v->chosen)
		return packset_has(v->chosen, ref->pack);
	return !v->o->subset_m || x % v->o->subset_m == v->o->subset_n - 1;
}

struct pack_bytes {
	uint8_t pack[PACK_ID_LEN];
	uint64_t bytes;
};

struct pack_vec {
	struct pack_bytes *v;
	size_t n;
};

static int collect_pack(void *ctx, const uint8_t pack[PACK_ID_LEN], uint64_t bytes)
{
	struct pack_vec *pv = ctx;
	memcpy(pv->v[pv->n].pack, pack, PACK_ID_LEN);
	pv->v[pv->n++].bytes = bytes;
	return 0;
}

/* P% or SIZE: shuffle the packs in use (bytes of their records in use), keep a prefix. */
static int choose_packs(struct verifier *v)
{
	struct packset *all = packset_new();
	struct pack_vec pv = {0};
	uint64_t bytes = 0;
	size_t want;
	int ret = all && (v->chosen = packset_new()) ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < v->nuses; i++)
		if (!i || !same_place(&v->uses[i - 1].ref, &v->uses[i].ref))
			ret = packset_add(all, v->uses[i].ref.pack, v->uses[i].ref.len);
	if (!ret && !(pv.v = calloc(packset_count(all) + 1, sizeof(*pv.v))))
		ret = -ENOMEM;
	if (!ret)
		packset_each(all, collect_pack, &pv);
	for (size_t i = pv.n; !ret && i > 1; i--) { /* Fisher-Yates, libsodium's randomness */
		size_t j = randombytes_uniform((uint32_t)i);
		struct pack_bytes t = pv.v[i - 1];
		pv.v[i - 1] = pv.v[j];
		pv.v[j] = t;
	}
	want = (size_t)((double)pv.n * v->o->subset_percent / 100.0 + 0.999999);
	for (size_t i = 0; !ret && i < pv.n; i++) {
		if (v->o->subset_bytes ? bytes >= v->o->subset_bytes : i >= want)
			break;
		bytes += pv.v[i].bytes;
		ret = packset_add(v->chosen, pv.v[i].pack, pv.v[i].bytes);
	}
	free(pv.v);
	packset_free(all);
	return ret;
}

static int read_all(struct verifier *v)
{
	size_t *group = malloc(4096 * sizeof(*group)), n = 0, bytes = 0;
	struct rec_ref *refs = malloc(4096 * sizeof(*refs));
	int *res = malloc(4096 * sizeof(*res)), ret = group && refs && res ? 0 : -ENOMEM;

	v->prog.records_total = 0;
	for (size_t i = 0; i < v->nuses; i++)
		v->prog.records_total +=
		    (!i || !same_place(&v->uses[i - 1].ref, &v->uses[i].ref)) &&
		    in_subset(v, &v->uses[i].ref);
	for (size_t i = 0; !ret && i <= v->nuses; i++) {
		bool last = i == v->nuses;
		if (!last && i && same_place(&v->uses[i - 1].ref, &v->uses[i].ref))
			continue; /* the same stored record, named again */
		if (!last && !v->uses[i].bad && in_subset(v, &v->uses[i].ref)) {
			/* bad: its pack is missing or short */
			group[n++] = i;
			bytes += v->uses[i].ref.plen;
			v->res->records++;
		}
		if (n && (last || n == 4096 || bytes >= VBATCH_BYTES)) {
			ret = check_batch(v, group, n, refs, res);
			n = bytes = 0;
		}
	}
	free(group);
	free(refs);
	free(res);
	return ret;
}

/* Second and further stored copies of directory records (walk read the first). */
static int check_copies(struct verifier *v)
{
	struct rec_ref *refs = calloc(v->ncopies ? v->ncopies : 1, sizeof(*refs));
	int *res = calloc(v->ncopies ? v->ncopies : 1, sizeof(*res)), ret = -ENOMEM;

	if (refs && res) {
		for (size_t i = 0; i < v->ncopies; i++)
			refs[i] = v->copies[i].ref;
		ret = v->ncopies ? store_check_many(v->s, REC_TREE, refs, v->ncopies, res) : 0;
	}
	for (size_t i = 0; !ret && i < v->ncopies; i++) {
		char key[64];
		store_pack_key(refs[i].pack, key);
		if (res[i])
			report(v,
			       "%s/: directory record stored again in %s at %llu is missing or "
			       "fails verification",
			       v->copies[i].path, key, (unsigned long long)refs[i].off);
	}
	v->res->trees += v->ncopies;
	free(refs);
	free(res);
	return ret;
}

static void report_files(struct verifier *v)
{
	/* uses are sorted by place; collect affected paths once each */
	bool *hit = calloc(v->npaths ? v->npaths : 1, sizeof(bool));
	for (size_t i = 0; hit && i < v->nuses; i++)
		if (v->uses[i].bad)
			hit[v->uses[i].path] = true;
	for (size_t p = 0; hit && p < v->npaths; p++)
		if (hit[p])
			report(v, "%s: content missing or fails verification", v->paths[p]);
	free(hit);
}

/* A manifest outside the signed list is no live snapshot (forgotten, or an interrupted
 * seal's): its data may be gone. Only a forgery among them is a problem. */
static int check_unlisted(struct verifier *v, const char *key, const uint8_t id[ID_LEN])
{
	struct snapshot sn;
	int ret = store_read_snapshot(v->s, id, &sn);
	if (ret == -EBADMSG) {
		report(v, "%s: manifest signature or record does not verify", key);
		return 0;
	}
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	v->res->unlisted++;
	snapshot_clear(&sn);
	return 0;
}

static int walk_snapshot(struct verifier *v, const struct snapshot *sn)
{
	char path[32], idh[2 * ID_LEN + 1];
	hex_encode(sn->id, ID_LEN, idh);
	snprintf(path, sizeof(path), "%.12s:", idh);
	v->res->snapshots++;
	struct rec_ref root = sn->root;
	int ret = store_reloc_ref(v->s, &root); /* repacked by prune: FORMAT 16.3.1 */
	return ret ? ret : walk(v, &root, path, 0);
}

static int check_snapshot(void *ctx, const char *key)
{
	struct verifier *v = ctx;
	struct snapshot sn;
	uint8_t id[ID_LEN];
	const char *name = key + strlen("snapshots/");
	int ret;

	if (strlen(name) != 2 * ID_LEN || hex_decode(name, id, ID_LEN)) {
		report(v, "%s: stray object (not a snapshot name)", key);
		return 0;
	}
	if (v->live && !snaplist_find(v->live, id))
		return check_unlisted(v, key, id);
	ret = store_read_snapshot(v->s, id, &sn);
	if (ret == -EBADMSG || ret == -ENOENT) {
		report(v, "%s: manifest signature or record does not verify", key);
		return 0;
	}
	if (ret)
		return ret;
	if (v->live && snaplist_find(v->live, id)->seq != sn.seq)
		report(v, "%s: sequence %llu, but the signed snapshot list says %llu", key,
		       (unsigned long long)sn.seq,
		       (unsigned long long)snaplist_find(v->live, id)->seq);
	ret = walk_snapshot(v, &sn);
	snapshot_clear(&sn);
	return ret;
}

/* Every snapshot the signed list names must be served; the walk above saw the ones that are. */
static int check_listed(struct verifier *v)
{
	for (size_t i = 0; i < v->live->nsnaps; i++) {
		char key[128], idh[2 * ID_LEN + 1];
		uint64_t size;
		int ret;
		hex_encode(v->live->snaps[i].id, ID_LEN, idh);
		snprintf(key, sizeof(key), "snapshots/%s", idh);
		ret = remote_stat(store_remote(v->s), key, &size);
		if (ret == -ENOENT)
			report(v,
			       "%s: in the signed snapshot list (sequence %llu) but missing: "
			       "deleted or withheld by the host",
			       key, (unsigned long long)v->live->snaps[i].seq);
		else if (ret)
			return ret;
	}
	return 0;
}

/* The signed list the head names, when it names one (a store sealed before lists: NULL). */
static int load_live(struct verifier *v)
{
	struct head h;
	int ret = store_read_head(v->s, &h);
	if (ret || !h.has_list)
		return 0; /* check_head reports head problems */
	v->live = calloc(1, sizeof(*v->live));
	if (!v->live)
		return -ENOMEM;
	ret = snaplist_of_head(v->s, &h, v->live);
	if (ret == -EBADMSG || ret == -ENOENT) {
		report(v,
		       "lists/: the snapshot list the head pointer names (generation %llu) is "
		       "missing or does not verify",
		       (unsigned long long)h.gen);
		free(v->live);
		v->live = NULL;
		return 0;
	}
	return ret;
}

static void check_head(struct verifier *v)
{
	struct head h;
	struct snapshot sn;
	struct timespec now;
	int ret = store_read_head(v->s, &h);
	if (ret == -ENOENT)
		return; /* an empty store, or a seal interrupted before its first head */
	if (ret == -ESTALE || ret == -EKEYEXPIRED) {
		report(v, "heads/latest: %s",
		       ret == -ESTALE ? "rolled back: older than a sequence seen before"
				      : "expired (--require-fresh)");
		return;
	}
	if (ret) {
		report(v, "heads/latest: does not verify");
		return;
	}
	if (store_read_snapshot(v->s, h.snapshot, &sn)) {
		report(v, "heads/latest: names a snapshot that is missing or does not verify");
		return;
	}
	if (sn.seq != h.seq)
		report(v, "heads/latest: sequence %llu but its snapshot says %llu",
		       (unsigned long long)h.seq, (unsigned long long)sn.seq);
	snapshot_clear(&sn);
	clock_gettime(CLOCK_REALTIME, &now);
	if (h.expires_ns < (int64_t)now.tv_sec * 1000000000)
		log_warn("heads/latest expired; the sealer should refresh it");
}

int verify_run(struct store *s, const struct verify_opts *o, struct verify_result *res)
{
	struct verifier v = {.s = s, .o = o, .res = res};
	int ret;

	memset(res, 0, sizeof(*res));
	ret = dedup_new(&v.trees_seen);
	if (!ret)
		ret = load_live(&v);
	if (!ret)
		ret = remote_list(store_remote(s), "snapshots/", check_snapshot, &v);
	if (ret >= 0 && v.live)
		ret = check_listed(&v);
	if (ret >= 0) {
		check_head(&v);
		ret = check_packs(&v);
	}
	if (!ret)
		ret = check_copies(&v);
	if (!ret && o->read_data && !o->subset_m && (o->subset_percent > 0 || o->subset_bytes))
		ret = choose_packs(&v);
	if (!ret && o->read_data)
		ret = read_all(&v);
	if (!ret)
		report_files(&v);
	for (size_t i = 0; i < v.npaths; i++)
		free(v.paths[i]);
	for (size_t i = 0; i < v.ncopies; i++)
		free(v.copies[i].path);
	free(v.copies);
	free(v.paths);
	free(v.uses);
	dedup_free(v.trees_seen);
	packset_free(v.chosen);
	if (v.live)
		snaplist_clear(v.live);
	free(v.live);
	if (ret < 0)
		return ret;
	return res->problems ? -EBADMSG : 0;
}
