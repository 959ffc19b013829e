/* snapshots: list a store's snapshots, oldest first, the head's one marked. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hex.h"

static const char help[] =
    "NAME\n"
    "  embassy snapshots - list the snapshots in a store\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy snapshots STORE [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Lists every snapshot whose signed manifest verifies, oldest first: id (the first 12\n"
    "  hex digits; any unique prefix names a snapshot), time (UTC, ISO 8601), host, tags,\n"
    "  files and bytes. The snapshot the signed head pointer names is marked '*' (it is\n"
    "  what 'latest' means). Manifests that fail verification are not listed; they are\n"
    "  reported on standard error and the exit status is 7. A head pointer past its\n"
    "  validity is warned about: the host may be serving a frozen copy of the store.\n"
    "\n"
    "OPTIONS\n"
    "  --json   print a JSON array, one snapshot a line: id (full), seq, time (ISO 8601\n"
    "           UTC), time_ns, host, tags, files, dirs, bytes, parent (id or null), tree\n"
    "           (the root directory record's id), latest (docs/JSON.md)\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy snapshots /srv/embassy --key-file officer1.key\n"
    "  embassy snapshots /srv/embassy --json | jq -r '.[] | select(.latest) | .id'\n";

static json_t *snapshot_json(const struct snapshot *sn, bool latest)
{
	char id[2 * ID_LEN + 1], parent[2 * ID_LEN + 1], tree[2 * ID_LEN + 1], t[48];
	json_t *o, *tags = json_array();

	for (size_t i = 0; tags && i < sn->ntags; i++)
		json_array_append_new(tags, json_string(sn->tags[i]));
	hex_encode(sn->id, ID_LEN, id);
	hex_encode(sn->parent, ID_LEN, parent);
	hex_encode(sn->root.id, ID_LEN, tree);
	cli_format_time(sn->time_ns, false, t);
	o = json_pack("{s:s, s:I, s:s, s:I, s:s?, s:o?, s:I, s:I, s:I, s:s?, s:b}", "id", id, "seq",
		      (json_int_t)sn->seq, "time", t, "time_ns", (json_int_t)sn->time_ns, "host",
		      cli_utf8_ok(sn->host, strlen(sn->host)) ? sn->host : NULL, "tags", tags,
		      "files", (json_int_t)sn->files, "dirs", (json_int_t)sn->dirs, "bytes",
		      (json_int_t)sn->bytes, "parent", sn->has_parent ? parent : NULL, "latest",
		      latest);
	if (o)
		json_object_set_new(o, "tree", json_string(tree));
	return o;
}

static int print_json(const struct snapshot *v, size_t n, const struct head *h, bool has_head)
{
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool latest = has_head && memcmp(h->snapshot, v[i].id, ID_LEN) == 0;

		if (json_array_append_new(arr, snapshot_json(&v[i], latest)) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	return cli_print_json_list(arr);
}

static void print_tags(const struct snapshot *sn)
{
	if (!sn->ntags)
		fputs("-", stdout);
	for (size_t i = 0; i < sn->ntags; i++) {
		if (i)
			putchar(',');
		cli_print_name(stdout, sn->tags[i], strlen(sn->tags[i]));
	}
}

static void print_table(const struct snapshot *v, size_t n, const struct head *h, bool has_head)
{
	char id[2 * ID_LEN + 1], t[48], size[32];

	printf("  %-12s  %-20s  %-16s  %9s  %10s  %s\n", "ID", "TIME (UTC)", "HOST", "FILES",
	       "SIZE", "TAGS");
	for (size_t i = 0; i < n; i++) {
		bool latest = has_head && memcmp(h->snapshot, v[i].id, ID_LEN) == 0;

		hex_encode(v[i].id, ID_LEN, id);
		cli_format_time(v[i].time_ns, false, t);
		cli_format_size(v[i].bytes, size);
		printf("%c %.12s  %-20s  ", latest ? '*' : ' ', id, t);
		cli_print_name(stdout, v[i].host, strnlen(v[i].host, sizeof(v[i].host)));
		printf("%*s  %9llu  %10s  ",
		       (int)(16 - (strlen(v[i].host) < 16 ? strlen(v[i].host) : 16)), "",
		       (unsigned long long)v[i].files, size);
		print_tags(&v[i]);
		putchar('\n');
	}
	printf("%zu snapshot(s)%s\n", n, has_head ? "; * = latest (the signed head pointer)" : "");
}

/* The head names the latest snapshot; an expired head means the host may be freezing us. */
static int read_head(struct store *s, const char *url, struct head *h, bool *has_head)
{
	struct timespec now;
	char t[48];
	int err = store_read_head(s, h);

	*has_head = err == 0;
	if (err == -ENOENT)
		return EXIT_OK;
	if (err == -ESTALE || err == -EKEYEXPIRED) {
		cli_error("the head pointer of store %s is refused (see above)", url);
		return cli_exit_for(err);
	}
	if (err < 0) {
		cli_error("the head pointer of store %s does not verify: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (h->expires_ns < (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec) {
		cli_format_time(h->expires_ns, false, t);
		cli_warn("the head pointer of store %s expired at %s: the host may be serving a "
			 "stale copy; ask the sealers when they last sealed",
			 url, t);
	}
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	struct snapshot *v = NULL;
	struct head h;
	size_t n = 0, bad = 0;
	bool json = false, has_head;
	const char *url;
	int ret, err;
	const struct opts_spec options[] = {OPTS_FLAG(0, "json", &json), OPTS_END};

	opts_init(&c, "snapshots");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	ret = cli_open_store(&c, url, false, &s);
	if (ret != EXIT_OK)
		return ret;
	err = store_list_snapshots(s, &v, &n, &bad);
	if (err < 0) {
		cli_error("cannot list snapshots of store %s: %s", url, strerror(-err));
		ret = cli_exit_for(err);
		goto out;
	}
	ret = read_head(s, url, &h, &has_head);
	if (ret != EXIT_OK)
		goto out;
	if (json)
		ret = print_json(v, n, &h, has_head) < 0 ? EXIT_FAIL : EXIT_OK;
	else
		print_table(v, n, &h, has_head);
	if (bad) {
		cli_error("%zu snapshot manifest(s) in store %s failed verification and are not "
			  "listed; run 'embassy verify'",
			  bad, url);
		ret = EXIT_INTEGRITY;
	}
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
out:
	store_free_snapshots(v, n);
	store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_snapshots = {"snapshots", "list the snapshots in a store", help, run};
