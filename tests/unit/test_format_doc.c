/* format_doc: the known-answer vectors printed in docs/FORMAT.md are the code's. The test reads
 * the document itself, so the two cannot drift apart: every block
 *
 *     known answer: NAME
 *       field  value (hex, or a decimal number; anything after the value is a comment)
 *
 * inside a fenced code block is recomputed (writers' vectors) or opened (readers' vectors)
 * here, and every NAME the test knows must appear in the document. On a mismatch the value the
 * code gives is printed, so the document can be corrected. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch.h"
#include "hex.h"
#include "keys.h"
#include "record.h"
#include "root.h"
#include "secmem.h"
#include "sign.h"
#include "wrap.h"

#define MAX_FIELDS 16

struct kat {
	char name[64];
	char key[MAX_FIELDS][32];
	char val[MAX_FIELDS][1024];
	int n;
};

static struct kat kats[32];
static int nkats;

/* Every "known answer:" block of docs/FORMAT.md (found from this file's own path). */
static void load_doc(void)
{
	char src[] = __FILE__, path[4096], line[2048];
	struct kat *k = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../../docs/FORMAT.md", dirname(src));
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	nkats = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (!strncmp(p, "known answer: ", 14)) {
			cr_assert_lt(nkats, 32);
			k = &kats[nkats++];
			memset(k, 0, sizeof(*k));
			sscanf(p + 14, "%63[^\n]", k->name);
			continue;
		}
		if (!k || p == line || !isalpha((unsigned char)*p)) {
			k = NULL; /* a block ends at its first line that is not an indented field */
			continue;
		}
		cr_assert_lt(k->n, MAX_FIELDS);
		if (sscanf(p, "%31s %1023s", k->key[k->n], k->val[k->n]) == 2)
			k->n++;
	}
	fclose(f);
}

static const char *field(const char *name, const char *key)
{
	for (int i = 0; i < nkats; i++) {
		if (strcmp(kats[i].name, name))
			continue;
		for (int j = 0; j < kats[i].n; j++)
			if (!strcmp(kats[i].key[j], key))
				return kats[i].val[j];
		cr_assert_fail("FORMAT.md: known answer '%s' has no field '%s'", name, key);
	}
	cr_assert_fail("FORMAT.md: no known answer '%s'", name);
	return NULL;
}

static size_t hexf(const char *name, const char *key, uint8_t *out, size_t max)
{
	const char *h = field(name, key);
	size_t len = strlen(h) / 2;
	cr_assert(len <= max && strlen(h) % 2 == 0, "%s.%s: bad hex", name, key);
	cr_assert_eq(sodium_hex2bin(out, max, h, strlen(h), NULL, NULL, NULL), 0, "%s.%s", name,
		     key);
	return len;
}

/* The document's value must be the code's. */
static void expect(const char *name, const char *key, const uint8_t *got, size_t len)
{
	char *gh = malloc(2 * len + 1);
	sodium_bin2hex(gh, 2 * len + 1, got, len);
	cr_expect_str_eq(field(name, key), gh, "FORMAT.md '%s' %s: the code gives %s", name, key,
			 gh);
	free(gh);
}

static struct keys *doc_keys(const char *name)
{
	uint8_t master[KEY_LEN], sid[STORE_ID_LEN] = {0};
	struct keys *k;
	hexf(name, "master", master, sizeof(master));
	for (int i = 0; i < nkats; i++)
		for (int j = 0; !strcmp(kats[i].name, name) && j < kats[i].n; j++)
			if (!strcmp(kats[i].key[j], "store_id"))
				hexf(name, "store_id", sid, sizeof(sid));
	cr_assert_eq(keys_new(master, sid, &k), 0);
	return k;
}

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
	load_doc();
}

TestSuite(format_doc, .init = setup);

Test(format_doc, subkeys)
{
	struct keys *k = doc_keys("subkeys");
	const char *names[] = {NULL,	      "slot1_id",	"slot2_data",	"slot3_tree",
			       "slot4_index", "slot5_manifest", "slot6_chunker"};
	for (int slot = 1; slot <= 6; slot++)
		expect("subkeys", names[slot], keys_get(k, (enum key_slot)slot), KEY_LEN);
	keys_free(k);
}

Test(format_doc, record_ids)
{
	struct keys *k = doc_keys("record ids");
	uint8_t id[ID_LEN];
	record_id(k, REC_DATA, "", 0, id);
	expect("record ids", "data_empty", id, ID_LEN);
	record_id(k, REC_DATA, "abc", 3, id);
	expect("record ids", "data_abc", id, ID_LEN);
	record_id(k, REC_TREE, "abc", 3, id);
	expect("record ids", "tree_abc", id, ID_LEN);
	keys_free(k);
}

/* A record built by hand from FORMAT.md 3.2 (nonce chosen, not random), and opened by the
 * implementation: both directions of the layout. */
static void record_vector(const char *name, enum record_type type, uint8_t flag)
{
	struct keys *k = doc_keys(name);
	uint8_t plain[256], nonce[24], id[ID_LEN], ad[5 + STORE_ID_LEN + 1 + ID_LEN];
	uint8_t body[300], rec[512], doc[512], *out;
	size_t plen = hexf(name, "plaintext", plain, sizeof(plain)), blen, dlen, outlen;
	unsigned long long clen;

	hexf(name, "nonce", nonce, sizeof(nonce));
	record_id(k, type, plain, plen, id);
	expect(name, "id", id, ID_LEN);
	memcpy(ad, "EMBR1", 5);
	memcpy(ad + 5, keys_store_id(k), STORE_ID_LEN);
	ad[5 + STORE_ID_LEN] = (uint8_t)type;
	memcpy(ad + 6 + STORE_ID_LEN, id, ID_LEN);
	expect(name, "ad", ad, sizeof(ad));
	body[0] = flag;
	if (flag == 0) {
		memcpy(body + 1, plain, plen);
		blen = 1 + plen;
	} else { /* a reader's vector: the frame is taken from the document */
		blen = 1 + hexf(name, "zstd_frame", body + 1, sizeof(body) - 1);
	}
	memcpy(rec, nonce, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + 24, &clen, body, blen, ad, sizeof(ad),
						   NULL, nonce,
						   keys_get(k, (enum key_slot)type + 1));
	expect(name, "record", rec, 24 + clen);
	dlen = hexf(name, "record", doc, sizeof(doc));
	cr_assert_eq(record_open(k, type, id, doc, dlen, 1024, &out, &outlen), 0, "%s", name);
	cr_assert_eq(outlen, plen);
	cr_assert_arr_eq(out, plain, plen);
	free(out);
	keys_free(k);
}

Test(format_doc, record_layout_raw)
{
	record_vector("record, raw (flag 0)", REC_DATA, 0);
}

Test(format_doc, record_layout_compressed)
{
	record_vector("record, compressed (flag 1)", REC_TREE, 1);
}

Test(format_doc, signature_framing_and_fingerprint)
{
	uint8_t seed[32], pk[SIGN_PK_LEN], sig[SIGN_LEN], msg[256];
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN);
	size_t mlen;
	char fpr[33];
	const char *name = "signature framing";

	hexf(name, "seed", seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	expect(name, "public_key", pk, SIGN_PK_LEN);
	mlen = hexf(name, "message", msg, sizeof(msg));
	cr_assert_eq(sign_detached(sk, "embassy-head-v1", msg, mlen, sig), 0);
	expect(name, "signature", sig, SIGN_LEN);
	/* the framing, spelled out: ctx || 0x00 || message, signed as plain Ed25519 */
	{
		uint8_t framed[300], sig2[SIGN_LEN];
		size_t flen = hexf(name, "signed_bytes", framed, sizeof(framed));
		crypto_sign_detached(sig2, NULL, framed, flen, sk);
		cr_assert_arr_eq(sig2, sig, SIGN_LEN);
	}
	sign_fingerprint(pk, fpr);
	cr_expect_str_eq(field(name, "fingerprint"), fpr, "fingerprint: the code gives %s", fpr);
	secmem_free(sk);
}

Test(format_doc, recipient_id)
{
	uint8_t sk[32], pk[32], id[32];
	char entry[64];
	const char *name = "recipient id";

	hexf(name, "x25519_secret", sk, sizeof(sk));
	crypto_scalarmult_base(pk, sk);
	expect(name, "x25519_public", pk, 32);
	wrap_recipient_id(pk, id);
	expect(name, "recipient_id", id, 32);
	snprintf(entry, sizeof(entry), "keys/rcpt-");
	sodium_bin2hex(entry + 10, sizeof(entry) - 10, id, 8);
	cr_expect_str_eq(field(name, "entry_name"), entry, "entry name: the code gives %s", entry);
}

/* FORMAT.md 19: a root document, version 1, as init-root writes it: the body's hash and the
 * signatures of the store's original key and of one officer over it. */
Test(format_doc, root_document)
{
	const char *name = "root document";
	uint8_t seed[32], h[32], *sk = secmem_alloc(SIGN_SK_LEN), origin[SIGN_PK_LEN];
	uint8_t pka[SIGN_PK_LEN], pkb[SIGN_PK_LEN];
	struct root r = {0};
	char *env;

	hexf(name, "store_id", r.store_id, STORE_ID_LEN);
	r.version = 1;
	r.time_ns = 1795768268642987001;
	r.threshold = 2;
	hexf(name, "snapshot_seed", seed, 32);
	crypto_sign_seed_keypair(r.snapshot_pk, sk, seed);
	hexf(name, "timestamp_seed", seed, 32);
	crypto_sign_seed_keypair(r.timestamp_pk, sk, seed);
	hexf(name, "officer_b_seed", seed, 32);
	crypto_sign_seed_keypair(pkb, sk, seed);
	hexf(name, "officer_a_seed", seed, 32);
	crypto_sign_seed_keypair(pka, sk, seed);
	memcpy(r.officers[0], pka, SIGN_PK_LEN);
	memcpy(r.officers[1], pkb, SIGN_PK_LEN);
	r.nofficers = 2;
	cr_assert_eq(root_seal_body(&r), 0);
	cr_expect_eq(r.body_len, strtoul(field(name, "body_length"), NULL, 10),
		     "body length: the code gives %zu (%s)", r.body_len, r.body);
	crypto_generichash(h, 32, (const uint8_t *)r.body, r.body_len, NULL, 0);
	expect(name, "body_blake2b", h, 32);
	root_hash(&r, h);
	expect(name, "body_blake2b", h, 32);
	cr_assert_eq(root_sign(&r, sk), 0); /* officer a */
	expect(name, "sig_officer_a", r.sig[0], SIGN_LEN);
	hexf(name, "origin_seed", seed, 32);
	crypto_sign_seed_keypair(origin, sk, seed);
	cr_assert_eq(root_sign(&r, sk), 0);
	expect(name, "sig_origin", r.sig[1], SIGN_LEN);
	/* origin and one officer of a threshold of two: not yet valid; the second makes it */
	cr_assert_eq(root_verify_first(&r, r.store_id, origin), -EBADMSG);
	hexf(name, "officer_b_seed", seed, 32);
	crypto_sign_seed_keypair(pkb, sk, seed);
	cr_assert_eq(root_sign(&r, sk), 0);
	cr_assert_eq(root_envelope(&r, &env), 0);
	root_clear(&r);
	cr_assert_eq(root_decode((uint8_t *)env, strlen(env), &r), 0);
	cr_assert_eq(root_verify_first(&r, r.store_id, origin), 0);
	free(env);
	root_clear(&r);
	secmem_free(sk);
}

/* FORMAT.md 2.4: the bundle of epoch 1, and epoch 1's subkeys and ids (same derivation). */
Test(format_doc, epoch_bundle)
{
	const char *n = "epoch bundle";
	uint8_t sid[STORE_ID_LEN], m0[KEY_LEN], m1[KEY_LEN], pk[SIGN_PK_LEN], doc[BUNDLE_MAX];
	uint8_t id[ID_LEN], *b;
	struct keys *k, *back;
	size_t len, dlen;

	hexf(n, "store_id", sid, sizeof(sid));
	hexf(n, "master", m0, sizeof(m0));
	hexf(n, "epoch1", m1, sizeof(m1));
	hexf(n, "sign_pk", pk, sizeof(pk));
	cr_assert_eq(keys_new(m0, sid, &k), 0);
	cr_assert_eq(keys_push_epoch(&k, m1), 0);
	b = epoch_bundle_make(sid, k, pk, &len);
	cr_assert_not_null(b);
	expect(n, "bundle", b, len);
	expect(n, "e1_slot1_id", keys_get(k, KEY_ID), KEY_LEN);
	expect(n, "e1_slot5_manifest", keys_get(k, KEY_MANIFEST), KEY_LEN);
	record_id(k, REC_DATA, "abc", 3, id);
	expect(n, "e1_data_abc", id, ID_LEN);
	dlen = hexf(n, "bundle", doc, sizeof(doc));
	cr_assert_eq(epoch_bundle_check(doc, dlen), 0);
	cr_assert_eq(epoch_bundle_epoch(doc, dlen), 1);
	cr_assert_eq(epoch_bundle_keys(doc, dlen, sid, &back), 0);
	cr_assert_eq(keys_epoch(back), 1);
	cr_assert_arr_eq(keys_get(back, KEY_ID), keys_get(k, KEY_ID), KEY_LEN);
	cr_assert_arr_eq(keys_master(keys_at(back, 0)), m0, KEY_LEN);
	keys_free(back);
	secmem_free(b);
	keys_free(k);
}
