/* key_epochs: 'embassy key rotate', a new key epoch leaving key entries out (docs/KEYS.md
 * 4.13; the work is store/keyrotate.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "key_int.h"
#include "keyadmin.h"

static int epoch_error(const char *url, int err)
{
	switch (err) {
	case -ENOKEY:
		cli_error(
		    "store %s: a key entry that stays cannot be wrapped for the new epoch (see "
		    "above); nothing was changed",
		    url);
		return EXIT_AUTH;
	case -ENOENT:
		cli_error("store %s: a --remove names no key entry (see 'embassy key list'); "
			  "nothing was changed",
			  url);
		return EXIT_NOTFOUND;
	case -EBUSY:
		cli_error("store %s: every entry would be left out; nothing was changed", url);
		return EXIT_FAIL;
	case -E2BIG:
		cli_error("store %s has %d key epochs, the most there can be", url, KEY_EPOCH_MAX);
		return EXIT_FAIL;
	case -EBADMSG:
		cli_error("store %s: a key entry is malformed, or a public key file is not one; "
			  "nothing was changed",
			  url);
		return EXIT_INTEGRITY;
	}
	cli_error("cannot rotate the keys of store %s: %s; the old epoch stays in use", url,
		  strerror(-err));
	return cli_exit_for(err) == EXIT_USAGE ? EXIT_FAIL : cli_exit_for(err);
}

int key_cmd_epochs(int argc, char **argv)
{
	struct cli_ctx c;
	struct key_args a;
	struct cli_auth pass = {0};
	struct rotate_opts o = {0};
	const char *rm[MAX_PUBS];
	struct store *s = NULL;
	const char *url;
	size_t left = 0;
	bool done;
	int ret = key_setup(&c, &a, key_help_epochs, argc, argv, &done), err;

	if (done)
		return ret;
	if ((ret = key_refuse_extras(&c, &a, "rotate", TAKES_PUBS | TAKES_REMOVE)) != EXIT_OK)
		return ret;
	if (a.quorum)
		return opts_usage(&c, "rotate takes no --quorum: a quorum entry keeps its M");
	if (argc - optind != 1)
		return opts_usage(&c, "rotate needs exactly one STORE");
	url = argv[optind];
	if (!c.sealer_key)
		return opts_usage(&c, "rotate needs --sealer-key FILE (it gets the new key)");
	if (c.key_file || c.nkey_files || c.nshare_files)
		return opts_usage(&c,
				  "rotate takes no --key-file or --share-file (EMBASSY_KEY_FILE "
				  "counts too): recipients and officers are given by their "
				  "public key files");
	if ((ret = key_check_pubs("recipient", a.recipients, a.nrecipients)) != EXIT_OK ||
	    (ret = key_check_pubs("officer", a.officers, a.nofficers)) != EXIT_OK)
		return ret;
	if ((c.passphrase_file || c.passphrase_command) &&
	    (ret = auth_passphrase(&c, "Store passphrase: ", &pass)) != EXIT_OK)
		goto out;
	/* the sealer key only: the passphrase is not a credential to open the store with */
	c.passphrase_file = c.passphrase_command = NULL;
	if ((ret = cli_open_store(&c, url, true, &s)) != EXIT_OK)
		goto out;
	for (size_t i = 0; i < a.nremove; i++)
		rm[i] = a.remove[i];
	o.sealer_key = c.sealer_key;
	o.remove = rm;
	o.nremove = a.nremove;
	o.recipients = a.recipients;
	o.nrecipients = a.nrecipients;
	o.officers = a.officers;
	o.nofficers = a.nofficers;
	o.passphrase = pass.a.passphrase;
	o.passlen = pass.a.passlen;
	err = keyadmin_rotate(s, &o, key_print_added, NULL, &left);
	if (err < 0) {
		ret = epoch_error(url, err);
		goto out;
	}
	cli_note("key epoch %u of store %s: future snapshots are sealed under it; %zu old "
		 "entr%s could not be deleted",
		 keys_epoch(store_keys(s)), url, left, left == 1 ? "y" : "ies");
	ret = fflush(stdout) == 0 ? (left ? EXIT_FAIL : EXIT_OK) : EXIT_IO;
out:
	store_close(s);
	auth_clear(&pass);
	return ret;
}
