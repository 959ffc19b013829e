/* commit_fixture: what the tests that commit a live tree share (test_commit, test_adopt,
 * test_merge_links): a commit that must succeed, and a committed snapshot as a dump. */
#ifndef EMBASSY_COMMIT_FIXTURE_H
#define EMBASSY_COMMIT_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "commit.h"
#include "hex.h"
#include "rw_dump.h"
#include "rw_fixture.h"

static __attribute__((unused)) struct commit_result fx_commit_ok(struct live *l)
{
	struct commit_opts o = {0};
	struct commit_result r;
	int cret = commit_run(l, &o, &r);
	cr_assert_eq(cret, 0, "commit: %s", strerror(-cret));
	return r;
}

/* The snapshot as a fresh tree on it shows it (a journal of its own, named jname). */
static __attribute__((unused)) char *fx_dump_snapshot(struct fx *f, const uint8_t id[ID_LEN],
						      const char *jname)
{
	char hex[2 * ID_LEN + 1];
	hex_encode(id, ID_LEN, hex);
	struct live *l = fx_live_at(f, jname, hex);
	char *d = dump_live(l, true);
	live_close(l);
	return d;
}

#endif
