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

#include "opts.h"
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
	EXIT_CONFLICT =
	    9, /* another writer changed the store meanwhile in a way we cannot build on */
};

/* The exit-status section every --help ends with. */
#define CLI_HELP_EXIT                                                                              \
	"EXIT STATUS\n"                                                                            \
	"  0  success\n"                                                                           \
	"  1  failure not covered below\n"                                                         \
	"  2  usage error (unknown option, missing argument)\n"                                    \
	"  3  finished, but with warnings (seal: unreadable, changing or skipped files;\n"         \
	"     commit: conflicts, both versions kept)\n"                                            \
	"  4  authentication failed: wrong passphrase, key file without a key entry in the\n"      \
	"     store, key file readable by group or others, or key file missing\n"                  \
	"  5  not an embassy store, or a store format newer than this program\n"                   \
	"  6  snapshot or path not found, or a snapshot prefix matching several snapshots\n"       \
	"  7  integrity problem: tampered, damaged or missing data (verify found problems), a\n"   \
	"     rolled-back or (with --require-fresh) expired head pointer, a substituted key\n"     \
	"  8  store unreachable, timed out, I/O error or out of space\n"                           \
	"  9  conflict: another writer (seal, commit, forget, prune) changed the store at the\n"   \
	"     same time in a way this command cannot build on; run the command again\n"

/* The option groups of --help texts. A command's help names the groups of the options it
 * takes, and its option table the matching CLI_OPTS_* macros, so help and parser agree (the
 * conventions test checks it for every command). */
#define CLI_HELP_CREDENTIALS                                                                       \
	"CREDENTIALS (readers use one of them, in this order)\n"                                   \
	"  --sealer-key FILE       the sealer's identity written by 'embassy init'\n"              \
	"  --key-file FILE         a recipient key file ('embassy keygen') or a sealer key\n"      \
	"                          file; env EMBASSY_KEY_FILE. Must be mode 0600. Repeat it\n"     \
	"                          for officers of a quorum entry opening the store together\n"    \
	"  --share-file FILE       a quorum share from 'embassy key share' (officers apart);\n"    \
	"                          repeatable, combines with --key-file. Must be mode "            \
	"0600.\n" CLI_HELP_PASSPHRASE                                                              \
	"  otherwise the passphrase is asked for on the terminal (not echoed).\n"

#define CLI_HELP_PASSPHRASE                                                                        \
	"  --passphrase-file FILE  read the store passphrase from FILE (first line); env\n"        \
	"                          EMBASSY_PASSPHRASE_FILE. A file group or others may\n"          \
	"                          access is refused (chmod 600)\n"                                \
	"  --passphrase-command CMD\n"                                                             \
	"                          run CMD with /bin/sh and read the passphrase from the first\n"  \
	"                          line it prints (systemd-ask-password, a vault client); env\n"   \
	"                          EMBASSY_PASSPHRASE_COMMAND\n"                                   \
	"  EMBASSY_PASSPHRASE      environment variable holding the passphrase\n"

#define CLI_HELP_SEALER                                                                            \
	"SEALER\n"                                                                                 \
	"  --sealer-key FILE       the sealer's identity written by 'embassy init' (mode 0600);\n" \
	"                          env EMBASSY_SEALER_KEY\n"

#define CLI_HELP_STORE                                                                             \
	"STORE ACCESS\n"                                                                           \
	"  STORE is a directory path, file:///path, http(s)://host/path or s3://bucket/prefix.\n"  \
	"  It may be left out when EMBASSY_STORE or the profile names one.\n"                      \
	"  http(s)://user:password@host/path/ logs in with HTTP basic auth; the credentials\n"     \
	"  are never logged, and are hidden from ps once the command starts.\n"                    \
	"  --cacert FILE           extra CA bundle (PEM) for TLS; env EMBASSY_CACERT\n"            \
	"  --tls-cert FILE         client certificate (PEM) for mutual TLS; env\n"                 \
	"                          EMBASSY_TLS_CERT (old spelling: --cert, EMBASSY_CERT)\n"        \
	"  --tls-key FILE          its private key (PEM); env EMBASSY_TLS_KEY (old spelling:\n"    \
	"                          --key, EMBASSY_KEY)\n"                                          \
	"  --s3-endpoint URL       endpoint for s3:// stores; env EMBASSY_S3_ENDPOINT\n"           \
	"  --timeout DURATION      budget for one store operation incl. retries (default 60s);\n"  \
	"                          env EMBASSY_TIMEOUT\n"

#define CLI_HELP_TRUST                                                                             \
	"TRUST (against a host that rolls back, freezes or substitutes the store)\n"               \
	"  Every reader remembers, per store id, the highest head sequence it has verified and\n"  \
	"  the signing key's fingerprint (pinned at the first successful open), and which\n"       \
	"  store each address served, in --state-dir (env EMBASSY_STATE_DIR; default\n"            \
	"  $XDG_STATE_HOME/embassy or ~/.local/state/embassy; must be private to the user).\n"     \
	"  A recipient key file may carry anchors ('embassy key pin'): the store must then be\n"   \
	"  signed by one of those keys.\n"                                                         \
	"  --trust FINGERPRINT     refuse a store not signed by this key (see 'embassy info');\n"  \
	"                          env EMBASSY_TRUST\n"                                            \
	"  --min-sequence N        refuse a head pointer older than N (a fresh recovery host)\n"   \
	"  --allow-rollback        accept an older head than seen before (logged)\n"               \
	"  --require-fresh         an expired head pointer is an error, not a warning\n"           \
	"  --accept-new-store      this address now serves another store id: record it (without\n" \
	"                          it, every use warns loudly; check the new id first)\n"          \
	"  --state-dir DIR         where the trust state is kept (see above)\n"

#define CLI_HELP_GENERAL                                                                           \
	"GENERAL\n"                                                                                \
	"  --profile NAME          read defaults from the profile NAME (env EMBASSY_PROFILE):\n"   \
	"                          ~/.config/embassy/NAME.conf, else /etc/embassy/NAME.conf.\n"    \
	"                          A flag beats the environment, which beats the profile.\n"       \
	"  -q, --quiet             no progress, notes or summaries; silent on success\n"           \
	"  -v, --verbose           more diagnostics (twice: debug)\n"                              \
	"  -h, --help              this text\n"

/* For `embassy --help` and embassy(1). */
#define CLI_HELP_PROFILES                                                                          \
	"PROFILES\n"                                                                               \
	"  Configure once: a profile holds what every command would otherwise repeat. It is\n"     \
	"  ~/.config/embassy/NAME.conf (or $XDG_CONFIG_HOME/embassy/NAME.conf), else\n"            \
	"  /etc/embassy/NAME.conf, chosen with --profile NAME or EMBASSY_PROFILE=NAME. Lines\n"    \
	"  are 'key = value'; '#' starts a comment. Keys are long option names (the value is\n"    \
	"  the option's argument; yes or no for options without one) and 'store' (STORE\n"         \
	"  when left out), 'mountpoint' (for mount), 'path' (repeatable, for seal). A key is\n"    \
	"  used only by commands that take it. Profiles name files; they never hold a\n"           \
	"  passphrase, and must not be writable by others than their owner (root or you).\n"       \
	"  A flag beats the environment, which beats the profile.\n"                               \
	"\n"                                                                                       \
	"      store = https://embassy.example/registers/\n"                                       \
	"      cacert = /etc/embassy/embassy-ca.pem\n"                                             \
	"      key-file = /etc/embassy/officer1.key\n"                                             \
	"      trust = 3f2a9c0d11e2b4a5c6d7e8f901234567\n"                                         \
	"      cache-dir = /var/cache/embassy/registers\n"

#define CLI_HELP_ENVIRONMENT                                                                       \
	"ENVIRONMENT\n"                                                                            \
	"  EMBASSY_STORE               STORE when it is left out\n"                                \
	"  EMBASSY_PROFILE             the profile, as --profile\n"                                \
	"  EMBASSY_PASSPHRASE          the store passphrase (removed from the environment once\n"  \
	"                              read; prefer a file or a command)\n"                        \
	"  EMBASSY_PASSPHRASE_FILE     as --passphrase-file\n"                                     \
	"  EMBASSY_PASSPHRASE_COMMAND  as --passphrase-command\n"                                  \
	"  EMBASSY_KEY_FILE            as --key-file\n"                                            \
	"  EMBASSY_SEALER_KEY          as --sealer-key\n"                                          \
	"  EMBASSY_CACERT              as --cacert\n"                                              \
	"  EMBASSY_TLS_CERT            as --tls-cert (also EMBASSY_CERT)\n"                        \
	"  EMBASSY_TLS_KEY             as --tls-key (also EMBASSY_KEY)\n"                          \
	"  EMBASSY_S3_ENDPOINT         as --s3-endpoint\n"                                         \
	"  EMBASSY_TIMEOUT             as --timeout\n"                                             \
	"  EMBASSY_TRUST               as --trust\n"                                               \
	"  EMBASSY_STATE_DIR           as --state-dir\n"                                           \
	"  EMBASSY_AGENT_DIR           where embassy agent's socket is (see embassy-agent(1))\n"   \
	"  EMBASSY_AGENT=off           open stores with the credentials only, never with a key\n"  \
	"                              held by a running embassy agent\n"                          \
	"  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   credentials for s3:// stores\n"

/* Everything above, for commands that take all of it (readers). */
#define CLI_HELP_COMMON                                                                            \
	CLI_HELP_CREDENTIALS "\n" CLI_HELP_STORE "\n" CLI_HELP_TRUST "\n" CLI_HELP_GENERAL

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
	OPT_PASSPHRASE_COMMAND,
	OPT_PROFILE,
	OPT_ACCEPT_NEW_STORE,
	OPT_CONFIG_FAILED,   /* from getopt_long: a bad profile or EMBASSY_* value (reported) */
	OPT_CMD_BASE = 1100, /* commands number their own long-only options from here */
};

/* Option table groups, matching the CLI_HELP_* groups (no trailing comma). */
#define CLI_OPTS_PASSPHRASE                                                                        \
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},                         \
	{                                                                                          \
		"passphrase-command", required_argument, NULL, OPT_PASSPHRASE_COMMAND              \
	}
#define CLI_OPTS_CREDENTIALS                                                                       \
	CLI_OPTS_PASSPHRASE, {"key-file", required_argument, NULL, OPT_KEY_FILE},                  \
	    {"share-file", required_argument, NULL, OPT_SHARE_FILE},                               \
	{                                                                                          \
		"sealer-key", required_argument, NULL, OPT_SEALER_KEY                              \
	}
#define CLI_OPTS_SEALER                                                                            \
	{                                                                                          \
		"sealer-key", required_argument, NULL, OPT_SEALER_KEY                              \
	}
#define CLI_OPTS_STORE                                                                             \
	{"cacert", required_argument, NULL, OPT_CACERT},                                           \
	    {"tls-cert", required_argument, NULL, OPT_CERT},                                       \
	    {"tls-key", required_argument, NULL, OPT_KEY},                                         \
	    {"cert", required_argument, NULL, OPT_CERT},                                           \
	    {"key", required_argument, NULL, OPT_KEY},                                             \
	    {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},                             \
	{                                                                                          \
		"timeout", required_argument, NULL, OPT_TIMEOUT                                    \
	}
#define CLI_OPTS_TRUST                                                                             \
	{"allow-rollback", no_argument, NULL, OPT_ALLOW_ROLLBACK},                                 \
	    {"require-fresh", no_argument, NULL, OPT_REQUIRE_FRESH},                               \
	    {"min-sequence", required_argument, NULL, OPT_MIN_SEQUENCE},                           \
	    {"trust", required_argument, NULL, OPT_TRUST},                                         \
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},                                 \
	{                                                                                          \
		"accept-new-store", no_argument, NULL, OPT_ACCEPT_NEW_STORE                        \
	}
#define CLI_OPTS_GENERAL                                                                           \
	{"profile", required_argument, NULL, OPT_PROFILE}, {"quiet", no_argument, NULL, 'q'},      \
	    {"verbose", no_argument, NULL, 'v'},                                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* Put this into a command's struct option table (before its own entries): every group. */
#define CLI_COMMON_OPTIONS CLI_OPTS_CREDENTIALS, CLI_OPTS_STORE, CLI_OPTS_TRUST, CLI_OPTS_GENERAL

/* Short options every command takes; opts_getopt() adds them to a command's own. */
#define CLI_SHORT_OPTS "qvh"

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
	bool quiet; /* -q: no progress, notes or summaries (cli_quiet() says the same) */
	const char *passphrase_command; /* --passphrase-command: run with sh, first line read */
	const char *store;		/* EMBASSY_STORE or the profile's: STORE when left out */
	const char *profile;		/* --profile / EMBASSY_PROFILE, NULL if none */
	bool no_agent; /* open with the credentials only, not a key held by embassy agent */
};

struct cli_cmd {
	const char *name;
	const char *summary; /* one line for `embassy --help` */
	const char *help;    /* the full manual text */
	int (*run)(int argc, char **argv);
};

/* ---- opts.c ---- */
/* No command has a getopt loop of its own: each lists its options in a table and calls
 * opts_parse() (opts.h), whose one loop (opts_table.c) hands each result to opts_common()
 * first. The macro below routes that loop's getopt_long() through opts_getopt(), which adds
 * the short options every command takes (CLI_SHORT_OPTS: -q -v -h), the profile's values
 * (before the command line's, so flags win) and `embassy help --options` (which prints the
 * command's option table instead of parsing). main.c calls libc's (getopt_long) for the
 * words before the command. docs/CLI.md has the conventions. */
int opts_getopt(int argc, char *const *argv, const char *shortopts, const struct option *longopts,
		int *longindex);
#define getopt_long(argc, argv, shortopts, longopts, longindex)                                    \
	opts_getopt(argc, argv, shortopts, longopts, longindex)
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
/* Parse "512M", "2G", "64K", "1T" (powers of 1024, either case) or plain bytes. */
int opts_parse_size(const char *s, uint64_t *bytes);
/* The STORE argument: argv[optind] when the command line holds nargs + 1 positional
 * arguments (then optind moves past it), else the configured default (EMBASSY_STORE, the
 * profile) when it holds nargs. nargs < 0: at least -nargs others (seal PATH..., cat SPEC...);
 * then, with a default configured, the first is STORE only if it is a URL (scheme://) or a
 * directory holding a store. Returns NULL after printing a usage error that names what
 * else the command needs (`what`, e.g. "SNAPSHOT[:PATH] and TARGET"). */
const char *opts_store_arg(const struct cli_ctx *c, int argc, char **argv, int nargs,
			   const char *what);
/* The one positional argument of a command that takes only STORE (or, with none, the
 * configured default); NULL after the usage error "needs exactly one STORE" for none or
 * several. */
const char *opts_one_store(const struct cli_ctx *c, int argc, char **argv);
/* -q given (here or before the command)? */
bool cli_quiet(void);
/* A note for the operator on stderr ("embassy: ..."), unless -q. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a non-negative decimal number within max; -EINVAL otherwise. */
int opts_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Split "SNAPSHOT[:PATH]"; *snap is malloc'd, *path points into arg (or "" if none). */
int opts_split_spec(const char *arg, char **snap, const char **path);

/* main.c: -q, -v and --profile given before the command. */
void opts_set_global(bool quiet, int verbose, const char *profile);
/* `embassy help --options CMD`: the command's first getopt_long prints its table, exits. */
void opts_set_introspect(void);
bool cli_introspecting(void);
/* Running as mount.fuse.embassy: usage errors name -o spellings. */
void opts_set_helper(void);

/* ---- help.c ---- */
/* The i-th command linked in, NULL past the last (main.c). */
const struct cli_cmd *cli_command(size_t i);
/* `embassy --help`: synopsis, the aligned command list, profiles, environment, exit codes. */
void help_usage(FILE *f);
/* `embassy help [CMD | --commands | --options CMD | --man [CMD]]`. */
int help_run(int argc, char **argv);

/* ---- notify.c ---- */
/* sd_notify(3) without libsystemd: send msg ("READY=1") if NOTIFY_SOCKET is set. */
void cli_sd_notify(const char *msg);

/* ---- mount_helper.c ---- */
/* argv[0] is mount.fuse.embassy (mount -t fuse.embassy, fstab)? */
bool mount_helper_called(const char *argv0);
int mount_helper_run(int argc, char **argv);

/* ---- profile.c: /etc/embassy/NAME.conf, ~/.config/embassy/NAME.conf ---- */
/* Read profile NAME (a path if it holds a '/'). Lines are "key = value" (a key is a long
 * option's name, or store, mountpoint, path), '#' starts a comment. The file must not be
 * writable by others than its owner, who is root or the caller. Errors are printed. */
int profile_load(const char *name);
/* The i-th "key = value" line, in file order; false past the end. */
bool profile_entry(size_t i, const char **key, const char **val);
/* The last value of key, or NULL. */
const char *profile_get(const char *key);
/* Every value of key (e.g. path), up to max; returns how many. */
size_t profile_all(const char *key, const char **out, size_t max);
/* yes/true/on/1 → 1, no/false/off/0 → 0, else -1. */
int profile_bool(const char *v);

/* ---- passcmd.c ---- */
/* Run CMD with /bin/sh -c and read the first line it prints into buf (secure memory of
 * size bytes), NUL-terminated, *len without the newline. Returns an exit code (EXIT_AUTH
 * with a message when CMD fails or prints nothing). */
int passcmd_read(const char *cmd, char *buf, size_t size, size_t *len);

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
/* A passphrase from --passphrase-file, --passphrase-command or EMBASSY_PASSPHRASE, else asked
 * for on the terminal with prompt (key passwd's current passphrase). Returns an exit code. */
int auth_passphrase(const struct cli_ctx *c, const char *prompt, struct cli_auth *out);
/* A new passphrase from file, else from cmd, else the terminal (asked twice); the same
 * checks as --passphrase-file and --passphrase-command (key passwd). Returns an exit code. */
int auth_passphrase_from(const char *file, const char *cmd, struct cli_auth *out);
void auth_clear(struct cli_auth *a);
/* EXIT_USAGE (one line said) when url names several stores (remote_url_is_multi): the
 * commands that write refuse them. EXIT_OK otherwise. */
int cli_refuse_multi(const struct cli_ctx *c, const char *url);
/* Several embassies: an array of what each mirror served ({"url", "requests", "bytes",
 * "failures", "missing", "rejected", "cost_ms", "head", "head_seq", "down"}), for --json
 * summaries (docs/JSON.md). NULL for one store. */
struct json_t *cli_mirrors_json(const struct remote *r);
/* Open STORE with gathered credentials, reporting failures; returns an exit code. */
int cli_open_store(const struct cli_ctx *c, const char *url, bool need_sealer, struct store **out);

/* ---- cmd_prune.c (also run by forget --prune) ---- */
struct prune_opts;
struct prune_result;
/* Run prune_run with a progress bar and report failures; text: print the summary. Returns
 * an exit code. */
int cli_prune(const struct cli_ctx *c, struct store *s, struct prune_opts *po,
	      struct prune_result *r, const char *url, bool text);
/* --max-unused PERCENT (prune, forget --prune): an OPTS_CALL parser into a double. */
int cli_opt_max_unused(struct cli_ctx *c, const struct opts_spec *o, const char *arg);

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
/* Print a JSON value as one line on stdout (docs/JSON.md) and drop the reference; NULL (out
 * of memory) is an error. 0 or -errno. */
struct json_t;
int cli_print_json(struct json_t *o);
/* A JSON array, one element per line; drops the reference. 0 or -errno. */
int cli_print_json_list(struct json_t *arr);
/* Is the byte string valid UTF-8 without control characters? */
bool cli_utf8_ok(const char *s, size_t len);
/* Set o[key] to the name's bytes, or, when they are not printable UTF-8, to its escaped form
 * plus key_hex with the exact bytes (docs/JSON.md). */
void cli_json_set_name(struct json_t *o, const char *key, const char *s, size_t len);
/* "file", "dir", "symlink", "fifo", "chr", "blk", "socket" for an enum entry_type. */
const char *cli_entry_type(int type);

/* ---- progress.c ---- */
struct progress;
/* What a long piece of work has done. total_partial: the totals are still being counted
 * (shown as "2.7 GiB+", no ETA yet). items_label (e.g. "files") adds a second count. */
struct progress_counts {
	uint64_t done, total;
	uint64_t items_done, items_total;
	const char *items_label;
	bool total_partial;
};
/* A terminal bar on stderr: NULL (nothing drawn) unless stderr is a terminal and not -q. */
struct progress *progress_new(const char *label, bool bytes);
/* json: one {"type":"progress"} line on stdout now and then instead (docs/JSON.md), terminal
 * or not; else as progress_new. unit names the done/total fields: "bytes", "records". */
struct progress *progress_start(const char *label, const char *unit, bool json);
void progress_show(struct progress *p, const struct progress_counts *c);
void progress_update(struct progress *p, uint64_t done, uint64_t total);
void progress_free(struct progress *p); /* erases the bar */

/* ---- scan.c ---- */
/* Count the regular files and bytes under paths (each inode once) in a thread of its own;
 * NULL if it cannot start. scan_get reads the counts so far and whether the walk is done. */
struct scan;
struct scan *scan_start(const char *const *paths, size_t npaths);
void scan_get(struct scan *sc, uint64_t *files, uint64_t *bytes, bool *done);
void scan_stop(struct scan *sc);

/* ---- output.c ---- */
/* CLOCK_MONOTONIC in ns, for the elapsed_s of summaries. */
int64_t cli_monotonic_ns(void);
/* Seconds since start_ns, to the millisecond. */
double cli_elapsed_s(int64_t start_ns);

#endif
