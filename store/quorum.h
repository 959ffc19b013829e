/* quorum: M-of-N quorum entries and share files (docs/FORMAT.md 5.3). Format code only: no
 * remote I/O (keyadmin.h finds the entries in a store and unlocks it with them).
 *
 * Quorum entries: the 88-byte key bundle sealed under a random quorum key Q, and Q split
 * M-of-N (crypto/shamir.h) with each share sealed to one officer's recipient key. The entry
 * names officers only by recipient id, never by public key.
 *
 * Share files (one officer's opened share, for officers who cannot meet):
 *   "embassy-quorum-share-v1\nentry keys/quorum-<16 hex>\nshare <hex of x || 32 bytes>\n"
 *   mode 0600; read back only if not readable by group or others. */
#ifndef EMBASSY_QUORUM_H
#define EMBASSY_QUORUM_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define QUORUM_PREFIX	 "keys/quorum-"
#define QUORUM_KEY_LEN	 32
#define QUORUM_SHARE_LEN (1 + QUORUM_KEY_LEN) /* x || share of Q */
#define KEY_NAME_MAX	 64 /* a key entry's object name "keys/…", NUL included */

/* ---- quorum entries (pure: no I/O) ---- */
/* Seal secret under a fresh Q and split Q m-of-n to the officers' X25519 public keys. */
int quorum_entry_make(const void *secret, size_t len, unsigned m, const uint8_t (*pks)[32],
		      unsigned n, json_t **entry);
/* Check the entry's shape; 1 <= m <= n <= 255 and n share slots. -EBADMSG / -EINVAL (other
 * type). */
int quorum_entry_params(const json_t *entry, unsigned *m, unsigned *n);
/* Open the share sealed to this officer. *share: secmem QUORUM_SHARE_LEN bytes.
 * -ENOKEY: no share for this key; -EKEYREJECTED: the slot does not open; -EBADMSG. */
int quorum_entry_open_share(const json_t *entry, const uint8_t pk[32], const uint8_t sk[32],
			    uint8_t **share);
/* Combine k shares (distinct x) into Q and open the sealed secret (secmem).
 * -EKEYREJECTED: the shares do not open it (too few, wrong or tampered); -EBADMSG. */
int quorum_entry_unlock(const json_t *entry, const uint8_t *const *shares, size_t k,
			uint8_t **secret, size_t *len);

/* ---- share files ---- */
struct quorum_share {
	char entry[KEY_NAME_MAX]; /* "keys/quorum-<16 hex>" */
	uint8_t *share;		  /* secmem, QUORUM_SHARE_LEN */
};
/* Create path exclusively, mode 0600. -EEXIST when it exists. */
int quorum_share_write(const char *path, const struct quorum_share *sh);
/* -ENOENT, -EPERM (group/other readable), -EBADMSG (not a share file). */
int quorum_share_read(const char *path, struct quorum_share *out);
void quorum_share_clear(struct quorum_share *sh);

#endif
