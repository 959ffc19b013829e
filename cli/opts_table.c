/* opts_table: a command's own options as a table (opts.h): the getopt_long tables built from
 * it, each value checked and stored as its entry says, one loop for every command. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A spec's message with {arg}, {min} and {max} filled in. */
static int spec_usage(const struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	char buf[512], num[24];
	const char *p = o->err, *v;
	size_t n = 0, len;

	while (*p && n < sizeof(buf) - 1) {
		v = NULL;
		if (strncmp(p, "{arg}", 5) == 0)
			v = arg ? arg : "";
		else if (strncmp(p, "{min}", 5) == 0)
			v = num, snprintf(num, sizeof(num), "%" PRIu64, o->min);
		else if (strncmp(p, "{max}", 5) == 0)
			v = num, snprintf(num, sizeof(num), "%" PRIu64, o->max);
		if (!v) {
			buf[n++] = *p++;
			continue;
		}
		len = strlen(v);
		if (len > sizeof(buf) - 1 - n)
			len = sizeof(buf) - 1 - n;
		memcpy(buf + n, v, len);
		n += len;
		p += 5;
	}
	buf[n] = '\0';
	return opts_usage(c, "%s", buf);
}

static int spec_list(const struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	if (*o->count >= o->max) {
		if (o->err)
			return spec_usage(c, o, arg);
		return opts_usage(c, "at most %" PRIu64 " --%s", o->max, o->name);
	}
	((const char **)o->target)[(*o->count)++] = arg;
	return 0;
}

/* Set o's target from arg: 0, or the exit code after reporting a bad value. */
static int spec_apply(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	uint64_t u;
	int64_t secs;

	switch (o->kind) {
	case OPTS_K_FLAG:
		*(bool *)o->target = true;
		return 0;
	case OPTS_K_STRING:
		*(const char **)o->target = arg;
		return 0;
	case OPTS_K_LIST:
		return spec_list(c, o, arg);
	case OPTS_K_U64:
	case OPTS_K_INT:
		if (opts_parse_u64(arg, o->max, &u) < 0 || u < o->min)
			return spec_usage(c, o, arg);
		if (o->kind == OPTS_K_INT)
			*(int *)o->target = (int)u;
		else
			*(uint64_t *)o->target = u;
		return 0;
	case OPTS_K_DURATION:
		if (!o->min && !strcmp(arg, "0")) {
			*(int64_t *)o->target = 0; /* OPTS_DURATION_OR_0: "0" turns it off */
			return 0;
		}
		if (opts_parse_duration(arg, &secs) < 0 || (uint64_t)secs < o->min ||
		    (o->max && (uint64_t)secs > o->max))
			return spec_usage(c, o, arg);
		*(int64_t *)o->target = secs;
		return 0;
	case OPTS_K_SIZE:
		if (opts_parse_size(arg, &u) < 0 || u < o->min || (o->max && u > o->max))
			return spec_usage(c, o, arg);
		*(uint64_t *)o->target = u;
		return 0;
	case OPTS_K_CALL:
		return o->call(c, o, arg);
	case OPTS_K_TABLE: /* flattened by spec_flatten */
		break;
	}
	return EXIT_FAIL;
}

#define SPEC_END(o)    (!(o)->name && !(o)->letter && (o)->kind != OPTS_K_TABLE)
#define OPTS_MAX       128
#define SPEC_VAL(i, o) ((o)->letter ? (o)->letter : OPT_CMD_BASE + (int)(i))

/* The entries of spec in order, each OPTS_TABLE replaced by its table's entries (a part of a
 * command, such as mount's --rw, keeps its options in a table of its own). -1 when they do
 * not fit (a bug). */
static int spec_flatten(const struct opts_spec *spec, const struct opts_spec **flat, size_t *n)
{
	for (; !SPEC_END(spec); spec++) {
		if (spec->kind == OPTS_K_TABLE) {
			if (spec_flatten(spec->target, flat, n) < 0)
				return -1;
			continue;
		}
		if (*n == OPTS_MAX - 1)
			return -1;
		flat[(*n)++] = spec;
	}
	return 0;
}

/* getopt_long's tables: the common groups, then the entries, numbered from OPT_CMD_BASE by
 * their place unless they have a short letter. -1 when they do not fit (a bug). */
static int spec_tables(const struct option *common, const struct opts_spec *const *flat,
		       size_t nflat, struct option *lo, char *so, size_t so_size)
{
	size_t n = 0, k = 0;

	for (const struct option *o = common; o && o->name; o++) {
		if (n == OPTS_MAX - 1)
			return -1;
		lo[n++] = *o;
	}
	for (size_t i = 0; i < nflat; i++) {
		const struct opts_spec *s = flat[i];

		if (s->name) {
			if (n == OPTS_MAX - 1)
				return -1;
			lo[n++] = (struct option){s->name, s->has_arg, NULL, SPEC_VAL(i, s)};
		}
		if (s->letter) {
			if (k + 3 >= so_size)
				return -1;
			so[k++] = (char)s->letter;
			if (s->has_arg != no_argument)
				so[k++] = ':';
			if (s->has_arg == optional_argument)
				so[k++] = ':';
		}
	}
	lo[n] = (struct option){NULL, 0, NULL, 0};
	so[k] = '\0';
	return 0;
}

int opts_parse(struct cli_ctx *c, int argc, char **argv, const struct option *common,
	       const struct opts_spec *spec)
{
	static const struct opts_spec none[] = {OPTS_END};
	const struct opts_spec *flat[OPTS_MAX];
	struct option lo[OPTS_MAX];
	char so[64];
	size_t i, nflat = 0;
	int opt, r;

	if (!spec)
		spec = none;
	if (spec_flatten(spec, flat, &nflat) < 0 ||
	    spec_tables(common, flat, nflat, lo, so, sizeof(so)) < 0) {
		cli_error("%s: too many options for the option parser", c->cmd);
		return EXIT_FAIL;
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if ((r = opts_common(c, opt, optarg)) < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		for (i = 0; i < nflat && SPEC_VAL(i, flat[i]) != opt; i++)
			;
		if (i == nflat)
			return opts_bad(c, argv);
		if ((r = spec_apply(c, flat[i], optarg)) != 0)
			return r;
	}
	return 0;
}
