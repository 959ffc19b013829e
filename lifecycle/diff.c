/* diff: a merge of two sorted listings, a directory pair at a time, skipping pairs whose
 * tree record ids are equal (content-addressed: equal ids, equal trees). */
#include "diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DIFF_PATH_MAX (1u << 16) /* as ls: 60 levels of 255-byte names fit */

struct differ {
	struct store *s;
	diff_fn fn;
	void *ctx;
	struct diff_stats *st;
	char *path; /* DIFF_PATH_MAX bytes */
	size_t len;
	unsigned depth;
};

static int64_t file_size(const struct tree_entry *e)
{
	return e && e->type == ENT_FILE ? (int64_t)e->size : 0;
}

static void count(struct diff_stats *st, enum diff_change c, const struct tree_entry *a,
		  const struct tree_entry *b)
{
	switch (c) {
	case DIFF_ADDED:
		st->added++;
		break;
	case DIFF_REMOVED:
		st->removed++;
		break;
	case DIFF_MODIFIED:
		st->modified++;
		break;
	case DIFF_METADATA:
		st->metadata++;
		break;
	case DIFF_TYPE:
		st->type_changed++;
		break;
	}
	if (c == DIFF_ADDED || c == DIFF_TYPE)
		st->bytes_added += (uint64_t)file_size(b);
	if (c == DIFF_REMOVED || c == DIFF_TYPE)
		st->bytes_removed += (uint64_t)file_size(a);
	st->bytes_delta += file_size(b) - file_size(a);
}

static int emit(struct differ *d, enum diff_change c, const struct tree_entry *a,
		const struct tree_entry *b, unsigned meta)
{
	struct diff_item it = {.change = c,
			       .path = d->path,
			       .pathlen = d->len,
			       .old = c == DIFF_ADDED ? NULL : a,
			       .new = c == DIFF_REMOVED ? NULL : b,
			       .meta = meta};

	count(d->st, c, it.old, it.new);
	return d->fn(d->ctx, &it);
}

/* Append "/name" (just "name" at the top) to the path; *old gets the length to go back to. */
static int push(struct differ *d, const struct tree_entry *e, size_t *old)
{
	size_t sep = d->len ? 1 : 0;

	*old = d->len;
	if (d->len + sep + e->namelen + 1 > DIFF_PATH_MAX) {
		log_err("a path in the snapshot is longer than %u bytes: refused", DIFF_PATH_MAX);
		return -ENAMETOOLONG;
	}
	if (sep)
		d->path[d->len++] = '/';
	memcpy(d->path + d->len, e->name, e->namelen);
	d->len += e->namelen;
	d->path[d->len] = '\0';
	return 0;
}

static void pop(struct differ *d, size_t old)
{
	d->len = old;
	d->path[old] = '\0';
}

static int load(struct differ *d, const struct tree_entry *dir, struct tree **t)
{
	if (d->depth >= TREE_MAX_DEPTH) {
		log_err("directories nested deeper than %d levels: refused", TREE_MAX_DEPTH);
		return -EBADMSG;
	}
	d->st->trees_read++;
	return store_load_tree(d->s, &dir->subtree, t);
}

/* Report everything below directory e as added (or removed). */
static int whole(struct differ *d, const struct tree_entry *e, enum diff_change c)
{
	struct tree *t = NULL;
	size_t old;
	int ret;

	if (e->type != ENT_DIR || (ret = load(d, e, &t)) != 0)
		return e->type != ENT_DIR ? 0 : ret;
	d->depth++;
	for (size_t i = 0; !ret && i < t->n; i++) {
		if ((ret = push(d, &t->e[i], &old)) != 0)
			break;
		ret = emit(d, c, &t->e[i], &t->e[i], 0);
		if (!ret)
			ret = whole(d, &t->e[i], c);
		pop(d, old);
	}
	d->depth--;
	tree_free(t);
	return ret;
}

static int pair(struct differ *d, const struct tree_entry *a, const struct tree_entry *b);

/* Two directories with different trees: merge their sorted listings. */
static int dirs(struct differ *d, const struct tree_entry *a, const struct tree_entry *b)
{
	struct tree *ta = NULL, *tb = NULL;
	size_t i = 0, j = 0, old;
	int ret = load(d, a, &ta);

	if (!ret)
		ret = load(d, b, &tb);
	d->depth++;
	while (!ret && (i < ta->n || j < tb->n)) {
		int cmp = i == ta->n   ? 1
			  : j == tb->n ? -1
				       : tree_namecmp(ta->e[i].name, ta->e[i].namelen,
						      tb->e[j].name, tb->e[j].namelen);
		const struct tree_entry *x = cmp <= 0 ? &ta->e[i] : NULL;
		const struct tree_entry *y = cmp >= 0 ? &tb->e[j] : NULL;

		if ((ret = push(d, x ? x : y, &old)) != 0)
			break;
		ret = pair(d, x, y);
		pop(d, old);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	d->depth--;
	tree_free(ta);
	tree_free(tb);
	return ret;
}

static int pair(struct differ *d, const struct tree_entry *a, const struct tree_entry *b)
{
	unsigned meta;
	int ret;

	if (!a || !b) {
		enum diff_change c = a ? DIFF_REMOVED : DIFF_ADDED;
		ret = emit(d, c, a, b, 0);
		return ret ? ret : whole(d, a ? a : b, c);
	}
	if (a->type != b->type) {
		ret = emit(d, DIFF_TYPE, a, b, 0);
		if (!ret)
			ret = whole(d, a, DIFF_REMOVED);
		return ret ? ret : whole(d, b, DIFF_ADDED);
	}
	meta = diff_metadata(a, b);
	if (diff_same_contents(a, b)) {
		if (a->type == ENT_DIR && !meta)
			d->st->trees_skipped++;
		return meta ? emit(d, DIFF_METADATA, a, b, meta) : 0;
	}
	if (a->type != ENT_DIR)
		return emit(d, DIFF_MODIFIED, a, b, meta);
	ret = meta ? emit(d, DIFF_METADATA, a, b, meta) : 0;
	return ret ? ret : dirs(d, a, b);
}

int diff_entries(struct store *s, const struct tree_entry *a, const struct tree_entry *b,
		 const char *path, diff_fn fn, void *ctx, struct diff_stats *st)
{
	struct differ d = {.s = s, .fn = fn, .ctx = ctx, .st = st};
	size_t n = strlen(path);
	int ret;

	memset(st, 0, sizeof(*st));
	if (n >= DIFF_PATH_MAX)
		return -ENAMETOOLONG;
	if (!(d.path = malloc(DIFF_PATH_MAX)))
		return -ENOMEM;
	memcpy(d.path, path, n + 1);
	d.len = n;
	ret = a || b ? pair(&d, a, b) : 0;
	free(d.path);
	return ret;
}

void diff_root_entry(const struct snapshot *sn, struct tree_entry *out)
{
	if (sn->has_root_meta)
		*out = sn->root_meta;
	else
		memset(out, 0, sizeof(*out));
	out->name = "";
	out->namelen = 0;
	out->type = ENT_DIR;
	out->subtree = sn->root;
}

bool diff_same_contents(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case ENT_FILE:
		if (a->size != b->size || a->nchunks != b->nchunks)
			return false;
		for (size_t i = 0; i < a->nchunks; i++)
			if (a->chunks[i].foff != b->chunks[i].foff ||
			    memcmp(a->chunks[i].rec.id, b->chunks[i].rec.id, ID_LEN) != 0)
				return false;
		return true;
	case ENT_DIR:
		return memcmp(a->subtree.id, b->subtree.id, ID_LEN) == 0;
	case ENT_SYMLINK:
		return a->target && b->target ? strcmp(a->target, b->target) == 0
					      : a->target == b->target;
	case ENT_CHR:
	case ENT_BLK:
		return a->rdev == b->rdev;
	default:
		return true;
	}
}

static bool same_xattrs(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->nxattrs != b->nxattrs)
		return false;
	for (size_t i = 0; i < a->nxattrs; i++) {
		const struct xattr *x = &a->xattrs[i], *y = &b->xattrs[i];
		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len && memcmp(x->value, y->value, x->len) != 0))
			return false;
	}
	return true;
}

unsigned diff_metadata(const struct tree_entry *a, const struct tree_entry *b)
{
	return (a->mode != b->mode ? DIFF_META_MODE : 0) | (a->uid != b->uid ? DIFF_META_UID : 0) |
	       (a->gid != b->gid ? DIFF_META_GID : 0) |
	       (a->mtime_ns != b->mtime_ns ? DIFF_META_MTIME : 0) |
	       (same_xattrs(a, b) ? 0 : DIFF_META_XATTRS);
}
