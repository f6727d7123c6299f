/* Path selection for a peer that has a relay to fall back on (DESIGN.md §5):
 * which direct UDP endpoints to probe and when, whether the direct path is
 * proven right now, and which endpoint to use when several answer.
 *
 * Pure code: time is an argument, nothing is sent from here. The session
 * engine sends the probes this asks for (PATH_PING frames inside the
 * WireGuard session, so a probe and its answer are authenticated) and reports
 * every authenticated packet that arrives directly over UDP.
 *
 * The rule: an authenticated packet from endpoint E proves E works both ways
 * (it crossed both NATs, and our answers go back through the mappings it
 * made). The direct path is used while such a packet arrived within
 * PATHSEL_TRUST_NS; the relay carries everything else. While the direct path
 * is in use and the peer is active, a heartbeat probe keeps the proof fresh,
 * so a path that stops answering is abandoned within the trust window and
 * traffic falls back to the relay without breaking the session (WireGuard
 * does not care which way a packet came). */
#ifndef RAY_SESSION_PATHSEL_H
#define RAY_SESSION_PATHSEL_H

#include <stdbool.h>
#include <stdint.h>

#include "path/endpoint.h"

#define PATHSEL_MAX_CANDIDATES 16
#define PATHSEL_TRUST_NS       (5000ull * 1000000)
#define PATHSEL_HEARTBEAT_NS   (1500ull * 1000000)
/* The current endpoint is replaced by another that answers only when it has
 * been silent this long, or when the other is on a local network. */
#define PATHSEL_STALE_NS   (2500ull * 1000000)
#define PATHSEL_REPROBE_NS (15000ull * 1000000)

struct pathsel {
	struct endpoint cand[PATHSEL_MAX_CANDIDATES];
	unsigned ncand, cand_next; /* cand_next: the slot a new one replaces when full */
	struct endpoint current;   /* the proven endpoint (unset: none) */
	uint64_t current_rx_ns;	   /* last authenticated direct packet from it */
	uint64_t next_probe_ns;	   /* the next round of probes to every candidate */
	unsigned burst;		   /* rounds done in the current burst */
	uint64_t next_heartbeat_ns;
	uint64_t probe_txid; /* of the last round, sent in its PATH_PINGs */
	uint64_t probe_sent_ns;
	uint64_t rtt_ns; /* of the direct path, from the last answered probe */
};

void pathsel_init(struct pathsel *ps);

/* Learn a candidate (from a record or a CANDIDATES message). Returns true if
 * it is new. Unset, port-0, loopback and multicast endpoints are ignored. */
bool pathsel_add_candidate(struct pathsel *ps, const struct endpoint *ep);

/* Start a burst of probe rounds now (a session came up, candidates arrived,
 * our own addresses changed). */
void pathsel_kick(struct pathsel *ps, uint64_t now);

/* An authenticated packet arrived directly from FROM. Returns true when
 * FROM becomes the current endpoint (the caller then sends there). */
bool pathsel_direct_rx(struct pathsel *ps, const struct endpoint *from, uint64_t now);

/* Whether the direct path is proven now. */
bool pathsel_direct_ok(const struct pathsel *ps, uint64_t now);

/* What to send now. ACTIVE: the peer carried traffic recently (probes are
 * not traffic). Fills OUT with up to MAX endpoints to send a PATH_PING to and
 * returns how many; *NEXT gets the time to be called again (UINT64_MAX for
 * never). */
unsigned pathsel_poll(struct pathsel *ps, uint64_t now, bool active, struct endpoint *out,
		      unsigned max, uint64_t *next);

/* A PATH_PONG for TXID arrived directly: record the RTT. */
void pathsel_pong(struct pathsel *ps, uint64_t txid, uint64_t now);

/* Whether EP is on a local network (RFC 1918, ULA, link-local): such
 * paths are preferred to public ones. */
bool pathsel_endpoint_is_local(const struct endpoint *ep);

#endif
