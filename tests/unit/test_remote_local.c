/* Unit tests of the remote interface on the local-directory backend. */
#include "remote.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct remote *r;

static void setup(void)
{
	strcpy(dir, "/tmp/test_remote_local.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(remote_open(dir, NULL, &r), 0);
}

static void teardown(void)
{
	char cmd[128];

	remote_free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(remote_local, .init = setup, .fini = teardown);

static void put_str(const char *key, const char *s, int flags, int want)
{
	cr_assert_eq(remote_put(r, key, s, strlen(s), flags), want, "put %s", key);
}

Test(remote_local, round_trip_and_range)
{
	uint8_t *d = NULL;
	size_t n = 0;

	put_str("packs/ab/obj", "hello, embassy", 0, 0);
	cr_assert_eq(remote_get(r, "packs/ab/obj", 0, 0, 1 << 20, &d, &n), 0);
	cr_assert_eq(n, 14);
	cr_assert_arr_eq(d, "hello, embassy", 14);
	free(d);
	cr_assert_eq(remote_get(r, "packs/ab/obj", 7, 7, 0, &d, &n), 0);
	cr_assert_eq(n, 7);
	cr_assert_arr_eq(d, "embassy", 7);
	free(d);
	/* len 0 with an offset: the rest of the object */
	cr_assert_eq(remote_get(r, "packs/ab/obj", 7, 0, 0, &d, &n), 0);
	cr_assert_eq(n, 7);
	free(d);
}

Test(remote_local, short_range_is_ebadmsg)
{
	uint8_t *d = (uint8_t *)"x";
	size_t n = 99;

	put_str("a", "0123456789", 0, 0);
	cr_assert_eq(remote_get(r, "a", 5, 10, 0, &d, &n), -EBADMSG);
	cr_assert_null(d);
	cr_assert_eq(n, 0);
	cr_assert_eq(remote_get(r, "a", 11, 1, 0, &d, &n), -EBADMSG);
	cr_assert_eq(remote_get(r, "a", 10, 0, 0, &d, &n), 0); /* empty tail is fine */
	cr_assert_eq(n, 0);
	free(d);
}

Test(remote_local, max_len_bounds_whole_get)
{
	uint8_t *d = NULL;
	size_t n = 0;

	put_str("a", "0123456789", 0, 0);
	cr_assert_eq(remote_get(r, "a", 0, 0, 5, &d, &n), -EBADMSG);
	cr_assert_eq(remote_get(r, "a", 0, 0, 10, &d, &n), 0);
	free(d);
}

Test(remote_local, overwrite_and_create_only)
{
	uint8_t *d = NULL;
	size_t n = 0;

	put_str("heads/latest", "one", REMOTE_CREATE_ONLY, 0);
	put_str("heads/latest", "two", REMOTE_CREATE_ONLY, -EEXIST);
	put_str("heads/latest", "onE", REMOTE_CREATE_ONLY, -EEXIST);
	put_str("heads/latest", "one", REMOTE_CREATE_ONLY, 0); /* same bytes: idempotent */
	cr_assert_eq(remote_get(r, "heads/latest", 0, 0, 0, &d, &n), 0);
	cr_assert_arr_eq(d, "one", 3);
	free(d);
	put_str("heads/latest", "three", 0, 0);
	cr_assert_eq(remote_get(r, "heads/latest", 0, 0, 0, &d, &n), 0);
	cr_assert_eq(n, 5);
	free(d);
}

static int collect(void *ctx, const char *key)
{
	char *buf = ctx;

	strcat(buf, key);
	strcat(buf, ";");
	return 0;
}

static int stop_at_two(void *ctx, const char *key)
{
	int *count = ctx;

	return ++*count == 2 ? 42 : 0;
}

Test(remote_local, list_recursive_sorted_without_temp_files)
{
	char buf[512] = "", path[128];
	int count = 0;
	FILE *f;

	put_str("snapshots/b", "x", 0, 0);
	put_str("snapshots/a", "x", 0, 0);
	put_str("packs/00/p1", "x", 0, 0);
	put_str("packs/ff/p2", "x", 0, 0);
	put_str("packsfoo", "x", 0, 0);
	snprintf(path, sizeof(path), "%s/snapshots/.tmp.c.1234", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	cr_assert_eq(remote_list(r, "snapshots/", collect, buf), 0);
	cr_assert_str_eq(buf, "snapshots/a;snapshots/b;");
	buf[0] = '\0';
	cr_assert_eq(remote_list(r, "packs/", collect, buf), 0);
	cr_assert_str_eq(buf, "packs/00/p1;packs/ff/p2;");
	buf[0] = '\0';
	cr_assert_eq(remote_list(r, "packs/f", collect, buf), 0);
	cr_assert_str_eq(buf, "packs/ff/p2;");
	buf[0] = '\0';
	cr_assert_eq(remote_list(r, "index/", collect, buf), 0); /* absent directory: empty */
	cr_assert_str_eq(buf, "");
	cr_assert_eq(remote_list(r, "", stop_at_two, &count), 42);
	cr_assert_eq(count, 2);
}

Test(remote_local, delete_and_stat)
{
	uint64_t size = 0;

	put_str("index/i1", "12345", 0, 0);
	cr_assert_eq(remote_stat(r, "index/i1", &size), 0);
	cr_assert_eq(size, 5);
	cr_assert_eq(remote_delete(r, "index/i1"), 0);
	cr_assert_eq(remote_stat(r, "index/i1", &size), -ENOENT);
	cr_assert_eq(remote_delete(r, "index/i1"), -ENOENT);
	cr_assert_eq(remote_stat(r, "index", &size), -ENOENT); /* a directory is no object */
}

Test(remote_local, missing_object)
{
	uint8_t *d = NULL;
	size_t n = 0;

	cr_assert_eq(remote_get(r, "packs/none", 0, 0, 0, &d, &n), -ENOENT);
	cr_assert_eq(remote_get(r, "packs/none", 0, 5, 0, &d, &n), -ENOENT);
}

Test(remote_local, bad_keys_are_einval)
{
	static const char *bad[] = {"",		"/abs",	       "../up", "a/../b", "a//b",  "a/",
				    "sp ace",	"a\\b",	       "ü",	".",	  "a/./b", "x/..",
				    "a/.tmp.x", ".tmp.hidden", "a?b",	"a%2e"};
	uint8_t *d = NULL;
	size_t n = 0;
	uint64_t size;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(remote_put(r, bad[i], "x", 1, 0), -EINVAL, "put '%s'", bad[i]);
		cr_assert_eq(remote_get(r, bad[i], 0, 0, 0, &d, &n), -EINVAL, "get '%s'", bad[i]);
		cr_assert_eq(remote_stat(r, bad[i], &size), -EINVAL);
		cr_assert_eq(remote_delete(r, bad[i]), -EINVAL);
	}
	cr_assert_eq(remote_list(r, "../", collect, NULL), -EINVAL);
	cr_assert_eq(remote_list(r, "/x/", collect, NULL), -EINVAL);
	put_str("ok/A-z_0.9", "x", 0, 0);
}

Test(remote_local, get_many_serial_fallback)
{
	struct remote_req q[3] = {{.key = "a", .off = 2, .len = 3},
				  {.key = "a", .off = 8, .len = 5},
				  {.key = "../a", .off = 0, .len = 1}};
	struct remote_stats st;

	put_str("a", "0123456789", 0, 0);
	cr_assert_eq(remote_get_many(r, q, 3), 0);
	cr_assert_eq(q[0].result, 0);
	cr_assert_arr_eq(q[0].data, "234", 3);
	cr_assert_eq(q[1].result, -EBADMSG);
	cr_assert_null(q[1].data);
	cr_assert_eq(q[2].result, -EINVAL);
	free(q[0].data);
	remote_get_stats(r, &st);
	cr_assert_eq(st.puts, 1);
	cr_assert_eq(st.bytes_out, 10);
	cr_assert_eq(st.bytes_in, 3);
}

Test(remote_local, urls)
{
	struct remote *r2 = NULL;
	char url[128];

	snprintf(url, sizeof(url), "file://%s", dir);
	cr_assert_eq(remote_open(url, NULL, &r2), 0);
	cr_assert_str_eq(remote_name(r2), url);
	remote_free(r2);
	cr_assert_eq(remote_open("file://host/x", NULL, &r2), -EINVAL);
	cr_assert_eq(remote_open("ftp://host/x", NULL, &r2), -EINVAL);
	cr_assert_eq(remote_open("", NULL, &r2), -EINVAL);
	unsetenv("EMBASSY_S3_ENDPOINT");
	cr_assert_eq(remote_open("s3://bucket/prefix", NULL, &r2), -EINVAL);
	cr_assert_eq(remote_open("http://", NULL, &r2), -EINVAL);
	cr_assert_eq(remote_open("https://host/x?y=1", NULL, &r2), -EINVAL);
}

/* ENOSPC must reach the caller, and the failed put must leave no temp file behind. */
Test(remote_local, enospc_propagates)
{
	static char big[1 << 17];
	char mnt[64] = "/tmp/test_remote_full.XXXXXX", cmd[192], store[96];
	struct remote *full = NULL;
	char buf[256] = "";

	cr_assert_not_null(mkdtemp(mnt));
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=64k tmpfs %s 2>/dev/null", mnt);
	if (system(cmd) != 0) {
		rmdir(mnt);
		cr_skip_test("cannot mount a small tmpfs (needs root)");
	}
	snprintf(store, sizeof(store), "%s/store", mnt);
	cr_assert_eq(remote_open(store, NULL, &full), 0);
	cr_assert_eq(remote_put(full, "packs/big", big, sizeof(big), 0), -ENOSPC);
	cr_assert_eq(remote_put(full, "packs/small", "x", 1, 0), 0);
	cr_assert_eq(remote_list(full, "", collect, buf), 0);
	cr_assert_str_eq(buf, "packs/small;");
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/store/packs | grep -v small)\"", mnt);
	cr_assert_eq(system(cmd), 0, "temp file left behind");
	remote_free(full);
	snprintf(cmd, sizeof(cmd), "umount %s && rmdir %s", mnt, mnt);
	cr_assert_eq(system(cmd), 0);
}

/* Big objects from a page-aligned buffer go out with O_DIRECT for their whole pages and
 * buffered for the tail (local.c write_object): every length and alignment comes back byte
 * for byte, and a create-only put of the same bytes again is accepted. */
Test(remote_local, big_objects_direct_and_tail)
{
	const size_t lens[] = {1u << 20, (1u << 20) + 1, (3u << 20) + 4095, (2u << 20) + 4096};
	uint8_t *buf = NULL;

	cr_assert_eq(posix_memalign((void **)&buf, 4096, (4u << 20) + 8192), 0);
	for (size_t i = 0; i < (4u << 20) + 8192; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	for (size_t k = 0; k < 2 * sizeof(lens) / sizeof(*lens); k++) {
		size_t len = lens[k % 4];
		const uint8_t *src = buf + (k >= 4 ? 512 : 0); /* then misaligned: buffered */
		char key[64];
		uint8_t *d = NULL;
		size_t n = 0;

		snprintf(key, sizeof(key), "packs/bb/big%zu", k);
		cr_assert_eq(remote_put(r, key, src, len, REMOTE_CREATE_ONLY), 0, "put %s", key);
		cr_assert_eq(remote_get(r, key, 0, 0, 8u << 20, &d, &n), 0);
		cr_assert_eq(n, len, "%s: %zu bytes back of %zu", key, n, len);
		cr_assert(memcmp(d, src, len) == 0, "%s differs", key);
		free(d);
		cr_assert_eq(remote_put(r, key, src, len, REMOTE_CREATE_ONLY), 0, "again %s", key);
	}
	free(buf);
}
