/* prune: delete the data no live snapshot uses. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "prune.h"

static const char help[] =
    "NAME\n"
    "  embassy prune - delete the data no live snapshot uses (sealer)\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy prune STORE --sealer-key FILE [--max-unused PERCENT] [--grace DURATION]\n"
    "                [--dry-run] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Walks every snapshot in the store's signed list, then deletes the packs none of them\n"
    "  uses (with their index objects): what forgotten snapshots and interrupted seals left\n"
    "  behind. Also removes manifests outside the list (forgotten, or left by an interrupted\n"
    "  seal) older than the grace period, old generations of the list and expired markers.\n"
    "\n"
    "  Safe beside seals: a seal at work marks itself in the store, and prune first only\n"
    "  condemns (in a signed generation of the list) the packs a running seal might still\n"
    "  refer to; a later prune deletes them. A seal that does refer to one takes it back\n"
    "  when it publishes. Safe to interrupt: every step leaves a store that verifies clean,\n"
    "  and the next prune finishes what an interrupted one decided. A snapshot that was\n"
    "  forgotten while mounted reads as I/O errors once its data is pruned, never as other\n"
    "  data.\n"
    "\n"
    "  Nothing is deleted while a live snapshot cannot be read in full (run 'verify').\n"
    "\n"
    "OPTIONS\n"
    "  --max-unused PERCENT  repack every pack in use whose unused share is above PERCENT\n"
    "                        (default 10%): its live records are copied, as they are\n"
    "                        (no decryption), into new packs, their new places are\n"
    "                        published in a signed relocation table, and the old pack is\n"
    "                        then deleted like an unused one. Per pack, unlike restic's\n"
    "                        store-wide 5%: a repack moves at most 9 bytes over the link\n"
    "                        for each byte it frees. 0 repacks any pack with a hole;\n"
    "                        100 never repacks\n"
    "  --grace DURATION      keep manifests outside the list younger than this (default 1h;\n"
    "                        a seal's own manifest is younger while it publishes)\n"
    "  --dry-run             report what would be deleted; change nothing\n"
    "  --valid-for DURATION  expiry of the re-signed head pointer (default 7d)\n"
    "  --json                print the figures as one JSON object: snapshots, packs_total,\n"
    "                        bytes_total, packs_used, bytes_used, packs_deleted,\n"
    "                        bytes_deleted, packs_deferred, bytes_deferred, packs_repacked,\n"
    "                        bytes_repacked, indexes_deleted, manifests_deleted,\n"
    "                        lists_deleted, markers_deleted, writers, generation_start,\n"
    "                        generation (the last one published), bytes_partly_unused,\n"
    "                        dry_run, elapsed_s\n"
    "\n" CLI_HELP_SEALER "\n" CLI_HELP_STORE "\n" CLI_HELP_TRUST "\n" CLI_HELP_GENERAL
    "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy prune /srv/embassy --sealer-key sealer.key\n"
    "  embassy forget /srv/embassy --sealer-key sealer.key --keep-daily 30 --prune\n";

struct bar_ctx {
	struct progress *bar;
	const char *phase;
};

static void on_progress(void *ctx, const struct prune_progress *pp)
{
	struct bar_ctx *b = ctx;
	if (b->bar && pp->total)
		progress_update(b->bar, pp->done, pp->total);
}

static void print_text(const struct prune_result *r, const struct prune_opts *po)
{
	char tot[32], used[32], del[32], def[32], part[32];
	bool dry = po->dry_run;
	cli_format_size(r->bytes_total, tot);
	cli_format_size(r->bytes_used, used);
	cli_format_size(r->bytes_deleted, del);
	cli_format_size(r->bytes_deferred, def);
	cli_format_size(r->bytes_partly_unused, part);
	printf("snapshot list generation %llu: %llu snapshot(s) use %s in %llu of %llu pack(s) "
	       "(%s)\n",
	       (unsigned long long)r->gen_start, (unsigned long long)r->snapshots, used,
	       (unsigned long long)r->packs_used, (unsigned long long)r->packs_total, tot);
	printf("%s %llu pack(s), %s", dry ? "would delete" : "deleted",
	       (unsigned long long)r->packs_deleted, del);
	if (!dry)
		printf(" (and %llu index object(s), %llu manifest(s), %llu list generation(s))",
		       (unsigned long long)r->indexes_deleted,
		       (unsigned long long)r->manifests_deleted,
		       (unsigned long long)r->lists_deleted);
	putchar('\n');
	if (r->packs_repacked) {
		char rep[32];
		cli_format_size(r->bytes_repacked, rep);
		printf("%s %llu pack(s) more than %.1f%% unused: %s of live records %s\n",
		       dry ? "would repack" : "repacked", (unsigned long long)r->packs_repacked,
		       po->max_unused, rep, dry ? "to copy" : "copied into new packs");
	}
	if (r->bytes_partly_unused)
		printf("%s (%.1f%%) was unused inside packs still in use%s\n", part,
		       100.0 * (double)r->bytes_partly_unused / (double)r->bytes_total,
		       r->packs_repacked && !dry ? " before the repack" : "");
	if (r->packs_deferred)
		printf("%llu unused pack(s), %s, left for a later prune: %llu seal(s) at work may "
		       "still use them\n",
		       (unsigned long long)r->packs_deferred, def, (unsigned long long)r->writers);
}

int cli_prune(const struct cli_ctx *c, struct store *s, struct prune_opts *po,
	      struct prune_result *r, const char *url, bool text)
{
	struct bar_ctx b = {.bar = text ? progress_new("prune", false) : NULL};
	int err;
	(void)c;
	po->progress = on_progress;
	po->progress_ctx = &b;
	err = prune_run(s, po, r);
	progress_free(b.bar);
	if (err == -ENOENT) {
		cli_error("store %s has no snapshot yet: nothing to prune", url);
		return EXIT_NOTFOUND;
	}
	if (err < 0) {
		cli_error("prune of store %s stopped: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
	if (text)
		print_text(r, po);
	return EXIT_OK;
}

int cli_opt_max_unused(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	if (prune_parse_percent(arg, o->target) < 0)
		return opts_usage(c, "--max-unused needs a percentage 0..100, not '%s'", arg);
	return 0;
}

static int run(int argc, char **argv)
{
	struct prune_opts po = {.max_unused = PRUNE_DEFAULT_MAX_UNUSED};
	struct prune_result r;
	struct cli_ctx c;
	struct store *s = NULL;
	const char *url;
	int64_t start = cli_monotonic_ns();
	bool json = false;
	int ret;
	const struct opts_spec options[] = {
	    OPTS_CALL(0, "max-unused", required_argument, cli_opt_max_unused, &po.max_unused),
	    OPTS_FLAG(0, "dry-run", &po.dry_run),
	    OPTS_DURATION(0, "grace", &po.grace_s, 0,
			  "--grace needs a duration like 1h, not '{arg}'"),
	    OPTS_DURATION(0, "valid-for", &po.valid_for_s, 0,
			  "--valid-for needs a duration like 7d, not '{arg}'"),
	    OPTS_FLAG(0, "json", &json),
	    OPTS_END};

	opts_init(&c, "prune");
	ret = opts_parse(
	    &c, argc, argv,
	    OPTS_COMMON(CLI_OPTS_SEALER, CLI_OPTS_STORE, CLI_OPTS_TRUST, CLI_OPTS_GENERAL),
	    options);
	if (ret)
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	ret = cli_open_store(&c, url, true, &s);
	if (ret != EXIT_OK)
		return ret;
	ret = cli_prune(&c, s, &po, &r, url, !json && (!cli_quiet() || po.dry_run));
	if (ret == EXIT_OK && json) {
		json_t *o = prune_result_json(&r);
		if (o)
			json_object_set_new(o, "elapsed_s", json_real(cli_elapsed_s(start)));
		if (cli_print_json(o) < 0)
			ret = EXIT_IO;
	}
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
	store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_prune = {"prune", "delete the data no live snapshot uses (sealer)",
				      help, run};
