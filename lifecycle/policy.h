/* policy: which snapshots a retention policy keeps — restic's `forget` semantics.
 *
 * Snapshots are grouped (by host, or all together) and each group is walked newest first
 * (by time, then seq). keep_last keeps the n newest. keep_hourly/daily/weekly/monthly/yearly
 * keep, for each of the n most recent hours/days/ISO weeks/months/years that hold a
 * snapshot, the newest snapshot in it (local time, as restic). keep_within keeps every
 * snapshot younger than the duration counted back from the group's newest snapshot (not from
 * now). keep_tag keeps snapshots carrying every tag of one of the given tag sets. A snapshot
 * is kept if any rule keeps it; a count of POLICY_ALL keeps every bucket.
 * One difference from restic: the store's newest snapshot (the one the head names) is always
 * kept, whatever the policy, because the head must name a snapshot. */
#ifndef EMBASSY_POLICY_H
#define EMBASSY_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define POLICY_ALL (-1)

enum policy_reason {
	KEEP_NEWEST = 1 << 0, /* the store's newest: the head names it */
	KEEP_LAST = 1 << 1,
	KEEP_HOURLY = 1 << 2,
	KEEP_DAILY = 1 << 3,
	KEEP_WEEKLY = 1 << 4,
	KEEP_MONTHLY = 1 << 5,
	KEEP_YEARLY = 1 << 6,
	KEEP_WITHIN = 1 << 7,
	KEEP_TAG = 1 << 8,
};

/* One --keep-within: years, months, days, hours back from the newest snapshot. */
struct policy_span {
	int years, months, days, hours;
};

struct policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0: rule off; POLICY_ALL: no limit */
	bool has_within;
	struct policy_span within;
	const char *const *tagsets; /* each "a,b": keep snapshots carrying both a and b */
	size_t ntagsets;
	bool by_host; /* group by host (restic's default groups by host and paths) */
};

/* True when at least one rule is set (restic refuses to forget without one). */
bool policy_any(const struct policy *p);
/* Decide for v[0..n) (any order); reasons[i] = 0 means forget. newest = index of the store's
 * newest snapshot (always kept), or n for none. */
int policy_apply(const struct policy *p, const struct snapshot *v, size_t n, size_t newest,
		 unsigned *reasons);
/* Parse restic's duration for --keep-within: "1y2m3d4h" (y years, m months, d days,
 * h hours, w weeks = 7 days), any subset in that form. -EINVAL on anything else. */
int policy_parse_span(const char *s, struct policy_span *out);
/* Reason names, "last", "daily", … for output; writes a comma list into buf. */
void policy_reasons(unsigned reasons, char *buf, size_t len);

#endif
