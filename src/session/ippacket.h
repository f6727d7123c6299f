/* What the data path needs to know about an IP packet: its addresses, TCP
 * MSS clamping, and the UDP datagrams and TCP segments of the node's own
 * services (Magic DNS). Bytes from TUN or a peer: every length is checked. */
#ifndef RAY_SESSION_IPPACKET_H
#define RAY_SESSION_IPPACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* Source and destination of an IPv4 or IPv6 packet. Returns 0, or -EINVAL
 * when PKT is not a well-formed IP header or LEN disagrees with it. */
int ippacket_addrs(const uint8_t *pkt, size_t len, struct ip_addr *src, struct ip_addr *dst);

/* If PKT is a TCP SYN whose MSS option exceeds what fits in MTU, lower it and
 * fix the checksum. Returns true if it changed the packet. */
bool ippacket_clamp_mss(uint8_t *pkt, size_t len, unsigned mtu);

/* A UDP datagram in an IPv4 packet (not a fragment) or an IPv6 packet (UDP
 * right after the fixed header). PAYLOAD points into the packet. */
struct ippacket_udp {
	struct ip_addr src, dst;
	uint16_t sport, dport; /* host order */
	const uint8_t *payload;
	size_t payload_len;
};

/* Returns 0, or -EINVAL when PKT is not such a datagram or its lengths
 * disagree. The checksum is not verified: callers take packets from their
 * own TUN, where the kernel wrote it. */
int ippacket_udp_parse(const uint8_t *pkt, size_t len, struct ippacket_udp *u);

/* Writes an IP packet carrying U (addresses of one family, ports and
 * payload) into OUT, with its UDP checksum (and IPv4 header checksum).
 * Returns the length, or -ENOBUFS when it does not fit CAP (or 65535),
 * -EINVAL on mixed families. */
int ippacket_udp_build(const struct ippacket_udp *u, uint8_t *out, size_t cap);

/* A TCP segment in an IPv4 packet (not a later fragment) or an IPv6 packet
 * (TCP right after the fixed header). PAYLOAD points into the packet. */
#define IPPACKET_TCP_FIN 0x01
#define IPPACKET_TCP_SYN 0x02
#define IPPACKET_TCP_RST 0x04
#define IPPACKET_TCP_PSH 0x08
#define IPPACKET_TCP_ACK 0x10
struct ippacket_tcp {
	struct ip_addr src, dst;
	uint16_t sport, dport; /* host order, as the rest */
	uint32_t seq, ack;
	uint8_t flags; /* IPPACKET_TCP_* */
	uint16_t window;
	uint16_t mss; /* a SYN's MSS option, 0 for none; built when not 0 */
	const uint8_t *payload;
	size_t payload_len;
};

/* Returns 0, or -EINVAL when PKT is not such a segment or its lengths (IP
 * total length, data offset) disagree. With VERIFY, also -EINVAL for a first
 * fragment (its checksum covers data not here) and -EBADMSG when the TCP
 * checksum is wrong: for segments a peer or a local program made up. */
int ippacket_tcp_parse(const uint8_t *pkt, size_t len, bool verify, struct ippacket_tcp *t);

/* Writes an IP packet carrying T (addresses of one family; an MSS option
 * when T->mss is not 0, no other) into OUT, with its checksums. T->payload
 * may point into OUT. Returns the length, -ENOBUFS when it does not fit CAP
 * (or 65535), -EINVAL on mixed families. */
int ippacket_tcp_build(const struct ippacket_tcp *t, uint8_t *out, size_t cap);

/* The RST that answers SEG from its destination (RFC 9293 3.10.7.1: seq
 * from its ACK, or ACK of its sequence space), into RST for
 * ippacket_tcp_build. 0, or -EINVAL for a RST (never answered). */
int ippacket_tcp_reset_of(const struct ippacket_tcp *seg, struct ippacket_tcp *rst);

/* Answers from a packet's destination that make its sender fail at once
 * instead of waiting for a timeout (a firewall's "reject"). OUT must not
 * overlap PKT. Both return the length written, -EINVAL when PKT is not the
 * kind of packet answered, or -ENOBUFS when CAP is too small.
 *
 * A TCP RST for the TCP segment PKT (RFC 9293 3.10.7.1: seq from its ACK,
 * or ACK of its sequence space); never for a RST. */
int ippacket_tcp_reset_build(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);
/* An ICMP (ICMPv6) port unreachable for the UDP datagram PKT, quoting its
 * first IPPACKET_ICMP_QUOTE bytes at most. */
#define IPPACKET_ICMP_QUOTE 128
int ippacket_port_unreachable_build(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* Does ADDR fall inside PREFIX/PREFIX_LEN (same family)? */
bool ip_addr_in_prefix(const struct ip_addr *addr, const struct ip_addr *prefix,
		       unsigned prefix_len);

/* "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix). Returns 0
 * or -EINVAL; host bits beyond the prefix are refused. */
int ip_prefix_parse(const char *text, struct ip_addr *addr, unsigned *len);
/* "10.0.0.0/8"; OUT holds at least 64 bytes. */
void ip_prefix_format(const struct ip_addr *addr, unsigned len, char *out, size_t out_len);

#endif
