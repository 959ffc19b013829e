/* epoch: key bundles with key epochs (layout in docs/FORMAT.md 2.4). */
#include "epoch.h"

#include <errno.h>
#include <string.h>

#include "secmem.h"

#define BUNDLE1_MAGIC "EMBKEYS1"

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint8_t *epoch_bundle_make(const uint8_t sid[STORE_ID_LEN], const struct keys *k,
			   const uint8_t pk[SIGN_PK_LEN], size_t *len)
{
	unsigned n = keys_epoch(k);
	size_t l = n ? BUNDLE2_HDR + (size_t)n * KEY_LEN : BUNDLE1_LEN;
	uint8_t *b = secmem_alloc(l);

	if (!b)
		return NULL;
	/* epoch 0 keeps the first layout byte for byte: stores never rotated do not change */
	memcpy(b, n ? BUNDLE2_MAGIC : BUNDLE1_MAGIC, 8);
	memcpy(b + 8, sid, STORE_ID_LEN);
	memcpy(b + 8 + STORE_ID_LEN, keys_master(keys_at(k, 0)), KEY_LEN);
	memcpy(b + 8 + STORE_ID_LEN + KEY_LEN, pk, SIGN_PK_LEN);
	if (n)
		put_le32(b + BUNDLE1_LEN, n);
	for (unsigned e = 1; e <= n; e++)
		memcpy(b + BUNDLE2_HDR + (size_t)(e - 1) * KEY_LEN, keys_master(keys_at(k, e)),
		       KEY_LEN);
	*len = l;
	return b;
}

int epoch_bundle_check(const uint8_t *b, size_t len)
{
	uint32_t n;

	if (len == BUNDLE1_LEN && !memcmp(b, BUNDLE1_MAGIC, 8))
		return 0;
	if (len < BUNDLE2_HDR || memcmp(b, BUNDLE2_MAGIC, 8))
		return -EBADMSG;
	n = get_le32(b + BUNDLE1_LEN);
	/* epoch 0 alone is always written in the first layout */
	if (n < 1 || n > KEY_EPOCH_MAX || len != BUNDLE2_HDR + (size_t)n * KEY_LEN)
		return -EBADMSG;
	return 0;
}

unsigned epoch_bundle_epoch(const uint8_t *b, size_t len)
{
	return len > BUNDLE1_LEN ? get_le32(b + BUNDLE1_LEN) : 0;
}

int epoch_keys_new(const uint8_t sid[STORE_ID_LEN], const uint8_t master[KEY_LEN],
		   const uint8_t *epochs, unsigned nepochs, struct keys **out)
{
	int ret = keys_new(master, sid, out);

	for (unsigned e = 0; !ret && e < nepochs; e++)
		ret = keys_push_epoch(out, epochs + (size_t)e * KEY_LEN);
	if (ret) {
		keys_free(*out);
		*out = NULL;
	}
	return ret;
}

int epoch_bundle_keys(const uint8_t *b, size_t len, const uint8_t sid[STORE_ID_LEN],
		      struct keys **out)
{
	*out = NULL;
	if (epoch_bundle_check(b, len))
		return -EBADMSG;
	return epoch_keys_new(sid, b + 8 + STORE_ID_LEN, b + BUNDLE2_HDR,
			      epoch_bundle_epoch(b, len), out);
}
