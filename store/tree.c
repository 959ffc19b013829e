/* tree: directory records — what every encoding shares (lookup, ordering, freeing) and the
 * choice of encoding by store format. Layouts in docs/FORMAT.md, section "Trees". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tree_int.h"

const char *const tree_type_names[] = {
    [ENT_FILE] = "file", [ENT_DIR] = "dir",   [ENT_SYMLINK] = "symlink", [ENT_FIFO] = "fifo",
    [ENT_CHR] = "char",	 [ENT_BLK] = "block", [ENT_SOCK] = "socket",
};

static const uint32_t type_modes[] = {
    [ENT_FILE] = S_IFREG, [ENT_DIR] = S_IFDIR, [ENT_SYMLINK] = S_IFLNK, [ENT_FIFO] = S_IFIFO,
    [ENT_CHR] = S_IFCHR,  [ENT_BLK] = S_IFBLK, [ENT_SOCK] = S_IFSOCK,
};

uint32_t tree_type_mode(enum entry_type t)
{
	return t >= ENT_FILE && t <= ENT_SOCK ? type_modes[t] : S_IFREG;
}

enum entry_type tree_mode_type(uint32_t mode)
{
	for (int t = ENT_FILE; t <= ENT_SOCK; t++)
		if (type_modes[t] == (mode & S_IFMT))
			return (enum entry_type)t;
	return 0;
}

int tree_namecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int tree_entry_cmp(const void *x, const void *y)
{
	const struct tree_entry *a = x, *b = y;
	return tree_namecmp(a->name, a->namelen, b->name, b->namelen);
}

void tree_sort(struct tree *t)
{
	if (t->n) /* qsort(NULL, 0) is undefined */
		qsort(t->e, t->n, sizeof(*t->e), tree_entry_cmp);
}

const struct tree_entry *tree_find(const struct tree *t, const char *name, size_t len)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tree_namecmp(name, len, t->e[mid].name, t->e[mid].namelen);
		if (c == 0)
			return &t->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t tree_chunk_at(const struct tree_entry *e, uint64_t off)
{
	size_t lo = 0, hi = e->nchunks;
	/* first chunk whose end is beyond off */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct chunk_ref *c = &e->chunks[mid];
		if (c->foff + c->rec.plen <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void tree_entry_clear(struct tree_entry *e)
{
	free(e->name);
	free(e->target);
	for (size_t i = 0; i < e->nxattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	free(e->chunks);
	memset(e, 0, sizeof(*e));
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	if (!t->packed) { /* a packed tree is one allocation, t itself */
		for (size_t i = 0; i < t->n; i++)
			tree_entry_clear(&t->e[i]);
		free(t->e);
	}
	free(t);
}

static void *dup_mem(const void *p, size_t n, size_t extra, bool *fail)
{
	char *c;

	if (!p)
		return NULL;
	c = malloc(n + extra ? n + extra : 1);
	if (!c) {
		*fail = true;
		return NULL;
	}
	memcpy(c, p, n);
	memset(c + n, 0, extra);
	return c;
}

int tree_xattrs_dup(const struct xattr *src, size_t n, struct xattr **out, size_t *nout)
{
	struct xattr *d = n ? calloc(n, sizeof(*d)) : NULL;
	bool fail = n && !d;

	for (size_t i = 0; !fail && i < n; i++) {
		d[i].name = dup_mem(src[i].name, strlen(src[i].name), 1, &fail);
		d[i].value =
		    dup_mem(src[i].value ? src[i].value : (uint8_t *)"", src[i].len, 1, &fail);
		d[i].len = src[i].len;
	}
	*out = NULL;
	*nout = 0;
	if (fail) {
		for (size_t i = 0; d && i < n; i++) {
			free(d[i].name);
			free(d[i].value);
		}
		free(d);
		return -ENOMEM;
	}
	*out = d;
	*nout = n;
	return 0;
}

static int entry_dup(const struct tree_entry *s, struct tree_entry *d)
{
	bool fail = false;

	*d = *s;
	d->xattrs = NULL;
	d->nxattrs = 0;
	d->name = dup_mem(s->name, s->namelen, 1, &fail);
	d->target = dup_mem(s->target, s->target ? strlen(s->target) : 0, 1, &fail);
	d->chunks = dup_mem(s->chunks, s->nchunks * sizeof(*s->chunks), 0, &fail);
	if (fail || tree_xattrs_dup(s->xattrs, s->nxattrs, &d->xattrs, &d->nxattrs) < 0) {
		tree_entry_clear(d);
		return -ENOMEM;
	}
	return 0;
}

int tree_dup(const struct tree *t, struct tree **out)
{
	struct tree *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c || !(c->e = calloc(t->n ? t->n : 1, sizeof(*c->e)))) {
		free(c);
		return -ENOMEM;
	}
	for (; c->n < t->n; c->n++)
		if (entry_dup(&t->e[c->n], &c->e[c->n]) < 0) {
			tree_free(c);
			return -ENOMEM;
		}
	*out = c;
	return 0;
}

int tree_encode(const struct tree *t, int format, uint8_t **out, size_t *len)
{
	*out = NULL;
	switch (format) {
	case 1:
		return tree_json_encode(t, out, len);
	case 2:
		return tree_bin_encode(t, out, len);
	default:
		return -EPROTONOSUPPORT;
	}
}

int tree_decode(const void *buf, size_t len, int format, struct tree **out)
{
	*out = NULL;
	switch (format) {
	case 1:
		return tree_json_decode(buf, len, out);
	case 2:
		return tree_bin_decode(buf, len, out);
	default:
		return -EPROTONOSUPPORT;
	}
}
