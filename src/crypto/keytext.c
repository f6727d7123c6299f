#include "crypto/keytext.h"
#include "crypto/zbase32.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void keytext_format_node_id(const uint8_t key[KEY_LEN], char out[NODE_ID_TEXT_LEN + 1])
{
	zbase32_encode(key, KEY_LEN, out);
}

int keytext_parse_node_id(const char *text, uint8_t key[KEY_LEN])
{
	return zbase32_decode(text, strlen(text), key, KEY_LEN);
}

void keytext_format_base64(const uint8_t key[KEY_LEN], char out[KEY_BASE64_TEXT_LEN + 1])
{
	sodium_bin2base64(out, KEY_BASE64_TEXT_LEN + 1, key, KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int keytext_parse_base64(const char *text, uint8_t key[KEY_LEN])
{
	char canonical[KEY_BASE64_TEXT_LEN + 1];
	size_t len = 0;
	const char *end;

	if (strlen(text) != KEY_BASE64_TEXT_LEN)
		return -EINVAL;
	if (sodium_base642bin(key, KEY_LEN, text, KEY_BASE64_TEXT_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != KEY_LEN || *end != '\0')
		return -EINVAL;
	/* Unused low bits of the last character must be zero: one key, one text. */
	keytext_format_base64(key, canonical);
	if (strcmp(canonical, text) != 0)
		return -EINVAL;
	return 0;
}
