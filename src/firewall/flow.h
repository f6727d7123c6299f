/* The part of an IP packet the firewall decides on: protocol, addresses,
 * ports, TCP flags, and for an ICMP error the flow of the packet it quotes.
 * Bytes from a peer or the TUN: every length is checked. */
#ifndef RAY_FIREWALL_FLOW_H
#define RAY_FIREWALL_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_TCP_FIN 0x01
#define FW_TCP_SYN 0x02
#define FW_TCP_RST 0x04
#define FW_TCP_ACK 0x10

/* Addresses, protocol and ports of one packet. ICMP echo requests and
 * replies carry their identifier as both ports, so a reply finds the
 * request's flow. */
struct fw_tuple {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto;	/* IPPROTO_*, after IPv6 extension headers */
	uint16_t sport, dport;
	uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes, the rest 0 */
};

struct fw_flow {
	struct fw_tuple t;
	bool has_ports;	      /* TCP, UDP, ICMP echo: T's ports mean something */
	bool later_fragment;  /* a fragment after the first: no transport header */
	uint16_t frag_offset; /* of a later fragment, in 8-byte units */
	bool icmp_error;      /* an ICMP error quoting a packet: INNER is its tuple */
	uint8_t tcp_flags;
	uint8_t icmp_type;
	struct fw_tuple inner;
};

/* Returns 0, or -EINVAL when PKT is not an IPv4 or IPv6 packet whose
 * headers fit LEN (a transport header cut short counts as malformed; a
 * quoted packet needs its IP header and 8 bytes). */
int fw_flow_parse(const uint8_t *pkt, size_t len, struct fw_flow *f);

#endif
