/* dedup_load against what a host lists: names checked, bogus and oversize index objects
 * skipped, a bounded number of unusable ones fetched, only packs that exist used. */
#pragma GCC diagnostic ignored "-Wunused-function" /* the fixture has more than we use */
#include "rw_fixture.h"

#include "dedup.h"

static struct fx f;

static void setup(void)
{
	fx_init(&f, true);
}

static void teardown(void)
{
	fx_fini(&f);
}

TestSuite(dedup, .init = setup, .fini = teardown);

static size_t load_count(uint64_t *gets)
{
	struct dedup *d;
	struct remote_stats a, b;
	size_t n;

	remote_get_stats(store_remote(f.s), &a);
	cr_assert_eq(dedup_new(&d), 0);
	cr_assert_eq(dedup_load(d, f.s), 0);
	remote_get_stats(store_remote(f.s), &b);
	n = dedup_count(d);
	dedup_free(d);
	if (gets)
		*gets = b.gets - a.gets;
	return n;
}

/* A file of len bytes at store/rel (sparse when big). */
static void plant(const char *rel, size_t len)
{
	char p[512], dir[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f.store, rel);
	snprintf(dir, sizeof(dir), "%s", p);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "%s", p);
	if (len > 4096) {
		cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	} else {
		char junk[4096];
		memset(junk, 'j', sizeof(junk));
		cr_assert_eq(write(fd, junk, len), (ssize_t)len);
	}
	close(fd);
}

static void index_name(int i, char out[80])
{
	snprintf(out, 80, "index/%064x", i);
}

Test(dedup, bogus_names_and_objects_change_nothing)
{
	uint64_t gets, real;
	size_t want = load_count(&real);
	char name[80];

	cr_assert_gt(want, 0, "the sealed store has records to deduplicate against");
	for (int i = 0; i < 40; i++) { /* valid names, junk content */
		index_name(i, name);
		plant(name, 1000);
	}
	plant("index/not-an-index", 10); /* names this store never writes: not fetched */
	plant("index/ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", 10);
	plant("index/0123", 10);
	plant("packs/zz/0123456789abcdef0123456789abcdef", 10); /* a pack nobody names */
	plant("packs/01/23", 10);
	index_name(999, name);
	plant(name, 60u << 20); /* oversize for a batch: fetched alone, then refused */
	cr_assert_eq(load_count(&gets), want, "junk changed what is deduplicated against");
	/* the real index objects and the 41 planted ones (the oversize one fetched twice: in a
	 * batch, refused, then alone); never one of the names this store does not write */
	cr_assert_eq(gets, real + 41 + 1, "%llu GETs (%llu real index objects)",
		     (unsigned long long)gets, (unsigned long long)real);
}

Test(dedup, unusable_objects_are_bounded)
{
	uint64_t gets;
	char name[80];

	for (int i = 0; i < 1200; i++) {
		index_name(i + 1, name);
		plant(name, 100);
	}
	load_count(&gets);
	/* it stops after 1000 unusable ones (and the batch they came in) */
	cr_assert_lt(gets, 1200, "every listed index object was fetched (%llu)",
		     (unsigned long long)gets);
}
