/* Unit tests for crypto/hex.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "hex.h"

Test(hex, encode_known)
{
	const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];

	memset(out, 'x', sizeof(out));
	hex_encode(in, sizeof(in), out);
	cr_assert_str_eq(out, "00017f80abff");
}

Test(hex, encode_empty)
{
	char out[1] = {'x'};

	hex_encode((const uint8_t *)"", 0, out);
	cr_assert_eq(out[0], '\0');
}

Test(hex, round_trip_all_bytes)
{
	uint8_t in[256], back[256];
	char s[513];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	hex_encode(in, sizeof(in), s);
	cr_assert_eq(strlen(s), 512);
	cr_assert_eq(hex_decode(s, back, sizeof(back)), 0);
	cr_assert_arr_eq(in, back, sizeof(in));
}

Test(hex, decode_upper_case)
{
	uint8_t out[3];

	cr_assert_eq(hex_decode("ABcdEf", out, 3), 0);
	cr_assert_eq(out[0], 0xab);
	cr_assert_eq(out[1], 0xcd);
	cr_assert_eq(out[2], 0xef);
}

Test(hex, decode_rejects_wrong_length)
{
	uint8_t out[4];

	cr_assert_eq(hex_decode("0011223", out, 4), -EINVAL);
	cr_assert_eq(hex_decode("001122334", out, 4), -EINVAL);
	cr_assert_eq(hex_decode("0011223344", out, 4), -EINVAL);
	cr_assert_eq(hex_decode("", out, 4), -EINVAL);
	cr_assert_eq(hex_decode("", out, 0), 0);
	cr_assert_eq(hex_decode("00", out, 0), -EINVAL);
}

Test(hex, decode_rejects_bad_chars_and_leaves_output)
{
	const char *bad[] = {"0g", "g0", " 0", "0 ", "-1", "0x", "+f", "\3770"};
	uint8_t out[1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out[0] = 0x5a;
		cr_assert_eq(hex_decode(bad[i], out, 1), -EINVAL, "accepted \"%s\"", bad[i]);
		cr_assert_eq(out[0], 0x5a);
	}
}

Test(hex, decode_stops_at_embedded_nul)
{
	const char s[] = "ab\0cd";
	uint8_t out[2];

	cr_assert_eq(hex_decode(s, out, 2), -EINVAL);
}
