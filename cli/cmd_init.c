/* init: create an empty store and the sealer's identity. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "keyfile.h"

#define MAX_RECIPIENTS	256
#define KDF_MEM_MAX_MIB 4096u
#define KDF_OPS_MAX	64u

static const char help[] =
    "NAME\n"
    "  embassy init - create an empty store and the sealer's identity\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy init STORE --sealer-key FILE [--recipient PUBFILE]...\n"
    "               [--quorum M --officer PUBFILE...]\n"
    "               [--passphrase-file FILE | --passphrase-command CMD]\n"
    "               [--kdf-memory MiB --kdf-ops N] [--format N] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Creates an empty embassy store at STORE and prints its store id. The sealer's\n"
    "  identity (the master key and the Ed25519 signing secret) is written to the\n"
    "  --sealer-key FILE with mode 0600; FILE must not exist. Keep it at home: it is the\n"
    "  only thing that can seal (and sign) snapshots.\n"
    "\n"
    "  The master key is wrapped for recovery into the store's keys/: under the recovery\n"
    "  passphrase (see PASSPHRASE below; else asked twice on the terminal) and for each\n"
    "  --recipient public key file made by 'embassy keygen'. A recovery host holding\n"
    "  either can read, but never forge, snapshots: the signing secret is not in the\n"
    "  store in a form they can use.\n"
    "\n"
    "  With --quorum M and N --officer public key files, the master key is also put in\n"
    "  one quorum entry that any M of the N officers open together, and fewer cannot:\n"
    "  each officer's recipient key file opens one Shamir share. Officers who meet give\n"
    "  their key files as repeated --key-file options; officers apart each run 'embassy\n"
    "  key share' and the share files are given as repeated --share-file options.\n"
    "\n"
    "OPTIONS\n"
    "  --sealer-key FILE       where to write the sealer's identity (required)\n"
    "  --recipient PUBFILE     also wrap the master key to this public key; repeatable.\n"
    "                          With recipients or a quorum the passphrase is optional\n"
    "                          (an empty answer at the prompt, or no terminal, means\n"
    "                          none).\n"
    "  --quorum M              with --officer: how many officers must act together\n"
    "                          (1 <= M <= N <= 255)\n"
    "  --officer PUBFILE       an officer's public key file ('embassy keygen'); repeat it\n"
    "                          for each of the N officers, each a different key\n"
    "  --kdf-memory MiB        Argon2id memory for the passphrase entry (default 256)\n"
    "  --kdf-ops N             Argon2id passes (default 3). Lower values only for tests.\n"
    "  --format N              store format version (default and highest: 2). Format 1\n"
    "                          stores are readable by older embassy versions; every\n"
    "                          later seal keeps writing a store in its own format.\n"
    "  --json                  print the new store as a JSON object: id, url, format,\n"
    "                          fingerprint (docs/JSON.md)\n"
    "\n"
    "  The store id goes to standard output, the signing key's fingerprint (the value\n"
    "  recovery hosts give to --trust) to standard error; with -q, neither.\n"
    "\n"
    "PASSPHRASE (the new store's recovery passphrase)\n" CLI_HELP_PASSPHRASE "\n" CLI_HELP_STORE
    "\n" CLI_HELP_GENERAL "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy keygen officer1.key\n"
    "  embassy init /srv/embassy/registers --sealer-key ~/sealer.key \\\n"
    "      --recipient officer1.key.pub\n"
    "  embassy init /srv/embassy/registers --sealer-key ~/sealer.key \\\n"
    "      --quorum 2 --officer o1.key.pub --officer o2.key.pub --officer o3.key.pub\n"
    "  EMBASSY_PASSPHRASE=... embassy init file:///mnt/embassy --sealer-key sealer.key\n";

struct init_args {
	const char *recipients[MAX_RECIPIENTS];
	size_t nrecipients;
	const char *officers[MAX_RECIPIENTS];
	size_t nofficers;
	uint64_t quorum;
	uint64_t kdf_mib, kdf_ops;
	uint64_t format;
	bool json;
};

static int parse(struct cli_ctx *c, struct init_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_FLAG(0, "json", &a->json),
	    OPTS_LIST(0, "recipient", a->recipients, &a->nrecipients, MAX_RECIPIENTS, NULL),
	    OPTS_U64(0, "kdf-memory", &a->kdf_mib, 1, KDF_MEM_MAX_MIB,
		     "--kdf-memory needs MiB (1..{max}), not '{arg}'"),
	    OPTS_U64(0, "kdf-ops", &a->kdf_ops, 1, KDF_OPS_MAX,
		     "--kdf-ops needs a number (1..{max}), not '{arg}'"),
	    OPTS_U64(0, "quorum", &a->quorum, 1, 255,
		     "--quorum needs a number (1..255), not '{arg}'"),
	    OPTS_LIST(0, "officer", a->officers, &a->nofficers, 255, NULL),
	    OPTS_U64(0, "format", &a->format, STORE_FORMAT_MIN, STORE_FORMAT,
		     "--format needs {min}..{max}, not '{arg}'"),
	    OPTS_END};

	return opts_parse(
	    c, argc, argv,
	    OPTS_COMMON(CLI_OPTS_SEALER, CLI_OPTS_PASSPHRASE, CLI_OPTS_STORE, CLI_OPTS_GENERAL),
	    options);
}

static int check_args(const struct cli_ctx *c, const struct init_args *a)
{
	struct stat st;

	if (!c->sealer_key)
		return opts_usage(c, "needs --sealer-key FILE (where the sealer's identity goes)");
	if (lstat(c->sealer_key, &st) == 0) {
		cli_error("sealer key %s already exists; refusing to overwrite an identity",
			  c->sealer_key);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < a->nrecipients; i++) {
		if (stat(a->recipients[i], &st) < 0) {
			cli_error("recipient public key %s: %s", a->recipients[i], strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (!a->quorum != !a->nofficers)
		return opts_usage(c, "--quorum M and --officer PUBFILE go together");
	if (a->quorum > a->nofficers)
		return opts_usage(c, "--quorum %u needs at least %u --officer, not %zu",
				  (unsigned)a->quorum, (unsigned)a->quorum, a->nofficers);
	for (size_t i = 0; i < a->nofficers; i++) {
		if (stat(a->officers[i], &st) < 0) {
			cli_error("officer public key %s: %s", a->officers[i], strerror(errno));
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

static int init_error(const char *url, const struct cli_ctx *c, int err)
{
	switch (err) {
	case -EEXIST:
		cli_error("%s already holds a store (or %s exists); nothing was changed", url,
			  c->sealer_key);
		return EXIT_FAIL;
	case -EBADMSG:
	case -EINVAL:
		cli_error("cannot create store %s: a recipient or officer public key file is "
			  "malformed (expected 'embassy-recipient-pub-v1'), an officer is given "
			  "twice, or an option is out of range",
			  url);
		return EXIT_FAIL;
	default:
		cli_error("cannot create store %s: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
}

/* The new store's id on stdout; recovery officers pin the store's signing key with --trust,
 * so its fingerprint goes to the sealer on stderr (scripts reading the id are unaffected),
 * or both into one JSON object. */
static int report(const struct init_args *a, const char *url, const char *id,
		  const char *sealer_key)
{
	struct keyfile kf;
	char fpr[33] = "";
	json_t *o;
	int ret = 0;

	if (keyfile_load(sealer_key, &kf) == 0) {
		sign_fingerprint(kf.pub, fpr);
		keyfile_clear(&kf);
	}
	if (a->json) {
		o = json_pack("{s:s, s:s, s:i, s:s?}", "id", id, "url", url, "format",
			      a->format ? (int)a->format : STORE_FORMAT, "fingerprint",
			      *fpr ? fpr : NULL);
		ret = cli_print_json(o);
	} else if (!cli_quiet()) {
		printf("%s\n", id);
	}
	if (*fpr && !a->json)
		cli_note("signing key fingerprint %s: give it to the recovery officers by a "
			 "channel the host cannot touch; each anchors their key file with "
			 "'embassy key pin KEYFILE %s' (or checks the store with --trust %s)",
			 fpr, fpr, fpr);
	if (ret < 0 || fflush(stdout) != 0)
		return EXIT_IO;
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct init_args a = {0};
	struct cli_auth pass = {0};
	struct store_init_opts io = {0};
	char id[2 * STORE_ID_LEN + 1];
	const char *url;
	int ret, err;

	opts_init(&c, "init");
	ret = parse(&c, &a, argc, argv);
	if (ret != EXIT_OK || c.help)
		return ret != EXIT_OK ? ret : opts_help(&c);
	if (!(url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	ret = check_args(&c, &a);
	if (ret != EXIT_OK)
		return ret;
	ret = auth_new_passphrase(&c, a.nrecipients > 0 || a.nofficers > 0, &pass);
	if (ret != EXIT_OK)
		return ret;
	io.sealer_key_out = c.sealer_key;
	io.passphrase = pass.a.passphrase;
	io.passlen = pass.a.passlen;
	io.recipients = a.recipients;
	io.nrecipients = a.nrecipients;
	io.quorum_m = (unsigned)a.quorum;
	io.officers = a.officers;
	io.nofficers = a.nofficers;
	io.kdf_ops = a.kdf_ops;
	io.kdf_mem = (size_t)a.kdf_mib << 20;
	io.format = (int)a.format;
	if (!io.passphrase && !io.nrecipients && !io.nofficers) {
		ret = opts_usage(&c, "needs a passphrase, a --recipient or a --quorum");
		goto out;
	}
	if ((ret = cli_refuse_multi(&c, url)) != EXIT_OK)
		goto out;
	err = store_init(url, &c.ro, &io, id);
	if (err < 0) {
		ret = init_error(url, &c, err);
		goto out;
	}
	ret = report(&a, url, id, io.sealer_key_out);
out:
	auth_clear(&pass);
	return ret;
}

const struct cli_cmd cli_cmd_init = {"init", "create an empty store and the sealer's identity",
				     help, run};
