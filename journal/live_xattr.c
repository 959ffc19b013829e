/* live_xattr: extended attributes of the live tree — set, remove, get, list — and POSIX
 * access ACLs, which the kernel leaves to the file system to turn into mode bits.
 *
 * As in live_ops.c, each change is an x_*() that checks, journals (unless replaying) and only
 * then changes the node; the live_*() entry points take the lock and find the node. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "live_int.h"

static struct xattr *xattr_find(const struct lnode *n, const char *name)
{
	for (size_t i = 0; i < n->nxattrs; i++)
		if (strcmp(n->xattrs[i].name, name) == 0)
			return &n->xattrs[i];
	return NULL;
}

int x_setxattr(struct live *l, struct lnode *n, const char *name, const void *value, size_t size,
	       int flags, int64_t t)
{
	struct xattr *x = xattr_find(n, name);
	uint8_t *copy;
	size_t i;
	int ret;

	if (!*name || strlen(name) > TREE_NAME_MAX)
		return -ERANGE;
	if (size > TREE_MAX_XATTR_VALUE)
		return -E2BIG;
	if ((flags & XATTR_CREATE) && x)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !x)
		return -ENODATA;
	if (!x && n->nxattrs >= TREE_MAX_XATTRS)
		return -ENOSPC;
	if (!l->replaying) {
		struct jop op = {.type = JOP_SETXATTR,
				 .flags = (uint32_t)flags,
				 .name = name,
				 .namelen = strlen(name),
				 .data = value,
				 .datalen = size,
				 .time = t};
		if ((ret = jbind(l, n)))
			return ret;
		op.jid = n->jid;
		if ((ret = jemit(l, &op)))
			return ret;
	}
	if (!(copy = malloc(size ? size : 1)))
		return -ENOMEM;
	memcpy(copy, value, size);
	if (!x) { /* insert in name order (the tree format wants them sorted) */
		struct xattr *v = realloc(n->xattrs, (n->nxattrs + 1) * sizeof(*v));
		char *nm = strdup(name);
		if (!v || !nm) {
			if (v)
				n->xattrs = v;
			free(nm);
			free(copy);
			return -ENOMEM;
		}
		n->xattrs = v;
		for (i = n->nxattrs; i > 0 && strcmp(v[i - 1].name, name) > 0; i--)
			v[i] = v[i - 1];
		x = &v[i];
		*x = (struct xattr){.name = nm};
		n->nxattrs++;
	}
	free(x->value);
	x->value = copy;
	x->len = size;
	n->ctime = t;
	node_touch(l, n);
	return 0;
}

int x_rmxattr(struct live *l, struct lnode *n, const char *name, int64_t t)
{
	struct xattr *x = xattr_find(n, name);
	int ret;

	if (!x)
		return -ENODATA;
	if (!l->replaying) {
		struct jop op = {
		    .type = JOP_RMXATTR, .name = name, .namelen = strlen(name), .time = t};
		if ((ret = jbind(l, n)))
			return ret;
		op.jid = n->jid;
		if ((ret = jemit(l, &op)))
			return ret;
	}
	free(x->name);
	free(x->value);
	size_t i = (size_t)(x - n->xattrs);
	memmove(&n->xattrs[i], &n->xattrs[i + 1], (n->nxattrs - i - 1) * sizeof(*x));
	n->nxattrs--;
	n->ctime = t;
	node_touch(l, n);
	return 0;
}

ssize_t live_getxattr(struct live *l, uint64_t ino, const char *name, void *buf, size_t size)
{
	struct lnode *n;
	struct xattr *x;
	ssize_t ret;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	x = n ? xattr_find(n, name) : NULL;
	if (!n)
		ret = -ENOENT;
	else if (!x)
		ret = -ENODATA;
	else if (size && size < x->len)
		ret = -ERANGE;
	else {
		if (size)
			memcpy(buf, x->value, x->len);
		ret = (ssize_t)x->len;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

ssize_t live_listxattr(struct live *l, uint64_t ino, char *buf, size_t size)
{
	struct lnode *n;
	size_t total = 0;
	ssize_t ret;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	for (size_t i = 0; n && i < n->nxattrs; i++)
		total += strlen(n->xattrs[i].name) + 1;
	if (!n) {
		ret = -ENOENT;
	} else if (size && size < total) {
		ret = -ERANGE;
	} else {
		for (size_t i = 0, at = 0; size && i < n->nxattrs; i++) {
			size_t len = strlen(n->xattrs[i].name) + 1;
			memcpy(buf + at, n->xattrs[i].name, len);
			at += len;
		}
		ret = (ssize_t)total;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* A POSIX access ACL (the kernel's xattr form: LE32 version 2, then entries of LE16 tag, LE16
 * permissions, LE32 id) as mode bits; *minimal: it says no more than the mode does. */
static int acl_mode(const uint8_t *v, size_t len, uint32_t *mode, bool *minimal)
{
	uint32_t user = 0, group = 0, other = 0, mask = 0;
	bool has_mask = false;
	size_t n;

	if (len < 4 || (len - 4) % 8 || v[0] != 2 || v[1] || v[2] || v[3])
		return -EINVAL;
	n = (len - 4) / 8;
	*minimal = true;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = v + 4 + 8 * i;
		unsigned tag = e[0] | e[1] << 8, perm = (e[2] | e[3] << 8) & 7;
		switch (tag) {
		case 0x01:
			user = perm;
			break;
		case 0x04:
			group = perm;
			break;
		case 0x10:
			mask = perm;
			has_mask = true;
			break;
		case 0x20:
			other = perm;
			break;
		case 0x02:
		case 0x08:
			*minimal = false;
			break;
		default:
			return -EINVAL;
		}
	}
	if (has_mask)
		*minimal = false;
	*mode = user << 6 | (has_mask ? mask : group) << 3 | other;
	return 0;
}

/* The kernel leaves it to the file system to turn an access ACL into mode bits (fs/fuse/acl.c):
 * the mode follows the ACL, and an ACL saying no more than the mode is not kept. */
static int set_access_acl(struct live *l, struct lnode *n, const void *value, size_t size,
			  int flags, int64_t t)
{
	uint32_t bits;
	bool minimal;
	int ret = acl_mode(value, size, &bits, &minimal);

	if (ret)
		return ret;
	if (!minimal)
		ret = x_setxattr(l, n, "system.posix_acl_access", value, size, flags, t);
	else if (flags & XATTR_REPLACE)
		ret = xattr_find(n, "system.posix_acl_access") ? 0 : -ENODATA;
	if (!ret && minimal && xattr_find(n, "system.posix_acl_access"))
		ret = x_rmxattr(l, n, "system.posix_acl_access", t);
	if (!ret)
		ret = x_setattr(l, n, LIVE_SET_MODE | LIVE_SET_CTIME, (n->mode & ~0777u) | bits, 0,
				0, 0, 0, 0, t);
	return ret;
}

int live_setxattr(struct live *l, uint64_t ino, const char *name, const void *value, size_t size,
		  int flags)
{
	struct lnode *n;
	int ret;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	if (!n)
		ret = -ENOENT;
	else if (!strcmp(name, "system.posix_acl_access"))
		ret = set_access_acl(l, n, value, size, flags, live_now());
	else
		ret = x_setxattr(l, n, name, value, size, flags, live_now());
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int live_removexattr(struct live *l, uint64_t ino, const char *name)
{
	struct lnode *n;
	int ret;

	pthread_mutex_lock(&l->lock);
	n = node_by_ino(l, ino);
	ret = n ? x_rmxattr(l, n, name, live_now()) : -ENOENT;
	pthread_mutex_unlock(&l->lock);
	return ret;
}
