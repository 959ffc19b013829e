/* seal: write one snapshot of the given paths into the store. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hex.h"
#include "pathmatch.h"
#include "seal.h"

#define MAX_TAGS    64
#define ZLEVEL_MAX  19
#define THREADS_MAX 256
#define MAX_PATHS   4096

static const char help[] =
    "NAME\n"
    "  embassy seal - write a signed, encrypted, deduplicated snapshot of PATHs into a store\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy seal STORE PATH... --sealer-key FILE [--tag TAG]... [--host NAME]\n"
    "               [--exclude PATTERN]... [--exclude-file FILE]... [--one-file-system]\n"
    "               [--valid-for DURATION] [--dry-run] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Reads the PATHs, splits files into content-defined chunks, uploads only chunks the\n"
    "  store does not hold yet (compressed, encrypted), then publishes a signed snapshot\n"
    "  manifest and moves the store's signed head pointer to it. Prints the snapshot id.\n"
    "\n"
    "  With one directory PATH the snapshot's root holds that directory's contents (as\n"
    "  'tar -C PATH .' would). With several PATHs, or a PATH that is not a directory, each\n"
    "  appears at the root under its base name; base names must differ.\n"
    "\n"
    "  Kept: regular and sparse files, directories, symlinks, hard links, FIFOs and device\n"
    "  nodes, mode, owner, mtime (ns), user xattrs. Sockets are skipped with a warning.\n"
    "  An unreadable file, or one that keeps changing while it is read, is a warning: the\n"
    "  seal goes on and exits with 3.\n"
    "\n"
    "  A seal only adds objects and moves the head last, so an interrupted seal (Ctrl-C,\n"
    "  kill, power loss) leaves the store valid; the next seal reuses what was uploaded.\n"
    "  Two seals into one store at the same time both publish: each adds its snapshot to\n"
    "  a new generation of the signed snapshot list, written create-only; the one that\n"
    "  loses that race builds again on the winner's list (its snapshot becomes the latest,\n"
    "  the winner's its parent). Exit 9 only when other writers kept winning.\n"
    "\n"
    "  With a profile, PATH may be left out too: the profile's 'path' lines are sealed.\n"
    "\n"
    "  With --dry-run nothing is written to the store: the PATHs are read and chunked and\n"
    "  every chunk identified against the store's index as a seal would, and the command\n"
    "  prints what that seal would do (files, directories, bytes read, chunks and bytes\n"
    "  that would be uploaded and those already present) instead of a snapshot id.\n"
    "\n"
    "OPTIONS\n"
    "  --tag TAG              label the snapshot; repeatable\n"
    "  --host NAME            host name recorded in the snapshot (default: this host's)\n"
    "  --valid-for DURATION   how long readers accept this head pointer as fresh before\n"
    "                         warning of a frozen store: 45s, 30m, 12h, 7d, 2w or seconds\n"
    "                         (default 7d). Seal again before it runs out.\n"
    "  --compression-level N  zstd level 1..19 (default 1)\n"
    "  --threads N            worker threads (default: number of CPUs)\n"
    "  --force-read           read every file; by default a file is not read again when\n"
    "                         the latest snapshot was sealed from the same paths on this\n"
    "                         host, the file's size, mtime (to the nanosecond) and mode\n"
    "                         match it there, its ctime is older than that seal's start,\n"
    "                         and its records are all in the store\n"
    "  --exclude PATTERN      leave out what PATTERN matches below the PATHs; repeatable.\n"
    "                         Matched against the path inside the snapshot (relative to\n"
    "                         its root, '/'-separated). Without a '/', PATTERN matches a\n"
    "                         name at any depth ('*.tmp', 'cache'); with one it is anchored\n"
    "                         at the root ('var/log', '/data/*.csv'); '**' matches any\n"
    "                         number of directories; '*', '?', '[...]' match within one\n"
    "                         name. An excluded directory is left out with all it holds.\n"
    "                         A PATH named on the command line is always sealed.\n"
    "  --exclude-file FILE    --exclude patterns from FILE, one a line ('#' comments and\n"
    "                         blank lines ignored); repeatable\n"
    "  --one-file-system      do not descend into directories on another file system than\n"
    "                         their PATH (mount points are kept, empty, as tar and rsync -x\n"
    "                         keep them)\n"
    "  --dry-run              read, chunk and identify everything as a seal would, upload\n"
    "                         nothing and publish no snapshot; print what the seal would\n"
    "                         do. It takes no lock a prune or a seal would wait for, and\n"
    "                         needs only a key that can read the store: --sealer-key, or\n"
    "                         a reader's --passphrase-file, --passphrase-command,\n"
    "                         --key-file or --share-file (see 'embassy ls --help'), or\n"
    "                         the agent. The figures are those\n"
    "                         of a seal run now; files changing meanwhile change them.\n"
    "  --json                 print {\"type\":\"progress\"} lines while sealing (about once\n"
    "                         a second), then one {\"type\":\"summary\"} line: the snapshot\n"
    "                         id and all figures (docs/JSON.md)\n"
    "\n"
    "  On a terminal, standard error shows progress: bytes and files read of the total\n"
    "  (counted alongside), the rate and the time left.\n"
    "\n" CLI_HELP_SEALER "\n" CLI_HELP_STORE "\n" CLI_HELP_TRUST "\n" CLI_HELP_GENERAL
    "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy seal /srv/embassy /var/lib/registers --sealer-key ~/sealer.key --tag daily\n"
    "  embassy seal s3://embassy/regs pop.db cadastre/ --sealer-key sealer.key \\\n"
    "      --valid-for 12h --json\n";

struct seal_args {
	const char *tags[MAX_TAGS];
	size_t ntags;
	const char *host;
	int64_t valid_for_s;
	int zlevel, threads;
	bool json;
	bool force_read;
	bool one_fs;
	bool dry_run;
	struct pathmatch *exclude; /* NULL until the first --exclude or --exclude-file */
};

/* --exclude PATTERN, --exclude-file FILE */
static int opt_exclude(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct seal_args *a = o->target;
	bool file = strcmp(o->name, "exclude-file") == 0;
	int r;

	if (!a->exclude && !(a->exclude = pathmatch_new()))
		return EXIT_FAIL;
	r = file ? pathmatch_add_file(a->exclude, arg) : pathmatch_add(a->exclude, arg);
	if (r == -EINVAL && !file)
		return opts_usage(c, "--exclude needs a pattern");
	if (r < 0)
		return file ? opts_usage(c, "--exclude-file %s: %s", arg, strerror(-r)) : EXIT_FAIL;
	return EXIT_OK;
}

static int opt_tag(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct seal_args *a = o->target;

	if (a->ntags == MAX_TAGS)
		return opts_usage(c, "at most %d --tag", MAX_TAGS);
	if (!*arg || !cli_utf8_ok(arg, strlen(arg)))
		return opts_usage(c, "--tag needs printable UTF-8 text");
	a->tags[a->ntags++] = arg;
	return EXIT_OK;
}

static int opt_host(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	if (!*arg || strlen(arg) >= sizeof(((struct snapshot *)0)->host) ||
	    !cli_utf8_ok(arg, strlen(arg)))
		return opts_usage(c, "--host needs a printable name of 1..255 bytes");
	*(const char **)o->target = arg;
	return EXIT_OK;
}

static int parse(struct cli_ctx *c, struct seal_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_CALL(0, "tag", required_argument, opt_tag, a),
	    OPTS_CALL(0, "host", required_argument, opt_host, &a->host),
	    OPTS_DURATION(0, "valid-for", &a->valid_for_s, 0,
			  "--valid-for needs a duration like 12h or 7d, not '{arg}'"),
	    OPTS_INT(0, "compression-level", &a->zlevel, 1, ZLEVEL_MAX,
		     "--compression-level needs 1..{max}"),
	    OPTS_INT(0, "threads", &a->threads, 1, THREADS_MAX, "--threads needs 1..{max}"),
	    OPTS_FLAG(0, "json", &a->json),
	    OPTS_FLAG(0, "force-read", &a->force_read),
	    OPTS_CALL(0, "exclude", required_argument, opt_exclude, a),
	    OPTS_CALL(0, "exclude-file", required_argument, opt_exclude, a),
	    OPTS_FLAG(0, "one-file-system", &a->one_fs),
	    OPTS_FLAG(0, "dry-run", &a->dry_run),
	    OPTS_END};

	/* CLI_OPTS_CREDENTIALS: --sealer-key; a reader's credentials for --dry-run */
	return opts_parse(
	    c, argc, argv,
	    OPTS_COMMON(CLI_OPTS_CREDENTIALS, CLI_OPTS_STORE, CLI_OPTS_TRUST, CLI_OPTS_GENERAL),
	    options);
}

/* The name a PATH gets at the snapshot root when several are sealed. */
static const char *base_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s", path);
	return basename(buf); /* GNU basename would keep "" for "dir/"; POSIX strips it */
}

/* Fail early and clearly on a missing PATH or two PATHs with one base name, before the
 * store is touched. */
static int check_paths(const struct cli_ctx *c, const char *const *paths, size_t n)
{
	char a[4096], b[4096];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		if (lstat(paths[i], &st) < 0) {
			cli_error("cannot seal %s: %s", paths[i], strerror(errno));
			return EXIT_FAIL;
		}
		for (size_t j = 0; j < i && n > 1; j++) {
			const char *x = base_of(paths[i], a, sizeof(a));
			const char *y = base_of(paths[j], b, sizeof(b));

			if (strcmp(x, y) == 0)
				return opts_usage(c,
						  "%s and %s would both be '%s' at the snapshot "
						  "root; seal their parent or rename one",
						  paths[j], paths[i], x);
		}
	}
	return EXIT_OK;
}

/* The seal's progress, with totals from the scan running alongside. */
struct seal_watch {
	struct progress *bar;
	struct scan *scan;
	int64_t start_ns;
};

static void on_progress(void *ctx, const struct seal_progress *p)
{
	struct seal_watch *w = ctx;
	struct progress_counts c = {
	    .done = p->bytes_read, .items_done = p->files, .items_label = "files"};
	bool done;

	scan_get(w->scan, &c.items_total, &c.total, &done);
	c.total_partial = !done;
	if (c.total < c.done) /* files grew since they were counted */
		c.total = c.done;
	if (c.items_total < c.items_done)
		c.items_total = c.items_done;
	progress_show(w->bar, &c);
}

static int print_json(const struct seal_result *r, const char *id, double elapsed)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "type",
	    "summary", "snapshot", id, "seq", (json_int_t)r->seq, "files", (json_int_t)r->files,
	    "dirs", (json_int_t)r->dirs, "symlinks", (json_int_t)r->symlinks, "others",
	    (json_int_t)r->others, "bytes", (json_int_t)r->bytes, "chunks", (json_int_t)r->chunks,
	    "chunks_new", (json_int_t)r->chunks_new, "bytes_new_plain",
	    (json_int_t)r->bytes_new_plain, "bytes_new_stored", (json_int_t)r->bytes_new_stored,
	    "packs_new", (json_int_t)r->packs_new, "warnings", (json_int_t)r->warnings, "elapsed_s",
	    elapsed);

	if (o &&
	    (json_object_set_new(o, "excluded", json_integer((json_int_t)r->excluded)) ||
	     json_object_set_new(o, "fs_boundaries", json_integer((json_int_t)r->fs_boundaries)) ||
	     json_object_set_new(o, "trees_new", json_integer((json_int_t)r->trees_new)))) {
		json_decref(o);
		o = NULL;
	}
	return cli_print_json(o);
}

/* --dry-run: what a seal would do, on stdout (it is the command's product), or as JSON. */
static int print_dry_json(const struct seal_result *r, double elapsed)
{
	json_t *o = json_pack(
	    "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:f}",
	    "type", "summary", "dry_run", 1, "files", (json_int_t)r->files, "dirs",
	    (json_int_t)r->dirs, "symlinks", (json_int_t)r->symlinks, "others",
	    (json_int_t)r->others, "bytes", (json_int_t)r->bytes, "chunks", (json_int_t)r->chunks,
	    "chunks_new", (json_int_t)r->chunks_new, "chunks_present",
	    (json_int_t)(r->chunks - r->chunks_new), "bytes_new_plain",
	    (json_int_t)r->bytes_new_plain, "bytes_new_stored", (json_int_t)r->bytes_new_stored,
	    "trees_new", (json_int_t)r->trees_new, "packs_new", (json_int_t)r->packs_new,
	    "warnings", (json_int_t)r->warnings, "excluded", (json_int_t)r->excluded,
	    "fs_boundaries", (json_int_t)r->fs_boundaries, "elapsed_s", elapsed);
	return cli_print_json(o);
}

static int report_dry(const struct seal_args *a, const char *url, const struct seal_result *r,
		      int sret, int64_t start_ns)
{
	char in[32], plain[32], stored[32], present[32];
	double elapsed = cli_elapsed_s(start_ns);

	if (a->json && print_dry_json(r, elapsed) < 0)
		return EXIT_FAIL;
	cli_format_size(r->bytes, in);
	cli_format_size(r->bytes_new_plain, plain);
	cli_format_size(r->bytes_new_stored, stored);
	/* unchanged files' content is counted in bytes but was never chunked again */
	cli_format_size(r->bytes >= r->bytes_new_plain ? r->bytes - r->bytes_new_plain : 0,
			present);
	if (!a->json && !cli_quiet()) {
		printf("dry run: nothing was written to %s\n", url);
		printf("would seal %llu files, %llu directories, %llu symlinks, %llu others: %s\n",
		       (unsigned long long)r->files, (unsigned long long)r->dirs,
		       (unsigned long long)r->symlinks, (unsigned long long)r->others, in);
		printf("would upload %llu new chunks of %llu: %s (%s stored) in %llu new pack(s), "
		       "and %llu new directory listings\n",
		       (unsigned long long)r->chunks_new, (unsigned long long)r->chunks, plain,
		       stored, (unsigned long long)r->packs_new, (unsigned long long)r->trees_new);
		printf("not uploaded (in the store already, or repeated): %llu chunks, %s\n",
		       (unsigned long long)(r->chunks - r->chunks_new), present);
		if (r->excluded || r->fs_boundaries)
			printf("left out: %llu excluded entries, %llu directories on other file "
			       "systems (kept empty)\n",
			       (unsigned long long)r->excluded,
			       (unsigned long long)r->fs_boundaries);
	}
	if (sret == 3)
		cli_warn("a seal would have %llu warning(s) (see above)",
			 (unsigned long long)r->warnings);
	if (fflush(stdout) != 0)
		return EXIT_IO;
	return sret == 3 ? EXIT_WARN : EXIT_OK;
}

static int report(const struct seal_args *a, const struct seal_result *r, int sret,
		  int64_t start_ns)
{
	char id[2 * ID_LEN + 1], in[32], out[32];
	double elapsed = cli_elapsed_s(start_ns);

	hex_encode(r->snapshot, ID_LEN, id);
	if (a->json) {
		if (print_json(r, id, elapsed) < 0)
			return EXIT_FAIL;
	} else if (!cli_quiet()) {
		printf("%s\n", id);
	}
	cli_format_size(r->bytes, in);
	cli_format_size(r->bytes_new_stored, out);
	if (sret == 3)
		cli_warn("snapshot %.12s written with %llu warning(s) (see above)", id,
			 (unsigned long long)r->warnings);
	/* the figures a sealer wants at a glance; stdout stays just the id for scripts */
	cli_note("sealed %llu files, %s in %.1f s; %llu of %llu chunks new, %s uploaded in "
		 "%llu new pack(s)",
		 (unsigned long long)r->files, in, elapsed, (unsigned long long)r->chunks_new,
		 (unsigned long long)r->chunks, out, (unsigned long long)r->packs_new);
	if (r->excluded || r->fs_boundaries)
		cli_note("left out: %llu excluded entries, %llu directories on other file systems "
			 "(kept empty)",
			 (unsigned long long)r->excluded, (unsigned long long)r->fs_boundaries);
	if (fflush(stdout) != 0)
		return EXIT_IO;
	return sret == 3 ? EXIT_WARN : EXIT_OK;
}

static int seal_error(const char *url, int err)
{
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		cli_error("store %s is out of space; no snapshot was written (the store is "
			  "still valid; free space and seal again)",
			  url);
		return EXIT_IO;
	case -EEXIST:
	case -EAGAIN: /* too many lost races for the snapshot list (lifecycle/snaplist.h) */
		cli_error("other writers kept publishing to store %s at the same time; no snapshot "
			  "was published: seal again",
			  url);
		return EXIT_CONFLICT;
	case -EIDRM: /* lifecycle/gcwriter.h */
		cli_error("a prune of store %s running at the same time deleted data this seal "
			  "reused; no snapshot was written (the store is still valid): seal again",
			  url);
		return EXIT_CONFLICT;
	default:
		cli_error("seal into store %s failed: %s; no snapshot was written (the store "
			  "is still valid)",
			  url, strerror(-err));
		return cli_exit_for(err);
	}
}

static int seal_cmd(int argc, char **argv, struct seal_args *a)
{
	struct cli_ctx c;
	struct seal_opts so = {0};
	struct seal_result res = {0};
	struct seal_watch w = {0};
	struct store *s = NULL;
	const char *url, *paths[MAX_PATHS];
	size_t npaths;
	int ret, err;

	opts_init(&c, "seal");
	ret = parse(&c, a, argc, argv);
	if (ret != EXIT_OK || c.help)
		return ret != EXIT_OK ? ret : opts_help(&c);
	if (argc == optind && c.store && (npaths = profile_all("path", paths, MAX_PATHS))) {
		url = c.store; /* all from the profile: a nightly unit's whole command line */
	} else {
		url = opts_store_arg(&c, argc, argv, -1, "at least one PATH");
		if (!url)
			return EXIT_USAGE;
		npaths = (size_t)(argc - optind);
		for (size_t i = 0; i < npaths && i < MAX_PATHS; i++)
			paths[i] = argv[optind + (int)i];
		if (npaths > MAX_PATHS)
			return opts_usage(&c, "at most %d PATHs", MAX_PATHS);
	}
	ret = check_paths(&c, paths, npaths);
	if (ret != EXIT_OK)
		return ret;
	ret = cli_open_store(&c, url, !a->dry_run, &s);
	if (ret != EXIT_OK)
		return ret;
	so.paths = paths;
	so.npaths = npaths;
	so.tags = a->tags;
	so.ntags = a->ntags;
	so.host = a->host;
	so.valid_for_s = a->valid_for_s;
	so.zlevel = a->zlevel;
	so.threads = a->threads;
	so.reread = a->force_read;
	so.exclude = a->exclude;
	so.one_file_system = a->one_fs;
	so.dry_run = a->dry_run;
	w.start_ns = cli_monotonic_ns();
	w.bar = progress_start("seal", "bytes", a->json);
	w.scan = w.bar ? scan_start(paths, npaths) : NULL;
	so.progress_ctx = &w;
	so.progress = w.bar ? on_progress : NULL;
	err = seal_run(s, &so, &res);
	scan_stop(w.scan);
	progress_free(w.bar);
	if (err < 0 && a->dry_run) {
		cli_error("dry run of a seal into store %s failed: %s (nothing was written)", url,
			  strerror(-err));
		ret = cli_exit_for(err);
	} else if (err < 0) {
		ret = seal_error(url, err);
	} else if (a->dry_run) {
		ret = report_dry(a, url, &res, err, w.start_ns);
	} else {
		ret = report(a, &res, err, w.start_ns);
	}
	store_close(s);
	return ret;
}

static int run(int argc, char **argv)
{
	struct seal_args a = {0};
	int ret = seal_cmd(argc, argv, &a);

	pathmatch_free(a.exclude);
	return ret;
}

const struct cli_cmd cli_cmd_seal = {
    "seal", "write a signed, encrypted, deduplicated snapshot of PATHs into a store", help, run};
