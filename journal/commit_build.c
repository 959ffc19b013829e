/* commit_build: sealing a plan — files chunked again only where they were written, hard links
 * sharing one chunk list and link id, trees bottom-up — and the snapshot's counts. No lock
 * held: frozen content is read from the journal (its records stay until the rebase) and the
 * store.
 *
 * Chunking: a file's data spans (what the journal wrote, and the base's chunks below base_len)
 * are walked from the start; a base chunk that begins exactly where the walk is, lies inside
 * the span and was not written over is reused as it is; anywhere else the content-defined
 * chunker cuts anew, but never past the start of the next base chunk that can be reused: so
 * a change costs exactly the base chunks it touches, never a run of neighbours whose cut the
 * change moved (the chunker's cuts depend on where the previous one fell). Inside a base
 * chunk rewritten around a small write, the write's 64 KiB-aligned window becomes a chunk of
 * its own (with the untouched parts before and after it, each one chunk, unless shorter than
 * the chunker's minimum): the next change at the same place — SQLite's header page, a hot
 * index page — then costs that window, not the whole ~1 MiB chunk again. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"
#include "log.h"
#include "par.h"

/* ---- spans and reuse ---- */

struct span {
	uint64_t a, b;
};

static int span_cmp(const void *x, const void *y)
{
	const struct span *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

static int spans_of(const struct cfile *c, struct span **out, size_t *nout)
{
	struct span *v = malloc((c->next + c->noc + 1) * sizeof(*v));
	size_t k = 0, m = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->next; i++)
		v[k++] = (struct span){c->ext[i].off, c->ext[i].off + c->ext[i].len};
	for (size_t i = 0; i < c->noc; i++) {
		uint64_t a = c->oc[i].foff, b = a + c->oc[i].rec.plen;
		if (a < c->base_len)
			v[k++] = (struct span){a, b < c->base_len ? b : c->base_len};
	}
	if (k)
		qsort(v, k, sizeof(*v), span_cmp);
	for (size_t i = 0; i < k; i++) {
		if (m && v[i].a <= v[m - 1].b) {
			if (v[i].b > v[m - 1].b)
				v[m - 1].b = v[i].b;
		} else {
			v[m++] = v[i];
		}
	}
	*out = v;
	*nout = m;
	return 0;
}

/* The base chunk that starts at off, untouched by any write and whole below base_len. */
static const struct chunk_ref *reusable(const struct cfile *c, uint64_t off, uint64_t span_end)
{
	size_t lo = 0, hi = c->noc;
	const struct chunk_ref *k;
	uint64_t end;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->oc[mid].foff < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->noc || c->oc[lo].foff != off)
		return NULL;
	k = &c->oc[lo];
	end = k->foff + k->rec.plen;
	if (end > c->base_len || end > span_end)
		return NULL;
	struct extmap m = {.v = c->ext, .n = c->next};
	size_t i = extmap_find(&m, k->foff);
	return i < c->next && c->ext[i].off < end ? NULL : k;
}

struct chunker {
	struct live *l;
	struct seal_session *ss;
	uint32_t min, max;
};

/* A write window of at most this many bytes (a run of adjacent written extents) inside a base
 * chunk is cut out on its own, aligned out to WINDOW_ALIGN (the framed record's frame). Longer
 * runs (a file rewritten, a big sequential write) are cut by the chunker alone, as seal would. */
#define WINDOW_MAX   (1u << 20)
#define WINDOW_ALIGN (64u << 10)

/* The start of the first reusable base chunk after pos, if one starts before pos + max. */
static uint64_t next_reusable(const struct cfile *c, uint64_t pos, uint64_t span_end, uint32_t max)
{
	size_t lo = 0, hi = c->noc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->oc[mid].foff <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->noc && c->oc[lo].foff < span_end && c->oc[lo].foff - pos < max; lo++)
		if (reusable(c, c->oc[lo].foff, span_end))
			return c->oc[lo].foff;
	return UINT64_MAX;
}

/* Where the window of the small write run at or after pos (within a base chunk) says to cut:
 * at its aligned start if pos is before it, at its aligned end if pos is in it; UINT64_MAX if
 * there is no such run or it is long. Pieces shorter than min are not cut off (they join the
 * window), so the chunk count stays bounded by the file size over min plus the windows. */
static uint64_t window_cut(const struct cfile *c, uint64_t pos, uint64_t lim, uint32_t min)
{
	struct extmap m = {.v = c->ext, .n = c->next};
	size_t i = extmap_find(&m, pos);
	uint64_t r0, r1, a, z;

	if (pos >= c->base_len || i == c->next || c->ext[i].off >= lim)
		return UINT64_MAX;
	r0 = c->ext[i].off;
	r1 = r0 + c->ext[i].len;
	while (++i < c->next && c->ext[i].off == r1 && r1 - r0 <= WINDOW_MAX)
		r1 += c->ext[i].len;
	if (r1 - r0 > WINDOW_MAX)
		return UINT64_MAX;
	a = r0 - r0 % WINDOW_ALIGN;
	z = r1 + (WINDOW_ALIGN - r1 % WINDOW_ALIGN) % WINDOW_ALIGN;
	if (pos < a && a - pos >= min)
		return a;
	if (z < lim && lim - z >= min)
		return z;
	return UINT64_MAX;
}

/* ---- reading frozen content ---- */

/* What is read per refill beyond a maximal chunk (as seal_file.c reads a file). */
#define READ_STEP (1u << 20)
/* A window at least this large is read on all cores (below it, waking a helper costs more). */
#define PAR_BYTES (256u << 10)

/* The pieces [from, end) of c is made of, ending where a piece ends: a journal record or a
 * base chunk that the window's end would cut is left to the next window (unless it is the
 * window's first piece), so no record is read and decrypted twice. *got: the bytes planned. */
static int window_plan(const struct cfile *c, uint64_t from, uint64_t end, uint64_t b,
		       struct plan *p, size_t *got)
{
	/* one byte more tells whether the last piece goes on past end */
	uint64_t stop = end < b ? end + 1 : end;
	int ret = content_plan(c->ext, c->next, c->oc, c->noc, c->base_len, from, stop, p);

	if (ret || !p->n)
		return ret ? ret : -EIO;
	if (stop > end) {
		struct piece *x = &p->v[p->n - 1];
		uint64_t start = stop - x->len;
		if (x->len == 1)
			p->n--; /* it starts at end */
		else if (x->kind != P_ZERO && p->n > 1 && start > from)
			p->n--; /* cut by end: read whole in the next window */
		else
			x->len--;
	}
	*got = 0;
	for (size_t i = 0; i < p->n; i++)
		*got += p->v[i].len;
	return *got ? 0 : -EIO;
}

struct wread {
	struct live *l;
	const struct plan *p;
	uint8_t *out;
	const size_t *at; /* where each piece goes in out */
	atomic_int err;
};

static void wread_piece(void *ctx, size_t i)
{
	struct wread *w = ctx;
	struct plan one = {.v = &w->p->v[i], .n = 1, .cap = 1};
	int ret = content_serve(w->l, &one, w->out + w->at[i]);
	int none = 0;

	if (ret)
		atomic_compare_exchange_strong(&w->err, &none, ret);
}

/* The planned pieces into out; journal records are opened on all cores when there is enough
 * of them (the batch thread seals on the same cores: the CPU pool serves both in turn). */
static int window_read(struct live *l, const struct plan *p, size_t len, uint8_t *out)
{
	struct wread w = {.l = l, .p = p, .out = out};
	size_t *at;
	int ret;

	if (p->n < 2 || len < PAR_BYTES) {
		ret = content_serve(l, p, out);
		return ret == -ENOENT ? -EIO : ret;
	}
	at = malloc(p->n * sizeof(*at));
	if (!at)
		return -ENOMEM;
	for (size_t i = 0, o = 0; i < p->n; o += p->v[i].len, i++)
		at[i] = o;
	w.at = at;
	atomic_init(&w.err, 0);
	par_cpu_for(p->n, wread_piece, &w);
	free(at);
	ret = atomic_load(&w.err);
	return ret == -ENOENT ? -EIO : ret; /* the records stay until the rebase */
}

/* One data span [a, b): base chunks where they can be reused, new cuts elsewhere. The bytes
 * are read straight into the seal batch (no copy between the journal and the sealing): have
 * of them, from pos on, wait there unchunked; a reuse drops them. */
static int chunk_span(struct chunker *ck, const struct cfile *c, struct tree_entry *e, uint64_t a,
		      uint64_t b)
{
	struct plan p = {0};
	uint64_t pos = a;
	size_t have = 0;
	uint8_t *buf;
	int ret = 0;

	while (!ret && pos < b) {
		const struct chunk_ref *k = reusable(c, pos, b);
		if (k) {
			ret = seal_session_reuse(ck->ss, e, k);
			pos += k->rec.plen;
			have = 0;
			continue;
		}
		while (!ret && have < ck->max && pos + have < b) { /* refill behind what is left */
			size_t want = READ_STEP + ck->max - have, got = 0;
			if (pos + have + want > b)
				want = (size_t)(b - pos - have);
			buf = seal_session_room(ck->ss, have, want, &ret);
			p.n = 0;
			if (!ret)
				ret = window_plan(c, pos + have, pos + have + want, b, &p, &got);
			if (!ret)
				ret = window_read(ck->l, &p, got, buf + have);
			have += got;
		}
		if (ret)
			break;
		buf = seal_session_room(ck->ss, have, 0, &ret); /* where they are now */
		if (ret)
			break;
		/* have >= max here, or the span ends within it */
		size_t cut = seal_session_cut(ck->ss, buf, have);
		uint64_t lim = next_reusable(c, pos, b, ck->max);
		uint64_t w = window_cut(c, pos, lim == UINT64_MAX ? b : lim, ck->min);
		if (w < lim)
			lim = w;
		if (lim - pos < cut)
			cut = (size_t)(lim - pos);
		ret = seal_session_take(ck->ss, e, pos, cut, have);
		have -= cut;
		pos += cut;
	}
	free(p.v);
	return ret;
}

static int chunk_file(struct chunker *ck, const struct cfile *c, struct tree_entry *e)
{
	struct span *v = NULL;
	size_t n = 0;
	int ret = spans_of(c, &v, &n);

	for (size_t i = 0; !ret && i < n; i++)
		ret = chunk_span(ck, c, e, v[i].a, v[i].b);
	e->size = c->size;
	free(v);
	return ret;
}

/* ---- the plan, in three passes ---- */

static int build_files(struct chunker *ck, struct cdir *cd)
{
	int ret = 0;
	for (size_t i = 0; !ret && i < cd->n; i++) {
		if (cd->x[i].sub)
			ret = build_files(ck, cd->x[i].sub);
		else if (cd->x[i].file)
			ret = chunk_file(ck, cd->x[i].file, &cd->t.e[i]);
	}
	return ret;
}

/* Every name of a file with several shares the first's chunks and one link id; new ids are
 * numbered above the base's highest (a merge moves them above the head's: merge_links.c). */
static int settle_links(struct live *l, struct cplan *p, struct cdir *cd, uint64_t *next_id)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < cd->n; i++) {
		struct tree_entry *e = &cd->t.e[i];
		if (cd->x[i].sub) {
			ret = settle_links(l, p, cd->x[i].sub, next_id);
			continue;
		}
		if (e->type != ENT_FILE || e->nlink < 2 || cd->x[i].pristine)
			continue;
		struct tree_entry *first =
		    cd->x[i].link_first >= 0 ? p->links[cd->x[i].link_first].e : e;
		if (!first->link_id) {
			if (!*next_id) {
				uint64_t max = 0;
				if (l->has_base && (ret = links_max(l->s, &l->base.root, &max)))
					break;
				*next_id = max + 1;
			}
			first->link_id = (*next_id)++;
		}
		if (first == e)
			continue;
		e->link_id = first->link_id;
		e->size = first->size;
		free(e->chunks);
		e->chunks = malloc((first->nchunks ? first->nchunks : 1) * sizeof(*e->chunks));
		if (!e->chunks)
			return -ENOMEM;
		if (first->nchunks)
			memcpy(e->chunks, first->chunks, first->nchunks * sizeof(*e->chunks));
		e->nchunks = first->nchunks;
	}
	return ret;
}

static int build_trees(struct seal_session *ss, struct cdir *cd)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < cd->n; i++) {
		struct cdir *sub = cd->x[i].sub;
		if (!sub)
			continue;
		ret = build_trees(ss, sub);
		cd->t.e[i].subtree = sub->ref;
		cd->t.e[i].subtree_entries = sub->t.n;
	}
	if (!ret)
		ret = seal_session_tree(ss, &cd->t, &cd->ref);
	cd->built = ret == 0;
	return ret;
}

int cplan_build(struct live *l, struct cplan *p, struct seal_session *ss, struct rec_ref *root)
{
	struct chunker ck = {.l = l, .ss = ss};
	uint32_t mn, mx;
	uint64_t next_id = 0;
	int ret;

	seal_session_chunker(ss, &mn, &mx);
	ck.min = mn;
	ck.max = mx;
	ret = build_files(&ck, p->root);
	if (!ret)
		ret = seal_session_flush(ss);
	if (!ret)
		ret = settle_links(l, p, p->root, &next_id);
	if (!ret)
		ret = build_trees(ss, p->root);
	if (!ret)
		*root = p->root->ref;
	return ret;
}

/* ---- recovery: the trees a crashed commit published ---- */

static int load_dir(struct live *l, struct cdir *cd, const struct rec_ref *ref)
{
	struct tree *t;
	int ret = store_load_tree(l->s, ref, &t);

	if (ret)
		return ret;
	/* the snapshot was built from this very plan: the same names, in the same order */
	if (t->n != cd->n) {
		tree_free(t);
		return -EBADMSG;
	}
	for (size_t i = 0; !ret && i < cd->n; i++) {
		if (strcmp(t->e[i].name, cd->t.e[i].name))
			ret = -EBADMSG;
		else if (cd->x[i].sub)
			ret = load_dir(l, cd->x[i].sub, &t->e[i].subtree);
	}
	if (!ret) { /* a copy of its own: a decoded tree may be one packed allocation */
		struct tree *u = NULL;
		ret = tree_dup(t, &u);
		if (!ret) {
			for (size_t i = 0; i < cd->t.n; i++)
				tree_entry_clear(&cd->t.e[i]);
			free(cd->t.e);
			cd->t = *u;
			free(u);
			cd->ref = *ref;
			cd->built = true;
		}
	}
	tree_free(t);
	return ret;
}

int cplan_load(struct live *l, struct cplan *p, const struct rec_ref *root)
{
	return p->root ? load_dir(l, p->root, root) : 0;
}

/* ---- the snapshot's counts ---- */

struct tally {
	int64_t files, dirs, bytes;
	struct u64map refs; /* first 8 bytes of a subtree id -> balance (+ added, - removed) */
	struct rec_ref *v;  /* the refs seen, to walk those left over */
	size_t n, cap;
};

static uint64_t key_of(const uint8_t *id)
{
	uint64_t k = 0;
	memcpy(&k, id, sizeof(k));
	return k ? k : 1;
}

static int tally_ref(struct tally *t, const struct rec_ref *r, intptr_t d)
{
	uint64_t k = key_of(r->id);
	void *v = u64map_get(&t->refs, k);
	if (!v && t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct rec_ref *nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = cap;
	}
	if (!v)
		t->v[t->n++] = *r;
	/* balances are stored offset by 1 << 30 so that 0 never means "absent" */
	intptr_t bal = (v ? (intptr_t)v : (intptr_t)1 << 30) + d;
	return u64map_put(&t->refs, k, (void *)bal);
}

static void direct(struct tally *t, const struct tree *tr, int sign)
{
	for (size_t i = 0; i < tr->n; i++) {
		if (tr->e[i].type == ENT_FILE) {
			t->files += sign;
			t->bytes += sign * (int64_t)tr->e[i].size;
		} else if (tr->e[i].type == ENT_DIR) {
			t->dirs += sign;
		}
	}
}

static int tally_dir(struct live *l, struct tally *t, const struct cdir *cd)
{
	int ret = 0;

	direct(t, &cd->t, +1);
	if (cd->old)
		direct(t, cd->old->t, -1);
	for (size_t i = 0; !ret && cd->old && i < cd->old->t->n; i++)
		if (cd->old->t->e[i].type == ENT_DIR)
			ret = tally_ref(t, &cd->old->t->e[i].subtree, -1);
	for (size_t i = 0; !ret && i < cd->n; i++) {
		const struct cdir *sub = cd->x[i].sub;
		if (sub) {
			if (sub->has_old)
				ret = tally_ref(t, &sub->old_ref, +1);
			if (!ret)
				ret = tally_dir(l, t, sub);
		} else if (cd->t.e[i].type == ENT_DIR) {
			ret = tally_ref(t, &cd->t.e[i].subtree, +1);
		}
	}
	return ret;
}

/* Everything below a subtree (added or removed whole). */
static int walk_count(struct store *s, const struct rec_ref *ref, int sign, struct tally *t,
		      int depth)
{
	struct tree *tr;
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	ret = store_load_tree(s, ref, &tr);
	if (ret)
		return ret;
	direct(t, tr, sign);
	for (size_t i = 0; !ret && i < tr->n; i++)
		if (tr->e[i].type == ENT_DIR)
			ret = walk_count(s, &tr->e[i].subtree, sign, t, depth + 1);
	tree_free(tr);
	return ret;
}

int cplan_counts(struct live *l, const struct cplan *p, uint64_t *files, uint64_t *dirs,
		 uint64_t *bytes)
{
	struct tally t = {0};
	int ret = p->root ? tally_dir(l, &t, p->root) : 0;

	for (size_t i = 0; !ret && i < t.n; i++) {
		intptr_t bal =
		    (intptr_t)u64map_get(&t.refs, key_of(t.v[i].id)) - ((intptr_t)1 << 30);
		for (; !ret && bal > 0; bal--)
			ret = walk_count(l->s, &t.v[i], +1, &t, 0);
		for (; !ret && bal < 0; bal++)
			ret = walk_count(l->s, &t.v[i], -1, &t, 0);
		u64map_put(&t.refs, key_of(t.v[i].id), (void *)((intptr_t)1 << 30));
	}
	if (!ret) {
		int64_t f = (l->has_base ? (int64_t)l->base.files : 0) + t.files;
		int64_t d = (l->has_base ? (int64_t)l->base.dirs : 0) + t.dirs;
		int64_t b = (l->has_base ? (int64_t)l->base.bytes : 0) + t.bytes;
		*files = f > 0 ? (uint64_t)f : 0;
		*dirs = d > 0 ? (uint64_t)d : 0;
		*bytes = b > 0 ? (uint64_t)b : 0;
	}
	u64map_free(&t.refs);
	free(t.v);
	return ret;
}
