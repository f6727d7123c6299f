/* The connection tracker: the flows the firewall let through, so the
 * packets coming back are let through too. TCP by state, UDP and ICMP echo
 * by flow with idle timeouts.
 *
 * A fixed table allocated once: set-associative (FW_CT_WAYS entries per
 * bucket, buckets chosen by a keyed hash so a peer cannot aim at one). A
 * new flow takes an empty or expired entry of its bucket, else evicts the
 * least recently used one, preferring flows that are not established TCP.
 * Lookups and inserts allocate nothing. Single-threaded. */
#ifndef RAY_FIREWALL_CONNTRACK_H
#define RAY_FIREWALL_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "firewall/flow.h"

#define FW_CT_WAYS	       8
#define FW_CT_DEFAULT_CAPACITY 32768

/* Idle timeouts, in seconds. Established TCP lives as long as in Linux's
 * conntrack, so an idle SSH session without keep-alives survives. */
#define FW_CT_TCP_SYN_S		60
#define FW_CT_TCP_ESTABLISHED_S (5 * 24 * 3600)
#define FW_CT_TCP_CLOSING_S	120
#define FW_CT_TCP_CLOSED_S	10
#define FW_CT_UDP_S		30  /* no answer seen yet */
#define FW_CT_UDP_REPLIED_S	180 /* answered: a stream */
#define FW_CT_ICMP_S		30
#define FW_CT_OTHER_S		60

struct fw_ct;

struct fw_ct_stats {
	unsigned capacity, entries; /* ENTRIES: live ones, counted on demand */
	uint64_t inserted, evicted;
};

/* CAPACITY is rounded up to a power of two times FW_CT_WAYS. NULL: ENOMEM. */
struct fw_ct *fw_ct_new(unsigned capacity);
void fw_ct_free(struct fw_ct *ct);

enum fw_ct_result {
	FW_CT_MISS = 0, /* no tracked flow: the rules decide */
	FW_CT_PASS,	/* a packet of a tracked flow */
	FW_CT_RECHECK,	/* of a flow a peer opened before the rules changed:
			 * ask the rules again (fw_ct_settle) */
};
/* Does F, going OUTBOUND (from us to a peer) or not, belong to a tracked
 * flow? On FW_CT_PASS its state and idle time are updated. A TCP SYN against
 * the direction the flow was opened in is a miss: a new connection. */
enum fw_ct_result fw_ct_check(struct fw_ct *ct, const struct fw_flow *f, bool outbound,
			      uint64_t now_ns);
/* After FW_CT_RECHECK for F: ALLOWED by the rules now, the flow goes on;
 * else it stays marked, so every later packet of it in either direction
 * is asked about again (and a reply of ours cannot reopen it). */
void fw_ct_settle(struct fw_ct *ct, const struct fw_flow *f, bool outbound, bool allowed,
		  uint64_t now_ns);
/* Is F an ICMP error about a packet of a tracked flow (path MTU, port
 * unreachable)? */
bool fw_ct_related(struct fw_ct *ct, const struct fw_flow *f, bool outbound, uint64_t now_ns);
/* Track F, which the rules let through, as a flow opened in its direction.
 * Packets without ports and TCP resets open nothing. */
void fw_ct_admit(struct fw_ct *ct, const struct fw_flow *f, bool outbound, uint64_t now_ns);
/* The rules changed: the flows peers opened must be allowed again by the
 * new rules to go on (a removed allow rule closes its port to established
 * connections too). Flows we opened stay. */
void fw_ct_recheck_inbound(struct fw_ct *ct);

void fw_ct_get_stats(const struct fw_ct *ct, uint64_t now_ns, struct fw_ct_stats *st);

#endif
