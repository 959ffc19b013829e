/* epoch: key bundles that carry key epochs (docs/FORMAT.md 2.4), shared by opening
 * (store_unlock.c), key administration (keyadmin.c, keypasswd.c) and rotation (keyadmin.c:
 * keyadmin_rotate).
 *
 * A store starts at epoch 0 with the 88-byte bundle of FORMAT.md 2.2. 'embassy key rotate'
 * adds epoch N with a new random master key; the bundles wrapped from then on carry every
 * epoch's key, 0..N, so their holders read all history, while a bundle of an older epoch
 * (a removed holder's) opens nothing sealed under a later one. */
#ifndef EMBASSY_EPOCH_H
#define EMBASSY_EPOCH_H
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "sign.h"

#define BUNDLE2_MAGIC "EMBKEYS2"
#define BUNDLE1_LEN   (8 + STORE_ID_LEN + KEY_LEN + SIGN_PK_LEN)
#define BUNDLE2_HDR   (BUNDLE1_LEN + 4)
#define BUNDLE_MAX    (BUNDLE2_HDR + KEY_EPOCH_MAX * KEY_LEN)

/* The bundle for k's epochs (secmem, *len bytes): FORMAT.md 2.2 at epoch 0, 2.4 after. */
uint8_t *epoch_bundle_make(const uint8_t sid[STORE_ID_LEN], const struct keys *k,
			   const uint8_t pk[SIGN_PK_LEN], size_t *len);
/* 0 if b is a well-formed bundle of either layout, else -EBADMSG. */
int epoch_bundle_check(const uint8_t *b, size_t len);
/* The newest epoch a checked bundle carries. */
unsigned epoch_bundle_epoch(const uint8_t *b, size_t len);
/* Keys of every epoch of a checked bundle, for store id sid. */
int epoch_bundle_keys(const uint8_t *b, size_t len, const uint8_t sid[STORE_ID_LEN],
		      struct keys **out);
/* The keys of a sealer key file's store: epoch 0's master and the epochs after it. */
int epoch_keys_new(const uint8_t sid[STORE_ID_LEN], const uint8_t master[KEY_LEN],
		   const uint8_t *epochs, unsigned nepochs, struct keys **out);

#endif
