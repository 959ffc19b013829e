/* commit: seal the changes of a --rw mount into a signed snapshot, now. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "rwcli.h"

static const char help[] =
    "NAME\n"
    "  embassy commit - seal the changes of a --rw mount into a signed snapshot\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy commit MOUNTPOINT [--tag TAG]... [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  MOUNTPOINT is a mount made with 'embassy mount --rw'. Everything changed there so\n"
    "  far is sealed into a new signed snapshot whose parent is the snapshot the mount is\n"
    "  based on; the command returns when the store's head names it, and prints its id.\n"
    "  The mount stays writable while a commit runs: what is written meanwhile goes into\n"
    "  the next one. Once this returns, the changes are durable at the embassy (fsync on\n"
    "  the mount makes them durable only on this host, in the mount's journal).\n"
    "\n"
    "  Only what changed is uploaded: unchanged files and directories of the base are\n"
    "  reused by reference, and a changed file is chunked again only around what was\n"
    "  written. If the head moved since the base (a seal from home, another recovery\n"
    "  host), nothing is overwritten: the changes are merged with it (a three-way merge\n"
    "  against the base). Entries changed on both sides keep both versions - the head's\n"
    "  under its name, this mount's under NAME.conflict-<host>-<time> - and are listed;\n"
    "  the command then exits 3. The mount then shows the merged snapshot: the other\n"
    "  side's changes and the conflict copies appear in it, and what was written during\n"
    "  the commit stays on top. Only when a path the merge changes was written, or is\n"
    "  open, here during the commit (or is a hard-linked file) does the mount keep its own\n"
    "  tree, says so (and 'embassy status' too), and the next commit moves it.\n"
    "\n"
    "  If the store cannot be reached, nothing is lost: the changes stay in the journal\n"
    "  and a later commit seals them (a mount made with a periodic commit interval\n"
    "  also retries on its own).\n"
    "\n"
    "OPTIONS\n"
    "  --tag TAG   tag the snapshot (repeatable)\n"
    "  --json      print the result as one JSON line: snapshot, seq, nothing (true when\n"
    "              there was nothing to commit: no snapshot was written, and snapshot,\n"
    "              seq and time are those of the snapshot the mount's tree is, null when\n"
    "              the store has none), merged, ours (the snapshot of this\n"
    "              mount's changes alone on its base, which a merge names), entries,\n"
    "              chunks, chunks_new, bytes_new, time, time_ns, conflicts [{path, copy,\n"
    "              what}], adopted (the mount now shows snapshot), adopt_deferred (why\n"
    "              it does not, when merged)\n"
    "\n" CLI_HELP_GENERAL "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy mount /srv/embassy /registers --rw --sealer-key /etc/embassy/sealer.key\n"
    "  sqlite3 /registers/business/register.db 'INSERT INTO company ...'\n"
    "  embassy commit /registers --tag after-insert\n";

static void print_human(json_t *r)
{
	json_t *c = json_object_get(r, "conflicts"), *x;
	size_t i;

	const char *why = json_string_value(json_object_get(r, "adopt_deferred"));

	if (json_is_true(json_object_get(r, "nothing"))) {
		const char *id = json_string_value(json_object_get(r, "snapshot"));
		const char *adopted = json_is_true(json_object_get(r, "adopted"))
					  ? "; the mount now shows the last merge with the head"
					  : "";
		if (cli_quiet())
			return;
		if (id)
			cli_note("nothing to commit: no snapshot written; the mount's tree is "
				 "snapshot %s (seq %lld, sealed %s)%s",
				 id, (long long)json_integer_value(json_object_get(r, "seq")),
				 json_string_value(json_object_get(r, "time")), adopted);
		else
			cli_note("nothing to commit: no snapshot written (the store has none "
				 "yet)%s",
				 adopted);
		return;
	}
	printf("%s\n", json_string_value(json_object_get(r, "snapshot")));
	json_array_foreach(c, i, x)
	{
		const char *copy = json_string_value(json_object_get(x, "copy"));
		cli_warn("conflict: %s: %s%s%s", json_string_value(json_object_get(x, "path")),
			 json_string_value(json_object_get(x, "what")),
			 copy ? "; this mount's version is " : "", copy ? copy : "");
	}
	if (!cli_quiet())
		cli_note("committed %lld entries: %lld of %lld chunks new, %lld bytes uploaded%s",
			 (long long)json_integer_value(json_object_get(r, "entries")),
			 (long long)json_integer_value(json_object_get(r, "chunks_new")),
			 (long long)json_integer_value(json_object_get(r, "chunks")),
			 (long long)json_integer_value(json_object_get(r, "bytes_new")),
			 json_is_true(json_object_get(r, "merged")) ? "; merged with the head"
								    : "");
	if (json_is_true(json_object_get(r, "adopted")) && !cli_quiet())
		cli_note("the mount now shows the merged snapshot (the other side's changes%s)",
			 json_array_size(c) ? " and the conflict copies" : "");
	if (why)
		cli_warn("the mount keeps showing its own tree, not the merge: %s; the next "
			 "'embassy commit' moves it (or a remount)",
			 why);
}

/* --tag: into the request as the options are read */
static int opt_tag(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	(void)c;
	json_array_append_new(json_object_get(o->target, "tags"), json_string(arg));
	return 0;
}

static int run(int argc, char **argv)
{
	json_t *req = json_pack("{s:s, s:[]}", "op", "commit", "tags"), *rep = NULL;
	struct cli_ctx c;
	bool as_json = false;
	int r, ret;
	const struct opts_spec options[] = {OPTS_CALL(0, "tag", required_argument, opt_tag, req),
					    OPTS_FLAG(0, "json", &as_json), OPTS_END};

	opts_init(&c, "commit");
	if ((r = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_OPTS_GENERAL), options))) {
		json_decref(req); /* the request is built as the options are read */
		return r;
	}
	if (c.help) {
		json_decref(req);
		return opts_help(&c);
	}
	if (argc - optind != 1) {
		json_decref(req);
		return opts_usage(&c, "needs the MOUNTPOINT of a --rw mount");
	}
	ret = rwcli_request(argv[optind], req, &rep);
	json_decref(req);
	if (ret != EXIT_OK)
		return ret;
	if (json_object_get(rep, "error")) {
		int err = (int)json_integer_value(json_object_get(rep, "errno"));
		cli_error("commit of %s failed: %s%s", argv[optind],
			  json_string_value(json_object_get(rep, "error")),
			  err == EIO || err == ETIMEDOUT
			      ? " (nothing is lost: the changes stay in the journal)"
			      : "");
		ret = err == EBUSY ? EXIT_CONFLICT : err ? cli_exit_for(-err) : EXIT_FAIL;
		json_decref(rep);
		return ret == EXIT_OK ? EXIT_FAIL : ret;
	}
	rwcli_times(rep);
	if (as_json) {
		json_dumpf(rep, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_human(rep);
	}
	ret = json_array_size(json_object_get(rep, "conflicts")) ? EXIT_WARN : EXIT_OK;
	json_decref(rep);
	if (fflush(stdout) != 0)
		return EXIT_IO;
	return ret;
}

const struct cli_cmd cli_cmd_commit = {
    "commit", "seal the changes of a --rw mount into a signed snapshot", help, run};
