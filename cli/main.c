/* embassy: the command-line front end. main() handles the global options and dispatches to
 * one cmd_<name>.c per command; every command returns an exit code from enum cli_exit. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "secenv.h"
#include "secmem.h"

#ifndef EMBASSY_VERSION
#define EMBASSY_VERSION "0.1.0"
#endif

extern const struct cli_cmd cli_cmd_init, cli_cmd_keygen, cli_cmd_seal, cli_cmd_snapshots,
    cli_cmd_ls, cli_cmd_cat, cli_cmd_restore, cli_cmd_verify, cli_cmd_refresh_head, cli_cmd_info;
/* Commands written elsewhere and later: listed only when their file is linked in. */
extern const struct cli_cmd cli_cmd_mount __attribute__((weak));
extern const struct cli_cmd cli_cmd_key __attribute__((weak));
extern const struct cli_cmd cli_cmd_agent __attribute__((weak));
/* The write-through mount's commands (mount --rw). */
extern const struct cli_cmd cli_cmd_commit, cli_cmd_status;
/* The store's lifecycle (issue 13). */
extern const struct cli_cmd cli_cmd_forget, cli_cmd_prune, cli_cmd_copy;
extern const struct cli_cmd cli_cmd_diff, cli_cmd_find, cli_cmd_stats;

static const struct cli_cmd *commands(size_t i)
{
	const struct cli_cmd *const table[] = {
	    &cli_cmd_init,	   &cli_cmd_keygen, &cli_cmd_seal,    &cli_cmd_snapshots,
	    &cli_cmd_ls,	   &cli_cmd_cat,    &cli_cmd_restore, &cli_cmd_verify,
	    &cli_cmd_refresh_head, &cli_cmd_mount,  &cli_cmd_key,     &cli_cmd_info,
	    &cli_cmd_agent,	   &cli_cmd_commit, &cli_cmd_status,  &cli_cmd_forget,
	    &cli_cmd_prune,	   &cli_cmd_copy,   &cli_cmd_diff,    &cli_cmd_find,
	    &cli_cmd_stats,
	};

	return i < sizeof(table) / sizeof(table[0]) ? table[i] : (const struct cli_cmd *)-1;
}

const struct cli_cmd *cli_command(size_t i)
{
	const struct cli_cmd *c;
	size_t k = 0;

	/* the i-th of the commands linked in (weak ones may be missing) */
	for (size_t j = 0; (c = commands(j)) != (const struct cli_cmd *)-1; j++)
		if (c && k++ == i)
			return c;
	return NULL;
}

const struct cli_cmd *cli_find(const char *name)
{
	const struct cli_cmd *c;

	for (size_t i = 0; (c = cli_command(i)) != NULL; i++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* A store URL may carry credentials (https://user:password@host/…). The command gets a
 * private copy of such an argument; the original, which ps and /proc/PID/cmdline show (for
 * this process and for a forked mount daemon), is overwritten with stars. */
static int hide_url_credentials(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);
		char *copy, *probe = strstr(argv[i], "://");

		if (!probe || !strchr(probe, '@'))
			continue;
		copy = secmem_alloc(n + 1);
		if (!copy)
			return -1;
		memcpy(copy, argv[i], n + 1);
		log_redact_urls(argv[i], true);
		if (strcmp(copy, argv[i]) == 0) {
			secmem_free(copy); /* an '@' but no credentials */
			continue;
		}
		argv[i] = copy; /* kept for the life of the process */
	}
	return 0;
}

/* The command argv names, past main's own options (-v, -q, -p PROFILE, --profile=...). */
static const char *command_name(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return argv[i];
		if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--profile"))
			i++;
		else if (!strcmp(argv[i], "--"))
			return i + 1 < argc ? argv[i + 1] : NULL;
	}
	return NULL;
}

/* A mount's heap on transparent huge pages (glibc's malloc.hugetlb tunable: its arenas are
 * madvised MADV_HUGEPAGE), so the daemon's fresh memory costs a fault per 2 MiB, not per
 * 4 KiB page. Measured on the bench tree (local store, cold): find's daemon took 2,175 page
 * faults (perf: a quarter of its CPU in them, decoding listings into fresh memory), 7 with
 * huge pages; cp -a of the 20,000 small files 46,000 (their frames turn over in the memory
 * cache), ~200, daemon CPU 4.5-5.4 s instead of 5.8-6.0. glibc reads tunables only from
 * the environment at start: so the mount runs itself again with it set, first thing (before
 * secrets are taken out of the environment and argv), once: the tunable is then present. A
 * failed exec changes nothing. */
static void mount_heap_hugepages(int argc, char **argv)
{
	const char *cmd = command_name(argc, argv), *t = getenv("GLIBC_TUNABLES");
	char *v;

	if (!mount_helper_called(argv[0]) && (!cmd || strcmp(cmd, "mount")))
		return;
	if (t && strstr(t, "glibc.malloc.hugetlb"))
		return; /* set already: by the exec below, or by the user */
	if (asprintf(&v, "%s%sglibc.malloc.hugetlb=1", t ? t : "", t && *t ? ":" : "") < 0)
		return;
	char *old = t ? strdup(t) : NULL;
	if (setenv("GLIBC_TUNABLES", v, 1) == 0) {
		execv("/proc/self/exe", argv);
		if (old)
			setenv("GLIBC_TUNABLES", old, 1);
		else
			unsetenv("GLIBC_TUNABLES");
	}
	free(old);
	free(v);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"verbose", no_argument, NULL, 'v'},       {"quiet", no_argument, NULL, 'q'},
	    {"profile", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
	const struct cli_cmd *c;
	const char *profile = NULL;
	int opt, verbose = 0;
	bool quiet = false;

	mount_heap_hugepages(argc, argv);
	if (secmem_init() < 0) {
		cli_error("cannot initialise libsodium");
		return EXIT_FAIL;
	}
	/* before anything can fork or exec: secrets leave the environment and argv */
	if (secenv_capture() < 0 || hide_url_credentials(argc, argv) < 0) {
		cli_error("cannot allocate protected memory for credentials");
		return EXIT_FAIL;
	}
	if (mount_helper_called(argv[0]))
		return mount_helper_run(argc, argv);
	opterr = 0;
	/* '+': stop at the command name; the command parses the rest. (getopt_long is the
	 * libc one here: cli.h's wrapper is for commands.) */
	while ((opt = (getopt_long)(argc, argv, "+vqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			log_set_level(++verbose);
			break;
		case 'q':
			quiet = true;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'h':
			help_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("embassy %s (store format %d)\n", EMBASSY_VERSION, STORE_FORMAT);
			return EXIT_OK;
		default:
			cli_error("unknown option %s (see 'embassy --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		help_usage(stderr);
		return EXIT_USAGE;
	}
	opts_set_global(quiet, verbose, profile);
	if (strcmp(argv[optind], "help") == 0)
		return help_run(argc - optind, argv + optind);
	c = cli_find(argv[optind]);
	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", argv[optind]);
		return EXIT_USAGE;
	}
	argv += optind;
	argc -= optind;
	optind = 0; /* glibc: 0 re-initialises getopt completely for the command */
	return c->run(argc, argv);
}
