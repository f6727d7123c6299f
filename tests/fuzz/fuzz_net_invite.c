/* Invite codes typed or pasted by a user: whatever parses must encode back to
 * the same text (lowercase, trimmed) and parse again to the same invite. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct invite_code c, again;
	char *text = malloc(size + 1), out[INVITE_CODE_TEXT_MAX + 1], room[INVITE_ROOM_ID_LEN + 1];
	uint8_t key[INVITE_KEY_LEN];
	int n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (invite_code_parse(text, &c) == 0) {
		n = invite_code_encode(&c, out, sizeof(out));
		if (n <= 0 || (size_t)n > INVITE_CODE_TEXT_MAX)
			abort();
		if (invite_code_parse(out, &again) != 0 || memcmp(&c, &again, sizeof(c)) != 0)
			abort();
		if (!strcasestr(text, out)) /* the input was OUT, spaced and cased */
			abort();
		if (invite_text_kind(text) != INVITE_TEXT_CODE)
			abort();
	}
	if (invite_room_id_parse(text, key) == 0) {
		invite_room_id_format(key, room);
		if (!strcasestr(text, room) || invite_text_kind(text) != INVITE_TEXT_ROOM_ID)
			abort();
	}
	free(text);
	return 0;
}
