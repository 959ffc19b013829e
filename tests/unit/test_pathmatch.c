/* pathmatch: the --exclude / --include rules of seal and restore. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pathmatch.h"

static struct pathmatch *of(const char *const *pats)
{
	struct pathmatch *pm = pathmatch_new();
	cr_assert_not_null(pm);
	for (; *pats; pats++)
		cr_assert_eq(pathmatch_add(pm, *pats), 0, "%s", *pats);
	return pm;
}

Test(pathmatch, names_match_at_any_depth_and_cover_subtrees)
{
	const char *p[] = {"*.tmp", "cache", NULL};
	struct pathmatch *pm = of(p);
	cr_assert(pathmatch_match(pm, "a.tmp"));
	cr_assert(pathmatch_match(pm, "x/y/z.tmp"));
	cr_assert(pathmatch_match(pm, "srv/cache"));
	cr_assert(pathmatch_match(pm, "srv/cache/deep/file.db"), "inside a matched directory");
	cr_assert_not(pathmatch_match(pm, "a.tmpx"));
	cr_assert_not(pathmatch_match(pm, "caches/x"));
	cr_assert_not(pathmatch_match(pm, ""));
	pathmatch_free(pm);
}

Test(pathmatch, slashes_anchor_at_the_root)
{
	const char *p[] = {"/var/log", "data/*.csv", NULL};
	struct pathmatch *pm = of(p);
	cr_assert(pathmatch_match(pm, "var/log"));
	cr_assert(pathmatch_match(pm, "var/log/syslog"));
	cr_assert_not(pathmatch_match(pm, "x/var/log"));
	cr_assert(pathmatch_match(pm, "data/pop.csv"));
	cr_assert_not(pathmatch_match(pm, "data/sub/pop.csv"), "* stays within a component");
	cr_assert_not(pathmatch_match(pm, "other/data/pop.csv"));
	pathmatch_free(pm);
}

Test(pathmatch, double_star_spans_components)
{
	const char *p[] = {"reg/**/*.bak", "**/secret", NULL};
	struct pathmatch *pm = of(p);
	cr_assert(pathmatch_match(pm, "reg/a.bak"), "** matches no component too");
	cr_assert(pathmatch_match(pm, "reg/x/y/a.bak"));
	cr_assert_not(pathmatch_match(pm, "other/a.bak"));
	cr_assert(pathmatch_match(pm, "secret"));
	cr_assert(pathmatch_match(pm, "a/b/secret/key"));
	pathmatch_free(pm);
}

Test(pathmatch, classes_escapes_and_may_contain)
{
	const char *p[] = {"log[0-9]", "a\\*b", "/data/2024/*", NULL};
	struct pathmatch *pm = of(p);
	cr_assert(pathmatch_match(pm, "x/log7"));
	cr_assert_not(pathmatch_match(pm, "x/logx"));
	cr_assert(pathmatch_match(pm, "a*b"));
	cr_assert_not(pathmatch_match(pm, "axxb"));
	cr_assert(pathmatch_may_contain(pm, "data"), "a directory on the way to a match");
	cr_assert(pathmatch_may_contain(pm, "data/2024"));
	cr_assert(pathmatch_may_contain(pm, "anything"), "unanchored patterns match anywhere");
	pathmatch_free(pm);
	const char *q[] = {"/data/2024/*", NULL};
	pm = of(q);
	cr_assert_not(pathmatch_may_contain(pm, "other"));
	cr_assert_not(pathmatch_may_contain(pm, "data/2023"));
	cr_assert(pathmatch_may_contain(pm, "data/2024/x/y"), "below a match");
	pathmatch_free(pm);
}

Test(pathmatch, exclude_files)
{
	char path[] = "/tmp/test_pathmatch.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs("# comment\n\n*.tmp\r\n/cache\n", f);
	fclose(f);
	struct pathmatch *pm = pathmatch_new();
	cr_assert_eq(pathmatch_add_file(pm, path), 0);
	cr_assert_eq(pathmatch_count(pm), 2);
	cr_assert(pathmatch_match(pm, "a/b.tmp"));
	cr_assert(pathmatch_match(pm, "cache/x"));
	cr_assert_eq(pathmatch_add(pm, "///"), -EINVAL);
	cr_assert_eq(pathmatch_add_file(pm, "/nonexistent/file"), -ENOENT);
	pathmatch_free(pm);
	unlink(path);
}

Test(pathmatch, match_self_is_the_path_not_its_ancestors)
{
	const char *p[] = {"*.csv", "/land/**/parcels", "cache", NULL};
	struct pathmatch *pm = of(p);
	cr_assert(pathmatch_match_self(pm, "pop.csv"));
	cr_assert(pathmatch_match_self(pm, "a/b/pop.csv"), "a name matches at any depth");
	cr_assert_not(pathmatch_match_self(pm, "x.csv/inner"), "inside a match is no match");
	cr_assert(pathmatch_match(pm, "x.csv/inner"), "though the exclude rule covers it");
	cr_assert(pathmatch_match_self(pm, "land/parcels"));
	cr_assert(pathmatch_match_self(pm, "land/a/b/parcels"));
	cr_assert_not(pathmatch_match_self(pm, "land/parcels/p1"));
	cr_assert_not(pathmatch_match_self(pm, "x/land/parcels"), "anchored");
	cr_assert(pathmatch_match_self(pm, "srv/cache"));
	cr_assert_not(pathmatch_match_self(pm, "srv/cache/f"));
	cr_assert_not(pathmatch_match_self(pm, ""));
	pathmatch_free(pm);
}
