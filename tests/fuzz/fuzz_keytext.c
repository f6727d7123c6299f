/* Key text from the command line and the identity file: node ids (z-base-32)
 * and base64 keys. A parsed value must format back to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keytext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), back[64];
	uint8_t key[KEY_LEN];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (keytext_parse_node_id(text, key) == 0) {
		keytext_format_node_id(key, back);
		if (strcasecmp(back, text) != 0)
			abort();
	}
	if (keytext_parse_base64(text, key) == 0) {
		keytext_format_base64(key, back);
		if (strcmp(back, text) != 0)
			abort();
	}
	free(text);
	return 0;
}
