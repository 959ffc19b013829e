/* opts: a command's own options as a table, parsed by one shared loop.
 *
 * A command lists its options (long name, short letter, what the value becomes) in an
 * array of struct opts_spec ending with OPTS_END, and calls opts_parse() with the groups of
 * common options it takes (CLI_OPTS_* in cli.h). opts_parse() runs the getopt_long loop
 * every command used to copy: common options first (opts_common: credentials, store
 * access, trust, --profile, -q/-v/-h), then the table; an option of neither is a usage
 * error (opts_bad). The profile, the environment and `embassy help --options` come with it
 * (opts_getopt). --help only sets c->help: the command prints it (opts_help) after the
 * parse, as before, so a bad value after --help is still reported.
 *
 * Bad values are reported with the spec's message, in which {arg} stands for the value
 * given and {min}/{max} for the spec's bounds; the exit code is EXIT_USAGE. */
#ifndef EMBASSY_OPTS_H
#define EMBASSY_OPTS_H
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_ctx;

enum opts_kind {
	OPTS_K_FLAG,	 /* bool: set */
	OPTS_K_STRING,	 /* const char *: the argument (the last one given wins) */
	OPTS_K_LIST,	 /* const char *[max], *count of them: each argument appended */
	OPTS_K_U64,	 /* uint64_t in min..max */
	OPTS_K_INT,	 /* int in min..max */
	OPTS_K_DURATION, /* int64_t seconds ("7d", "12h", ...), 1..max (max 0: any) */
	OPTS_K_SIZE,	 /* uint64_t bytes ("512M", ...), min..max (max 0: any) */
	OPTS_K_CALL,	 /* call(c, spec, arg): 0, or the exit code to stop with */
	OPTS_K_TABLE,	 /* another table's entries, in this place (target: the table) */
};

struct opts_spec {
	const char *name; /* the long name, NULL for a short option only */
	int has_arg;	  /* no_argument, required_argument or optional_argument */
	int letter;	  /* its short option letter, 0 for none */
	enum opts_kind kind;
	void *target;  /* what the value is written to (typed by the OPTS_* macro) */
	size_t *count; /* OPTS_K_LIST: how many target holds */
	uint64_t min, max;
	const char *err; /* the usage message for a bad value or a full list */
	int (*call)(struct cli_ctx *c, const struct opts_spec *o, const char *arg);
};

/* The table entries. The casts are compound literals, so a target of the wrong type is a
 * compile error (incompatible pointer types), not a silent misparse. */
#define OPTS_FLAG(letter_, name_, ptr)                                                             \
	{                                                                                          \
		.name = (name_), .has_arg = no_argument, .letter = (letter_), .kind = OPTS_K_FLAG, \
		.target = (bool *)                                                                 \
		{                                                                                  \
			ptr                                                                        \
		}                                                                                  \
	}
#define OPTS_STRING(letter_, name_, ptr)                                                           \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_STRING, .target = (const char **)                                   \
		{                                                                                  \
			ptr                                                                        \
		}                                                                                  \
	}
/* err: for a full list; NULL says "at most {max} --NAME" */
#define OPTS_LIST(letter_, name_, arr, cnt, max_, err_)                                            \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_LIST, .target = (const char **){arr}, .count = (size_t *){cnt},     \
		.max = (max_), .err = (err_)                                                       \
	}
#define OPTS_U64(letter_, name_, ptr, min_, max_, err_)                                            \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_U64, .target = (uint64_t *){ptr}, .min = (min_), .max = (max_),     \
		.err = (err_)                                                                      \
	}
#define OPTS_INT(letter_, name_, ptr, min_, max_, err_)                                            \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_INT, .target = (int *){ptr}, .min = (min_), .max = (max_),          \
		.err = (err_)                                                                      \
	}
#define OPTS_DURATION(letter_, name_, ptr, max_, err_)                                             \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_DURATION, .target = (int64_t *){ptr}, .min = 1, .max = (max_),      \
		.err = (err_)                                                                      \
	}
#define OPTS_SIZE(letter_, name_, ptr, min_, max_, err_)                                           \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_SIZE, .target = (uint64_t *){ptr}, .min = (min_), .max = (max_),    \
		.err = (err_)                                                                      \
	}
/* DURATION, or exactly "0" for 0 (a period that can be turned off) */
#define OPTS_DURATION_OR_0(letter_, name_, ptr, max_, err_)                                        \
	{                                                                                          \
		.name = (name_), .has_arg = required_argument, .letter = (letter_),                \
		.kind = OPTS_K_DURATION, .target = (int64_t *){ptr}, .min = 0, .max = (max_),      \
		.err = (err_)                                                                      \
	}
/* fn(c, spec, arg) parses into spec->target and reports on its own (spec->name says which
 * option, for a parser shared by several); returns 0 or the exit code */
#define OPTS_CALL(letter_, name_, has_arg_, fn, ptr)                                               \
	{                                                                                          \
		.name = (name_), .has_arg = (has_arg_), .letter = (letter_), .kind = OPTS_K_CALL,  \
		.target = (ptr), .call = (fn)                                                      \
	}
/* The entries of another table (ending with OPTS_END) in this place: a part of a command
 * with options of its own (mount's --rw) keeps them in its own table. */
#define OPTS_TABLE(table)                                                                          \
	{                                                                                          \
		.kind = OPTS_K_TABLE, .target = (void *)(const struct opts_spec *)                 \
		{                                                                                  \
			table                                                                      \
		}                                                                                  \
	}
#define OPTS_END                                                                                   \
	{                                                                                          \
		.name = NULL, .letter = 0                                                          \
	}

/* The common option groups a command takes, for opts_parse(): OPTS_COMMON(CLI_OPTS_SEALER,
 * CLI_OPTS_STORE, CLI_OPTS_GENERAL). */
#define OPTS_COMMON(...) ((const struct option[]){__VA_ARGS__, {NULL, 0, NULL, 0}})

/* Parse the command line: the common options of `common` (a CLI_OPTS_* table ending with a
 * NULL name; NULL for none) and the command's own of `spec`. 0 when parsed (optind at the
 * first operand), else the exit code (the error was printed). opts_init() comes first.
 * spec may be NULL: the command has no options of its own. */
int opts_parse(struct cli_ctx *c, int argc, char **argv, const struct option *common,
	       const struct opts_spec *spec);

#endif
