/* store_read: the claim protocol seen from the batch fetcher (only a claim is fetched). */
#pragma GCC diagnostic ignored "-Wunused-function" /* the fixture has more than we use */
#include "rw_fixture.h"

#include "cbuf.h"
#include "deadline.h"
#include "frec.h"

/* calloc that fails once, after `skip` more successful calls on this thread: the cache's
 * entry for a claim is the allocation made after store_fetch_many's two arrays. */
extern void *__libc_calloc(size_t n, size_t size);
/* In the ASan build the sanitizer's own calloc must do the work (what it did not allocate it
 * refuses to free: Criterion's libgit2 frees through it); it is weak-declared so the plain
 * build links without it. */
extern void *__interceptor_calloc(size_t n, size_t size) __attribute__((weak));
static _Thread_local int calloc_skip = -1;

void *calloc(size_t n, size_t size)
{
	if (calloc_skip == 0) {
		calloc_skip = -1;
		return NULL;
	}
	if (calloc_skip > 0)
		calloc_skip--;
	return __interceptor_calloc ? __interceptor_calloc(n, size) : __libc_calloc(n, size);
}

static struct fx f;

static void setup(void)
{
	fx_init(&f, true);
}

static void teardown(void)
{
	fx_fini(&f);
}

TestSuite(store_read, .init = setup, .fini = teardown);

/* The first data record of big.bin in the latest snapshot. */
static struct rec_ref first_record(void)
{
	struct snapshot sn;
	struct tree *dir = NULL;
	const struct tree_entry *e = NULL;
	struct rec_ref r;

	cr_assert_eq(store_resolve_snapshot(f.s, "latest", &sn), 0);
	cr_assert_eq(store_lookup(f.s, &sn, "big.bin", &dir, &e), 0);
	cr_assert_geq(e->nchunks, 1);
	r = e->chunks[0].rec;
	tree_free(dir);
	snapshot_clear(&sn);
	return r;
}

Test(store_read, enomem_while_claiming_is_not_a_claim)
{
	struct rec_ref r = first_record();
	struct remote_stats before, after;
	struct cbuf *buf = NULL;
	int res = 1;

	remote_get_stats(store_remote(f.s), &before);
	calloc_skip = 2; /* busy[] and order[] succeed, the claim's entry does not */
	cr_assert_eq(store_fetch_many(f.s, REC_DATA, &r, 1, &buf, &res), 0);
	calloc_skip = -1;
	remote_get_stats(store_remote(f.s), &after);
	cr_assert_eq(res, -ENOMEM, "a failed claim was fetched as if it were ours (%d)", res);
	cr_assert_null(buf);
	cr_assert_eq(after.gets, before.gets, "the store was asked for a record nobody claimed");
	/* and the record is fetched normally afterwards */
	cr_assert_eq(store_fetch_many(f.s, REC_DATA, &r, 1, &buf, &res), 0);
	cr_assert_eq(res, 0);
	cr_assert_eq(buf->len, r.plen);
	cbuf_unref(buf);
}

/* What a sequential reader was given leaves the memory cache (store_forget_frames): the
 * frames named are fetched from the store again, the others still come from the cache, a
 * buffer a reader holds stays as it was, and the bytes fetched again are the same. */
Test(store_read, forgotten_frames_leave_the_cache)
{
	struct rec_ref r = first_record();
	struct remote_stats s0, s1, s2, s3;
	struct cbuf *a[4], *b[4];

	cr_assert(store_framed(f.s, REC_DATA));
	cr_assert_geq(frec_nframes(r.plen), 4);
	cr_assert_eq(store_fetch_frames(f.s, &r, 0, 3, a), 0);
	remote_get_stats(store_remote(f.s), &s0);
	cr_assert_eq(store_fetch_frames(f.s, &r, 0, 3, b), 0);
	remote_get_stats(store_remote(f.s), &s1);
	cr_assert_eq(s1.gets, s0.gets, "frames just read were not cached");
	for (int i = 0; i < 4; i++)
		cbuf_unref(b[i]);

	store_forget_frames(f.s, &r, 1, 3);
	cr_assert_eq(store_fetch_frames(f.s, &r, 0, 0, b), 0);
	remote_get_stats(store_remote(f.s), &s2);
	cr_assert_eq(s2.gets, s1.gets, "a frame that was not forgotten left the cache");
	cbuf_unref(b[0]);
	cr_assert_eq(store_fetch_frames(f.s, &r, 1, 3, b + 1), 0);
	remote_get_stats(store_remote(f.s), &s3);
	cr_assert_gt(s3.gets, s2.gets, "forgotten frames were still served from the cache");
	for (int i = 1; i < 4; i++) {
		cr_assert_neq(a[i], b[i]);
		cr_assert_eq(a[i]->len, b[i]->len);
		cr_assert_eq(memcmp(a[i]->data, b[i]->data, a[i]->len), 0);
		cbuf_unref(b[i]);
	}
	for (int i = 0; i < 4; i++)
		cbuf_unref(a[i]);
}
