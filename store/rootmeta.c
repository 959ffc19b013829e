/* rootmeta: the snapshot root's own metadata in the manifest (see rootmeta.h). */
#include "rootmeta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refjson.h"
#include "tree_int.h"

json_t *rootmeta_encode(const struct tree_entry *e)
{
	json_t *o = json_pack("{s:i s:I s:I s:I}", "mode", (int)e->mode, "uid", (json_int_t)e->uid,
			      "gid", (json_int_t)e->gid, "mtime", (json_int_t)e->mtime_ns);
	json_t *a = e->nxattrs ? json_array() : NULL;

	for (size_t i = 0; o && a && i < e->nxattrs; i++) {
		const struct xattr *x = &e->xattrs[i];
		json_t *pair = json_pack("[o o]", refjson_name(x->name, strlen(x->name)),
					 refjson_bytes(x->value, x->len));
		if (!pair || json_array_append_new(a, pair)) {
			json_decref(a);
			a = NULL;
			json_decref(o);
			o = NULL;
		}
	}
	if (o && a && json_object_set_new(o, "xattrs", a)) {
		json_decref(o);
		return NULL;
	}
	if (!o)
		json_decref(a);
	return o;
}

int rootmeta_decode(const json_t *v, struct tree_entry *e)
{
	const json_t *t = json_object_get(v, "mtime"), *x = json_object_get(v, "xattrs");
	uint64_t mode, uid, gid;

	memset(e, 0, sizeof(*e));
	e->type = ENT_DIR;
	if (!json_is_object(v) || refjson_get_uint(v, "mode", 07777, &mode) ||
	    refjson_get_uint(v, "uid", UINT32_MAX, &uid) ||
	    refjson_get_uint(v, "gid", UINT32_MAX, &gid) || !json_is_integer(t))
		return -EBADMSG;
	e->mode = (uint32_t)mode;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->mtime_ns = json_integer_value(t);
	e->nlink = 1;
	return x ? tree_json_decode_xattrs(x, e) : 0;
}

size_t rootmeta_xattr_bytes(const struct tree_entry *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nxattrs; i++)
		n += 2 * strlen(e->xattrs[i].name) + 2 * e->xattrs[i].len + 32;
	return n;
}
