/* sign: Ed25519 with a context prefix (see sign.h). */
#include "sign.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

_Static_assert(SIGN_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk");
_Static_assert(SIGN_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk");
_Static_assert(SIGN_LEN == crypto_sign_BYTES, "sig");

int sign_keypair(uint8_t pk[SIGN_PK_LEN], uint8_t sk[SIGN_SK_LEN])
{
	return crypto_sign_keypair(pk, sk) == 0 ? 0 : -EIO;
}

/* Build context || 0x00 || msg. The context is a C string, so the first NUL ends it and
 * no (context, message) pair can be read as another. Ed25519 hashes the message twice,
 * so it must be contiguous; signed objects are small. */
static int sign_framed(const char *context, const void *msg, size_t len, uint8_t **out,
		       size_t *outlen)
{
	size_t clen;
	uint8_t *buf;

	if (!context || (!msg && len))
		return -EINVAL;
	clen = strlen(context);
	if (len > SIZE_MAX - clen - 1)
		return -EINVAL;
	buf = malloc(clen + 1 + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, context, clen + 1);
	if (len)
		memcpy(buf + clen + 1, msg, len);
	*out = buf;
	*outlen = clen + 1 + len;
	return 0;
}

int sign_detached(const uint8_t sk[SIGN_SK_LEN], const char *context, const void *msg, size_t len,
		  uint8_t sig[SIGN_LEN])
{
	uint8_t *framed = NULL;
	size_t flen;
	int ret;

	ret = sign_framed(context, msg, len, &framed, &flen);
	if (ret < 0)
		goto out;
	ret = crypto_sign_detached(sig, NULL, framed, flen, sk) == 0 ? 0 : -EIO;
out:
	free(framed);
	return ret;
}

int sign_verify(const uint8_t pk[SIGN_PK_LEN], const char *context, const void *msg, size_t len,
		const uint8_t sig[SIGN_LEN])
{
	uint8_t *framed = NULL;
	size_t flen;
	int ret;

	ret = sign_framed(context, msg, len, &framed, &flen);
	if (ret < 0)
		goto out;
	ret = crypto_sign_verify_detached(sig, framed, flen, pk) == 0 ? 0 : -EBADMSG;
out:
	free(framed);
	return ret;
}

void sign_fingerprint(const uint8_t pk[SIGN_PK_LEN], char out[33])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), pk, SIGN_PK_LEN, NULL, 0);
	hex_encode(h, sizeof(h), out);
}
