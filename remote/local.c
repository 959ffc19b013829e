/* local: objects are files under a directory (the embedded default backend).
 * Writes are atomic and durable: temp file in the same directory, fsync, rename (or link for
 * create-only, which fails with EEXIST instead of replacing), fsync of the directory. */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

struct local {
	char *root; /* immutable after open; no lock needed */
};

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

/* mkdir -p of path's directory part; new directories are fsynced into their parents so a
 * crash cannot lose a published object's directory entry. */
static int make_parents(char *path)
{
	char *slash = path;
	int ret = 0;

	while ((slash = strchr(slash + 1, '/'))) {
		*slash = '\0';
		if (mkdir(path, 0755) == 0) {
			char *up = strrchr(path, '/');
			if (up && up != path) {
				*up = '\0';
				ret = fsync_dir(path);
				*up = '/';
			}
		} else if (errno != EEXIST) {
			ret = -errno;
		}
		*slash = '/';
		if (ret < 0)
			break;
	}
	return ret;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A big object (a pack) from a page-aligned buffer: its whole pages are written with
 * O_DIRECT, from the caller's buffer straight to the device, the last partial page through
 * the page cache. The buffered copy into fresh page-cache pages was the largest single cost
 * of a seal (perf: copy_folio_from_iter_atomic, 23-27 % of its CPU), and the pages it filled
 * evicted the cache of whatever the host was doing, for data read back only by restores.
 * Any refusal (a file system without O_DIRECT, a device with larger blocks): buffered. */
#define DIRECT_MIN   (1u << 20)
#define DIRECT_ALIGN 4096u
static int write_object(int fd, const uint8_t *p, size_t len)
{
	size_t whole = len & ~(size_t)(DIRECT_ALIGN - 1);
	int fl = fcntl(fd, F_GETFL);

	if (len < DIRECT_MIN || (uintptr_t)p % DIRECT_ALIGN || fl < 0 ||
	    fcntl(fd, F_SETFL, fl | O_DIRECT) < 0)
		return write_all(fd, p, len);
	while (whole > 0) {
		ssize_t w = write(fd, p, whole);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* refused (EINVAL: not for this file or buffer): buffered */
		p += w;
		len -= (size_t)w;
		whole = (size_t)w % DIRECT_ALIGN ? 0 : whole - (size_t)w;
	}
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return write_all(fd, p, len);
}

/* Create dir/.tmp.<base>.<random> exclusively; on success *tmp is its malloc'd path. */
static int tmp_create(const char *path, char **tmp)
{
	const char *base = strrchr(path, '/') + 1;
	size_t dlen = (size_t)(base - path);
	size_t cap = strlen(path) + 64;
	char *t = malloc(cap);
	int fd;

	if (!t)
		return -ENOMEM;
	snprintf(t, cap, "%.*s" REMOTE_TMP_PREFIX "%s.%08x%08x", (int)dlen, path, base,
		 randombytes_random(), randombytes_random());
	fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = -errno;
		free(t);
		return e;
	}
	*tmp = t;
	return fd;
}

static int local_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		     uint8_t **data, size_t *n);

static int holds(struct local *l, const char *key, const void *data, size_t len)
{
	uint8_t *got = NULL;
	size_t n = 0;
	int same = local_get(l, key, 0, 0, len + 1, &got, &n) == 0 && n == len &&
		   memcmp(got, data, len) == 0;

	free(got);
	return same;
}

static int local_put(void *be, const char *key, const void *data, size_t len, int flags)
{
	struct local *l = be;
	char *path = path_join(l->root, key), *tmp = NULL, *dir = NULL;
	int fd = -1, ret;

	if (!path)
		return -ENOMEM;
	ret = make_parents(path);
	if (ret < 0)
		goto out;
	fd = ret = tmp_create(path, &tmp);
	if (ret < 0)
		goto out;
	ret = write_object(fd, data, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	fd = -1;
	if (ret < 0)
		goto out;
	if (flags & REMOTE_CREATE_ONLY) {
		ret = link(tmp, path) < 0 ? -errno : 0; /* atomic: never replaces */
		if (ret == -EEXIST && holds(l, key, data, len))
			ret = 0; /* same bytes: see backend.h */
	} else
		ret = rename(tmp, path) < 0 ? -errno : 0;
	if (ret < 0)
		goto out;
	dir = strdup(path);
	if (!dir) {
		ret = -ENOMEM;
		goto out;
	}
	*strrchr(dir, '/') = '\0';
	if (flags & REMOTE_CREATE_ONLY)
		unlink(tmp);
	free(tmp);
	tmp = NULL;
	ret = fsync_dir(dir);
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	free(path);
	return ret;
}

static int read_all_at(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EBADMSG; /* the file shrank under us: never short data */
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Open key for reading: a regular file, not through a symlink. */
static int open_object(struct local *l, const char *key, int *fdp, struct stat *st)
{
	char *path = path_join(l->root, key);
	int fd, ret = 0;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, st) < 0)
		ret = errno == ELOOP ? -ENOENT : -errno;
	else if (!S_ISREG(st->st_mode))
		ret = -ENOENT;
	free(path);
	if (ret && fd >= 0)
		close(fd);
	if (!ret)
		*fdp = fd;
	return ret;
}

static int local_get_into(void *be, const char *key, uint64_t off, uint64_t len, uint8_t *buf)
{
	struct stat st;
	int fd, ret = open_object(be, key, &fd, &st);

	if (ret)
		return ret;
	/* a range beyond the end: a short read is never returned */
	ret = off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off
		  ? -EBADMSG
		  : read_all_at(fd, buf, (size_t)len, off);
	close(fd);
	return ret;
}

static int local_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		     uint8_t **data, size_t *n)
{
	struct local *l = be;
	char *path = path_join(l->root, key);
	uint8_t *buf = NULL;
	struct stat st;
	int fd = -1, ret = 0;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = errno == ELOOP ? -ENOENT : -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -ENOENT;
		goto out;
	}
	if (off > (uint64_t)st.st_size) {
		ret = -EBADMSG;
		goto out;
	}
	if (len == 0) {
		len = (uint64_t)st.st_size - off;
		if (max_len && len > max_len) {
			remote_log("%s: %llu bytes exceed the limit of %zu", key,
				   (unsigned long long)len, max_len);
			ret = -EBADMSG;
			goto out;
		}
	} else if (len > (uint64_t)st.st_size - off) {
		ret = -EBADMSG; /* range beyond the end: a short read is never returned */
		goto out;
	}
	if (len > SIZE_MAX - 1) {
		ret = -EFBIG;
		goto out;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = read_all_at(fd, buf, len, off);
	if (ret < 0)
		goto out;
	*data = buf;
	*n = len;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return ret;
}

static int local_del(void *be, const char *key)
{
	struct local *l = be;
	char *path = path_join(l->root, key);
	int ret;

	if (!path)
		return -ENOMEM;
	ret = unlink(path) < 0 ? -errno : 0;
	if (ret == -EISDIR || ret == -EPERM)
		ret = -ENOENT; /* a directory is not an object */
	free(path);
	return ret;
}

static int local_stat(void *be, const char *key, uint64_t *size)
{
	struct local *l = be;
	char *path = path_join(l->root, key);
	struct stat st;
	int ret = 0;

	if (!path)
		return -ENOMEM;
	if (lstat(path, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -ENOENT;
	else
		*size = (uint64_t)st.st_size;
	free(path);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir (without ".", "..", temp files), sorted so listings are deterministic. */
static int read_names(const char *dir, char ***names, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	*names = NULL;
	*count = 0;
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((errno = 0, e = readdir(d))) {
		if (e->d_name[0] == '.' && (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
					    !strncmp(e->d_name, REMOTE_TMP_PREFIX, 5)))
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name))) {
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno)
		ret = -errno;
out:
	closedir(d);
	if (ret < 0) {
		while (n)
			free(v[--n]);
		free(v);
		return ret;
	}
	if (n) /* qsort(NULL, 0) is undefined (an empty directory) */
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

struct walk {
	const char *root;
	const char *prefix; /* keys must start with this */
	int (*cb)(void *ctx, const char *key);
	void *ctx;
};

/* Walk directory rel (a key prefix ending in "/" or ""), calling cb for regular files. */
static int walk_dir(struct walk *w, const char *rel, int depth)
{
	char *dir = NULL, **names = NULL;
	size_t count = 0, i;
	int ret;

	if (depth > 64)
		return -ELOOP;
	dir = *rel ? path_join(w->root, rel) : strdup(w->root);
	if (!dir)
		return -ENOMEM;
	ret = read_names(dir, &names, &count);
	for (i = 0; ret == 0 && i < count; i++) {
		size_t len = strlen(rel) + strlen(names[i]) + 2;
		char *key = malloc(len);
		struct stat st;

		if (!key) {
			ret = -ENOMEM;
			break;
		}
		snprintf(key, len, "%s%s", rel, names[i]);
		size_t cmp = strlen(key) < strlen(w->prefix) ? strlen(key) : strlen(w->prefix);
		if (strncmp(key, w->prefix, cmp)) {
			free(key); /* neither under the prefix nor on the way to it */
			continue;
		}
		char *full = path_join(dir, names[i]);
		ret = full ? (lstat(full, &st) < 0 ? -errno : 0) : -ENOMEM;
		free(full);
		if (ret == -ENOENT) {
			ret = 0; /* deleted while we walked */
			free(key);
			continue;
		}
		if (ret == 0 && S_ISDIR(st.st_mode)) {
			strcat(key, "/");
			ret = walk_dir(w, key, depth + 1);
		} else if (ret == 0 && S_ISREG(st.st_mode) && strlen(key) >= strlen(w->prefix) &&
			   remote_key_check(key) == 0) {
			ret = w->cb(w->ctx, key);
		}
		free(key);
	}
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(dir);
	return ret;
}

static int local_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key),
		      void *ctx)
{
	struct local *l = be;
	struct walk w = {.root = l->root, .prefix = prefix, .cb = cb, .ctx = ctx};
	const char *slash = strrchr(prefix, '/');
	char *start = strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0);
	int ret;

	if (!start)
		return -ENOMEM;
	/* Start at the prefix's directory part; names there are filtered by the rest. */
	ret = walk_dir(&w, start, 0);
	free(start);
	return ret;
}

static void local_free(void *be)
{
	struct local *l = be;

	if (!l)
		return;
	free(l->root);
	free(l);
}

static const struct backend_ops local_ops = {
    .get = local_get,
    .get_into = local_get_into,
    .put = local_put,
    .del = local_del,
    .stat = local_stat,
    .list = local_list,
    .free = local_free,
};

int local_backend_open(const char *path, void **be, const struct backend_ops **ops)
{
	struct local *l;
	struct stat st;
	size_t n = strlen(path);

	if (n == 0 || n >= PATH_MAX)
		return -EINVAL;
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		remote_log("%s: not a directory", path);
		return -ENOTDIR;
	}
	if (sodium_init() < 0)
		return -EIO;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->root = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = '\0'; /* "store/" and "store" name the same directory */
	*be = l;
	*ops = &local_ops;
	return 0;
}
