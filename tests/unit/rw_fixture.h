/* rw_fixture: a real local store in a temporary directory for the write-through unit tests —
 * initialised with cheap KDF parameters, optionally sealed from a small source tree, opened
 * with the sealer key. Header-only: each test executable includes it once. */
#ifndef EMBASSY_RW_FIXTURE_H
#define EMBASSY_RW_FIXTURE_H
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "seal.h"
#include "secmem.h"
#include "store.h"
#include "trust.h"

struct fx {
	char dir[64];
	char store[128], src[128], jdir[128], sealer[128], state[128];
	struct trust_opts trust;
	struct store *s;
};

static __attribute__((unused)) void fx_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static __attribute__((unused)) void fx_path(const struct fx *f, const char *rel, char *out,
					    size_t size)
{
	snprintf(out, size, "%s/%s", f->src, rel);
}

/* A small source tree: files of several sizes (one of a few chunks), a subdirectory, a
 * symlink and a hard link. */
static __attribute__((unused)) void fx_make_src(struct fx *f)
{
	char p[256], q[256];
	uint8_t *big = malloc(3u << 20);

	cr_assert_not_null(big);
	uint64_t x = 88172645463325252ull; /* xorshift: incompressible, several chunks */
	for (size_t i = 0; i < (3u << 20); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (uint8_t)(x >> 24);
	}
	mkdir(f->src, 0755);
	fx_path(f, "a.txt", p, sizeof(p));
	fx_write(p, "alpha\n", 6);
	fx_path(f, "big.bin", p, sizeof(p));
	fx_write(p, big, 3u << 20);
	fx_path(f, "sub", p, sizeof(p));
	mkdir(p, 0750);
	fx_path(f, "sub/b.txt", p, sizeof(p));
	fx_write(p, "bravo\n", 6);
	fx_path(f, "sub/deep", p, sizeof(p));
	mkdir(p, 0755);
	fx_path(f, "sub/deep/c.txt", p, sizeof(p));
	fx_write(p, "charlie\n", 8);
	fx_path(f, "link", p, sizeof(p));
	cr_assert_eq(symlink("a.txt", p), 0);
	fx_path(f, "a.txt", p, sizeof(p));
	fx_path(f, "sub/hard", q, sizeof(q));
	cr_assert_eq(link(p, q), 0);
	free(big);
}

static __attribute__((unused)) void fx_open(struct fx *f)
{
	struct store_auth a = {.trust = &f->trust, .sealer_key = f->sealer};
	cr_assert_eq(store_open(f->store, NULL, &a, &f->s), 0);
}

/* seal: whether to seal the source tree into it first; format: the store's (0: the newest). */
static __attribute__((unused)) void fx_init_format(struct fx *f, bool seal, int format)
{
	struct store_init_opts io = {.format = format};
	char sid[2 * STORE_ID_LEN + 1];

	cr_assert_eq(secmem_init(), 0);
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/embassy-rwtest.XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->jdir, sizeof(f->jdir), "%s/journal", f->dir);
	snprintf(f->sealer, sizeof(f->sealer), "%s/sealer.key", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	f->trust.state_dir = f->state;
	io.sealer_key_out = f->sealer;
	io.passphrase = "test passphrase";
	io.passlen = strlen(io.passphrase);
	io.kdf_ops = 1;
	io.kdf_mem = 8192;
	cr_assert_eq(store_init(f->store, NULL, &io, sid), 0);
	fx_open(f);
	if (seal) {
		const char *paths[] = {f->src};
		struct seal_opts so = {.paths = paths, .npaths = 1, .host = "test", .threads = 1};
		struct seal_result res;
		fx_make_src(f);
		cr_assert_eq(seal_run(f->s, &so, &res), 0);
	}
}

static __attribute__((unused)) void fx_init(struct fx *f, bool seal)
{
	fx_init_format(f, seal, 0);
}

static __attribute__((unused)) void fx_fini(struct fx *f)
{
	char cmd[256];
	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	cr_assert_eq(system(cmd), 0);
}

static __attribute__((unused)) struct live *fx_live(struct fx *f)
{
	struct live_opts o = {.journal_dir = f->jdir, .host = "test"};
	struct live *l = NULL;
	cr_assert_eq(live_open(f->s, &o, &l), 0);
	return l;
}

/* A journal of its own (f->dir/jname) on the store, based on snapshot (NULL: the latest). */
static __attribute__((unused)) struct live *fx_live_at(struct fx *f, const char *jname,
						       const char *snapshot)
{
	char jdir[256];
	struct live_opts o = {.journal_dir = jdir, .host = "test", .snapshot = snapshot};
	struct live *l = NULL;

	snprintf(jdir, sizeof(jdir), "%s/%s", f->dir, jname);
	cr_assert_eq(live_open(f->s, &o, &l), 0, "open %s", jname);
	return l;
}

/* The inode of a path ("a/b"), looked up from the root (each lookup counted, as the kernel
 * would). */
static __attribute__((unused)) int fx_ino(struct live *l, const char *path, uint64_t *ino)
{
	char buf[512], *save = NULL, *c;
	struct stat st;
	uint64_t cur = LIVE_INO_ROOT;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		ret = live_lookup(l, cur, c, &st);
		if (ret)
			return ret;
		cur = st.st_ino;
	}
	*ino = cur;
	return 0;
}

/* The whole content of a file as the tree shows it (malloc'd). */
static __attribute__((unused)) uint8_t *fx_read_all(struct live *l, const char *path, size_t *len)
{
	uint64_t ino = 0; /* (gcc -O2 cannot see cr_assert_eq stop) */
	struct stat st;
	uint8_t *buf;

	cr_assert_eq(fx_ino(l, path, &ino), 0, "%s", path);
	cr_assert_eq(live_getattr(l, ino, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(live_read(l, ino, 0, (size_t)st.st_size + 1, buf), st.st_size, "%s", path);
	*len = (size_t)st.st_size;
	return buf;
}

#endif
