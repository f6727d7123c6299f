/* The relay protocol, version 1 ("rayfish-relay-1"): how a daemon talks to a
 * relay server (DESIGN.md §5). Pure code: no sockets, no time, no allocation.
 *
 * 1. HTTP upgrade, so a relay can sit behind ordinary HTTP infrastructure.
 *    The client opens TCP to http://HOST:PORT and sends exactly
 *
 *      GET /relay HTTP/1.1\r\n
 *      Host: HOST:PORT\r\n
 *      Upgrade: rayfish-relay-1\r\n
 *      Connection: Upgrade\r\n
 *      \r\n
 *
 *    (the server accepts any header order, other headers, case-insensitive
 *    names and comma-separated token lists; exactly one Host is required).
 *    The client sends nothing more until it has read the 101 and the
 *    SERVER_CHALLENGE (it cannot sign before); bytes after the request head
 *    are a 400. The server answers
 *
 *      HTTP/1.1 101 Switching Protocols\r\n
 *      Upgrade: rayfish-relay-1\r\n
 *      Connection: Upgrade\r\n
 *      \r\n
 *
 *    (with "Rayfish-Stun-Port: N" before the blank line when the relay
 *    answers STUN on UDP port N; it then also answers on N+1, an alternate
 *    destination on the same host, so that a client comparing the two
 *    mapped addresses learns whether its NAT maps per destination, as with
 *    RFC 5780's alternate port), or a 4xx with a one-line body, then
 *    closes: 400 malformed request, 404 path other than /relay, 408 no
 *    whole request within 5 s of connect, 426 missing or wrong Upgrade
 *    token, 431 request head (up to and including the empty line) over
 *    8 KiB.
 *
 * 2. Binary frames, both directions, right after the blank line:
 *
 *      0        1        2        3 ...
 *      +--------+--------+--------+-----------------------+
 *      |  type  |  length (BE16)  |  payload (length)     |
 *      +--------+--------+--------+-----------------------+
 *
 *    A payload over the receiver's cap (the relay chooses its own, at most
 *    65535) is a protocol error. Types and payloads:
 *
 *    0x01 SERVER_CHALLENGE  s->c  | version 1 | server ed25519 pk 32 | nonce 32 |
 *    0x02 CLIENT_AUTH       c->s  | node id (ed25519 pk) 32 | signature 64 |
 *         signature = ed25519 over "rayfish-relay-auth-1" || server pk || nonce
 *    0x03 SERVER_OK         s->c  | (empty) |
 *    0x04 SERVER_ERROR      s->c  | UTF-8 reason | then the server closes
 *    0x05 SEND              c->s  | destination node id 32 | payload |
 *    0x06 RECV              s->c  | source node id 32 | payload |
 *    0x07 PEER_GONE         s->c  | destination node id 32 |  "not here"; at most
 *                                   once per destination per second per client
 *    0x08 PING              both  | 8 opaque bytes |
 *    0x09 PONG              both  | the 8 bytes of the PING |
 *
 *    The server sends SERVER_CHALLENGE right after the 101. Before SERVER_OK,
 *    anything from the client but one CLIENT_AUTH is an error (SERVER_ERROR,
 *    close); CLIENT_AUTH must arrive within 5 s of connect. After SERVER_OK,
 *    unknown types are ignored (forward compatibility); known types sent in
 *    the wrong direction or with the wrong length are errors.
 *
 * The relay forwards SEND payloads (WireGuard messages) opaquely: it learns
 * who talks to whom, never what.
 */
#ifndef RAY_RELAY_RELAY_PROTO_H
#define RAY_RELAY_RELAY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_PROTO_VERSION	  1
#define RELAY_PROTO_TOKEN	  "rayfish-relay-1"
#define RELAY_PROTO_PATH	  "/relay"
#define RELAY_PROTO_AUTH_CONTEXT  "rayfish-relay-auth-1"
#define RELAY_PROTO_HTTP_MAX	  8192 /* request or response head, blank line included */
#define RELAY_PROTO_HEADER_LEN	  3
#define RELAY_PROTO_MAX_PAYLOAD	  65535
#define RELAY_PROTO_KEY_LEN	  32
#define RELAY_PROTO_NONCE_LEN	  32
#define RELAY_PROTO_SIG_LEN	  64
#define RELAY_PROTO_PING_LEN	  8
#define RELAY_PROTO_CHALLENGE_LEN (1 + RELAY_PROTO_KEY_LEN + RELAY_PROTO_NONCE_LEN)
#define RELAY_PROTO_AUTH_LEN	  (RELAY_PROTO_KEY_LEN + RELAY_PROTO_SIG_LEN)
/* A 101 may carry this header: the UDP port where the relay answers STUN. */
#define RELAY_PROTO_STUN_HEADER "Rayfish-Stun-Port"
#define RELAY_PROTO_HTTP_RESPONSE_101                                                              \
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " RELAY_PROTO_TOKEN                          \
	"\r\nConnection: Upgrade\r\n\r\n"

enum relay_frame_type {
	RELAY_SERVER_CHALLENGE = 0x01,
	RELAY_CLIENT_AUTH = 0x02,
	RELAY_SERVER_OK = 0x03,
	RELAY_SERVER_ERROR = 0x04,
	RELAY_SEND = 0x05,
	RELAY_RECV = 0x06,
	RELAY_PEER_GONE = 0x07,
	RELAY_PING = 0x08,
	RELAY_PONG = 0x09,
};

/* A decoded frame; PAYLOAD points into the caller's buffer. */
struct relay_frame {
	uint8_t type;
	uint16_t len;
	const uint8_t *payload;
};

/* Decode the frame at the start of BUF. Returns the bytes it spans (header
 * plus payload, > 0), 0 if BUF holds only part of it, or -EMSGSIZE if its
 * payload is longer than MAX_PAYLOAD (a protocol error: the stream cannot be
 * trusted after it). */
int relay_proto_frame_decode(const uint8_t *buf, size_t len, size_t max_payload,
			     struct relay_frame *f);

/* Write a frame of TYPE whose payload is PART1 then PART2 (either may be
 * NULL with length 0) into OUT. Returns its length, -EMSGSIZE if the payload
 * is over 65535 bytes, -ENOBUFS if OUT_CAP is too small. */
int relay_proto_frame_encode(uint8_t type, const void *part1, size_t len1, const void *part2,
			     size_t len2, uint8_t *out, size_t out_cap);

/* Payload parsers: 0, or -EBADMSG if the length is not what the type needs
 * (SERVER_CHALLENGE also -EPROTONOSUPPORT for a version other than 1). */
int relay_proto_parse_challenge(const uint8_t *p, size_t len, uint8_t server_pk[32],
				uint8_t nonce[32]);
int relay_proto_parse_auth(const uint8_t *p, size_t len, uint8_t node_id[32], uint8_t sig[64]);

/* The CLIENT_AUTH signature, made with the node's 64-byte ed25519 secret key,
 * and its check. verify returns 0 or -EPERM. */
void relay_proto_auth_sign(const uint8_t node_secret[64], const uint8_t server_pk[32],
			   const uint8_t nonce[32], uint8_t sig[64]);
int relay_proto_auth_verify(const uint8_t node_id[32], const uint8_t server_pk[32],
			    const uint8_t nonce[32], const uint8_t sig[64]);

/* Server side: check the HTTP request head at the start of BUF.
 * Returns 0 and sets *HEAD_LEN (the bytes up to and including the blank line;
 * frames may follow) for a valid upgrade request; -EAGAIN if the head is not
 * complete yet (and LEN is under RELAY_PROTO_HTTP_MAX); -EMSGSIZE if no blank
 * line within RELAY_PROTO_HTTP_MAX bytes (answer 431); -ENOENT wrong path
 * (404); -EPROTONOSUPPORT Upgrade/Connection missing or without our token
 * (426); -EBADMSG anything else malformed (400). */
int relay_proto_http_request_parse(const uint8_t *buf, size_t len, size_t *head_len);

/* The whole 4xx response (status line, headers, one-line body) for an error
 * of relay_proto_http_request_parse. Static storage. */
const char *relay_proto_http_error_response(int err);

/* ---- Plain HTTP/1.1 on the same listener (the record store) -------------
 *
 * The server reads one request per connection, answers with
 * "Connection: close" and closes. Requests are routed by method and path:
 * GET /relay is the upgrade above; GET and PUT /records/ID are the record
 * store (path/record_client.h has the API). */

enum relay_http_method {
	RELAY_HTTP_GET = 1,
	RELAY_HTTP_PUT = 2,
};

/* content_length when the head has no Content-Length header */
#define RELAY_PROTO_NO_LENGTH UINT64_MAX
/* values over this read as this: far more than any relay accepts */
#define RELAY_PROTO_LENGTH_HUGE 999999999999999999ull

struct relay_http_request {
	enum relay_http_method method;
	const char *target; /* into the caller's buffer, TARGET_LEN bytes, not NUL-terminated */
	size_t target_len;
	size_t head_len;	 /* up to and including the blank line */
	uint64_t content_length; /* RELAY_PROTO_NO_LENGTH if absent */
	bool upgrade;		 /* Upgrade has our token and Connection has "upgrade" */
	bool expect_continue;	 /* "Expect: 100-continue" */
};

/* Server side, any request: parse the head at the start of BUF into *REQ.
 * Returns 0; -EAGAIN incomplete; -EMSGSIZE no blank line within
 * RELAY_PROTO_HTTP_MAX bytes (431); -EBADMSG (400): a request line other
 * than "GET|PUT SP /target SP HTTP/1.1", control bytes, bad header syntax,
 * not exactly one Host, any Transfer-Encoding (bodies are sent with a
 * Content-Length; chunked is refused), a Content-Length that is not all
 * digits or appears twice. */
int relay_proto_http_request_head(const uint8_t *buf, size_t len, struct relay_http_request *req);

struct relay_http_response {
	unsigned status; /* 100..999 */
	size_t head_len;
	uint64_t content_length; /* RELAY_PROTO_NO_LENGTH if absent */
};

/* Client side, any response: parse the head at the start of BUF into
 * *RESP. 0, -EAGAIN, -EMSGSIZE (head over RELAY_PROTO_HTTP_MAX), -EBADMSG. */
int relay_proto_http_response_head(const uint8_t *buf, size_t len,
				   struct relay_http_response *resp);

/* The 101 of an accepted upgrade into OUT, with "Rayfish-Stun-Port: N" when
 * STUN_PORT is not 0. Returns its length or -ENOBUFS. */
#define RELAY_PROTO_HTTP_101_MAX 160
int relay_proto_http_101_write(uint16_t stun_port, char *out, size_t out_cap);

/* A response head: status line with the standard reason phrase, then
 * Content-Type CONTENT_TYPE (unless NULL) and Content-Length BODY_LEN
 * (neither for 204), then "Connection: close". Returns its length,
 * -ENOBUFS, or -EINVAL for a status outside 200..599. */
int relay_proto_http_response_write(unsigned status, const char *content_type, size_t body_len,
				    char *out, size_t out_cap);

/* Client side: write the upgrade request for HOSTPORT into OUT. Returns its
 * length or -ENOBUFS; -EINVAL if HOSTPORT has control characters. */
int relay_proto_http_request_write(const char *hostport, char *out, size_t out_cap);

/* Client side: check the response head at the start of BUF. Returns 0 and
 * sets *HEAD_LEN for a 101 with our Upgrade token, and *STUN_PORT (if not
 * NULL) to the port of the relay's STUN responder from its
 * "Rayfish-Stun-Port" header (0 when absent or not a port); -EAGAIN
 * incomplete, -EMSGSIZE too long, -ECONNREFUSED any other status, -EBADMSG
 * malformed. */
int relay_proto_http_response_parse(const uint8_t *buf, size_t len, size_t *head_len,
				    uint16_t *stun_port);

#endif
