/* merge_links: hard-link ids across a merge. Each side numbers its new link groups from the
 * base's highest id + 1, so two commits on one base make colliding ids; the merge must
 * renumber ours above the head's (again on every retry against a newer head), keep the ids of
 * base groups, and keep a group one side broke consistent. Checked on the merged snapshot as
 * a fresh tree shows it (names of one group are one inode) and on its trees' link ids. */
#include <criterion/criterion.h>

#include "commit.h"
#include "commit_fixture.h"
#include "hex.h"
#include "live_int.h"
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

TestSuite(merge_links, .init = setup, .fini = teardown);

/* A new file dir/n1 with content c, and a second name dir/n2 of it. */
static void make_pair(struct live *l, const char *dir, const char *n1, const char *n2,
		      const char *c)
{
	uint64_t parent = LIVE_INO_ROOT;
	struct stat st, st2;

	if (*dir)
		cr_assert_eq(fx_ino(l, dir, &parent), 0, "%s", dir);
	cr_assert_eq(live_mknod(l, parent, n1, S_IFREG | 0644, 0, 0, 0, &st), 0, "%s", n1);
	cr_assert_eq(live_write(l, st.st_ino, 0, c, strlen(c)), (ssize_t)strlen(c));
	cr_assert_eq(live_link(l, st.st_ino, parent, n2, &st2), 0, "%s", n2);
}

static uint64_t ino_of(struct live *l, const char *path)
{
	uint64_t ino = 0;
	cr_assert_eq(fx_ino(l, path, &ino), 0, "%s", path);
	return ino;
}

static void content_is(struct live *l, const char *path, const char *want)
{
	size_t len;
	uint8_t *d = fx_read_all(l, path, &len);
	cr_assert_eq(len, strlen(want), "%s: %zu bytes", path, len);
	cr_assert_arr_eq(d, want, len, "%s: %.*s", path, (int)len, d);
	free(d);
}

/* The tree entry of a path in snapshot id (its link id and link count). */
static void entry_of(const uint8_t id[ID_LEN], const char *path, uint64_t *link, uint32_t *nlink)
{
	struct snapshot sn;
	struct rec_ref ref;
	char buf[256], *save = NULL, *c, *next;
	bool found = false;

	cr_assert_eq(store_read_snapshot(f.s, id, &sn), 0);
	ref = sn.root;
	snapshot_clear(&sn);
	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c; c = next) {
		struct tree *t;
		next = strtok_r(NULL, "/", &save);
		cr_assert_eq(store_load_tree(f.s, &ref, &t), 0);
		const struct tree_entry *e = tree_find(t, c, strlen(c));
		cr_assert_not_null(e, "%s: no %s", path, c);
		if (next)
			ref = e->subtree;
		else {
			*link = e->link_id;
			*nlink = e->nlink;
			found = true;
		}
		tree_free(t);
	}
	cr_assert(found);
}

/* Names of one new pair are one file, with its own content; different pairs are not. */
static void pairs_apart(struct live *l, const char *const p[][3], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t a = ino_of(l, p[i][0]), b = ino_of(l, p[i][1]);
		cr_assert_eq(a, b, "%s and %s are one file", p[i][0], p[i][1]);
		content_is(l, p[i][0], p[i][2]);
		content_is(l, p[i][1], p[i][2]);
		for (size_t k = 0; k < i; k++)
			cr_assert_neq(a, ino_of(l, p[k][0]), "%s is not linked to %s", p[i][0],
				      p[k][0]);
	}
}

/* Link ids in the snapshot: the two names of each pair share one, distinct between pairs. */
static void ids_apart(const uint8_t id[ID_LEN], const char *const p[][3], size_t n)
{
	uint64_t ids[8];
	uint32_t nl;

	cr_assert_leq(n, 8);
	for (size_t i = 0; i < n; i++) {
		uint64_t other;
		entry_of(id, p[i][0], &ids[i], &nl);
		entry_of(id, p[i][1], &other, &nl);
		cr_assert_neq(ids[i], 0, "%s is linked", p[i][0]);
		cr_assert_eq(ids[i], other, "%s, %s", p[i][0], p[i][1]);
		cr_assert_eq(nl, 2, "%s", p[i][1]);
		for (size_t k = 0; k < i; k++)
			cr_assert_neq(ids[i], ids[k], "%s and %s: id %llu twice", p[i][0], p[k][0],
				      (unsigned long long)ids[i]);
	}
}

/* a lands a new pair and breaks the base's group (a.txt, sub/hard) by removing sub/hard; b,
 * on the same base, makes new pairs in the root and in a new directory (a subtree the merge
 * takes from b whole): all of b's ids collide with a's unless renumbered. */
Test(merge_links, new_links_on_both_sides_do_not_share_an_id)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	uint64_t sub, ino;
	struct stat st;
	static const char *const pairs[][3] = {
	    {"x1", "x2", "from a\n"},
	    {"y1", "y2", "from b, root\n"},
	    {"bdir/z1", "bdir/z2", "from b, new directory\n"},
	};

	make_pair(a, "", "x1", "x2", pairs[0][2]);
	cr_assert_eq(fx_ino(a, "sub", &sub), 0);
	cr_assert_eq(live_unlink(a, sub, "hard"), 0);
	make_pair(b, "", "y1", "y2", pairs[1][2]);
	cr_assert_eq(live_mknod(b, LIVE_INO_ROOT, "bdir", S_IFDIR | 0755, 0, 0, 0, &st), 0);
	make_pair(b, "bdir", "z1", "z2", pairs[2][2]);
	struct commit_result ra = fx_commit_ok(a);
	cr_assert(!ra.merged);
	struct commit_result rb = fx_commit_ok(b);
	cr_assert(rb.merged, "the head had moved");
	cr_assert_eq(rb.nconflicts, 0);

	char hex[2 * ID_LEN + 1];
	hex_encode(rb.snapshot, ID_LEN, hex);
	struct live *c = fx_live_at(&f, "jc", hex);
	pairs_apart(c, pairs, 3);
	ids_apart(rb.snapshot, pairs, 3);
	/* the group a broke: a.txt alone, not linked to anything */
	cr_assert_eq(fx_ino(c, "sub/hard", &ino), -ENOENT);
	cr_assert_eq(live_getattr(c, ino_of(c, "a.txt"), &st), 0);
	cr_assert_eq(st.st_nlink, 1);
	uint64_t id;
	uint32_t nl;
	entry_of(rb.snapshot, "a.txt", &id, &nl);
	cr_assert_eq(id, 0);
	content_is(c, "a.txt", "alpha\n");
	live_close(c);
	live_close(a);
	live_close(b);
	commit_result_clear(&ra);
	commit_result_clear(&rb);
}

/* b changes the base's linked file (both names rewritten, its id kept) and adds a pair; a
 * lands a pair first. The base group keeps its id and stays one file. */
Test(merge_links, a_base_group_changed_on_one_side_keeps_its_id)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	static const char *const pairs[][3] = {
	    {"x1", "x2", "from a\n"},
	    {"y1", "y2", "from b\n"},
	    {"a.txt", "sub/hard", "ALPHA!"},
	};
	uint64_t base_id, id;
	uint32_t nl;
	struct head h0;

	cr_assert_eq(store_head_walk(f.s, &h0), 0);
	entry_of(h0.snapshot, "a.txt", &base_id, &nl);
	cr_assert_neq(base_id, 0);
	make_pair(a, "", "x1", "x2", pairs[0][2]);
	make_pair(b, "", "y1", "y2", pairs[1][2]);
	cr_assert_eq(live_write(b, ino_of(b, "a.txt"), 0, "ALPHA!", 6), 6);
	struct commit_result ra = fx_commit_ok(a);
	struct commit_result rb = fx_commit_ok(b);
	cr_assert(rb.merged);
	cr_assert_eq(rb.nconflicts, 0);

	char hex[2 * ID_LEN + 1];
	hex_encode(rb.snapshot, ID_LEN, hex);
	struct live *c = fx_live_at(&f, "jc", hex);
	pairs_apart(c, pairs, 3);
	ids_apart(rb.snapshot, pairs, 3);
	entry_of(rb.snapshot, "a.txt", &id, &nl);
	cr_assert_eq(id, base_id, "the base's group keeps its id");
	entry_of(rb.snapshot, "sub/hard", &id, &nl);
	cr_assert_eq(id, base_id);
	live_close(c);
	live_close(a);
	live_close(b);
	commit_result_clear(&ra);
	commit_result_clear(&rb);
}

/* A third writer wins the head between b's merge and b's publish: b merges again against the
 * newer head, and its ids must clear that head's too. */
static struct live *racer;
static int raced;

static int race_at_merged(const char *stage)
{
	if (strcmp(stage, "merged") || raced) /* (the racer's own merge passes here too) */
		return 0;
	raced = 1;
	struct commit_result r = fx_commit_ok(racer);
	cr_assert(r.merged, "the racer merges onto a's head too");
	commit_result_clear(&r);
	return 0;
}

Test(merge_links, a_retry_after_a_lost_race_renumbers_again)
{
	struct live *a = fx_live_at(&f, "ja", NULL), *b = fx_live_at(&f, "jb", NULL);
	static const char *const pairs[][3] = {
	    {"x1", "x2", "from a\n"},
	    {"w1", "w2", "from the racer\n"},
	    {"y1", "y2", "from b\n"},
	};

	racer = fx_live_at(&f, "jr", NULL);
	raced = 0;
	make_pair(a, "", "x1", "x2", pairs[0][2]);
	make_pair(racer, "", "w1", "w2", pairs[1][2]);
	make_pair(b, "", "y1", "y2", pairs[2][2]);
	struct commit_result ra = fx_commit_ok(a);
	commit_failpoint = race_at_merged;
	struct commit_result rb = fx_commit_ok(b);
	commit_failpoint = NULL;
	cr_assert_eq(raced, 1, "b merged once, lost the head, merged again");
	cr_assert(rb.merged);

	char hex[2 * ID_LEN + 1];
	hex_encode(rb.snapshot, ID_LEN, hex);
	struct live *c = fx_live_at(&f, "jc", hex);
	pairs_apart(c, pairs, 3);
	ids_apart(rb.snapshot, pairs, 3);
	live_close(c);
	live_close(racer);
	live_close(a);
	live_close(b);
	commit_result_clear(&ra);
	commit_result_clear(&rb);
}

/* A seal from home numbers its groups from 1 again: the base's group (a.txt, sub/hard, id 1)
 * lost sub/hard there and a new pair c1/c2 took id 1. b changed the base's group (both names);
 * sub/hard, deleted in the head and changed here, is kept, but must not join c1/c2. */
Test(merge_links, a_name_the_head_deleted_leaves_its_group)
{
	struct live *b = fx_live_at(&f, "jb", NULL);
	char p[256], q[256];
	uint64_t id;
	uint32_t nl;
	struct stat st;

	cr_assert_eq(live_write(b, ino_of(b, "a.txt"), 0, "ALPHA!", 6), 6);
	fx_path(&f, "sub/hard", p, sizeof(p));
	cr_assert_eq(unlink(p), 0);
	fx_path(&f, "c1", p, sizeof(p));
	fx_write(p, "from home\n", 10);
	fx_path(&f, "c2", q, sizeof(q));
	cr_assert_eq(link(p, q), 0);
	const char *paths[] = {f.src};
	struct seal_opts so = {.paths = paths, .npaths = 1, .host = "home", .threads = 1};
	struct seal_result sr;
	cr_assert_eq(seal_run(f.s, &so, &sr), 0);
	struct head h;
	cr_assert_eq(store_head_walk(f.s, &h), 0);
	entry_of(h.snapshot, "c1", &id, &nl);
	cr_assert_eq(id, 1, "the seal numbered c1/c2 from 1, as the base's group was");

	struct commit_result rb = fx_commit_ok(b);
	cr_assert(rb.merged);
	char hex[2 * ID_LEN + 1];
	hex_encode(rb.snapshot, ID_LEN, hex);
	struct live *c = fx_live_at(&f, "jc", hex);
	static const char *const pairs[][3] = {{"c1", "c2", "from home\n"}};
	pairs_apart(c, pairs, 1);
	cr_assert_neq(ino_of(c, "sub/hard"), ino_of(c, "c1"), "sub/hard is not c1");
	content_is(c, "sub/hard", "ALPHA!");
	content_is(c, "a.txt", "alpha\n"); /* the head's; ours under a conflict name */
	cr_assert_eq(live_getattr(c, ino_of(c, "sub/hard"), &st), 0);
	cr_assert_eq(st.st_nlink, 1);
	entry_of(rb.snapshot, "sub/hard", &id, &nl);
	cr_assert_eq(id, 0, "a file of its own");
	live_close(c);
	live_close(b);
	commit_result_clear(&rb);
}
