/* trust: the recovery host's memory against rollback, freeze and key substitution. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secmem.h"
#include "sign.h"
#include "trust.h"

static char dir[64];
static struct trust_opts o;
static uint8_t pk[SIGN_PK_LEN], pk2[SIGN_PK_LEN];
static const char *sid = "00112233445566778899aabbccddeeff";

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct head head(uint64_t seq, int64_t expires_in_s)
{
	struct head h = {.seq = seq, .time_ns = now_ns()};
	h.expires_ns = h.time_ns + expires_in_s * 1000000000LL;
	return h;
}

static void setup(void)
{
	uint8_t *sk;
	cr_assert_eq(secmem_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_trust.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(&o, 0, sizeof(o));
	o.state_dir = dir;
	sk = secmem_alloc(SIGN_SK_LEN);
	sign_keypair(pk, sk);
	sign_keypair(pk2, sk);
	secmem_free(sk);
}

static void teardown(void)
{
	char *p = trust_state_path(&o, sid);
	unlink(p);
	free(p);
	rmdir(dir);
}

TestSuite(trust, .init = setup, .fini = teardown);

Test(trust, rollback_refused_after_newer_seen)
{
	struct head h5 = head(5, 3600), h4 = head(4, 3600);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h5), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h5), 0); /* same again: fine */
	cr_assert_eq(trust_check_head(&o, sid, pk, &h4), -ESTALE);
	o.allow_rollback = true;
	cr_assert_eq(trust_check_head(&o, sid, pk, &h4), 0);
	o.allow_rollback = false;
	/* the override did not lower what was remembered */
	cr_assert_eq(trust_check_head(&o, sid, pk, &h4), -ESTALE);
}

Test(trust, min_sequence_for_a_fresh_host)
{
	struct head h = head(3, 3600);
	o.min_seq = 7;
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), -ESTALE);
	h.seq = 7;
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
}

Test(trust, expired_head_warns_or_fails)
{
	struct head h = head(1, -10);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0); /* a loud warning only */
	o.require_fresh = true;
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), -EKEYEXPIRED);
	h = head(1, 60);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
}

Test(trust, signing_key_pinned)
{
	struct head h = head(2, 3600);
	char fpr[33];
	cr_assert_eq(trust_check_key(&o, sid, pk), 0); /* first contact */
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk2), -EBADMSG);
	sign_fingerprint(pk2, fpr);
	o.trust_fpr = fpr;
	cr_assert_eq(trust_check_key(&o, "ffeeddccbbaa99887766554433221100", pk), -EBADMSG);
	cr_assert_eq(trust_check_key(&o, "ffeeddccbbaa99887766554433221100", pk2), 0);
}

Test(trust, missing_head_after_seen_is_rollback)
{
	struct head h = head(4, 3600);
	cr_assert_eq(trust_check_missing_head(&o, sid), -ENOENT); /* never seen: empty store */
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
	cr_assert_eq(trust_check_missing_head(&o, sid), -ESTALE);
	o.allow_rollback = true;
	cr_assert_eq(trust_check_missing_head(&o, sid), -ENOENT);
}

Test(trust, sealer_remembers_what_it_publishes)
{
	struct head h = head(8, 3600);
	trust_remember(&o, sid, pk, 9);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), -ESTALE);
}

Test(trust, no_state_mode_keeps_nothing)
{
	struct head h9 = head(9, 3600), h1 = head(1, 3600);
	o.no_state = true;
	cr_assert_eq(trust_check_head(&o, sid, pk, &h9), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h1), 0);
	char *p = trust_state_path(&o, sid);
	cr_assert_neq(access(p, F_OK), 0);
	free(p);
}
