/* mktree: generate a test source tree with every kind of entry a seal must keep — file sizes
 * at chunking edges, sparse and compressible files, every symlink shape, hard links across
 * directories, special mode bits, owners (as root), nanosecond mtimes, xattrs, hostile names,
 * a deep path, FIFOs, device nodes (as root), a socket (which seal skips), a big directory.
 *
 * Deterministic for a seed, so a test can regenerate or re-seal the same data.
 *
 *   mktree DIR [--big-dir N] [--seed S] [--small] [--no-socket]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MIB	    (1u << 20)
#define DEEP_LEVELS 60
#define BUF_SIZE    MIB

struct opts {
	unsigned long big_dir;
	uint64_t seed;
	bool small; /* sanitizer builds: a few MiB instead of ~100 */
	bool socket;
};

static uint64_t rng_state;
static bool is_root;
static unsigned skipped;

/* splitmix64: tiny, fast, and the same sequence everywhere for a seed */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng() % (hi - lo + 1);
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mktree: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void skip(const char *what, const char *path)
{
	fprintf(stderr, "mktree: warning: skipping %s %s: %s\n", what, path, strerror(errno));
	skipped++;
}

static void mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		die("mkdir", path);
}

static void write_all(int fd, const void *buf, size_t len, const char *path)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			die("write", path);
		p += n;
		len -= (size_t)n;
	}
}

static void fill_random(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rng();

		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* A file of len pseudo-random bytes. */
static void make_random(const char *path, uint64_t len, uint8_t *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("create", path);
	while (len) {
		size_t n = len < BUF_SIZE ? (size_t)len : BUF_SIZE;

		fill_random(buf, n);
		write_all(fd, buf, n, path);
		len -= n;
	}
	close(fd);
}

static void make_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		die("create", path);
	write_all(fd, text, strlen(text), path);
	if (fchmod(fd, mode) < 0) /* the umask must not change what the test expects */
		die("chmod", path);
	close(fd);
}

/* Holes: a 64 MiB file with a few written 4 KiB..64 KiB islands, including its last byte. */
static void make_sparse(const char *path, uint64_t size, uint8_t *buf)
{
	const uint64_t at[] = {0, 5 * MIB + 123, size / 2, size - 4096};
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("create", path);
	if (ftruncate(fd, (off_t)size) < 0)
		die("truncate", path);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		size_t n = i == 3 ? 4096 : 64 << 10;

		fill_random(buf, n);
		if (pwrite(fd, buf, n, (off_t)at[i]) != (ssize_t)n)
			die("write", path);
	}
	close(fd);
}

/* CSV-like rows: compresses well, like the registers this is for. */
static void make_csv(const char *path, uint64_t size)
{
	static const char *const towns[] = {"Tallinn", "Tartu",	       "Narva",
					    "Pärnu",   "Kohtla-Järve", "Viljandi",
					    "Rakvere", "Maardu",       "Kuressaare"};
	FILE *f = fopen(path, "w");
	uint64_t id = 37001010000ull, written = 0;

	if (!f)
		die("create", path);
	written += (uint64_t)fprintf(f, "id,surname,given,born,town,postcode,registered\n");
	while (written < size) {
		int n = fprintf(f, "%llu,Surname%04u,Given%03u,19%02u-%02u-%02u,%s,%05u,%s\n",
				(unsigned long long)id++, (unsigned)rng_range(0, 9999),
				(unsigned)rng_range(0, 999), (unsigned)rng_range(20, 99),
				(unsigned)rng_range(1, 12), (unsigned)rng_range(1, 28),
				towns[rng() % 9], (unsigned)rng_range(10000, 99999),
				rng() % 3 ? "true" : "false");
		written += (uint64_t)n;
	}
	if (fclose(f) != 0)
		die("write", path);
}

static void make_files(const struct opts *o, uint8_t *buf)
{
	char path[64];
	int n_random = 3;

	mkdir_p("files", 0755);
	make_text("files/empty", "", 0644);
	make_text("files/one", "x", 0644);
	make_random("files/page-minus-1", 4095, buf);
	make_random("files/mib-plus-3", MIB + 3, buf);
	for (int i = 1; i <= n_random; i++) {
		snprintf(path, sizeof(path), "files/random-%d", i);
		make_random(
		    path, o->small ? rng_range(64 << 10, 512 << 10) : rng_range(5 * MIB, 20 * MIB),
		    buf);
	}
	make_sparse("files/sparse", o->small ? 8 * MIB : 64 * MIB, buf);
	make_csv("files/data.csv", o->small ? 512 << 10 : 8 * MIB);
	make_text("files/hl-a", "three names, one inode\n", 0644);
}

static void make_symlink(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		die("symlink", path);
}

static void make_links(void)
{
	mkdir_p("links", 0755);
	make_symlink("../files/one", "links/relative");
	make_symlink("/etc/hostname", "links/absolute");
	make_symlink("no/such/file", "links/dangling");
	make_symlink("../files", "links/to-dir");
	make_symlink("odd target\n\xff", "links/odd-target");
	if (link("files/hl-a", "links/hl-b") < 0)
		die("link", "links/hl-b");
	/* the third name is made under deep/ (make_deep): links cross directories */
}

static void chmod_or_die(const char *path, mode_t mode)
{
	if (chmod(path, mode) < 0)
		die("chmod", path);
}

static void make_modes(void)
{
	mkdir_p("modes", 0755);
	make_text("modes/m0600", "private\n", 0600);
	make_text("modes/m0755", "#!/bin/sh\necho hi\n", 0755);
	make_text("modes/m4755", "setuid\n", 04755);
	make_text("modes/m0000", "no access\n", 0000);
	mkdir_p("modes/sticky", 0755);
	chmod_or_die("modes/sticky", 01777);
	mkdir_p("modes/setgid", 0755);
	chmod_or_die("modes/setgid", 02775);
	mkdir_p("modes/d0700", 0700);
	make_text("modes/d0700/inside", "behind 0700\n", 0644);
	chmod_or_die("modes/d0700", 0700);
}

static void make_owners(void)
{
	mkdir_p("owners", 0755);
	make_text("owners/f1234", "owned by 1234:5678\n", 0644);
	make_symlink("f1234", "owners/link4321");
	mkdir_p("owners/dir99", 0755);
	if (!is_root)
		return;
	if (chown("owners/f1234", 1234, 5678) < 0 || lchown("owners/link4321", 4321, 8765) < 0 ||
	    chown("owners/dir99", 99, 99) < 0)
		die("chown", "owners/*");
	/* chown clears set-id bits, so give this one its bits after */
	make_text("owners/sgid", "setgid, other group\n", 0644);
	if (chown("owners/sgid", 0, 5678) < 0)
		die("chown", "owners/sgid");
	chmod_or_die("owners/sgid", 02755);
}

static void set_xattr(const char *path, const char *name, const void *v, size_t len)
{
	if (lsetxattr(path, name, v, len, 0) < 0)
		skip("xattr on", path);
}

static void make_xattrs(void)
{
	uint8_t bin[256], big[1500]; /* ext4 keeps all xattrs in one 4 KiB block */

	for (int i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	fill_random(big, sizeof(big));
	mkdir_p("xattrs", 0755);
	make_text("xattrs/file", "has xattrs\n", 0644);
	set_xattr("xattrs/file", "user.comment", "population register", 19);
	set_xattr("xattrs/file", "user.binary", bin, sizeof(bin));
	set_xattr("xattrs/file", "user.empty", "", 0);
	set_xattr("xattrs/file", "user.big", big, sizeof(big));
	mkdir_p("xattrs/dir", 0755);
	set_xattr("xattrs/dir", "user.dir", "on a directory", 14);
}

static void make_names(void)
{
	static const char *const names[] = {
	    "\xff\xfe",	       "new\nline",	  "with space",	       "tab\there", "-dash",
	    "back\\slash",     "colon:in:name",	  "ünïcödé ✓",	       ".hidden",   "*?[glob]",
	    "ctl\x01\x1b[31m", "trailing space ", "\xc3\x28 bad utf8", "'quote\"",
	};
	char long_name[256];

	mkdir_p("names", 0755);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[300];

		snprintf(path, sizeof(path), "names/%s", names[i]);
		make_text(path, names[i], 0644);
	}
	memset(long_name, 'L', 255);
	memcpy(long_name, "long-", 5);
	long_name[255] = '\0';
	{
		char path[300];

		snprintf(path, sizeof(path), "names/%s", long_name);
		make_text(path, "255-byte name\n", 0644);
		snprintf(path, sizeof(path), "names/%.250s.dir", long_name);
		mkdir_p(path, 0755);
	}
}

static void make_deep(void)
{
	char path[DEEP_LEVELS * 4 + 64] = "deep";

	mkdir_p(path, 0755);
	for (int i = 1; i <= DEEP_LEVELS; i++) {
		size_t len = strlen(path);

		snprintf(path + len, sizeof(path) - len, "/d%02d", i);
		mkdir_p(path, 0755);
		if (i == 10 &&
		    link("files/hl-a", "deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/hl-c") < 0)
			die("link", "deep/.../hl-c");
	}
	strcat(path, "/leaf");
	make_text(path, "sixty levels down\n", 0644);
}

static void make_specials(bool with_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	mkdir_p("special", 0755);
	mkdir_p("empty-dir", 0755);
	if (mkfifo("special/fifo", 0640) < 0)
		die("mkfifo", "special/fifo");
	if (is_root) {
		if (mknod("special/null-chr", S_IFCHR | 0666, makedev(1, 3)) < 0)
			skip("char device", "special/null-chr");
		if (mknod("special/loop-blk", S_IFBLK | 0660, makedev(7, 200)) < 0)
			skip("block device", "special/loop-blk");
	}
	if (!with_socket)
		return;
	/* bind relative to the cwd: sun_path is too short for a long absolute DIR */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "special/socket");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		skip("socket", "special/socket");
	if (fd >= 0)
		close(fd);
}

static void make_big_dir(unsigned long n)
{
	char path[64], text[32];

	mkdir_p("bigdir", 0755);
	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "bigdir/entry-%07lu", i);
		snprintf(text, sizeof(text), "%lu\n", i);
		/* every tenth empty: empty files are a case of their own */
		make_text(path, i % 10 ? text : "", 0644);
	}
}

/* Last pass, children before parents (creating a child changes its parent's mtime):
 * every entry gets a distinct mtime with nanoseconds. */
static int set_time(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = 1500000000 + (time_t)rng_range(0, 200000000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)rng_range(0, 999999999);
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "mktree: utimensat %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: mktree DIR [--big-dir N] [--seed S] [--small] [--no-socket]\n"
	      "  --big-dir N   entries in bigdir/ (default 2000)\n"
	      "  --seed S      PRNG seed (default 1)\n"
	      "  --small       few-MiB files (sanitizer builds)\n"
	      "  --no-socket   no Unix socket (seal warns about sockets and exits 3)\n",
	      stderr);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {{"big-dir", required_argument, NULL, 'b'},
						 {"seed", required_argument, NULL, 's'},
						 {"small", no_argument, NULL, 'S'},
						 {"no-socket", no_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	int opt;

	o->big_dir = 2000;
	o->seed = 1;
	o->socket = true;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'b')
			o->big_dir = strtoul(optarg, NULL, 10);
		else if (opt == 's')
			o->seed = strtoull(optarg, NULL, 10);
		else if (opt == 'S')
			o->small = true;
		else if (opt == 'n')
			o->socket = false;
		else
			usage();
	}
	if (optind != argc - 1)
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	uint8_t *buf;

	parse(argc, argv, &o);
	rng_state = o.seed;
	is_root = geteuid() == 0;
	buf = malloc(BUF_SIZE);
	if (!buf)
		return 1;
	umask(022);
	mkdir_p(argv[optind], 0755);
	if (chdir(argv[optind]) < 0)
		die("chdir", argv[optind]);
	make_files(&o, buf);
	make_links();
	make_modes();
	make_owners();
	make_xattrs();
	make_names();
	make_deep();
	make_specials(o.socket);
	make_big_dir(o.big_dir);
	if (nftw(".", set_time, 64, FTW_DEPTH | FTW_PHYS) != 0)
		return 1;
	if (!is_root)
		fprintf(stderr, "mktree: not root: no owners, no device nodes\n");
	if (skipped)
		fprintf(stderr, "mktree: %u item(s) skipped (see warnings)\n", skipped);
	free(buf);
	return 0;
}
