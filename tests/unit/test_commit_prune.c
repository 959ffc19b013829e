/* A write-through commit racing prune: a commit whose marker expired or was deleted (a host
 * stalled past MARKER_EXPIRY_S, or one that deletes markers) and whose new packs prune
 * swept meanwhile must refuse to publish (-EIDRM) rather than name deleted data; the next
 * commit uploads again and publishes the tree. (Residual of issue 13: the commit published
 * through the head's compare-and-swap without taking back / checking prune's sets.) */
#include <criterion/criterion.h>
#include <dirent.h>

#include "commit.h"
#include "hex.h"
#include "live_int.h"
#include "prune.h"
#include "rw_dump.h"
#include "rw_fixture.h"
#include "verify.h"

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

TestSuite(commit_prune, .init = setup, .fini = teardown);

static int pruned;

/* After the commit's upload: the host drops its marker, then a prune runs to the end. */
static int prune_now(const char *stage)
{
	char locks[256], p[512];
	struct prune_opts po = {.grace_s = 3600};
	struct prune_result r;
	struct dirent *d;
	DIR *dir;

	if (strcmp(stage, "built") != 0)
		return 0;
	snprintf(locks, sizeof(locks), "%s/locks", f.store);
	cr_assert_not_null(dir = opendir(locks));
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", locks, d->d_name);
			cr_assert_eq(unlink(p), 0);
		}
	closedir(dir);
	cr_assert_eq(prune_run(f.s, &po, &r), 0);
	pruned = (int)r.packs_deleted;
	return 0;
}

Test(commit_prune, a_commit_whose_packs_were_swept_does_not_publish)
{
	char jdir[256];
	struct live_opts o = {.journal_dir = jdir, .host = "test"};
	struct commit_opts co = {0};
	struct commit_result r;
	struct head before, after;
	struct live *l = NULL;
	struct stat st;
	uint8_t buf[8192];

	snprintf(jdir, sizeof(jdir), "%s/j1", f.dir);
	cr_assert_eq(live_open(f.s, &o, &l), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	cr_assert_eq(live_mknod(l, LIVE_INO_ROOT, "new.bin", S_IFREG | 0644, 0, 0, 0, &st), 0);
	cr_assert_eq(live_write(l, st.st_ino, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	char *want = dump_live(l, true);
	cr_assert_eq(store_head_walk(f.s, &before), 0);

	commit_failpoint = prune_now;
	int ret = commit_run(l, &co, &r);
	commit_failpoint = NULL;
	cr_assert_gt(pruned, 0, "the prune deleted the commit's new packs");
	cr_assert_eq(ret, -EIDRM, "the commit must refuse to publish: %s", strerror(-ret));
	cr_assert_eq(store_head_walk(f.s, &after), 0);
	cr_assert_arr_eq(after.snapshot, before.snapshot, ID_LEN, "nothing was published");
	struct verify_opts vo = {.read_data = true};
	struct verify_result vr;
	cr_assert_eq(verify_run(f.s, &vo, &vr), 0);
	cr_assert_eq(vr.problems, 0, "the store verifies clean");

	/* run again: what is missing is uploaded, the tree is published */
	struct commit_result r2;
	cr_assert_eq(commit_run(l, &co, &r2), 0);
	live_close(l);
	char hex[2 * ID_LEN + 1];
	hex_encode(r2.snapshot, ID_LEN, hex);
	struct live_opts o2 = {.journal_dir = jdir, .host = "test", .snapshot = hex};
	snprintf(jdir, sizeof(jdir), "%s/j-check", f.dir);
	cr_assert_eq(live_open(f.s, &o2, &l), 0);
	char *got = dump_live(l, true);
	cr_assert_str_eq(got, want);
	live_close(l);
	cr_assert_eq(verify_run(f.s, &vo, &vr), 0);
	cr_assert_eq(vr.problems, 0, "the store verifies clean after the second commit");
	commit_result_clear(&r2);
	free(want);
	free(got);
}
