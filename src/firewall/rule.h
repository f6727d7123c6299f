/* Firewall rules: what one matches, and their two external forms: JSON (the
 * rules file and IPC) and the canonical msgpack a coordinator puts in the
 * signed roster as a suggestion (net/group.h carries those bytes opaquely).
 *
 * A rule matches a packet by direction, protocol, port range (the port
 * being connected to: ours for "in", the peer's for "out"), and optionally
 * the peer (a node id), the user (a node id: a node is its own user until
 * device certificates exist) and a network the peer must be a member of. */
#ifndef RAY_FIREWALL_RULE_H
#define RAY_FIREWALL_RULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firewall/flow.h"

#define FW_HOSTNAME_MAX	  63
#define FW_SUGGESTION_MAX 256 /* bytes of an encoded suggestion */

enum fw_direction { FW_IN = 0, FW_OUT = 1 };
enum fw_action { FW_ALLOW = 0, FW_DENY = 1 };
enum fw_proto { FW_PROTO_ANY = 0, FW_PROTO_TCP = 1, FW_PROTO_UDP = 2, FW_PROTO_ICMP = 3 };

struct fw_rule {
	uint8_t direction, action, proto;
	uint16_t port_min, port_max; /* both 0: any port */
	bool has_peer, has_user, has_network;
	uint8_t peer[32], user[32], network[32]; /* node ids; the network's room id */
	char peer_name[FW_HOSTNAME_MAX + 1];	 /* how the peer was named, for display */
	/* Suggested by the coordinators of network ORIGIN (and then HAS_NETWORK
	 * with NETWORK = ORIGIN); else a local rule. */
	bool suggested;
	uint8_t origin[32];
	/* Run time, set by the firewall: the bit of NETWORK in a peer's tags,
	 * -1 when we are not in that network (the rule matches no one). */
	int8_t network_bit;
};

/* Who a packet is from or to, as the firewall sees it. */
struct fw_peer_info {
	bool has_id; /* false for a plain WireGuard peer */
	const uint8_t *id;
	uint32_t tags; /* bit i: member of the firewall's i-th network */
};

bool fw_rule_matches(const struct fw_rule *r, const struct fw_flow *f, bool outbound,
		     const struct fw_peer_info *peer);
/* Same selector and action (run-time fields aside). */
bool fw_rule_equal(const struct fw_rule *a, const struct fw_rule *b);

/* "tcp", "udp", "icmp", "any"; "N" or "N-M" (1..65535, N <= M). Return 0 or
 * -EINVAL. */
int fw_proto_parse(const char *text, uint8_t *proto);
const char *fw_proto_name(uint8_t proto);
int fw_ports_parse(const char *text, uint16_t *min, uint16_t *max);
/* Checks the combination: ports only with tcp, udp or any. 0 or -EINVAL
 * with the reason in ERR. */
int fw_rule_check(const struct fw_rule *r, char *err, size_t err_len);

/* {"direction","action","proto","ports"?,"peer"?,"peer_name"?,"user"?,
 *  "network"?,"origin"?}; keys as node id text. */
json_t *fw_rule_to_json(const struct fw_rule *r);
int fw_rule_from_json(const json_t *o, struct fw_rule *r, char *err, size_t err_len);

/* A coordinator's suggestion: a rule for members named SUBJECT (in the
 * roster entry around it) whose peer, if any, is a member's hostname in the
 * same network. Encoded as a canonical msgpack map:
 *   0 direction uint 0|1, 1 action uint 0|1, 2 proto uint 0..3,
 *   3 port_min uint, 4 port_max uint (both absent: any port),
 *   5 peer str, a hostname (absent: any member)
 * Unknown keys after these are ignored. */
struct fw_suggestion {
	uint8_t direction, action, proto;
	uint16_t port_min, port_max;
	char peer_host[FW_HOSTNAME_MAX + 1]; /* "": any member */
};

/* Returns the length, or -ENOBUFS / -EINVAL. */
int fw_suggestion_encode(const struct fw_suggestion *s, uint8_t *out, size_t cap);
/* Returns 0, or -EBADMSG for anything but a valid suggestion. */
int fw_suggestion_decode(const uint8_t *buf, size_t len, struct fw_suggestion *s);
/* "in allow tcp 8080 from web" and the like, for lists. */
void fw_suggestion_describe(const struct fw_suggestion *s, char *out, size_t cap);

#endif
