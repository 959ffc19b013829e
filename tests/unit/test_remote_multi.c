/* Unit tests of several embassies as one store (remote/multi.c): the choice of mirror, and
 * failover over real backends (local directories; a closed port for a dead server). */
#include "backend.h"
#include "multi.h"
#include "remote.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- selection ---- */

Test(mpick, fastest_first_failed_last)
{
	struct mpick p;
	size_t o[MULTI_MAX];

	mpick_init(&p, 3);
	cr_assert_eq(mpick_order(&p, 1000, 0, o), 3);
	cr_assert(o[0] == 0 && o[1] == 1 && o[2] == 2, "unmeasured: in URL order");
	mpick_ok(&p, 0, 9000, 100);
	mpick_ok(&p, 1, 1000, 100);
	mpick_ok(&p, 2, 5000, 100);
	mpick_order(&p, 1000, 0, o);
	cr_assert(o[0] == 1 && o[1] == 2 && o[2] == 0, "by measured cost");
	mpick_fail(&p, 1, 1000);
	mpick_order(&p, 1500, 0, o);
	cr_assert(o[0] == 2 && o[1] == 0 && o[2] == 1, "a failed mirror cools down last");
	cr_assert(mpick_is_down(&p, 1, 1500));
	mpick_order(&p, 1000 + MPICK_COOL_MIN_MS, 0, o);
	cr_assert_eq(o[0], 1, "back after its cool-down, by its cost");
	mpick_fail(&p, 1, 5000);
	cr_assert(mpick_is_down(&p, 1, 5000 + MPICK_COOL_MIN_MS), "cool-downs double");
	cr_assert_not(mpick_is_down(&p, 1, 5000 + 2 * MPICK_COOL_MIN_MS));
	for (int i = 0; i < 40; i++)
		mpick_fail(&p, 0, 0);
	cr_assert_not(mpick_is_down(&p, 0, MPICK_COOL_MAX_MS), "bounded cool-down");
	cr_assert_eq(mpick_order(&p, 1000, 1u << 2, o), 2, "skip mask");
	cr_assert(o[0] != 2 && o[1] != 2);
}

Test(mpick, large_reads_not_held_against_a_mirror)
{
	struct mpick p;
	size_t o[MULTI_MAX];

	mpick_init(&p, 2);
	mpick_ok(&p, 0, 2000, 100);	   /* 2 ms for a small request */
	mpick_ok(&p, 1, 40000, 16u << 20); /* 40 ms for 16 MiB: fast per byte */
	mpick_order(&p, 0, 0, o);
	cr_assert_eq(o[0], 1);
}

Test(mpick, probes_the_least_recently_measured)
{
	struct mpick p;
	size_t o[MULTI_MAX];
	int probed = 0;

	mpick_init(&p, 2);
	mpick_ok(&p, 0, 1000, 10);
	mpick_ok(&p, 1, 9000, 10);
	for (int i = 0; i < 2 * MPICK_PROBE; i++) {
		mpick_order(&p, 0, 0, o);
		if (o[0] == 1)
			probed++;
		else
			mpick_ok(&p, 0, 1000, 10);
	}
	cr_assert_eq(probed, 2, "the slower mirror is measured again every %d choices",
		     MPICK_PROBE);
}

/* ---- the backend over local directories ---- */

static char base[64], da[96], db[96], url[256];

static void put_file(const char *dir, const char *key, const char *s)
{
	char path[256], cmd[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(s, f);
	fclose(f);
}

static void setup(void)
{
	strcpy(base, "/tmp/test_remote_multi.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(da, sizeof(da), "%s/a", base);
	snprintf(db, sizeof(db), "%s/b", base);
	cr_assert_eq(mkdir(da, 0700), 0);
	cr_assert_eq(mkdir(db, 0700), 0);
	snprintf(url, sizeof(url), "%s,%s", da, db);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(multi, .init = setup, .fini = teardown);

static void expect_get(struct remote *r, const char *key, const char *want)
{
	uint8_t *d = NULL;
	size_t n = 0;

	cr_assert_eq(remote_get(r, key, 0, 0, 1 << 20, &d, &n), 0, "get %s", key);
	cr_assert_eq(n, strlen(want));
	cr_assert_arr_eq(d, want, n);
	free(d);
}

static int count_cb(void *ctx, const char *key)
{
	(void)key;
	(*(int *)ctx)++;
	return 0;
}

Test(multi, failover_on_missing_and_union_listing)
{
	struct remote *r;
	uint8_t *d = NULL;
	size_t n = 0;
	int names = 0;
	struct remote_mirror_stats st;

	put_file(da, "snapshots/one", "1");
	put_file(db, "snapshots/one", "1");
	put_file(db, "snapshots/two", "2");
	cr_assert(remote_url_is_multi(url));
	cr_assert_eq(remote_open(url, NULL, &r), 0);
	cr_assert_eq(remote_mirrors(r), 2);
	cr_assert_not(remote_is_local(r));
	expect_get(r, "snapshots/two", "2"); /* a lacks it: b serves it */
	cr_assert_eq(remote_get(r, "snapshots/none", 0, 0, 10, &d, &n), -ENOENT);
	cr_assert_eq(remote_list(r, "snapshots/", count_cb, &names), 0);
	cr_assert_eq(names, 2, "the union, each name once");
	cr_assert_eq(remote_put(r, "snapshots/x", "x", 1, 0), -EROFS);
	cr_assert_eq(remote_delete(r, "snapshots/one"), -EROFS);
	cr_assert_eq(remote_get_from(r, 0, "snapshots/two", 10, &d, &n), -ENOENT);
	cr_assert_eq(remote_get_from(r, 1, "snapshots/two", 10, &d, &n), 0);
	free(d);
	cr_assert_eq(remote_mirror_stats(r, 0, &st), 0);
	cr_assert_geq(st.missing, 2);
	cr_assert_eq(remote_mirror_stats(r, 2, &st), -EINVAL);
	remote_free(r);
}

Test(multi, get_many_fills_from_the_mirror_that_has_each)
{
	struct remote *r;
	struct remote_req q[3] = {{.key = "packs/aa/x", .off = 1, .len = 3},
				  {.key = "packs/bb/y", .off = 0, .len = 2},
				  {.key = "packs/cc/z", .off = 0, .len = 2}};

	put_file(da, "packs/aa/x", "abcdef");
	put_file(db, "packs/bb/y", "yy");
	cr_assert_eq(remote_open(url, NULL, &r), 0);
	cr_assert_eq(remote_get_many(r, q, 3), 0);
	cr_assert_eq(q[0].result, 0);
	cr_assert_arr_eq(q[0].data, "bcd", 3);
	cr_assert_eq(q[1].result, 0);
	cr_assert_arr_eq(q[1].data, "yy", 2);
	cr_assert_eq(q[2].result, -ENOENT, "missing everywhere: %d", q[2].result);
	free(q[0].data);
	free(q[1].data);
	remote_free(r);
}

Test(multi, rejected_bytes_are_read_from_another_mirror)
{
	struct remote *r;
	uint8_t buf[4];
	struct remote_mirror_stats st;

	put_file(da, "packs/aa/x", "BAD!");
	put_file(db, "packs/aa/x", "good");
	cr_assert_eq(remote_open(url, NULL, &r), 0);
	cr_assert_eq(remote_get_into(r, "packs/aa/x", 0, 4, buf), 0);
	cr_assert_arr_eq(buf, "BAD!", 4, "unmeasured mirrors: the first URL first");
	cr_assert_eq(remote_reject(r, "packs/aa/x"), 1, "another mirror may serve it");
	cr_assert_eq(remote_get_into(r, "packs/aa/x", 0, 4, buf), 0);
	cr_assert_arr_eq(buf, "good", 4);
	expect_get(r, "packs/aa/x", "good"); /* skipped for this object from now on */
	cr_assert_eq(remote_reject(r, "packs/aa/x"), 0, "no mirror left");
	cr_assert_eq(remote_get_into(r, "packs/aa/x", 0, 4, buf), -EBADMSG);
	cr_assert_eq(remote_reject(r, "packs/aa/other"), 0, "not read on this thread");
	remote_mirror_stats(r, 0, &st);
	cr_assert_eq(st.rejected, 1);
	remote_free(r);
}

Test(multi, dead_mirror_fails_over_then_cools_down)
{
	struct remote_opts o = {.timeout_s = 2};
	struct remote *r;
	struct remote_mirror_stats st;
	char u[300];

	put_file(db, "snapshots/one", "1");
	/* port 1 on the loopback: nothing listens, the connection is refused */
	snprintf(u, sizeof(u), "http://127.0.0.1:1/store/,%s", db);
	cr_assert_eq(remote_open(u, &o, &r), 0);
	expect_get(r, "snapshots/one", "1");
	remote_mirror_stats(r, 0, &st);
	cr_assert_eq(st.failures, 1);
	cr_assert(st.down);
	expect_get(r, "snapshots/one", "1"); /* the live mirror first now */
	remote_mirror_stats(r, 0, &st);
	cr_assert_eq(st.failures, 1, "a mirror cooling down is asked last");
	remote_mirror_stats(r, 1, &st);
	cr_assert_eq(st.gets, 2);
	remote_free(r);
}

Test(multi, all_down_is_an_error_not_a_hang)
{
	struct remote_opts o = {.timeout_s = 2};
	struct remote *r;
	uint8_t *d = NULL;
	size_t n = 0;
	int ret;

	cr_assert_eq(remote_open("http://127.0.0.1:1/a/,http://127.0.0.1:1/b/", &o, &r), 0);
	ret = remote_get(r, "snapshots/one", 0, 0, 10, &d, &n);
	cr_assert(ret == -ECONNREFUSED || ret == -EIO || ret == -ETIMEDOUT, "got %d", ret);
	remote_free(r);
}

Test(multi, malformed_urls)
{
	struct remote *r = NULL;
	char u[1024];
	const char *bad[] = {",", "a,", ",a", "/x,,/y", "/x,/x", "/x,ftp://h/p"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(u, sizeof(u), "%s", bad[i]);
		cr_assert_eq(remote_open(u, NULL, &r), -EINVAL, "'%s'", bad[i]);
		cr_assert_null(r);
	}
	strcpy(u, "/a");
	for (int i = 0; i < MULTI_MAX; i++)
		strcat(u, ",/b"), u[strlen(u) - 1] = (char)('a' + i);
	cr_assert_eq(remote_open(u, NULL, &r), -EINVAL, "more than %d stores", MULTI_MAX);
}

Test(multi, a_directory_named_with_a_comma_is_one_store)
{
	char d[160];
	struct remote *r;

	snprintf(d, sizeof(d), "%s/x,y", base);
	cr_assert_eq(mkdir(d, 0700), 0);
	cr_assert_not(remote_url_is_multi(d));
	cr_assert_eq(remote_open(d, NULL, &r), 0);
	cr_assert_eq(remote_mirrors(r), 1);
	remote_free(r);
	cr_assert(remote_url_is_multi("https://a/x,https://b/y"));
	cr_assert_not(remote_url_is_multi("https://a/x%2Cy"));
}

/* ---- one object from every mirror at once (remote_get_all) ---- */

Test(multi, get_all_returns_each_mirrors_copy_and_rejects_by_mirror)
{
	struct remote *r;
	struct remote_copy c[2];
	struct remote_mirror_stats st;

	put_file(da, "embassy.json", "forged");
	put_file(db, "embassy.json", "real");
	cr_assert_eq(remote_open(url, NULL, &r), 0);
	remote_get_all(r, "embassy.json", 1 << 20, c);
	cr_assert_eq(c[0].ret, 0);
	cr_assert_eq(c[1].ret, 0);
	cr_assert_eq(c[0].n, 6);
	cr_assert_arr_eq(c[0].data, "forged", 6);
	cr_assert_eq(c[1].n, 4);
	cr_assert_arr_eq(c[1].data, "real", 4);
	remote_copies_free(c, 2);
	cr_assert_null(c[0].data);
	cr_assert_eq(remote_reject_from(r, 0, "embassy.json"), 1, "the other mirror may serve it");
	expect_get(r, "embassy.json", "real"); /* mirror 0 is skipped for it from now on */
	remote_mirror_stats(r, 0, &st);
	cr_assert_eq(st.rejected, 1);
	cr_assert_eq(remote_reject_from(r, 1, "embassy.json"), 0, "no mirror left");
	cr_assert_eq(remote_reject_from(r, 2, "embassy.json"), 0, "no such mirror");
	remote_free(r);
}

struct all_arg {
	struct remote *r;
	struct remote_copy c[2];
};

static void *get_all_thread(void *p)
{
	struct all_arg *a = p;

	remote_get_all(a->r, "heads/latest", 1 << 20, a->c);
	return NULL;
}

/* A FIFO's reader blocks in open until a writer comes: with each mirror's heads/latest a FIFO
 * and mirror 0's never opened for writing, mirror 1 is asked only if the mirrors are asked at
 * the same time, not one after another. */
Test(multi, get_all_asks_the_mirrors_at_once)
{
	struct all_arg a = {0};
	char fa[256], fb[256];
	pthread_t th;
	int fd = -1;

	put_file(da, "heads/keep", "x"); /* makes the directories */
	put_file(db, "heads/keep", "x");
	snprintf(fa, sizeof(fa), "%s/heads/latest", da);
	snprintf(fb, sizeof(fb), "%s/heads/latest", db);
	cr_assert_eq(mkfifo(fa, 0600), 0);
	cr_assert_eq(mkfifo(fb, 0600), 0);
	cr_assert_eq(remote_open(url, NULL, &a.r), 0);
	cr_assert_eq(pthread_create(&th, NULL, get_all_thread, &a), 0);
	/* wait (bounded) for mirror 1's reader while mirror 0's is still blocked */
	for (int i = 0; i < 3000 && fd < 0; i++) {
		fd = open(fb, O_WRONLY | O_NONBLOCK);
		if (fd < 0)
			usleep(10000);
	}
	bool together = fd >= 0;
	int fd0 = open(fa, O_WRONLY); /* now release mirror 0 (blocks until its reader is there) */
	cr_assert_geq(fd0, 0);
	close(fd0);
	if (fd >= 0)
		close(fd);
	else if ((fd = open(fb, O_WRONLY)) >= 0) /* serial: mirror 1 is asked only now */
		close(fd);
	pthread_join(th, NULL);
	cr_assert_neq(a.c[0].ret, 0, "a FIFO is no object");
	cr_assert_neq(a.c[1].ret, 0, "a FIFO is no object");
	remote_copies_free(a.c, 2);
	remote_free(a.r);
	cr_assert(together, "mirror 1 was not asked while mirror 0 had not answered");
}

/* ---- a mirror that is down (a backend of our own: refuses at once, counts the asks) ---- */

static int down_asked;

static int down_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		    uint8_t **data, size_t *n)
{
	(void)be, (void)key, (void)off, (void)len, (void)max_len, (void)data, (void)n;
	down_asked++;
	return -ECONNREFUSED;
}

static void down_free(void *be)
{
	(void)be;
}

static int down_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	(void)be, (void)prefix, (void)cb, (void)ctx;
	down_asked++;
	return -ECONNREFUSED;
}

static const struct backend_ops down_ops = {.get = down_get, .list = down_list, .free = down_free};

/* ---- mirrors whose listing waits (bounded) until every mirror's listing has begun ---- */

static pthread_mutex_t bar_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bar_cond = PTHREAD_COND_INITIALIZER;
static int bar_in;  /* listings begun; guarded by bar_lock */
static int bar_met; /* listings that saw the other begin while waiting; guarded by bar_lock */

static int barrier_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key),
			void *ctx)
{
	char name[64];
	struct timespec until;
	int ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3; /* the serial way: the first gives up waiting for the second */
	pthread_mutex_lock(&bar_lock);
	bar_in++;
	pthread_cond_broadcast(&bar_cond);
	while (bar_in < 2 && pthread_cond_timedwait(&bar_cond, &bar_lock, &until) == 0)
		;
	bar_met += bar_in >= 2;
	pthread_mutex_unlock(&bar_lock);
	snprintf(name, sizeof(name), "%sfrom-%s", prefix, (const char *)be);
	ret = cb(ctx, name);
	if (!ret) {
		snprintf(name, sizeof(name), "%sshared", prefix);
		ret = cb(ctx, name);
	}
	return ret;
}

static const struct backend_ops barrier_ops = {.list = barrier_list, .free = down_free};

static int open_part(const char *part, void **be, const struct backend_ops **ops, void *ctx)
{
	(void)ctx;
	if (strncmp(part, "down", 4) == 0) {
		*be = NULL;
		*ops = &down_ops;
		return 0;
	}
	if (strncmp(part, "barrier-", 8) == 0) {
		*be = (void *)(part[8] == 'a' ? "a" : "b");
		*ops = &barrier_ops;
		return 0;
	}
	return local_backend_open(part, be, ops);
}

/* An object the live mirror lacks is missing, not "connection refused", once the other mirror
 * is known to be down: roots/ of a store without a root document made the open fail. */
Test(multi, missing_at_the_live_mirror_while_the_other_is_down_is_missing)
{
	const struct backend_ops *ops;
	void *be;
	uint8_t *d = NULL;
	size_t n = 0;
	char u[200];

	snprintf(u, sizeof(u), "%s,down", da);
	down_asked = 0;
	cr_assert_eq(multi_backend_open(u, open_part, NULL, 60000, &be, &ops), 0);
	cr_assert_eq(ops->get(be, "roots/0000000000000001", 0, 0, 100, &d, &n), -ECONNREFUSED,
		     "not yet known to be down: asked, and its failure says most");
	cr_assert_eq(down_asked, 1);
	cr_assert_eq(ops->get(be, "roots/0000000000000002", 0, 0, 100, &d, &n), -ENOENT);
	cr_assert_eq(down_asked, 1, "a mirror cooling down is not asked for what others lack");
	put_file(da, "snapshots/one", "1");
	cr_assert_eq(ops->get(be, "snapshots/one", 0, 0, 100, &d, &n), 0);
	free(d);
	ops->free(be);
}

struct names_seen {
	char v[8][64];
	int n;
};

static int note_name(void *ctx, const char *key)
{
	struct names_seen *ns = ctx;

	cr_assert_lt(ns->n, 8);
	snprintf(ns->v[ns->n++], 64, "%s", key);
	return 0;
}

static bool has_name(const struct names_seen *ns, const char *key)
{
	for (int i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], key) == 0)
			return true;
	return false;
}

/* keys/ is listed from every mirror at once: each mirror's listing waits until the other's
 * has begun, which, asked one after another, it never sees (the first gives up after 3 s). */
Test(multi, keys_listing_asks_the_mirrors_at_once)
{
	const struct backend_ops *ops;
	struct names_seen ns = {0};
	void *be;

	bar_in = bar_met = 0;
	cr_assert_eq(multi_backend_open("barrier-a,barrier-b", open_part, NULL, 60000, &be, &ops),
		     0);
	cr_assert_eq(ops->list(be, "keys/", note_name, &ns), 0);
	cr_assert_eq(ns.n, 3, "the union, each name once");
	cr_assert(has_name(&ns, "keys/from-a") && has_name(&ns, "keys/from-b") &&
		  has_name(&ns, "keys/shared"));
	ops->free(be);
	cr_assert_eq(bar_met, 2, "a mirror's keys/ listing did not run while the other's did");
}

/* A mirror that refuses the listing: keys/ is the other's; then it cools down and is not
 * asked again while the other answers; all down: the failure, not an empty listing. */
Test(multi, keys_listing_with_a_mirror_down_is_the_others)
{
	const struct backend_ops *ops;
	struct names_seen ns = {0};
	void *be;
	char u[200];

	snprintf(u, sizeof(u), "%s,down", da);
	put_file(da, "keys/pass-1", "x");
	put_file(da, "snapshots/one", "1");
	down_asked = 0;
	cr_assert_eq(multi_backend_open(u, open_part, NULL, 60000, &be, &ops), 0);
	cr_assert_eq(ops->list(be, "keys/", note_name, &ns), 0);
	cr_assert_eq(ns.n, 1);
	cr_assert_str_eq(ns.v[0], "keys/pass-1");
	cr_assert_eq(down_asked, 1);
	ns.n = 0;
	cr_assert_eq(ops->list(be, "keys/", note_name, &ns), 0);
	cr_assert_eq(ns.n, 1);
	cr_assert_eq(down_asked, 1, "a mirror cooling down is asked while another answers");
	ops->free(be);

	cr_assert_eq(multi_backend_open("down-1,down-2", open_part, NULL, 60000, &be, &ops), 0);
	ns.n = 0;
	cr_assert_eq(ops->list(be, "keys/", note_name, &ns), -ECONNREFUSED,
		     "nothing answered: the failure, not an empty listing");
	cr_assert_eq(ns.n, 0);
	ops->free(be);
}
