/* STUN Binding (RFC 5389), just enough to learn and to tell a public address.
 *
 * Pure code: no sockets, no allocation, no time. Every function checks every
 * length against the bytes it was given before reading them.
 *
 * Client: stun_build_binding_request() writes a request with the caller's
 * 96-bit transaction id (the caller makes it random, e.g. randombytes_buf, and
 * keeps it to match the answer); stun_parse_binding_response() checks an
 * answer and gives the reflexive address.
 *
 * Server (the relay answers STUN on its UDP port): stun_is_binding_request()
 * tells a Binding Request from anything else (a WireGuard packet starts
 * 0x01..0x04, 0x00, which reads as message type 0x0100..0x0400, never
 * Binding Request 0x0001),
 * stun_write_binding_response() answers it with XOR-MAPPED-ADDRESS, SOFTWARE
 * "rayfish" and FINGERPRINT.
 *
 * What a message must be to be accepted (both directions):
 *   - at least the 20-byte header; the two top bits zero; the magic cookie
 *     0x2112A442 (classic RFC 3489 messages without it are refused here: the
 *     XOR-MAPPED-ADDRESS needs the cookie; a server answers them with the
 *     separate classic functions below);
 *   - the header's length a multiple of 4 and exactly the datagram's length
 *     minus 20 (trailing bytes are refused, not ignored);
 *   - every attribute TLV, padding included, inside the message;
 *   - FINGERPRINT, when present, the last attribute, 4 bytes, and equal to
 *     CRC-32 of the message before it XOR 0x5354554e.
 * Padding bytes are not checked (RFC 5389 §15: they may be any value).
 *
 * Unknown comprehension-required attributes (type < 0x8000) are ignored in
 * both directions, as the brief allows for requests: without authentication
 * no attribute can change what a Binding means to us, and real servers still
 * add RFC 3489 attributes (SOURCE-ADDRESS 0x0004, CHANGED-ADDRESS 0x0005) that
 * a strict client would have to refuse. Not answering 420 to requests with
 * such attributes (ICE checks with PRIORITY, USERNAME) keeps the server to
 * one response shape. MESSAGE-INTEGRITY is not verified (no credentials);
 * after it, attributes other than FINGERPRINT are ignored (RFC 5389 §15.4).
 */
#ifndef RAY_PATH_STUN_H
#define RAY_PATH_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/endpoint.h"

#define STUN_HEADER_LEN	  20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN	  12
/* Largest message the builders below write: a request with FINGERPRINT is
 * 28 bytes; a response is 52 (IPv4) or 64 (IPv6). */
#define STUN_REQUEST_MAX  28
#define STUN_RESPONSE_MAX 64

/* Binding Request with transaction id TXID, and a FINGERPRINT attribute if
 * FINGERPRINT (lets a server that multiplexes STUN with other protocols tell
 * it apart; ours does not need it). Writes into OUT (CAP bytes), *LEN = bytes
 * written. 0 or -ENOBUFS. */
int stun_build_binding_request(const uint8_t txid[STUN_TXID_LEN], bool fingerprint, uint8_t *out,
			       size_t cap, size_t *len);

/* Check BUF (one whole datagram) as the Binding Success Response to the
 * request with TXID and put the reflexive address into *MAPPED (IPv4 as a
 * v4-mapped address, see path/endpoint.h). XOR-MAPPED-ADDRESS is used when
 * present, else MAPPED-ADDRESS; of repeated attributes the first counts.
 * Returns 0, or:
 *   -EBADMSG  not a well-formed STUN message (see above), a bad FINGERPRINT,
 *             or a malformed address attribute
 *   -ENOMSG   well-formed STUN, but not a Binding Success Response (an error
 *             response, an indication, another method)
 *   -ESRCH    a Binding Success Response to another transaction
 *   -ENOENT   no usable address attribute (none, or an unknown family)
 * *MAPPED is written only on success. */
int stun_parse_binding_response(const uint8_t *buf, size_t len, const uint8_t txid[STUN_TXID_LEN],
				struct endpoint *mapped);

/* True when BUF (one whole datagram) is a well-formed Binding Request. */
bool stun_is_binding_request(const uint8_t *buf, size_t len);

/* Answer the Binding Request REQ (checked like stun_is_binding_request) that
 * came from OBSERVED: a Binding Success Response with the same transaction
 * id, XOR-MAPPED-ADDRESS = OBSERVED, SOFTWARE "rayfish" and FINGERPRINT, into
 * OUT (CAP bytes; STUN_RESPONSE_MAX always suffices), *LEN = bytes written.
 * 0, -EBADMSG (REQ is not a Binding Request), -EINVAL (OBSERVED not
 * AF_INET6) or -ENOBUFS. */
int stun_write_binding_response(const uint8_t *req, size_t req_len, const struct endpoint *observed,
				uint8_t *out, size_t cap, size_t *len);

/* RFC 3489 ("classic") clients, such as Debian's `stun`, send no magic
 * cookie: bytes 4..19 are a 128-bit transaction id. RFC 5389 §12.2 has a
 * server answer them with MAPPED-ADDRESS instead of XOR-MAPPED-ADDRESS.
 *
 * stun_is_classic_binding_request: true when BUF is a Binding Request
 * without the cookie, otherwise well-formed as above, and without a
 * CHANGE-REQUEST that asks for another address or port (a server with one
 * address cannot answer from another; staying silent is what tells the
 * client so). stun_write_classic_binding_response answers it: a Binding
 * Success Response with the request's 16 id bytes and MAPPED-ADDRESS =
 * OBSERVED only (no SOFTWARE or FINGERPRINT: old clients do not know them).
 * 0, -EBADMSG, -EINVAL or -ENOBUFS, as stun_write_binding_response. */
#define STUN_CLASSIC_RESPONSE_MAX 44
bool stun_is_classic_binding_request(const uint8_t *buf, size_t len);
int stun_write_classic_binding_response(const uint8_t *req, size_t req_len,
					const struct endpoint *observed, uint8_t *out, size_t cap,
					size_t *len);

/* FINGERPRINT value for the LEN bytes at MSG: CRC-32 (ISO 3309, as in
 * zlib) XOR 0x5354554e. MSG must already carry the message length that
 * includes the FINGERPRINT attribute. */
uint32_t stun_fingerprint(const uint8_t *msg, size_t len);

#endif
