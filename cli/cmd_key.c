/* key: managing a store's key entries — add (passphrase, recipient, quorum), list, remove —
 * and an officer's share of a quorum entry for officers who cannot meet (key share). */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "key_int.h"
#include "key_root.h"
#include "keyadmin.h"
#include "keyfile.h"
#include "keypasswd.h"
#include "secmem.h"

/* Options of key root / rotate-signing (cli/key_root.c parses them): named, not unknown. */
static int opt_root_only(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	(void)arg;
	return opts_usage(c, "--%s: only 'key root' and 'key rotate-signing' take it", o->name);
}

static int opt_remove(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct key_args *a = o->target;

	if (a->nremove == MAX_PUBS)
		return opts_usage(c, "at most %d --remove", MAX_PUBS);
	if (keyadmin_entry_name(arg, a->remove[a->nremove]) < 0)
		return opts_usage(
		    c, "--remove: '%s' is not a key entry name (see 'embassy key list')", arg);
	a->nremove++;
	return EXIT_OK;
}

#define ROOT_ONLY(name) OPTS_CALL(0, name, required_argument, opt_root_only, NULL)

/* Common options plus the subcommand's own; returns an exit code. */
static int parse(struct cli_ctx *c, struct key_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_LIST(0, "recipient", a->recipients, &a->nrecipients, MAX_PUBS, NULL),
	    OPTS_U64(0, "quorum", &a->quorum, 1, MAX_PUBS,
		     "--quorum needs a number (1..{max}), not '{arg}'"),
	    OPTS_LIST(0, "officer", a->officers, &a->nofficers, MAX_PUBS, NULL),
	    OPTS_U64(0, "kdf-memory", &a->kdf_mib, 1, KDF_MEM_MAX_MIB,
		     "--kdf-memory needs MiB (1..{max}), not '{arg}'"),
	    OPTS_U64(0, "kdf-ops", &a->kdf_ops, 1, KDF_OPS_MAX,
		     "--kdf-ops needs a number (1..{max}), not '{arg}'"),
	    OPTS_STRING(0, "out", &a->out),
	    OPTS_STRING(0, "entry", &a->entry),
	    OPTS_FLAG(0, "json", &a->json),
	    OPTS_STRING(0, "new-passphrase-file", &a->new_pass_file),
	    OPTS_STRING(0, "new-passphrase-command", &a->new_pass_cmd),
	    ROOT_ONLY("sign"),
	    ROOT_ONLY("threshold"),
	    ROOT_ONLY("timestamp-key"),
	    ROOT_ONLY("new-sealer-key"),
	    ROOT_ONLY("valid-through"),
	    ROOT_ONLY("prepare"),
	    ROOT_ONLY("apply"),
	    ROOT_ONLY("proposal"),
	    OPTS_CALL(0, "remove", required_argument, opt_remove, a),
	    OPTS_END};

	return opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);
}

/* Parse; on --help print the subcommand's text. *done set when the caller should return. */
int key_setup(struct cli_ctx *c, struct key_args *a, const char *sub_help, int argc, char **argv,
	      bool *done)
{
	int ret;

	opts_init(c, "key");
	memset(a, 0, sizeof(*a));
	ret = parse(c, a, argc, argv);
	*done = ret != EXIT_OK || c->help;
	if (ret == EXIT_OK && c->help)
		fputs(sub_help, stdout);
	return ret;
}

/* An option that the subcommand does not take is a usage error, not silently ignored. */
int key_refuse_extras(const struct cli_ctx *c, const struct key_args *a, const char *sub,
		      unsigned takes)
{
	if (!(takes & TAKES_PUBS) && (a->nrecipients || a->nofficers || a->quorum))
		return opts_usage(c, "%s takes no --recipient, --quorum or --officer", sub);
	if (!(takes & TAKES_KDF) && (a->kdf_mib || a->kdf_ops))
		return opts_usage(c, "%s takes no --kdf-memory or --kdf-ops", sub);
	if (!(takes & TAKES_ENTRY) && a->entry)
		return opts_usage(c, "%s takes no --entry", sub);
	if (!(takes & TAKES_OUT) && a->out)
		return opts_usage(c, "%s takes no --out", sub);
	if (!(takes & TAKES_NEWPASS) && (a->new_pass_file || a->new_pass_cmd))
		return opts_usage(
		    c, "%s takes no --new-passphrase-file or --new-passphrase-command", sub);
	if (!(takes & TAKES_JSON) && a->json)
		return opts_usage(c, "%s takes no --json", sub);
	if (!(takes & TAKES_REMOVE) && a->nremove)
		return opts_usage(c, "%s takes no --remove", sub);
	return EXIT_OK;
}
int key_check_pubs(const char *what, const char *const *files, size_t n)
{
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		if (stat(files[i], &st) < 0) {
			cli_error("%s public key %s: %s", what, files[i], strerror(errno));
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

void key_print_added(void *ctx, const char *name)
{
	(void)ctx;
	if (!cli_quiet())
		printf("%s\n", name);
}

static int cmd_add(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct cli_auth pass = {0};
	struct store_init_opts o = {0};
	struct store *s = NULL;
	const char *url;
	bool done;
	int ret = key_setup(&c, &a, key_help_add, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "add", TAKES_PUBS | TAKES_KDF)) != EXIT_OK)
		return ret;
	if (argc - optind != 1)
		return opts_usage(&c, "add needs exactly one STORE");
	url = argv[optind];
	if (!c.sealer_key)
		return opts_usage(&c, "add needs --sealer-key FILE (it holds the master key)");
	if (!c.passphrase_file && !c.passphrase_command && !a.nrecipients && !a.nofficers)
		return opts_usage(&c, "add needs --passphrase-file, --passphrase-command, "
				      "--recipient or --quorum with --officer");
	if (!a.quorum != !a.nofficers)
		return opts_usage(&c, "--quorum M and --officer PUBFILE go together");
	if (a.quorum > a.nofficers)
		return opts_usage(&c, "--quorum %u needs at least %u --officer, not %zu",
				  (unsigned)a.quorum, (unsigned)a.quorum, a.nofficers);
	if ((ret = key_check_pubs("recipient", a.recipients, a.nrecipients)) != EXIT_OK ||
	    (ret = key_check_pubs("officer", a.officers, a.nofficers)) != EXIT_OK)
		return ret;
	if ((c.passphrase_file || c.passphrase_command) &&
	    (ret = auth_new_passphrase(&c, false, &pass)) != EXIT_OK)
		return ret;
	/* the sealer key only: cli_open_store must not read the new passphrase as a credential */
	c.passphrase_file = c.passphrase_command = NULL;
	ret = cli_open_store(&c, url, true, &s);
	if (ret != EXIT_OK)
		goto out;
	o.passphrase = pass.a.passphrase;
	o.passlen = pass.a.passlen;
	o.recipients = a.recipients;
	o.nrecipients = a.nrecipients;
	o.quorum_m = (unsigned)a.quorum;
	o.officers = a.officers;
	o.nofficers = a.nofficers;
	o.kdf_ops = a.kdf_ops;
	o.kdf_mem = (size_t)a.kdf_mib << 20;
	err = keyadmin_add(s, &o, key_print_added, NULL);
	if (err == -EEXIST) {
		cli_error("store %s already has an entry for a --recipient given (see 'embassy key "
			  "list'); nothing was replaced",
			  url);
		ret = EXIT_FAIL;
	} else if (err == -EINVAL || err == -EBADMSG) {
		cli_error("cannot add to store %s: a public key file is malformed (expected "
			  "'embassy-recipient-pub-v1'), an officer is given twice, or an option is "
			  "out of range",
			  url);
		ret = EXIT_FAIL;
	} else if (err < 0) {
		cli_error("cannot add key entries to store %s: %s", url, strerror(-err));
		ret = cli_exit_for(err);
	} else
		ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
out:
	store_close(s);
	auth_clear(&pass);
	return ret;
}

static int open_error(const char *url, int err)
{
	if (err == -ENOENT) {
		cli_error("%s is not an embassy store (no embassy.json); check the path or URL",
			  url);
		return EXIT_NOSTORE;
	}
	if (err == -E2BIG) {
		cli_error("store %s lists more than %d key entries: not reading them (a broken or "
			  "hostile host; a real store has a handful)",
			  url, KEY_NAMES_MAX);
		return EXIT_INTEGRITY;
	}
	cli_error("cannot read store %s: %s", url, strerror(-err));
	return cli_exit_for(err);
}

/* [{name, type, size, m, n}], one entry a line (docs/JSON.md). Entry names are listed by
 * keyadmin.c only when they are short [a-z0-9._-] names, but the host chooses them:
 * jansson escapes anything unusual, and a name that is not UTF-8 is shown escaped. */
static int print_list_json(const struct key_entry_info *v, size_t n)
{
	json_t *arr = json_array(), *o;

	for (size_t i = 0; arr && i < n; i++) {
		o = json_pack("{s:s, s:s, s:I}", "name",
			      cli_utf8_ok(v[i].name, strlen(v[i].name)) ? v[i].name : "?", "type",
			      v[i].type, "size", (json_int_t)v[i].size);
		if (o && v[i].m) {
			json_object_set_new(o, "m", json_integer(v[i].m));
			json_object_set_new(o, "n", json_integer(v[i].n));
		}
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	return cli_print_json_list(arr);
}

static int cmd_list(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct remote *r = NULL;
	struct key_entry_info *v = NULL;
	size_t n = 0;
	bool done;
	int ret = key_setup(&c, &a, key_help_list, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "list", TAKES_JSON)) != EXIT_OK)
		return ret;
	if (argc - optind != 1)
		return opts_usage(&c, "list needs exactly one STORE");
	err = keyadmin_open_remote(argv[optind], &c.ro, &r);
	if (!err)
		err = keyadmin_list(r, &v, &n);
	if (err < 0) {
		ret = open_error(argv[optind], err);
		goto out;
	}
	if (a.json && print_list_json(v, n) < 0) {
		ret = EXIT_IO;
		goto out;
	}
	for (size_t i = 0; !a.json && i < n; i++) {
		cli_print_name(stdout, v[i].name, strlen(v[i].name));
		printf("  %s", v[i].type);
		if (v[i].m)
			printf("  %u-of-%u", v[i].m, v[i].n);
		putchar('\n');
	}
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
out:
	free(v);
	remote_free(r);
	return ret;
}

static int cmd_remove(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct store *s = NULL;
	char name[KEY_NAME_MAX];
	const char *url;
	bool done;
	int ret = key_setup(&c, &a, key_help_remove, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "remove", 0)) != EXIT_OK)
		return ret;
	if (argc - optind != 2)
		return opts_usage(&c, "remove needs STORE and NAME");
	url = argv[optind];
	if (keyadmin_entry_name(argv[optind + 1], name) < 0)
		return opts_usage(&c,
				  "remove: '%s' is not a key entry name (see 'embassy key "
				  "list')",
				  argv[optind + 1]);
	if (!c.sealer_key)
		return opts_usage(&c, "remove needs --sealer-key FILE");
	ret = cli_open_store(&c, url, true, &s);
	if (ret != EXIT_OK)
		return ret;
	err = keyadmin_remove(s, name);
	switch (err) {
	case 0:
		ret = EXIT_OK;
		break;
	case -ENOENT:
		cli_error("store %s has no key entry %s (see 'embassy key list')", url, name);
		ret = EXIT_NOTFOUND;
		break;
	case -EBUSY:
		cli_error("%s is the last entry that can open store %s; refusing to remove it "
			  "(add another with 'embassy key add' first)",
			  name, url);
		ret = EXIT_FAIL;
		break;
	default:
		cli_error("cannot remove %s from store %s: %s", name, url, strerror(-err));
		ret = cli_exit_for(err);
	}
	store_close(s);
	return ret;
}

/* One line for each way key passwd can fail; returns the exit code. */
static int passwd_error(const char *url, const struct keypasswd *p, int err)
{
	const char *which = p->entry ? p->entry : "any passphrase entry";

	switch (err) {
	case -EKEYREJECTED:
		cli_error("the current passphrase does not open %s of store %s (wrong passphrase, "
			  "or an entry the host changed); nothing was changed",
			  which, url);
		return EXIT_AUTH;
	case -ENOKEY:
		cli_error("store %s has no passphrase entry (see 'embassy key list'); add one with "
			  "'embassy key add --passphrase-file'",
			  url);
		return EXIT_AUTH;
	case -ENOENT:
		cli_error("store %s has no key entry %s (see 'embassy key list')", url, p->entry);
		return EXIT_NOTFOUND;
	case -EINVAL:
		cli_error(
		    "%s is not a passphrase entry; key passwd changes passphrase entries only",
		    p->entry);
		return EXIT_USAGE;
	case -EBADMSG:
		cli_error("%s of store %s is malformed or holds another store's key; nothing was "
			  "changed",
			  which, url);
		return EXIT_INTEGRITY;
	}
	if (p->new_name[0] && p->old_name[0])
		cli_error(
		    "the new entry %s of store %s is written, but the old entry %s could not "
		    "be removed (%s): the old passphrase still opens the store; remove it with "
		    "'embassy key remove %s %s --sealer-key FILE'",
		    p->new_name, url, p->old_name, strerror(-err), url, p->old_name);
	else
		cli_error("cannot change the passphrase of store %s: %s; the old passphrase still "
			  "opens it",
			  url, strerror(-err));
	return cli_exit_for(err) == EXIT_USAGE ? EXIT_FAIL : cli_exit_for(err);
}

/* The current passphrase, then the new one (which must differ). */
static int passwd_read(struct cli_ctx *c, const struct key_args *a, struct cli_auth *old,
		       struct cli_auth *new)
{
	int ret = auth_passphrase(c, "Current store passphrase: ", old);

	if (ret != EXIT_OK)
		return ret;
	ret = auth_passphrase_from(a->new_pass_file, a->new_pass_cmd, new);
	if (ret != EXIT_OK)
		return ret;
	if (new->a.passlen == old->a.passlen &&
	    sodium_memcmp(new->a.passphrase, old->a.passphrase, old->a.passlen) == 0) {
		cli_error("the new passphrase is the current one; nothing was changed");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_passwd(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct cli_auth old = {0}, new = {0};
	struct keypasswd p = {0};
	struct store *s = NULL;
	char entry[KEY_NAME_MAX];
	const char *url;
	bool done;
	int ret = key_setup(&c, &a, key_help_passwd, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "passwd", TAKES_KDF | TAKES_ENTRY | TAKES_NEWPASS)) !=
	    EXIT_OK)
		return ret;
	if (argc - optind != 1)
		return opts_usage(&c, "passwd needs exactly one STORE");
	url = argv[optind];
	if (!c.sealer_key)
		return opts_usage(&c, "passwd needs --sealer-key FILE (as every change to the key "
				      "entries)");
	if (c.key_file || c.nkey_files || c.nshare_files)
		return opts_usage(&c, "passwd takes the current passphrase, no --key-file or "
				      "--share-file (EMBASSY_KEY_FILE counts too)");
	if (a.new_pass_file && a.new_pass_cmd)
		return opts_usage(&c, "give --new-passphrase-file or --new-passphrase-command, not "
				      "both");
	if (a.entry &&
	    (keyadmin_entry_name(a.entry, entry) < 0 || strncmp(entry, "keys/pass-", 10) != 0))
		return opts_usage(&c,
				  "passwd: '%s' is not a passphrase entry name (see 'embassy "
				  "key list')",
				  a.entry);
	if ((ret = passwd_read(&c, &a, &old, &new)) != EXIT_OK)
		goto out;
	/* the sealer key only: the passphrases are not credentials to open the store with */
	c.passphrase_file = c.passphrase_command = NULL;
	if ((ret = cli_open_store(&c, url, true, &s)) != EXIT_OK)
		goto out;
	p.entry = a.entry ? entry : NULL;
	p.old = old.a.passphrase;
	p.oldlen = old.a.passlen;
	p.new = new.a.passphrase;
	p.newlen = new.a.passlen;
	p.kdf_ops = a.kdf_ops;
	p.kdf_mem = (size_t)a.kdf_mib << 20;
	err = keypasswd_change(s, &p);
	if (err < 0) {
		ret = passwd_error(url, &p, err);
		goto out;
	}
	cli_note("passphrase changed: %s replaces %s", p.new_name, p.old_name);
	if (!cli_quiet())
		printf("%s\n", p.new_name);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
out:
	store_close(s);
	auth_clear(&old);
	auth_clear(&new);
	return ret;
}

static int share_error(const char *url, const char *kf, const char *entry, int err)
{
	switch (err) {
	case -ENOKEY:
		if (entry)
			cli_error("quorum entry %s of store %s holds no share for key file %s",
				  entry, url, kf);
		else
			cli_error("no quorum entry of store %s holds a share for key file %s", url,
				  kf);
		return EXIT_AUTH;
	case -ENOTUNIQ:
		cli_error("key file %s holds shares of several quorum entries of store %s; choose "
			  "one with --entry NAME (see 'embassy key list')",
			  kf, url);
		return EXIT_NOTFOUND;
	case -EKEYREJECTED:
		cli_error("key file %s does not open its share in store %s (a damaged entry)", kf,
			  url);
		return EXIT_AUTH;
	default:
		return open_error(url, err);
	}
}

static int cmd_share(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct remote *r = NULL;
	struct keyfile kf = {0};
	struct quorum_share sh = {0};
	char entry[KEY_NAME_MAX];
	const char *url;
	struct stat st;
	bool done;
	int ret = key_setup(&c, &a, key_help_share, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "share", TAKES_ENTRY | TAKES_OUT)) != EXIT_OK)
		return ret;
	if (argc - optind != 1)
		return opts_usage(&c, "share needs exactly one STORE");
	url = argv[optind];
	if (!c.key_file || c.nkey_files > 1 || c.nshare_files || c.sealer_key)
		return opts_usage(&c, "share needs exactly one --key-file (the officer's)");
	if (!a.out)
		return opts_usage(&c, "share needs --out FILE");
	if (a.entry && keyadmin_entry_name(a.entry, entry) < 0)
		return opts_usage(&c, "share: '%s' is not a key entry name", a.entry);
	if (lstat(a.out, &st) == 0) {
		cli_error("%s exists; refusing to overwrite it", a.out);
		return EXIT_FAIL;
	}
	err = keyfile_load(c.key_file, &kf);
	if (!err && kf.kind != KEYFILE_RECIPIENT)
		err = -EBADMSG;
	if (err) {
		cli_error("key file %s: %s", c.key_file,
			  err == -EBADMSG ? "not a recipient key file ('embassy keygen')"
			  : err == -EPERM ? "readable by group or others; run 'chmod 600' on it"
					  : strerror(-err));
		return EXIT_AUTH;
	}
	err = keyadmin_open_remote(url, &c.ro, &r);
	if (!err)
		err = keyadmin_share(r, &kf, a.entry ? entry : NULL, &sh);
	if (err < 0) {
		ret = share_error(url, c.key_file, a.entry ? entry : NULL, err);
		goto out;
	}
	err = quorum_share_write(a.out, &sh);
	if (err < 0) {
		cli_error("cannot write share file %s: %s", a.out, strerror(-err));
		ret = cli_exit_for(err) == EXIT_USAGE ? EXIT_FAIL : cli_exit_for(err);
		goto out;
	}
	cli_note("share of %s written to %s", sh.entry, a.out);
	ret = EXIT_OK;
out:
	quorum_share_clear(&sh);
	keyfile_clear(&kf);
	remote_free(r);
	return ret;
}

static int print_anchors(const char *path)
{
	struct keyfile kf;
	int err = keyfile_load(path, &kf);
	if (!err && kf.kind != KEYFILE_RECIPIENT)
		err = -EBADMSG;
	if (err) {
		cli_error("key file %s: %s", path,
			  err == -EBADMSG ? "not a recipient key file ('embassy keygen')"
					  : strerror(-err));
		return err == -EPERM || err == -EBADMSG ? EXIT_AUTH : cli_exit_for(err);
	}
	for (unsigned i = 0; i < kf.ntrust; i++)
		printf("%s\n", kf.trust[i]);
	if (!kf.ntrust)
		cli_warn("%s has no anchor: stores it opens are trusted on first use", path);
	keyfile_clear(&kf);
	return EXIT_OK;
}

static int cmd_pin(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct keyfile sk;
	char fpr[33];
	const char *path;
	bool done;
	int ret = key_setup(&c, &a, key_help_pin, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "pin", 0)) != EXIT_OK)
		return ret;
	if (argc - optind < 1 || argc - optind > 2 || (argc - optind == 2 && c.sealer_key))
		return opts_usage(&c, "pin needs KEYFILE and one FINGERPRINT or --sealer-key");
	path = argv[optind];
	if (argc - optind == 1 && !c.sealer_key)
		return print_anchors(path);
	if (c.sealer_key) {
		err = keyfile_load(c.sealer_key, &sk);
		if (!err && sk.kind != KEYFILE_SEALER)
			err = -EBADMSG;
		if (err) {
			cli_error("%s is not a usable sealer key file: %s", c.sealer_key,
				  strerror(-err));
			return EXIT_AUTH;
		}
		sign_fingerprint(sk.pub, fpr);
		keyfile_clear(&sk);
	} else {
		snprintf(fpr, sizeof(fpr), "%s", argv[optind + 1]);
		if (strlen(argv[optind + 1]) != 32 || strspn(fpr, "0123456789abcdef") != 32)
			return opts_usage(&c, "pin: '%s' is not a 32-hex-digit key fingerprint",
					  argv[optind + 1]);
	}
	err = keyfile_add_trust(path, fpr);
	if (err < 0) {
		cli_error("cannot anchor %s: %s", path,
			  err == -EBADMSG  ? "not a recipient key file ('embassy keygen')"
			  : err == -ENOSPC ? "it already holds the most anchors a key file can"
			  : err == -EPERM  ? "readable by group or others; run 'chmod 600' on it"
					   : strerror(-err));
		return err == -EPERM || err == -EBADMSG ? EXIT_AUTH : EXIT_FAIL;
	}
	fprintf(stderr, "embassy: %s now trusts signing key %s\n", path, fpr);
	return EXIT_OK;
}

static int cmd_root(int argc, char **argv)
{
	return key_cmd_root(argc, argv, key_help_root);
}

static int cmd_rotate(int argc, char **argv)
{
	return key_cmd_rotate(argc, argv, key_help_rotate);
}

static int run(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {{"add", cmd_add},	       {"list", cmd_list},
		    {"remove", cmd_remove},    {"passwd", cmd_passwd},
		    {"share", cmd_share},      {"pin", cmd_pin},
		    {"root", cmd_root},	       {"rotate-signing", cmd_rotate},
		    {"rotate", key_cmd_epochs}};

	if (argc >= 2 && !strcmp(argv[1], "--help") && optind == 0 && cli_introspecting())
		return cmd_add(argc, argv); /* help --options key: the subcommands' shared table */
	if (argc < 2) {
		cli_error("key needs a subcommand: add, list, remove, passwd, share, pin, root, "
			  "rotate-signing or rotate (see 'embassy key --help')");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(key_help, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	cli_error("key has no subcommand '%s': add, list, remove, passwd, share, pin, root, "
		  "rotate-signing or rotate (see 'embassy key --help')",
		  argv[1]);
	return EXIT_USAGE;
}

const struct cli_cmd cli_cmd_key = {
    "key", "add, list, remove and change a store's key entries; quorum shares", key_help, run};
