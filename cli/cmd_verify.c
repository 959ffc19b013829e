/* verify: check a whole store and report every problem found. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "verify.h"

static const char help[] =
    "NAME\n"
    "  embassy verify - check a store's signatures, structure and data\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy verify STORE [--read-data | --read-data-subset N/M|P%|SIZE] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Checks the store descriptor, every snapshot manifest's signature, the signed head\n"
    "  pointer and the signed list of live snapshots it names (a listed snapshot the host\n"
    "  no longer serves is a problem), every directory record of the live snapshots (it\n"
    "  must decode and be well formed), and that every record they refer to is present\n"
    "  (its pack exists and is long enough). With --read-data every record is also fetched,\n"
    "  authenticated and checked against its id. Manifests outside the signed list\n"
    "  (forgotten, or left by an interrupted seal) are checked for forgery only.\n"
    "\n"
    "  Each problem is printed as one line on standard output naming the object and, where\n"
    "  known, the snapshot and path affected; a summary line follows. The exit status is 0\n"
    "  only when no problem was found, 7 when some were.\n"
    "\n"
    "OPTIONS\n"
    "  --read-data  open every record (reads the whole store)\n"
    "  --read-data-subset N/M|P%|SIZE\n"
    "               like --read-data, but open only the records in the N-th of M subsets\n"
    "               of the packs (by pack id, 1 <= N <= M <= 65536): run 1/M, 2/M, ... on\n"
    "               successive days for a rolling check of a large store over a slow link.\n"
    "               P% (0 < P <= 100, e.g. 2.5%): packs in use drawn at random, P% of\n"
    "               them; SIZE (e.g. 500M, 2G): packs drawn at random until their records\n"
    "               in use reach SIZE. Random draws differ every run and cover the store\n"
    "               only with high probability over many runs (N/M covers it for sure).\n"
    "               The other checks are done in full every time\n"
    "  --json       print {\"type\":\"progress\"} lines while checking (about once a\n"
    "               second), then one {\"type\":\"summary\"} line: ok, snapshots, trees,\n"
    "               records, packs, problems (count), report (the problem lines)\n"
    "\n"
    "  A progress bar is drawn on standard error when it is a terminal.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy verify /srv/embassy --key-file officer1.key\n"
    "  embassy verify s3://embassy/regs --read-data --json > verify-report.json\n";

struct verify_ctx {
	bool json;
	json_t *lines;
	struct progress *bar;
	int64_t start_ns;
};

/* A line with its non-UTF-8 bytes escaped, in a static buffer (reports come one at a time). */
static const char *escaped(const char *line)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		return "(unprintable line)";
	cli_print_text(f, line, strlen(line));
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	return buf;
}

static void on_report(void *ctx, const char *line)
{
	struct verify_ctx *v = ctx;

	if (v->json) {
		/* jansson takes only UTF-8; object names in a line may hold any bytes */
		json_t *str = cli_utf8_ok(line, strlen(line)) ? json_string(line) : NULL;

		json_array_append_new(v->lines, str ? str : json_string(escaped(line)));
		return;
	}
	if (v->bar)
		fputs("\r\033[K", stderr); /* keep the report readable under the bar */
	fputs("problem: ", stdout);
	cli_print_text(stdout, line, strlen(line));
	putchar('\n');
	fflush(stdout);
}

static void on_progress(void *ctx, const struct verify_progress *p)
{
	progress_update(ctx, p->records_done, p->records_total);
}

static int print_summary(const struct verify_ctx *v, const struct verify_result *r, struct store *s)
{
	json_t *o, *mirrors;

	if (!v->json && cli_quiet() && !r->problems)
		return 0; /* -q: silent on success */
	if (!v->json) {
		printf("checked %llu snapshot(s), %llu tree(s), %llu record(s) in %llu pack(s): ",
		       (unsigned long long)r->snapshots, (unsigned long long)r->trees,
		       (unsigned long long)r->records, (unsigned long long)r->packs);
		if (r->problems)
			printf("%llu problem(s)\n", (unsigned long long)r->problems);
		else
			printf("no problems\n");
		if (r->unlisted)
			printf("note: %llu manifest(s) outside the signed snapshot list "
			       "(forgotten, or "
			       "left by interrupted seals; 'embassy prune' removes them)\n",
			       (unsigned long long)r->unlisted);
		return 0;
	}
	o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:f}", "type", "summary", "ok",
		      r->problems == 0, "snapshots", (json_int_t)r->snapshots, "trees",
		      (json_int_t)r->trees, "records", (json_int_t)r->records, "packs",
		      (json_int_t)r->packs, "problems", (json_int_t)r->problems, "unlisted",
		      (json_int_t)r->unlisted, "report", v->lines, "elapsed_s",
		      cli_elapsed_s(v->start_ns));
	if (o && (mirrors = cli_mirrors_json(store_remote(s))))
		json_object_set_new(o, "mirrors", mirrors);
	return cli_print_json(o);
}

/* N/M, P% or SIZE (docs/CLI.md sizes). */
static int parse_subset(const char *arg, struct verify_opts *vo)
{
	unsigned n, m;
	size_t len = strlen(arg);
	char end, *stop;

	vo->read_data = true;
	if (strchr(arg, '/')) {
		if (sscanf(arg, "%u/%u%c", &n, &m, &end) != 2 || n < 1 || n > m || m > 65536)
			return -EINVAL;
		vo->subset_n = n;
		vo->subset_m = m;
		return 0;
	}
	if (len > 1 && arg[len - 1] == '%') {
		double p = strtod(arg, &stop);
		if (stop != arg + len - 1 || !(p > 0 && p <= 100))
			return -EINVAL;
		vo->subset_percent = p;
		return 0;
	}
	return opts_parse_size(arg, &vo->subset_bytes) < 0 || !vo->subset_bytes ? -EINVAL : 0;
}

static int opt_subset(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	if (parse_subset(arg, o->target) < 0)
		return opts_usage(c,
				  "--read-data-subset needs N/M (1 <= N <= M <= 65536), P%% (0 < P "
				  "<= 100) or a SIZE like 500M, not '%s'",
				  arg);
	return 0;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	struct verify_ctx v = {0};
	struct verify_opts vo = {0};
	struct verify_result res = {0};
	const char *url;
	int ret, err;
	const struct opts_spec options[] = {
	    OPTS_FLAG(0, "read-data", &vo.read_data),
	    OPTS_CALL(0, "read-data-subset", required_argument, opt_subset, &vo),
	    OPTS_FLAG(0, "json", &v.json), OPTS_END};

	opts_init(&c, "verify");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	v.lines = json_array();
	if (!v.lines)
		return EXIT_FAIL;
	ret = cli_open_store(&c, url, false, &s);
	if (ret != EXIT_OK)
		goto out;
	vo.report = on_report;
	vo.report_ctx = &v;
	v.start_ns = cli_monotonic_ns();
	v.bar = progress_start(vo.read_data ? "verify (read data)" : "verify", "records", v.json);
	vo.progress = v.bar ? on_progress : NULL;
	vo.progress_ctx = v.bar;
	err = verify_run(s, &vo, &res);
	progress_free(v.bar);
	if (err < 0 && err != -EBADMSG) {
		cli_error("verify of store %s could not finish: %s", url, strerror(-err));
		ret = cli_exit_for(err);
		goto out;
	}
	if (print_summary(&v, &res, s) < 0 || fflush(stdout) != 0)
		ret = EXIT_IO;
	else if (err == -EBADMSG || res.problems)
		ret = EXIT_INTEGRITY;
	if (ret == EXIT_INTEGRITY)
		cli_error("store %s has %llu problem(s) (listed on standard output)", url,
			  (unsigned long long)res.problems);
out:
	json_decref(v.lines);
	if (s)
		store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_verify = {"verify", "check a store's signatures, structure and data",
				       help, run};
