/* forget: remove snapshots from the store's signed list, by policy or by id. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "forget.h"
#include "hex.h"
#include "prune.h"

#define MAX_TAGSETS 64

static const char help[] =
    "NAME\n"
    "  embassy forget - remove snapshots by a retention policy or by id (sealer)\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy forget STORE --sealer-key FILE [--keep-last N] [--keep-hourly N]\n"
    "                 [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
    "                 [--keep-yearly N] [--keep-within DURATION] [--keep-tag TAG[,TAG]]...\n"
    "                 [--group-by host|none] [--prune [--max-unused PERCENT]]\n"
    "                 [--dry-run] [--json]\n"
    "  embassy forget STORE SNAPSHOT... --sealer-key FILE [--prune] [--dry-run] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  The store's snapshots are named in a list the sealer signs. forget writes a new\n"
    "  generation of that list without the snapshots it removes, then deletes their\n"
    "  manifests; readers stop listing them at once, and a host cannot forget (or hide) a\n"
    "  snapshot itself. The data only they used stays until 'embassy prune' (or --prune).\n"
    "\n"
    "  The policy follows restic's 'forget': snapshots are grouped by host (--group-by\n"
    "  none: all together) and walked newest first; a snapshot is kept if any rule keeps it.\n"
    "    --keep-last N     the N newest\n"
    "    --keep-hourly N   the newest snapshot of each of the N most recent hours that have\n"
    "                      one; likewise --keep-daily, --keep-weekly (ISO weeks),\n"
    "                      --keep-monthly, --keep-yearly (local time, like restic)\n"
    "    --keep-within D   every snapshot within D of the group's newest snapshot (not of\n"
    "                      now); D as restic writes it: 1y2m3d4h (years, months, days,\n"
    "                      hours; also w for weeks) - note m is months here\n"
    "    --keep-tag T[,U]  snapshots carrying every listed tag; repeatable (any of them)\n"
    "  N may be 'unlimited'. Unlike restic, the newest snapshot of the store is always kept:\n"
    "  the signed head pointer must name a snapshot. Without a rule and without SNAPSHOT\n"
    "  nothing is forgotten (an error, as in restic).\n"
    "\n"
    "  With SNAPSHOT ids (or unique prefixes) exactly those are forgotten.\n"
    "\n"
    "OPTIONS\n"
    "  --prune               run 'embassy prune' afterwards (see its --help)\n"
    "  --max-unused PERCENT  with --prune: as prune's --max-unused\n"
    "  --dry-run             print what would be kept and forgotten; change nothing\n"
    "  --valid-for DURATION  expiry of the re-signed head pointer (default 7d; as seal)\n"
    "  --json                print one object: dry_run, generation, keep and forget\n"
    "                        (arrays of {id, seq, time, time_ns, host, tags, reasons}),\n"
    "                        manifests_deleted, elapsed_s, and with --prune prune (as\n"
    "                        'embassy prune --json' prints it)\n"
    "\n" CLI_HELP_SEALER "\n" CLI_HELP_STORE "\n" CLI_HELP_TRUST "\n" CLI_HELP_GENERAL
    "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy forget /srv/embassy --sealer-key sealer.key --keep-daily 7 --keep-weekly 5 \\\n"
    "      --keep-monthly 12 --keep-yearly unlimited --prune\n"
    "  embassy forget /srv/embassy 3f2a9c --sealer-key sealer.key --dry-run\n";

struct forget_args {
	struct policy pol;
	const char *tagsets[MAX_TAGSETS];
	bool dry_run, json, prune;
	double max_unused;
	int64_t valid_for;
	int64_t start_ns;
};

/* --keep-last N and the other counts: a number or "unlimited" into the int o->target */
static int opt_count(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	uint64_t v;
	if (!strcmp(arg, "unlimited") || !strcmp(arg, "-1")) {
		*(int *)o->target = POLICY_ALL;
		return 0;
	}
	if (opts_parse_u64(arg, 1000000, &v) < 0)
		return opts_usage(c, "--%s needs a count or 'unlimited', not '%s'", o->name, arg);
	*(int *)o->target = (int)v;
	return 0;
}

static int opt_within(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct forget_args *a = o->target;

	a->pol.has_within = true;
	if (policy_parse_span(arg, &a->pol.within) < 0)
		return opts_usage(c, "--keep-within needs a duration like 30d or 1y6m, not '%s'",
				  arg);
	return 0;
}

static int opt_tag(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct forget_args *a = o->target;

	if (a->pol.ntagsets == MAX_TAGSETS || !*arg)
		return opts_usage(c, "--keep-tag needs a tag (at most %d times)", MAX_TAGSETS);
	a->tagsets[a->pol.ntagsets++] = arg;
	return 0;
}

static int opt_group_by(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	if (strcmp(arg, "host") && strcmp(arg, "none"))
		return opts_usage(c, "--group-by is 'host' or 'none', not '%s'", arg);
	*(bool *)o->target = !strcmp(arg, "host");
	return 0;
}

static json_t *snap_json(const struct snapshot *sn, unsigned reasons)
{
	char id[2 * ID_LEN + 1], t[48], why[128];
	json_t *tags = json_array(), *why_a = json_array();
	hex_encode(sn->id, ID_LEN, id);
	cli_format_time(sn->time_ns, false, t);
	for (size_t i = 0; i < sn->ntags; i++)
		json_array_append_new(tags, json_string(sn->tags[i]));
	policy_reasons(reasons, why, sizeof(why));
	for (char *p = why, *tok; (tok = strtok_r(p, ",", &p));)
		json_array_append_new(why_a, json_string(tok));
	return json_pack("{s:s s:I s:s s:I s:s s:o s:o}", "id", id, "seq", (json_int_t)sn->seq,
			 "time", t, "time_ns", (json_int_t)sn->time_ns, "host",
			 cli_utf8_ok(sn->host, strlen(sn->host)) ? sn->host : "?", "tags", tags,
			 "reasons", why_a);
}

static int print_json(const struct forget_args *a, const struct forget_result *r,
		      const struct prune_result *pr)
{
	json_t *keep = json_array(), *gone = json_array(), *o;

	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(r->reasons[i] ? keep : gone,
				      snap_json(&r->v[i], r->reasons[i]));
	o = json_pack("{s:b s:I s:o s:o s:I s:f}", "dry_run", a->dry_run, "generation",
		      (json_int_t)r->gen, "keep", keep, "forget", gone, "manifests_deleted",
		      (json_int_t)r->deleted, "elapsed_s", cli_elapsed_s(a->start_ns));
	if (o && pr)
		json_object_set_new(o, "prune", prune_result_json(pr));
	return cli_print_json(o);
}

static void print_table(const struct forget_args *a, const struct forget_result *r)
{
	char id[2 * ID_LEN + 1], t[48], why[128];
	printf("  %-12s  %-20s  %-16s  %s\n", "ID", "TIME (UTC)", "HOST", "KEPT BECAUSE");
	for (size_t i = 0; i < r->n; i++) {
		hex_encode(r->v[i].id, ID_LEN, id);
		cli_format_time(r->v[i].time_ns, false, t);
		policy_reasons(r->reasons[i], why, sizeof(why));
		printf("%c %.12s  %-20s  ", r->reasons[i] ? ' ' : '-', id, t);
		cli_print_name(stdout, r->v[i].host, strnlen(r->v[i].host, 16));
		printf("%*s  %s\n", (int)(16 - strnlen(r->v[i].host, 16)), "",
		       r->reasons[i] ? why : "(forget)");
	}
	printf("%zu snapshot(s) kept, %zu %s\n", r->n - r->forgotten, r->forgotten,
	       a->dry_run ? "would be forgotten (dry run)" : "forgotten");
}

static int run_prune(const struct cli_ctx *c, struct store *s, const struct forget_args *a,
		     struct prune_result *pr, const char *url)
{
	struct prune_opts po = {.max_unused = a->max_unused, .dry_run = a->dry_run};
	/* the summary as prune prints it: not with --json, nor with -q (but a dry run's) */
	int err = cli_prune(c, s, &po, pr, url, !a->json && (!cli_quiet() || a->dry_run));
	return err;
}

static int run(int argc, char **argv)
{
	struct forget_args a = {.pol.by_host = true, .max_unused = PRUNE_DEFAULT_MAX_UNUSED};
	struct forget_opts fo = {0};
	struct forget_result r = {0};
	struct prune_result pr = {0};
	struct cli_ctx c;
	struct store *s = NULL;
	const char *url;
	int ret, err;
	const struct opts_spec options[] = {
	    OPTS_CALL(0, "keep-last", required_argument, opt_count, &a.pol.last),
	    OPTS_CALL(0, "keep-hourly", required_argument, opt_count, &a.pol.hourly),
	    OPTS_CALL(0, "keep-daily", required_argument, opt_count, &a.pol.daily),
	    OPTS_CALL(0, "keep-weekly", required_argument, opt_count, &a.pol.weekly),
	    OPTS_CALL(0, "keep-monthly", required_argument, opt_count, &a.pol.monthly),
	    OPTS_CALL(0, "keep-yearly", required_argument, opt_count, &a.pol.yearly),
	    OPTS_CALL(0, "keep-within", required_argument, opt_within, &a),
	    OPTS_CALL(0, "keep-tag", required_argument, opt_tag, &a),
	    OPTS_CALL(0, "group-by", required_argument, opt_group_by, &a.pol.by_host),
	    OPTS_FLAG(0, "prune", &a.prune),
	    OPTS_CALL(0, "max-unused", required_argument, cli_opt_max_unused, &a.max_unused),
	    OPTS_FLAG(0, "dry-run", &a.dry_run),
	    OPTS_DURATION(0, "valid-for", &a.valid_for, 0,
			  "--valid-for needs a duration like 7d, not '{arg}'"),
	    OPTS_FLAG(0, "json", &a.json),
	    OPTS_END};

	a.start_ns = cli_monotonic_ns();
	opts_init(&c, "forget");
	ret = opts_parse(
	    &c, argc, argv,
	    OPTS_COMMON(CLI_OPTS_SEALER, CLI_OPTS_STORE, CLI_OPTS_TRUST, CLI_OPTS_GENERAL),
	    options);
	if (ret)
		return ret;
	if (c.help)
		return opts_help(&c);
	/* STORE [SNAPSHOT...]: with several, the first is STORE unless a default store is set */
	url = opts_store_arg(&c, argc, argv, argc - optind >= 2 ? -1 : 0, "");
	if (!url)
		return EXIT_USAGE;
	a.pol.tagsets = a.tagsets;
	fo.ids = (const char *const *)argv + optind;
	fo.nids = (size_t)(argc - optind);
	if (fo.nids && policy_any(&a.pol))
		return opts_usage(&c, "give either SNAPSHOT ids or --keep-* rules, not both");
	if (!fo.nids && !policy_any(&a.pol))
		return opts_usage(&c,
				  "no --keep-* rule and no SNAPSHOT: nothing would be forgotten");
	fo.policy = &a.pol;
	fo.dry_run = a.dry_run;
	fo.valid_for_s = a.valid_for;
	ret = cli_open_store(&c, url, true, &s);
	if (ret != EXIT_OK)
		return ret;
	err = forget_run(s, &fo, &r);
	if (err == -ENOENT || err == -ENOTUNIQ) {
		cli_error("nothing forgotten in store %s (see above, and 'embassy snapshots')",
			  url);
		ret = EXIT_NOTFOUND;
		goto out;
	}
	if (err < 0) {
		cli_error("forget in store %s failed: %s", url, strerror(-err));
		ret = err == -EINVAL ? EXIT_USAGE : cli_exit_for(err);
		goto out;
	}
	if (!a.json && (!cli_quiet() || a.dry_run))
		print_table(&a, &r);
	if (a.prune)
		ret = run_prune(&c, s, &a, &pr, url);
	if (a.json && print_json(&a, &r, a.prune ? &pr : NULL) < 0)
		ret = EXIT_IO;
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
out:
	forget_result_clear(&r);
	prune_result_clear(&pr);
	store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_forget = {
    "forget", "remove snapshots by a retention policy or by id (sealer)", help, run};
