/* trust: the recovery host's memory against rollback, freeze and key substitution. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "secmem.h"
#include "sign.h"
#include "trust.h"
#include <sodium.h>

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
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* The remembered sequence, read back from the file. */
static long long state_seq(void)
{
	char *p = trust_state_path(&o, sid);
	json_t *j = json_load_file(p, 0, NULL);
	long long v = j ? json_integer_value(json_object_get(j, "seq")) : -1;
	json_decref(j);
	free(p);
	return v;
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
	cr_assert_eq(trust_check_key(&o, sid, pk, false), 0); /* first contact */
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk, false), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk2, false), -EBADMSG);
	sign_fingerprint(pk2, fpr);
	o.trust_fpr = fpr;
	cr_assert_eq(trust_check_key(&o, "ffeeddccbbaa99887766554433221100", pk, false), -EBADMSG);
	cr_assert_eq(trust_check_key(&o, "ffeeddccbbaa99887766554433221100", pk2, false), 0);
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
	trust_remember(&o, sid, pk, 9, 0);
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

Test(trust, key_pinned_at_first_open_without_a_head)
{
	/* restore/ls by snapshot id never read a head: the key is pinned at open anyway */
	cr_assert_eq(trust_check_key(&o, sid, pk, false), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk2, false), -EBADMSG);
	cr_assert_eq(trust_check_key(&o, sid, pk, true), 0);
}

Test(trust, unsafe_state_directory_refused)
{
	cr_assert_eq(trust_check_key(&o, sid, pk, false), 0);
	chmod(dir, 0777); /* anyone could replace the files in it */
	cr_assert_eq(trust_check_key(&o, sid, pk, false), -ENOTRECOVERABLE);
	struct head h = head(1, 3600);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), -ENOTRECOVERABLE);
	chmod(dir, 0700);
	cr_assert_eq(chown(dir, 4321, 4321), 0); /* another user's directory */
	cr_assert_eq(trust_check_key(&o, sid, pk, false), -ENOTRECOVERABLE);
	cr_assert_eq(chown(dir, geteuid(), getegid()), 0);
	cr_assert_eq(trust_check_key(&o, sid, pk, false), 0);
}

Test(trust, state_file_symlink_or_garbage_refused)
{
	char *p = trust_state_path(&o, sid), other[128];
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	write_file(other, "{\"seq\":0}", 0600);
	cr_assert_eq(symlink(other, p), 0); /* someone planted a symlink: not believed */
	cr_assert_eq(trust_check_missing_head(&o, sid), -ENOTRECOVERABLE);
	unlink(p);
	write_file(p, "{\"seq\":7,", 0600); /* torn or not ours: an error, never "empty" */
	cr_assert_eq(trust_check_missing_head(&o, sid), -ENOTRECOVERABLE);
	write_file(p, "{\"seq\":7}", 0666); /* writable by others */
	cr_assert_eq(trust_check_missing_head(&o, sid), -ENOTRECOVERABLE);
	chmod(p, 0600);
	cr_assert_eq(trust_check_missing_head(&o, sid), -ESTALE);
	free(p);
}

Test(trust, no_predictable_temp_file_followed)
{
	/* the old writer used "<file>.tmp.<pid>" through a symlink-following fopen */
	char *p = trust_state_path(&o, sid), trap[160], victim[128];
	struct stat st;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_file(victim, "precious\n", 0600);
	snprintf(trap, sizeof(trap), "%s.tmp.%d", p, (int)getpid());
	cr_assert_eq(symlink(victim, trap), 0);
	struct head h = head(3, 3600);
	cr_assert_eq(trust_check_head(&o, sid, pk, &h), 0);
	cr_assert_eq(state_seq(), 3);
	cr_assert_eq(stat(victim, &st), 0);
	cr_assert_eq(st.st_size, 9, "the victim was overwritten through a symlink");
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	free(p);
}

/* Many readers at once, each seeing its own sequences: the remembered one only rises, and
 * ends at the highest any of them saw (a read-modify-write without a lock loses updates). */
Test(trust, concurrent_readers_never_lower_the_sequence)
{
	enum { PROCS = 8, ROUNDS = 150 };
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		cr_assert_geq(pids[p], 0);
		if (pids[p] == 0) {
			for (int r = 0; r < ROUNDS; r++) {
				/* interleaved: process p sees p, p + PROCS, ... */
				struct head h = head((uint64_t)(r * PROCS + p + 1), 3600);
				/* -ESTALE when another already saw more: expected, go on */
				int ret = trust_check_head(&o, sid, pk, &h);
				if (ret != 0 && ret != -ESTALE)
					_exit(2);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;
		cr_assert_eq(waitpid(pids[p], &status, 0), pids[p]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cr_assert_eq(state_seq(), (long long)PROCS * ROUNDS);
}

Test(trust, refresh_needs_what_was_remembered)
{
	uint64_t seq;
	cr_assert_eq(trust_known_seq(&o, sid, &seq), -ENOENT);
	cr_assert_eq(trust_remember(&o, sid, pk, 4, 0), 0);
	cr_assert_eq(trust_known_seq(&o, sid, &seq), 0);
	cr_assert_eq(seq, 4);
	cr_assert_eq(trust_remember(&o, sid, pk, 2, 0), 0); /* only ever raised */
	cr_assert_eq(trust_known_seq(&o, sid, &seq), 0);
	cr_assert_eq(seq, 4);
}

static char *url_store(const char *url)
{
	char *c = trust_url_canonical(url), path[256];
	uint8_t h[16];
	char hex[33];
	crypto_generichash(h, sizeof(h), (const uint8_t *)c, strlen(c), NULL, 0);
	hex_encode(h, sizeof(h), hex);
	snprintf(path, sizeof(path), "%s/url-%s.json", dir, hex);
	json_t *j = json_load_file(path, 0, NULL);
	char *v = j ? strdup(json_string_value(json_object_get(j, "store_id"))) : NULL;
	json_decref(j);
	free(c);
	return v;
}

Test(trust, an_address_serving_another_store_is_remembered)
{
	const char *a = "00000000000000000000000000000001", *b = "00000000000000000000000000000002";
	const char *url = "https://alice:s3cr3t@Embassy.Example:8443/store/";
	char *v;
	cr_assert_eq(trust_check_url(&o, url, a), 0);
	cr_assert_str_eq((v = url_store(url)), a);
	free(v);
	cr_assert_eq(trust_check_url(&o, url, b), 0); /* a loud warning; the first stays */
	cr_assert_str_eq((v = url_store("https://embassy.example:8443/store")), a);
	free(v);
	o.accept_new_store = true;
	cr_assert_eq(trust_check_url(&o, url, b), 0);
	cr_assert_str_eq((v = url_store(url)), b);
	free(v);
}

Test(trust, canonical_addresses)
{
	char *c = trust_url_canonical("https://u:p@w@Host.EXAMPLE/Store//");
	cr_assert_str_eq(c, "https://host.example/Store");
	free(c);
	c = trust_url_canonical("s3://bucket/prefix?region=x");
	cr_assert_str_eq(c, "s3://bucket/prefix?region=x");
	free(c);
	c = trust_url_canonical(dir);
	cr_assert(!strncmp(c, "file:///", 8) && strstr(c, dir + 4));
	free(c);
}

static struct head listed(uint64_t seq, uint64_t gen)
{
	struct head h = head(seq, 3600);
	h.has_list = true;
	h.gen = gen;
	return h;
}

Test(trust, older_list_generation_is_rollback_at_same_seq)
{
	struct head g6 = listed(10, 6), g5 = listed(10, 5), g7 = listed(10, 7);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g6), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g5), -ESTALE); /* replayed pre-forget list */
	cr_assert_eq(trust_check_head(&o, sid, pk, &g6), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g7), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g6), -ESTALE);
	o.allow_rollback = true;
	cr_assert_eq(trust_check_head(&o, sid, pk, &g5), 0);
}

Test(trust, head_without_list_after_a_list_was_seen_is_rollback)
{
	struct head g2 = listed(3, 2), old = head(3, 3600);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g2), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &old), -ESTALE); /* downgrade to no list */
}

Test(trust, sealer_remembers_the_generation_it_publishes)
{
	struct head g3 = listed(5, 3);
	cr_assert_eq(trust_remember(&o, sid, pk, 5, 4), 0);
	cr_assert_eq(trust_check_head(&o, sid, pk, &g3), -ESTALE);
}
