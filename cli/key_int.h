/* key_int: what the 'embassy key' subcommands share (cli/cmd_key.c, key_epochs.c,
 * key_help.c): their options, parsed by one table (cmd_key.c), and their help texts. */
#ifndef EMBASSY_KEY_INT_H
#define EMBASSY_KEY_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "keys.h"
#include "quorum.h"

#define MAX_PUBS	255
#define KDF_MEM_MAX_MIB 4096u
#define KDF_OPS_MAX	64u

struct key_args {
	const char *recipients[MAX_PUBS], *officers[MAX_PUBS];
	size_t nrecipients, nofficers;
	uint64_t quorum, kdf_mib, kdf_ops;
	const char *out, *entry;
	const char *new_pass_file, *new_pass_cmd;
	bool json;
	char remove[MAX_PUBS][KEY_NAME_MAX];
	size_t nremove;
};

/* What a subcommand takes beyond the common options. */
enum {
	TAKES_PUBS = 1,
	TAKES_KDF = 2,
	TAKES_ENTRY = 4,
	TAKES_OUT = 8,
	TAKES_NEWPASS = 16,
	TAKES_JSON = 32,
	TAKES_REMOVE = 64
};

/* Parse; on --help print the subcommand's text. *done set when the caller should return. */
int key_setup(struct cli_ctx *c, struct key_args *a, const char *sub_help, int argc, char **argv,
	      bool *done);
/* An option that the subcommand does not take is a usage error, not silently ignored. */
int key_refuse_extras(const struct cli_ctx *c, const struct key_args *a, const char *sub,
		      unsigned takes);
/* Each public key file given exists (a clear error before the store is opened). */
int key_check_pubs(const char *what, const char *const *files, size_t n);
/* Print a key entry's name as it is written (not with -q). */
void key_print_added(void *ctx, const char *name);

/* key rotate: a new key epoch (key_epochs.c). */
int key_cmd_epochs(int argc, char **argv);

/* The help texts (key_help.c): the command's, and each subcommand's. */
extern const char key_help[], key_help_add[], key_help_list[], key_help_remove[], key_help_passwd[],
    key_help_share[], key_help_epochs[], key_help_pin[], key_help_root[], key_help_rotate[];

#endif
