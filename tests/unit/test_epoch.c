/* Unit tests for key epochs (docs/FORMAT.md 2.4): the keys chain (crypto/keys.c), records and
 * framed records opened by the epoch that sealed them (record.c, frec.c), the epoch bundle
 * (store/epoch.c) wrapped and unwrapped per epoch, and the sealer key file's epoch lines
 * (store/keyfile.c). The known-answer bundle is in test_format_doc.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoch.h"
#include "frec.h"
#include "keyfile.h"
#include "keys.h"
#include "record.h"
#include "secmem.h"
#include "wrap.h"

static const uint8_t SID[STORE_ID_LEN] = {0xf0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
static const uint8_t PK[SIGN_PK_LEN] = {0x40, 0x41};

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

TestSuite(epoch, .init = setup);

/* Epochs 0..n, epoch e's master key = e repeated. */
static struct keys *chain(unsigned n)
{
	uint8_t m[KEY_LEN];
	struct keys *k;

	memset(m, 0, sizeof(m));
	cr_assert_eq(keys_new(m, SID, &k), 0);
	for (unsigned e = 1; e <= n; e++) {
		memset(m, (int)e, sizeof(m));
		cr_assert_eq(keys_push_epoch(&k, m), 0);
	}
	return k;
}

static void seal(const struct keys *k, const char *text, uint8_t id[ID_LEN], uint8_t **rec,
		 size_t *len)
{
	record_id(k, REC_TREE, text, strlen(text), id);
	cr_assert_eq(record_seal(k, REC_TREE, id, text, strlen(text), 0, rec, len), 0);
}

Test(epoch, chain_newest_first)
{
	struct keys *k = chain(3), *zero = chain(0);

	cr_assert_eq(keys_epoch(k), 3);
	cr_assert_eq(keys_epoch(keys_older(k)), 2);
	cr_assert_null(keys_older(keys_at(k, 0)));
	cr_assert_null(keys_at(k, 4));
	/* epoch 0 of a chain is the store's old master key: same subkeys as a plain handle */
	cr_assert_arr_eq(keys_get(keys_at(k, 0), KEY_DATA), keys_get(zero, KEY_DATA), KEY_LEN);
	cr_assert_arr_neq(keys_get(k, KEY_DATA), keys_get(zero, KEY_DATA), KEY_LEN);
	cr_assert_arr_neq(keys_get(k, KEY_ID), keys_get(keys_older(k), KEY_ID), KEY_LEN);
	/* the local journal keeps epoch 0's key across rotations */
	cr_assert_arr_eq(keys_get(k, KEY_JOURNAL), keys_get(zero, KEY_JOURNAL), KEY_LEN);
	keys_free(k);
	keys_free(zero);
}

Test(epoch, at_most_key_epoch_max)
{
	struct keys *k = chain(KEY_EPOCH_MAX);
	uint8_t m[KEY_LEN] = {0x77};

	cr_assert_eq(keys_push_epoch(&k, m), -E2BIG);
	cr_assert_eq(keys_epoch(k), KEY_EPOCH_MAX);
	keys_free(k);
}

Test(epoch, records_open_by_their_epoch_only_with_it)
{
	struct keys *all = chain(2), *old = chain(1);
	uint8_t id0[ID_LEN], id2[ID_LEN], *r0, *r2, *out;
	size_t l0, l2, olen;
	unsigned e = 99;

	seal(keys_at(all, 0), "sealed before any rotation", id0, &r0, &l0);
	seal(all, "sealed under epoch 2", id2, &r2, &l2);
	cr_assert_arr_neq(id0, id2, ID_LEN);
	cr_assert_eq(record_open_epoch(all, REC_TREE, id0, r0, l0, 1024, 1, &out, &olen, &e), 0);
	cr_assert_eq(e, 0);
	cr_assert_eq(olen, strlen("sealed before any rotation"));
	free(out);
	cr_assert_eq(record_open_epoch(all, REC_TREE, id2, r2, l2, 1024, 1, &out, &olen, &e), 0);
	cr_assert_eq(e, 2);
	cr_assert_arr_eq(out + 1, "sealed under epoch 2", olen);
	free(out);
	/* a holder left out of epoch 2 (epochs 0 and 1 only) reads the old, not the new */
	cr_assert_eq(record_open(old, REC_TREE, id0, r0, l0, 1024, &out, &olen), 0);
	free(out);
	cr_assert_eq(record_open(old, REC_TREE, id2, r2, l2, 1024, &out, &olen), -EBADMSG);
	cr_assert_null(out);
	/* the same content under another epoch's id is not this record */
	uint8_t other[ID_LEN];
	record_id(keys_at(all, 1), REC_TREE, "sealed under epoch 2", 20, other);
	cr_assert_eq(record_open(all, REC_TREE, other, r2, l2, 1024, &out, &olen), -EBADMSG);
	free(r0);
	free(r2);
	keys_free(all);
	keys_free(old);
}

Test(epoch, framed_records_use_the_header_epoch)
{
	struct keys *all = chain(1), *old = chain(0);
	size_t len = 3 * FREC_FRAME + 17, rlen;
	uint8_t *p = malloc(len), *dst = malloc(len), *rec, id[ID_LEN];
	uint8_t *hashes = malloc((size_t)frec_nframes(len) * FREC_HASH_LEN);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	frec_id(all, p, len, id, hashes);
	cr_assert_eq(frec_seal(all, id, hashes, p, len, 0, &rec, &rlen), 0);
	cr_assert_eq(frec_open(all, id, rec, rlen, len, dst), 0);
	cr_assert_arr_eq(dst, p, len);
	cr_assert_eq(frec_open(old, id, rec, rlen, len, dst), -EBADMSG);
	free(rec);
	/* and an epoch 0 framed record opens with the chain */
	frec_id(keys_at(all, 0), p, len, id, hashes);
	cr_assert_eq(frec_seal(keys_at(all, 0), id, hashes, p, len, 3, &rec, &rlen), 0);
	memset(dst, 0, len);
	cr_assert_eq(frec_open(all, id, rec, rlen, len, dst), 0);
	cr_assert_arr_eq(dst, p, len);
	free(rec);
	free(p);
	free(dst);
	free(hashes);
	keys_free(all);
	keys_free(old);
}

Test(epoch, bundle_layouts)
{
	struct keys *k0 = chain(0), *k3 = chain(3), *back;
	size_t l0, l3;
	uint8_t *b0 = epoch_bundle_make(SID, k0, PK, &l0),
		*b3 = epoch_bundle_make(SID, k3, PK, &l3);
	uint8_t bad[BUNDLE_MAX];

	cr_assert_eq(l0, 88, "a store never rotated keeps the 88-byte bundle");
	cr_assert_eq(memcmp(b0, "EMBKEYS1", 8), 0);
	cr_assert_eq(l3, 92 + 3 * 32);
	cr_assert_eq(epoch_bundle_check(b0, l0), 0);
	cr_assert_eq(epoch_bundle_check(b3, l3), 0);
	cr_assert_eq(epoch_bundle_epoch(b3, l3), 3);
	/* the history is carried: epochs 0..3 back, each as it was */
	cr_assert_eq(epoch_bundle_keys(b3, l3, SID, &back), 0);
	for (unsigned e = 0; e <= 3; e++)
		cr_assert_arr_eq(keys_get(keys_at(back, e), KEY_DATA),
				 keys_get(keys_at(k3, e), KEY_DATA), KEY_LEN, "epoch %u", e);
	keys_free(back);
	/* malformed: short, long, a count that disagrees, 0 or above the maximum, wrong magic */
	cr_assert_eq(epoch_bundle_check(b3, l3 - 1), -EBADMSG);
	memcpy(bad, b3, l3);
	cr_assert_eq(epoch_bundle_check(bad, l3 + 32), -EBADMSG);
	bad[88] = 2;
	cr_assert_eq(epoch_bundle_check(bad, l3), -EBADMSG);
	bad[88] = 0;
	cr_assert_eq(epoch_bundle_check(bad, 92), -EBADMSG);
	bad[88] = KEY_EPOCH_MAX + 1;
	cr_assert_eq(epoch_bundle_check(bad, 92 + (KEY_EPOCH_MAX + 1) * 32), -EBADMSG);
	memcpy(bad, b3, l3);
	bad[7] = '1';
	cr_assert_eq(epoch_bundle_check(bad, l3), -EBADMSG);
	cr_assert_eq(epoch_bundle_check(b0, 87), -EBADMSG);
	secmem_free(b0);
	secmem_free(b3);
	keys_free(k0);
	keys_free(k3);
}

/* Wrapped for a recipient, a bundle of epoch 2 opens epoch 2's records; the bundle a removed
 * holder kept (epoch 1) does not. */
Test(epoch, wrap_unwrap_per_epoch)
{
	struct keys *k1 = chain(1), *k2 = chain(2), *mine, *removed;
	uint8_t pk[32], *sk = secmem_alloc(32), *s1, *s2, *b1, *b2, id[ID_LEN], *rec, *out;
	size_t l1, l2, n1, n2, rlen, olen;
	json_t *e1, *e2;

	b1 = epoch_bundle_make(SID, k1, PK, &l1);
	b2 = epoch_bundle_make(SID, k2, PK, &l2);
	cr_assert_eq(wrap_recipient_keypair(pk, sk), 0);
	cr_assert_eq(wrap_recipient(b1, l1, pk, &e1), 0);
	cr_assert_eq(wrap_recipient(b2, l2, pk, &e2), 0);
	cr_assert_eq(unwrap_recipient(e1, pk, sk, &s1, &n1), 0);
	cr_assert_eq(unwrap_recipient(e2, pk, sk, &s2, &n2), 0);
	cr_assert_eq(epoch_bundle_keys(s2, n2, SID, &mine), 0);
	cr_assert_eq(epoch_bundle_keys(s1, n1, SID, &removed), 0);
	seal(k2, "after the second rotation", id, &rec, &rlen);
	cr_assert_eq(record_open(mine, REC_TREE, id, rec, rlen, 1024, &out, &olen), 0);
	free(out);
	cr_assert_eq(record_open(removed, REC_TREE, id, rec, rlen, 1024, &out, &olen), -EBADMSG);
	free(rec);
	seal(k1, "after the first rotation", id, &rec, &rlen);
	cr_assert_eq(record_open(removed, REC_TREE, id, rec, rlen, 1024, &out, &olen), 0);
	free(out);
	cr_assert_eq(record_open(mine, REC_TREE, id, rec, rlen, 1024, &out, &olen), 0);
	free(out);
	free(rec);
	json_decref(e1);
	json_decref(e2);
	secmem_free(s1);
	secmem_free(s2);
	secmem_free(b1);
	secmem_free(b2);
	secmem_free(sk);
	keys_free(mine);
	keys_free(removed);
	keys_free(k1);
	keys_free(k2);
}

static char *tmpdir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/test_epoch.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

Test(epoch, sealer_key_file_epochs)
{
	char *dir = tmpdir(), path[128], cmd[512];
	uint8_t m[KEY_LEN] = {1}, sk[SIGN_SK_LEN] = {2}, e1[KEY_LEN], e2[KEY_LEN];
	struct keyfile kf;
	FILE *f;

	memset(e1, 0x11, sizeof(e1));
	memset(e2, 0x22, sizeof(e2));
	snprintf(path, sizeof(path), "%s/sealer.key", dir);
	cr_assert_eq(keyfile_write_sealer(path, SID, m, sk), 0);
	cr_assert_eq(keyfile_load(path, &kf), 0);
	cr_assert_eq(kf.nepochs, 0);
	keyfile_clear(&kf);
	cr_assert_eq(keyfile_add_epoch(path, 2, e2), -EINVAL, "epochs come in order");
	cr_assert_eq(keyfile_add_epoch(path, 1, e1), 0);
	cr_assert_eq(keyfile_add_epoch(path, 2, e2), 0);
	cr_assert_eq(keyfile_load(path, &kf), 0);
	cr_assert_eq(kf.nepochs, 2);
	cr_assert_arr_eq(kf.epochs, e1, KEY_LEN);
	cr_assert_arr_eq(kf.epochs + KEY_LEN, e2, KEY_LEN);
	keyfile_clear(&kf);
	/* an epoch line out of order, or malformed, fails the whole file */
	f = fopen(path, "a");
	cr_assert_not_null(f);
	fprintf(f, "epoch 4 %064x\n", 0);
	fclose(f);
	cr_assert_eq(keyfile_load(path, &kf), -EBADMSG);
	snprintf(cmd, sizeof(cmd), "sed -i '$d' %s && echo 'epoch 3 12' >>%s", path, path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(keyfile_load(path, &kf), -EBADMSG);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
