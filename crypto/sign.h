/* sign: Ed25519 signatures with domain separation: what is signed is
 * context || 0x00 || message, so a signature for one kind of object never verifies another. */
#ifndef EMBASSY_SIGN_H
#define EMBASSY_SIGN_H
#include <stddef.h>
#include <stdint.h>

#define SIGN_PK_LEN 32
#define SIGN_SK_LEN 64
#define SIGN_LEN    64

/* New keypair; sk must be secmem. */
int sign_keypair(uint8_t pk[SIGN_PK_LEN], uint8_t sk[SIGN_SK_LEN]);
int sign_detached(const uint8_t sk[SIGN_SK_LEN], const char *context, const void *msg, size_t len,
		  uint8_t sig[SIGN_LEN]);
/* 0 when valid, -EBADMSG otherwise. */
int sign_verify(const uint8_t pk[SIGN_PK_LEN], const char *context, const void *msg, size_t len,
		const uint8_t sig[SIGN_LEN]);
/* Short printable fingerprint of a public key: hex of BLAKE2b-128(pk), 32 chars + NUL. */
void sign_fingerprint(const uint8_t pk[SIGN_PK_LEN], char out[33]);

#endif
