/* treecmp: compare two trees recursively and print every difference — names, types, sizes,
 * full contents, modes, owners, mtimes (ns, symlinks included), symlink targets, user xattrs,
 * device numbers, hard-link structure, and optionally how sparse files stayed.
 * Exit 0 when equal, 1 when any difference, 2 on usage or I/O trouble.
 *
 *   treecmp SRC DST [--holes] [--no-owner] [--no-mtime] [--no-xattrs] [--root-meta]
 *                   [--names-only] [--max N]
 *
 * Sockets in SRC are ignored (seal skips them). Device nodes in SRC that are missing in DST
 * are accepted when not root (only root can restore them). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BUF_SIZE	   (1u << 20)
#define PATH_LEN	   (1u << 16)
#define XATTR_LIST_MAX_LEN (64u << 10)
#define HOLE_SLACK	   (1u << 20)

struct opts {
	bool holes, owner, mtime, xattrs, root_meta, names_only;
	unsigned long max; /* stop printing after this many differences */
};

static struct opts opt;
static unsigned long ndiff;
static bool trouble;
static char path[PATH_LEN]; /* the relative path being compared */
static uint8_t *buf_a, *buf_b;

/* ---- printing ---- */

static void put_path(FILE *f, const char *p)
{
	for (const unsigned char *u = (const unsigned char *)p; *u; u++) {
		if (*u < 0x20 || *u >= 0x7f || *u == '\\')
			fprintf(f, "\\%03o", *u);
		else
			fputc(*u, f);
	}
}

static void diff(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diff(const char *fmt, ...)
{
	va_list ap;

	if (++ndiff > opt.max)
		return;
	fputs("treecmp: ", stdout);
	put_path(stdout, *path ? path : ".");
	fputs(": ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void fail(const char *what)
{
	fprintf(stderr, "treecmp: %s ", what);
	put_path(stderr, *path ? path : ".");
	fprintf(stderr, ": %s\n", strerror(errno));
	trouble = true;
}

/* ---- hard links: src inode <-> dst inode, both ways ---- */

struct ino_map {
	uint64_t *keys, *vals; /* key 0 = empty slot (no inode is 0 with dev mixed in) */
	size_t cap, n;
};

static uint64_t ino_key(const struct stat *st)
{
	return ((uint64_t)st->st_dev << 40 ^ (uint64_t)st->st_ino) | 1ull << 63;
}

static size_t map_slot(const struct ino_map *m, uint64_t key)
{
	size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void map_grow(struct ino_map *m)
{
	struct ino_map bigger = {.cap = m->cap ? m->cap * 2 : 1024};

	bigger.keys = calloc(bigger.cap, sizeof(uint64_t));
	bigger.vals = calloc(bigger.cap, sizeof(uint64_t));
	if (!bigger.keys || !bigger.vals) {
		fputs("treecmp: out of memory\n", stderr);
		exit(2);
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = map_slot(&bigger, m->keys[i]);

			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
			bigger.n++;
		}
	}
	free(m->keys);
	free(m->vals);
	*m = bigger;
}

/* The value for key, inserting val if absent (then returns val). */
static uint64_t map_get_or_put(struct ino_map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		map_grow(m);
	i = map_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->vals[i] = val;
		m->n++;
	}
	return m->vals[i];
}

static struct ino_map src_to_dst, dst_to_src;

/* Same-inode groups in the source must be same-inode groups in the destination. */
static void check_links(const struct stat *a, const struct stat *b)
{
	uint64_t ka = ino_key(a), kb = ino_key(b);

	if (a->st_nlink != b->st_nlink)
		diff("link count %lu, restored %lu", (unsigned long)a->st_nlink,
		     (unsigned long)b->st_nlink);
	if (a->st_nlink < 2 && b->st_nlink < 2)
		return;
	if (map_get_or_put(&src_to_dst, ka, kb) != kb)
		diff("hard link broken: source inode's other names map to another file");
	if (map_get_or_put(&dst_to_src, kb, ka) != ka)
		diff("hard link invented: restored as a link to a file that is not its source");
}

/* ---- per-entry checks ---- */

static int open_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
}

static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void check_content(int da, int db, const char *name)
{
	int fa = open_at(da, name), fb = open_at(db, name);
	uint64_t off = 0;

	if (fa < 0 || fb < 0) {
		fail("open");
		goto out;
	}
	for (;;) {
		ssize_t na = read_full(fa, buf_a, BUF_SIZE), nb = read_full(fb, buf_b, BUF_SIZE);

		if (na < 0 || nb < 0) {
			fail("read");
			break;
		}
		if (na != nb || memcmp(buf_a, buf_b, (size_t)na) != 0) {
			size_t i = 0;

			while (i < (size_t)na && i < (size_t)nb && buf_a[i] == buf_b[i])
				i++;
			diff("content differs at byte %llu", (unsigned long long)(off + i));
			break;
		}
		if (na == 0)
			break;
		off += (uint64_t)na;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

static void check_target(int da, int db, const char *name)
{
	char ta[PATH_LEN], tb[PATH_LEN];
	ssize_t na = readlinkat(da, name, ta, sizeof(ta)),
		nb = readlinkat(db, name, tb, sizeof(tb));

	if (na < 0 || nb < 0) {
		fail("readlink");
		return;
	}
	if (na != nb || memcmp(ta, tb, (size_t)na) != 0)
		diff("symlink target differs (%zd vs %zd bytes)", na, nb);
}

/* The user.* attribute names of the entry at full, NUL-separated; the length or -1. */
static ssize_t list_user_xattrs(const char *full, char *out, size_t size)
{
	ssize_t n = llistxattr(full, out, size), w = 0;

	if (n < 0)
		return errno == ENOTSUP ? 0 : -1;
	/* keep user.* only: security.* and system.* differ between hosts for reasons of their own
	 */
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(out + i) + 1) {
		size_t len = strlen(out + i) + 1;

		if (strncmp(out + i, "user.", 5) == 0) {
			memmove(out + w, out + i, len);
			w += (ssize_t)len;
		}
	}
	return w;
}

static void check_xattr_value(const char *fa, const char *fb, const char *name)
{
	ssize_t na = lgetxattr(fa, name, buf_a, BUF_SIZE),
		nb = lgetxattr(fb, name, buf_b, BUF_SIZE);

	if (nb < 0 && errno == ENODATA)
		diff("xattr %s missing", name);
	else if (na < 0 || nb < 0)
		fail("getxattr");
	else if (na != nb || memcmp(buf_a, buf_b, (size_t)na) != 0)
		diff("xattr %s value differs", name);
}

static void check_xattrs(const char *root_a, const char *root_b)
{
	static char la[XATTR_LIST_MAX_LEN], lb[XATTR_LIST_MAX_LEN];
	char *fa = NULL, *fb = NULL;
	ssize_t na, nb;

	if (asprintf(&fa, "%s/%s", root_a, path) < 0 || asprintf(&fb, "%s/%s", root_b, path) < 0)
		exit(2);
	na = list_user_xattrs(fa, la, sizeof(la));
	nb = list_user_xattrs(fb, lb, sizeof(lb));
	if (na < 0 || nb < 0) {
		fail("listxattr");
		goto out;
	}
	for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1)
		check_xattr_value(fa, fb, la + i);
	for (ssize_t i = 0; i < nb; i += (ssize_t)strlen(lb + i) + 1) {
		bool found = false;

		for (ssize_t j = 0; j < na && !found; j += (ssize_t)strlen(la + j) + 1)
			found = strcmp(la + j, lb + i) == 0;
		if (!found)
			diff("extra xattr %s", lb + i);
	}
out:
	free(fa);
	free(fb);
}

static const char *type_str(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFCHR:
		return "char device";
	case S_IFBLK:
		return "block device";
	case S_IFSOCK:
		return "socket";
	default:
		return "unknown";
	}
}

static void check_meta(const struct stat *a, const struct stat *b)
{
	bool lnk = S_ISLNK(a->st_mode);

	if (!lnk && (a->st_mode & 07777) != (b->st_mode & 07777))
		diff("mode %04o, restored %04o", a->st_mode & 07777, b->st_mode & 07777);
	if (opt.owner && (a->st_uid != b->st_uid || a->st_gid != b->st_gid))
		diff("owner %u:%u, restored %u:%u", a->st_uid, a->st_gid, b->st_uid, b->st_gid);
	if (opt.mtime &&
	    (a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec))
		diff("mtime %lld.%09ld, restored %lld.%09ld", (long long)a->st_mtim.tv_sec,
		     a->st_mtim.tv_nsec, (long long)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
}

static void check_file(int da, int db, const char *name, const struct stat *a, const struct stat *b)
{
	if (a->st_size != b->st_size) {
		diff("size %lld, restored %lld", (long long)a->st_size, (long long)b->st_size);
		return;
	}
	check_links(a, b);
	check_content(da, db, name);
	if (opt.holes && (uint64_t)b->st_blocks * 512 > (uint64_t)a->st_blocks * 512 + HOLE_SLACK)
		diff("holes lost: %lld bytes allocated, source %lld", (long long)b->st_blocks * 512,
		     (long long)a->st_blocks * 512);
}

static void compare_dir(int da, int db, const char *root_a, const char *root_b);

/* Compare the entry name (path already holds its relative path). */
static void compare_entry(int da, int db, const char *name, const char *root_a, const char *root_b)
{
	struct stat a, b;
	int sa, sb;

	if (fstatat(da, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(db, name, &b, AT_SYMLINK_NOFOLLOW) < 0) {
		fail("stat");
		return;
	}
	if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
		diff("type %s, restored %s", type_str(a.st_mode), type_str(b.st_mode));
		return;
	}
	if (opt.names_only)
		goto recurse;
	check_meta(&a, &b);
	if (S_ISREG(a.st_mode))
		check_file(da, db, name, &a, &b);
	else if (S_ISLNK(a.st_mode))
		check_target(da, db, name);
	else if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev)
		diff("device %u,%u, restored %u,%u", major(a.st_rdev), minor(a.st_rdev),
		     major(b.st_rdev), minor(b.st_rdev));
	if (opt.xattrs && !S_ISLNK(a.st_mode) && !S_ISFIFO(a.st_mode) && !S_ISCHR(a.st_mode) &&
	    !S_ISBLK(a.st_mode))
		check_xattrs(root_a, root_b);
recurse:
	if (!S_ISDIR(a.st_mode))
		return;
	sa = openat(da, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	sb = openat(db, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sa < 0 || sb < 0)
		fail("open directory");
	else
		compare_dir(sa, sb, root_a, root_b);
	if (sa >= 0)
		close(sa);
	if (sb >= 0)
		close(sb);
}

/* ---- directories ---- */

struct names {
	char **v;
	size_t n, cap;
};

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int read_names(int fd, struct names *out)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->v = realloc(out->v, out->cap * sizeof(char *));
			if (!out->v)
				exit(2);
		}
		out->v[out->n++] = strdup(de->d_name);
	}
	closedir(d);
	if (out->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(out->v, out->n, sizeof(char *), name_cmp);
	return 0;
}

static void free_names(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
}

/* Append /name to path for the duration of one entry; returns the old length. */
static size_t path_push(const char *name)
{
	size_t len = strlen(path), nl = strlen(name);

	if (len + nl + 2 >= PATH_LEN) {
		fputs("treecmp: path too long\n", stderr);
		exit(2);
	}
	if (len)
		path[len++] = '/';
	memcpy(path + len, name, nl + 1);
	return len ? len - 1 : 0;
}

static bool ignorable_absence(int da, const char *name)
{
	struct stat st;

	if (fstatat(da, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	/* seal skips sockets; only root can make device nodes */
	return S_ISSOCK(st.st_mode) ||
	       ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && geteuid() != 0);
}

static void compare_dir(int da, int db, const char *root_a, const char *root_b)
{
	struct names a, b;
	size_t i = 0, j = 0, old;

	if (read_names(da, &a) < 0 || read_names(db, &b) < 0) {
		fail("read directory");
		return;
	}
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.v[i], b.v[j]);
		const char *name = c <= 0 ? a.v[i] : b.v[j];

		old = path_push(name);
		if (c < 0 && !ignorable_absence(da, name))
			diff("missing from the restored tree");
		else if (c > 0)
			diff("extra in the restored tree");
		else if (c == 0)
			compare_entry(da, db, name, root_a, root_b);
		path[old] = '\0';
		i += c <= 0;
		j += c >= 0;
	}
	free_names(&a);
	free_names(&b);
}

static void usage(void)
{
	fputs("usage: treecmp SRC DST [--holes] [--no-owner] [--no-mtime] [--no-xattrs]\n"
	      "                [--root-meta] [--names-only] [--max N]\n"
	      "  --holes       restored files may not allocate > source + 1 MiB\n"
	      "  --no-owner    skip uid/gid (default: compared only when root)\n"
	      "  --no-mtime    skip mtimes\n"
	      "  --no-xattrs   skip user xattrs\n"
	      "  --root-meta   also compare SRC's and DST's own mode/owner/mtime/xattrs\n"
	      "  --names-only  compare names and types only (fast, for huge trees)\n"
	      "  --max N       print at most N differences (default 100)\n",
	      stderr);
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"holes", no_argument, NULL, 'H'},	   {"no-owner", no_argument, NULL, 'o'},
	    {"no-mtime", no_argument, NULL, 'm'},  {"no-xattrs", no_argument, NULL, 'x'},
	    {"root-meta", no_argument, NULL, 'r'}, {"names-only", no_argument, NULL, 'n'},
	    {"max", required_argument, NULL, 'M'}, {NULL, 0, NULL, 0}};
	int c;

	opt = (struct opts){.owner = geteuid() == 0, .mtime = true, .xattrs = true, .max = 100};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			opt.holes = true;
			break;
		case 'o':
			opt.owner = false;
			break;
		case 'm':
			opt.mtime = false;
			break;
		case 'x':
			opt.xattrs = false;
			break;
		case 'r':
			opt.root_meta = true;
			break;
		case 'n':
			opt.names_only = true;
			break;
		case 'M':
			opt.max = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
}

int main(int argc, char **argv)
{
	const char *ra, *rb;
	struct stat a, b;
	int da, db;

	parse(argc, argv);
	ra = argv[optind];
	rb = argv[optind + 1];
	buf_a = malloc(BUF_SIZE);
	buf_b = malloc(BUF_SIZE);
	da = open(ra, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	db = open(rb, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!buf_a || !buf_b || da < 0 || db < 0 || fstat(da, &a) < 0 || fstat(db, &b) < 0) {
		fprintf(stderr, "treecmp: cannot open %s or %s: %s\n", ra, rb, strerror(errno));
		return 2;
	}
	if (opt.root_meta && !opt.names_only) {
		check_meta(&a, &b);
		if (opt.xattrs)
			check_xattrs(ra, rb); /* path is "": the roots themselves */
	}
	compare_dir(da, db, ra, rb);
	if (ndiff > opt.max)
		printf("treecmp: ... and %lu more difference(s)\n", ndiff - opt.max);
	if (ndiff)
		printf("treecmp: %lu difference(s) between %s and %s\n", ndiff, ra, rb);
	close(da);
	close(db);
	free(buf_a);
	free(buf_b);
	return ndiff ? 1 : trouble ? 2 : 0;
}
