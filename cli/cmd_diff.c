/* diff: what changed between two snapshots. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff.h"
#include "hex.h"

static const char help[] =
    "NAME\n"
    "  embassy diff - show what changed between two snapshots\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy diff STORE SNAPSHOT1 SNAPSHOT2 [PATH] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Lists every entry that differs between SNAPSHOT1 (before) and SNAPSHOT2 (after),\n"
    "  in path order, one a line, after a code:\n"
    "\n"
    "      +  added (in SNAPSHOT2 only; everything in an added directory is listed)\n"
    "      -  removed (in SNAPSHOT1 only)\n"
    "      M  modified contents: file data, symlink target or device number (and maybe\n"
    "         metadata as well)\n"
    "      U  metadata only: mode, owner, group, mtime or extended attributes\n"
    "      T  another type of entry under the same name (a file became a directory)\n"
    "\n"
    "  Directories are printed with a trailing '/'. A summary follows: how many entries\n"
    "  of each kind, the bytes of files added and removed, and the net change of the\n"
    "  files' total size. Files are compared by their stored records, without reading\n"
    "  any file data; directories whose stored listing is identical are skipped whole,\n"
    "  without being read, so a diff of two nightly snapshots costs a read of the\n"
    "  directories on the paths to what changed. With PATH, only that part of both\n"
    "  snapshots is compared (it may be missing in one of them). SNAPSHOT is 'latest',\n"
    "  a full id or a unique prefix of one. Names are printed like 'ls -b'.\n"
    "\n"
    "OPTIONS\n"
    "  --json     one JSON object a line per change: type \"change\", change (added,\n"
    "             removed, modified, metadata, type), path, old and new (the entry before\n"
    "             and after, null when absent: type, size, mode, uid, gid, mtime,\n"
    "             mtime_ns), metadata (the names of what differs: mode, uid, gid, mtime,\n"
    "             xattrs); then one summary line (see docs/JSON.md)\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy diff /srv/embassy 3fa9c2 latest\n"
    "  embassy diff /srv/embassy 3fa9c2 latest land/cadastre\n"
    "  embassy diff /srv/embassy 3fa9c2 latest --json | jq -r 'select(.change == \"removed\")"
    " | .path'\n";

struct out {
	bool json;
	int err; /* a write to stdout failed */
};

static const char code[] = "?+-MUT";

static json_t *side_json(const struct tree_entry *e)
{
	json_t *o;
	char t[48];

	if (!e)
		return json_null();
	if (!(o = json_object()))
		return NULL;
	cli_format_time(e->mtime_ns, true, t);
	json_object_set_new(o, "type", json_string(cli_entry_type(e->type)));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "mode", json_integer(e->mode));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "gid", json_integer(e->gid));
	json_object_set_new(o, "mtime", json_string(t));
	json_object_set_new(o, "mtime_ns", json_integer(e->mtime_ns));
	return o;
}

static json_t *change_json(const struct diff_item *it)
{
	static const char *const changes[] = {"?",	  "added",    "removed",
					      "modified", "metadata", "type"};
	static const char *const metas[] = {"mode", "uid", "gid", "mtime", "xattrs"};
	json_t *o = json_object(), *m = json_array();

	if (!o || !m) {
		json_decref(o);
		json_decref(m);
		return NULL;
	}
	json_object_set_new(o, "type", json_string("change"));
	json_object_set_new(o, "change", json_string(changes[it->change]));
	cli_json_set_name(o, "path", it->path, it->pathlen);
	json_object_set_new(o, "old", side_json(it->old));
	json_object_set_new(o, "new", side_json(it->new));
	for (unsigned i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
		if (it->meta & (1u << i))
			json_array_append_new(m, json_string(metas[i]));
	json_object_set_new(o, "metadata", m);
	return o;
}

static int on_change(void *ctx, const struct diff_item *it)
{
	struct out *o = ctx;
	const struct tree_entry *e = it->new ? it->new : it->old;

	if (o->json)
		return cli_print_json(change_json(it));
	printf("%c  ", code[it->change]);
	if (it->pathlen)
		cli_print_name(stdout, it->path, it->pathlen);
	else
		putchar('.');
	if (e->type == ENT_DIR)
		putchar('/');
	return putchar('\n') == EOF ? -EIO : 0;
}

static void print_summary(const struct diff_stats *st)
{
	char add[32], rem[32], net[32];
	uint64_t mag = st->bytes_delta < 0 ? (uint64_t)-st->bytes_delta : (uint64_t)st->bytes_delta;

	cli_format_size(st->bytes_added, add);
	cli_format_size(st->bytes_removed, rem);
	cli_format_size(mag, net);
	printf("%llu added, %llu removed, %llu modified, %llu metadata only, %llu type changed\n",
	       (unsigned long long)st->added, (unsigned long long)st->removed,
	       (unsigned long long)st->modified, (unsigned long long)st->metadata,
	       (unsigned long long)st->type_changed);
	printf("files: %s added, %s removed, net %c%s\n", add, rem, st->bytes_delta < 0 ? '-' : '+',
	       net);
}

static int print_json_summary(const struct diff_stats *st, const struct snapshot *a,
			      const struct snapshot *b, const char *path, double elapsed)
{
	char ha[2 * ID_LEN + 1], hb[2 * ID_LEN + 1];
	json_t *o = json_object();

	if (!o)
		return -ENOMEM;
	hex_encode(a->id, ID_LEN, ha);
	hex_encode(b->id, ID_LEN, hb);
	json_object_set_new(o, "type", json_string("summary"));
	json_object_set_new(o, "from", json_string(ha));
	json_object_set_new(o, "to", json_string(hb));
	cli_json_set_name(o, "path", path, strlen(path));
	json_object_set_new(o, "added", json_integer((json_int_t)st->added));
	json_object_set_new(o, "removed", json_integer((json_int_t)st->removed));
	json_object_set_new(o, "modified", json_integer((json_int_t)st->modified));
	json_object_set_new(o, "metadata", json_integer((json_int_t)st->metadata));
	json_object_set_new(o, "type_changed", json_integer((json_int_t)st->type_changed));
	json_object_set_new(o, "bytes_added", json_integer((json_int_t)st->bytes_added));
	json_object_set_new(o, "bytes_removed", json_integer((json_int_t)st->bytes_removed));
	json_object_set_new(o, "bytes_delta", json_integer((json_int_t)st->bytes_delta));
	json_object_set_new(o, "trees_read", json_integer((json_int_t)st->trees_read));
	json_object_set_new(o, "trees_skipped", json_integer((json_int_t)st->trees_skipped));
	json_object_set_new(o, "elapsed_s", json_real(elapsed));
	return cli_print_json(o);
}

/* The entry at path in sn: *ent (NULL when absent), *dir holds it. */
static int lookup(struct store *s, const char *url, const char *spec, struct snapshot *sn,
		  const char *path, struct tree **dir, struct tree_entry *root,
		  const struct tree_entry **ent)
{
	int err = store_resolve_snapshot(s, spec, sn);

	*dir = NULL;
	*ent = NULL;
	if (err < 0)
		return cli_snapshot_error(url, spec, err);
	if (!*path) {
		diff_root_entry(sn, root);
		*ent = root;
		return EXIT_OK;
	}
	err = store_lookup(s, sn, path, dir, ent);
	if (err == -ENOENT || err == -ENOTDIR)
		return EXIT_OK; /* absent here: all added or removed */
	if (err < 0) {
		cli_error("cannot read snapshot '%s' of store %s: %s", spec, url, strerror(-err));
		return cli_exit_for(err);
	}
	return EXIT_OK;
}

/* Root entries: compare the roots' own metadata only when both manifests carry it. */
static void even_roots(const struct snapshot *a, const struct snapshot *b, struct tree_entry *ra,
		       struct tree_entry *rb)
{
	if (a->has_root_meta && b->has_root_meta)
		return;
	rb->mode = ra->mode;
	rb->uid = ra->uid;
	rb->gid = ra->gid;
	rb->mtime_ns = ra->mtime_ns;
	rb->xattrs = ra->xattrs;
	rb->nxattrs = ra->nxattrs;
}

static int compare(struct store *s, const char *url, char **spec, const char *path, bool json,
		   int64_t start)
{
	struct snapshot a = {0}, b = {0};
	struct tree *da = NULL, *db = NULL;
	struct tree_entry ra, rb;
	const struct tree_entry *ea, *eb;
	struct diff_stats st;
	struct out o = {.json = json};
	int err, ret = lookup(s, url, spec[0], &a, path, &da, &ra, &ea);

	if (ret == EXIT_OK)
		ret = lookup(s, url, spec[1], &b, path, &db, &rb, &eb);
	if (ret != EXIT_OK)
		goto out;
	if (!ea && !eb) {
		cli_error("'%s' is in neither snapshot", path);
		ret = EXIT_NOTFOUND;
		goto out;
	}
	if (!*path)
		even_roots(&a, &b, &ra, &rb);
	err = diff_entries(s, ea, eb, path, on_change, &o, &st);
	if (!err && json)
		err = print_json_summary(&st, &a, &b, path, cli_elapsed_s(start));
	else if (!err && !cli_quiet())
		print_summary(&st);
	if (err < 0) {
		cli_error("diff of store %s stopped: %s", url, strerror(-err));
		ret = err == -ENAMETOOLONG ? EXIT_INTEGRITY : cli_exit_for(err);
	}
out:
	tree_free(da);
	tree_free(db);
	snapshot_clear(&a);
	snapshot_clear(&b);
	return ret;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	int64_t start = cli_monotonic_ns();
	const char *url, *path = "";
	char *rel;
	bool json = false;
	int ret;
	const struct opts_spec options[] = {OPTS_FLAG(0, "json", &json), OPTS_END};

	opts_init(&c, "diff");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_store_arg(&c, argc, argv, -2, "SNAPSHOT1 SNAPSHOT2 [PATH]")))
		return EXIT_USAGE;
	if (argc - optind != 2 && argc - optind != 3)
		return opts_usage(&c, "needs STORE SNAPSHOT1 SNAPSHOT2 [PATH]");
	if (argc - optind == 3)
		path = argv[optind + 2];
	while (*path == '/') /* relative to the snapshot root however it is written */
		path++;
	if (!(rel = strdup(path)))
		return EXIT_FAIL;
	for (size_t n = strlen(rel); n && rel[n - 1] == '/'; n--)
		rel[n - 1] = '\0';
	ret = cli_open_store(&c, url, false, &s);
	if (ret == EXIT_OK)
		ret = compare(s, url, argv + optind, rel, json, start);
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
	store_close(s);
	free(rel);
	return ret;
}

const struct cli_cmd cli_cmd_diff = {"diff", "show what changed between two snapshots", help, run};
