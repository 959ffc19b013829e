/* Unit tests of the on-disk ciphertext cache. */
#include "diskcache.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hex.h"

#define STORE "00112233445566778899aabbccddeeff"
#define HDR   32 /* entry header, see diskcache.h */

static char dir[64];
static struct diskcache *dc;

static void setup(void)
{
	strcpy(dir, "/tmp/test_diskcache.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_geq(sodium_init(), 0);
	dc = NULL;
}

static void teardown(void)
{
	char cmd[256];

	diskcache_close(dc);
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", dir, dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(diskcache, .init = setup, .fini = teardown);

static void open_dc(uint64_t max)
{
	cr_assert_eq(diskcache_open(dir, STORE, max, &dc), 0);
}

static void reopen(uint64_t max)
{
	diskcache_close(dc);
	dc = NULL;
	open_dc(max);
}

/* Record i: a well-spread id and content that depends on it. */
static struct rec_ref ref_of(unsigned i, uint32_t len)
{
	struct rec_ref r = {.off = i, .len = len, .plen = len};
	crypto_generichash(r.id, ID_LEN, (const uint8_t *)&i, sizeof(i), NULL, 0);
	return r;
}

static uint8_t *content_of(unsigned i, size_t len)
{
	uint8_t *p = malloc(len);
	cr_assert_not_null(p);
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 131 + k * 7 + (k >> 8));
	return p;
}

static void put(unsigned i, size_t len)
{
	struct store_fetch_hook *h = diskcache_hook(dc);
	struct rec_ref r = ref_of(i, (uint32_t)len);
	uint8_t *p = content_of(i, len);
	h->put(h->ctx, &r, REC_WHOLE, p, len);
	free(p);
}

/* 0 and content checked, or the get's error. */
static int get(unsigned i, size_t len)
{
	struct store_fetch_hook *h = diskcache_hook(dc);
	struct rec_ref r = ref_of(i, (uint32_t)len);
	uint8_t *rec = NULL, *want;
	size_t n = 0;
	int ret = h->get(h->ctx, &r, REC_WHOLE, &rec, &n);

	if (ret)
		return ret;
	want = content_of(i, len);
	cr_assert_eq(n, len, "record %u: length %zu", i, n);
	cr_assert_arr_eq(rec, want, len, "record %u: content differs", i);
	free(want);
	free(rec);
	return 0;
}

static void entry_path(unsigned i, char *out, size_t size)
{
	struct rec_ref r = ref_of(i, 0);
	char hex[2 * ID_LEN + 1];
	hex_encode(r.id, ID_LEN, hex);
	snprintf(out, size, "%s/%s/%.2s/%s", dir, STORE, hex, hex);
}

static struct diskcache_stats stats(void)
{
	struct diskcache_stats st;
	diskcache_get_stats(dc, &st);
	return st;
}

static uint64_t disk_bytes, disk_files;

static int count_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	if (flag == FTW_F && strlen(path + f->base) == 2 * ID_LEN) {
		disk_bytes += (uint64_t)sb->st_size;
		disk_files++;
	}
	return 0;
}

/* Totals of the entry files really on disk. */
static void disk_totals(void)
{
	disk_bytes = disk_files = 0;
	cr_assert_eq(nftw(dir, count_entry, 16, FTW_PHYS), 0);
}

Test(diskcache, round_trip)
{
	open_dc(1 << 20);
	put(1, 1000);
	cr_assert_eq(get(1, 1000), 0);
	struct diskcache_stats st = stats();
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.puts, 1);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.bytes, 1000 + HDR);
	put(1, 1000); /* same id again: nothing rewritten */
	cr_assert_eq(stats().puts, 1);
	disk_totals();
	cr_assert_eq(disk_files, 1);
	cr_assert_eq(disk_bytes, 1000 + HDR);
}

Test(diskcache, miss)
{
	open_dc(1 << 20);
	put(1, 100);
	cr_assert_eq(get(2, 100), -ENOENT);
	cr_assert_eq(stats().misses, 1);
	cr_assert_eq(stats().hits, 0);
}

Test(diskcache, drop_deletes)
{
	char path[PATH_MAX];
	struct rec_ref r = ref_of(3, 50);

	open_dc(1 << 20);
	put(3, 50);
	diskcache_hook(dc)->drop(diskcache_hook(dc)->ctx, &r, REC_WHOLE);
	cr_assert_eq(get(3, 50), -ENOENT);
	entry_path(3, path, sizeof(path));
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(stats().drops, 1);
	cr_assert_eq(stats().entries, 0);
	cr_assert_eq(stats().bytes, 0);
}

Test(diskcache, survives_reopen)
{
	open_dc(1 << 20);
	for (unsigned i = 0; i < 20; i++)
		put(i, 100 + i * 10);
	reopen(1 << 20);
	cr_assert_eq(stats().entries, 20);
	for (unsigned i = 0; i < 20; i++)
		cr_assert_eq(get(i, 100 + i * 10), 0, "record %u lost", i);
	cr_assert_eq(stats().hits, 20);
}

Test(diskcache, stores_never_mix)
{
	struct diskcache *other;

	open_dc(1 << 20);
	put(7, 100);
	cr_assert_eq(diskcache_open(dir, "ffee", 1 << 20, &other), 0);
	struct store_fetch_hook *h = diskcache_hook(other);
	struct rec_ref r = ref_of(7, 100);
	uint8_t *rec = NULL;
	size_t n;
	cr_assert_eq(h->get(h->ctx, &r, REC_WHOLE, &rec, &n), -ENOENT);
	diskcache_close(other);
}

Test(diskcache, bound_evicts_least_recently_used)
{
	const size_t len = 1000;
	const uint64_t max = 10 * (len + HDR);

	open_dc(max);
	for (unsigned i = 0; i < 10; i++)
		put(i, len);
	cr_assert_eq(stats().evictions, 0);
	cr_assert_eq(get(0, len), 0); /* 0 becomes the most recently used */
	put(10, len);
	put(11, len);
	cr_assert_eq(stats().evictions, 2);
	cr_assert_eq(get(0, len), 0, "a recently used entry was evicted");
	cr_assert_eq(get(1, len), -ENOENT);
	cr_assert_eq(get(2, len), -ENOENT);
	for (unsigned i = 3; i < 12; i++)
		cr_assert_eq(get(i, len), 0, "record %u", i);
	for (unsigned i = 12; i < 100; i++) {
		put(i, len + (i % 7) * 100);
		cr_assert_leq(stats().bytes, max);
	}
	disk_totals();
	cr_assert_leq(disk_bytes, max);
	cr_assert_eq(disk_bytes, stats().bytes);
	cr_assert_eq(disk_files, stats().entries);
}

Test(diskcache, oversize_not_cached)
{
	open_dc(1000);
	put(1, 1000 - HDR + 1);
	cr_assert_eq(stats().entries, 0);
	put(2, 1000 - HDR);
	cr_assert_eq(get(2, 1000 - HDR), 0);
}

static void set_mtime(unsigned i, time_t t)
{
	char path[PATH_MAX];
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	entry_path(i, path, sizeof(path));
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The LRU order of the next mount comes from the files' mtimes. */
Test(diskcache, lru_order_survives_reopen)
{
	const size_t len = 500;
	const uint64_t max = 5 * (len + HDR);

	open_dc(max);
	for (unsigned i = 0; i < 5; i++)
		put(i, len);
	diskcache_close(dc);
	dc = NULL;
	for (unsigned i = 0; i < 5; i++)
		set_mtime(i, 1000000000 + (4 - i) * 100); /* 4 oldest, 0 newest */
	open_dc(max);
	put(5, len);
	put(6, len);
	cr_assert_eq(get(4, len), -ENOENT);
	cr_assert_eq(get(3, len), -ENOENT);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(get(i, len), 0, "record %u", i);
}

Test(diskcache, hit_touches_mtime)
{
	char path[PATH_MAX];
	struct stat sb;

	open_dc(1 << 20);
	put(1, 100);
	set_mtime(1, 1000000000);
	cr_assert_eq(get(1, 100), 0);
	entry_path(1, path, sizeof(path));
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_gt(sb.st_mtime, time(NULL) - 60);
}

Test(diskcache, lowered_bound_evicts_at_open)
{
	open_dc(1 << 20);
	for (unsigned i = 0; i < 10; i++)
		put(i, 1000);
	reopen(3 * (1000 + HDR));
	cr_assert_eq(stats().entries, 3);
	cr_assert_eq(stats().evictions, 7);
	disk_totals();
	cr_assert_eq(disk_files, 3);
}

static void check_torn(unsigned i, size_t len)
{
	char path[PATH_MAX];

	cr_assert_eq(get(i, len), -ENOENT);
	cr_assert_eq(stats().torn, 1);
	cr_assert_eq(stats().misses, 1);
	cr_assert_eq(stats().entries, 0);
	entry_path(i, path, sizeof(path));
	cr_assert_eq(access(path, F_OK), -1, "torn entry not deleted");
	put(i, len); /* and it can be cached again */
	cr_assert_eq(get(i, len), 0);
}

Test(diskcache, torn_truncated)
{
	char path[PATH_MAX];

	open_dc(1 << 20);
	put(1, 4000);
	entry_path(1, path, sizeof(path));
	cr_assert_eq(truncate(path, HDR + 2000), 0);
	check_torn(1, 4000);
}

static void flip_byte(unsigned i, off_t off)
{
	char path[PATH_MAX];
	uint8_t b;
	int fd;

	entry_path(i, path, sizeof(path));
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/* A rotten record body is the store's to catch (its AEAD fails; it then drops the entry):
 * the cache no longer hashes every record, which doubled a read's crypto work. */
Test(diskcache, flipped_content_is_dropped_by_the_store)
{
	char path[PATH_MAX];
	struct store_fetch_hook *h;
	struct rec_ref r = ref_of(1, 4000);
	uint8_t *rec = NULL, *want;
	size_t n = 0;

	open_dc(1 << 20);
	put(1, 4000);
	flip_byte(1, HDR + 1234);
	h = diskcache_hook(dc);
	cr_assert_eq(h->get(h->ctx, &r, REC_WHOLE, &rec, &n), 0);
	want = content_of(1, 4000);
	cr_assert_eq(n, 4000);
	cr_assert_neq(rec[1234], want[1234], "the flipped byte is handed over as it is");
	free(want);
	free(rec);
	h->drop(h->ctx, &r,
		REC_WHOLE); /* what the store does when the record fails its AEAD check */
	entry_path(1, path, sizeof(path));
	cr_assert_eq(access(path, F_OK), -1, "dropped entry not deleted");
	cr_assert_eq(stats().entries, 0);
}

Test(diskcache, torn_flipped_header)
{
	open_dc(1 << 20);
	put(1, 4000);
	flip_byte(1, 9); /* the length field */
	check_torn(1, 4000);
}

Test(diskcache, torn_short_removed_at_open)
{
	char path[PATH_MAX];

	open_dc(1 << 20);
	put(1, 100);
	put(2, 100);
	diskcache_close(dc);
	dc = NULL;
	entry_path(1, path, sizeof(path));
	cr_assert_eq(truncate(path, 10), 0); /* shorter than a header */
	open_dc(1 << 20);
	cr_assert_eq(stats().torn, 1);
	cr_assert_eq(stats().entries, 1);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(get(2, 100), 0);
}

Test(diskcache, stray_temp_files_removed)
{
	char path[PATH_MAX], keep[PATH_MAX];

	open_dc(1 << 20);
	put(1, 100);
	diskcache_close(dc);
	dc = NULL;
	snprintf(path, sizeof(path), "%s/%s/7f/.tmp.1234.5", dir, STORE);
	snprintf(keep, sizeof(keep), "%s/%s/7f/notes.txt", dir, STORE);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("half a record", f);
	fclose(f);
	cr_assert_not_null(f = fopen(keep, "w"));
	fclose(f);
	open_dc(1 << 20);
	cr_assert_eq(access(path, F_OK), -1, "stray temp file left");
	cr_assert_eq(access(keep, F_OK), 0, "a file that is not ours was removed");
	cr_assert_eq(stats().entries, 1);
	cr_assert_eq(get(1, 100), 0);
}

static int count_temp(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	if (!strncmp(path + f->base, ".tmp.", 5))
		disk_files++;
	return 0;
}

/* kill -9 in the middle of puts: the next open finds only whole entries and no temp files. */
Test(diskcache, survives_kill_9)
{
	const size_t len = 256 << 10;
	int fds[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(fds), 0);
	if (!(pid = fork())) {
		/* no Criterion asserts in the child: a failure shows as the pipe's EOF */
		close(fds[0]);
		if (diskcache_open(dir, STORE, 64 << 20, &dc))
			_exit(1);
		for (unsigned i = 0;; i++) {
			put(i, len);
			if (i == 20 && write(fds[1], "x", 1) != 1)
				_exit(1);
		}
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1,
		     "the writer died early"); /* 20 puts done, more under way */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	open_dc(64 << 20);
	disk_files = 0;
	cr_assert_eq(nftw(dir, count_temp, 16, FTW_PHYS), 0);
	cr_assert_eq(disk_files, 0, "temp files left after open");
	uint64_t n = stats().entries;
	cr_assert_geq(n, 21);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(get(i, len), 0, "record %u", i);
	close(fds[0]);
}

Test(diskcache, second_open_busy)
{
	struct diskcache *two = NULL;

	open_dc(1 << 20);
	diskcache_lock_wait_ms = 100;
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &two), -EBUSY);
	cr_assert_null(two);
	reopen(1 << 20); /* closing released it */
}

static void *close_later(void *arg)
{
	const struct timespec pause = {0, 200 * 1000 * 1000};

	nanosleep(&pause, NULL);
	diskcache_close(arg);
	return NULL;
}

/* `umount; mount` at once: the ending mount's daemon still holds the lock for a moment, and
 * the new mount waits for it instead of failing (mirror_poison hit this on a loaded host). */
Test(diskcache, open_waits_for_an_ending_holder)
{
	struct diskcache *two = NULL;
	pthread_t th;

	open_dc(1 << 20);
	diskcache_lock_wait_ms = 30000;
	cr_assert_eq(pthread_create(&th, NULL, close_later, dc), 0);
	dc = NULL;
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &two), 0, "did not wait for the holder");
	pthread_join(th, NULL);
	dc = two;
}

Test(diskcache, bad_store_id)
{
	cr_assert_eq(diskcache_open(dir, "../x", 1 << 20, &dc), -EINVAL);
	cr_assert_eq(diskcache_open(dir, "", 1 << 20, &dc), -EINVAL);
	cr_assert_eq(diskcache_open(dir, "ABCD", 1 << 20, &dc), -EINVAL);
	cr_assert_null(dc);
}

Test(diskcache, default_dir_from_xdg_and_home)
{
	char path[PATH_MAX], xdg[128];
	struct stat sb;

	snprintf(xdg, sizeof(xdg), "%s/xdg", dir);
	setenv("XDG_CACHE_HOME", xdg, 1);
	cr_assert_eq(diskcache_open(NULL, STORE, 1 << 20, &dc), 0);
	snprintf(path, sizeof(path), "%s/embassy/%s/ab", xdg, STORE);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
	diskcache_close(dc);
	dc = NULL;

	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", dir, 1);
	cr_assert_eq(diskcache_open(NULL, STORE, 1 << 20, &dc), 0);
	snprintf(path, sizeof(path), "%s/.cache/embassy/%s", dir, STORE);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
}

Test(diskcache, refuses_group_writable_dir)
{
	cr_assert_eq(chmod(dir, 0770), 0);
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &dc), -EPERM);
	cr_assert_eq(chmod(dir, 0702), 0);
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &dc), -EPERM);
	cr_assert_eq(chmod(dir, 0755), 0); /* readable is fine: it holds only ciphertext */
	open_dc(1 << 20);
}

Test(diskcache, refuses_writable_store_subdir)
{
	char path[PATH_MAX];

	open_dc(1 << 20);
	diskcache_close(dc);
	dc = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, STORE);
	cr_assert_eq(chmod(path, 0777), 0);
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &dc), -EPERM);
	snprintf(path, sizeof(path), "%s/%s/3c", dir, STORE);
	cr_assert_eq(chmod(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE);
	cr_assert_eq(chmod(path, 0700), 0);
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &dc), -EPERM, "fan-out dir not checked");
}

Test(diskcache, refuses_dir_of_another_user)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	cr_assert_eq(chown(dir, 65534, 65534), 0);
	cr_assert_eq(diskcache_open(dir, STORE, 1 << 20, &dc), -EPERM);
	cr_assert_null(dc);
}

/* ---- many threads ---- */

#define NTHREADS  8
#define NIDS	  64
#define LEN_OF(i) (200 + ((i) % 16) * 300)

static atomic_int bad; /* Criterion asserts only on the test's own thread */

/* 0, -ENOENT, or 1 when the cache returned the wrong bytes. */
static int get_quiet(unsigned i, size_t len)
{
	struct store_fetch_hook *h = diskcache_hook(dc);
	struct rec_ref r = ref_of(i, (uint32_t)len);
	uint8_t *rec = NULL, *want;
	size_t n = 0;
	int ret = h->get(h->ctx, &r, REC_WHOLE, &rec, &n);

	if (ret)
		return ret;
	want = content_of(i, len);
	ret = n != len || memcmp(rec, want, len);
	free(want);
	free(rec);
	return ret;
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct store_fetch_hook *h = diskcache_hook(dc);

	for (int k = 0; k < 2000; k++) {
		unsigned i = (unsigned)rand_r(&seed) % NIDS, op = (unsigned)rand_r(&seed) % 10;
		struct rec_ref r = ref_of(i, LEN_OF(i));
		int ret;

		if (op < 6) {
			ret = get_quiet(i, LEN_OF(i));
			if (ret != 0 && ret != -ENOENT)
				atomic_fetch_add(&bad, 1);
		} else if (op < 9)
			put(i, LEN_OF(i));
		else
			h->drop(h->ctx, &r, REC_WHOLE);
	}
	return NULL;
}

Test(diskcache, concurrent_threads)
{
	const uint64_t max = 40000; /* about half the ids fit: constant eviction */
	pthread_t t[NTHREADS];

	open_dc(max);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&bad), 0, "wrong bytes or errors under concurrency");
	struct diskcache_stats st = stats();
	cr_assert_leq(st.bytes, max);
	cr_assert_gt(st.hits, 0);
	cr_assert_gt(st.evictions, 0);
	cr_assert_eq(st.torn, 0);
	disk_totals();
	cr_assert_eq(disk_bytes, st.bytes);
	cr_assert_eq(disk_files, st.entries);
	reopen(max); /* and what is left is intact */
	for (unsigned i = 0; i < NIDS; i++)
		cr_assert(get_quiet(i, LEN_OF(i)) <= 0);
	cr_assert_eq(stats().torn, 0);
	cr_assert_eq(stats().hits, disk_files);
	cr_assert_eq(stats().entries, disk_files);
}

/* Frames of a framed record are entries of their own ("<id>.<frame>"): stored, found again
 * after a reopen, told apart from the whole record and from each other. */
Test(diskcache, frame_parts)
{
	struct store_fetch_hook *h;
	struct rec_ref r = ref_of(77, 5000);
	uint8_t *a = content_of(1, 3000), *b = content_of(2, 4000), *rec = NULL;
	char path[256], moved[300];
	struct diskcache_stats st;
	size_t n;

	open_dc(1 << 20);
	h = diskcache_hook(dc);
	h->put(h->ctx, &r, 3, a, 3000);
	h->put(h->ctx, &r, 12, b, 4000);
	cr_assert_eq(h->get(h->ctx, &r, REC_WHOLE, &rec, &n), -ENOENT);
	cr_assert_eq(h->get(h->ctx, &r, 4, &rec, &n), -ENOENT);
	reopen(1 << 20);
	h = diskcache_hook(dc);
	diskcache_get_stats(dc, &st);
	cr_assert_eq(st.entries, 2, "both frame entries found by the scan");
	cr_assert_eq(h->get(h->ctx, &r, 3, &rec, &n), 0);
	cr_assert_eq(n, 3000);
	cr_assert_arr_eq(rec, a, 3000);
	free(rec);
	cr_assert_eq(h->get(h->ctx, &r, 12, &rec, &n), 0);
	cr_assert_arr_eq(rec, b, 4000);
	free(rec);
	/* an entry renamed to another frame's name is torn, never that frame */
	entry_path(77, path, sizeof(path));
	snprintf(moved, sizeof(moved), "%s.5", path);
	strcat(path, ".3");
	cr_assert_eq(rename(path, moved), 0);
	reopen(1 << 20);
	h = diskcache_hook(dc);
	cr_assert_eq(h->get(h->ctx, &r, 5, &rec, &n), -ENOENT);
	cr_assert_eq(h->get(h->ctx, &r, 3, &rec, &n), -ENOENT);
	h->drop(h->ctx, &r, 12);
	cr_assert_eq(h->get(h->ctx, &r, 12, &rec, &n), -ENOENT);
	free(a);
	free(b);
}
