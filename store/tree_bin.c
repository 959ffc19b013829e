/* tree_bin: the format 2 encoding of directory records (docs/FORMAT.md 9.7).
 *
 * Little-endian fixed-width fields, raw 32-byte ids (no hex), and a NUL after every name,
 * symlink target and xattr name, so the decoder copies the record once and points into the
 * copy: one pass, one allocation per tree (struct tree, the entries, every chunk list and
 * xattr array, the copy), instead of a JSON document and a malloc per name, chunk list and
 * hex string. The header carries the totals that size that allocation; they are checked
 * against the record's length before anything is allocated, and against what the entries
 * hold after.
 *
 * Decoding treats the record as hostile and applies every rule tree_json.c applies (names,
 * order, types, bounds, chunk lists, hard-link fields) plus the ones of the binary layout
 * (reserved bits zero, totals exact, no trailing bytes). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree_int.h"

#define BIN_MAGIC     "EMBT"
#define BIN_VERSION   2
#define BIN_HDR	      20	      /* magic, version, 3 zero bytes, n, nchunks, nxattrs */
#define BIN_FIXED     29	      /* type .. namelen */
#define BIN_ENT_MIN   (BIN_FIXED + 2) /* a one-byte name and its NUL */
#define BIN_REF	      64	      /* id, pack, offset, length, plen */
#define BIN_CHUNK     (8 + BIN_REF)   /* file offset, then a ref */
#define BIN_XATTR_MIN 7		      /* namelen, a one-byte name, NUL, value length */
#define BIN_LINK      12	      /* link id, nlink */

enum { F_LINK = 1, F_XATTRS = 2 }; /* entry flags */

_Static_assert(sizeof(struct tree) % 8 == 0 && sizeof(struct tree_entry) % 8 == 0 &&
		   sizeof(struct chunk_ref) % 8 == 0 && sizeof(struct xattr) % 8 == 0,
	       "the parts of a packed tree stay 8-byte aligned");

/* ---- little-endian access ---- */

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint8_t *st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
	return p + 2;
}

static uint8_t *st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
	return p + 8;
}

static uint8_t *stmem(uint8_t *p, const void *src, size_t n)
{
	if (n)
		memcpy(p, src, n);
	return p + n;
}

/* ---- encoding (writers: the input is trusted, but never truncated silently) ---- */

static size_t kind_size(const struct tree_entry *e)
{
	switch (e->type) {
	case ENT_FILE:
		return 4 + e->nchunks * (size_t)BIN_CHUNK;
	case ENT_DIR:
		return BIN_REF + 4;
	case ENT_SYMLINK:
		return e->size + 1;
	case ENT_CHR:
	case ENT_BLK:
		return 8;
	default:
		return 0;
	}
}

/* Encoded size of e, or 0 when the layout cannot represent it. */
static size_t entry_size(const struct tree_entry *e)
{
	size_t n = BIN_FIXED + e->namelen + 1 + kind_size(e);

	if (e->namelen > 255 || e->mode > 0xffff || e->type < ENT_FILE || e->type > ENT_SOCK ||
	    e->nchunks > UINT32_MAX || e->subtree_entries > UINT32_MAX || e->nxattrs > 0xffff ||
	    (e->type == ENT_SYMLINK && (!e->target || e->size > 4096)))
		return 0;
	if (e->link_id)
		n += BIN_LINK;
	if (e->nxattrs)
		n += 2;
	for (size_t i = 0; i < e->nxattrs; i++) {
		size_t nl = strlen(e->xattrs[i].name);
		if (nl > 255 || e->xattrs[i].len > UINT32_MAX)
			return 0;
		n += 1 + nl + 1 + 4 + e->xattrs[i].len;
	}
	return n;
}

static uint8_t *put_ref(uint8_t *w, const struct rec_ref *r)
{
	w = stmem(w, r->id, ID_LEN);
	w = stmem(w, r->pack, PACK_ID_LEN);
	w = st64(w, r->off);
	w = st32(w, r->len);
	return st32(w, r->plen);
}

static uint8_t *put_kind(uint8_t *w, const struct tree_entry *e)
{
	switch (e->type) {
	case ENT_FILE:
		w = st32(w, (uint32_t)e->nchunks);
		for (size_t i = 0; i < e->nchunks; i++)
			w = put_ref(st64(w, e->chunks[i].foff), &e->chunks[i].rec);
		return w;
	case ENT_DIR:
		return st32(put_ref(w, &e->subtree), (uint32_t)e->subtree_entries);
	case ENT_SYMLINK:
		w = stmem(w, e->target, e->size);
		*w = 0;
		return w + 1;
	case ENT_CHR:
	case ENT_BLK:
		return st64(w, e->rdev);
	default:
		return w;
	}
}

static uint8_t *put_entry(uint8_t *w, const struct tree_entry *e)
{
	*w++ = (uint8_t)e->type;
	*w++ = (uint8_t)((e->link_id ? F_LINK : 0) | (e->nxattrs ? F_XATTRS : 0));
	w = st16(w, (uint16_t)e->mode);
	w = st32(w, e->uid);
	w = st32(w, e->gid);
	w = st64(w, (uint64_t)e->mtime_ns);
	w = st64(w, e->size);
	*w++ = (uint8_t)e->namelen;
	w = stmem(w, e->name, e->namelen);
	*w++ = 0;
	if (e->link_id)
		w = st32(st64(w, e->link_id), e->nlink);
	w = put_kind(w, e);
	if (e->nxattrs) {
		w = st16(w, (uint16_t)e->nxattrs);
		for (size_t i = 0; i < e->nxattrs; i++) {
			size_t nl = strlen(e->xattrs[i].name);
			*w++ = (uint8_t)nl;
			w = stmem(w, e->xattrs[i].name, nl + 1);
			w = st32(w, (uint32_t)e->xattrs[i].len);
			w = stmem(w, e->xattrs[i].value, e->xattrs[i].len);
		}
	}
	return w;
}

int tree_bin_encode(const struct tree *t, uint8_t **out, size_t *len)
{
	size_t total = BIN_HDR, nchunks = 0, nxattrs = 0;
	uint8_t *buf, *w;

	if (t->n > UINT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		size_t n = entry_size(&t->e[i]);
		if (!n)
			return -EINVAL;
		total += n;
		nchunks += t->e[i].type == ENT_FILE ? t->e[i].nchunks : 0;
		nxattrs += t->e[i].nxattrs;
	}
	if (nchunks > UINT32_MAX || nxattrs > UINT32_MAX)
		return -EINVAL;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	w = stmem(buf, BIN_MAGIC, 4);
	*w++ = BIN_VERSION;
	w = stmem(w, "\0\0\0", 3);
	w = st32(w, (uint32_t)t->n);
	w = st32(w, (uint32_t)nchunks);
	w = st32(w, (uint32_t)nxattrs);
	for (size_t i = 0; i < t->n; i++)
		w = put_entry(w, &t->e[i]);
	*out = buf;
	*len = total;
	return 0;
}

/* ---- decoding (hostile input) ---- */

struct dec {
	const uint8_t *p, *end;		 /* the unread part of the copy */
	struct chunk_ref *chunks;	 /* next free chunk slot */
	struct xattr *xattrs;		 /* next free xattr slot */
	size_t chunks_left, xattrs_left; /* of the header's totals */
};

static const uint8_t *take(struct dec *d, size_t n)
{
	const uint8_t *b = d->p;

	if ((size_t)(d->end - d->p) < n)
		return NULL;
	d->p += n;
	return b;
}

/* len bytes (none of them NUL) and a NUL: a C string inside the copy. */
static char *take_cstr(struct dec *d, size_t len)
{
	const uint8_t *b = take(d, len + 1);

	if (!b || b[len] != 0 || memchr(b, 0, len))
		return NULL;
	return (char *)(uintptr_t)b; /* the copy is ours and writable */
}

static int get_ref(struct dec *d, struct rec_ref *r)
{
	const uint8_t *b = take(d, BIN_REF);

	if (!b)
		return -EBADMSG;
	memcpy(r->id, b, ID_LEN);
	memcpy(r->pack, b + ID_LEN, PACK_ID_LEN);
	r->off = ld64(b + 48);
	r->len = ld32(b + 56);
	r->plen = ld32(b + 60);
	if (r->off > INT64_MAX || r->len < RECORD_OVERHEAD ||
	    r->len > RECORD_MAX_PLAIN + (1u << 20) || r->plen > RECORD_MAX_PLAIN)
		return -EBADMSG;
	return 0;
}

/* Chunks must be in order, non-overlapping and inside the file. */
static int get_chunks(struct dec *d, struct tree_entry *e)
{
	const uint8_t *b = take(d, 4);
	uint64_t end = 0;
	size_t n;

	if (!b)
		return -EBADMSG;
	n = ld32(b);
	if (n > e->size || n > d->chunks_left)
		return -EBADMSG;
	e->chunks = d->chunks;
	for (size_t i = 0; i < n; i++) {
		struct chunk_ref *c = &e->chunks[i];
		if (!(b = take(d, 8)))
			return -EBADMSG;
		c->foff = ld64(b);
		if (get_ref(d, &c->rec) || c->rec.plen == 0 || c->foff < end || c->foff > e->size ||
		    e->size - c->foff < c->rec.plen)
			return -EBADMSG;
		end = c->foff + c->rec.plen;
		e->nchunks++;
	}
	d->chunks += n;
	d->chunks_left -= n;
	return 0;
}

static int get_kind(struct dec *d, struct tree_entry *e)
{
	const uint8_t *b;

	switch (e->type) {
	case ENT_FILE:
		return get_chunks(d, e);
	case ENT_DIR:
		if (get_ref(d, &e->subtree) || !(b = take(d, 4)))
			return -EBADMSG;
		e->subtree_entries = ld32(b);
		return e->subtree_entries > TREE_MAX_ENTRIES ? -EBADMSG : 0;
	case ENT_SYMLINK:
		if (e->size == 0 || e->size > 4095 || !(e->target = take_cstr(d, e->size)))
			return -EBADMSG;
		return 0;
	case ENT_CHR:
	case ENT_BLK:
		if (!(b = take(d, 8)))
			return -EBADMSG;
		e->rdev = ld64(b);
		return e->rdev > INT64_MAX ? -EBADMSG : 0;
	default:
		return 0;
	}
}

static int get_xattrs(struct dec *d, struct tree_entry *e)
{
	const uint8_t *b = take(d, 2);
	size_t n;

	if (!b)
		return -EBADMSG;
	n = ld16(b);
	if (n == 0 || n > TREE_MAX_XATTRS || n > d->xattrs_left)
		return -EBADMSG;
	e->xattrs = d->xattrs;
	for (size_t i = 0; i < n; i++) {
		struct xattr *x = &e->xattrs[i];
		size_t nl;
		if (!(b = take(d, 1)) || (nl = b[0]) == 0 || !(x->name = take_cstr(d, nl)) ||
		    !(b = take(d, 4)) || (x->len = ld32(b)) > TREE_MAX_XATTR_VALUE ||
		    !(b = take(d, x->len)))
			return -EBADMSG;
		x->value = (uint8_t *)(uintptr_t)b;
		e->nxattrs++;
	}
	d->xattrs += n;
	d->xattrs_left -= n;
	return 0;
}

static int get_name(struct dec *d, struct tree_entry *e, size_t len)
{
	if (len == 0 || !(e->name = take_cstr(d, len)))
		return -EBADMSG;
	e->namelen = len;
	if (memchr(e->name, '/', len) || !strcmp(e->name, ".") || !strcmp(e->name, ".."))
		return -EBADMSG;
	return 0;
}

static int get_entry(struct dec *d, struct tree_entry *e)
{
	const uint8_t *b = take(d, BIN_FIXED);
	unsigned flags;

	if (!b || b[0] < ENT_FILE || b[0] > ENT_SOCK || (b[1] & ~(F_LINK | F_XATTRS)))
		return -EBADMSG;
	e->type = (enum entry_type)b[0];
	flags = b[1];
	e->mode = ld16(b + 2);
	e->uid = ld32(b + 4);
	e->gid = ld32(b + 8);
	e->mtime_ns = (int64_t)ld64(b + 12);
	e->size = ld64(b + 20);
	e->nlink = 1;
	if (e->mode > 07777 || e->size > INT64_MAX || get_name(d, e, b[28]))
		return -EBADMSG;
	if (flags & F_LINK) {
		if (e->type != ENT_FILE || !(b = take(d, BIN_LINK)))
			return -EBADMSG;
		e->link_id = ld64(b);
		e->nlink = ld32(b + 8);
		if (e->link_id == 0 || e->link_id > INT64_MAX || e->nlink == 0)
			return -EBADMSG;
	}
	if (get_kind(d, e))
		return -EBADMSG;
	return (flags & F_XATTRS) ? get_xattrs(d, e) : 0;
}

/* The header: totals bounded by what the record's length can hold. */
static int get_header(const uint8_t *buf, size_t len, size_t *n, size_t *nchunks, size_t *nxattrs)
{
	if (len < BIN_HDR || memcmp(buf, BIN_MAGIC, 4) || buf[4] != BIN_VERSION || buf[5] ||
	    buf[6] || buf[7])
		return -EBADMSG;
	*n = ld32(buf + 8);
	*nchunks = ld32(buf + 12);
	*nxattrs = ld32(buf + 16);
	len -= BIN_HDR;
	if (*n > TREE_MAX_ENTRIES || *n > len / BIN_ENT_MIN || *nchunks > len / BIN_CHUNK ||
	    *nxattrs > len / BIN_XATTR_MIN)
		return -EBADMSG;
	return 0;
}

int tree_bin_decode(const void *buf, size_t len, struct tree **out)
{
	size_t n, nchunks, nxattrs, off_e, off_c, off_x, off_b;
	struct tree *t;
	struct dec d;
	int ret = get_header(buf, len, &n, &nchunks, &nxattrs);

	if (ret)
		return ret;
	/* every part's size is a multiple of 8, so each stays aligned */
	off_e = sizeof(*t);
	off_c = off_e + n * sizeof(struct tree_entry);
	off_x = off_c + nchunks * sizeof(struct chunk_ref);
	off_b = off_x + nxattrs * sizeof(struct xattr);
	t = malloc(off_b + len);
	if (!t)
		return -ENOMEM;
	memset(t, 0, off_c);
	t->e = (struct tree_entry *)((char *)t + off_e);
	t->packed = true;
	memcpy((char *)t + off_b, buf, len);
	d = (struct dec){.p = (uint8_t *)t + off_b + BIN_HDR,
			 .end = (uint8_t *)t + off_b + len,
			 .chunks = (struct chunk_ref *)((char *)t + off_c),
			 .xattrs = (struct xattr *)((char *)t + off_x),
			 .chunks_left = nchunks,
			 .xattrs_left = nxattrs};
	for (size_t i = 0; i < n && !ret; i++) {
		ret = get_entry(&d, &t->e[i]);
		t->n++;
		/* strictly increasing names: sorted, no duplicates */
		if (!ret && i && tree_entry_cmp(&t->e[i - 1], &t->e[i]) >= 0)
			ret = -EBADMSG;
	}
	if (!ret && (d.p != d.end || d.chunks_left || d.xattrs_left))
		ret = -EBADMSG; /* trailing bytes, or totals that do not match the entries */
	if (ret) {
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}
