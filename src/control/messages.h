/* Control message kinds: every message on the control channel is an RPC
 * envelope (control/rpc.h) whose body is encoded with control/codec.h as a
 * map with small unsigned integer keys. New keys may be added to any map
 * (readers skip what they do not know); a change that old readers would
 * misread needs a new method number instead.
 *
 * Envelope (map, keys ascending):
 *   0 kind    uint   CTL_ENV_REQUEST or CTL_ENV_RESPONSE
 *   1 id      uint   request id (u32), echoed by the response
 *   2 method  uint   request only: CTL_MSG_*
 *   3 status  int    response only: 0, or a negative errno-style code
 *   4 body    bin    the method's request or response body (may be absent)
 *
 * Methods:
 *   CTL_MSG_PING  request PING {1: nonce uint, 2: sent_ns uint (sender's
 *                 monotonic clock)}; response PONG with the same two keys
 *                 echoed, so the requester computes the RTT from its own
 *                 clock. Used by `ray ping`.
 *   CTL_MSG_ECHO  request {1: data bin}; response {1: length uint, 2: digest
 *                 bin (BLAKE2b-256 of data)}. Used by `ray debug send` to
 *                 prove large messages arrive whole.
 *   CTL_MSG_CANDIDATES  request and response {1: addrs array (at most
 *                 CTL_CANDIDATES_MAX) of bin: IPv4 address + port (6 bytes)
 *                 or IPv6 address + port (18 bytes), big-endian}: the UDP
 *                 endpoints where the sender may be reachable directly. Each
 *                 side sends its own; both then probe every pair (hole
 *                 punching, session/pathsel.h).
 */
#ifndef RAY_CONTROL_MESSAGES_H
#define RAY_CONTROL_MESSAGES_H

#include "control/codec.h"

#include <stddef.h>
#include <stdint.h>

#define CTL_ENV_KEY_KIND   0
#define CTL_ENV_KEY_ID	   1
#define CTL_ENV_KEY_METHOD 2
#define CTL_ENV_KEY_STATUS 3
#define CTL_ENV_KEY_BODY   4

#define CTL_ENV_REQUEST	 1
#define CTL_ENV_RESPONSE 2

enum ctl_msg_method {
	CTL_MSG_PING = 1,
	CTL_MSG_ECHO = 2,
	CTL_MSG_CANDIDATES = 3,
};

#define CTL_PING_KEY_NONCE 1
#define CTL_PING_KEY_SENT  2

/* PING request and PONG response body. */
struct ctl_msg_ping {
	uint64_t mp_nonce;
	uint64_t mp_sent_ns;
};

/* Append a PING/PONG body to W (canonical). Returns 0 or the writer's error. */
int ctl_msg_ping_encode(struct ctl_codec_writer *w, const struct ctl_msg_ping *p);
/* Parse a PING/PONG body; both keys are required, unknown keys skipped.
 * Returns 0 or a codec error (-EBADMSG when a key is missing). */
int ctl_msg_ping_decode(const uint8_t *buf, size_t len, struct ctl_msg_ping *p);

#define CTL_ECHO_KEY_DATA   1
#define CTL_ECHO_KEY_LENGTH 1
#define CTL_ECHO_KEY_DIGEST 2
#define CTL_ECHO_DIGEST_LEN 32

/* ECHO request: append {1: data}; parse it, pointing *DATA into BUF. */
int ctl_msg_echo_request_encode(struct ctl_codec_writer *w, const uint8_t *data, size_t len);
int ctl_msg_echo_request_decode(const uint8_t *buf, size_t len, const uint8_t **data,
				size_t *data_len);
/* ECHO response: {1: length, 2: digest}. */
int ctl_msg_echo_reply_encode(struct ctl_codec_writer *w, uint64_t length,
			      const uint8_t digest[CTL_ECHO_DIGEST_LEN]);
int ctl_msg_echo_reply_decode(const uint8_t *buf, size_t len, uint64_t *length,
			      uint8_t digest[CTL_ECHO_DIGEST_LEN]);

#define CTL_CANDIDATES_KEY_ADDRS 1
#define CTL_CANDIDATES_MAX	 16

struct endpoint;

/* CANDIDATES body with the N endpoints of EPS (IPv4 ones as v4-mapped). */
int ctl_msg_candidates_encode(struct ctl_codec_writer *w, const struct endpoint *eps, unsigned n);
/* Parse it into EPS (MAX entries); entries of another length are skipped,
 * more than CTL_CANDIDATES_MAX is -EBADMSG. */
int ctl_msg_candidates_decode(const uint8_t *buf, size_t len, struct endpoint *eps, unsigned max,
			      unsigned *n);

#endif
