/* The invite ledger file: whatever loads must save and load again to the same
 * text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/invite_ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct invite_ledger *l = NULL, *back = NULL;
	char *text = NULL, *again = NULL;

	if (invite_ledger_from_json((const char *)data, size, &l) != 0)
		return 0;
	if (invite_ledger_to_json(l, &text) != 0)
		abort();
	if (invite_ledger_from_json(text, strlen(text), &back) != 0)
		abort();
	if (invite_ledger_to_json(back, &again) != 0 || strcmp(text, again) != 0)
		abort();
	/* and the loaded ledger is usable */
	invite_ledger_prune(back, 1700000000, INVITE_LEDGER_KEEP);
	free(text);
	free(again);
	invite_ledger_free(l);
	invite_ledger_free(back);
	return 0;
}
