/* The group blob from any peer: decoding never reads outside the input,
 * and whatever decodes re-encodes to exactly the same bytes (so its hash is
 * the hash of the roster it describes). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct group *g;
	uint8_t *buf;
	size_t len;
	int err;

	err = group_decode(data, size, &g);
	if (err) {
		if (g || (err != -EBADMSG && err != -EMSGSIZE && err != -ENOMEM))
			abort();
		return 0;
	}
	if (group_encode(g, &buf, &len) != 0 || len != size || memcmp(buf, data, size) != 0)
		abort();
	free(buf);
	group_free(g);
	return 0;
}
