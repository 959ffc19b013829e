/* jrec: encoding and decoding of journal record bodies (see jrec.h). */
#include "jrec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put(struct jbuf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_u8(struct jbuf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u32(struct jbuf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(b, p, 4);
}

static void put_u64(struct jbuf *b, uint64_t v)
{
	uint8_t p[8];
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	put(b, p, 8);
}

static void put_str(struct jbuf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, p, n);
}

/* A WRITE record's fixed header (after the type byte): its data follows. */
static void put_write_head(struct jbuf *b, const struct jop *op)
{
	put_u64(b, op->jid);
	put_u64(b, op->off);
	put_u64(b, (uint64_t)op->time);
	put_u32(b, (uint32_t)op->datalen);
}

/* ---- reading ---- */

struct jrd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *take(struct jrd *r, size_t n)
{
	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return NULL;
	}
	r->pos += n;
	return r->p + r->pos - n;
}

static uint8_t get_u8(struct jrd *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

static uint32_t get_u32(struct jrd *r)
{
	const uint8_t *p = take(r, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 24
		 : 0;
}

static uint64_t get_u64(struct jrd *r)
{
	const uint8_t *p = take(r, 8);
	uint64_t v = 0;
	for (int i = 7; p && i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static const void *get_str(struct jrd *r, size_t max, size_t *n)
{
	size_t len = get_u32(r);
	if (len > max) {
		r->bad = true;
		return NULL;
	}
	*n = len;
	return take(r, len);
}

bool jrec_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > TREE_NAME_MAX || memchr(name, '/', len) || memchr(name, 0, len))
		return false;
	return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* An origin path: "" (the root) or names joined by single '/'. */
static bool path_ok(const char *p, size_t len)
{
	size_t start = 0;
	if (len == 0)
		return true;
	for (size_t i = 0; i <= len; i++)
		if (i == len || p[i] == '/') {
			if (!jrec_name_ok(p + start, i - start))
				return false;
			start = i + 1;
		}
	return true;
}

/* ---- per type ---- */

static void enc_attrs(struct jbuf *b, const struct jop *op)
{
	put_u32(b, op->mode);
	put_u32(b, op->uid);
	put_u32(b, op->gid);
	put_u64(b, op->rdev);
}

static void dec_attrs(struct jrd *r, struct jop *op)
{
	op->mode = get_u32(r);
	op->uid = get_u32(r);
	op->gid = get_u32(r);
	op->rdev = get_u64(r);
}

static void enc_body(struct jbuf *b, const struct jop *op)
{
	switch (op->type) {
	case JOP_GEN:
		put_u64(b, op->gen);
		put_u64(b, op->epoch);
		put_u64(b, op->jid);
		put_u8(b, op->has_id);
		put(b, op->id, ID_LEN);
		break;
	case JOP_GEN_END:
		put_u64(b, op->gen);
		break;
	case JOP_NODE:
		put_u64(b, op->jid);
		put_u8(b, op->has_origin);
		put_str(b, op->name, op->namelen);
		enc_attrs(b, op);
		put_u32(b, op->nlink);
		put_u32(b, op->flags);
		put_u64(b, op->size);
		put_u64(b, op->base_len);
		put_u64(b, (uint64_t)op->atime);
		put_u64(b, (uint64_t)op->mtime);
		put_u64(b, (uint64_t)op->ctime);
		put_str(b, op->data, op->datalen);
		break;
	case JOP_XCLEAR:
		put_u64(b, op->jid);
		break;
	case JOP_EXTENT:
		put_u64(b, op->jid);
		put_u64(b, op->off);
		put_u64(b, op->len);
		put_u64(b, op->epoch);
		put_u64(b, op->pos.seg);
		put_u64(b, op->pos.off);
		put_u32(b, op->pos.len);
		put_u32(b, op->doff);
		break;
	case JOP_CHILD:
	case JOP_LINK:
		put_u64(b, op->parent);
		put_str(b, op->name, op->namelen);
		put_u64(b, op->jid);
		put_u64(b, (uint64_t)op->time);
		break;
	case JOP_TOMB:
	case JOP_UNLINK:
		put_u64(b, op->parent);
		put_str(b, op->name, op->namelen);
		put_u64(b, (uint64_t)op->time);
		break;
	case JOP_BIND:
		put_u64(b, op->jid);
		put_str(b, op->name, op->namelen);
		break;
	case JOP_CREATE:
		put_u64(b, op->parent);
		put_str(b, op->name, op->namelen);
		put_u64(b, op->jid);
		enc_attrs(b, op);
		put_u64(b, (uint64_t)op->time);
		put_str(b, op->data, op->datalen);
		break;
	case JOP_RENAME:
		put_u64(b, op->parent);
		put_str(b, op->name, op->namelen);
		put_u64(b, op->newparent);
		put_str(b, op->name2, op->name2len);
		put_u32(b, op->flags);
		put_u64(b, (uint64_t)op->time);
		break;
	case JOP_SETATTR:
		put_u64(b, op->jid);
		put_u32(b, op->valid);
		put_u32(b, op->mode);
		put_u32(b, op->uid);
		put_u32(b, op->gid);
		put_u64(b, op->size);
		put_u64(b, (uint64_t)op->atime);
		put_u64(b, (uint64_t)op->mtime);
		put_u64(b, (uint64_t)op->ctime);
		break;
	case JOP_WRITE: /* fixed header of JREC_WRITE_HDR bytes, then the data */
		put_write_head(b, op);
		put(b, op->data, op->datalen);
		break;
	case JOP_SETXATTR:
		put_u64(b, op->jid);
		put_u32(b, op->flags);
		put_str(b, op->name, op->namelen);
		put_str(b, op->data, op->datalen);
		put_u64(b, (uint64_t)op->time);
		break;
	case JOP_RMXATTR:
		put_u64(b, op->jid);
		put_str(b, op->name, op->namelen);
		put_u64(b, (uint64_t)op->time);
		break;
	case JOP_FREEZE:
		put_u64(b, op->epoch);
		break;
	case JOP_INTENT:
	case JOP_COMMITTED:
	case JOP_ADOPT:
		put_u64(b, op->epoch);
		put(b, op->id, ID_LEN);
		break;
	}
}

int jrec_write_head(const struct jop *op, uint8_t head[JREC_WRITE_HDR])
{
	struct jbuf b = {.p = head, .cap = JREC_WRITE_HDR}; /* exactly the room: no realloc */

	if (op->type != JOP_WRITE)
		return -EINVAL;
	put_u8(&b, op->type);
	put_write_head(&b, op);
	return b.len == JREC_WRITE_HDR ? 0 : -EINVAL;
}

int jrec_encode(const struct jop *op, struct jbuf *b)
{
	if (op->type < JOP_GEN || op->type >= JOP_MAX)
		return -EINVAL;
	b->len = 0;
	b->oom = false;
	put_u8(b, op->type);
	enc_body(b, op);
	return b->oom ? -ENOMEM : 0;
}

static void dec_name(struct jrd *r, struct jop *op)
{
	op->name = get_str(r, TREE_NAME_MAX, &op->namelen);
	if (!r->bad && !jrec_name_ok(op->name, op->namelen))
		r->bad = true;
}

static void dec_body(struct jrd *r, struct jop *op)
{
	switch (op->type) {
	case JOP_GEN:
		op->gen = get_u64(r);
		op->epoch = get_u64(r);
		op->jid = get_u64(r);
		op->has_id = get_u8(r) != 0;
		if (take(r, ID_LEN))
			memcpy(op->id, r->p + r->pos - ID_LEN, ID_LEN);
		break;
	case JOP_GEN_END:
		op->gen = get_u64(r);
		break;
	case JOP_NODE:
		op->jid = get_u64(r);
		op->has_origin = get_u8(r) != 0;
		op->name = get_str(r, JREC_PATH_MAX, &op->namelen);
		if (!r->bad && !path_ok(op->name, op->namelen))
			r->bad = true;
		dec_attrs(r, op);
		op->nlink = get_u32(r);
		op->flags = get_u32(r);
		op->size = get_u64(r);
		op->base_len = get_u64(r);
		op->atime = (int64_t)get_u64(r);
		op->mtime = (int64_t)get_u64(r);
		op->ctime = (int64_t)get_u64(r);
		op->data = get_str(r, JREC_TARGET_MAX, &op->datalen);
		break;
	case JOP_XCLEAR:
		op->jid = get_u64(r);
		break;
	case JOP_EXTENT:
		op->jid = get_u64(r);
		op->off = get_u64(r);
		op->len = get_u64(r);
		op->epoch = get_u64(r);
		op->pos.seg = get_u64(r);
		op->pos.off = get_u64(r);
		op->pos.len = get_u32(r);
		op->doff = get_u32(r);
		if (op->len == 0 || op->len > JREC_WRITE_MAX || op->off > INT64_MAX - op->len ||
		    op->doff < JREC_WRITE_HDR || op->doff > JLOG_BODY_MAX)
			r->bad = true;
		break;
	case JOP_CHILD:
	case JOP_LINK:
		op->parent = get_u64(r);
		dec_name(r, op);
		op->jid = get_u64(r);
		op->time = (int64_t)get_u64(r);
		break;
	case JOP_TOMB:
	case JOP_UNLINK:
		op->parent = get_u64(r);
		dec_name(r, op);
		op->time = (int64_t)get_u64(r);
		break;
	case JOP_BIND:
		op->jid = get_u64(r);
		op->name = get_str(r, JREC_PATH_MAX, &op->namelen);
		if (!r->bad && !path_ok(op->name, op->namelen))
			r->bad = true;
		break;
	case JOP_CREATE:
		op->parent = get_u64(r);
		dec_name(r, op);
		op->jid = get_u64(r);
		dec_attrs(r, op);
		op->time = (int64_t)get_u64(r);
		op->data = get_str(r, JREC_TARGET_MAX, &op->datalen);
		break;
	case JOP_RENAME:
		op->parent = get_u64(r);
		dec_name(r, op);
		op->newparent = get_u64(r);
		op->name2 = get_str(r, TREE_NAME_MAX, &op->name2len);
		if (!r->bad && !jrec_name_ok(op->name2, op->name2len))
			r->bad = true;
		op->flags = get_u32(r);
		op->time = (int64_t)get_u64(r);
		break;
	case JOP_SETATTR:
		op->jid = get_u64(r);
		op->valid = get_u32(r);
		op->mode = get_u32(r);
		op->uid = get_u32(r);
		op->gid = get_u32(r);
		op->size = get_u64(r);
		op->atime = (int64_t)get_u64(r);
		op->mtime = (int64_t)get_u64(r);
		op->ctime = (int64_t)get_u64(r);
		break;
	case JOP_WRITE:
		op->jid = get_u64(r);
		op->off = get_u64(r);
		op->time = (int64_t)get_u64(r);
		op->data = get_str(r, JREC_WRITE_MAX, &op->datalen);
		if (!r->bad && (op->datalen == 0 || op->off > INT64_MAX - op->datalen))
			r->bad = true;
		break;
	case JOP_SETXATTR:
		op->jid = get_u64(r);
		op->flags = get_u32(r);
		op->name = get_str(r, TREE_NAME_MAX, &op->namelen);
		op->data = get_str(r, JREC_VALUE_MAX, &op->datalen);
		op->time = (int64_t)get_u64(r);
		if (!r->bad && (op->namelen == 0 || memchr(op->name, 0, op->namelen)))
			r->bad = true;
		break;
	case JOP_RMXATTR:
		op->jid = get_u64(r);
		op->name = get_str(r, TREE_NAME_MAX, &op->namelen);
		op->time = (int64_t)get_u64(r);
		if (!r->bad && (op->namelen == 0 || memchr(op->name, 0, op->namelen)))
			r->bad = true;
		break;
	case JOP_FREEZE:
		op->epoch = get_u64(r);
		break;
	case JOP_INTENT:
	case JOP_COMMITTED:
	case JOP_ADOPT:
		op->epoch = get_u64(r);
		if (take(r, ID_LEN))
			memcpy(op->id, r->p + r->pos - ID_LEN, ID_LEN);
		op->has_id = !r->bad;
		break;
	default:
		r->bad = true;
	}
}

int jrec_decode(const uint8_t *p, size_t len, struct jop *op)
{
	struct jrd r = {.p = p, .len = len};

	memset(op, 0, sizeof(*op));
	op->type = get_u8(&r);
	dec_body(&r, op);
	/* a symlink target or data must not be absent where it is required */
	if (!r.bad && op->type == JOP_CREATE && (op->mode & 0170000) == 0120000 && op->datalen == 0)
		r.bad = true;
	if (r.bad || r.pos != r.len)
		return -EBADMSG;
	if (op->datalen == 0)
		op->data = NULL;
	return 0;
}
