/* cli: what the `embassy` commands share — exit codes, the command table entry, common
 * options (store access and credentials), error reporting and output helpers.
 *
 * A command lives in cli/cmd_<name>.c and defines `const struct cli_cmd cli_cmd_<name>`.
 * main.c declares the optional ones (mount, key) weak, so the binary links whether or not
 * their files exist yet. */
#ifndef EMBASSY_CLI_H
#define EMBASSY_CLI_H
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "remote.h"
#include "store.h"
#include "trust.h"

/* Exit codes: part of the interface (scripts depend on them); documented in every --help. */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	    /* any other failure */
	EXIT_USAGE = 2,	    /* bad command line */
	EXIT_WARN = 3,	    /* finished, with warnings (seal) */
	EXIT_AUTH = 4,	    /* wrong passphrase, no key entry, bad or missing key file */
	EXIT_NOSTORE = 5,   /* not a store, or a newer store format */
	EXIT_NOTFOUND = 6,  /* snapshot or path not found, or ambiguous */
	EXIT_INTEGRITY = 7, /* tampered or damaged data found */
	EXIT_IO = 8,	    /* store unreachable, I/O error, out of space */
};

/* The exit-status section every --help ends with. */
#define CLI_HELP_EXIT                                                                              \
	"EXIT STATUS\n"                                                                            \
	"  0  success\n"                                                                           \
	"  1  failure not covered below\n"                                                         \
	"  2  usage error (unknown option, missing argument)\n"                                    \
	"  3  finished, but with warnings (seal: unreadable, changing or skipped files)\n"         \
	"  4  authentication failed: wrong passphrase, key file without a key entry in the\n"      \
	"     store, key file readable by group or others, or key file missing\n"                  \
	"  5  not an embassy store, or a store format newer than this program\n"                   \
	"  6  snapshot or path not found, or a snapshot prefix matching several snapshots\n"       \
	"  7  integrity problem: tampered, damaged or missing data (verify found problems), a\n"   \
	"     rolled-back or (with --require-fresh) expired head pointer, a substituted key\n"     \
	"  8  store unreachable, timed out, I/O error or out of space\n"

/* The credential and transport options most commands accept, for --help texts. */
#define CLI_HELP_COMMON                                                                            \
	"CREDENTIALS (readers use one of them, in this order)\n"                                   \
	"  --sealer-key FILE       the sealer's identity written by 'embassy init'\n"              \
	"  --key-file FILE         a recipient key file ('embassy keygen') or a sealer key\n"      \
	"                          file; also EMBASSY_KEY_FILE. Must be mode 0600. Repeat it\n"    \
	"                          for officers of a quorum entry opening the store together\n"    \
	"  --share-file FILE       a quorum share from 'embassy key share' (officers apart);\n"    \
	"                          repeatable, combines with --key-file. Must be mode 0600.\n"     \
	"  --passphrase-file FILE  read the store passphrase from FILE (first line)\n"             \
	"  EMBASSY_PASSPHRASE      environment variable holding the passphrase\n"                  \
	"  otherwise the passphrase is asked for on the terminal (not echoed).\n"                  \
	"\n"                                                                                       \
	"STORE ACCESS\n"                                                                           \
	"  STORE is a directory path or file:///path (http(s):// and s3:// where built in).\n"     \
	"  --cacert FILE           extra CA bundle (PEM) for TLS; env EMBASSY_CACERT\n"            \
	"  --cert FILE, --key FILE client certificate and key for mutual TLS;\n"                   \
	"                          env EMBASSY_CERT, EMBASSY_KEY\n"                                \
	"  --s3-endpoint URL       endpoint for s3:// stores; env EMBASSY_S3_ENDPOINT\n"           \
	"  --timeout SECONDS       budget for one store operation incl. retries (default 60);\n"   \
	"                          env EMBASSY_TIMEOUT\n"                                          \
	"\n"                                                                                       \
	"TRUST (against a host that rolls back, freezes or substitutes the store)\n"               \
	"  Every reader remembers, per store id, the highest head sequence it has verified and\n"  \
	"  the signing key's fingerprint, in --state-dir (env EMBASSY_STATE_DIR; default\n"        \
	"  $XDG_STATE_HOME/embassy or ~/.local/state/embassy).\n"                                  \
	"  --trust FINGERPRINT     refuse a store not signed by this key (see 'embassy init')\n"   \
	"  --min-sequence N        refuse a head pointer older than N (a fresh recovery host)\n"   \
	"  --allow-rollback        accept an older head than seen before (logged)\n"               \
	"  --require-fresh         an expired head pointer is an error, not a warning\n"           \
	"  -v, --verbose           more diagnostics (twice: debug)\n"                              \
	"  -h, --help              this text\n"

/* Long-only option codes shared by all commands (above any short option character). */
enum {
	OPT_PASSPHRASE_FILE = 1000,
	OPT_KEY_FILE,
	OPT_SEALER_KEY,
	OPT_CACERT,
	OPT_CERT,
	OPT_KEY,
	OPT_S3_ENDPOINT,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_ALLOW_ROLLBACK,
	OPT_REQUIRE_FRESH,
	OPT_MIN_SEQUENCE,
	OPT_TRUST,
	OPT_STATE_DIR,
	OPT_SHARE_FILE,
	OPT_CMD_BASE = 1100, /* commands number their own long-only options from here */
};

/* Put this into a command's struct option table (before its own entries). */
#define CLI_COMMON_OPTIONS                                                                         \
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},                         \
	    {"key-file", required_argument, NULL, OPT_KEY_FILE},                                   \
	    {"share-file", required_argument, NULL, OPT_SHARE_FILE},                               \
	    {"sealer-key", required_argument, NULL, OPT_SEALER_KEY},                               \
	    {"cacert", required_argument, NULL, OPT_CACERT},                                       \
	    {"cert", required_argument, NULL, OPT_CERT},                                           \
	    {"key", required_argument, NULL, OPT_KEY},                                             \
	    {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},                             \
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},                                     \
	    {"allow-rollback", no_argument, NULL, OPT_ALLOW_ROLLBACK},                             \
	    {"require-fresh", no_argument, NULL, OPT_REQUIRE_FRESH},                               \
	    {"min-sequence", required_argument, NULL, OPT_MIN_SEQUENCE},                           \
	    {"trust", required_argument, NULL, OPT_TRUST},                                         \
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},                                 \
	    {"verbose", no_argument, NULL, 'v'},                                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* At most this many --key-file and as many --share-file options (a quorum's n). */
#define CLI_MAX_KEY_FILES 255

/* Everything a command learns from the common options. */
struct cli_ctx {
	const char *cmd; /* "seal", for messages */
	const char *passphrase_file;
	const char *key_file;			  /* EMBASSY_KEY_FILE, or the first --key-file */
	const char *key_files[CLI_MAX_KEY_FILES]; /* every --key-file, in order */
	size_t nkey_files;
	const char *share_files[CLI_MAX_KEY_FILES]; /* every --share-file */
	size_t nshare_files;
	const char *sealer_key;
	struct remote_opts ro;
	struct trust_opts trust; /* rollback / freeze / key pinning */
	int verbose;
	bool help;
};

struct cli_cmd {
	const char *name;
	const char *summary; /* one line for `embassy --help` */
	const char *help;    /* the full manual text */
	int (*run)(int argc, char **argv);
};

/* ---- opts.c ---- */
/* Defaults from the environment (EMBASSY_CACERT, …). */
void opts_init(struct cli_ctx *c, const char *cmd);
/* Handle one getopt_long result if it is a common option: 1 handled, 0 not common,
 * <0 bad argument (message printed). */
int opts_common(struct cli_ctx *c, int opt, const char *arg);
/* Report an unknown option / missing argument ('?' or ':' from getopt_long). */
int opts_bad(const struct cli_ctx *c, char **argv);
/* Print the help of the current command on stdout; returns EXIT_OK. */
int opts_help(const struct cli_ctx *c);
/* Usage error: one line on stderr plus a pointer to --help; returns EXIT_USAGE. */
int opts_usage(const struct cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse "7d", "12h", "30m", "45s", "2w" or plain seconds; -EINVAL on anything else. */
int opts_parse_duration(const char *s, int64_t *secs);
/* Parse a non-negative decimal number within max; -EINVAL otherwise. */
int opts_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Split "SNAPSHOT[:PATH]"; *snap is malloc'd, *path points into arg (or "" if none). */
int opts_split_spec(const char *arg, char **snap, const char **path);

/* ---- auth.c ---- */
/* Credentials for store_open: the sealer key, a key file, or a passphrase gathered from
 * --passphrase-file, EMBASSY_PASSPHRASE or the terminal. Holds the passphrase in secmem. */
struct cli_auth {
	struct store_auth a;
	struct store_quorum_status quorum; /* what a quorum unlock found (a.quorum) */
	char *pass;			   /* secmem */
};
/* Gather read credentials. need_sealer: only a sealer key will do. Returns an exit code. */
int auth_gather(const struct cli_ctx *c, bool need_sealer, struct cli_auth *out);
/* A new passphrase for init (asked twice on a terminal). *pass is NULL if none is available
 * and optional. Returns an exit code. */
int auth_new_passphrase(const struct cli_ctx *c, bool optional, struct cli_auth *out);
void auth_clear(struct cli_auth *a);
/* Open STORE with gathered credentials, reporting failures; returns an exit code. */
int cli_open_store(const struct cli_ctx *c, const char *url, bool need_sealer, struct store **out);

/* ---- main.c ---- */
const struct cli_cmd *cli_find(const char *name);

/* ---- errors and snapshot/path resolution (common.c) ---- */
/* "embassy: error: …" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code for a negative errno from the core (ENOENT → EXIT_FAIL: callers decide). */
int cli_exit_for(int err);
/* Report a failure to resolve a snapshot spec; returns the exit code. */
int cli_snapshot_error(const char *url, const char *spec, int err);
/* Resolve SNAPSHOT[:PATH] and look the path up (dir and ent as in store_lookup).
 * Returns an exit code. */
int cli_resolve(struct store *s, const char *url, const char *spec, struct snapshot *sn,
		const char **path, struct tree **dir, const struct tree_entry **ent);

/* ---- output helpers (output.c) ---- */
/* Print name bytes escaped like `ls -b` (printable UTF-8 kept, anything else as \ooo). */
void cli_print_name(FILE *f, const char *name, size_t len);
/* Print a message line, escaping only what is not printable UTF-8 (spaces stay). */
void cli_print_text(FILE *f, const char *text, size_t len);
/* 48-byte scratch: "2024-05-01T12:00:00Z" (with_ns: plus .nnnnnnnnn before Z). */
void cli_format_time(int64_t ns, bool with_ns, char out[48]);
/* "1.5 GiB" */
void cli_format_size(uint64_t n, char out[32]);
/* Is the byte string valid UTF-8 without control characters? */
bool cli_utf8_ok(const char *s, size_t len);

/* ---- progress.c ---- */
struct progress;
/* NULL (no progress drawn) unless stderr is a terminal. */
struct progress *progress_new(const char *label, bool bytes);
void progress_update(struct progress *p, uint64_t done, uint64_t total);
void progress_free(struct progress *p); /* erases the line */

#endif
