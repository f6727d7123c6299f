#include "crypto/zbase32.h"

#include <errno.h>

static const char zbase32_alphabet[32] = "ybndrfg8ejkmcpqxot1uwisza345h769";

void zbase32_encode(const uint8_t *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = zbase32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = zbase32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static int zbase32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	for (int i = 0; i < 32; i++)
		if (zbase32_alphabet[i] == c)
			return i;
	return -1;
}

int zbase32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (in_len != ZBASE32_ENCODED_LEN(out_len))
		return -EINVAL;
	for (size_t i = 0; i < in_len; i++) {
		int v = zbase32_value(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -EINVAL;
	return 0;
}
