/* embassy: the command-line front end. main() handles the global options and dispatches to
 * one cmd_<name>.c per command; every command returns an exit code from enum cli_exit. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "secmem.h"

#ifndef EMBASSY_VERSION
#define EMBASSY_VERSION "0.1.0"
#endif

extern const struct cli_cmd cli_cmd_init, cli_cmd_keygen, cli_cmd_seal, cli_cmd_snapshots,
    cli_cmd_ls, cli_cmd_cat, cli_cmd_restore, cli_cmd_verify, cli_cmd_refresh_head;
/* Commands written elsewhere and later: listed only when their file is linked in. */
extern const struct cli_cmd cli_cmd_mount __attribute__((weak));
extern const struct cli_cmd cli_cmd_key __attribute__((weak));

static const struct cli_cmd *commands(size_t i)
{
	const struct cli_cmd *const table[] = {
	    &cli_cmd_init,	   &cli_cmd_keygen, &cli_cmd_seal,    &cli_cmd_snapshots,
	    &cli_cmd_ls,	   &cli_cmd_cat,    &cli_cmd_restore, &cli_cmd_verify,
	    &cli_cmd_refresh_head, &cli_cmd_mount,  &cli_cmd_key,
	};

	return i < sizeof(table) / sizeof(table[0]) ? table[i] : (const struct cli_cmd *)-1;
}

const struct cli_cmd *cli_find(const char *name)
{
	const struct cli_cmd *c;

	for (size_t i = 0; (c = commands(i)) != (const struct cli_cmd *)-1; i++)
		if (c && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct cli_cmd *c;

	fputs("Usage: embassy [-v] COMMAND [OPTIONS] [ARGS]\n"
	      "       embassy help COMMAND | embassy COMMAND --help\n"
	      "       embassy --version\n"
	      "\n"
	      "Keep encrypted, signed, deduplicated snapshots of critical registers in a data\n"
	      "embassy (an untrusted host abroad), and restore, list or verify them.\n"
	      "\n"
	      "COMMANDS\n",
	      f);
	for (size_t i = 0; (c = commands(i)) != (const struct cli_cmd *)-1; i++)
		if (c)
			fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fputs("\nOPTIONS\n"
	      "  -v, --verbose   more diagnostics (twice: debug)\n"
	      "  -h, --help      this text\n"
	      "  -V, --version   print the version\n"
	      "\n" CLI_HELP_EXIT,
	      f);
}

static int help_cmd(int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	c = cli_find(argv[1]);
	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", argv[1]);
		return EXIT_USAGE;
	}
	fputs(c->help, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"verbose", no_argument, NULL, 'v'},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	const struct cli_cmd *c;
	int opt, verbose = 0;

	opterr = 0;
	/* '+': stop at the command name; the command parses the rest */
	while ((opt = getopt_long(argc, argv, "+vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			log_set_level(++verbose);
			break;
		case 'h':
			usage(stdout);
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
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0)
		return help_cmd(argc - optind, argv + optind);
	c = cli_find(argv[optind]);
	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", argv[optind]);
		return EXIT_USAGE;
	}
	if (secmem_init() < 0) {
		cli_error("cannot initialise libsodium");
		return EXIT_FAIL;
	}
	argv += optind;
	argc -= optind;
	optind = 0; /* glibc: 0 re-initialises getopt completely for the command */
	return c->run(argc, argv);
}
