/* What the data path needs to know about an IP packet: its addresses, and
 * TCP MSS clamping. Bytes from TUN or a peer: every length is checked. */
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

/* Does ADDR fall inside PREFIX/PREFIX_LEN (same family)? */
bool ip_addr_in_prefix(const struct ip_addr *addr, const struct ip_addr *prefix,
		       unsigned prefix_len);

/* "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix). Returns 0
 * or -EINVAL; host bits beyond the prefix are refused. */
int ip_prefix_parse(const char *text, struct ip_addr *addr, unsigned *len);
/* "10.0.0.0/8"; OUT holds at least 64 bytes. */
void ip_prefix_format(const struct ip_addr *addr, unsigned len, char *out, size_t out_len);

#endif
