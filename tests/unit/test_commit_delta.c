/* commit, small changes in a big file (issue 10: "a 4 KiB change in a 100 MiB database commits
 * ≤ 2 MiB of new objects"): a commit uploads exactly the base chunks its writes touch — also
 * when a write destroys the cut point at the end of its chunk, which used to drag the next
 * chunks in — and a later change at the same place costs only the window cut out around the
 * first one. The committed file always reads back exactly as written. Bytes, not timing. */
#include <criterion/criterion.h>

#include "commit.h"
#include "live_int.h"
#include "rw_fixture.h"

#define DB_SIZE (24u << 20)

static struct fx f;
static uint8_t *model; /* what db.bin holds after every write so far */

static void setup(void)
{
	char p[256];
	uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift: incompressible (the worst case) */

	fx_init(&f, false);
	model = malloc(DB_SIZE);
	cr_assert_not_null(model);
	for (size_t i = 0; i < DB_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		model[i] = (uint8_t)(x >> 24);
	}
	mkdir(f.src, 0755);
	fx_path(&f, "db.bin", p, sizeof(p));
	fx_write(p, model, DB_SIZE);
	const char *paths[] = {f.src};
	struct seal_opts so = {.paths = paths, .npaths = 1, .host = "test", .threads = 1};
	struct seal_result res;
	cr_assert_eq(seal_run(f.s, &so, &res), 0);
}

static void teardown(void)
{
	free(model);
	fx_fini(&f);
}

TestSuite(commit_delta, .init = setup, .fini = teardown);

static struct live *live_named(const char *jname)
{
	char jdir[256];
	struct live_opts o = {.journal_dir = jdir, .host = "test"};
	struct live *l = NULL;

	snprintf(jdir, sizeof(jdir), "%s/%s", f.dir, jname);
	cr_assert_eq(live_open(f.s, &o, &l), 0, "open %s", jname);
	return l;
}

/* db.bin's chunk list in the head snapshot (the caller frees *t). */
static const struct tree_entry *head_chunks(struct tree **t)
{
	struct head h;
	struct snapshot sn;

	cr_assert_eq(store_read_head(f.s, &h), 0);
	cr_assert_eq(store_read_snapshot(f.s, h.snapshot, &sn), 0);
	cr_assert_eq(store_load_tree(f.s, &sn.root, t), 0);
	snapshot_clear(&sn);
	const struct tree_entry *e = tree_find(*t, "db.bin", 6);
	cr_assert_not_null(e);
	cr_assert_geq(e->nchunks, 8, "a 24 MiB file of a few chunks only (%zu)", e->nchunks);
	return e;
}

/* The stored bytes of the head's chunks of db.bin that [off, off + len) overlaps. */
static uint64_t touched(uint64_t off, uint64_t len, uint32_t *max_plen)
{
	struct tree *t;
	const struct tree_entry *e = head_chunks(&t);
	uint64_t sum = 0;

	*max_plen = 0;
	for (size_t i = 0; i < e->nchunks; i++) {
		const struct chunk_ref *c = &e->chunks[i];
		if (c->foff < off + len && c->foff + c->rec.plen > off) {
			sum += c->rec.len;
			if (c->rec.plen > *max_plen)
				*max_plen = c->rec.plen;
		}
	}
	tree_free(t);
	return sum;
}

/* The head's chunk boundary i (the end of chunk i). */
static uint64_t chunk_end(size_t i)
{
	struct tree *t;
	const struct tree_entry *e = head_chunks(&t);
	uint64_t end = e->chunks[i].foff + e->chunks[i].rec.plen;
	tree_free(t);
	return end;
}

/* Write 4 KiB at off through a live tree, commit; returns the commit's new bytes after
 * checking they are no more than the chunks the write touched (plus the root's tree record)
 * and that the snapshot reads back as the model. */
static uint64_t change_and_commit(uint64_t off, unsigned tag)
{
	uint32_t max_plen;
	uint64_t allowed = touched(off, 4096, &max_plen) + (16u << 10), ino = 0;
	uint8_t buf[4096];
	char jname[32];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + tag);
	memcpy(model + off, buf, sizeof(buf));
	snprintf(jname, sizeof(jname), "j%u", tag);
	struct live *l = live_named(jname);
	cr_assert_eq(fx_ino(l, "db.bin", &ino), 0);
	cr_assert_eq(live_write(l, ino, off, buf, sizeof(buf)), 4096);
	struct commit_opts o = {0};
	struct commit_result r;
	int ret = commit_run(l, &o, &r);
	cr_assert_eq(ret, 0, "commit: %s", strerror(-ret));
	live_close(l);
	cr_assert_leq(r.bytes_new, allowed,
		      "4 KiB at %llu: %llu bytes uploaded, the chunks it touches hold %llu",
		      (unsigned long long)off, (unsigned long long)r.bytes_new,
		      (unsigned long long)allowed);
	commit_result_clear(&r);

	snprintf(jname, sizeof(jname), "check%u", tag);
	l = live_named(jname);
	size_t len;
	uint8_t *back = fx_read_all(l, "db.bin", &len);
	cr_assert_eq(len, DB_SIZE);
	cr_assert_eq(memcmp(back, model, DB_SIZE), 0, "the committed db.bin differs (tag %u)", tag);
	free(back);
	live_close(l);
	return r.bytes_new;
}

Test(commit_delta, a_change_costs_the_chunks_it_touches, .timeout = 240)
{
	/* ending exactly at a cut point: the chunker no longer cuts there (the cut depends on
	 * the 64 bytes before it), and without the bound it ran on into the next chunks */
	change_and_commit(chunk_end(1) - 4096, 1);
	/* inside a chunk; across a boundary (two chunks) */
	uint64_t mid = chunk_end(4) + 300000;
	change_and_commit(mid, 2);
	change_and_commit(chunk_end(6) - 2048, 3);
	/* the same place again: only the window cut around the first change is new */
	uint32_t max_plen;
	touched(mid, 4096, &max_plen);
	cr_assert_leq(max_plen, 2 * (256u << 10) + 2 * (64u << 10),
		      "the window around the first change is %u bytes", max_plen);
	uint64_t again = change_and_commit(mid, 4);
	cr_assert_leq(again, 2u << 20, "a second change at the same place: %llu bytes",
		      (unsigned long long)again);
	/* the very first bytes (a database's header page), twice */
	change_and_commit(0, 5);
	uint64_t head_again = change_and_commit(100, 6);
	cr_assert_leq(head_again, 2 * (256u << 10) + 2 * (64u << 10) + (16u << 10),
		      "the header page again: %llu bytes", (unsigned long long)head_again);
}

/* n bytes at off through l, and into the model */
static void put(struct live *l, uint64_t ino, uint8_t *want, uint8_t *buf, uint64_t off, size_t n,
		unsigned tag)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + off + tag);
	memcpy(want + off, buf, n);
	cr_assert_eq(live_write(l, ino, off, buf, n), (ssize_t)n, "write at %llu",
		     (unsigned long long)off);
}

/* The commit reads what the journal holds straight into the seal batch, window by window, on
 * all cores: a file rewritten in long and odd-sized writes, grown past 32 MiB (a seal batch:
 * the bytes read ahead move into the next batch), with a hole and small writes scattered over
 * base, new and overwritten data, reads back exactly as written. */
Test(commit_delta, long_and_scattered_writes_read_back_exactly, .timeout = 240)
{
	const size_t total = 64u << 20, hole = 40u << 20, hole_end = 41u << 20;
	uint8_t *want = calloc(1, total), *buf = malloc(3u << 20);
	uint64_t ino = 0, x = 0x2545f4914f6cdd1dull;
	size_t len;

	cr_assert(want && buf);
	memcpy(want, model, DB_SIZE);
	struct live *l = live_named("jlong");
	cr_assert_eq(fx_ino(l, "db.bin", &ino), 0);
	/* a write of 3 MiB over the base (several journal records) */
	put(l, ino, want, buf, (5u << 20) + 12345, 3u << 20, 1);
	/* the file grown in odd-sized writes, leaving a hole */
	for (uint64_t off = DB_SIZE; off < total; off += 777777) {
		size_t n = off + 777777 > total ? total - off : 777777;
		if (off + n > hole && off < hole_end)
			continue; /* never written: reads back as zeros */
		put(l, ino, want, buf, off, n, 2);
	}
	/* small writes anywhere: over the base, the new data, the hole */
	for (int i = 0; i < 300; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = 100 + x % 9000;
		put(l, ino, want, buf, (x >> 16) % (total - n), n, 3);
	}
	struct commit_opts o = {0};
	struct commit_result r;
	int ret = commit_run(l, &o, &r);
	cr_assert_eq(ret, 0, "commit: %s", strerror(-ret));
	commit_result_clear(&r);
	live_close(l);

	l = live_named("checklong");
	uint8_t *back = fx_read_all(l, "db.bin", &len);
	cr_assert_eq(len, total);
	size_t i = 0;
	while (i < total && back[i] == want[i])
		i++;
	cr_assert_eq(i, total, "the committed db.bin differs first at byte %zu", i);
	free(back);
	live_close(l);
	free(want);
	free(buf);
}
