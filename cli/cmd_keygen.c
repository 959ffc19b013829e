/* keygen: a recipient key pair (X25519) for reading a store without a passphrase.
 * Formats (read by store_unlock.c for --key-file and --recipient; keep them exact):
 *   FILE      "embassy-recipient-key-v1\npublic <hex>\nsecret <hex>\n"  mode 0600
 *   FILE.pub  "embassy-recipient-pub-v1\npublic <hex>\n"                mode 0644 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"
#include "keyfile.h"
#include "secmem.h"
#include "wrap.h"

#define RKEY_LEN 32
/* header + "public " + 64 hex + "\nsecret " + 64 hex + "\n" + 16 "trust <32 hex>\n" lines */
#define KEYFILE_MAX 1024
#define MAX_TRUST   16

static const char help[] =
    "NAME\n"
    "  embassy keygen - create a recipient key pair (FILE, FILE.pub) for reading a store\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy keygen FILE [--trust FINGERPRINT]...\n"
    "  embassy keygen --signing FILE\n"
    "\n"
    "DESCRIPTION\n"
    "  Writes a new X25519 key pair: the secret key file FILE (mode 0600) and the public\n"
    "  key FILE.pub. Neither may exist. Give FILE.pub to the sealer, who passes it to\n"
    "  'embassy init --recipient' (or 'embassy key add'); the holder of FILE then reads the\n"
    "  store with '--key-file FILE' instead of a passphrase. The public key is printed\n"
    "  in hex on standard output.\n"
    "\n"
    "  FILE      embassy-recipient-key-v1 / public <hex> / secret <hex>\n"
    "  FILE.pub  embassy-recipient-pub-v1 / public <hex>\n"
    "\n"
    "  Keep FILE offline, e.g. on a token in a safe; embassy refuses a key file that is\n"
    "  readable by group or others.\n"
    "\n"
    "  The public key is not a secret, and it does not have to be: anyone who has it can\n"
    "  make a store of their own whose key entry FILE opens, so FILE should also say which\n"
    "  signing key it trusts. --trust writes that anchor ('trust FINGERPRINT', the\n"
    "  fingerprint 'embassy init' printed for the store); 'embassy key pin' adds one later.\n"
    "  A store opened with an anchored key file must be signed by an anchored key.\n"
    "\n"
    "  With --signing it writes an Ed25519 signing key pair instead (FORMAT.md 19): an\n"
    "  officer's key for signing root document versions ('embassy key root', 'key\n"
    "  rotate-signing'), or the timestamp key of 'refresh-head --timestamp-key'.\n"
    "\n"
    "  FILE      embassy-signing-key-v1 / public <hex> / secret <hex>\n"
    "  FILE.pub  embassy-signing-pub-v1 / public <hex>\n"
    "\n"
    "  With -q the public key is not printed.\n"
    "\n"
    "OPTIONS\n"
    "  --trust FINGERPRINT     anchor FILE to this signing key (32 hex; repeatable, up to\n"
    "                          16)\n"
    "  --signing               an Ed25519 signing key pair (officer or timestamp key)\n"
    "\n" CLI_HELP_GENERAL "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy keygen /media/token/officer1.key\n"
    "  embassy ls --key-file /media/token/officer1.key /srv/embassy latest\n";

/* Write buf to a new file (O_EXCL: never replace a key) with exactly mode, durably. */
static int write_new(const char *path, const char *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	int ret = 0;

	if (fd < 0)
		return -errno;
	/* the umask could only remove bits, but a public key should be readable: set exactly */
	if (fchmod(fd, mode) < 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

static int keygen(const char *file, const char *const *trust, size_t ntrust,
		  char pkhex[2 * RKEY_LEN + 1])
{
	uint8_t pk[RKEY_LEN], *sk = secmem_alloc(RKEY_LEN);
	char *text = secmem_alloc(KEYFILE_MAX), *pubfile = NULL, *skhex;
	int n, ret = EXIT_FAIL, err;

	if (!sk || !text || asprintf(&pubfile, "%s.pub", file) < 0) {
		pubfile = NULL;
		cli_error("out of memory");
		goto out;
	}
	if (access(pubfile, F_OK) == 0) {
		cli_error("%s already exists; refusing to overwrite a key", pubfile);
		goto out;
	}
	if (wrap_recipient_keypair(pk, sk) < 0) {
		cli_error("cannot generate a key pair");
		goto out;
	}
	hex_encode(pk, RKEY_LEN, pkhex);
	/* the secret's hex goes into secmem too: it is as secret as the key */
	skhex = text + KEYFILE_MAX - (2 * RKEY_LEN + 1);
	hex_encode(sk, RKEY_LEN, skhex);
	n = snprintf(text, KEYFILE_MAX - (2 * RKEY_LEN + 1),
		     "embassy-recipient-key-v1\npublic %s\nsecret ", pkhex);
	memmove(text + n, skhex, 2 * RKEY_LEN);
	text[n + 2 * RKEY_LEN] = '\n';
	n += 2 * RKEY_LEN + 1;
	for (size_t i = 0; i < ntrust; i++) /* fits: 16 lines of 39 bytes */
		n += snprintf(text + n, KEYFILE_MAX - (size_t)n, "trust %s\n", trust[i]);
	err = write_new(file, text, (size_t)n, 0600);
	if (err < 0) {
		cli_error("cannot write key file %s: %s%s", file, strerror(-err),
			  err == -EEXIST ? "; refusing to overwrite a key" : "");
		goto out;
	}
	n = snprintf(text, KEYFILE_MAX, "embassy-recipient-pub-v1\npublic %s\n", pkhex);
	err = write_new(pubfile, text, (size_t)n, 0644);
	if (err < 0) {
		cli_error("cannot write public key %s: %s", pubfile, strerror(-err));
		unlink(file); /* half a key pair is of no use */
		goto out;
	}
	ret = EXIT_OK;
out:
	secmem_free(sk);
	secmem_free(text);
	free(pubfile);
	return ret;
}

/* An officer's or the timestamp key: Ed25519, FILE (0600) and FILE.pub (FORMAT.md 19). */
static int keygen_signing(const char *file, char pkhex[2 * RKEY_LEN + 1])
{
	uint8_t pk[SIGN_PK_LEN], *sk = secmem_alloc(SIGN_SK_LEN);
	char *pubfile = NULL;
	int err, ret = EXIT_FAIL;

	if (!sk || asprintf(&pubfile, "%s.pub", file) < 0) {
		pubfile = NULL;
		cli_error("out of memory");
		goto out;
	}
	if (access(pubfile, F_OK) == 0) {
		cli_error("%s already exists; refusing to overwrite a key", pubfile);
		goto out;
	}
	sign_keypair(pk, sk);
	err = keyfile_write_signing(file, sk);
	if (err < 0) {
		cli_error("cannot write key file %s: %s%s", file, strerror(-err),
			  err == -EEXIST ? "; refusing to overwrite a key" : "");
		goto out;
	}
	chmod(pubfile, 0644); /* public: readable whatever the umask */
	hex_encode(pk, SIGN_PK_LEN, pkhex);
	ret = EXIT_OK;
out:
	secmem_free(sk);
	free(pubfile);
	return ret;
}

struct keygen_args {
	const char *trust[MAX_TRUST];
	size_t ntrust;
	bool signing;
};

static int opt_trust(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct keygen_args *a = o->target;

	if (strlen(arg) != 32 || strspn(arg, "0123456789abcdef") != 32)
		return opts_usage(c, "--trust needs a 32-hex-digit key fingerprint, not '%s'", arg);
	if (a->ntrust == MAX_TRUST)
		return opts_usage(c, "at most %d --trust", MAX_TRUST);
	a->trust[a->ntrust++] = arg;
	return 0;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	char pkhex[2 * RKEY_LEN + 1];
	struct keygen_args a = {.ntrust = 0};
	int ret;
	const struct opts_spec options[] = {OPTS_CALL(0, "trust", required_argument, opt_trust, &a),
					    OPTS_FLAG(0, "signing", &a.signing), OPTS_END};

	opts_init(&c, "keygen");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_OPTS_GENERAL), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (argc - optind != 1)
		return opts_usage(&c, "needs exactly one FILE");
	if (a.signing && a.ntrust)
		return opts_usage(&c, "--signing takes no --trust (a signing key anchors nothing)");
	ret = a.signing ? keygen_signing(argv[optind], pkhex)
			: keygen(argv[optind], a.trust, a.ntrust, pkhex);
	if (ret == EXIT_OK && !cli_quiet())
		printf("%s\n", pkhex);
	return ret;
}

const struct cli_cmd cli_cmd_keygen = {
    "keygen", "create a recipient key pair (FILE, FILE.pub) for reading a store", help, run};
