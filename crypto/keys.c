/* keys: master key, store id and the crypto_kdf subkeys, in one guarded block. */
#include "keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"

/* The context string is part of the format: changing it changes every subkey. */
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'e', 'm', 'b', 'a', 's', 's', 'y', '1'};

/* Layout of the guarded block: master, then one subkey per slot (slot 0 unused),
 * then the store id. Read-only after derivation so stray writes fault. */
struct keys_block {
	uint8_t master[KEY_LEN];
	uint8_t sub[KEY_SLOT_MAX][KEY_LEN];
	uint8_t store_id[STORE_ID_LEN];
};

/* One epoch's keys; older epochs hang off it (a chain, newest first), so every link is also a
 * complete struct keys for its own epoch (docs/FORMAT.md 2.4). */
struct keys {
	struct keys_block *b; /* secmem, read-only */
	struct keys *older;   /* the previous epoch, NULL for epoch 0 */
	unsigned epoch;
};

int keys_new(const uint8_t master[KEY_LEN], const uint8_t store_id[STORE_ID_LEN], struct keys **out)
{
	struct keys *k = NULL;
	int ret = -ENOMEM;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto out;
	k->b = secmem_alloc(sizeof(*k->b));
	if (!k->b)
		goto out;
	memset(k->b, 0, sizeof(*k->b));
	memcpy(k->b->master, master, KEY_LEN);
	memcpy(k->b->store_id, store_id, STORE_ID_LEN);
	for (int slot = KEY_ID; slot < KEY_SLOT_MAX; slot++) {
		if (crypto_kdf_derive_from_key(k->b->sub[slot], KEY_LEN, (uint64_t)slot,
					       KDF_CONTEXT, master) != 0) {
			ret = -EIO;
			goto out;
		}
	}
	sodium_mprotect_readonly(k->b);
	*out = k;
	k = NULL;
	ret = 0;
out:
	keys_free(k);
	return ret;
}

int keys_push_epoch(struct keys **k, const uint8_t master[KEY_LEN])
{
	struct keys *n = NULL;
	int ret;

	if ((*k)->epoch >= KEY_EPOCH_MAX)
		return -E2BIG;
	ret = keys_new(master, (*k)->b->store_id, &n);
	if (ret)
		return ret;
	n->epoch = (*k)->epoch + 1;
	n->older = *k;
	*k = n;
	return 0;
}

void keys_free(struct keys *k)
{
	while (k) {
		struct keys *o = k->older;
		/* sodium_free wipes the block; it re-enables writing itself. */
		secmem_free(k->b);
		free(k);
		k = o;
	}
}

const uint8_t *keys_get(const struct keys *k, enum key_slot slot)
{
	if (slot < KEY_ID || slot >= KEY_SLOT_MAX)
		return NULL;
	/* the journal is local to a recovery host and outlives a rotation: always epoch 0's */
	while (slot == KEY_JOURNAL && k->older)
		k = k->older;
	return k->b->sub[slot];
}

unsigned keys_epoch(const struct keys *k)
{
	return k->epoch;
}

const struct keys *keys_older(const struct keys *k)
{
	return k->older;
}

const struct keys *keys_at(const struct keys *k, unsigned epoch)
{
	while (k && k->epoch > epoch)
		k = k->older;
	return k && k->epoch == epoch ? k : NULL;
}

const uint8_t *keys_master(const struct keys *k)
{
	return k->b->master;
}

const uint8_t *keys_store_id(const struct keys *k)
{
	return k->b->store_id;
}
