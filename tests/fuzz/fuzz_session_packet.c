/* Inner packets as they come out of a peer's session or the TUN device (IP
 * header parsing, MSS clamping), and the prefix and endpoint texts that come
 * from the command line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path/endpoint.h"
#include "session/ippacket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pkt = malloc(size ? size : 1);
	char *text = malloc(size + 1);
	struct ip_addr src, dst;
	struct endpoint ep;
	unsigned len;

	if (!pkt || !text)
		goto out;
	memcpy(pkt, data, size);
	ippacket_addrs(pkt, size, &src, &dst);
	ippacket_clamp_mss(pkt, size, 1420);
	ippacket_clamp_mss(pkt, size, 100);
	memcpy(text, data, size);
	text[size] = '\0';
	if (ip_prefix_parse(text, &src, &len) == 0 && ip_addr_in_prefix(&src, &src, len) != 1)
		abort();
	endpoint_parse(text, &ep);
out:
	free(pkt);
	free(text);
	return 0;
}
