/* hex: lower-case hex encoding of ids and keys. */
#include "hex.h"

#include <errno.h>
#include <string.h>

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t len)
{
	/* strnlen bounds the scan so a missing NUL past 2*len cannot be read. */
	if (strnlen(in, 2 * len + 1) != 2 * len)
		return -EINVAL;
	/* Validate before writing so a failed decode leaves out untouched. */
	for (size_t i = 0; i < 2 * len; i++)
		if (hex_nibble(in[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(hex_nibble(in[2 * i]) << 4 | hex_nibble(in[2 * i + 1]));
	return 0;
}
