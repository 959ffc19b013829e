/* refresh-head: re-sign the head pointer with a new expiry, without a new snapshot. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "NAME\n"
    "  embassy refresh-head - re-sign a store's head pointer with a new expiry (sealer)\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy refresh-head STORE --sealer-key FILE [--valid-for DURATION]\n"
    "                       [--without-state]\n"
    "  embassy refresh-head STORE --timestamp-key FILE CREDENTIALS [--valid-for DURATION]\n"
    "                       [--without-state]\n"
    "\n"
    "DESCRIPTION\n"
    "  The head pointer names the newest snapshot and carries an expiry time, so that a host\n"
    "  which keeps serving an old head forever (a freeze) is noticed: readers warn about an\n"
    "  expired head, and refuse it with --require-fresh. When nothing new is sealed for a\n"
    "  while, the sealer runs this (e.g. daily from cron) to re-sign the same head - same\n"
    "  snapshot, same sequence number - with a new expiry. Only the sealer's identity can,\n"
    "  or, in a store with a root document (FORMAT.md 19), its timestamp key: then the\n"
    "  cron host holds --timestamp-key FILE (from 'embassy keygen --signing') and a\n"
    "  reader's credential, never the key that signs snapshots. A stolen timestamp key\n"
    "  can keep an old head fresh (a freeze) but never name a snapshot the sealer did not\n"
    "  sign.\n"
    "\n"
    "  Re-signing makes whatever head the host serves fresh again, so it is refused when\n"
    "  that head is older than what the sealer published: below the sequence remembered in\n"
    "  the sealer's trust state (--state-dir; seal records every head it publishes), or\n"
    "  below the newest snapshot manifest in the store (a rolled-back head, or a seal that\n"
    "  stopped before its head: seal again instead). Without a remembered sequence for\n"
    "  the store (another host, a lost or unwritable state directory) it does not run\n"
    "  unless given --without-state.\n"
    "\n"
    "OPTIONS\n"
    "  --timestamp-key FILE  sign with this timestamp key (the one the store's root\n"
    "                        document names) instead of the sealer key\n"
    "  --valid-for DURATION  how long the head stays fresh: 7d (default), 12h, 90m, 3600s\n"
    "  --without-state       run although this host remembers nothing of the store: only\n"
    "                        after checking with 'embassy snapshots' that the head the\n"
    "                        host serves is the newest snapshot\n"
    "\n" CLI_HELP_CREDENTIALS "\n" CLI_HELP_STORE "\n" CLI_HELP_TRUST "\n" CLI_HELP_GENERAL
    "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy refresh-head /srv/embassy --sealer-key /etc/embassy/sealer.key --valid-for 2d\n";

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	struct head h;
	int64_t valid = 7 * 24 * 3600;
	const char *url, *ts_key = NULL;
	bool without_state = false;
	int ret, err;
	char t[48];
	const struct opts_spec options[] = {
	    OPTS_DURATION(0, "valid-for", &valid, 0,
			  "--valid-for needs a duration like 7d or 12h, not '{arg}'"),
	    OPTS_FLAG(0, "without-state", &without_state), OPTS_STRING(0, "timestamp-key", &ts_key),
	    OPTS_END};

	opts_init(&c, "refresh-head");
	ret = opts_parse(
	    &c, argc, argv,
	    OPTS_COMMON(CLI_OPTS_CREDENTIALS, CLI_OPTS_STORE, CLI_OPTS_TRUST, CLI_OPTS_GENERAL),
	    options);
	if (ret)
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	if (ts_key && c.sealer_key)
		return opts_usage(&c, "give --sealer-key or --timestamp-key, not both");
	ret = cli_open_store(&c, url, !ts_key, &s);
	if (ret != EXIT_OK)
		return ret;
	err = ts_key ? store_set_timestamp_key(s, ts_key) : 0;
	if (err < 0) {
		cli_error("%s cannot refresh the head of store %s (see above)", ts_key, url);
		store_close(s);
		return err == -ENOMEM ? EXIT_FAIL : EXIT_AUTH;
	}
	err = store_refresh_head(s, valid, without_state, &h);
	if (err == -ENOENT) {
		cli_error("store %s has no snapshot yet: nothing to refresh", url);
		ret = EXIT_NOTFOUND;
	} else if (err == -ENODATA || err == -ENOTRECOVERABLE) {
		cli_error(
		    "refresh-head of store %s refused: no usable trust state here (see above)",
		    url);
		ret = EXIT_FAIL;
	} else if (err == -ESTALE) {
		cli_error(
		    "refresh-head of store %s refused: the head the host serves is older than "
		    "what was published (see above)",
		    url);
		ret = EXIT_INTEGRITY;
	} else if (err < 0) {
		cli_error("cannot refresh the head pointer of store %s: %s", url, strerror(-err));
		ret = cli_exit_for(err);
	} else if (!cli_quiet()) {
		cli_format_time(h.expires_ns, false, t);
		printf("head sequence %llu refreshed; fresh until %s\n", (unsigned long long)h.seq,
		       t);
	}
	store_close(s);
	return ret;
}

const struct cli_cmd cli_cmd_refresh_head = {
    "refresh-head", "re-sign a store's head pointer with a new expiry (sealer)", help, run};
