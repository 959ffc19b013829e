/* keyfile: recipient key files and their trust anchors ("trust <fingerprint>" lines). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "secmem.h"
#include "wrap.h"

static char dir[64], path[128];
static const char *f1 = "00112233445566778899aabbccddeeff";
static const char *f2 = "ffeeddccbbaa99887766554433221100";

static void setup(void)
{
	uint8_t pk[32], *sk;
	cr_assert_eq(secmem_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_keyfile.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/officer.key", dir);
	sk = secmem_alloc(32);
	cr_assert_eq(wrap_recipient_keypair(pk, sk), 0);
	cr_assert_eq(keyfile_write_recipient(path, pk, sk), 0);
	secmem_free(sk);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(keyfile, .init = setup, .fini = teardown);

static void append(const char *line)
{
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fputs(line, f);
	fclose(f);
}

Test(keyfile, no_anchor_by_default)
{
	struct keyfile kf;
	cr_assert_eq(keyfile_load(path, &kf), 0);
	cr_assert_eq(kf.kind, KEYFILE_RECIPIENT);
	cr_assert_eq(kf.ntrust, 0);
	cr_assert(!keyfile_trusts(&kf, f1));
	keyfile_clear(&kf);
}

Test(keyfile, pin_adds_an_anchor_once_and_keeps_the_file_private)
{
	struct keyfile kf;
	struct stat st;
	cr_assert_eq(keyfile_add_trust(path, f1), 0);
	cr_assert_eq(keyfile_add_trust(path, f1), 0); /* idempotent */
	cr_assert_eq(keyfile_add_trust(path, f2), 0);
	cr_assert_eq(keyfile_load(path, &kf), 0);
	cr_assert_eq(kf.ntrust, 2);
	cr_assert(keyfile_trusts(&kf, f1) && keyfile_trusts(&kf, f2));
	cr_assert(!keyfile_trusts(&kf, "0123456789abcdef0123456789abcdef"));
	keyfile_clear(&kf);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(keyfile_add_trust(path, "not-a-fingerprint"), -EINVAL);
}

Test(keyfile, a_malformed_anchor_fails_the_file)
{
	/* silently dropping it would turn a pinned officer back into trust on first use */
	struct keyfile kf;
	append("trust 0011223344\n");
	cr_assert_eq(keyfile_load(path, &kf), -EBADMSG);
}

Test(keyfile, at_most_sixteen_anchors)
{
	char fpr[33];
	for (int i = 0; i < KEYFILE_MAX_TRUST; i++) {
		snprintf(fpr, sizeof(fpr), "%032x", i + 1);
		cr_assert_eq(keyfile_add_trust(path, fpr), 0);
	}
	cr_assert_eq(keyfile_add_trust(path, f1), -ENOSPC);
}

Test(keyfile, only_recipient_key_files_take_anchors)
{
	char pub[160];
	snprintf(pub, sizeof(pub), "%s.pub", path);
	cr_assert_eq(keyfile_add_trust(pub, f1), -EBADMSG);
}

Test(keyfile, pin_refuses_a_symlink_and_a_readable_file)
{
	char link[160];
	snprintf(link, sizeof(link), "%s/link.key", dir);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_neq(keyfile_add_trust(link, f1), 0);
	chmod(path, 0644);
	cr_assert_eq(keyfile_add_trust(path, f1), -EPERM);
}
