/* Unit tests of quorum unlocking on a store served by several embassies (store/keyadmin.c
 * quorum_unlock over store/store_copies.c): a quorum entry whose copy on one mirror is
 * tampered with, or replaced by one without the officers' slots, opens from the other
 * mirror's copy in either URL order; the copy that opened is handed back for the metadata
 * mirror to keep; when no copy opens, the error and counts are a single store's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epoch.h"
#include "keyadmin.h"
#include "remote.h"
#include "secmem.h"

/* a well-formed key bundle of the first layout (epoch.h): "EMBKEYS1", then any bytes */
static uint8_t BUNDLE[BUNDLE1_LEN];

#define ENTRY "keys/quorum-00112233aabbccdd"

static char base[64], da[80], db[80];

struct officer {
	uint8_t pk[32], sk[32];
};
static struct officer off[3], other[3];

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
	memcpy(BUNDLE, "EMBKEYS1", 8);
	randombytes_buf(BUNDLE + 8, sizeof(BUNDLE) - 8);
	strcpy(base, "/tmp/test_quorum_multi.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(da, sizeof(da), "%s/a", base);
	snprintf(db, sizeof(db), "%s/b", base);
	cr_assert_eq(mkdir(da, 0700), 0);
	cr_assert_eq(mkdir(db, 0700), 0);
	for (int i = 0; i < 3; i++) {
		crypto_box_keypair(off[i].pk, off[i].sk);
		crypto_box_keypair(other[i].pk, other[i].sk);
	}
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(qmulti, .init = setup, .fini = teardown);

/* A 2-of-3 entry for officers o, as text (malloc'd). */
static char *entry_text(const struct officer *o)
{
	uint8_t pks[3][32];
	json_t *e = NULL;
	char *text;

	for (int i = 0; i < 3; i++)
		memcpy(pks[i], o[i].pk, 32);
	cr_assert_eq(quorum_entry_make(BUNDLE, sizeof(BUNDLE), 2, (const uint8_t(*)[32])pks, 3, &e),
		     0);
	cr_assert_not_null(text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(e);
	return text;
}

/* text with one hex digit of the sealed secret ("ct") changed, the k-th after its middle */
static char *tampered(const char *text, int k)
{
	char *t = strdup(text), *ct = strstr(t, "\"ct\":\"");
	size_t len;

	cr_assert_not_null(ct);
	ct += 6;
	len = strcspn(ct, "\"");
	ct[len / 2 + k] = ct[len / 2 + k] == '0' ? '1' : '0';
	return t;
}

static void put(const char *dir, const char *text)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, ENTRY);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

struct accepted {
	int n;
};

static int accept_cb(void *ctx, uint8_t *bundle, size_t len)
{
	struct accepted *a = ctx;

	cr_assert_eq(len, sizeof(BUNDLE));
	cr_assert_arr_eq(bundle, BUNDLE, len);
	a->n++;
	secmem_free(bundle);
	return 0;
}

struct result {
	int ret, accepted;
	struct store_quorum_status st;
	uint8_t *good;
	size_t good_len;
};

/* Unlock ENTRY through url with nkf of the officers' key files. */
static struct result unlock(const char *url, size_t nkf)
{
	struct keyfile kfs[3];
	struct quorum_creds qc = {.kfs = kfs, .nkf = nkf};
	struct accepted a = {0};
	struct remote *r = NULL;
	struct result res = {0};

	memset(kfs, 0, sizeof(kfs));
	for (size_t i = 0; i < nkf; i++) {
		kfs[i].kind = KEYFILE_RECIPIENT;
		memcpy(kfs[i].pub, off[i].pk, 32);
		kfs[i].secret = off[i].sk;
	}
	cr_assert_eq(remote_open(url, NULL, &r), 0, "open %s", url);
	res.ret = quorum_unlock(r, &qc, accept_cb, &a, &res.st, &res.good, &res.good_len);
	res.accepted = a.n;
	remote_free(r);
	return res;
}

static void urls(char ab[200], char ba[200])
{
	snprintf(ab, 200, "%s,%s", da, db);
	snprintf(ba, 200, "%s,%s", db, da);
}

/* One mirror lies (lie: its copy); each mirror, each URL order: opens, and whenever the lie
 * was read first (good != NULL) the copy handed back is the honest one. Returns how many of
 * the four unlocks failed over. */
static int one_liar(const char *honest, const char *lie)
{
	char ab[200], ba[200];
	const char *order[2];
	int failed_over = 0;

	urls(ab, ba);
	order[0] = ab;
	order[1] = ba;
	for (int liar = 0; liar < 2; liar++) {
		put(liar ? db : da, lie);
		put(liar ? da : db, honest);
		for (int o = 0; o < 2; o++) {
			struct result res = unlock(order[o], 2);

			cr_assert_eq(res.ret, 0, "liar %d, order %d: %s", liar, o,
				     strerror(-res.ret));
			cr_assert_eq(res.accepted, 1);
			cr_assert_eq(res.st.m, 2);
			cr_assert_eq(res.st.given, 2);
			cr_assert_str_eq(res.st.entry, ENTRY);
			if (res.good) {
				cr_assert_eq(res.good_len, strlen(honest));
				cr_assert_arr_eq(res.good, honest, res.good_len);
				failed_over++;
			}
			free(res.good);
		}
	}
	return failed_over;
}

Test(qmulti, a_tampered_entry_on_one_mirror_opens_from_the_other)
{
	char *honest = entry_text(off), *lie = tampered(honest, 0);

	cr_assert_gt(one_liar(honest, lie), 0, "the tampered copy was never read first");
	free(lie);
	free(honest);
}

Test(qmulti, an_entry_without_our_slots_on_one_mirror_opens_from_the_other)
{
	char *honest = entry_text(off), *lie = entry_text(other);

	cr_assert_gt(one_liar(honest, lie), 0, "the other quorum's copy was never read first");
	free(lie);
	free(honest);
}

Test(qmulti, tampered_on_both_is_the_single_stores_error)
{
	char *honest = entry_text(off), *l1 = tampered(honest, 0), *l2 = tampered(honest, 1);
	char ab[200], ba[200];
	struct result one, res;

	urls(ab, ba);
	put(da, l1);
	put(db, l2);
	one = unlock(da, 2); /* one store: the reference */
	cr_assert_eq(one.ret, -EKEYREJECTED);
	cr_assert_null(one.good);
	for (int o = 0; o < 2; o++) {
		res = unlock(o ? ba : ab, 2);
		cr_assert_eq(res.ret, one.ret);
		cr_assert_eq(res.accepted, 0);
		cr_assert_null(res.good);
		cr_assert_eq(res.st.m, one.st.m);
		cr_assert_eq(res.st.n, one.st.n);
		cr_assert_eq(res.st.given, one.st.given);
		cr_assert_str_eq(res.st.entry, one.st.entry);
	}
	free(l2);
	free(l1);
	free(honest);
}

Test(qmulti, too_few_officers_counts_as_of_one_store)
{
	char *honest = entry_text(off), *lie = entry_text(other);
	char ab[200], ba[200];

	urls(ab, ba);
	put(da, honest);
	put(db, lie);
	for (int o = 0; o < 2; o++) {
		struct result res = unlock(o ? ba : ab, 1);

		cr_assert_eq(res.ret, -ENOKEY);
		cr_assert_eq(res.accepted, 0);
		cr_assert_null(res.good);
		cr_assert_eq(res.st.m, 2, "the entry with our share says how many it needs");
		cr_assert_eq(res.st.given, 1);
	}
	free(lie);
	free(honest);
}
