/* The session engine: one TUN device, one UDP socket, and a WireGuard
 * session per peer over them. It routes packets from TUN to peers by
 * destination, checks that packets from a peer carry that peer's source
 * addresses, runs handshakes and timers, and carries control frames (plaintext
 * starting 0x01) to a reliable control channel per peer.
 *
 * Runs on the daemon's event loop, single-threaded; the packet path works on
 * batches (recvmmsg/sendmmsg) and allocates nothing per packet. */
#ifndef RAY_SESSION_SESSION_H
#define RAY_SESSION_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/endpoint.h"
#include "session/peer.h"
#include "wg/timers.h"

struct loop;
struct identity;
struct session;

#define SESSION_DEFAULT_PORT 41383
#define SESSION_DEFAULT_MTU  1420
#define SESSION_MIN_MTU	     576
#define SESSION_IPV6_MIN_MTU 1280

struct session_config {
	const char *tun_name; /* "ray0" */
	unsigned mtu;
	uint16_t port;	  /* 0: any */
	unsigned threads; /* for the data path's crypto: 1 or 2; 0: 2 with four cores or more */
	struct wg_timer_config timers;
};

/* A control request from P (method and body as in control/messages.h).
 * Answer it with session_respond(), now or later. BODY lives until the call
 * returns. */
typedef void (*session_request_fn)(void *arg, struct peer *p, uint32_t req_id, uint32_t method,
				   const uint8_t *body, size_t len);
/* The outcome of our request: STATUS 0 with the peer's body, the peer's
 * error, -ETIMEDOUT, or -ECANCELED when the peer or the session goes away. */
typedef void (*session_response_fn)(void *arg, int status, const uint8_t *body, size_t len);

/* Opens the TUN device and the UDP socket; the device stays down (no
 * addresses or routes) until session_set_up(). NULL with a reason in ERR. */
struct session *session_new(struct loop *loop, const struct identity *id,
			    const struct session_config *cfg, session_request_fn on_request,
			    void *arg, char *err, size_t err_len);
/* Removes addresses and routes, closes everything, wipes keys. */
void session_free(struct session *s);

/* Up: link up with the node's addresses and routes for the mesh prefixes.
 * Down: link down, addresses removed; sessions and control stay.
 * Returns 0 or -errno (reason in ERR). */
int session_set_up(struct session *s, bool up, char *err, size_t err_len);

/* Packets from the TUN to the service addresses (Magic DNS: 100.100.100.53
 * and fd72:6179::53) go to FN, which must not keep PKT, instead of to a
 * peer. NULL: they are dropped as unroutable. */
typedef void (*session_service_fn)(void *arg, const uint8_t *pkt, size_t len);
void session_set_service_handler(struct session *s, session_service_fn fn, void *arg);
/* Hand an IP packet to the host through the TUN, as if from the mesh (a
 * service's answer). 0, -ENETDOWN while down, or -errno. */
int session_tun_write(struct session *s, const uint8_t *pkt, size_t len);

/* A packet filter (the firewall) sees every IP packet between the TUN and a
 * peer: OUTBOUND from the TUN to P, or from P to the TUN. It returns 0 to
 * let PKT through, -1 to drop it, or the length of an answer it wrote to
 * REPLY (CAP bytes) to drop PKT and send the answer back where PKT came
 * from. NULL: everything passes. */
#define SESSION_FILTER_REPLY_MAX 256
typedef int (*session_filter_fn)(void *arg, const struct peer *p, bool outbound, const uint8_t *pkt,
				 size_t len, uint64_t now, uint8_t *reply, size_t cap);
void session_set_filter(struct session *s, session_filter_fn fn, void *arg);

/* Our own mesh IPv4: derived from our key with collision index 0 until a
 * roster gives us another (session_set_local_ipv4). */
struct in_addr session_local_ipv4(const struct session *s);
/* Make IPV4 (a mesh address) our own. While up, the new /32 goes on the
 * TUN before the old one comes off, so the host is never without one; while
 * down it is kept for session_set_up(). 0, -EINVAL (outside the mesh
 * prefix) or -errno from the kernel (then the old address stays). */
int session_set_local_ipv4(struct session *s, const struct in_addr *ipv4);

uint16_t session_port(const struct session *s);
const char *session_tun_name(const struct session *s);

/* Peers. ALLOWED prefixes route to the peer and are accepted from it. */
struct peer *session_peer_add(struct session *s, const uint8_t wg_public[32],
			      const uint8_t *node_id, const struct endpoint *ep, int *err);
void session_peer_remove(struct session *s, struct peer *p);
struct peer *session_peers(struct session *s); /* iterate with ->next */
struct peer *session_peer_by_node_id(struct session *s, const uint8_t id[32]);
struct peer *session_peer_by_wg_key(struct session *s, const uint8_t key[32]);

/* Send request METHOD with BODY to P over its control channel (reliable,
 * bodies up to about 1 MiB); CB(ARG, ...) runs exactly once, unless this
 * returns an error. TIMEOUT in ns. Returns 0 or -errno. */
int session_request(struct session *s, struct peer *p, uint32_t method, const uint8_t *body,
		    size_t len, uint64_t timeout, session_response_fn cb, void *arg);
int session_respond(struct session *s, struct peer *p, uint32_t req_id, int32_t status,
		    const uint8_t *body, size_t len);
struct ctl_channel_stats;
void session_control_stats(struct session *s, struct peer *p, struct ctl_channel_stats *st);

struct session_stats {
	uint64_t rx_packets, tx_packets;
	uint64_t drop_no_route, drop_no_endpoint, drop_bad_source, drop_decrypt, drop_malformed,
		drop_staged_full, drop_down, drop_filtered, drop_relay, drop_unknown_sender;
	uint64_t strangers_admitted;
	uint64_t handshakes_initiated, handshakes_completed, cookies_sent;
	/* crypto on both cores: batches shared with the helper thread, their
	 * packets, and how many of those the helper did */
	unsigned crypto_threads;
	uint64_t crypto_batches, crypto_packets, crypto_helper_packets;
};
void session_get_stats(const struct session *s, struct session_stats *st);

/* Relays (path/relay_client.h; the daemon owns them, the session borrows).
 * A frame the relay RC delivered from SRC_ID: processed like a UDP packet,
 * answered through the same relay. BUF is decrypted in place. */
struct relay_client;
void session_relay_input(struct session *s, struct relay_client *rc, const uint8_t src_id[32],
			 uint8_t *buf, size_t len);
/* Whether an initiation through a relay from an id we do not know gets a
 * peer (marked ->stranger: control channel only, no addresses routed or
 * accepted) so it can ask to join. Off by default. */
void session_set_admit_strangers(struct session *s, bool on);
/* RC is about to be freed: no peer may keep pointing at it. */
void session_relay_gone(struct session *s, struct relay_client *rc);
/* Reach P through RC until (and whenever) no direct path is proven. */
void session_peer_set_relay(struct session *s, struct peer *p, struct relay_client *rc);
/* A UDP endpoint where P may be reachable (from its record or config). */
void session_peer_add_candidate(struct session *s, struct peer *p, const struct endpoint *ep);
/* P's mesh addresses: IPV4 (as a network's roster assigns it) and the
 * IPv6 its node id derives; NULL: none (control channel only, as for a
 * coordinator we are asking to join). Clears ->stranger. */
void session_peer_set_addresses(struct session *s, struct peer *p, const struct in_addr *ipv4);
/* "direct", "relay" or "none": how a packet to P would go now. */
const char *session_peer_path(struct session *s, struct peer *p);

/* Ask the STUN server at SERVER, from the peers' UDP socket, for our public
 * address. CB (may be NULL) hears the answer: status 0, the mapped address
 * and the round trip; no answer means no call (the asker keeps its own
 * deadline, and session_stun_cancel()s before ARG goes away). UPDATE: the
 * answer becomes session_reflexive (and peers reached through relays are
 * told when it changes). Returns 0 or -errno. */
typedef void (*session_stun_fn)(void *arg, int status, const struct endpoint *mapped,
				uint64_t rtt_ns);
int session_stun_query(struct session *s, const struct endpoint *server, bool update,
		       session_stun_fn cb, void *arg);
void session_stun_cancel(struct session *s, void *arg);
bool session_reflexive(const struct session *s, struct endpoint *ep);
/* The gateway maps EP (external address:port) to our UDP port (NULL: no
 * longer); it becomes a candidate. */
void session_set_mapped(struct session *s, const struct endpoint *ep);
/* Our candidate endpoints (port-mapped, reflexive, then local addresses). */
unsigned session_candidates(struct session *s, struct endpoint *out, unsigned max);

#endif
