/* policy: restic's retention rules over hand-made timelines (UTC). The same rules are checked
 * against restic itself by tests/integration/forget_policy.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

#define DAY  86400LL
#define HOUR 3600LL

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(policy, .init = utc);

/* snapshots at the given seconds since 2024-01-01 00:00 UTC (a Monday), seq = order given */
static struct snapshot *timeline(const long long *secs, size_t n, const char *const *hosts)
{
	struct snapshot *v = calloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].time_ns = (1704067200LL + secs[i]) * 1000000000LL;
		v[i].seq = i + 1;
		v[i].id[0] = (uint8_t)i;
		strcpy(v[i].host, hosts ? hosts[i] : "h");
	}
	return v;
}

static unsigned kept_mask(const struct policy *p, const struct snapshot *v, size_t n, size_t newest)
{
	unsigned r[32], m = 0;
	cr_assert_eq(policy_apply(p, v, n, newest, r), 0);
	for (size_t i = 0; i < n; i++)
		if (r[i])
			m |= 1u << i;
	return m;
}

Test(policy, keep_last)
{
	long long t[] = {0, 10, 20, 30, 40};
	struct snapshot *v = timeline(t, 5, NULL);
	struct policy p = {.last = 3};
	cr_assert_eq(kept_mask(&p, v, 5, 5), 0x1c);
	p.last = POLICY_ALL;
	cr_assert_eq(kept_mask(&p, v, 5, 5), 0x1f);
	free(v);
}

Test(policy, daily_keeps_the_newest_of_each_day)
{
	/* day 1 10:00 and 12:00, day 2 09:00, day 3 08:00 and 23:00 */
	long long t[] = {10 * HOUR, 12 * HOUR, DAY + 9 * HOUR, 2 * DAY + 8 * HOUR,
			 2 * DAY + 23 * HOUR};
	struct snapshot *v = timeline(t, 5, NULL);
	struct policy p = {.daily = 2};
	cr_assert_eq(kept_mask(&p, v, 5, 5), (1u << 4) | (1u << 2));
	p.daily = 10; /* more days than there are: every day's newest */
	cr_assert_eq(kept_mask(&p, v, 5, 5), (1u << 4) | (1u << 2) | (1u << 1));
	free(v);
}

Test(policy, weekly_uses_iso_weeks)
{
	/* 2024-01-07 is a Sunday (ISO week 1), 2024-01-08 a Monday (week 2) */
	long long t[] = {5 * DAY, 6 * DAY, 7 * DAY, 8 * DAY};
	struct snapshot *v = timeline(t, 4, NULL);
	struct policy p = {.weekly = 2};
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 3) | (1u << 1));
	free(v);
}

Test(policy, monthly_and_yearly)
{
	/* Jan 5, Jan 20, Feb 3, 2025-01-02 */
	long long t[] = {4 * DAY, 19 * DAY, 33 * DAY, 367 * DAY};
	struct snapshot *v = timeline(t, 4, NULL);
	struct policy p = {.monthly = 2};
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 3) | (1u << 2));
	p = (struct policy){.yearly = 5};
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 3) | (1u << 2));
	p = (struct policy){.monthly = 1, .yearly = 2}; /* rules add up */
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 3) | (1u << 2));
	free(v);
}

Test(policy, within_counts_back_from_the_newest_not_from_now)
{
	long long t[] = {0, 5 * DAY, 9 * DAY, 10 * DAY};
	struct snapshot *v = timeline(t, 4, NULL);
	struct policy p = {.has_within = true};
	cr_assert_eq(policy_parse_span("2d", &p.within), 0);
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 3) | (1u << 2));
	cr_assert_eq(policy_parse_span("1w3d", &p.within), 0);
	cr_assert_eq(kept_mask(&p, v, 4, 4), 0xf);
	free(v);
}

Test(policy, tags_and_groups)
{
	long long t[] = {0, 10, 20, 30};
	const char *hosts[] = {"a", "b", "a", "b"};
	struct snapshot *v = timeline(t, 4, hosts);
	char *tags0[] = {"monthly", "audit"}, *tags1[] = {"monthly"};
	const char *sets[] = {"audit,monthly"};
	v[0].tags = tags0;
	v[0].ntags = 2;
	v[1].tags = tags1;
	v[1].ntags = 1;
	struct policy p = {.tagsets = sets, .ntagsets = 1};
	cr_assert_eq(kept_mask(&p, v, 4, 4), 1u << 0, "every tag of the set");
	p = (struct policy){.last = 1, .by_host = true};
	cr_assert_eq(kept_mask(&p, v, 4, 4), (1u << 2) | (1u << 3), "the newest per host");
	p.by_host = false;
	cr_assert_eq(kept_mask(&p, v, 4, 4), 1u << 3);
	for (size_t i = 0; i < 4; i++)
		v[i].tags = NULL, v[i].ntags = 0;
	free(v);
}

Test(policy, the_store_newest_is_always_kept)
{
	long long t[] = {0, 10, 20};
	struct snapshot *v = timeline(t, 3, NULL);
	const char *sets[] = {"nothing-has-this"};
	struct policy p = {.tagsets = sets, .ntagsets = 1};
	unsigned r[3];
	cr_assert_eq(policy_apply(&p, v, 3, 2, r), 0);
	cr_assert_eq(r[2], KEEP_NEWEST);
	cr_assert_eq(r[0] | r[1], 0);
	free(v);
}

Test(policy, spans)
{
	struct policy_span s;
	cr_assert_eq(policy_parse_span("1y2m3d4h", &s), 0);
	cr_assert(s.years == 1 && s.months == 2 && s.days == 3 && s.hours == 4);
	cr_assert_eq(policy_parse_span("2w", &s), 0);
	cr_assert_eq(s.days, 14);
	cr_assert_eq(policy_parse_span("", &s), -EINVAL);
	cr_assert_eq(policy_parse_span("3", &s), -EINVAL);
	cr_assert_eq(policy_parse_span("1d2y", &s), -EINVAL, "out of order");
	cr_assert_eq(policy_parse_span("1d1d", &s), -EINVAL, "twice");
	cr_assert_eq(policy_parse_span("-1d", &s), -EINVAL);
	cr_assert_eq(policy_parse_span("1x", &s), -EINVAL);
	char buf[64];
	policy_reasons(KEEP_NEWEST | KEEP_DAILY | KEEP_TAG, buf, sizeof(buf));
	cr_assert_str_eq(buf, "newest,daily,tag");
}
