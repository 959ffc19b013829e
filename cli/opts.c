/* opts: the options every command shares (credentials, TLS, S3 endpoint, timeout) and small
 * parsers for option values. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

#define TIMEOUT_MAX_S (24 * 3600)

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void opts_init(struct cli_ctx *c, const char *cmd)
{
	const char *t;
	uint64_t secs;

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->key_file = env_or_null("EMBASSY_KEY_FILE");
	c->ro.cacert = env_or_null("EMBASSY_CACERT");
	c->ro.cert = env_or_null("EMBASSY_CERT");
	c->ro.key = env_or_null("EMBASSY_KEY");
	c->ro.s3_endpoint = env_or_null("EMBASSY_S3_ENDPOINT");
	t = env_or_null("EMBASSY_TIMEOUT");
	/* A bad value in the environment is not worth failing for: warn, keep the default. */
	if (t && opts_parse_u64(t, TIMEOUT_MAX_S, &secs) == 0 && secs > 0)
		c->ro.timeout_s = (int)secs;
	else if (t)
		cli_warn("ignoring EMBASSY_TIMEOUT=%s (expected seconds, 1..%d)", t, TIMEOUT_MAX_S);
}

int opts_common(struct cli_ctx *c, int opt, const char *arg)
{
	uint64_t secs;

	switch (opt) {
	case OPT_PASSPHRASE_FILE:
		c->passphrase_file = arg;
		return 1;
	case OPT_KEY_FILE: /* repeatable: officers of a quorum */
		if (c->nkey_files == CLI_MAX_KEY_FILES) {
			opts_usage(c, "at most %d --key-file", CLI_MAX_KEY_FILES);
			return -EINVAL;
		}
		c->key_files[c->nkey_files++] = arg;
		c->key_file = c->key_files[0];
		return 1;
	case OPT_SHARE_FILE:
		if (c->nshare_files == CLI_MAX_KEY_FILES) {
			opts_usage(c, "at most %d --share-file", CLI_MAX_KEY_FILES);
			return -EINVAL;
		}
		c->share_files[c->nshare_files++] = arg;
		return 1;
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
		if (opts_parse_u64(arg, TIMEOUT_MAX_S, &secs) < 0 || secs == 0) {
			opts_usage(c, "--timeout needs a number of seconds (1..%d), not '%s'",
				   TIMEOUT_MAX_S, arg);
			return -EINVAL;
		}
		c->ro.timeout_s = (int)secs;
		return 1;
	case OPT_ALLOW_ROLLBACK:
		c->trust.allow_rollback = true;
		return 1;
	case OPT_REQUIRE_FRESH:
		c->trust.require_fresh = true;
		return 1;
	case OPT_MIN_SEQUENCE:
		if (opts_parse_u64(arg, INT64_MAX, &c->trust.min_seq) < 0) {
			opts_usage(c, "--min-sequence needs a number, not '%s'", arg);
			return -EINVAL;
		}
		return 1;
	case OPT_TRUST:
		if (strlen(arg) != 32 || strspn(arg, "0123456789abcdef") != 32) {
			opts_usage(c, "--trust needs a 32-hex-digit key fingerprint, not '%s'",
				   arg);
			return -EINVAL;
		}
		c->trust.trust_fpr = arg;
		return 1;
	case OPT_STATE_DIR:
		c->trust.state_dir = arg;
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

int opts_bad(const struct cli_ctx *c, char **argv)
{
	/* getopt_long with opterr = 0 leaves the offending word at argv[optind - 1] */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

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
