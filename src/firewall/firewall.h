/* The per-device firewall: a stateful filter on the packets between the
 * TUN and the peers (DESIGN.md §2, services), on top of the host's own.
 *
 * Order, for a packet a peer sends us (inbound) or we send a peer
 * (outbound):
 *   1. off: everything passes;
 *   2. a packet of a tracked flow (conntrack.h) passes, as does an ICMP
 *      error about one;
 *   3. the rules, in order, first match wins: local rules first (as added,
 *      `ray firewall show` numbers them), then the rules suggested by each
 *      network's coordinators;
 *   4. the default: inbound deny unless set to allow; outbound allow.
 * Fragments after the first pass: the first, which has the ports, decides
 * (a TCP fragment that would overlap the TCP header is dropped).
 * A packet let through by a rule or the default opens a tracked flow, so
 * its answers come back. A denied packet is dropped, or, with reject on,
 * answered: TCP with a RST, UDP with an ICMP port unreachable.
 *
 * A new firewall holds one local rule, "in allow icmp", so ping works.
 * Magic DNS is answered on the node itself, before any of this. Evaluation
 * allocates nothing and takes no lock. Single-threaded. */
#ifndef RAY_FIREWALL_FIREWALL_H
#define RAY_FIREWALL_FIREWALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firewall/conntrack.h"
#include "firewall/rule.h"

#define FW_RULES_MAX	256
#define FW_NETWORKS_MAX 32	       /* bits of fw_peer_info.tags */
#define FW_REPLY_MAX	(60 + 8 + 128) /* the largest reject answer */

struct firewall;

/* NULL on ENOMEM. */
struct firewall *fw_new(unsigned ct_capacity);
void fw_free(struct firewall *fw);

enum fw_verdict { FW_PASS = 0, FW_DROP = -1 };
/* Decide on PKT going OUTBOUND (to PEER) or coming from PEER. Returns
 * FW_PASS, FW_DROP, or the length of an answer written to REPLY (CAP bytes,
 * FW_REPLY_MAX is enough) to send back where PKT came from, PKT being
 * dropped. */
int fw_filter(struct firewall *fw, const struct fw_peer_info *peer, bool outbound,
	      const uint8_t *pkt, size_t len, uint64_t now_ns, uint8_t *reply, size_t cap);

/* Settings. */
void fw_set_enabled(struct firewall *fw, bool on);
bool fw_enabled(const struct firewall *fw);
void fw_set_default_inbound(struct firewall *fw, uint8_t action);
uint8_t fw_default_inbound(const struct firewall *fw);
void fw_set_reject(struct firewall *fw, bool on);
bool fw_reject(const struct firewall *fw);

/* Rules, numbered from 0: the local ones, then the suggested ones.
 * fw_rule_add appends a local rule (after fw_rule_check): 0, -ENOSPC or
 * -EINVAL. fw_rule_remove: 0 or -ENOENT. */
unsigned fw_rule_count(const struct firewall *fw);
const struct fw_rule *fw_rule_at(const struct firewall *fw, unsigned i);
int fw_rule_add(struct firewall *fw, const struct fw_rule *r);
int fw_rule_remove(struct firewall *fw, unsigned i);
/* Replace the rules suggested by network ROOM with RULES (N of them, each
 * suggested by ROOM). 0, -ENOSPC or -EINVAL (nothing changed then). */
int fw_set_suggested(struct firewall *fw, const uint8_t room[32], const struct fw_rule *rules,
		     unsigned n);

/* The networks peers' tags refer to: ROOMS[i] is bit i. Rules naming
 * another network match no one. */
void fw_set_networks(struct firewall *fw, const uint8_t (*rooms)[32], unsigned n);

struct fw_stats {
	uint64_t in_passed, in_dropped, out_passed, out_dropped, rejected;
	struct fw_ct_stats ct;
};
void fw_get_stats(const struct firewall *fw, uint64_t now_ns, struct fw_stats *st);

/* Persistence: {"version":1, "enabled", "default", "reject", "rules":[…]}
 * (rules as fw_rule_to_json). fw_load replaces everything but the tracked
 * flows; on error (reason in ERR) nothing changes. */
json_t *fw_save(const struct firewall *fw);
int fw_load(struct firewall *fw, const json_t *config, char *err, size_t err_len);

#endif
