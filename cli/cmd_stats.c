/* stats: logical size, deduplicated size, stored size, packs. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hex.h"
#include "keylist.h"
#include "stats.h"

static const char help[] =
    "NAME\n"
    "  embassy stats - show a store's logical, deduplicated and stored sizes\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy stats STORE [SNAPSHOT] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  For every snapshot in the store's signed list, or for SNAPSHOT alone ('latest', an\n"
    "  id or a unique prefix of one), prints:\n"
    "\n"
    "      files, directories  as sealed, summed over the snapshots\n"
    "      logical size        the size of their files, each snapshot counted in full\n"
    "                          (what restoring all of them would write)\n"
    "      unique data         the distinct data records they use, as plaintext: the\n"
    "                          size after deduplication across files and snapshots\n"
    "      stored size         those records and the directory records as stored\n"
    "                          (compressed, encrypted)\n"
    "      deduplication       logical size / unique data\n"
    "      packs               the pack objects holding those records, and all pack\n"
    "                          objects in the store (the rest is for prune)\n"
    "\n"
    "  Only directory records are read (each distinct one once); file data is not.\n"
    "\n"
    "OPTIONS\n"
    "  --json     one JSON object: snapshots, snapshot (the id asked for, or null), files,\n"
    "             dirs, bytes (logical), trees, data_records, unique_bytes, stored_bytes,\n"
    "             tree_stored_bytes, packs, packs_total, dedup_ratio, elapsed_s\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy stats /srv/embassy\n"
    "  embassy stats /srv/embassy latest\n"
    "  embassy stats /srv/embassy --json | jq '.stored_bytes / .bytes'\n";

static double ratio(const struct stats_result *r)
{
	return r->unique_bytes ? (double)r->bytes / (double)r->unique_bytes : 0.0;
}

static void print_text(const struct stats_result *r, uint64_t packs_total)
{
	char b[32];

	printf("snapshots:        %llu\n", (unsigned long long)r->snapshots);
	printf("files:            %llu\n", (unsigned long long)r->files);
	printf("directories:      %llu\n", (unsigned long long)r->dirs);
	cli_format_size(r->bytes, b);
	printf("logical size:     %s (%llu bytes)\n", b, (unsigned long long)r->bytes);
	cli_format_size(r->unique_bytes, b);
	printf("unique data:      %s (%llu bytes) in %llu record(s)\n", b,
	       (unsigned long long)r->unique_bytes, (unsigned long long)r->data_records);
	cli_format_size(r->stored_bytes, b);
	printf("stored size:      %s (%llu bytes; %llu directory record(s))\n", b,
	       (unsigned long long)r->stored_bytes, (unsigned long long)r->trees);
	printf("deduplication:    %.2fx\n", ratio(r));
	printf("packs:            %llu used, %llu in the store\n", (unsigned long long)r->packs,
	       (unsigned long long)packs_total);
}

static int print_json(const struct stats_result *r, uint64_t packs_total, const char *snap,
		      double elapsed)
{
	json_t *o = json_object();

	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "snapshots", json_integer((json_int_t)r->snapshots));
	json_object_set_new(o, "snapshot", snap ? json_string(snap) : json_null());
	json_object_set_new(o, "files", json_integer((json_int_t)r->files));
	json_object_set_new(o, "dirs", json_integer((json_int_t)r->dirs));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "trees", json_integer((json_int_t)r->trees));
	json_object_set_new(o, "data_records", json_integer((json_int_t)r->data_records));
	json_object_set_new(o, "unique_bytes", json_integer((json_int_t)r->unique_bytes));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)r->stored_bytes));
	json_object_set_new(o, "tree_stored_bytes", json_integer((json_int_t)r->tree_stored_bytes));
	json_object_set_new(o, "packs", json_integer((json_int_t)r->packs));
	json_object_set_new(o, "packs_total", json_integer((json_int_t)packs_total));
	json_object_set_new(o, "dedup_ratio", json_real(ratio(r)));
	json_object_set_new(o, "elapsed_s", json_real(elapsed));
	return cli_print_json(o);
}

/* Pack objects in the store (a listing: no object is read). */
static int count_packs(struct store *s, uint64_t *n)
{
	struct keylist k = {0};
	int ret = remote_list(store_remote(s), "packs/", keylist_collect, &k);

	*n = k.n;
	keylist_free(&k);
	return ret < 0 ? ret : 0;
}

static int report(struct store *s, const char *url, const char *spec, bool json, int64_t start)
{
	struct snapshot *v = NULL, one = {0};
	struct stats_result r;
	size_t n = 0, bad = 0;
	uint64_t packs_total = 0;
	char id[2 * ID_LEN + 1];
	int err;

	if (spec) {
		if ((err = store_resolve_snapshot(s, spec, &one)) < 0)
			return cli_snapshot_error(url, spec, err);
		hex_encode(one.id, ID_LEN, id);
	} else if ((err = store_list_snapshots(s, &v, &n, &bad)) < 0) {
		cli_error("cannot list snapshots of store %s: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
	err = stats_run(s, spec ? &one : v, spec ? 1 : n, &r);
	if (!err)
		err = count_packs(s, &packs_total);
	if (!err && json)
		err = print_json(&r, packs_total, spec ? id : NULL, cli_elapsed_s(start));
	else if (!err)
		print_text(&r, packs_total);
	store_free_snapshots(v, n);
	snapshot_clear(&one);
	if (err < 0) {
		cli_error("stats of store %s stopped: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
	if (bad) {
		cli_error("%zu snapshot manifest(s) in store %s failed verification and are not "
			  "counted; run 'embassy verify'",
			  bad, url);
		return EXIT_INTEGRITY;
	}
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	int64_t start = cli_monotonic_ns();
	const char *url, *spec = NULL;
	bool json = false;
	int ret, have;
	const struct opts_spec options[] = {OPTS_FLAG(0, "json", &json), OPTS_END};

	opts_init(&c, "stats");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	/* STORE [SNAPSHOT]; with a configured store, a lone argument is the SNAPSHOT */
	have = argc - optind;
	url = opts_store_arg(&c, argc, argv, have == 2 || (have == 1 && c.store) ? 1 : 0, "");
	if (!url)
		return EXIT_USAGE;
	if (argc - optind > 1)
		return opts_usage(&c, "needs STORE and at most one SNAPSHOT");
	if (argc - optind == 1)
		spec = argv[optind];
	ret = cli_open_store(&c, url, false, &s);
	if (ret != EXIT_OK)
		return ret;
	ret = report(s, url, spec, json, start);
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
	store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_stats = {
    "stats", "show a store's logical, deduplicated and stored sizes", help, run};
