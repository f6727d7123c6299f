/* The relay protocol parsers over arbitrary bytes: the HTTP upgrade request
 * and response parsers, the frame decoder and the payload parsers. Properties
 * checked besides memory safety (ASan/UBSan): an accepted head lies inside
 * the input and ends with the blank line; every decoded frame re-encodes to
 * exactly the bytes it was decoded from; a frame over the cap is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "relay/relay_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(int ret, size_t head, const uint8_t *data, size_t size)
{
	if (ret != 0)
		return;
	if (head < 4 || head > size || head > RELAY_PROTO_HTTP_MAX ||
	    memcmp(data + head - 4, "\r\n\r\n", 4) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[RELAY_PROTO_HEADER_LEN + RELAY_PROTO_MAX_PAYLOAD];
	uint8_t pk[32], nonce[32], sig[64];
	struct relay_frame f;
	size_t head = 0, off = 0, cap;
	int n;

	check_head(relay_proto_http_request_parse(data, size, &head), head, data, size);
	check_head(relay_proto_http_response_parse(data, size, &head, NULL), head, data, size);

	/* the first byte picks the cap, as a relay picks its own */
	if (size == 0)
		return 0;
	cap = data[0] & 1 ? RELAY_PROTO_MAX_PAYLOAD : (size_t)data[0] * 16;
	data++;
	size--;
	while (off < size) {
		n = relay_proto_frame_decode(data + off, size - off, cap, &f);
		if (n == 0)
			break;
		if (n < 0) {
			if (n != -EMSGSIZE || ((size_t)data[off + 1] << 8 | data[off + 2]) <= cap)
				abort();
			break;
		}
		if ((size_t)n > size - off || f.len > cap ||
		    (size_t)n != RELAY_PROTO_HEADER_LEN + f.len)
			abort();
		if (relay_proto_frame_encode(f.type, f.payload, f.len, NULL, 0, out, sizeof(out)) !=
			    n ||
		    memcmp(out, data + off, (size_t)n) != 0)
			abort();
		relay_proto_parse_challenge(f.payload, f.len, pk, nonce);
		relay_proto_parse_auth(f.payload, f.len, pk, sig);
		off += (size_t)n;
	}
	return 0;
}
