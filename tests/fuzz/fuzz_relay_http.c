/* The relay's plain HTTP parsers over arbitrary bytes: any request head
 * (method, target, Content-Length; what the record store routes on) and any
 * response head (what the record client reads). Properties checked besides
 * memory safety (ASan/UBSan): an accepted head lies inside the input and
 * ends with the blank line; the target lies inside the request line and
 * starts with '/'; the upgrade parser accepts exactly the GET /relay
 * upgrades the general parser reads; a response head we write for the
 * parsed status and length reads back the same. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(size_t head, const uint8_t *data, size_t size)
{
	if (head < 4 || head > size || head > RELAY_PROTO_HTTP_MAX ||
	    memcmp(data + head - 4, "\r\n\r\n", 4) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_http_request req;
	struct relay_http_response resp, again;
	char out[512];
	size_t head = 0;
	int ret, up, n;

	ret = relay_proto_http_request_head(data, size, &req);
	up = relay_proto_http_request_parse(data, size, &head);
	if (ret == 0) {
		check_head(req.head_len, data, size);
		if (req.method != RELAY_HTTP_GET && req.method != RELAY_HTTP_PUT)
			abort();
		if ((const uint8_t *)req.target < data + 4 || req.target_len == 0 ||
		    (const uint8_t *)req.target + req.target_len > data + req.head_len ||
		    req.target[0] != '/' || memchr(req.target, ' ', req.target_len))
			abort();
		if (req.content_length != RELAY_PROTO_NO_LENGTH &&
		    req.content_length > RELAY_PROTO_LENGTH_HUGE)
			abort();
		/* the upgrade parser agrees on what a valid upgrade is */
		bool is_upgrade = req.method == RELAY_HTTP_GET && req.upgrade &&
				  req.target_len == sizeof(RELAY_PROTO_PATH) - 1 &&
				  memcmp(req.target, RELAY_PROTO_PATH, req.target_len) == 0;
		if ((up == 0) != is_upgrade || (up == 0 && head != req.head_len))
			abort();
	} else {
		if (ret != -EAGAIN && ret != -EMSGSIZE && ret != -EBADMSG)
			abort();
		if (up != ret)
			abort(); /* the upgrade parser fails first the same way */
	}

	ret = relay_proto_http_response_head(data, size, &resp);
	if (ret == 0) {
		check_head(resp.head_len, data, size);
		if (resp.status < 100 || resp.status > 999)
			abort();
		if (resp.status >= 200 && resp.status <= 599 && resp.status != 204 &&
		    resp.content_length != RELAY_PROTO_NO_LENGTH) {
			n = relay_proto_http_response_write(resp.status, "text/plain",
							    (size_t)resp.content_length, out,
							    sizeof(out));
			if (n <= 0 ||
			    relay_proto_http_response_head((const uint8_t *)out, (size_t)n,
							   &again) != 0 ||
			    again.status != resp.status ||
			    again.content_length != resp.content_length ||
			    again.head_len != (size_t)n)
				abort();
		}
	} else if (ret != -EAGAIN && ret != -EMSGSIZE && ret != -EBADMSG) {
		abort();
	}
	return 0;
}
