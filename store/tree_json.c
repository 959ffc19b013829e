/* tree_json: the format 1 encoding of directory records, JSON (docs/FORMAT.md 9.1-9.3).
 * Decoding treats its input as hostile; every rule is shared with the binary encoding of
 * format 2 (tree_bin.c) and listed in tree.h. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "refjson.h"
#include "tree_int.h"

/* ---- encoding ---- */

static json_t *encode_xattrs(const struct tree_entry *e)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < e->nxattrs; i++) {
		json_t *pair = json_pack("[s o]", e->xattrs[i].name,
					 refjson_bytes(e->xattrs[i].value, e->xattrs[i].len));
		if (!pair || json_array_append_new(a, pair)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *encode_chunks(const struct tree_entry *e)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < e->nchunks; i++) {
		json_t *c = refjson_chunk(&e->chunks[i]);
		if (!c || json_array_append_new(a, c)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

static json_t *encode_entry(const struct tree_entry *e)
{
	json_t *o = json_object();
	int r = 0;
	if (!o)
		return NULL;
	r |= set_new(o, "name", refjson_name(e->name, e->namelen));
	r |= set_new(o, "type", json_string(tree_type_names[e->type]));
	r |= set_new(o, "mode", json_integer(e->mode));
	r |= set_new(o, "uid", json_integer(e->uid));
	r |= set_new(o, "gid", json_integer(e->gid));
	r |= set_new(o, "mtime", json_integer(e->mtime_ns));
	r |= set_new(o, "size", json_integer((json_int_t)e->size));
	if (e->type == ENT_CHR || e->type == ENT_BLK)
		r |= set_new(o, "rdev", json_integer((json_int_t)e->rdev));
	if (e->link_id) {
		r |= set_new(o, "link", json_integer((json_int_t)e->link_id));
		r |= set_new(o, "nlink", json_integer(e->nlink));
	}
	if (e->type == ENT_SYMLINK)
		r |= set_new(o, "target", refjson_bytes((const uint8_t *)e->target, e->size));
	if (e->nxattrs)
		r |= set_new(o, "xattrs", encode_xattrs(e));
	if (e->type == ENT_FILE)
		r |= set_new(o, "chunks", encode_chunks(e));
	if (e->type == ENT_DIR) {
		r |= set_new(o, "tree", refjson_ref(&e->subtree));
		r |= set_new(o, "entries", json_integer((json_int_t)e->subtree_entries));
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int tree_json_encode(const struct tree *t, uint8_t **out, size_t *len)
{
	json_t *root = json_object(), *arr = json_array();
	int ret = -ENOMEM;

	if (!root || !arr)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		json_t *e;
		if (t->e[i].type > ENT_BLK) { /* sockets: format 2 only (FORMAT.md 9.2) */
			ret = -EOPNOTSUPP;
			goto out;
		}
		e = encode_entry(&t->e[i]);
		if (!e || json_array_append_new(arr, e))
			goto out;
	}
	if (json_object_set_new(root, "v", json_integer(1)) ||
	    json_object_set(root, "entries", arr))
		goto out;
	*out = (uint8_t *)json_dumps(root, JSON_COMPACT);
	if (!*out)
		goto out;
	*len = strlen((char *)*out);
	ret = 0;
out:
	json_decref(arr);
	json_decref(root);
	return ret;
}

/* ---- decoding (hostile input) ---- */

static int decode_type(const json_t *v, enum entry_type *t)
{
	const char *s = json_string_value(v);
	for (int i = ENT_FILE; s && i <= ENT_BLK; i++) /* no sockets in format 1 */
		if (!strcmp(s, tree_type_names[i])) {
			*t = (enum entry_type)i;
			return 0;
		}
	return -EBADMSG;
}

static int decode_name(const json_t *v, struct tree_entry *e)
{
	uint8_t *n;
	size_t len;
	int r = refjson_get_bytes(v, TREE_NAME_MAX, &n, &len);
	if (r)
		return r;
	e->name = (char *)n;
	e->namelen = len;
	if (len == 0 || memchr(n, '/', len) || memchr(n, 0, len) || !strcmp(e->name, ".") ||
	    !strcmp(e->name, ".."))
		return -EBADMSG;
	return 0;
}

/* Also the manifest's root metadata (rootmeta.c): one rule set for xattrs wherever they are
 * decoded from JSON. */
int tree_json_decode_xattrs(const json_t *a, struct tree_entry *e)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n > TREE_MAX_XATTRS)
		return -EBADMSG;
	e->xattrs = calloc(n ? n : 1, sizeof(*e->xattrs));
	if (!e->xattrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(a, i);
		struct xattr *x = &e->xattrs[e->nxattrs];
		uint8_t *name;
		size_t nl;
		if (!json_is_array(p) || json_array_size(p) != 2)
			return -EBADMSG;
		if (refjson_get_bytes(json_array_get(p, 0), TREE_NAME_MAX, &name, &nl))
			return -EBADMSG;
		x->name = (char *)name;
		e->nxattrs++;
		if (nl == 0 || memchr(name, 0, nl) ||
		    refjson_get_bytes(json_array_get(p, 1), TREE_MAX_XATTR_VALUE, &x->value,
				      &x->len))
			return -EBADMSG;
	}
	return 0;
}

/* Chunks must be in order, non-overlapping and inside the file. */
static int decode_chunks(const json_t *a, struct tree_entry *e)
{
	size_t n = json_array_size(a);
	uint64_t end = 0;
	if (!json_is_array(a) || n > e->size)
		return -EBADMSG;
	e->chunks = calloc(n ? n : 1, sizeof(*e->chunks));
	if (!e->chunks)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct chunk_ref *c = &e->chunks[i];
		if (refjson_get_chunk(json_array_get(a, i), c))
			return -EBADMSG;
		if (c->rec.plen == 0 || c->foff < end || c->foff > e->size ||
		    e->size - c->foff < c->rec.plen)
			return -EBADMSG;
		end = c->foff + c->rec.plen;
		e->nchunks++;
	}
	return 0;
}

static int decode_kind(const json_t *o, struct tree_entry *e)
{
	uint8_t *tgt;
	size_t tl;
	switch (e->type) {
	case ENT_FILE:
		return decode_chunks(json_object_get(o, "chunks"), e);
	case ENT_DIR:
		if (refjson_get_ref(json_object_get(o, "tree"), &e->subtree) ||
		    refjson_get_uint(o, "entries", TREE_MAX_ENTRIES, &e->subtree_entries))
			return -EBADMSG;
		return 0;
	case ENT_SYMLINK:
		if (refjson_get_bytes(json_object_get(o, "target"), 4095, &tgt, &tl))
			return -EBADMSG;
		e->target = (char *)tgt;
		if (tl == 0 || memchr(tgt, 0, tl) || tl != e->size)
			return -EBADMSG;
		return 0;
	case ENT_CHR:
	case ENT_BLK:
		return refjson_get_uint(o, "rdev", UINT64_MAX >> 1, &e->rdev);
	default:
		return 0;
	}
}

static int decode_entry(const json_t *o, struct tree_entry *e)
{
	uint64_t mode, uid, gid, size, v;
	const json_t *mt = json_object_get(o, "mtime");

	if (!json_is_object(o) || decode_name(json_object_get(o, "name"), e) ||
	    decode_type(json_object_get(o, "type"), &e->type) ||
	    refjson_get_uint(o, "mode", 07777, &mode) ||
	    refjson_get_uint(o, "uid", UINT32_MAX, &uid) ||
	    refjson_get_uint(o, "gid", UINT32_MAX, &gid) ||
	    refjson_get_uint(o, "size", INT64_MAX, &size) || !json_is_integer(mt))
		return -EBADMSG;
	e->mode = (uint32_t)mode;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->size = size;
	e->mtime_ns = json_integer_value(mt);
	e->nlink = 1;
	if (json_object_get(o, "link")) {
		if (refjson_get_uint(o, "link", INT64_MAX, &e->link_id) || !e->link_id ||
		    refjson_get_uint(o, "nlink", UINT32_MAX, &v) || v < 1 || e->type != ENT_FILE)
			return -EBADMSG;
		e->nlink = (uint32_t)v;
	}
	if (json_object_get(o, "xattrs") &&
	    tree_json_decode_xattrs(json_object_get(o, "xattrs"), e))
		return -EBADMSG;
	return decode_kind(o, e);
}

int tree_json_decode(const void *json, size_t len, struct tree **out)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	const json_t *arr = json_object_get(root, "entries");
	struct tree *t = calloc(1, sizeof(*t));
	size_t n = json_array_size(arr);
	int ret = -EBADMSG;

	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	if (!json_is_array(arr) || n > TREE_MAX_ENTRIES ||
	    json_integer_value(json_object_get(root, "v")) != 1)
		goto out;
	t->e = calloc(n ? n : 1, sizeof(*t->e));
	if (!t->e) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		t->n++;
		ret = decode_entry(json_array_get(arr, i), &t->e[i]);
		if (ret)
			goto out;
		/* strictly increasing names: sorted, no duplicates */
		if (i && tree_entry_cmp(&t->e[i - 1], &t->e[i]) >= 0) {
			ret = -EBADMSG;
			goto out;
		}
	}
	*out = t;
	t = NULL;
	ret = 0;
out:
	tree_free(t);
	json_decref(root);
	return ret;
}
