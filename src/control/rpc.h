/* Request/response over a reliable message pipe (normally a ctl_channel:
 * the caller wires the channel's deliver callback to ctl_rpc_input() and
 * ctl_rpc_new's send callback to ctl_channel_send()). Envelope format in
 * control/messages.h. Pure code: time is an input.
 *
 * Each request gets a fresh id and a slot in a table of CTL_RPC_MAX_PENDING;
 * its callback runs exactly once: with the peer's status and body, with
 * -ETIMEDOUT when no response came in time, or with -ECANCELED from
 * ctl_rpc_free(). A remote status and a local one share the errno space. A
 * response that matches no pending request (unknown, late, duplicate) is
 * ignored.
 *
 * Incoming requests go to the handler, which answers with ctl_rpc_respond()
 * now or later; with no handler every request is answered -ENOSYS.
 * Callbacks may issue requests and responses, but not free the rpc.
 */
#ifndef RAY_CONTROL_RPC_H
#define RAY_CONTROL_RPC_H

#include <stddef.h>
#include <stdint.h>

#define CTL_RPC_MAX_PENDING 64

struct ctl_rpc;

/* Send one whole message reliably; 0 or a negative error. */
typedef int (*ctl_rpc_send_fn)(void *user, uint64_t now, const uint8_t *msg, size_t len);
/* A request arrived; BODY lives until the handler returns. */
typedef void (*ctl_rpc_request_fn)(void *user, struct ctl_rpc *rpc, uint64_t now, uint32_t req_id,
				   uint32_t method, const uint8_t *body, size_t len);
/* Outcome of one of our requests (see above); BODY (NULL when LEN is 0)
 * lives until the callback returns. */
typedef void (*ctl_rpc_response_fn)(void *arg, uint64_t now, uint32_t req_id, int status,
				    const uint8_t *body, size_t len);

/* HANDLER may be NULL. Returns NULL when out of memory. */
struct ctl_rpc *ctl_rpc_new(ctl_rpc_send_fn send, ctl_rpc_request_fn handler, void *user);
/* Free RPC; pending requests' callbacks run with -ECANCELED first. */
void ctl_rpc_free(struct ctl_rpc *rpc);

/* Send request METHOD with BODY (an encoded value, may be empty) and call
 * CB(ARG, ...) once with the outcome; TIMEOUT in ns from NOW. *REQ_ID
 * (optional) gets the id. Returns 0, or -ENOBUFS (table full), -EMSGSIZE,
 * -ENOMEM or the send callback's error, in which case CB is never called. */
int ctl_rpc_request(struct ctl_rpc *rpc, uint64_t now, uint32_t method, const uint8_t *body,
		    size_t len, uint64_t timeout, ctl_rpc_response_fn cb, void *arg,
		    uint32_t *req_id);
/* End every pending request now with STATUS (e.g. -ETIMEDOUT when the
 * channel under the rpc has given up on the peer). */
void ctl_rpc_fail_all(struct ctl_rpc *rpc, uint64_t now, int status);

/* Forget a pending request without calling its callback. 0 or -ENOENT. */
int ctl_rpc_cancel(struct ctl_rpc *rpc, uint32_t req_id);

/* Answer request REQ_ID with STATUS and BODY. Returns 0 or a send error. */
int ctl_rpc_respond(struct ctl_rpc *rpc, uint64_t now, uint32_t req_id, int32_t status,
		    const uint8_t *body, size_t len);

/* Consume one received message. Returns 0 (including ignored responses) or
 * -EBADMSG for a malformed envelope. */
int ctl_rpc_input(struct ctl_rpc *rpc, uint64_t now, const uint8_t *msg, size_t len);

/* Time out expired requests. Returns the next deadline or UINT64_MAX. */
uint64_t ctl_rpc_poll(struct ctl_rpc *rpc, uint64_t now);

#endif
