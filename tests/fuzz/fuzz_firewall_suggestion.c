/* A coordinator's firewall suggestion, as found in a signed roster.
 * Properties checked besides memory safety: decoding returns 0 or -EBADMSG;
 * what decodes re-encodes, and that decodes to the same suggestion; without
 * unknown keys the re-encoding is the input byte for byte (one canonical
 * form); the description fits and is terminated. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/codec.h"
#include "firewall/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does the map in DATA (already decoded once, so well formed) have only
 * the keys fw_suggestion_decode knows? *HOST_LEN: the raw length of the
 * host string, if any. */
static bool known_keys_only(const uint8_t *data, size_t size, size_t *host_len)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	uint64_t key;
	const char *host;

	*host_len = 0;
	ctl_codec_reader_init(&r, data, size, CTL_CODEC_CANONICAL);
	if (ctl_codec_map_begin(&r, &m))
		abort();
	while (ctl_codec_map_next(&r, &m, &key) > 0) {
		if (key > 5)
			return false;
		if (key == 5) {
			if (ctl_codec_get_str(&r, &host, host_len))
				abort();
		} else if (ctl_codec_skip(&r)) {
			abort();
		}
	}
	return true;
}

static bool same(const struct fw_suggestion *a, const struct fw_suggestion *b)
{
	return a->direction == b->direction && a->action == b->action && a->proto == b->proto &&
	       a->port_min == b->port_min && a->port_max == b->port_max &&
	       strcmp(a->peer_host, b->peer_host) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_suggestion s, back;
	uint8_t buf[FW_SUGGESTION_MAX];
	char text[160];
	size_t host_len;
	int ret, n;

	ret = fw_suggestion_decode(data, size, &s);
	if (ret == -EBADMSG)
		return 0;
	if (ret != 0)
		abort();
	n = fw_suggestion_encode(&s, buf, sizeof(buf));
	if (n <= 0 || n > FW_SUGGESTION_MAX)
		abort();
	if (fw_suggestion_decode(buf, (size_t)n, &back) != 0 || !same(&s, &back))
		abort();
	/* too small a buffer is refused, not overrun */
	if (fw_suggestion_encode(&s, buf, (size_t)n - 1) != -ENOBUFS)
		abort();
	if (known_keys_only(data, size, &host_len)) {
		n = fw_suggestion_encode(&s, buf, sizeof(buf));
		if ((size_t)n != size || memcmp(buf, data, size) != 0)
			abort();
	}
	fw_suggestion_describe(&s, text, sizeof(text));
	if (!memchr(text, '\0', sizeof(text)))
		abort();
	fw_suggestion_describe(&s, text, 8);
	if (strlen(text) > 7)
		abort();
	return 0;
}
