/* merge: a three-way merge of snapshot trees — base (what this mount's changes were made on),
 * theirs (the head: a seal from home, another recovery host's commit) and ours (this commit).
 * Never last-writer-wins, nothing is lost:
 *
 *   - an entry one side left as the base had it takes the other side's version (including
 *     its deletion); entries equal on both sides are taken as they are;
 *   - a directory changed on both sides is merged entry by entry (its own mode, owner and
 *     xattrs from the side that changed them, ours if both; the later mtime);
 *   - anything else changed on both sides keeps both: the head's version under its name, ours
 *     under "<name>.conflict-<host>-<UTC time>"; a deletion against a change keeps the changed
 *     version. Each is reported (commit exits 3; status lists them).
 *
 * Subtrees are compared by record id first, so only directories changed on both sides are
 * loaded; everything else is taken by reference. Hard-link ids (merge_links.c): every entry
 * taken from ours goes through take_ours, which moves our new link ids above the head's
 * highest (a subtree of ours taken by reference is rewritten when it holds one); ids of base
 * groups keep their number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commit_int.h"
#include "log.h"

static bool same_ref(const struct rec_ref *a, const struct rec_ref *b)
{
	return (!a && !b) || (a && b && !memcmp(a->id, b->id, ID_LEN));
}

bool merge_same_xattrs(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->nxattrs != b->nxattrs)
		return false;
	for (size_t i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len))
			return false;
	return true;
}

static bool same_meta(const struct tree_entry *a, const struct tree_entry *b)
{
	return a->type == b->type && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       merge_same_xattrs(a, b);
}

/* The same entry, content included (a directory by its listing's id). */
bool merge_same_entry(const struct tree_entry *a, const struct tree_entry *b)
{
	if (!a || !b)
		return a == b;
	if (!same_meta(a, b) || a->mtime_ns != b->mtime_ns || a->size != b->size ||
	    a->rdev != b->rdev || a->link_id != b->link_id || a->nlink != b->nlink)
		return false;
	if ((a->target || b->target) && (!a->target || !b->target || strcmp(a->target, b->target)))
		return false;
	if (a->type == ENT_DIR)
		return same_ref(&a->subtree, &b->subtree);
	if (a->nchunks != b->nchunks)
		return false;
	for (size_t i = 0; i < a->nchunks; i++)
		if (a->chunks[i].foff != b->chunks[i].foff ||
		    memcmp(a->chunks[i].rec.id, b->chunks[i].rec.id, ID_LEN))
			return false;
	return true;
}

/* ---- the result ---- */

struct out {
	struct tree t;
	size_t cap;
};

static struct tree_entry *out_add(struct out *o)
{
	if (o->t.n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 32;
		struct tree_entry *v = realloc(o->t.e, cap * sizeof(*v));
		if (!v)
			return NULL;
		o->t.e = v;
		o->cap = cap;
	}
	memset(&o->t.e[o->t.n], 0, sizeof(*o->t.e));
	return &o->t.e[o->t.n++];
}

static int take(struct out *o, const struct tree_entry *e, const char *name)
{
	struct tree_entry *d = out_add(o);
	return d ? centry_copy(d, e, name) : -ENOMEM;
}

/* An entry of ours: its new hard-link ids renumbered above the head's (merge_links.c). */
static int take_ours(struct merge *m, struct out *o, const struct tree_entry *e, const char *name,
		     bool head_deleted, int depth)
{
	int ret = take(o, e, name);
	return ret ? ret : mlinks_fix_entry(m, &o->t.e[o->t.n - 1], head_deleted, depth);
}

static int conflict(struct merge *m, const char *path, const char *copy, const char *what)
{
	struct commit_conflict *c;

	if (m->nc == m->capc) {
		size_t cap = m->capc ? 2 * m->capc : 8;
		c = realloc(m->c, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		m->c = c;
		m->capc = cap;
	}
	c = &m->c[m->nc];
	c->path = strdup(path);
	c->copy = copy ? strdup(copy) : NULL;
	c->what = what;
	if (!c->path || (copy && !c->copy)) {
		free(c->path);
		free(c->copy);
		return -ENOMEM;
	}
	m->nc++;
	log_warn("commit: %s: %s%s%s", path, what, copy ? "; ours is now " : "", copy ? copy : "");
	return 0;
}

static bool taken(const struct out *o, const char *name)
{
	for (size_t i = 0; i < o->t.n; i++)
		if (!strcmp(o->t.e[i].name, name))
			return true;
	return false;
}

/* "<name>.conflict-<host>-<time>", within 255 bytes and unused among o's names and others. */
static int conflict_name(const struct merge *m, const struct out *o, const struct tree *others[3],
			 const char *name, char out[TREE_NAME_MAX + 1])
{
	char stamp[64], suffix[160];
	time_t t = (time_t)(m->time_ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int k = 1; k < 1000; k++) {
		snprintf(suffix, sizeof(suffix), ".conflict-%.64s-%s%s%.0d", m->host, stamp,
			 k > 1 ? "-" : "", k > 1 ? k : 0);
		size_t keep = strlen(name);
		if (keep + strlen(suffix) > TREE_NAME_MAX)
			keep = TREE_NAME_MAX - strlen(suffix);
		snprintf(out, TREE_NAME_MAX + 1, "%.*s%s", (int)keep, name, suffix);
		bool used = taken(o, out);
		for (int i = 0; !used && i < 3; i++)
			used = others[i] && tree_find(others[i], out, strlen(out));
		if (!used)
			return 0;
	}
	return -EEXIST;
}

/* ---- the merge ---- */

static int merge_dir(struct merge *m, const char *path, const struct rec_ref *b,
		     const struct rec_ref *t, const struct rec_ref *o, struct rec_ref *out,
		     uint64_t *count, int depth);

static char *join(const char *path, const char *name)
{
	char *p;
	return asprintf(&p, "%s%s%s", path, *path ? "/" : "", name) < 0 ? NULL : p;
}

/* Both sides changed directory name: merge inside it. */
static int merge_both_dirs(struct merge *m, struct out *res, const char *path,
			   const struct tree_entry *eb, const struct tree_entry *et,
			   const struct tree_entry *eo, int depth)
{
	const struct tree_entry *meta = eb && same_meta(eb, eo) ? et : eo;
	struct tree_entry *d = out_add(res);
	char *sub = join(path, eo->name);
	int ret = d && sub ? centry_copy(d, meta, eo->name) : -ENOMEM;

	if (!ret)
		ret =
		    merge_dir(m, sub, eb && eb->type == ENT_DIR ? &eb->subtree : NULL, &et->subtree,
			      &eo->subtree, &d->subtree, &d->subtree_entries, depth + 1);
	if (!ret)
		d->mtime_ns = et->mtime_ns > eo->mtime_ns ? et->mtime_ns : eo->mtime_ns;
	free(sub);
	return ret;
}

static int merge_name(struct merge *m, struct out *res, const struct tree *lists[3],
		      const char *path, const struct tree_entry *eb, const struct tree_entry *et,
		      const struct tree_entry *eo, int depth)
{
	const struct tree_entry *any = eo ? eo : et ? et : eb;
	char cname[TREE_NAME_MAX + 1], *p, *cp;
	int ret;

	if (merge_same_entry(et, eo))
		return eo ? take(res, eo, eo->name) : 0;
	if (merge_same_entry(eb, eo)) /* ours left it alone */
		return et ? take(res, et, et->name) : 0;
	if (merge_same_entry(eb, et)) /* theirs left it alone */
		return eo ? take_ours(m, res, eo, eo->name, false, depth) : 0;
	if (et && eo && et->type == ENT_DIR && eo->type == ENT_DIR)
		return merge_both_dirs(m, res, path, eb, et, eo, depth);
	if (!(p = join(path, any->name)))
		return -ENOMEM;
	if (!et) {
		ret = take_ours(m, res, eo, eo->name, true, depth);
		if (!ret)
			ret = conflict(m, p, NULL, "deleted in the head, changed here: kept");
	} else if (!eo) {
		ret = take(res, et, et->name);
		if (!ret)
			ret = conflict(m, p, NULL, "changed in the head, deleted here: kept");
	} else {
		ret = take(res, et, et->name);
		if (!ret)
			ret = conflict_name(m, res, lists, eo->name, cname);
		if (!ret)
			ret = take_ours(m, res, eo, cname, false, depth);
		if (!ret && res->t.e[res->t.n - 1].link_id) {
			/* the copy is a file of its own: the head's version keeps the link group */
			res->t.e[res->t.n - 1].link_id = 0;
			res->t.e[res->t.n - 1].nlink = 1;
		}
		cp = !ret ? join(path, cname) : NULL;
		if (!ret)
			ret = cp ? conflict(m, p, cp, "changed in both") : -ENOMEM;
		free(cp);
	}
	free(p);
	return ret;
}

static int load_or_empty(struct store *s, const struct rec_ref *r, struct tree **out)
{
	if (r)
		return store_load_tree(s, r, out);
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static const struct tree_entry *at(const struct tree *t, size_t i)
{
	return i < t->n ? &t->e[i] : NULL;
}

static int merge_lists(struct merge *m, const char *path, const struct tree *lists[3],
		       struct out *res, int depth)
{
	size_t i[3] = {0, 0, 0};
	int ret = 0;

	while (!ret) {
		const struct tree_entry *e[3], *low = NULL;
		for (int k = 0; k < 3; k++) {
			e[k] = at(lists[k], i[k]);
			if (e[k] && (!low || tree_namecmp(e[k]->name, e[k]->namelen, low->name,
							  low->namelen) < 0))
				low = e[k];
		}
		if (!low)
			break;
		const struct tree_entry *pick[3];
		for (int k = 0; k < 3; k++) {
			pick[k] = e[k] && !tree_namecmp(e[k]->name, e[k]->namelen, low->name,
							low->namelen)
				      ? e[k]
				      : NULL;
			if (pick[k])
				i[k]++;
		}
		ret = merge_name(m, res, lists, path, pick[0], pick[1], pick[2], depth);
	}
	return ret;
}

static int merge_dir(struct merge *m, const char *path, const struct rec_ref *b,
		     const struct rec_ref *t, const struct rec_ref *o, struct rec_ref *out,
		     uint64_t *count, int depth)
{
	struct tree *lists[3] = {NULL, NULL, NULL};
	struct out res = {0};
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	if (same_ref(t, o) || (b && same_ref(b, t)) || (b && same_ref(b, o))) {
		const struct rec_ref *r = same_ref(t, o) ? o : same_ref(b, t) ? o : t;
		struct tree *x;
		*out = *r;
		/* ours by reference, theirs left it alone: its new link ids may have to move */
		ret = !same_ref(t, o) && same_ref(b, t) ? mlinks_fix_ref(m, out, depth) : 0;
		if (!ret)
			ret = store_load_tree(m->s, r, &x); /* the count only */
		if (!ret) {
			*count = x->n;
			tree_free(x);
		}
		return ret;
	}
	ret = load_or_empty(m->s, b, &lists[0]);
	if (!ret)
		ret = load_or_empty(m->s, t, &lists[1]);
	if (!ret)
		ret = load_or_empty(m->s, o, &lists[2]);
	if (!ret)
		ret = merge_lists(m, path, (const struct tree **)lists, &res, depth);
	if (!ret) {
		tree_sort(&res.t); /* conflict copies may sort anywhere */
		ret = seal_session_tree(m->ss, &res.t, out);
		*count = res.t.n;
	}
	for (size_t i = 0; i < res.t.n; i++)
		tree_entry_clear(&res.t.e[i]);
	free(res.t.e);
	for (int k = 0; k < 3; k++)
		tree_free(lists[k]);
	return ret;
}

int merge_trees(struct merge *m, const struct rec_ref *base, const struct rec_ref *theirs,
		const struct rec_ref *ours, struct rec_ref *out)
{
	uint64_t n;
	int ret = mlinks_prepare(m, base, theirs, ours);

	if (!ret)
		ret = merge_dir(m, "", base, theirs, ours, out, &n, 0);
	mlinks_free(m);
	return ret;
}
