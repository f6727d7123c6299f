/* The STUN parsers over arbitrary datagrams. Properties checked besides
 * memory safety (ASan/UBSan): the response parser, given the datagram's own
 * transaction id, never answers -ESRCH; and whatever the request check
 * accepts, the server answers with a response that the client parser
 * accepts for that request's id, with the observed address intact; no
 * datagram is both an RFC 5389 and an RFC 3489 request, and the answer to
 * the latter carries the request's 16 id bytes and the observed address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>

#include "path/endpoint.h"
#include "path/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero_txid[STUN_TXID_LEN];
	uint8_t txid[STUN_TXID_LEN], resp[STUN_RESPONSE_MAX];
	struct endpoint ep, observed, got;
	size_t resp_len;
	int err;

	stun_parse_binding_response(data, size, zero_txid, &ep);
	if (size >= STUN_HEADER_LEN) {
		memcpy(txid, data + 8, STUN_TXID_LEN);
		err = stun_parse_binding_response(data, size, txid, &ep);
		if (err == -ESRCH)
			abort();
		if (err == 0 && ep.sin6.sin6_port == 0)
			abort();
	}

	if (size < STUN_HEADER_LEN)
		return 0;
	/* observed address: v4 or v6 from the request's own bytes */
	memset(&observed, 0, sizeof(observed));
	observed.sin6.sin6_family = AF_INET6;
	memcpy(&observed.sin6.sin6_addr, data + 4, 16);
	if (data[19] & 1) {
		memset(&observed.sin6.sin6_addr, 0, 10);
		observed.sin6.sin6_addr.s6_addr[10] = 0xff;
		observed.sin6.sin6_addr.s6_addr[11] = 0xff;
	}
	observed.sin6.sin6_port = (uint16_t)(data[8] << 8 | data[9] | 1);
	if (stun_is_classic_binding_request(data, size)) {
		if (stun_is_binding_request(data, size))
			abort();
		if (stun_write_classic_binding_response(data, size, &observed, resp, sizeof(resp),
							&resp_len))
			abort();
		if (resp_len > STUN_CLASSIC_RESPONSE_MAX || memcmp(resp + 4, data + 4, 16) != 0 ||
		    (resp[26] << 8 | resp[27]) != ntohs(observed.sin6.sin6_port))
			abort();
		return 0;
	}
	if (!stun_is_binding_request(data, size))
		return 0;
	if (stun_write_binding_response(data, size, &observed, resp, sizeof(resp), &resp_len))
		abort();
	if (stun_is_binding_request(resp, resp_len))
		abort();
	if (stun_parse_binding_response(resp, resp_len, data + 8, &got))
		abort();
	if (!endpoint_equal(&got, &observed))
		abort();
	return 0;
}
