/* keypasswd (store/keypasswd.c): changing a passphrase entry on a real local store. The
 * property that matters most is the order: after the new entry is written and before the old
 * one is deleted (a crash there), both passphrases open the store; afterwards only the new. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyadmin.h"
#include "keypasswd.h"
#include "secmem.h"
#include "store.h"
#include "trust.h"

static char dir[64], url[96], sealer[96];
static struct trust_opts topts;
static const char OLD[] = "old passphrase", NEW[] = "new passphrase";

static void setup(void)
{
	struct store_init_opts o = {0};
	char id[2 * STORE_ID_LEN + 1];

	cr_assert_eq(secmem_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_keypasswd.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "%s/store", dir);
	snprintf(sealer, sizeof(sealer), "%s/sealer.key", dir);
	memset(&topts, 0, sizeof(topts));
	topts.no_state = true;
	o.sealer_key_out = sealer;
	o.passphrase = OLD;
	o.passlen = strlen(OLD);
	o.kdf_ops = 1;
	o.kdf_mem = 8u << 20;
	cr_assert_eq(store_init(url, NULL, &o, id), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Open with the sealer key (what key passwd does) or with a passphrase (a reader). */
static struct store *open_sealer(void)
{
	struct store_auth a = {.trust = &topts, .sealer_key = sealer};
	struct store *s = NULL;

	cr_assert_eq(store_open(url, NULL, &a, &s), 0);
	return s;
}

static int open_pass(const char *pass)
{
	struct store_auth a = {.trust = &topts, .passphrase = pass, .passlen = strlen(pass)};
	struct store *s = NULL;
	int ret = store_open(url, NULL, &a, &s);

	store_close(s);
	return ret;
}

static size_t count_pass_entries(struct store *s)
{
	struct key_entry_info *v;
	size_t n, k = 0;

	cr_assert_eq(keyadmin_list(store_remote(s), &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		k += strcmp(v[i].type, "passphrase") == 0;
	free(v);
	return k;
}

static struct keypasswd req(const char *old, const char *new)
{
	struct keypasswd p = {.old = old,
			      .oldlen = strlen(old),
			      .new = new,
			      .newlen = strlen(new),
			      .kdf_ops = 1,
			      .kdf_mem = 8u << 20};
	return p;
}

TestSuite(keypasswd, .init = setup, .fini = teardown);

Test(keypasswd, crash_between_write_and_delete_leaves_both)
{
	struct store *s = open_sealer();
	struct keypasswd p = req(OLD, NEW);

	cr_assert_eq(keypasswd_find(s, &p), 0);
	cr_assert_eq(strncmp(p.old_name, "keys/pass-", 10), 0);
	cr_assert_eq(keypasswd_write(s, &p), 0);
	cr_assert_eq(strncmp(p.new_name, "keys/pass-", 10), 0);
	cr_assert_str_neq(p.new_name, p.old_name);
	/* the process dies here: the old entry was not deleted yet */
	cr_assert_eq(count_pass_entries(s), 2);
	cr_assert_eq(open_pass(OLD), 0);
	cr_assert_eq(open_pass(NEW), 0);
	store_close(s);
}

Test(keypasswd, change_then_only_the_new_opens)
{
	struct store *s = open_sealer();
	struct keypasswd p = req(OLD, NEW);

	cr_assert_eq(keypasswd_change(s, &p), 0);
	cr_assert_eq(count_pass_entries(s), 1);
	cr_assert_eq(open_pass(OLD), -EKEYREJECTED);
	cr_assert_eq(open_pass(NEW), 0);
	/* and back: the entry just written is the one found */
	p = req(NEW, OLD);
	cr_assert_eq(keypasswd_change(s, &p), 0);
	cr_assert_eq(open_pass(NEW), -EKEYREJECTED);
	cr_assert_eq(open_pass(OLD), 0);
	store_close(s);
}

Test(keypasswd, refusals_change_nothing)
{
	struct store *s = open_sealer();
	struct keypasswd p = req("wrong", NEW);

	cr_assert_eq(keypasswd_change(s, &p), -EKEYREJECTED);
	cr_assert_eq(p.new_name[0], '\0');
	p = req(OLD, NEW);
	p.entry = "keys/pass-0000000000000000";
	cr_assert_eq(keypasswd_change(s, &p), -ENOENT);
	p.entry = "keys/rcpt-0000000000000000";
	cr_assert_eq(keypasswd_change(s, &p), -EINVAL);
	p = req(OLD, "");
	cr_assert_eq(keypasswd_write(s, &p), -EINVAL);
	cr_assert_eq(count_pass_entries(s), 1);
	cr_assert_eq(open_pass(OLD), 0);
	cr_assert_eq(open_pass(NEW), -EKEYREJECTED);
	store_close(s);
}

Test(keypasswd, needs_the_sealer_key)
{
	struct store_auth a = {.trust = &topts, .passphrase = OLD, .passlen = strlen(OLD)};
	struct keypasswd p = req(OLD, NEW);
	struct store *s = NULL;

	cr_assert_eq(store_open(url, NULL, &a, &s), 0);
	cr_assert_eq(keypasswd_find(s, &p), -EPERM);
	cr_assert_eq(keypasswd_write(s, &p), -EPERM);
	cr_assert_eq(keypasswd_change(s, &p), -EPERM);
	store_close(s);
	cr_assert_eq(open_pass(NEW), -EKEYREJECTED);
}

Test(keypasswd, no_passphrase_entry)
{
	struct store *s = open_sealer();
	struct keypasswd p = req(OLD, NEW);
	char path[160];

	cr_assert_eq(keypasswd_find(s, &p), 0);
	snprintf(path, sizeof(path), "%s/%s", url, p.old_name);
	cr_assert_eq(unlink(path), 0);
	p = req(OLD, NEW);
	cr_assert_eq(keypasswd_change(s, &p), -ENOKEY);
	store_close(s);
}
