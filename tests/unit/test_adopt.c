/* adopt: after a commit merged into a moved head, the live tree is the merge (plus what was
 * written during the commit) without reopening; when a path the merge changes was written
 * meanwhile or is open, the tree stays on ours and says why, and a later commit moves it; the
 * journal's ADOPT brings a crashed tree back onto the merge. */
#include <criterion/criterion.h>

#include "commit.h"
#include "commit_fixture.h"
#include "hex.h"
#include "live_int.h"
#include "rw_dump.h"
#include "rw_fixture.h"

static struct fx f;

static void setup(void)
{
	fx_init(&f, true);
}

static void teardown(void)
{
	commit_failpoint = NULL;
	fx_fini(&f);
}

TestSuite(adopt, .init = setup, .fini = teardown);

static void put(struct live *l, uint64_t parent, const char *name, const char *text)
{
	struct stat st;
	cr_assert_eq(live_mknod(l, parent, name, S_IFREG | 0644, 0, 0, 0, &st), 0, "%s", name);
	cr_assert_eq(live_write(l, st.st_ino, 0, text, strlen(text)), (ssize_t)strlen(text));
}

static void overwrite(struct live *l, const char *path, const char *text)
{
	uint64_t ino = 0;
	cr_assert_eq(fx_ino(l, path, &ino), 0, "%s", path);
	cr_assert_eq(live_write(l, ino, 0, text, strlen(text)), (ssize_t)strlen(text));
}

/* a: a new file, sub/b.txt changed, sub/deep/c.txt removed; b: a file in sub. Then a
 * commits, and b is ready to commit into a moved head. */
static void two_sides(struct live *a, struct live *b)
{
	uint64_t deep = 0;
	put(a, LIVE_INO_ROOT, "from-a", "A");
	overwrite(a, "sub/b.txt", "changed by a\n");
	cr_assert_eq(fx_ino(a, "sub/deep", &deep), 0);
	cr_assert_eq(live_unlink(a, deep, "c.txt"), 0);
	uint64_t sub = 0;
	cr_assert_eq(fx_ino(b, "sub", &sub), 0);
	put(b, sub, "from-b", "B");
	struct commit_result ra = fx_commit_ok(a);
	cr_assert(!ra.merged);
	commit_result_clear(&ra);
}

static void base_is(struct live *l, const uint8_t id[ID_LEN])
{
	struct live_status ls;
	live_get_status(l, &ls);
	cr_assert_arr_eq(ls.base, id, ID_LEN);
}

/* Snapshot id, read from the store into a fresh tree, dumps as want. */
static void snapshot_is(const uint8_t id[ID_LEN], const char *want, const char *what)
{
	char *snap = fx_dump_snapshot(&f, id, "jc");
	cr_assert_str_eq(snap, want, "%s", what);
	free(snap);
}

/* l shows snapshot id as it is in the store. */
static void shows(struct live *l, const uint8_t id[ID_LEN])
{
	char *got = dump_live(l, true);
	snapshot_is(id, got, "the tree is not the snapshot");
	free(got);
}

/* The end of a test on two trees: both closed, the two commits' results freed. */
static void close_both(struct live *a, struct live *b, struct commit_result *r1,
		       struct commit_result *r2)
{
	live_close(a);
	live_close(b);
	if (r1)
		commit_result_clear(r1);
	commit_result_clear(r2);
}

Test(adopt, the_tree_becomes_the_merge_and_keeps_unchanged_inodes)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	uint64_t big = 0, again = 0, gone = 0;

	two_sides(a, b);
	cr_assert_eq(fx_ino(b, "big.bin", &big), 0);
	cr_assert_eq(fx_ino(b, "sub/deep/c.txt", &gone), 0); /* the kernel knows it */
	struct commit_result rb = fx_commit_ok(b);
	cr_assert(rb.merged);
	cr_assert(rb.adopted, "not adopted: %s", rb.adopt_why ? rb.adopt_why : "?");
	cr_assert_null(rb.adopt_why);
	base_is(b, rb.snapshot);
	char *want = fx_dump_snapshot(&f, rb.snapshot, "jc"), *got = dump_live(b, true);
	cr_assert_str_eq(got, want, "the tree is not the merge");
	free(got);
	cr_assert_eq(fx_ino(b, "big.bin", &again), 0);
	cr_assert_eq(again, big, "an unchanged file kept its inode");
	struct stat st;
	cr_assert_eq(live_getattr(b, gone, &st), 0, "a removed file the kernel knows stays");
	cr_assert_eq(st.st_nlink, 0);
	/* reopened (replay from the checkpoint): the same tree, nothing pending */
	live_close(b);
	b = fx_live_at(&f, "jb", NULL);
	got = dump_live(b, true);
	cr_assert_str_eq(got, want, "the reopened tree is not the merge");
	base_is(b, rb.snapshot);
	/* the next commit is on the head: no merge */
	put(b, LIVE_INO_ROOT, "next", "N");
	struct commit_result r2 = fx_commit_ok(b);
	cr_assert(!r2.merged);
	free(want);
	free(got);
	close_both(a, b, &rb, &r2);
}

/* ---- writes during the commit (at the "published" stage: the merge is the head, the tree
 * not yet moved) ---- */

static struct live *during_l;
static const char *during_path; /* NULL: new files only */

static int during(const char *stage)
{
	if (strcmp(stage, "published"))
		return 0;
	put(during_l, LIVE_INO_ROOT, "during", "written during the commit");
	overwrite(during_l, "big.bin", "DURING");
	if (during_path)
		overwrite(during_l, during_path, "written by b during the commit");
	return 0;
}

Test(adopt, writes_during_the_commit_stay_on_top)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);

	two_sides(a, b);
	during_l = b;
	during_path = "sub/from-b"; /* committed by b in the frozen epoch, unchanged by a */
	commit_failpoint = during;
	struct commit_result rb = fx_commit_ok(b);
	commit_failpoint = NULL;
	cr_assert(rb.merged && rb.adopted, "%s", rb.adopt_why ? rb.adopt_why : "not merged");
	size_t len;
	uint8_t *d = fx_read_all(b, "during", &len);
	cr_assert_eq(len, 25);
	free(d);
	d = fx_read_all(b, "from-a", &len);
	cr_assert_eq(d[0], 'A', "the other side's file");
	free(d);
	char *mine = dump_live(b, true);
	live_close(b); /* replay: the changes are restated once, on the merge */
	b = fx_live_at(&f, "jb", NULL);
	char *got = dump_live(b, true);
	cr_assert_str_eq(got, mine, "reopened");
	struct commit_result r2 = fx_commit_ok(b);
	cr_assert(!r2.merged, "the writes during the commit are a plain commit on the merge");
	snapshot_is(r2.snapshot, mine, "the commit is not what the tree showed");
	free(got);
	free(mine);
	close_both(a, b, &rb, &r2);
}

Test(adopt, a_write_where_the_merge_changes_defers_it_to_the_next_commit)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);

	two_sides(a, b);
	during_l = b;
	during_path = "sub/b.txt"; /* a changed it: the merge does */
	commit_failpoint = during;
	struct commit_result rb = fx_commit_ok(b);
	commit_failpoint = NULL;
	cr_assert(rb.merged);
	cr_assert(!rb.adopted);
	cr_assert_not_null(rb.adopt_why);
	base_is(b, rb.ours);
	struct live_status ls;
	live_get_status(b, &ls);
	cr_assert_not_null(ls.adopt_why);
	cr_assert_arr_eq(ls.adopt_id, rb.snapshot, ID_LEN);
	size_t len;
	uint8_t *d = fx_read_all(b, "sub/b.txt", &len);
	cr_assert_eq(memcmp(d, "written by b", 12), 0, "b's write is what b shows");
	free(d);
	/* the next commit merges again (b.txt changed on both sides since b's base) and moves */
	struct commit_result r2 = fx_commit_ok(b);
	cr_assert(r2.merged && r2.adopted, "%s", r2.adopt_why ? r2.adopt_why : "not merged");
	cr_assert_eq(r2.nconflicts, 1);
	shows(b, r2.snapshot);
	live_get_status(b, &ls);
	cr_assert_null(ls.adopt_why);
	close_both(a, b, &rb, &r2);
}

Test(adopt, an_open_file_the_merge_changes_defers_it_until_closed)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	uint64_t ino = 0;

	two_sides(a, b);
	cr_assert_eq(fx_ino(b, "sub/b.txt", &ino), 0);
	cr_assert_eq(live_open_file(b, ino), 0);
	struct commit_result rb = fx_commit_ok(b);
	cr_assert(rb.merged && !rb.adopted);
	size_t len;
	uint8_t *d = fx_read_all(b, "sub/b.txt", &len);
	cr_assert_eq(memcmp(d, "bravo", 5), 0, "the open file did not change under its reader");
	free(d);
	live_release(b, ino);
	struct commit_result r2 = fx_commit_ok(b);
	cr_assert(r2.nothing && r2.adopted, "nothing to commit: the merge is retried");
	base_is(b, rb.snapshot);
	shows(b, rb.snapshot);
	close_both(a, b, &rb, &r2);
}

/* Writes at "published", then the process dies at stage crash_stage. */
static const char *crash_stage;

static int during_then_stop(const char *stage)
{
	during(stage);
	return !strcmp(stage, crash_stage);
}

/* A crash at stage after a merge was published, with writes made during the commit pending:
 * the next open is on the merge (the journal's ADOPT, or recovery moving it there), with
 * those writes on top, and the next commit is a plain one on the merge. */
static void crash_with_writes_during(const char *stage)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	struct commit_opts o = {0};
	struct commit_result r;
	struct head h;

	two_sides(a, b);
	during_l = b;
	during_path = "sub/from-b";
	crash_stage = stage;
	commit_failpoint = during_then_stop;
	cr_assert_eq(commit_run(b, &o, &r), -EINTR, "%s", stage);
	commit_failpoint = NULL;
	char *mine = dump_live(b, true);
	live_close(b); /* the process dies: what was appended is on disk (page cache) */
	cr_assert_eq(store_head_walk(f.s, &h), 0);
	b = fx_live_at(&f, "jb", NULL);
	base_is(b, h.snapshot);
	struct live_status ls;
	live_get_status(b, &ls);
	cr_assert_gt(ls.pending_entries, 0, "%s: the writes during the commit are pending", stage);
	size_t len;
	uint8_t *d = fx_read_all(b, "from-a", &len);
	cr_assert_eq(d[0], 'A', "%s: the other side's file", stage);
	free(d);
	char *got = dump_live(b, true);
	if (!strcmp(stage, "adopted")) /* the tree had moved before the crash */
		cr_assert_str_eq(got, mine, "%s: the replayed ADOPT", stage);
	struct commit_result r2 = fx_commit_ok(b);
	cr_assert(!r2.merged, "%s: the next commit is on the merge", stage);
	snapshot_is(r2.snapshot, got, stage);
	free(got);
	free(mine);
	close_both(a, b, NULL, &r2);
}

Test(adopt, a_crash_before_the_checkpoint_comes_back_on_the_merge)
{
	crash_with_writes_during("adopted");
}

Test(adopt, a_crash_after_publishing_a_merge_is_finished_on_the_merge)
{
	crash_with_writes_during("published");
}
