/* Peers and the table that finds them: by WireGuard key, by node id, by the
 * receiver index of a packet, and by the IP address a packet is going to.
 * Single-threaded: owned by the session engine's event loop. */
#ifndef RAY_SESSION_PEER_H
#define RAY_SESSION_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "path/endpoint.h"
#include "session/ippacket.h"
#include "session/pathsel.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/timers.h"

#define PEER_MAX_ALLOWED 8
#define PEER_STAGED_MAX	 64   /* packets held while a handshake is under way */
#define PEER_PACKET_MAX	 2048 /* largest packet the data path carries */

struct relay_client;

struct peer_prefix {
	struct ip_addr addr;
	uint8_t len;
};

struct peer {
	struct peer *next;
	bool has_node_id; /* false for a plain WireGuard peer */
	uint8_t node_id[32];
	struct wg_noise_remote noise; /* noise.r_public is the WireGuard key */
	struct wg_cookie_maker cookie;
	struct wg_timers timers;
	struct endpoint endpoint; /* where it was last heard from, or configured */
	struct peer_prefix allowed[PEER_MAX_ALLOWED];
	unsigned nallowed;
	uint8_t *staged; /* PEER_STAGED_MAX slots of PEER_PACKET_MAX, on first use */
	uint16_t staged_len[PEER_STAGED_MAX];
	unsigned nstaged;
	uint64_t rx_bytes, tx_bytes;
	time_t last_handshake;	    /* wall clock; 0: never */
	bool gave_up;		    /* the last handshake attempts failed (logged once) */
	uint64_t last_rx;	    /* monotonic ns of the last authenticated packet */
	uint64_t timer_id;	    /* event-loop timer for the wg timers */
	uint64_t timer_at;	    /* its deadline, monotonic ns */
	void *ctl;		    /* the session engine's control channel state */
	struct relay_client *relay; /* reaches the peer when no direct path does (borrowed) */
	struct pathsel paths;	    /* direct path probing, when there is a relay */
	uint64_t last_activity;	    /* monotonic ns of the last data or control packet */
	bool path_direct;	    /* the direct path was in use (for logging changes) */
	bool candidates_pending;    /* our CANDIDATES request is in flight */
	bool stranger;		    /* not configured: came through a relay to ask to join;
				     * control channel only, no addresses until admitted */
	uint64_t created_ns;	    /* monotonic, when added */
	uint32_t filter_tags;	    /* for the packet filter; the session never reads it */
};

struct peer_index_slot {
	uint32_t index;
	struct peer *peer; /* NULL: empty */
};

struct peer_table {
	struct peer *peers;
	unsigned count;
	struct peer_index_slot *slots; /* open addressing, power-of-two size */
	unsigned nslots, nused;
};

void peer_table_init(struct peer_table *t);
/* Frees every peer (wiping their keys). */
void peer_table_destroy(struct peer_table *t);

/* A new peer with WireGuard key WG_PUBLIC, known to LOCAL's handshakes.
 * Returns NULL on ENOMEM. */
struct peer *peer_table_add(struct peer_table *t, struct wg_noise_local *local,
			    const uint8_t wg_public[WG_KEY_LEN], const struct wg_timer_config *cfg);
/* Remove and free P: its keys are wiped, its indices dropped. */
void peer_table_remove(struct peer_table *t, struct peer *p);

struct peer *peer_table_by_wg_key(const struct peer_table *t, const uint8_t key[WG_KEY_LEN]);
struct peer *peer_table_by_node_id(const struct peer_table *t, const uint8_t id[32]);
/* The peer whose allowed prefixes hold DST (longest match wins). */
struct peer *peer_table_route(const struct peer_table *t, const struct ip_addr *dst);
bool peer_allows(const struct peer *p, const struct ip_addr *addr);
int peer_add_allowed(struct peer *p, const struct ip_addr *addr, unsigned len);

/* A short name for logs: the first 10 characters of the node id, or "wg:"
 * and the first 10 of the base64 WireGuard key. OUT holds 16 bytes. */
void peer_short_name(const struct peer *p, char out[16]);

static inline struct peer *peer_from_remote(struct wg_noise_remote *r)
{
	return (struct peer *)((uint8_t *)r - offsetof(struct peer, noise));
}

/* Receiver indices (wg_noise_upcalls). */
int peer_index_new(struct peer_table *t, struct peer *p, uint32_t *index);
struct peer *peer_index_get(const struct peer_table *t, uint32_t index);
void peer_index_drop(struct peer_table *t, uint32_t index);

#endif
