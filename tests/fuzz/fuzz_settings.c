/* settings.json as found on disk. */
#include <stdint.h>

#include "daemon/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s;
	char err[256];

	settings_parse((const char *)data, size, "settings.json", &s, err, sizeof(err));
	return 0;
}
