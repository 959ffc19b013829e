/* root: the signed, versioned root document — one link (root.c) and the chain a reader
 * walks in a real local store (store_root.c): threshold, skipped version, wrong signer,
 * replayed old root, version overflow, withheld versions, bounded chain, retired keys. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "keyfile.h"
#include "root.h"
#include "secmem.h"
#include "store.h"
#include "trust.h"

#define NK 10
static uint8_t *sk[NK], pk[NK][SIGN_PK_LEN]; /* 0 origin, 1 snapshot, 2 timestamp, 3.. officers */
static const uint8_t SID[STORE_ID_LEN] = {0x5e, 1, 2, 3};

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
	for (int i = 0; i < NK; i++) {
		sk[i] = secmem_alloc(SIGN_SK_LEN);
		cr_assert_eq(sign_keypair(pk[i], sk[i]), 0);
	}
}

static void teardown(void)
{
	for (int i = 0; i < NK; i++)
		secmem_free(sk[i]);
}

/* A body for version v with officers off[] (indexes into the keys) and threshold thr. */
static void mk(struct root *r, uint64_t v, const int *off, unsigned n, unsigned thr)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->store_id, SID, STORE_ID_LEN);
	r->version = v;
	r->time_ns = 1795768268642987001;
	memcpy(r->snapshot_pk, pk[1], SIGN_PK_LEN);
	memcpy(r->timestamp_pk, pk[2], SIGN_PK_LEN);
	for (unsigned i = 0; i < n; i++)
		memcpy(r->officers[i], pk[off[i]], SIGN_PK_LEN);
	r->nofficers = n;
	r->threshold = thr;
	cr_assert_eq(root_seal_body(r), 0);
}

static void signs(struct root *r, const int *who, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(root_sign(r, sk[who[i]]), 0);
}

/* Through the object bytes and back, as a reader gets it. */
static void reparse(struct root *r)
{
	char *env;
	struct root back;
	cr_assert_eq(root_envelope(r, &env), 0);
	cr_assert_eq(root_decode((uint8_t *)env, strlen(env), &back), 0, "%s", env);
	free(env);
	root_clear(r);
	*r = back;
}

TestSuite(root, .init = setup, .fini = teardown);

Test(root, first_version_needs_origin_and_threshold)
{
	const int off[] = {3, 4, 5};
	struct root r;

	mk(&r, 1, off, 3, 2);
	signs(&r, (int[]){0, 3, 4}, 3);
	reparse(&r);
	cr_assert_eq(root_verify_first(&r, SID, pk[0]), 0);
	cr_assert_eq(r.nofficers, 3);
	cr_assert_eq(r.threshold, 2);
	cr_assert_eq(root_verify_first(&r, SID, pk[6]), -EBADMSG, "another origin");
	uint8_t other[STORE_ID_LEN] = {9};
	cr_assert_eq(root_verify_first(&r, other, pk[0]), -EBADMSG, "another store");
	root_clear(&r);

	mk(&r, 1, off, 3, 2); /* below the threshold */
	signs(&r, (int[]){0, 3}, 2);
	reparse(&r);
	cr_assert_eq(root_verify_first(&r, SID, pk[0]), -EBADMSG);
	root_clear(&r);

	mk(&r, 1, off, 3, 2); /* officers only, no origin */
	signs(&r, (int[]){3, 4, 5}, 3);
	reparse(&r);
	cr_assert_eq(root_verify_first(&r, SID, pk[0]), -EBADMSG);
	root_clear(&r);

	mk(&r, 2, off, 3, 2); /* a "first" that is not version 1 */
	signs(&r, (int[]){0, 3, 4}, 3);
	cr_assert_eq(root_verify_first(&r, SID, pk[0]), -EBADMSG);
	root_clear(&r);
}

Test(root, one_officer_signing_twice_counts_once)
{
	const int off[] = {3, 4, 5};
	struct root r;
	char *env, *dup;

	mk(&r, 1, off, 3, 2);
	signs(&r, (int[]){0, 3}, 2);
	cr_assert_eq(root_envelope(&r, &env), 0);
	/* the same signature twice in the object: still one officer */
	char sigpair[2 * (SIGN_PK_LEN + SIGN_LEN) + 8];
	char pkh[65], sgh[129];
	hex_encode(r.sig_pk[1], SIGN_PK_LEN, pkh);
	hex_encode(r.sig[1], SIGN_LEN, sgh);
	snprintf(sigpair, sizeof(sigpair), "[\"%s\",\"%s\"]", pkh, sgh);
	char *at = strstr(env, sigpair);
	cr_assert_not_null(at);
	cr_assert(asprintf(&dup, "%.*s,%s%s", (int)(at - env + strlen(sigpair)), env, sigpair,
			   at + strlen(sigpair)) > 0);
	root_clear(&r);
	cr_assert_eq(root_decode((uint8_t *)dup, strlen(dup), &r), 0, "%s", dup);
	cr_assert_eq(r.nsigs, 3);
	cr_assert_eq(root_verify_first(&r, SID, pk[0]), -EBADMSG);
	root_clear(&r);
	free(env);
	free(dup);
}

Test(root, next_needs_old_and_new_thresholds)
{
	const int off1[] = {3, 4, 5}, off2[] = {5, 6, 7};
	struct root v1, v2;

	mk(&v1, 1, off1, 3, 2);
	signs(&v1, (int[]){0, 3, 4}, 3);
	reparse(&v1);

	mk(&v2, 2, off2, 3, 2); /* old 3, 4 and new 6, 7 */
	signs(&v2, (int[]){3, 4, 6, 7}, 4);
	reparse(&v2);
	cr_assert_eq(root_verify_next(&v1, &v2), 0);
	root_clear(&v2);

	mk(&v2, 2, off2, 3, 2); /* new officers only: a rotation the old ones did not confirm */
	signs(&v2, (int[]){5, 6, 7}, 3);
	reparse(&v2);
	cr_assert_eq(root_verify_next(&v1, &v2), -EBADMSG);
	root_clear(&v2);

	mk(&v2, 2, off2, 3, 2); /* old officers only: the new ones never accepted */
	signs(&v2, (int[]){3, 4}, 2);
	reparse(&v2);
	cr_assert_eq(root_verify_next(&v1, &v2), -EBADMSG);
	root_clear(&v2);

	mk(&v2, 2, off2, 3, 2); /* officer 5 is in both: counts once on each side */
	signs(&v2, (int[]){5, 3, 6}, 3);
	reparse(&v2);
	cr_assert_eq(root_verify_next(&v1, &v2), 0);
	root_clear(&v2);

	mk(&v2, 2, off2, 3, 2); /* wrong signers: the snapshot and timestamp keys, an outsider */
	signs(&v2, (int[]){1, 2, 8, 6, 7}, 5);
	reparse(&v2);
	cr_assert_eq(root_verify_next(&v1, &v2), -EBADMSG);
	root_clear(&v2);
	root_clear(&v1);
}

Test(root, skipped_replayed_and_overflowing_versions)
{
	const int off[] = {3, 4, 5};
	struct root v1, v2, v3;

	mk(&v1, 1, off, 3, 2);
	signs(&v1, (int[]){0, 3, 4}, 3);
	mk(&v2, 2, off, 3, 2);
	signs(&v2, (int[]){3, 4}, 2);
	mk(&v3, 3, off, 3, 2);
	signs(&v3, (int[]){3, 4}, 2);
	cr_assert_eq(root_verify_next(&v1, &v2), 0);
	cr_assert_eq(root_verify_next(&v2, &v3), 0);
	cr_assert_eq(root_verify_next(&v1, &v3), -EBADMSG, "skipped version 2");
	cr_assert_eq(root_verify_next(&v2, &v2), -EBADMSG, "replayed version");
	cr_assert_eq(root_verify_next(&v3, &v2), -EBADMSG, "older version replayed");
	cr_assert_eq(root_verify_next(&v2, &v1), -EBADMSG);

	v2.version = ROOT_VERSION_LIMIT; /* nothing follows the last version */
	v3.version = 0;			 /* (it would wrap around) */
	cr_assert_eq(root_verify_next(&v2, &v3), -EBADMSG);
	root_clear(&v1);
	root_clear(&v2);
	root_clear(&v3);
}

/* Bodies a hostile host could write: each refused by the parser. */
Test(root, malformed_bodies)
{
	const int off[] = {3, 4, 5};
	struct root r;
	char pkh[3][65], sk1[65], ts[65], *env;
	const char *fmt[] = {
	    /* officers not sorted */
	    "{\"officers\":[\"%3$s\",\"%2$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":1}",
	    /* threshold above the officers */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":3,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":1}",
	    /* threshold 0 */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":0,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":1}",
	    /* version 0 */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":0}",
	    /* version beyond 2^63 - 1 */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,"
	    "\"version\":9223372036854775808}",
	    /* the snapshot key is also an officer */
	    "{\"officers\":[\"%2$s\",\"%4$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":1}",
	    /* snapshot key = timestamp key */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%4$s\",\"v\":1,\"version\":1}",
	    /* upper-case hex */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"5E\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,\"version\":1,\"x\":\"%"
	    "6$s\"}",
	    /* another document version */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":2,\"version\":1}",
	    /* a member twice */
	    "{\"officers\":[\"%2$s\",\"%3$s\"],\"snapshot_key\":\"%4$s\",\"store_id\":\"%6$s\","
	    "\"threshold\":1,\"threshold\":1,\"time\":1,\"timestamp_key\":\"%5$s\",\"v\":1,"
	    "\"version\":1}",
	};
	char sid[33];

	mk(&r, 1, off, 3, 2); /* sorted officer keys */
	for (int i = 0; i < 3; i++)
		hex_encode(r.officers[i], SIGN_PK_LEN, pkh[i]);
	hex_encode(pk[1], SIGN_PK_LEN, sk1);
	hex_encode(pk[2], SIGN_PK_LEN, ts);
	hex_encode(SID, STORE_ID_LEN, sid);
	root_clear(&r);
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		char body[2048];
		snprintf(body, sizeof(body), fmt[i], "", pkh[0], pkh[1], sk1, ts, sid);
		json_t *e = json_pack("{s:s s:[]}", "body", body, "sigs");
		env = json_dumps(e, JSON_COMPACT);
		cr_assert_eq(root_decode((uint8_t *)env, strlen(env), &r), -EBADMSG, "case %zu: %s",
			     i, body);
		free(env);
		json_decref(e);
	}
	/* the correct body parses (so the cases above fail for their one defect) */
	char body[2048];
	snprintf(body, sizeof(body),
		 "{\"officers\":[\"%s\",\"%s\"],\"snapshot_key\":\"%s\",\"store_id\":\"%s\","
		 "\"threshold\":1,\"time\":1,\"timestamp_key\":\"%s\",\"v\":1,\"version\":1}",
		 pkh[0], pkh[1], sk1, sid, ts);
	json_t *e = json_pack("{s:s s:[]}", "body", body, "sigs");
	env = json_dumps(e, JSON_COMPACT);
	cr_assert_eq(root_decode((uint8_t *)env, strlen(env), &r), 0, "%s", body);
	root_clear(&r);
	free(env);
	json_decref(e);
	cr_assert_eq(root_decode((const uint8_t *)"{\"body\":1,\"sigs\":[]}", 20, &r), -EBADMSG);
	cr_assert_eq(root_decode((const uint8_t *)"[]", 2, &r), -EBADMSG);
}

Test(root, retired_key_valid_up_to_its_sequence)
{
	const int off[] = {3, 4, 5};
	struct root r;

	mk(&r, 2, off, 3, 2);
	memcpy(r.retired[0].pk, pk[0], SIGN_PK_LEN);
	r.retired[0].max_seq = 41;
	r.nretired = 1;
	cr_assert_eq(root_seal_body(&r), 0);
	signs(&r, (int[]){3, 4}, 2);
	reparse(&r);
	cr_assert_eq(r.nretired, 1);
	cr_assert(root_snapshot_key_ok(&r, pk[1], UINT64_MAX / 2), "the current key");
	cr_assert(root_snapshot_key_ok(&r, pk[0], 41));
	cr_assert_not(root_snapshot_key_ok(&r, pk[0], 42), "signed after the rotation");
	cr_assert_not(root_snapshot_key_ok(&r, pk[8], 1), "never a snapshot key");
	root_clear(&r);
}

/* ---- the chain in a real store ---- */

static char dir[64], url[96], sealer[96];
static struct trust_opts topts;

static void store_setup(void)
{
	struct store_init_opts o = {0};
	char id[2 * STORE_ID_LEN + 1];

	setup();
	snprintf(dir, sizeof(dir), "/tmp/test_root.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "%s/store", dir);
	snprintf(sealer, sizeof(sealer), "%s/sealer.key", dir);
	memset(&topts, 0, sizeof(topts));
	topts.state_dir = dir;
	o.sealer_key_out = sealer;
	o.passphrase = "pw";
	o.passlen = 2;
	o.kdf_ops = 1;
	o.kdf_mem = 8u << 20;
	cr_assert_eq(store_init(url, NULL, &o, id), 0);
}

static void store_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	teardown();
}

static int open_store(struct store **s)
{
	struct store_auth a = {.trust = &topts, .sealer_key = sealer};
	*s = NULL;
	return store_open(url, NULL, &a, s);
}

/* Write version v (1: signed by the sealer's key as origin) with officers 3, 4, 5. */
static void put_version(struct store *s, struct keyfile *kf, uint64_t v)
{
	const int off[] = {3, 4, 5};
	struct root r;
	mk(&r, v, off, 3, 2);
	memcpy(r.store_id, kf->store_id, STORE_ID_LEN);
	memcpy(r.snapshot_pk, kf->pub, SIGN_PK_LEN); /* the sealer keeps signing */
	cr_assert_eq(root_seal_body(&r), 0);
	if (v == 1)
		cr_assert_eq(root_sign(&r, kf->secret), 0);
	signs(&r, (int[]){3, 5}, 2);
	cr_assert_eq(store_root_put(s, &r), 0, "version %llu", (unsigned long long)v);
	root_clear(&r);
}

/* Write each version through a handle opened on the chain so far (as the CLI does). */
static void grow_to(uint64_t upto)
{
	struct keyfile kf;
	struct store *s;
	cr_assert_eq(keyfile_load(sealer, &kf), 0);
	for (;;) {
		cr_assert_eq(open_store(&s), 0);
		uint64_t have = store_root(s) ? store_root(s)->version : 0;
		if (have >= upto) {
			store_close(s);
			break;
		}
		put_version(s, &kf, have + 1);
		store_close(s);
	}
	keyfile_clear(&kf);
}

TestSuite(rootstore, .init = store_setup, .fini = store_teardown);

Test(rootstore, no_root_document_is_as_before)
{
	struct store *s;
	cr_assert_eq(open_store(&s), 0);
	cr_assert_null(store_root(s));
	cr_assert_eq(memcmp(store_sign_pk(s), store_anchor_pk(s), SIGN_PK_LEN), 0);
	store_close(s);
}

static void write_obj(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", url, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void remove_version(uint64_t v)
{
	char name[32], path[256];
	root_object_name(v, name);
	snprintf(path, sizeof(path), "%s/%s", url, name);
	cr_assert_eq(unlink(path), 0, "%s", path);
}

Test(rootstore, chain_walked_remembered_and_not_withheld)
{
	struct store *s;
	uint64_t v;
	char hash[65], sid[2 * STORE_ID_LEN + 1];

	grow_to(3);
	cr_assert_eq(open_store(&s), 0);
	cr_assert_eq(store_root(s)->version, 3);
	snprintf(sid, sizeof(sid), "%s", store_id_hex(s));
	store_close(s);
	cr_assert_eq(trust_root_get(&topts, sid, &v, hash), 0);
	cr_assert_eq(v, 3, "the state remembers the newest version");
	cr_assert_eq(strlen(hash), 64);

	remove_version(3); /* the host withholds the newest version */
	cr_assert_eq(open_store(&s), -ESTALE);
	remove_version(2);
	remove_version(1); /* … or every version: not a store without a root */
	cr_assert_eq(open_store(&s), -ESTALE);
}

Test(rootstore, forged_version_refused)
{
	struct store *s;
	struct keyfile kf;
	const int off[] = {6, 7, 8};
	struct root r;
	char *env, name[32];

	grow_to(1);
	cr_assert_eq(keyfile_load(sealer, &kf), 0);
	/* version 2 with the thief's officers, signed by them and the (stolen) sealer key */
	mk(&r, 2, off, 3, 2);
	memcpy(r.store_id, kf.store_id, STORE_ID_LEN);
	cr_assert_eq(root_seal_body(&r), 0);
	cr_assert_eq(root_sign(&r, kf.secret), 0);
	signs(&r, (int[]){6, 7, 8}, 3);
	cr_assert_eq(open_store(&s), 0);
	cr_assert_eq(store_root_put(s, &r), -EBADMSG, "the writer checks the chain too");
	store_close(s);
	cr_assert_eq(root_envelope(&r, &env), 0);
	root_object_name(2, name);
	write_obj(name, env); /* the host plants it */
	free(env);
	cr_assert_eq(open_store(&s), -EBADMSG);
	root_clear(&r);
	keyfile_clear(&kf);
}

Test(rootstore, bounded_chain)
{
	struct store *s;
	struct keyfile kf;
	const int off[] = {3, 4, 5};
	struct root r;
	char *env, name[32];

	cr_assert_eq(keyfile_load(sealer, &kf), 0);
	/* ROOT_CHAIN_MAX + 1 valid versions, written straight into the store */
	for (uint64_t v = 1; v <= ROOT_CHAIN_MAX + 1; v++) {
		mk(&r, v, off, 3, 2);
		memcpy(r.store_id, kf.store_id, STORE_ID_LEN);
		memcpy(r.snapshot_pk, kf.pub, SIGN_PK_LEN);
		cr_assert_eq(root_seal_body(&r), 0);
		if (v == 1)
			cr_assert_eq(root_sign(&r, kf.secret), 0);
		signs(&r, (int[]){3, 4}, 2);
		cr_assert_eq(root_envelope(&r, &env), 0);
		root_object_name(v, name);
		if (v == 1) {
			char d[200];
			snprintf(d, sizeof(d), "%s/roots", url);
			mkdir(d, 0700);
		}
		write_obj(name, env);
		free(env);
		root_clear(&r);
	}
	cr_assert_eq(open_store(&s), -ELOOP);
	remove_version(ROOT_CHAIN_MAX + 1);
	cr_assert_eq(open_store(&s), 0, "exactly the bound is walked");
	cr_assert_eq(store_root(s)->version, ROOT_CHAIN_MAX);
	store_close(s);
	keyfile_clear(&kf);
}

Test(rootstore, retired_sealer_key_cannot_seal)
{
	struct store *s;
	struct keyfile kf;
	const int off[] = {3, 4, 5};
	struct root r;

	cr_assert_eq(keyfile_load(sealer, &kf), 0);
	cr_assert_eq(open_store(&s), 0);
	mk(&r, 1, off, 3, 2); /* names key 1 as the snapshot key, not the sealer's */
	memcpy(r.store_id, kf.store_id, STORE_ID_LEN);
	cr_assert_eq(root_seal_body(&r), 0);
	cr_assert_eq(root_sign(&r, kf.secret), 0);
	signs(&r, (int[]){3, 4}, 2);
	cr_assert_eq(store_root_put(s, &r), 0);
	store_close(s);
	cr_assert_eq(open_store(&s), -EKEYREVOKED);
	root_clear(&r);
	keyfile_clear(&kf);
}
