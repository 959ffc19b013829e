/* verify: walk every snapshot's trees, check that every record they name exists (its pack is
 * present and long enough) and, with read_data, that it opens and matches its id. */
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbuf.h"
#include "dedup.h"
#include "hex.h"
#include "log.h"
#include "store_int.h"

#define VBATCH_BYTES (64u << 20)

/* One use of a data record by a file path. */
struct use {
	struct rec_ref ref;
	size_t path; /* index into paths */
};

struct verifier {
	struct store *s;
	const struct verify_opts *o;
	struct verify_result *res;
	struct dedup *trees_seen, *bad; /* sets of record ids */
	struct use *uses;
	size_t nuses, capuses;
	char **paths;
	size_t npaths, cappaths;
	struct verify_progress prog;
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

static int walk(struct verifier *v, const struct rec_ref *ref, const char *path, unsigned depth)
{
	struct tree *t = NULL;
	int ret = 0;
	if (dedup_find(v->trees_seen, ref->id, NULL))
		return 0; /* shared with an earlier snapshot or directory: already checked */
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

static int use_cmp(const void *a, const void *b)
{
	const struct use *x = a, *y = b;
	int c = memcmp(x->ref.pack, y->ref.pack, PACK_ID_LEN);
	if (c)
		return c;
	return x->ref.off < y->ref.off ? -1 : x->ref.off > y->ref.off;
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
			dedup_add(v->bad, &u->ref);
		}
	}
	return 0;
}

/* Open every distinct record (batches: neighbours coalesced, all cores). */
static int read_all(struct verifier *v)
{
	struct dedup *seen;
	struct rec_ref *batch = malloc(4096 * sizeof(*batch));
	struct cbuf *bufs[4096];
	int res[4096], ret = dedup_new(&seen);
	size_t n = 0, bytes = 0;

	if (!batch)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i <= v->nuses; i++) {
		bool last = i == v->nuses;
		if (!last && (dedup_find(seen, v->uses[i].ref.id, NULL) ||
			      dedup_find(v->bad, v->uses[i].ref.id, NULL)))
			continue;
		if (!last) {
			dedup_add(seen, &v->uses[i].ref);
			batch[n++] = v->uses[i].ref;
			bytes += v->uses[i].ref.plen;
		}
		if (n && (last || n == 4096 || bytes >= VBATCH_BYTES)) {
			ret = store_fetch_many(v->s, REC_DATA, batch, n, bufs, res);
			for (size_t k = 0; !ret && k < n; k++) {
				if (res[k])
					dedup_add(v->bad, &batch[k]);
				cbuf_unref(bufs[k]);
			}
			v->prog.records_done += n;
			if (v->o->progress)
				v->o->progress(v->o->progress_ctx, &v->prog);
			n = bytes = 0;
		}
	}
	v->res->records = dedup_count(seen);
	dedup_free(seen);
	free(batch);
	return ret;
}

static void report_files(struct verifier *v)
{
	size_t last = (size_t)-1;
	/* uses are sorted by pack; collect affected paths once each */
	bool *hit = calloc(v->npaths ? v->npaths : 1, sizeof(bool));
	for (size_t i = 0; hit && i < v->nuses; i++)
		if (dedup_find(v->bad, v->uses[i].ref.id, NULL))
			hit[v->uses[i].path] = true;
	for (size_t p = 0; hit && p < v->npaths; p++)
		if (hit[p] && p != last) {
			report(v, "%s: content missing or fails verification", v->paths[p]);
			last = p;
		}
	free(hit);
}

static int check_snapshot(void *ctx, const char *key)
{
	struct verifier *v = ctx;
	struct snapshot sn;
	uint8_t id[ID_LEN];
	const char *name = key + strlen("snapshots/");
	char path[32];
	int ret;

	if (strlen(name) != 2 * ID_LEN || hex_decode(name, id, ID_LEN)) {
		report(v, "%s: stray object (not a snapshot name)", key);
		return 0;
	}
	ret = store_read_snapshot(v->s, id, &sn);
	if (ret == -EBADMSG || ret == -ENOENT) {
		report(v, "%s: manifest signature or record does not verify", key);
		return 0;
	}
	if (ret)
		return ret;
	v->res->snapshots++;
	snprintf(path, sizeof(path), "%.12s:", name);
	ret = walk(v, &sn.root, path, 0);
	snapshot_clear(&sn);
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
		ret = dedup_new(&v.bad);
	if (!ret)
		ret = remote_list(store_remote(s), "snapshots/", check_snapshot, &v);
	if (ret >= 0) {
		check_head(&v);
		v.prog.records_total = v.nuses;
		ret = check_packs(&v);
	}
	if (!ret && o->read_data)
		ret = read_all(&v);
	if (!ret)
		report_files(&v);
	for (size_t i = 0; i < v.npaths; i++)
		free(v.paths[i]);
	free(v.paths);
	free(v.uses);
	dedup_free(v.trees_seen);
	dedup_free(v.bad);
	if (ret < 0)
		return ret;
	return res->problems ? -EBADMSG : 0;
}
