/* policycheck: apply a retention policy (lifecycle/policy.h) to a list of snapshot times, as
 * restic's forget would (no "newest is always kept" rule), for tests/integration/
 * forget_policy.sh, which compares the answer with restic's own.
 *
 *   policycheck [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
 *               [--keep-monthly N] [--keep-yearly N] [--keep-within D] -- TIME...
 * TIME: seconds since the epoch. Prints the kept times, one per line, ascending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int count(const char *s)
{
	return !strcmp(s, "unlimited") ? POLICY_ALL : atoi(s);
}

int main(int argc, char **argv)
{
	struct policy p = {0};
	int i = 1;
	for (; i + 1 < argc && strcmp(argv[i], "--"); i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "--keep-last"))
			p.last = count(v);
		else if (!strcmp(o, "--keep-hourly"))
			p.hourly = count(v);
		else if (!strcmp(o, "--keep-daily"))
			p.daily = count(v);
		else if (!strcmp(o, "--keep-weekly"))
			p.weekly = count(v);
		else if (!strcmp(o, "--keep-monthly"))
			p.monthly = count(v);
		else if (!strcmp(o, "--keep-yearly"))
			p.yearly = count(v);
		else if (!strcmp(o, "--keep-within")) {
			p.has_within = true;
			if (policy_parse_span(v, &p.within))
				return fprintf(stderr, "bad span %s\n", v), 2;
		} else
			return fprintf(stderr, "unknown option %s\n", o), 2;
	}
	if (i >= argc || strcmp(argv[i], "--"))
		return fprintf(stderr, "usage: policycheck [rules] -- TIME...\n"), 2;
	size_t n = (size_t)(argc - i - 1);
	struct snapshot *v = calloc(n ? n : 1, sizeof(*v));
	unsigned *r = calloc(n ? n : 1, sizeof(*r));
	for (size_t k = 0; k < n; k++) {
		v[k].time_ns = atoll(argv[i + 1 + k]) * 1000000000LL;
		v[k].seq = k + 1;
		strcpy(v[k].host, "h");
	}
	if (policy_apply(&p, v, n, n, r))
		return 1;
	for (size_t k = 0; k < n; k++) /* the times come in ascending order */
		if (r[k])
			printf("%lld\n", (long long)(v[k].time_ns / 1000000000LL));
	free(v);
	free(r);
	return 0;
}
