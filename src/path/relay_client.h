/* A daemon's connection to one relay (relay/relay_proto.h): connects to
 * http://HOST:PORT, upgrades, proves the node's key, then carries opaque
 * frames addressed by node id. Reconnects by itself with backoff while it
 * exists.
 *
 * Runs on the daemon's event loop, non-blocking. Sending never blocks and
 * never grows memory without bound: frames are appended to an output queue
 * (flushed when the socket is writable, so a burst of sends from one batch
 * goes out in few syscalls); when the queue is over its cap the frame is
 * dropped and relay_client_send says so. */
#ifndef RAY_PATH_RELAY_CLIENT_H
#define RAY_PATH_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/endpoint.h"

struct loop;
struct relay_client;

#define RELAY_CLIENT_URL_MAX 255

struct relay_client_callbacks {
	void *arg;
	/* A RECV frame: SRC sent PAYLOAD (LEN bytes) to us. PAYLOAD lives
	 * until the callback returns, and may be modified in place. */
	void (*on_recv)(void *arg, struct relay_client *rc, const uint8_t src[32], uint8_t *payload,
			size_t len);
	/* The relay says DST is not connected to it. May be NULL. */
	void (*on_peer_gone)(void *arg, struct relay_client *rc, const uint8_t dst[32]);
	/* Authenticated (READY true) or lost (false). May be NULL. */
	void (*on_state)(void *arg, struct relay_client *rc, bool ready);
};

struct relay_client_stats {
	uint64_t connects; /* successful authentications */
	uint64_t failures; /* connection attempts that failed or were lost */
	uint64_t tx_frames, rx_frames;
	uint64_t tx_bytes, rx_bytes; /* payload bytes */
	uint64_t drop_queue_full;    /* sends refused: output queue over its cap */
	uint64_t drop_not_ready;     /* sends refused: not connected */
	uint64_t rtt_ms;	     /* last PING/PONG round trip, 0 before one */
};

/* Parse "http://HOST:PORT" (HOST numeric IPv4, [IPv6] or a DNS name; PORT
 * required; an optional trailing '/') into HOST (brackets removed) and PORT.
 * Returns 0 or -EINVAL. */
int relay_client_parse_url(const char *url, char host[256], uint16_t *port);

/* Start connecting to URL as the node whose 64-byte ed25519 secret key is
 * NODE_SECRET (copied; wiped on free). Returns 0 and *OUT, or -EINVAL (bad
 * URL), -ENOMEM. The first attempt starts at once; on failure, retries back
 * off 1 s, 2 s, 4 s ... 30 s with jitter. */
int relay_client_new(struct loop *loop, const char *url, const uint8_t node_secret[64],
		     const struct relay_client_callbacks *cb, struct relay_client **out);
/* Closes the connection and cancels timers; no callback runs. NULL is a
 * no-op. Must not be called from inside one of RC's own callbacks (they may
 * call relay_client_send and relay_client_reconnect). */
void relay_client_free(struct relay_client *rc);

const char *relay_client_url(const struct relay_client *rc);
bool relay_client_ready(const struct relay_client *rc);
/* The relay's ed25519 key from its last challenge (all zero before). */
const uint8_t *relay_client_server_key(const struct relay_client *rc);
/* The relay's STUN endpoint: its TCP address with the port from the 101
 * response's "Rayfish-Stun-Port" header (unset when it sent none, or before
 * the first connect). */
bool relay_client_stun_endpoint(const struct relay_client *rc, struct endpoint *ep);
void relay_client_get_stats(const struct relay_client *rc, struct relay_client_stats *st);

/* Queue PAYLOAD (at most RELAY_CLIENT_MAX_PAYLOAD bytes) for DST. Returns 0,
 * -ENOTCONN (not authenticated now), -ENOBUFS (queue full; dropped),
 * -EMSGSIZE. */
#define RELAY_CLIENT_MAX_PAYLOAD (65535 - 32)
int relay_client_send(struct relay_client *rc, const uint8_t dst[32], const uint8_t *payload,
		      size_t len);

/* Drop the connection now and reconnect at once (used after the host's
 * addresses change); the backoff starts over. If the connection was ready,
 * on_state(false) runs from inside this call. */
void relay_client_reconnect(struct relay_client *rc);

/* The client's timers, in milliseconds. */
struct relay_client_timeouts {
	uint32_t stage_ms;	 /* each setup stage: connect, 101, challenge, SERVER_OK (10 s) */
	uint32_t backoff_ms;	 /* first retry delay (1 s), doubled per failure ... */
	uint32_t backoff_max_ms; /* ... up to this (30 s); each delay jittered +-20 % */
	uint32_t stable_ms;	 /* a connection ready this long resets the backoff (5 s) */
	uint32_t ping_ms;	 /* PING the relay after this much silence (15 s) */
	uint32_t idle_ms;	 /* drop the connection after this much silence (40 s) */
};

/* Tests only: replace the defaults above (a zero field keeps its value).
 * Applies to the timers armed from then on. */
void relay_client_set_timeouts_for_test(struct relay_client *rc,
					const struct relay_client_timeouts *t);

#endif
