/* Unit tests for crypto/keys.c: the subkeys are part of the format, so they are pinned
 * by known answers (computed independently with Python hashlib's BLAKE2b, salt = slot
 * number little-endian, personalisation = "embassy1", as crypto_kdf defines). */
#include <criterion/criterion.h>
#include <string.h>

#include "hex.h"
#include "keys.h"
#include "secmem.h"

static const char *const kat_sub[KEY_SLOT_MAX] = {
    [KEY_ID] = "2980c06a292b0ad5333bd5cfcf178f8a2f0c33651b8490a067c57f9125fe327a",
    [KEY_DATA] = "1f42878765716fd1ec9f2e0e856b4b2731b0bea4a7e9d8d99dcbafcce63067b0",
    [KEY_TREE] = "1abc301dd1c1d98002e24f2efed1000d47f403d5a8b8896a9420b3ff34287240",
    [KEY_INDEX] = "4165f66d2cbce352f83678ad7076d0314fc3564a3f699fbafdbf91ba90ffd994",
    [KEY_MANIFEST] = "027379ee6b8ef9419dc1ad650ddbd45a54c0bc43d83337d1c68152f021fc509f",
    [KEY_CHUNKER] = "a985ff864b9d08d94442ecf386930d374a1dd92f607fd4bc3c40f45aa9afc2f5",
    [KEY_JOURNAL] = "39d79adb1d37d01e60d2d5a63a957723387bfcacaaa1159512e9db1411b97a89",
};

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
}

static struct keys *make_keys(uint8_t base, uint8_t sid_base)
{
	uint8_t master[KEY_LEN], sid[STORE_ID_LEN];
	struct keys *k = NULL;

	for (int i = 0; i < KEY_LEN; i++)
		master[i] = (uint8_t)(base + i);
	for (int i = 0; i < STORE_ID_LEN; i++)
		sid[i] = (uint8_t)(sid_base + i);
	cr_assert_eq(keys_new(master, sid, &k), 0);
	cr_assert_not_null(k);
	return k;
}

Test(keys, known_answers, .init = setup)
{
	struct keys *k = make_keys(0, 0xf0);
	char hex[2 * KEY_LEN + 1];

	for (int slot = KEY_ID; slot < KEY_SLOT_MAX; slot++) {
		hex_encode(keys_get(k, slot), KEY_LEN, hex);
		cr_assert_str_eq(hex, kat_sub[slot], "slot %d", slot);
	}
	keys_free(k);
}

Test(keys, master_and_store_id_kept, .init = setup)
{
	struct keys *k = make_keys(0x40, 0x10);

	for (int i = 0; i < KEY_LEN; i++)
		cr_assert_eq(keys_master(k)[i], 0x40 + i);
	for (int i = 0; i < STORE_ID_LEN; i++)
		cr_assert_eq(keys_store_id(k)[i], 0x10 + i);
	keys_free(k);
}

Test(keys, subkeys_distinct, .init = setup)
{
	struct keys *a = make_keys(0, 0), *b = make_keys(1, 0);

	for (int i = KEY_ID; i < KEY_SLOT_MAX; i++) {
		cr_assert_neq(memcmp(keys_get(a, i), keys_get(b, i), KEY_LEN), 0);
		cr_assert_neq(memcmp(keys_get(a, i), keys_master(a), KEY_LEN), 0);
		for (int j = i + 1; j < KEY_SLOT_MAX; j++)
			cr_assert_neq(memcmp(keys_get(a, i), keys_get(a, j), KEY_LEN), 0);
	}
	keys_free(a);
	keys_free(b);
}

Test(keys, store_id_does_not_change_subkeys, .init = setup)
{
	struct keys *a = make_keys(7, 0), *b = make_keys(7, 0x80);

	for (int i = KEY_ID; i < KEY_SLOT_MAX; i++)
		cr_assert_arr_eq(keys_get(a, i), keys_get(b, i), KEY_LEN);
	keys_free(a);
	keys_free(b);
}

Test(keys, bad_slot_is_null, .init = setup)
{
	struct keys *k = make_keys(0, 0);

	cr_assert_null(keys_get(k, 0));
	cr_assert_null(keys_get(k, KEY_SLOT_MAX));
	cr_assert_null(keys_get(k, (enum key_slot) - 1));
	keys_free(k);
}

Test(keys, free_null_is_noop, .init = setup)
{
	keys_free(NULL);
	secmem_free(NULL);
}

Test(keys, secmem_wipe, .init = setup)
{
	uint8_t buf[64];
	uint8_t *p = secmem_alloc(64);

	cr_assert_not_null(p);
	memset(p, 0xaa, 64);
	memset(buf, 0xaa, sizeof(buf));
	secmem_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0);
	secmem_free(p);
	cr_assert_eq(secmem_init(), 0, "secmem_init must be idempotent");
}
