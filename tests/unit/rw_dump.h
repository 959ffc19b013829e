/* rw_dump: a text dump of a whole live tree, or of a real directory, to compare states in the
 * write-through unit tests. Header-only. */
#ifndef EMBASSY_RW_DUMP_H
#define EMBASSY_RW_DUMP_H
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "live.h"

/* ---- a dump of the whole tree, to compare states ---- */

struct dump {
	char *buf;
	size_t len, cap;
	/* inode -> first path, so hard links show as such */
	uint64_t inos[4096];
	char *paths[4096];
	size_t n;
	bool times;
};

static void dprintf_(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static __attribute__((unused)) void dprintf_(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	char tmp[8192];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (d->len + (size_t)n + 1 > d->cap) {
		d->cap = (d->cap + (size_t)n + 1) * 2;
		d->buf = realloc(d->buf, d->cap);
	}
	memcpy(d->buf + d->len, tmp, (size_t)n + 1);
	d->len += (size_t)n;
}

static __attribute__((unused)) void dump_free(struct dump *d)
{
	free(d->buf);
	for (size_t i = 0; i < d->n; i++)
		free(d->paths[i]);
}

static __attribute__((unused)) uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static __attribute__((unused)) const char *link_of(struct dump *d, uint64_t ino, const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->inos[i] == ino)
			return d->paths[i];
	cr_assert_lt(d->n, 4096);
	d->inos[d->n] = ino;
	d->paths[d->n++] = strdup(path);
	return NULL;
}

static __attribute__((unused)) void dump_live_dir(struct dump *d, struct live *l, uint64_t ino,
						  const char *path)
{
	struct live_dirent *v;
	size_t n;

	cr_assert_eq(live_readdir(l, ino, &v, &n), 0, "%s", path);
	for (size_t i = 0; i < n; i++) {
		char p[1024], buf[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", path, v[i].name);
		cr_assert_eq(live_lookup(l, ino, v[i].name, &st), 0, "%s", p);
		if (S_ISDIR(st.st_mode)) { /* listed first: its link count is exact once loaded */
			struct live_dirent *w;
			size_t nw;
			cr_assert_eq(live_readdir(l, st.st_ino, &w, &nw), 0);
			live_dirents_free(w, nw);
			cr_assert_eq(live_getattr(l, st.st_ino, &st), 0);
		}
		const char *other = S_ISDIR(st.st_mode) ? NULL : link_of(d, st.st_ino, p);
		dprintf_(d, "%s mode=%o uid=%u gid=%u nlink=%lu", p, st.st_mode, st.st_uid,
			 st.st_gid, (unsigned long)st.st_nlink);
		if (d->times)
			dprintf_(d, " mtime=%ld.%09ld", (long)st.st_mtim.tv_sec,
				 st.st_mtim.tv_nsec);
		if (other) {
			dprintf_(d, " = %s\n", other);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			uint8_t *data = malloc((size_t)st.st_size + 1);
			cr_assert_eq(live_read(l, st.st_ino, 0, (size_t)st.st_size + 1, data),
				     st.st_size, "%s", p);
			dprintf_(d, " size=%lld hash=%016llx", (long long)st.st_size,
				 (unsigned long long)fnv(data, (size_t)st.st_size));
			free(data);
		} else if (S_ISLNK(st.st_mode)) {
			cr_assert_eq(live_readlink(l, st.st_ino, buf, sizeof(buf)), 0);
			dprintf_(d, " -> %s", buf);
		}
		ssize_t xl = live_listxattr(l, st.st_ino, buf, sizeof(buf));
		cr_assert_geq(xl, 0);
		for (char *x = buf; x < buf + xl; x += strlen(x) + 1) {
			char val[70000];
			ssize_t vl = live_getxattr(l, st.st_ino, x, val, sizeof(val));
			cr_assert_geq(vl, 0);
			dprintf_(d, " %s=%016llx", x,
				 (unsigned long long)fnv((uint8_t *)val, (size_t)vl));
		}
		dprintf_(d, "\n");
		if (S_ISDIR(st.st_mode))
			dump_live_dir(d, l, st.st_ino, p);
	}
	live_dirents_free(v, n);
}

static __attribute__((unused)) char *dump_live(struct live *l, bool times)
{
	struct dump d = {.times = times};
	dprintf_(&d, "/\n");
	dump_live_dir(&d, l, LIVE_INO_ROOT, "");
	char *s = d.buf;
	d.buf = NULL;
	dump_free(&d);
	return s;
}

static __attribute__((unused)) int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static __attribute__((unused)) void dump_real_dir(struct dump *d, const char *root, const char *rel)
{
	char dirp[1024];
	DIR *dir;
	struct dirent *de;
	char *names[512];
	size_t n = 0;

	snprintf(dirp, sizeof(dirp), "%s%s", root, rel);
	dir = opendir(dirp);
	cr_assert_not_null(dir, "%s", dirp);
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(dir);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char p[1024], full[2048], buf[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", rel, names[i]);
		snprintf(full, sizeof(full), "%s%s", root, p);
		cr_assert_eq(lstat(full, &st), 0);
		const char *other = S_ISDIR(st.st_mode) ? NULL : link_of(d, st.st_ino, p);
		dprintf_(d, "%s mode=%o uid=%u gid=%u nlink=%lu", p, st.st_mode, st.st_uid,
			 st.st_gid, (unsigned long)st.st_nlink);
		if (other) {
			dprintf_(d, " = %s\n", other);
			free(names[i]);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			uint8_t *data = malloc((size_t)st.st_size + 1);
			int fd = open(full, O_RDONLY);
			cr_assert_eq(pread(fd, data, (size_t)st.st_size + 1, 0), st.st_size);
			close(fd);
			dprintf_(d, " size=%lld hash=%016llx", (long long)st.st_size,
				 (unsigned long long)fnv(data, (size_t)st.st_size));
			free(data);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t k = readlink(full, buf, sizeof(buf) - 1);
			buf[k] = 0;
			dprintf_(d, " -> %s", buf);
		}
		ssize_t xl = llistxattr(full, buf, sizeof(buf));
		char *xs[64];
		size_t nx = 0;
		for (char *x = buf; xl > 0 && x < buf + xl; x += strlen(x) + 1)
			xs[nx++] = x;
		qsort(xs, nx, sizeof(*xs), name_cmp);
		for (size_t k = 0; k < nx; k++) {
			char val[70000];
			ssize_t vl = lgetxattr(full, xs[k], val, sizeof(val));
			dprintf_(d, " %s=%016llx", xs[k],
				 (unsigned long long)fnv((uint8_t *)val, (size_t)vl));
		}
		dprintf_(d, "\n");
		if (S_ISDIR(st.st_mode))
			dump_real_dir(d, root, p);
		free(names[i]);
	}
}

static __attribute__((unused)) char *dump_real(const char *root)
{
	struct dump d = {0};
	dprintf_(&d, "/\n");
	dump_real_dir(&d, root, "");
	char *s = d.buf;
	d.buf = NULL;
	dump_free(&d);
	return s;
}

static __attribute__((unused)) void assert_same(const char *want, const char *got, const char *what)
{
	if (strcmp(want, got)) {
		fprintf(stderr, "--- %s: want\n%s--- got\n%s", what, want, got);
		cr_assert_fail("%s: the trees differ", what);
	}
}

#endif
