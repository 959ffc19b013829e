/* Unit tests for store/xdg.c: every per-user directory is absolute; a relative $XDG_*_HOME
 * or $HOME is never used (a mount daemon changes to /, and its disk cache and metadata
 * mirror must agree on one place). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xdg.h"

static void check(const char *xdg, const char *home, const char *want)
{
	char *p;

	if (xdg)
		setenv("XDG_CACHE_HOME", xdg, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	if (home)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	errno = 0;
	p = xdg_dir("XDG_CACHE_HOME", ".cache");
	if (want) {
		cr_assert_not_null(p, "XDG_CACHE_HOME=%s HOME=%s", xdg, home);
		cr_assert_str_eq(p, want);
	} else {
		cr_assert_null(p, "XDG_CACHE_HOME=%s HOME=%s gave %s", xdg, home, p);
		cr_assert_eq(errno, ENOENT);
	}
	free(p);
}

Test(xdg, absolute_xdg_wins)
{
	check("/x/cache", "/home/u", "/x/cache/embassy");
}

Test(xdg, relative_xdg_is_ignored)
{
	check("rel/cache", "/home/u", "/home/u/.cache/embassy");
	check("", "/home/u", "/home/u/.cache/embassy");
}

Test(xdg, no_absolute_home_is_no_place)
{
	check(NULL, NULL, NULL);
	check("rel", "relhome", NULL);
	check(NULL, "", NULL);
}

Test(xdg, absolute_against_cwd)
{
	char *cwd = getcwd(NULL, 0), *p, want[4096];

	cr_assert_not_null(cwd);
	p = xdg_absolute("./state");
	snprintf(want, sizeof(want), "%s/state", cwd);
	cr_assert_str_eq(p, want);
	free(p);
	p = xdg_absolute("/abs/dir");
	cr_assert_str_eq(p, "/abs/dir");
	free(p);
	free(cwd);
}
