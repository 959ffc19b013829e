/* restore: write a snapshot, a subtree or one file of it into a target directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "hex.h"
#include "pathmatch.h"
#include "restore.h"

struct restore_watch {
	struct progress *bar;
	uint64_t files_total;
};

static const char help[] =
    "NAME\n"
    "  embassy restore - restore a snapshot (or part of it) into a directory\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy restore STORE SNAPSHOT[:PATH] TARGET [--include PATTERN]...\n"
    "                  [--exclude PATTERN]... [--include-file FILE]...\n"
    "                  [--exclude-file FILE]... [--overwrite] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Writes the contents of SNAPSHOT (or of its directory PATH) into TARGET, or, when\n"
    "  PATH is a file, symlink or other entry, that entry into TARGET under its name.\n"
    "  Reproduced: contents (holes kept), directories, symlinks (targets verbatim), hard\n"
    "  links (as links), modes, mtimes (ns), user xattrs, and, when run as root, owners,\n"
    "  FIFOs and device nodes.\n"
    "\n"
    "  Every record is verified before it is written. A damaged or missing record fails\n"
    "  that file alone: it is named on standard error, the rest is restored, and the exit\n"
    "  status is non-zero. Restore never follows a symlink out of TARGET; a snapshot with\n"
    "  hostile names is refused.\n"
    "\n"
    "  TARGET is created if missing. A non-empty TARGET is refused (nothing is written)\n"
    "  unless --overwrite is given.\n"
    "\n"
    "OPTIONS\n"
    "  --include PATTERN  restore only what PATTERN matches (a matched directory with all\n"
    "                     it holds), and the directories on the way to it; repeatable\n"
    "  --exclude PATTERN  leave out what PATTERN matches (a directory with all it holds);\n"
    "                     repeatable; wins over --include\n"
    "  --include-file FILE\n"
    "                     --include patterns from FILE, one a line ('#' comments and blank\n"
    "                     lines ignored); repeatable\n"
    "  --exclude-file FILE\n"
    "                     --exclude patterns from FILE, the same way; repeatable\n"
    "  --overwrite        restore into a non-empty TARGET, replacing entries of the same\n"
    "                     names\n"
    "  --json             print {\"type\":\"progress\"} lines while restoring (about once\n"
    "                     a second), then one {\"type\":\"summary\"} line (docs/JSON.md)\n"
    "\n"
    "  Patterns are matched against paths inside the snapshot (from its root, also when\n"
    "  restoring a PATH of it), as 'seal --exclude' matches them: without a '/' a name at\n"
    "  any depth ('*.db', 'logs'); with one, anchored at the root ('land/*.db'); '**'\n"
    "  matches any number of directories; '*', '?', '[...]' match within one name.\n"
    "\n"
    "  On a terminal, standard error shows progress: bytes and files written of the\n"
    "  total, the rate and the time left.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy restore /srv/embassy latest /var/lib/registers --key-file officer1.key\n"
    "  embassy restore /srv/embassy 3fa9c2:land/cadastre.db /tmp/r\n";

static void on_progress(void *ctx, const struct restore_progress *p)
{
	const struct restore_watch *w = ctx;
	struct progress_counts c = {.done = p->bytes,
				    .total = p->bytes_total,
				    .items_done = p->files,
				    .items_total = w->files_total,
				    .items_label = w->files_total ? "files" : NULL};

	progress_show(w->bar, &c);
}

static int print_summary(const struct snapshot *sn, const char *path, const char *target,
			 const struct restore_result *r, int64_t start_ns, struct store *s)
{
	char id[2 * ID_LEN + 1];
	json_t *o, *mirrors;

	hex_encode(sn->id, ID_LEN, id);
	o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
		      "type", "summary", "ok", r->errors == 0, "snapshot", id, "path", path,
		      "target", target, "files", (json_int_t)r->files, "dirs", (json_int_t)r->dirs,
		      "symlinks", (json_int_t)r->symlinks, "others", (json_int_t)r->others, "bytes",
		      (json_int_t)r->bytes, "errors", (json_int_t)r->errors, "damaged",
		      (json_int_t)r->damaged, "elapsed_s", cli_elapsed_s(start_ns), "skipped",
		      (json_int_t)r->skipped);
	if (o && (mirrors = cli_mirrors_json(store_remote(s))))
		json_object_set_new(o, "mirrors", mirrors); /* several embassies */
	return cli_print_json(o);
}

static int restore_error(const char *spec, const char *target, const struct restore_result *res,
			 int err)
{
	switch (err) {
	case -ENOTEMPTY:
	case -EEXIST:
		cli_error("target %s is not empty; nothing was written (use --overwrite to "
			  "restore into it anyway)",
			  target);
		return EXIT_FAIL;
	case -EIO:
		if (res->nospace) {
			cli_error(
			    "restore of %s into %s is incomplete: %llu entr%s failed, the "
			    "target is out of space (named above); free space and run it again "
			    "with --overwrite",
			    spec, target, (unsigned long long)res->errors,
			    res->errors == 1 ? "y" : "ies");
			return EXIT_IO;
		}
		if (res->errors) {
			cli_error("restore of %s into %s is incomplete: %llu entr%s failed (named "
				  "above); run 'embassy verify --read-data'",
				  spec, target, (unsigned long long)res->errors,
				  res->errors == 1 ? "y" : "ies");
			return EXIT_FAIL;
		}
		break;
	case -ENOENT:
		cli_error("cannot restore %s: not found in the snapshot, or target %s's parent "
			  "is missing",
			  spec, target);
		return EXIT_NOTFOUND;
	case -EBADMSG:
		if (res->errors) {
			cli_error("restore of %s into %s is incomplete: %llu entr%s could not be "
				  "restored, store data is tampered or missing (named above); run "
				  "'embassy verify --read-data'",
				  spec, target, (unsigned long long)res->errors,
				  res->errors == 1 ? "y" : "ies");
			return EXIT_INTEGRITY;
		}
		cli_error("cannot restore %s: data failed authentication (tampered or damaged); "
			  "run 'embassy verify --read-data'",
			  spec);
		return EXIT_INTEGRITY;
	}
	cli_error("cannot restore %s into %s: %s", spec, target, strerror(-err));
	return cli_exit_for(err);
}

/* --include/--exclude PATTERN (or the patterns of --include-file/--exclude-file FILE) into
 * the pattern set o->target (made at the first one). */
static int opt_pattern(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	const struct pathmatch **pm = o->target;
	struct pathmatch *m = (struct pathmatch *)*pm;
	bool file = strstr(o->name, "-file") != NULL;
	int r;

	if (!m && !(m = pathmatch_new()))
		return EXIT_FAIL;
	*pm = m;
	r = file ? pathmatch_add_file(m, arg) : pathmatch_add(m, arg);
	if (r == -ENOMEM)
		return EXIT_FAIL;
	if (r < 0 && file)
		return opts_usage(c, "--%s %s: %s", o->name, arg, strerror(-r));
	if (r < 0)
		return opts_usage(c, "--%s needs a pattern", o->name);
	return EXIT_OK;
}

static int restore_cmd(int argc, char **argv, struct restore_opts *ro)
{
	struct cli_ctx c;
	struct store *s = NULL;
	struct snapshot sn = {0};
	struct tree *dir = NULL;
	const struct tree_entry *ent = NULL;
	struct restore_result res = {0};
	const char *url, *path, *spec, *target;
	struct restore_watch w = {0};
	int64_t start = cli_monotonic_ns();
	bool json = false;
	int ret, err;
	const struct opts_spec options[] = {
	    OPTS_FLAG(0, "overwrite", &ro->overwrite),
	    OPTS_CALL(0, "include", required_argument, opt_pattern, &ro->include),
	    OPTS_CALL(0, "exclude", required_argument, opt_pattern, &ro->exclude),
	    OPTS_CALL(0, "include-file", required_argument, opt_pattern, &ro->include),
	    OPTS_CALL(0, "exclude-file", required_argument, opt_pattern, &ro->exclude),
	    OPTS_FLAG(0, "json", &json),
	    OPTS_END};

	opts_init(&c, "restore");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	url = opts_store_arg(&c, argc, argv, 2, "SNAPSHOT[:PATH] and TARGET");
	if (!url)
		return EXIT_USAGE;
	spec = argv[optind];
	target = argv[optind + 1];
	ret = cli_open_store(&c, url, false, &s);
	if (ret != EXIT_OK)
		return ret;
	/* resolve first: "not found" deserves its own message and exit code */
	ret = cli_resolve(s, url, spec, &sn, &path, &dir, &ent);
	if (ret != EXIT_OK)
		goto out;
	w.bar = progress_start("restore", "bytes", json);
	w.files_total = ent ? (ent->type == ENT_DIR ? 0 : 1) : sn.files;
	ro->progress_ctx = &w;
	ro->progress = w.bar ? on_progress : NULL;
	err = restore_run(s, &sn, path, target, ro, &res);
	progress_free(w.bar);
	if (json && (err == 0 || res.errors) &&
	    print_summary(&sn, path, target, &res, start, s) < 0)
		err = err ? err : -EIO;
	ret = err < 0 ? restore_error(spec, target, &res, err) : EXIT_OK;
	snapshot_clear(&sn);
out:
	tree_free(dir);
	store_close(s);
	return ret;
}

static int run(int argc, char **argv)
{
	struct restore_opts ro = {0};
	int ret = restore_cmd(argc, argv, &ro);

	pathmatch_free((struct pathmatch *)ro.include);
	pathmatch_free((struct pathmatch *)ro.exclude);
	return ret;
}

const struct cli_cmd cli_cmd_restore = {
    "restore", "restore a snapshot (or part of it) into a directory", help, run};
