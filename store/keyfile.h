/* keyfile: the key files a person holds, as small text files (docs/FORMAT.md, "Key files").
 *   sealer key   : "embassy-sealer-key-v1", store <hex16B>, master <hex32B>, sign <hex64B>,
 *                  after a rotation also "epoch <n> <hex32B>" lines (n = 1, 2, …)
 *   recipient key: "embassy-recipient-key-v1", public <hex32B>, secret <hex32B>
 *   recipient pub: "embassy-recipient-pub-v1", public <hex32B>
 * A recipient key file may also carry trust anchors: lines "trust <32 hex>", each the
 * fingerprint of a signing key its holder trusts (written by 'keygen --trust' and
 * 'key pin'). A store opened with such a file must be signed by one of them.
 * Secret files must be 0600 (no group/other bits): -EPERM otherwise. Secrets land in secmem. */
#ifndef EMBASSY_KEYFILE_H
#define EMBASSY_KEYFILE_H
#include <stdbool.h>
#include <stdint.h>

#include "keys.h"
#include "sign.h"

enum keyfile_kind {
	KEYFILE_SEALER = 1,
	KEYFILE_RECIPIENT,
	KEYFILE_RECIPIENT_PUB,
	KEYFILE_SIGNING,    /* "embassy-signing-key-v1": an officer's or the timestamp key */
	KEYFILE_SIGNING_PUB /* "embassy-signing-pub-v1": its public half */
};

#define KEYFILE_MAX_TRUST 16 /* trust anchors per recipient key file */

struct keyfile {
	enum keyfile_kind kind;
	uint8_t store_id[STORE_ID_LEN]; /* sealer */
	uint8_t pub[32];		/* recipient: X25519 pk; sealer, signing: Ed25519 pk */
	uint8_t *master;		/* sealer: secmem KEY_LEN */
	uint8_t *secret; /* sealer, signing: Ed25519 sk (64); recipient: X25519 sk (32) */
	/* sealer, after a signing-key rotation: the store's original signing key (the
	 * descriptor's), which differs from pub; absent: pub is the original */
	bool has_origin;
	uint8_t origin[SIGN_PK_LEN];
	uint8_t *epochs;		   /* sealer: secmem, nepochs keys of epochs 1.. */
	unsigned nepochs;		   /* sealer: key epochs after 0 ('key rotate') */
	char trust[KEYFILE_MAX_TRUST][33]; /* recipient: anchored signing-key fingerprints */
	unsigned ntrust;
};

/* -ENOENT missing, -EPERM too permissive, -EBADMSG malformed. */
int keyfile_load(const char *path, struct keyfile *out);
void keyfile_clear(struct keyfile *kf);
/* Create path exclusively with mode 0600; -EEXIST if present. */
int keyfile_write_sealer(const char *path, const uint8_t store_id[STORE_ID_LEN],
			 const uint8_t master[KEY_LEN], const uint8_t sign_sk[SIGN_SK_LEN]);
/* The same with an "origin" line: the sealer key of a rotated store (FORMAT.md 15.2). */
int keyfile_write_sealer_origin(const char *path, const uint8_t store_id[STORE_ID_LEN],
				const uint8_t master[KEY_LEN], const uint8_t sign_sk[SIGN_SK_LEN],
				const uint8_t *origin);
int keyfile_write_recipient(const char *path, const uint8_t pk[32], const uint8_t sk[32]);
/* A new Ed25519 signing key file at path (0600, exclusive) and path.pub (0644). */
int keyfile_write_signing(const char *path, const uint8_t sk[SIGN_SK_LEN]);
/* Add the anchor fpr (32 lower-case hex) to the recipient key file at path, replacing it
 * atomically with the same content plus one "trust" line. 0 also when it was there already;
 * -EBADMSG not a recipient key file, -ENOSPC already KEYFILE_MAX_TRUST anchors. */
int keyfile_add_trust(const char *path, const char *fpr);
/* Append "epoch <epoch> <hex key>" to the sealer key file at path, atomically as
 * keyfile_add_trust does; epoch must be the file's next (-EINVAL otherwise). */
int keyfile_add_epoch(const char *path, unsigned epoch, const uint8_t key[KEY_LEN]);
/* Is fpr one of kf's anchors? */
bool keyfile_trusts(const struct keyfile *kf, const char *fpr);

#endif
