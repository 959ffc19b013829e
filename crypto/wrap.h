/* wrap: protecting a secret blob (the store's key bundle) for a recovery party.
 *
 * Passphrase entry (JSON):
 *   {"type":"passphrase","kdf":"argon2id13","opslimit":N,"memlimit":N,
 *    "salt":hex16,"nonce":hex24,"ct":hex}   ct = XChaCha20-Poly1305(argon2id(pass,salt),
 * ad="EMBK1") Recipient entry (JSON):
 *   {"type":"recipient","recipient_id":hex32,"ct":hex}   ct = crypto_box_seal(secret, pk)
 *   recipient_id = BLAKE2b-256("embassy-recipient-id-v1\0" || pk). The public key itself is
 *   never stored: a sealed box proves nothing about its sender, so whoever knows the public
 *   key could make an entry that opens. Kept off the host, the key cannot be used to forge.
 */
#ifndef EMBASSY_WRAP_H
#define EMBASSY_WRAP_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WRAP_DEFAULT_OPS 3u
#define WRAP_DEFAULT_MEM (256u << 20)
#define WRAP_MIN_MEM	 (8u << 10)

int wrap_passphrase(const void *secret, size_t len, const char *pass, size_t passlen,
		    unsigned long long ops, size_t mem, json_t **entry);
/* -EKEYREJECTED: wrong passphrase; -EBADMSG: malformed entry; -EINVAL: not a passphrase entry.
 * *secret is secmem (secmem_free). Refuses absurd KDF parameters from the entry (-EBADMSG). */
int unwrap_passphrase(const json_t *entry, const char *pass, size_t passlen, uint8_t **secret,
		      size_t *len);

/* X25519 recipient keys (crypto_box). sk must be secmem. */
int wrap_recipient_keypair(uint8_t pk[32], uint8_t sk[32]);
/* The identifier a recipient entry carries instead of the public key. */
void wrap_recipient_id(const uint8_t pk[32], uint8_t id[32]);
int wrap_recipient(const void *secret, size_t len, const uint8_t pk[32], json_t **entry);
/* -ENOKEY: entry is for another recipient; -EKEYREJECTED: does not open; -EBADMSG malformed. */
int unwrap_recipient(const json_t *entry, const uint8_t pk[32], const uint8_t sk[32],
		     uint8_t **secret, size_t *len);

#endif
