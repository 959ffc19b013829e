/* live: the writable tree over a base snapshot — POSIX behaviour against a real directory as
 * the model, replay after remount, checkpoints, and crash states (torn journal tails). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/xattr.h>

#include "commit.h"
#include "hex.h"
#include "live_int.h"
#include "rw_dump.h"
#include "rw_fixture.h"

static struct fx f;

static void setup_empty(void)
{
	fx_init(&f, false);
}

static void setup_sealed(void)
{
	fx_init(&f, true);
}

static void setup_format1(void)
{
	fx_init_format(&f, false, 1);
}

static void teardown(void)
{
	fx_fini(&f);
}

/* ---- basic behaviour ---- */

Test(live, empty_store_changes_survive_a_remount, .init = setup_empty, .fini = teardown)
{
	struct live *l = fx_live(&f);
	struct stat st, dst, fst;
	char buf[64];
	uint64_t ino;

	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "dir", S_IFDIR | 0750, 0, 1, 2, &dst), 0);
	cr_assert_eq(live_mknod(l, dst.st_ino, "f.txt", S_IFREG | 0640, 0, 3, 4, &fst), 0);
	cr_assert_eq(live_write(l, fst.st_ino, 0, "hello world", 11), 11);
	cr_assert_eq(live_write(l, fst.st_ino, 100000, "tail", 4), 4);
	cr_assert_eq(live_read(l, fst.st_ino, 0, sizeof(buf), buf), (ssize_t)sizeof(buf));
	cr_assert_arr_eq(buf, "hello world", 11);
	cr_assert_eq(buf[11], 0, "the gap reads as zeros");
	cr_assert_eq(live_getattr(l, fst.st_ino, &st), 0);
	cr_assert_eq(st.st_size, 100004);
	cr_assert_eq(live_lseek(l, fst.st_ino, 20, SEEK_DATA), 100000);
	cr_assert_eq(live_lseek(l, fst.st_ino, 0, SEEK_HOLE), 11);
	cr_assert_eq(live_symlink(l, LIVE_INO_ROOT, "ln", "dir/f.txt", 0, 0, &st), 0);
	cr_assert_eq(live_link(l, fst.st_ino, LIVE_INO_ROOT, "hard", &st), 0);
	cr_assert_eq(st.st_nlink, 2);
	cr_assert_eq(live_setxattr(l, fst.st_ino, "user.note", "v1", 2, 0), 0);
	cr_assert_eq(live_setxattr(l, fst.st_ino, "user.note", "v1", 2, XATTR_CREATE), -EEXIST);
	cr_assert_eq(live_setxattr(l, fst.st_ino, "user.x", "v", 1, XATTR_REPLACE), -ENODATA);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "fifo", S_IFIFO | 0600, 0, 0, 0, &st), 0);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "sock", S_IFSOCK | 0600, 0, 0, 0, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(live_rename(l, LIVE_INO_ROOT, "dir", LIVE_INO_ROOT, "dir2", 0), 0);
	cr_assert_eq(live_rmdir(l, LIVE_INO_ROOT, "dir2"), -ENOTEMPTY);
	cr_assert_eq(live_unlink(l, LIVE_INO_ROOT, "dir2"), -EISDIR);
	char *before = dump_live(l, true);
	live_close(l);

	l = fx_live(&f);
	char *after = dump_live(l, true);
	assert_same(before, after, "after remount");
	cr_assert_eq(fx_ino(l, "dir2/f.txt", &ino), 0);
	cr_assert_eq(live_getattr(l, ino, &st), 0);
	cr_assert_eq(st.st_uid, 3);
	cr_assert_eq(st.st_nlink, 2);
	live_close(l);
	free(before);
	free(after);
}

/* cp -a and tar set modes through system.posix_acl_access; the kernel leaves it to the file
 * system to turn an ACL into mode bits (a minimal ACL is then not kept). */
/* A socket (bind(2) on the mount) is a node of its own type in a format 2 store, and comes
 * back as one from the journal; a format 1 tree cannot hold one: EOPNOTSUPP, nothing made. */
Test(live, sockets_in_format_2_stores, .init = setup_empty, .fini = teardown)
{
	struct live *l = fx_live(&f);
	struct stat st;

	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "s", S_IFSOCK | 0751, 0, 7, 8, &st), 0);
	cr_assert_eq(st.st_mode, S_IFSOCK | 0751);
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "s", S_IFSOCK | 0600, 0, 0, 0, &st), -EEXIST);
	live_close(l);
	l = fx_live(&f);
	cr_assert_eq(live_lookup(l, LIVE_INO_ROOT, "s", &st), 0);
	cr_assert_eq(st.st_mode, S_IFSOCK | 0751);
	cr_assert_eq(st.st_uid, 7);
	cr_assert_eq(st.st_gid, 8);
	live_close(l);
}

Test(live, no_sockets_in_format_1_stores, .init = setup_format1, .fini = teardown)
{
	struct live *l = fx_live(&f);
	struct stat st;

	cr_assert_eq(store_format(f.s), 1);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "s", S_IFSOCK | 0600, 0, 0, 0, &st), -EOPNOTSUPP);
	cr_assert_eq(live_lookup(l, LIVE_INO_ROOT, "s", &st), -ENOENT);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "p", S_IFIFO | 0600, 0, 0, 0, &st), 0);
	live_close(l);
}

Test(live, access_acls_set_the_mode, .init = setup_empty, .fini = teardown)
{
	struct live *l = fx_live(&f);
	struct stat st;
	char buf[64];
	/* version 2; user::rw- group::r-- other::r-- */
	const uint8_t minimal[] = {2,	 0,    0, 0, 1,	   0,	 6,    0,    0xff, 0xff,
				   0xff, 0xff, 4, 0, 4,	   0,	 0xff, 0xff, 0xff, 0xff,
				   0x20, 0,    4, 0, 0xff, 0xff, 0xff, 0xff};
	/* user::rwx user:1000:rw- group::r-x mask::rw- other::--- */
	const uint8_t full[] = {2,    0,    0,	  0,	1,    0,    7,	  0,	0xff, 0xff, 0xff,
				0xff, 2,    0,	  6,	0,    0xe8, 3,	  0,	0,    4,    0,
				5,    0,    0xff, 0xff, 0xff, 0xff, 0x10, 0,	6,    0,    0xff,
				0xff, 0xff, 0xff, 0x20, 0,    0,    0,	  0xff, 0xff, 0xff, 0xff};

	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "f", S_IFREG | 0600, 0, 0, 0, &st), 0);
	cr_assert_eq(
	    live_setxattr(l, st.st_ino, "system.posix_acl_access", minimal, sizeof(minimal), 0), 0);
	cr_assert_eq(live_getattr(l, st.st_ino, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(live_getxattr(l, st.st_ino, "system.posix_acl_access", buf, sizeof(buf)),
		     -ENODATA, "a minimal ACL is the mode, not kept");
	cr_assert_eq(live_setxattr(l, st.st_ino, "system.posix_acl_access", full, sizeof(full), 0),
		     0);
	cr_assert_eq(live_getattr(l, st.st_ino, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0760, "group bits from the mask: %o", st.st_mode & 07777);
	cr_assert_eq(live_getxattr(l, st.st_ino, "system.posix_acl_access", buf, sizeof(buf)),
		     (ssize_t)sizeof(full));
	cr_assert_eq(live_setxattr(l, st.st_ino, "system.posix_acl_access", "junk", 4, 0), -EINVAL);
	live_close(l);
	l = fx_live(&f);
	uint64_t ino;
	cr_assert_eq(fx_ino(l, "f", &ino), 0);
	cr_assert_eq(live_getattr(l, ino, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0760);
	live_close(l);
}

/* A write or truncate by a caller without CAP_FSETID: setuid goes; setgid goes when the file is
 * group-executable or the caller is not in its group (the groups are asked for only then);
 * nothing is journaled when there is nothing to drop; the change survives a remount. */
Test(live, drop_privs_as_the_vfs_does, .init = setup_empty, .fini = teardown)
{
	struct live *l = fx_live(&f);
	const gid_t other[] = {7, 8}, member[] = {7, 50};
	struct stat st, a = {0};
	uint64_t x, y, z, d, before;

	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "x", S_IFREG | 06777, 0, 0, 50, &st), 0);
	x = st.st_ino;
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "y", S_IFREG | 02767, 0, 0, 50, &st), 0);
	y = st.st_ino;
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "z", S_IFREG | 02767, 0, 0, 50, &st), 0);
	z = st.st_ino;
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "d", S_IFDIR | 02775, 0, 0, 50, &st), 0);
	d = st.st_ino;
	/* group-executable: both bits go, whoever the caller */
	cr_assert_eq(live_drop_privs(l, x, 50, NULL, 0), 1);
	cr_assert_eq(live_getattr(l, x, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0777, "%o", st.st_mode & 07777);
	/* setgid without group execute: the answer needs the caller's groups */
	cr_assert_eq(live_drop_privs(l, y, 7, NULL, 0), -EAGAIN);
	cr_assert_eq(live_drop_privs(l, y, 7, other, 2), 1);
	cr_assert_eq(live_getattr(l, y, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0767, "not a member: setgid goes");
	cr_assert_eq(live_drop_privs(l, z, 7, member, 2), 0);
	cr_assert_eq(live_drop_privs(l, z, 50, NULL, 0), 0, "primary group: no need to ask");
	cr_assert_eq(live_getattr(l, z, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 02767, "a member keeps setgid");
	/* directories keep theirs; nothing to drop writes nothing */
	cr_assert_eq(live_drop_privs(l, d, 7, other, 2), 0);
	cr_assert_eq(live_getattr(l, d, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 02775);
	cr_assert_eq(live_setattr(l, x, &a, 0, &st), 0);
	before = jlog_bytes(l->j);
	cr_assert_eq(live_drop_privs(l, x, 7, other, 2), 0);
	cr_assert_eq(jlog_bytes(l->j), before, "a record for nothing");
	cr_assert_eq(live_drop_privs(l, 999999, 7, NULL, 0), -ENOENT);
	live_close(l);

	l = fx_live(&f);
	cr_assert_eq(fx_ino(l, "x", &x), 0);
	cr_assert_eq(fx_ino(l, "y", &y), 0);
	cr_assert_eq(live_getattr(l, x, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0777);
	cr_assert_eq(live_getattr(l, y, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0767);
	live_close(l);
}

Test(live, base_files_read_and_change, .init = setup_sealed, .fini = teardown)
{
	struct live *l = fx_live(&f);
	char p[256];
	size_t len;
	uint64_t a, hard, big;
	struct stat st;

	/* the base as sealed */
	uint8_t *got = fx_read_all(l, "big.bin", &len);
	fx_path(&f, "big.bin", p, sizeof(p));
	FILE *src = fopen(p, "rb");
	uint8_t *want = malloc(3u << 20);
	cr_assert_eq(fread(want, 1, 3u << 20, src), 3u << 20);
	fclose(src);
	cr_assert_eq(len, 3u << 20);
	cr_assert_arr_eq(got, want, len);
	free(got);
	/* the base's hard link is one node */
	cr_assert_eq(fx_ino(l, "a.txt", &a), 0);
	cr_assert_eq(fx_ino(l, "sub/hard", &hard), 0);
	cr_assert_eq(a, hard);
	/* 4 KiB in the middle of the big file */
	cr_assert_eq(fx_ino(l, "big.bin", &big), 0);
	memset(want + 1500000, 'x', 4096);
	cr_assert_eq(live_write(l, big, 1500000, want + 1500000, 4096), 4096);
	/* truncate down then up: the base's bytes do not come back */
	struct stat sa = {.st_size = 2};
	cr_assert_eq(live_setattr(l, a, &sa, LIVE_SET_SIZE, &st), 0);
	sa.st_size = 6;
	cr_assert_eq(live_setattr(l, a, &sa, LIVE_SET_SIZE, &st), 0);
	got = fx_read_all(l, "sub/hard", &len);
	cr_assert_eq(len, 6);
	cr_assert_arr_eq(got, "al\0\0\0\0", 6);
	free(got);
	/* rename a base directory with its subtree, then change something in it */
	cr_assert_eq(live_rename(l, LIVE_INO_ROOT, "sub", LIVE_INO_ROOT, "moved", 0), 0);
	uint64_t c;
	cr_assert_eq(fx_ino(l, "moved/deep/c.txt", &c), 0);
	cr_assert_eq(live_write(l, c, 0, "C", 1), 1);
	cr_assert_eq(fx_ino(l, "sub", &c), -ENOENT);
	char *before = dump_live(l, true);
	live_close(l);

	l = fx_live(&f);
	char *after = dump_live(l, true);
	assert_same(before, after, "after remount");
	got = fx_read_all(l, "big.bin", &len);
	cr_assert_arr_eq(got, want, len);
	free(got);
	got = fx_read_all(l, "moved/deep/c.txt", &len);
	cr_assert_arr_eq(got, "Charlie\n", 8);
	free(got);
	live_close(l);
	free(want);
	free(before);
	free(after);
}

/* A change inside a base directory the journal has not named yet: the directory's BIND comes
 * first and takes a jid, the CREATE gets the next one (a CREATE naming its parent before the
 * BIND did once made the journal unreplayable). */
Test(live, creating_in_an_unnamed_base_directory_replays, .init = setup_sealed, .fini = teardown)
{
	struct live *l = fx_live(&f);
	uint64_t deep, sub;
	struct stat st;

	cr_assert_eq(fx_ino(l, "sub", &sub), 0);
	cr_assert_eq(fx_ino(l, "sub/deep", &deep), 0);
	cr_assert_eq(live_mknod(l, deep, "new.txt", S_IFREG | 0644, 0, 0, 0, &st), 0);
	cr_assert_eq(live_write(l, st.st_ino, 0, "n", 1), 1);
	cr_assert_eq(live_mknod(l, sub, "d", S_IFDIR | 0755, 0, 0, 0, &st), 0);
	char *before = dump_live(l, true);
	live_close(l);
	l = fx_live(&f);
	char *after = dump_live(l, true);
	assert_same(before, after, "after remount");
	live_close(l);
	free(before);
	free(after);
}

Test(live, checkpoint_restates_the_same_tree, .init = setup_sealed, .fini = teardown)
{
	struct live *l = fx_live(&f);
	uint64_t ino;
	struct stat st, d;

	cr_assert_eq(fx_ino(l, "sub/deep", &ino), 0);
	cr_assert_eq(live_rename(l, ino, "c.txt", LIVE_INO_ROOT, "c-moved", 0), 0);
	cr_assert_eq(live_mknod(l, ino, "new", S_IFDIR | 0700, 0, 0, 0, &d), 0);
	cr_assert_eq(live_mknod(l, d.st_ino, "n.bin", S_IFREG | 0600, 0, 0, 0, &st), 0);
	cr_assert_eq(live_write(l, st.st_ino, 5, "data", 4), 4);
	cr_assert_eq(fx_ino(l, "a.txt", &ino), 0);
	cr_assert_eq(live_setxattr(l, ino, "user.k", "v", 1, 0), 0);
	cr_assert_eq(live_unlink(l, LIVE_INO_ROOT, "link"), 0);
	char *before = dump_live(l, true);
	pthread_mutex_lock(&l->lock);
	cr_assert_eq(live_checkpoint(l), 0);
	pthread_mutex_unlock(&l->lock);
	/* changes after the checkpoint go on in the new generation */
	cr_assert_eq(live_write(l, st.st_ino, 0, "X", 1), 1);
	cr_assert_eq(live_rename(l, LIVE_INO_ROOT, "big.bin", d.st_ino, "big", 0), 0);
	char *mid = dump_live(l, true);
	cr_assert_neq(strcmp(before, mid), 0);
	live_close(l);

	l = fx_live(&f);
	char *after = dump_live(l, true);
	assert_same(mid, after, "after checkpoint and remount");
	live_close(l);
	free(before);
	free(mid);
	free(after);
}

/* ---- random operations against a real directory ---- */

struct model {
	struct live *l;
	char root[256];
	unsigned seed;
};

/* short names collide often; "sub", "deep", "a.txt" and "hard" are in the sealed base */
static const char *const NAMES[] = {"a", "sub", "deep", "a.txt", "hard"};

static void rand_path(unsigned *seed, char *out, size_t size)
{
	int depth = 1 + (int)(rand_r(seed) % 3);
	size_t at = 0;
	for (int i = 0; i < depth; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%s", i ? "/" : "",
				       NAMES[rand_r(seed) % 5]);
}

/* Walk path like the kernel would for a path in the model: a symlink in the middle (or at the
 * end, with follow) leads nowhere (the tests' targets never exist): ENOENT. */
static int walk(struct live *l, const char *path, bool follow, uint64_t *ino)
{
	char buf[256], *save = NULL, *c, *next;
	uint64_t cur = LIVE_INO_ROOT;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c; c = next) {
		next = strtok_r(NULL, "/", &save);
		int ret = live_lookup(l, cur, c, &st);
		if (ret)
			return ret;
		if (S_ISLNK(st.st_mode) && (next || follow))
			return -ENOENT;
		if (next && !S_ISDIR(st.st_mode))
			return -ENOTDIR;
		cur = st.st_ino;
	}
	*ino = cur;
	return 0;
}

/* Split "x/y/z" into the parent's inode in the live tree (or an error) and the last name. */
static int live_parent_of(struct live *l, const char *path, uint64_t *parent, const char **name)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	if (!slash) {
		*parent = LIVE_INO_ROOT;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int ret = walk(l, dir, true, parent);
	if (!ret) {
		struct stat st;
		live_getattr(l, *parent, &st);
		if (!S_ISDIR(st.st_mode))
			ret = -ENOTDIR;
	}
	return ret;
}

static int err(int r)
{
	return r < 0 ? -errno : r;
}

/* One random operation on both; returns whether their results agreed. */
static void one_op(struct model *m, int step)
{
	char p1[256], p2[256], full1[512], full2[512];
	uint64_t par1, par2, ino;
	const char *n1, *n2;
	struct stat st;
	int want, got, op = (int)(rand_r(&m->seed) % 14);
	uint8_t data[70000];

	rand_path(&m->seed, p1, sizeof(p1));
	rand_path(&m->seed, p2, sizeof(p2));
	snprintf(full1, sizeof(full1), "%s/%s", m->root, p1);
	snprintf(full2, sizeof(full2), "%s/%s", m->root, p2);
	int pe1 = live_parent_of(m->l, p1, &par1, &n1);
	int pe2 = live_parent_of(m->l, p2, &par2, &n2);
	switch (op) {
	case 0: /* create a file */
		want = err(mknod(full1, S_IFREG | 0644, 0));
		got = pe1 ? pe1 : live_mknod(m->l, par1, n1, S_IFREG | 0644, 0, 0, 0, &st);
		break;
	case 1:
		want = err(mkdir(full1, 0755));
		got = pe1 ? pe1 : live_mknod(m->l, par1, n1, S_IFDIR | 0755, 0, 0, 0, &st);
		break;
	case 2:
	case 3: { /* write at a random offset */
		size_t len = 1 + rand_r(&m->seed) % (op == 2 ? 100 : sizeof(data) - 1);
		uint64_t off = rand_r(&m->seed) % 200000;
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)(step + i);
		int fd = open(full1, O_WRONLY);
		want = fd < 0 ? -errno : err((int)pwrite(fd, data, len, (off_t)off));
		if (fd >= 0)
			close(fd);
		got = walk(m->l, p1, true, &ino);
		if (!got) {
			live_getattr(m->l, ino, &st);
			got = S_ISDIR(st.st_mode) ? -EISDIR
						  : (int)live_write(m->l, ino, off, data, len);
		}
		break;
	}
	case 4: { /* truncate */
		off_t size = (off_t)(rand_r(&m->seed) % 150000);
		want = err(truncate(full1, size));
		got = walk(m->l, p1, true, &ino);
		if (!got) {
			struct stat a = {.st_size = size};
			got = live_setattr(m->l, ino, &a, LIVE_SET_SIZE, &st);
		}
		break;
	}
	case 5:
		want = err(unlink(full1));
		got = pe1 ? pe1 : live_unlink(m->l, par1, n1);
		break;
	case 6:
		want = err(rmdir(full1));
		got = pe1 ? pe1 : live_rmdir(m->l, par1, n1);
		break;
	case 7:
	case 8: { /* rename, sometimes with a flag */
		unsigned flags =
		    op == 8 ? (rand_r(&m->seed) % 2 ? RENAME_NOREPLACE : RENAME_EXCHANGE) : 0;
		want = err(renameat2(AT_FDCWD, full1, AT_FDCWD, full2, flags));
		got = pe1   ? pe1
		      : pe2 ? pe2
			    : live_rename(m->l, par1, n1, par2, n2,
					  flags == RENAME_NOREPLACE ? LIVE_RENAME_NOREPLACE
					  : flags		    ? LIVE_RENAME_EXCHANGE
								    : 0);
		break;
	}
	case 9: {
		struct stat ms, ts;
		/* the mount links regular files only (what a snapshot can hold): others EPERM */
		bool special = lstat(full1, &ms) == 0 && !S_ISREG(ms.st_mode) &&
			       !S_ISDIR(ms.st_mode) && pe2 == 0 && lstat(full2, &ts) != 0;
		want = special ? -EPERM : err(link(full1, full2));
		got = walk(m->l, p1, false, &ino);
		if (!got)
			got = pe2 ? pe2 : live_link(m->l, ino, par2, n2, &st);
		break;
	}
	case 10: { /* targets that never exist: paths through them lead nowhere */
		char t[32];
		snprintf(t, sizeof(t), "nowhere-%d", step);
		want = err(symlink(t, full1));
		got = pe1 ? pe1 : live_symlink(m->l, par1, n1, t, 0, 0, &st);
		break;
	}
	case 11: {
		mode_t mode = (mode_t)(rand_r(&m->seed) % 01000);
		want = err(fchmodat(AT_FDCWD, full1, mode, 0));
		got = walk(m->l, p1, true, &ino);
		if (!got) {
			struct stat a = {.st_mode = mode};
			got = live_setattr(m->l, ino, &a, LIVE_SET_MODE, &st);
		}
		break;
	}
	case 12: {
		char v[32];
		int vl = snprintf(v, sizeof(v), "value-%d", step);
		want = err(lsetxattr(full1, "user.t", v, (size_t)vl, 0));
		got = walk(m->l, p1, false, &ino);
		if (!got) {
			live_getattr(m->l, ino, &st);
			/* the kernel allows user.* xattrs on files and directories only */
			got = S_ISLNK(st.st_mode)
				  ? -EPERM
				  : live_setxattr(m->l, ino, "user.t", v, (size_t)vl, 0);
		}
		break;
	}
	default:
		want = err(lremovexattr(full1, "user.t"));
		got = walk(m->l, p1, false, &ino);
		if (!got) {
			live_getattr(m->l, ino, &st);
			got = S_ISLNK(st.st_mode) ? -EPERM : live_removexattr(m->l, ino, "user.t");
		}
		break;
	}
	if (want > 0 && op <= 3)
		want = got > 0 ? got : want; /* byte counts: both wrote everything */
	cr_assert_eq(got > 0 ? 0 : got, want > 0 ? 0 : want,
		     "seed %u step %d: op %d on %s, %s: model %d, live %d", m->seed, step, op, p1,
		     p2, want, got);
}

/* A commit of the live tree: the snapshot must read exactly as the tree does. */
static void commit_check(struct live *l, int step)
{
	struct commit_opts o = {0};
	struct commit_result r;
	char jdir[256], hex[2 * ID_LEN + 1];

	cr_assert_eq(commit_run(l, &o, &r), 0, "commit at step %d", step);
	if (!r.nothing) {
		char *want = dump_live(l, true);
		snprintf(jdir, sizeof(jdir), "%s/check-%d", f.dir, step);
		hex_encode(r.snapshot, ID_LEN, hex);
		struct live_opts lo = {.journal_dir = jdir, .host = "test", .snapshot = hex};
		struct live *c = NULL;
		cr_assert_eq(live_open(f.s, &lo, &c), 0);
		char *got = dump_live(c, true);
		assert_same(want, got, "the committed snapshot vs the tree");
		live_close(c);
		free(got);
		free(want);
	}
	commit_result_clear(&r);
}

static void random_run(const char *copy_from, unsigned seed, int steps)
{
	struct model m = {.seed = seed};
	const char *env = getenv("LIVE_TEST_SEED");
	char cmd[600];

	if (env)
		m.seed = seed = (unsigned)strtoul(env, NULL, 10);
	snprintf(m.root, sizeof(m.root), "%s/model", f.dir);
	if (copy_from) {
		snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", copy_from, m.root);
		cr_assert_eq(system(cmd), 0);
	} else {
		mkdir(m.root, 0755);
	}
	m.l = fx_live(&f);
	fprintf(stderr, "live random test: seed %u\n", seed);
	for (int step = 0; step < steps; step++) {
		one_op(&m, step);
		if (step % 400 == 399)
			commit_check(m.l, step);
		if (step % 250 == 249) {
			char *want = dump_real(m.root), *got = dump_live(m.l, false);
			assert_same(want, got, "live tree vs directory");
			free(got);
			if (step % 1000 == 999) { /* remount: the journal must rebuild it */
				live_close(m.l);
				m.l = fx_live(&f);
			} else if (step % 500 == 499) {
				pthread_mutex_lock(&m.l->lock);
				cr_assert_eq(live_checkpoint(m.l), 0);
				pthread_mutex_unlock(&m.l->lock);
			}
			got = dump_live(m.l, false);
			assert_same(want, got, "after remount or checkpoint");
			free(got);
			free(want);
		}
	}
	live_close(m.l);
}

Test(live, random_operations_match_a_directory, .init = setup_empty, .fini = teardown)
{
	random_run(NULL, 20260601, 3000);
}

Test(live, random_operations_on_a_base_match_a_directory, .init = setup_sealed, .fini = teardown)
{
	random_run(f.src, 20260602, 3000);
}

/* ---- crashes: whatever the disk kept of the journal's tail, the replay gives a state the
 * tree was in, never less than what was synced ---- */

Test(live, torn_tails_replay_to_a_past_state, .init = setup_sealed, .fini = teardown)
{
	struct live *l = fx_live(&f);
	char *states[64];
	int nstates = 0, synced_at;
	uint64_t ino;
	struct stat st;
	char cmd[1024], copy[256], seg[512];

	snprintf(copy, sizeof(copy), "%s/crash", f.dir);
	states[nstates++] = dump_live(l, true);
	cr_assert_eq(fx_ino(l, "a.txt", &ino), 0);
	cr_assert_eq(live_write(l, ino, 0, "A", 1), 1);
	states[nstates++] = dump_live(l, true);
	cr_assert_eq(live_sync(l), 0);
	synced_at = nstates - 1;
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, name, S_IFREG | 0600, 0, 0, 0, &st), 0);
		states[nstates++] = dump_live(l, true);
		cr_assert_eq(live_write(l, st.st_ino, (uint64_t)i * 1000, name, strlen(name)),
			     (ssize_t)strlen(name));
		states[nstates++] = dump_live(l, true);
	}
	/* the disk as it is now (page cache included): one possible crash state */
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", f.jdir, copy);
	cr_assert_eq(system(cmd), 0);
	live_close(l);
	/* the newest segment, cut at many points */
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep seg- | sort | tail -1", copy);
	FILE *p = popen(cmd, "r");
	char last[64];
	cr_assert_not_null(fgets(last, sizeof(last), p));
	pclose(p);
	last[strcspn(last, "\n")] = 0;
	snprintf(seg, sizeof(seg), "%s/%s", copy, last);
	struct stat sst;
	cr_assert_eq(stat(seg, &sst), 0);
	for (int k = 0; k < 12; k++) {
		char trial[256], tseg[600];
		snprintf(trial, sizeof(trial), "%s/t%d", f.dir, k);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", trial, copy, trial);
		cr_assert_eq(system(cmd), 0);
		snprintf(tseg, sizeof(tseg), "%s/%s", trial, last);
		off_t cut = sst.st_size - (off_t)(k * 37 + k * k * 13);
		cr_assert_eq(truncate(tseg, cut), 0);
		struct live_opts o = {.journal_dir = trial, .host = "test"};
		cr_assert_eq(live_open(f.s, &o, &l), 0, "cut at %lld", (long long)cut);
		char *got = dump_live(l, true);
		int match = -1;
		for (int s = 0; s < nstates; s++)
			if (!strcmp(got, states[s]))
				match = s;
		cr_assert_geq(match, synced_at, "cut at %lld: replay gave state %d (synced: %d)",
			      (long long)cut, match, synced_at);
		free(got);
		live_close(l);
	}
	for (int s = 0; s < nstates; s++)
		free(states[s]);
}
