/* shamir: secret sharing over GF(2^8); see shamir.h. */
#include "shamir.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "secmem.h"

/* Shift-and-add ("Russian peasant") multiplication modulo 0x11b. Eight rounds whatever the
 * operands; the conditional adds are masks, not branches. */
uint8_t shamir_gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	for (int i = 0; i < 8; i++) {
		r ^= (uint8_t)(-(b & 1u) & a);
		b >>= 1;
		a = (uint8_t)((a << 1) ^ (-(a >> 7) & 0x1bu));
	}
	return r;
}

/* a^254 = a^-1 for a != 0 (the multiplicative group has order 255), and 0 for 0. The chain
 * is fixed: 254 = 0b11111110. */
uint8_t shamir_gf_inv(uint8_t a)
{
	uint8_t r = a; /* a^1 */

	for (int i = 0; i < 6; i++) /* a^3, a^7, ..., a^127 */
		r = shamir_gf_mul(shamir_gf_mul(r, r), a);
	return shamir_gf_mul(r, r); /* (a^127)^2 = a^254 */
}

void shamir_free(uint8_t **shares, unsigned n)
{
	for (unsigned i = 0; shares && i < n; i++) {
		secmem_free(shares[i]);
		shares[i] = NULL;
	}
}

int shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, uint8_t **shares)
{
	uint8_t *coef;
	size_t ncoef;

	if (m < 1 || m > n || n > SHAMIR_MAX_SHARES || len == 0 || len > SHAMIR_MAX_SECRET)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		shares[i] = NULL;
	/* coefficients 1..m-1 of every byte's polynomial: as secret as the secret itself */
	ncoef = (size_t)(m - 1) * len;
	coef = secmem_alloc(ncoef);
	if (!coef)
		return -ENOMEM;
	randombytes_buf(coef, ncoef);
	for (unsigned i = 0; i < n; i++) {
		uint8_t x = (uint8_t)(i + 1), *sh = secmem_alloc(1 + len);

		if (!sh) {
			shamir_free(shares, i);
			secmem_free(coef);
			return -ENOMEM;
		}
		sh[0] = x;
		for (size_t j = 0; j < len; j++) {
			/* Horner from the highest coefficient down to f(0) = secret[j] */
			uint8_t y = 0;
			for (unsigned c = m - 1; c >= 1; c--)
				y = shamir_gf_mul(y, x) ^ coef[(size_t)(c - 1) * len + j];
			sh[1 + j] = shamir_gf_mul(y, x) ^ secret[j];
		}
		shares[i] = sh;
	}
	secmem_free(coef);
	return 0;
}

int shamir_combine(const uint8_t *const *shares, size_t k, size_t len, uint8_t *secret)
{
	if (k < 1 || k > SHAMIR_MAX_SHARES || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < k; i++) {
		if (shares[i][0] == 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (shares[i][0] == shares[j][0])
				return -EINVAL;
	}
	memset(secret, 0, len);
	for (size_t i = 0; i < k; i++) {
		/* Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); minus is xor */
		uint8_t num = 1, den = 1, l;
		for (size_t j = 0; j < k; j++) {
			if (j == i)
				continue;
			num = shamir_gf_mul(num, shares[j][0]);
			den = shamir_gf_mul(den, shares[j][0] ^ shares[i][0]);
		}
		l = shamir_gf_mul(num, shamir_gf_inv(den));
		for (size_t b = 0; b < len; b++)
			secret[b] ^= shamir_gf_mul(l, shares[i][1 + b]);
	}
	return 0;
}
