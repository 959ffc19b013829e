/* keys: the master key and the subkeys derived from it (crypto_kdf, context "embassy1").
 * All key material lives in secmem and is wiped by keys_free. */
#ifndef EMBASSY_KEYS_H
#define EMBASSY_KEYS_H
#include <stdint.h>

#define KEY_LEN	     32
#define STORE_ID_LEN 16

/* Subkey ids for crypto_kdf_derive_from_key; the numbers are part of the format. */
enum key_slot {
	KEY_ID = 1,	  /* keyed BLAKE2b-256 record ids */
	KEY_DATA = 2,	  /* file-content records */
	KEY_TREE = 3,	  /* directory (tree) records */
	KEY_INDEX = 4,	  /* writer dedup index records */
	KEY_MANIFEST = 5, /* snapshot manifests */
	KEY_CHUNKER = 6,  /* seed of the chunker's gear table */
	KEY_JOURNAL = 7,  /* the write-through mount's local journal (journal/jlog.c) */
	KEY_SLOT_MAX = 8
};

struct keys;

/* Derive all subkeys from master; store_id is bound into every record's associated data. */
int keys_new(const uint8_t master[KEY_LEN], const uint8_t store_id[STORE_ID_LEN],
	     struct keys **out);
void keys_free(struct keys *k);
/* Subkey of a slot (KEY_LEN bytes), valid until keys_free. */
const uint8_t *keys_get(const struct keys *k, enum key_slot slot);
/* This epoch's master key (epoch 0: the store's master key of FORMAT.md 2.1). */
const uint8_t *keys_master(const struct keys *k);

/* Key epochs (FORMAT.md 2.4): a rotation adds a new master key for future snapshots. The
 * handle then stands for the newest epoch (keys_get gives its subkeys: writers use them) and
 * keeps the older ones for reading. Each epoch's subkeys derive from its own master key
 * exactly as epoch 0's do. */
#define KEY_EPOCH_MAX 64
/* Make master the next epoch's key: *k becomes the new newest epoch (-E2BIG past the max). */
int keys_push_epoch(struct keys **k, const uint8_t master[KEY_LEN]);
unsigned keys_epoch(const struct keys *k);
/* The previous epoch's keys (NULL at epoch 0); valid while k is. */
const struct keys *keys_older(const struct keys *k);
/* The keys of one epoch, NULL if k does not hold it. */
const struct keys *keys_at(const struct keys *k, unsigned epoch);
const uint8_t *keys_store_id(const struct keys *k);

#endif
