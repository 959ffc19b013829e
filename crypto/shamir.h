/* shamir: Shamir secret sharing over GF(2^8) (the AES field, polynomial x^8+x^4+x^3+x+1,
 * 0x11b), byte by byte. Used by quorum key entries (docs/FORMAT.md 5.3).
 *
 * A share of a len-byte secret is 1 + len bytes: x (1..255) || f_0(x) .. f_{len-1}(x), where
 * f_j is a polynomial of degree m-1 with f_j(0) = secret[j] and the other m-1 coefficients
 * from randombytes_buf. Any m distinct shares give the secret back by Lagrange interpolation
 * at 0; fewer give a value that is independent of the secret.
 *
 * Arithmetic is branch-free and table-free (shift-and-add multiply, inversion as a^254 by a
 * fixed square-and-multiply chain), so its timing does not depend on share or secret bytes.
 * Only the x coordinates, which are public, steer control flow.
 *
 * Shamir sharing has no integrity: a wrong or tampered share silently gives a wrong secret.
 * Callers must check the result (quorum entries: the AEAD tag over the key bundle). */
#ifndef EMBASSY_SHAMIR_H
#define EMBASSY_SHAMIR_H
#include <stddef.h>
#include <stdint.h>

#define SHAMIR_MAX_SHARES 255
#define SHAMIR_MAX_SECRET 1024

/* Split secret into n shares, any m of which recombine. shares[i] (i < n) receives a secmem
 * buffer of 1 + len bytes with x = i + 1 (free with shamir_free). -EINVAL: m < 1, m > n,
 * n > 255, len 0 or above SHAMIR_MAX_SECRET; -ENOMEM. On error no share is returned. */
int shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, uint8_t **shares);
/* Interpolate k shares (each 1 + len bytes) at 0 into secret (len bytes, caller's buffer,
 * ideally secmem). -EINVAL: k < 1, k > 255, an x of 0, or two shares with the same x.
 * With fewer shares than the split's m the result is wrong (not an error: nothing can tell). */
int shamir_combine(const uint8_t *const *shares, size_t k, size_t len, uint8_t *secret);
/* Free n shares from shamir_split (NULL entries allowed) and set them to NULL. */
void shamir_free(uint8_t **shares, unsigned n);

/* The field operations, exposed for known-answer tests. */
uint8_t shamir_gf_mul(uint8_t a, uint8_t b);
uint8_t shamir_gf_inv(uint8_t a); /* 0 maps to 0 */

#endif
