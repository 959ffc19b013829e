/* policy: restic's retention buckets over a store's snapshots (see policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool policy_any(const struct policy *p)
{
	return p->last || p->hourly || p->daily || p->weekly || p->monthly || p->yearly ||
	       p->has_within || p->ntagsets;
}

/* ---- ordering: newest first ---- */

static int newest_first(const void *a, const void *b, void *ctx)
{
	const struct snapshot *v = ctx;
	const struct snapshot *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];
	if (x->time_ns != y->time_ns)
		return x->time_ns > y->time_ns ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* ---- buckets ---- */

enum { B_LAST, B_HOURLY, B_DAILY, B_WEEKLY, B_MONTHLY, B_YEARLY, NBUCKETS };

struct bucket {
	int count;   /* left to keep; POLICY_ALL: unlimited */
	int64_t cur; /* bucket of the last snapshot kept by this rule */
	bool any;
	unsigned reason;
};

static int64_t bucket_of(int kind, const struct snapshot *sn, size_t pos)
{
	time_t t = (time_t)(sn->time_ns / 1000000000);
	struct tm tm;
	char buf[16];

	if (kind == B_LAST)
		return (int64_t)pos; /* every snapshot is its own bucket */
	localtime_r(&t, &tm);
	int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
	switch (kind) {
	case B_HOURLY:
		return ((y * 100 + m) * 100 + d) * 100 + tm.tm_hour;
	case B_DAILY:
		return (y * 100 + m) * 100 + d;
	case B_WEEKLY: /* ISO 8601 week-numbering year and week */
		strftime(buf, sizeof(buf), "%G%V", &tm);
		return strtoll(buf, NULL, 10);
	case B_MONTHLY:
		return y * 100 + m;
	default:
		return y;
	}
}

static void buckets_init(const struct policy *p, struct bucket b[NBUCKETS])
{
	const int counts[NBUCKETS] = {p->last,	 p->hourly,  p->daily,
				      p->weekly, p->monthly, p->yearly};
	const unsigned reasons[NBUCKETS] = {KEEP_LAST,	 KEEP_HOURLY,  KEEP_DAILY,
					    KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY};
	for (int k = 0; k < NBUCKETS; k++)
		b[k] = (struct bucket){.count = counts[k], .reason = reasons[k]};
}

static unsigned buckets_take(struct bucket b[NBUCKETS], const struct snapshot *sn, size_t pos)
{
	unsigned r = 0;
	for (int k = 0; k < NBUCKETS; k++) {
		if (b[k].count == 0)
			continue;
		int64_t v = bucket_of(k, sn, pos);
		if (b[k].any && v == b[k].cur)
			continue; /* a newer snapshot already holds this bucket */
		b[k].any = true;
		b[k].cur = v;
		if (b[k].count > 0)
			b[k].count--;
		r |= b[k].reason;
	}
	return r;
}

/* ---- within and tags ---- */

static int64_t within_cutoff(const struct policy_span *w, int64_t newest_ns)
{
	time_t t = (time_t)(newest_ns / 1000000000);
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_year -= w->years;
	tm.tm_mon -= w->months;
	tm.tm_mday -= w->days;
	tm.tm_isdst = -1;
	t = mktime(&tm) - (time_t)w->hours * 3600;
	return (int64_t)t * 1000000000 + newest_ns % 1000000000;
}

static bool has_tag(const struct snapshot *sn, const char *tag, size_t len)
{
	for (size_t i = 0; i < sn->ntags; i++)
		if (strlen(sn->tags[i]) == len && !memcmp(sn->tags[i], tag, len))
			return true;
	return false;
}

/* "a,b": every tag of the set present. */
static bool has_tagset(const struct snapshot *sn, const char *set)
{
	for (const char *p = set; *p;) {
		size_t len = strcspn(p, ",");
		if (len && !has_tag(sn, p, len))
			return false;
		p += len + (p[len] == ',');
	}
	return *set != 0;
}

static bool same_group(const struct policy *p, const struct snapshot *a, const struct snapshot *b)
{
	return !p->by_host || !strcmp(a->host, b->host);
}

/* One group: the snapshots of order[] (newest first) that share first's group. */
static void apply_group(const struct policy *p, const struct snapshot *v, const size_t *order,
			size_t n, size_t first, bool *done, unsigned *reasons)
{
	struct bucket b[NBUCKETS];
	const struct snapshot *lead = &v[order[first]];
	int64_t cutoff = p->has_within ? within_cutoff(&p->within, lead->time_ns) : 0;
	size_t pos = 0;

	buckets_init(p, b);
	for (size_t i = first; i < n; i++) {
		size_t k = order[i];
		if (done[k] || !same_group(p, lead, &v[k]))
			continue;
		done[k] = true;
		reasons[k] |= buckets_take(b, &v[k], pos++);
		if (p->has_within && v[k].time_ns >= cutoff)
			reasons[k] |= KEEP_WITHIN;
		for (size_t t = 0; t < p->ntagsets; t++)
			if (has_tagset(&v[k], p->tagsets[t]))
				reasons[k] |= KEEP_TAG;
	}
}

int policy_apply(const struct policy *p, const struct snapshot *v, size_t n, size_t newest,
		 unsigned *reasons)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	bool *done = calloc(n ? n : 1, sizeof(*done));

	if (!order || !done) {
		free(order);
		free(done);
		return -ENOMEM;
	}
	memset(reasons, 0, n * sizeof(*reasons));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (n)
		qsort_r(order, n, sizeof(*order), newest_first, (void *)v);
	for (size_t i = 0; i < n; i++)
		if (!done[order[i]])
			apply_group(p, v, order, n, i, done, reasons);
	if (newest < n)
		reasons[newest] |= KEEP_NEWEST;
	free(order);
	free(done);
	return 0;
}

int policy_parse_span(const char *s, struct policy_span *out)
{
	static const char units[] = "ymwdh";
	const char *p = s;
	int last = -1;

	memset(out, 0, sizeof(*out));
	if (!*s)
		return -EINVAL;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);
		const char *u = end != p && *end ? strchr(units, *end) : NULL;
		if (!u || v < 0 || v > 100000 || *p == '-' || *p == '+' || u - units <= last)
			return -EINVAL; /* units once each, in order y m w d h */
		last = (int)(u - units);
		switch (*u) {
		case 'y':
			out->years = (int)v;
			break;
		case 'm':
			out->months = (int)v;
			break;
		case 'w':
			out->days += (int)v * 7;
			break;
		case 'd':
			out->days += (int)v;
			break;
		default:
			out->hours = (int)v;
		}
		p = end + 1;
	}
	return 0;
}

void policy_reasons(unsigned r, char *buf, size_t len)
{
	static const char *const names[] = {"newest",  "last",	 "hourly", "daily", "weekly",
					    "monthly", "yearly", "within", "tag"};
	size_t at = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (r & (1u << i) && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? "," : "", names[i]);
}
