/* status: what a --rw mount holds that the store does not have yet. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rwcli.h"

static const char help[] =
    "NAME\n"
    "  embassy status - show what a --rw mount has not committed yet\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy status MOUNTPOINT [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  For a mount made with 'embassy mount --rw': the snapshot it is based on (its\n"
    "  sequence number and when it was sealed), the daemon's pid (after 'fusermount3 -u'\n"
    "  it still makes the journal durable: 'tail --pid=PID -f /dev/null' waits for it), the\n"
    "  changes not yet committed (entries changed, bytes written), the size of its\n"
    "  journal on this host and its bound, the last commit (snapshot, time, conflicts\n"
    "  it reported) and the last failed one, and whether a commit is running. After a\n"
    "  commit merged with another side's changes the mount shows the merge; when it\n"
    "  could not yet (a path the merge changes was open or written during the commit),\n"
    "  a 'merge:' line names the merge and why; the next commit moves the mount.\n"
    "\n"
    "OPTIONS\n"
    "  --json      print it as one JSON line: mountpoint, pid, base, base_seq,\n"
    "              base_time, base_time_ns, pending_entries,\n"
    "              pending_bytes, journal_bytes, journal_max, journal_dir,\n"
    "              commit_running, commit_every, last_commit (as 'embassy commit\n"
    "              --json' prints it, or null), last_error ({error, time, time_ns},\n"
    "              when the last commit failed), adopt_deferred ({merge, reason}, when\n"
    "              the mount does not show the last merge yet)\n"
    "\n" CLI_HELP_GENERAL "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy status /registers\n"
    "  embassy status /registers --json | jq .pending_entries\n";

static void print_human(json_t *r)
{
	json_t *lc = json_object_get(r, "last_commit"), *le = json_object_get(r, "last_error"), *x;
	char size[32], jb[32], jm[32], t[48];
	size_t i;

	cli_format_size((uint64_t)json_integer_value(json_object_get(r, "pending_bytes")), size);
	cli_format_size((uint64_t)json_integer_value(json_object_get(r, "journal_bytes")), jb);
	cli_format_size((uint64_t)json_integer_value(json_object_get(r, "journal_max")), jm);
	printf("mount:     %s\n", json_string_value(json_object_get(r, "mountpoint")));
	if (json_string_value(json_object_get(r, "base")))
		printf("base:      %s (seq %lld, sealed %s)\n",
		       json_string_value(json_object_get(r, "base")),
		       (long long)json_integer_value(json_object_get(r, "base_seq")),
		       json_string_value(json_object_get(r, "base_time")));
	else
		printf("base:      (none: the store had no snapshot)\n");
	printf("daemon:    pid %lld\n", (long long)json_integer_value(json_object_get(r, "pid")));
	printf("pending:   %lld entries changed, %s written\n",
	       (long long)json_integer_value(json_object_get(r, "pending_entries")), size);
	printf("journal:   %s of %s in %s\n", jb, jm,
	       json_string_value(json_object_get(r, "journal_dir")));
	if (json_is_true(json_object_get(r, "commit_running")))
		printf("commit:    running\n");
	if (json_is_object(lc)) {
		cli_format_time(json_integer_value(json_object_get(lc, "time_ns")), false, t);
		printf("committed: %s at %s%s\n",
		       json_string_value(json_object_get(lc, "snapshot")), t,
		       json_is_true(json_object_get(lc, "merged")) ? " (merged with the head)"
								   : "");
		json_array_foreach(json_object_get(lc, "conflicts"), i, x)
		{
			const char *copy = json_string_value(json_object_get(x, "copy"));
			printf("conflict:  %s: %s%s%s\n",
			       json_string_value(json_object_get(x, "path")),
			       json_string_value(json_object_get(x, "what")),
			       copy ? "; this mount's version is " : "", copy ? copy : "");
		}
	} else {
		printf("committed: nothing since mounted\n");
	}
	x = json_object_get(r, "adopt_deferred");
	if (json_is_object(x))
		printf("merge:     %s is not shown by the mount yet: %s (the next 'embassy "
		       "commit' retries)\n",
		       json_string_value(json_object_get(x, "merge")),
		       json_string_value(json_object_get(x, "reason")));
	if (json_is_object(le)) {
		cli_format_time(json_integer_value(json_object_get(le, "time_ns")), false, t);
		printf("failed:    %s at %s (the changes stay in the journal)\n",
		       json_string_value(json_object_get(le, "error")), t);
	}
}

static int run(int argc, char **argv)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *rep = NULL;
	struct cli_ctx c;
	bool as_json = false;
	int r, ret;
	const struct opts_spec options[] = {OPTS_FLAG(0, "json", &as_json), OPTS_END};

	opts_init(&c, "status");
	if ((r = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_OPTS_GENERAL), options))) {
		json_decref(req);
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
	rwcli_time_field(rep, "base_time");
	rwcli_times(json_object_get(rep, "last_commit"));
	rwcli_times(json_object_get(rep, "last_error"));
	if (as_json) {
		json_dumpf(rep, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (!cli_quiet()) {
		print_human(rep);
	}
	json_decref(rep);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}

const struct cli_cmd cli_cmd_status = {"status", "show what a --rw mount has not committed yet",
				       help, run};
