/* opts: the options every command shares (credentials, TLS, S3 endpoint, timeout, profile,
 * -q/-v/-h), where their defaults come from, and small parsers for option values.
 *
 * Precedence, for every setting: a flag on the command line beats the environment
 * (EMBASSY_*), which beats the profile (--profile NAME). opts_init() applies the
 * environment; opts_getopt() then hands the command the profile's values it has no flag or
 * environment variable for, as if they came first on the command line, and then the real
 * command line. One process runs one command, so the state of that parse lives here. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "secenv.h"

#define TIMEOUT_MAX_S	 (24 * 3600)
#define SYSTEM_STATE_DIR "/var/lib/embassy"
#define MAX_SEEN	 64

/* Where a setting came from; higher wins. */
enum source { SRC_NONE, SRC_PROFILE, SRC_ENV, SRC_FLAG };

/* Common options that have an environment variable (old spelling second, may be NULL). */
static const struct env_opt {
	const char *name, *env, *env_old;
	int opt;
} env_opts[] = {
    {"passphrase-file", "EMBASSY_PASSPHRASE_FILE", NULL, OPT_PASSPHRASE_FILE},
    {"passphrase-command", "EMBASSY_PASSPHRASE_COMMAND", NULL, OPT_PASSPHRASE_COMMAND},
    {"key-file", "EMBASSY_KEY_FILE", NULL, OPT_KEY_FILE},
    {"sealer-key", "EMBASSY_SEALER_KEY", NULL, OPT_SEALER_KEY},
    {"cacert", "EMBASSY_CACERT", NULL, OPT_CACERT},
    {"tls-cert", "EMBASSY_TLS_CERT", "EMBASSY_CERT", OPT_CERT},
    {"tls-key", "EMBASSY_TLS_KEY", "EMBASSY_KEY", OPT_KEY},
    {"s3-endpoint", "EMBASSY_S3_ENDPOINT", NULL, OPT_S3_ENDPOINT},
    {"timeout", "EMBASSY_TIMEOUT", NULL, OPT_TIMEOUT},
    {"trust", "EMBASSY_TRUST", NULL, OPT_TRUST},
    {"state-dir", "EMBASSY_STATE_DIR", NULL, OPT_STATE_DIR},
};

static struct {
	struct cli_ctx *ctx;	    /* the command's, from opts_init */
	enum source src;	    /* of the value being handled now */
	bool started, finished;	    /* opts_getopt: first call done / -1 returned */
	bool profile_done;	    /* every profile value handed out */
	bool introspect;	    /* embassy help --options: print the table, exit */
	bool helper;		    /* run as mount.fuse.embassy: options are -o spellings */
	bool quiet;		    /* -q anywhere */
	int verbose;		    /* -v before the command */
	const char *global_profile; /* --profile before the command */
	bool failed;		    /* a bad environment value or profile (reported) */
	/* what the user's command line sets, so the profile does not override it */
	int seen[MAX_SEEN];
	size_t nseen;
	size_t next_profile; /* next profile entry to hand out */
	enum source pass_file_src, pass_cmd_src, key_src;
} st;

static const char *env_value(const struct env_opt *e)
{
	const char *v = getenv(e->env);

	if ((!v || !*v) && e->env_old)
		v = getenv(e->env_old);
	return v && *v ? v : NULL;
}

void opts_set_global(bool quiet, int verbose, const char *profile)
{
	st.quiet = quiet;
	st.verbose = verbose;
	st.global_profile = profile;
}

void opts_set_introspect(void)
{
	st.introspect = true;
}

bool cli_introspecting(void)
{
	return st.introspect;
}

void opts_set_helper(void)
{
	st.helper = true;
}

bool cli_quiet(void)
{
	return st.quiet;
}

void cli_note(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (st.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "embassy: %s\n", buf);
}

void opts_init(struct cli_ctx *c, const char *cmd)
{
	const char *v;

	memset(c, 0, sizeof(*c));
	memset(&st.seen, 0, sizeof(st.seen));
	st.ctx = c;
	st.started = st.finished = st.profile_done = false;
	st.nseen = st.next_profile = 0;
	st.pass_file_src = st.pass_cmd_src = st.key_src = SRC_NONE;
	c->cmd = cmd;
	c->quiet = st.quiet;
	c->verbose = st.verbose;
	st.src = SRC_ENV;
	for (size_t i = 0; i < sizeof(env_opts) / sizeof(env_opts[0]); i++) {
		if (!(v = env_value(&env_opts[i])))
			continue;
		if (opts_common(c, env_opts[i].opt, v) < 0)
			st.failed = true; /* reported; the command stops at its first option */
	}
	v = getenv("EMBASSY_STORE");
	c->store = v && *v ? v : NULL;
	/* root without a home (fstab, systemd units): the system's place, not /root's */
	if (!c->trust.state_dir && !getenv("HOME") && !getenv("XDG_STATE_HOME") && geteuid() == 0)
		c->trust.state_dir = SYSTEM_STATE_DIR;
	st.src = SRC_FLAG;
}

/* Report a bad value, naming where it came from. */
static int bad_value(const struct cli_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad_value(const struct cli_ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (st.src == SRC_ENV)
		cli_error("%s (from the environment)", buf);
	else if (st.src == SRC_PROFILE)
		cli_error("%s (from profile %s)", buf, c->profile ? c->profile : "?");
	else
		opts_usage(c, "%s", buf);
	return -EINVAL;
}

static int set_trust(struct cli_ctx *c, const char *arg)
{
	if (strlen(arg) != 32 || strspn(arg, "0123456789abcdef") != 32)
		return bad_value(c, "--trust needs a 32-hex-digit key fingerprint, not '%s'", arg);
	c->trust.trust_fpr = arg;
	return 1;
}

static int set_timeout(struct cli_ctx *c, const char *arg)
{
	int64_t secs;

	if (opts_parse_duration(arg, &secs) < 0 || secs > TIMEOUT_MAX_S)
		return bad_value(c,
				 "--timeout needs a duration like 60s or 5m (at most 24h), not "
				 "'%s'",
				 arg);
	c->ro.timeout_s = (int)secs;
	return 1;
}

static int add_file(struct cli_ctx *c, const char **v, size_t *n, const char *what, const char *arg)
{
	if (*n == CLI_MAX_KEY_FILES)
		return bad_value(c, "at most %d %s", CLI_MAX_KEY_FILES, what);
	v[(*n)++] = arg;
	return 1;
}

/* Credentials and store access. */
static int common_access(struct cli_ctx *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_PASSPHRASE_FILE:
		c->passphrase_file = arg;
		st.pass_file_src = st.src;
		return 1;
	case OPT_PASSPHRASE_COMMAND:
		c->passphrase_command = arg;
		st.pass_cmd_src = st.src;
		return 1;
	case OPT_KEY_FILE: /* repeatable: officers of a quorum; the environment gives one */
		st.key_src = st.src;
		if (st.src == SRC_ENV) {
			c->key_file = arg;
			return 1;
		}
		if (add_file(c, c->key_files, &c->nkey_files, "--key-file", arg) < 0)
			return -EINVAL;
		c->key_file = c->key_files[0];
		return 1;
	case OPT_SHARE_FILE:
		st.key_src = st.src > st.key_src ? st.src : st.key_src;
		return add_file(c, c->share_files, &c->nshare_files, "--share-file", arg);
	case OPT_SEALER_KEY:
		c->sealer_key = arg;
		return 1;
	case OPT_CACERT:
		c->ro.cacert = arg;
		return 1;
	case OPT_CERT:
		c->ro.cert = arg;
		return 1;
	case OPT_KEY:
		c->ro.key = arg;
		return 1;
	case OPT_S3_ENDPOINT:
		c->ro.s3_endpoint = arg;
		return 1;
	case OPT_TIMEOUT:
		return set_timeout(c, arg);
	default:
		return 0;
	}
}

int opts_common(struct cli_ctx *c, int opt, const char *arg)
{
	int r = common_access(c, opt, arg);

	if (r)
		return r;
	switch (opt) {
	case OPT_ALLOW_ROLLBACK:
		c->trust.allow_rollback = true;
		return 1;
	case OPT_REQUIRE_FRESH:
		c->trust.require_fresh = true;
		return 1;
	case OPT_MIN_SEQUENCE:
		if (opts_parse_u64(arg, INT64_MAX, &c->trust.min_seq) < 0)
			return bad_value(c, "--min-sequence needs a number, not '%s'", arg);
		return 1;
	case OPT_TRUST:
		return set_trust(c, arg);
	case OPT_STATE_DIR:
		c->trust.state_dir = arg;
		return 1;
	case OPT_PROFILE: /* read before the command line (opts_getopt) */
		return 1;
	case OPT_CONFIG_FAILED: /* a bad environment value or profile, already reported */
		return -EINVAL;
	case OPT_ACCEPT_NEW_STORE:
		c->trust.accept_new_store = true;
		return 1;
	case 'q':
		st.quiet = c->quiet = true;
		return 1;
	case 'v':
		log_set_level(++c->verbose);
		return 1;
	case 'h':
		c->help = true;
		return 1;
	default:
		return 0;
	}
}

/* ---- reporting (a command's own options: opts_table.c) ---- */

int opts_bad(const struct cli_ctx *c, char **argv)
{
	/* getopt_long with opterr = 0 leaves the offending word at argv[optind - 1] */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	if (st.src == SRC_PROFILE)
		return opts_usage(c, "profile %s sets an option this command cannot use",
				  c->profile);
	if (st.helper && strncmp(word, "--", 2) == 0) {
		/* say it in the spelling of the fstab line the operator wrote */
		size_t n = strcspn(word + 2, "=");
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)(n < sizeof(key) ? n : sizeof(key) - 1),
			 word + 2);
		for (char *p = key; *p; p++)
			*p = *p == '-' ? '_' : *p;
		cli_error("mount.fuse.embassy: option '%s' is unknown, needs a value (%s=...) or "
			  "takes none; the -o options are those of 'embassy mount' with '_' for "
			  "'-' (see 'embassy help mount')",
			  key, key);
		return EXIT_USAGE;
	}
	if (optopt && optopt < 256 && strncmp(word, "--", 2) != 0)
		return opts_usage(c, "invalid option or missing argument: -%c", optopt);
	return opts_usage(c, "invalid option or missing argument: %s", word);
}

int opts_help(const struct cli_ctx *c)
{
	const struct cli_cmd *cmd = cli_find(c->cmd);

	if (cmd)
		fputs(cmd->help, stdout);
	return EXIT_OK;
}

int opts_usage(const struct cli_ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "embassy: error: %s %s (see 'embassy %s --help')\n", c->cmd, buf, c->cmd);
	return EXIT_USAGE;
}

/* ---- the shared getopt loop ---- */

/* `embassy help --options CMD`: one line per option, "=" after those taking a value. */
static void print_table(const char *shortopts, const struct option *longopts)
{
	for (const char *s = shortopts; *s; s++) {
		if (*s == '+' || *s == '-' || *s == ':')
			continue;
		printf("-%c%s\n", *s, s[1] == ':' ? "=" : "");
		while (s[1] == ':')
			s++;
	}
	for (const struct option *o = longopts; o && o->name; o++)
		printf("--%s%s\n", o->name,
		       o->has_arg == required_argument	 ? "="
		       : o->has_arg == optional_argument ? "[=]"
							 : "");
	fflush(stdout);
}

static void note_seen(int opt)
{
	if (st.nseen < MAX_SEEN)
		st.seen[st.nseen++] = opt;
}

static bool was_seen(int opt)
{
	for (size_t i = 0; i < st.nseen; i++)
		if (st.seen[i] == opt)
			return true;
	return false;
}

/* A silent first pass over the command line: which options it sets (so the profile leaves
 * them alone) and which profile it names. getopt permutes argv as the real pass will. */
static const char *prescan(int argc, char *const *argv, const char *shortopts,
			   const struct option *longopts)
{
	const char *profile = NULL;
	int opt, saved = opterr;

	opterr = 0;
	optind = 0;
	while ((opt = (getopt_long)(argc, argv, shortopts, longopts, NULL)) != -1) {
		note_seen(opt);
		if (opt == OPT_PROFILE)
			profile = optarg;
	}
	optind = 0; /* glibc: 0 re-initialises getopt for the real pass */
	opterr = saved;
	return profile;
}

/* The profile's next value for an option of this command, or 0 when none is left. */
static int next_from_profile(const struct option *longopts)
{
	const char *key, *val;
	const struct option *o;

	while (profile_entry(st.next_profile++, &key, &val)) {
		for (o = longopts; o && o->name && strcmp(o->name, key) != 0; o++)
			;
		if (!o || !o->name || was_seen(o->val))
			continue; /* another command's option, or the command line sets it */
		for (size_t i = 0; i < sizeof(env_opts) / sizeof(env_opts[0]); i++)
			if (env_opts[i].opt == o->val && env_value(&env_opts[i]))
				goto skip; /* the environment beats the profile */
		if (o->has_arg == no_argument) {
			int b = profile_bool(val);

			if (b < 0) {
				cli_error("profile %s: '%s = %s' needs yes or no", st.ctx->profile,
					  key, val);
				return OPT_CONFIG_FAILED;
			}
			if (!b)
				continue;
		}
		optarg = (char *)val;
		return o->val;
	skip:;
	}
	return 0;
}

/* Once the command line is read: one passphrase source, and the credential given with the
 * highest precedence (flag, environment, profile) is the one used. */
static int settle(struct cli_ctx *c)
{
	const char *envpass = secenv_get("EMBASSY_PASSPHRASE"); /* out of environ (main.c) */
	enum source pass = st.pass_file_src > st.pass_cmd_src ? st.pass_file_src : st.pass_cmd_src;

	if (c->passphrase_file && c->passphrase_command) {
		if (st.pass_file_src == st.pass_cmd_src) {
			opts_usage(c, "give --passphrase-file or --passphrase-command, not both");
			return OPT_CONFIG_FAILED;
		}
		if (st.pass_file_src > st.pass_cmd_src)
			c->passphrase_command = NULL;
		else
			c->passphrase_file = NULL;
	}
	if (envpass && *envpass && pass < SRC_ENV) {
		c->passphrase_file = c->passphrase_command = NULL; /* env beats the profile */
		pass = SRC_ENV;
	}
	if (st.key_src && pass > st.key_src) {
		c->key_file = NULL; /* e.g. --passphrase-file beats EMBASSY_KEY_FILE */
		c->nkey_files = c->nshare_files = 0;
	}
	return -1;
}

static int start(struct cli_ctx *c, int argc, char *const *argv, const char *shortopts,
		 const struct option *longopts)
{
	const char *name = prescan(argc, argv, shortopts, longopts);
	const char *envname = getenv("EMBASSY_PROFILE");

	if (!name)
		name =
		    st.global_profile ? st.global_profile : (envname && *envname ? envname : NULL);
	if (name) {
		c->profile = name;
		if (profile_load(name) < 0)
			return OPT_CONFIG_FAILED;
		if (!c->store)
			c->store = profile_get("store");
	}
	return st.failed ? OPT_CONFIG_FAILED : 0;
}

int opts_getopt(int argc, char *const *argv, const char *shortopts, const struct option *longopts,
		int *longindex)
{
	static char buf[128];
	const char *s = shortopts;
	size_t n = 0;
	int opt;

	/* GNU getopt's leading flags stay first; then the short options every command takes */
	while ((*s == '+' || *s == '-' || *s == ':') && n < 3)
		buf[n++] = *s++;
	for (const char *q = CLI_SHORT_OPTS; *q; q++)
		if (!strchr(s, *q))
			buf[n++] = *q;
	snprintf(buf + n, sizeof(buf) - n, "%s", s);
	if (st.introspect) {
		print_table(buf, longopts);
		exit(EXIT_OK);
	}
	if (st.finished || !st.ctx)
		return (getopt_long)(argc, argv, buf, longopts, longindex);
	if (!st.started) {
		st.started = true;
		if ((opt = start(st.ctx, argc, argv, buf, longopts)) != 0) {
			st.finished = true;
			return opt;
		}
	}
	if (st.ctx->profile && !st.profile_done) {
		st.src = SRC_PROFILE;
		if ((opt = next_from_profile(longopts)) != 0)
			return opt;
		st.profile_done = true;
	}
	st.src = SRC_FLAG;
	opt = (getopt_long)(argc, argv, buf, longopts, longindex);
	if (opt == -1) {
		st.finished = true;
		return settle(st.ctx);
	}
	return opt;
}

/* ---- positional arguments ---- */

/* A STORE given where the default could be meant: a URL, or a directory holding a store. */
static bool looks_like_store(const char *arg)
{
	struct stat sb;
	char *p;
	bool yes;

	if (strstr(arg, "://"))
		return true;
	if (asprintf(&p, "%s/embassy.json", arg) < 0)
		return false;
	yes = stat(p, &sb) == 0;
	free(p);
	return yes;
}

const char *opts_store_arg(const struct cli_ctx *c, int argc, char **argv, int nargs,
			   const char *what)
{
	int have = argc - optind;

	if (nargs >= 0) {
		if (have == nargs + 1)
			return argv[optind++];
		if (have == nargs && c->store)
			return c->store;
	} else {
		if (have > -nargs && (!c->store || looks_like_store(argv[optind])))
			return argv[optind++];
		if (have >= -nargs && c->store)
			return c->store;
	}
	if (*what)
		opts_usage(c, "needs STORE and %s", what);
	else
		opts_usage(c, "needs exactly one STORE");
	return NULL;
}

const char *opts_one_store(const struct cli_ctx *c, int argc, char **argv)
{
	return opts_store_arg(c, argc, argv, 0, "");
}

/* ---- value parsers ---- */

int opts_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int opts_parse_duration(const char *s, int64_t *secs)
{
	static const struct {
		char suffix;
		int64_t mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	/* ten years is plenty for a head pointer's validity, and keeps * mult in range */
	const uint64_t max_s = 10ull * 366 * 86400;
	char num[32];
	size_t len = s ? strlen(s) : 0;
	int64_t mult = 1;
	uint64_t v;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[len - 1] == units[i].suffix) {
			mult = units[i].mult;
			num[--len] = '\0';
			break;
		}
	}
	if (opts_parse_u64(num, max_s, &v) < 0 || v == 0 || v * (uint64_t)mult > max_s)
		return -EINVAL;
	*secs = (int64_t)v * mult;
	return 0;
}

int opts_parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	char num[32];
	size_t len = s ? strlen(s) : 0;
	const char *u;
	uint64_t v;
	int shift = 0;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	if ((num[len - 1] | 0x20) >= 'a' && (num[len - 1] | 0x20) <= 'z') {
		u = strchr(units, num[len - 1] & ~0x20);
		if (!u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		num[--len] = '\0';
	}
	if (opts_parse_u64(num, UINT64_MAX >> shift, &v) < 0)
		return -EINVAL;
	*bytes = v << shift;
	return 0;
}

int opts_split_spec(const char *arg, char **snap, const char **path)
{
	/* Snapshot ids are hex or "latest", so the first ':' ends them; the path may hold ':' */
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	*snap = strndup(arg, n);
	if (!*snap)
		return -ENOMEM;
	*path = colon ? colon + 1 : "";
	return 0;
}
