#include "session/ippacket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define TCP_HEADER_MIN	20
#define TCP_OPT_END	0
#define TCP_OPT_NOP	1
#define TCP_OPT_MSS	2

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int ippacket_addrs(const uint8_t *pkt, size_t len, struct ip_addr *src, struct ip_addr *dst)
{
	if (len < 1)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		if (len < IPV4_HEADER_MIN || (size_t)(pkt[0] & 0x0f) * 4 < IPV4_HEADER_MIN ||
		    be16(pkt + 2) > len || be16(pkt + 2) < (pkt[0] & 0x0f) * 4)
			return -EINVAL;
		src->family = dst->family = AF_INET;
		memcpy(src->bytes, pkt + 12, 4);
		memcpy(dst->bytes, pkt + 16, 4);
		return 0;
	case 6:
		if (len < IPV6_HEADER_LEN || (size_t)be16(pkt + 4) + IPV6_HEADER_LEN > len)
			return -EINVAL;
		src->family = dst->family = AF_INET6;
		memcpy(src->bytes, pkt + 8, 16);
		memcpy(dst->bytes, pkt + 24, 16);
		return 0;
	default:
		return -EINVAL;
	}
}

bool ip_addr_in_prefix(const struct ip_addr *addr, const struct ip_addr *prefix,
		       unsigned prefix_len)
{
	unsigned full = prefix_len / 8, rest = prefix_len % 8;

	if (addr->family != prefix->family)
		return false;
	if (memcmp(addr->bytes, prefix->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr->bytes[full] ^ prefix->bytes[full]) & (0xff00 >> rest)) == 0;
}

/* Incremental checksum update (RFC 1624) for one 16-bit word. */
static void checksum_replace(uint8_t *sum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~be16(sum);

	s += (uint16_t)~old;
	s += new;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	sum[0] = (uint8_t)(s >> 8);
	sum[1] = (uint8_t)s;
}

/* Where the value of the MSS option is among the TCP options in
 * PKT[START..END), or 0 when there is none (or the options are malformed
 * before it). */
static size_t tcp_mss_option(const uint8_t *pkt, size_t start, size_t end)
{
	for (size_t i = start; i < end;) {
		uint8_t kind = pkt[i], olen;

		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= end)
			break;
		olen = pkt[i + 1];
		if (olen < 2 || i + olen > end)
			break;
		if (kind == TCP_OPT_MSS && olen == 4)
			return i + 2;
		i += olen;
	}
	return 0;
}

bool ippacket_clamp_mss(uint8_t *pkt, size_t len, unsigned mtu)
{
	size_t ip_len, tcp_off, opt_end, mss_at;
	unsigned overhead, max_mss;
	uint16_t mss;
	uint8_t *tcp;

	if (len < 1)
		return false;
	if (pkt[0] >> 4 == 4) {
		ip_len = (size_t)(pkt[0] & 0x0f) * 4;
		/* TCP, first fragment only */
		if (len < IPV4_HEADER_MIN || ip_len < IPV4_HEADER_MIN || pkt[9] != IPPROTO_TCP ||
		    (be16(pkt + 6) & 0x1fff) != 0)
			return false;
		overhead = IPV4_HEADER_MIN + TCP_HEADER_MIN;
	} else if (pkt[0] >> 4 == 6) {
		/* Only a TCP header right after the fixed header; extension
		 * headers on a SYN are rare enough to pass unclamped. */
		if (len < IPV6_HEADER_LEN || pkt[6] != IPPROTO_TCP)
			return false;
		ip_len = IPV6_HEADER_LEN;
		overhead = IPV6_HEADER_LEN + TCP_HEADER_MIN;
	} else {
		return false;
	}
	tcp_off = ip_len;
	if (len < tcp_off + TCP_HEADER_MIN)
		return false;
	tcp = pkt + tcp_off;
	if (!(tcp[13] & IPPACKET_TCP_SYN))
		return false;
	opt_end = tcp_off + (size_t)(tcp[12] >> 4) * 4;
	if (opt_end > len || opt_end < tcp_off + TCP_HEADER_MIN || mtu <= overhead)
		return false;
	max_mss = mtu - overhead;
	mss_at = tcp_mss_option(pkt, tcp_off + TCP_HEADER_MIN, opt_end);
	if (!mss_at)
		return false;
	mss = be16(pkt + mss_at);
	if (mss <= max_mss)
		return false;
	pkt[mss_at] = (uint8_t)(max_mss >> 8);
	pkt[mss_at + 1] = (uint8_t)max_mss;
	checksum_replace(tcp + 16, mss, (uint16_t)max_mss);
	return true;
}

int ip_prefix_parse(const char *text, struct ip_addr *addr, unsigned *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t host_len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;
	struct ip_addr masked;

	if (host_len == 0 || host_len >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, host, addr->bytes) == 1) {
		addr->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr->bytes) == 1) {
		addr->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	*len = max;
	if (slash) {
		char *end;
		unsigned long v;

		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		v = strtoul(slash + 1, &end, 10);
		if (*end || v > max)
			return -EINVAL;
		*len = (unsigned)v;
	}
	/* The address must be the prefix itself: 10.1.2.3/8 is a typo. */
	masked = *addr;
	for (unsigned i = *len; i < max; i++)
		masked.bytes[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	if (memcmp(masked.bytes, addr->bytes, 16) != 0)
		return -EINVAL;
	return 0;
}

void ip_prefix_format(const struct ip_addr *addr, unsigned len, char *out, size_t out_len)
{
	char host[INET6_ADDRSTRLEN];

	inet_ntop(addr->family, addr->bytes, host, sizeof(host));
	snprintf(out, out_len, "%s/%u", host, len);
}

/* ---- UDP datagrams --------------------------------------------------------- */

#define UDP_HEADER_LEN 8

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum of LEN bytes, added to SUM (not folded). */
static uint32_t checksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int ippacket_udp_parse(const uint8_t *pkt, size_t len, struct ippacket_udp *u)
{
	size_t ip_len, total;
	const uint8_t *udp;

	if (ippacket_addrs(pkt, len, &u->src, &u->dst) < 0)
		return -EINVAL;
	if (u->src.family == AF_INET) {
		ip_len = (size_t)(pkt[0] & 0x0f) * 4;
		total = be16(pkt + 2);
		/* neither a later fragment nor one with more to come */
		if (pkt[9] != IPPROTO_UDP || (be16(pkt + 6) & 0x3fff) != 0)
			return -EINVAL;
	} else {
		ip_len = IPV6_HEADER_LEN;
		total = IPV6_HEADER_LEN + be16(pkt + 4);
		if (pkt[6] != IPPROTO_UDP)
			return -EINVAL;
	}
	if (total < ip_len + UDP_HEADER_LEN)
		return -EINVAL;
	udp = pkt + ip_len;
	if (be16(udp + 4) < UDP_HEADER_LEN || be16(udp + 4) > total - ip_len)
		return -EINVAL;
	u->sport = be16(udp);
	u->dport = be16(udp + 2);
	u->payload = udp + UDP_HEADER_LEN;
	u->payload_len = be16(udp + 4) - UDP_HEADER_LEN;
	return 0;
}

/* The IP header of a packet from SRC to DST carrying L4_LEN bytes of PROTO.
 * Returns its length. */
static size_t ip_header_build(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
			      size_t l4_len, uint8_t *out)
{
	if (src->family == AF_INET) {
		memset(out, 0, IPV4_HEADER_MIN);
		out[0] = 0x45;
		put16(out + 2, (uint16_t)(IPV4_HEADER_MIN + l4_len));
		out[8] = 64;
		out[9] = proto;
		memcpy(out + 12, src->bytes, 4);
		memcpy(out + 16, dst->bytes, 4);
		put16(out + 10, checksum_fold(checksum_add(0, out, IPV4_HEADER_MIN)));
		return IPV4_HEADER_MIN;
	}
	memset(out, 0, IPV6_HEADER_LEN);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)l4_len);
	out[6] = proto;
	out[7] = 64;
	memcpy(out + 8, src->bytes, 16);
	memcpy(out + 24, dst->bytes, 16);
	return IPV6_HEADER_LEN;
}

/* The checksum of L4_LEN bytes at L4 with the pseudo-header of SRC, DST and
 * PROTO (for ICMPv4, which has none, pass PSEUDO false). */
static uint16_t l4_checksum(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
			    const uint8_t *l4, size_t l4_len, bool pseudo)
{
	size_t alen = src->family == AF_INET ? 4 : 16;
	uint32_t sum = 0;

	if (pseudo) {
		sum = checksum_add(0, src->bytes, alen);
		sum = checksum_add(sum, dst->bytes, alen);
		sum += proto + (uint32_t)l4_len;
	}
	return checksum_fold(checksum_add(sum, l4, l4_len));
}

int ippacket_udp_build(const struct ippacket_udp *u, uint8_t *out, size_t cap)
{
	size_t ip_len = u->src.family == AF_INET ? IPV4_HEADER_MIN : IPV6_HEADER_LEN;
	size_t udp_len = UDP_HEADER_LEN + u->payload_len, total = ip_len + udp_len;
	uint8_t *udp = out + ip_len;
	uint16_t csum;

	if (u->src.family != u->dst.family ||
	    (u->src.family != AF_INET && u->src.family != AF_INET6))
		return -EINVAL;
	if (total > cap || total > 0xffff)
		return -ENOBUFS;
	memmove(udp + UDP_HEADER_LEN, u->payload, u->payload_len);
	ip_header_build(&u->src, &u->dst, IPPROTO_UDP, udp_len, out);
	put16(udp, u->sport);
	put16(udp + 2, u->dport);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	csum = l4_checksum(&u->src, &u->dst, IPPROTO_UDP, udp, udp_len, true);
	put16(udp + 6, csum ? csum : 0xffff); /* 0 means "no checksum" */
	return (int)total;
}

/* Where the transport header of PKT starts and its protocol, when it comes
 * right after the IP header (IPv6 extension headers are not followed) and
 * PKT is not a later fragment. Returns the offset, or 0. */
static size_t l4_offset(const uint8_t *pkt, size_t len, uint8_t *proto)
{
	struct ip_addr src, dst;

	if (ippacket_addrs(pkt, len, &src, &dst) < 0)
		return 0;
	if (src.family == AF_INET) {
		if ((be16(pkt + 6) & 0x1fff) != 0)
			return 0;
		*proto = pkt[9];
		return (size_t)(pkt[0] & 0x0f) * 4;
	}
	*proto = pkt[6];
	return IPV6_HEADER_LEN;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* ---- TCP segments ------------------------------------------------------ */

#define TCP_MSS_OPTION_LEN 4

int ippacket_tcp_parse(const uint8_t *pkt, size_t len, bool verify, struct ippacket_tcp *t)
{
	size_t off, total, hlen;
	const uint8_t *tcp;
	uint8_t proto;

	off = l4_offset(pkt, len, &proto);
	if (!off || proto != IPPROTO_TCP || ippacket_addrs(pkt, len, &t->src, &t->dst) < 0)
		return -EINVAL;
	/* a checksum covers the whole segment: a first fragment cannot be checked */
	if (verify && t->src.family == AF_INET && (be16(pkt + 6) & 0x2000))
		return -EINVAL;
	total = t->src.family == AF_INET ? be16(pkt + 2) : IPV6_HEADER_LEN + (size_t)be16(pkt + 4);
	if (total < off + TCP_HEADER_MIN)
		return -EINVAL;
	tcp = pkt + off;
	hlen = (size_t)(tcp[12] >> 4) * 4;
	if (hlen < TCP_HEADER_MIN || off + hlen > total)
		return -EINVAL;
	if (verify && l4_checksum(&t->src, &t->dst, IPPROTO_TCP, tcp, total - off, true) != 0)
		return -EBADMSG;
	t->sport = be16(tcp);
	t->dport = be16(tcp + 2);
	t->seq = be32(tcp + 4);
	t->ack = be32(tcp + 8);
	t->flags = tcp[13];
	t->window = be16(tcp + 14);
	t->mss = 0;
	if (t->flags & IPPACKET_TCP_SYN) {
		size_t at = tcp_mss_option(pkt, off + TCP_HEADER_MIN, off + hlen);

		if (at)
			t->mss = be16(pkt + at);
	}
	t->payload = tcp + hlen;
	t->payload_len = total - off - hlen;
	return 0;
}

int ippacket_tcp_build(const struct ippacket_tcp *t, uint8_t *out, size_t cap)
{
	size_t ip_len = t->src.family == AF_INET ? IPV4_HEADER_MIN : IPV6_HEADER_LEN;
	size_t hlen = TCP_HEADER_MIN + (t->mss ? TCP_MSS_OPTION_LEN : 0);
	size_t tcp_len = hlen + t->payload_len, total = ip_len + tcp_len;
	uint8_t *tcp = out + ip_len;

	if (t->src.family != t->dst.family ||
	    (t->src.family != AF_INET && t->src.family != AF_INET6))
		return -EINVAL;
	if (total > cap || total > 0xffff)
		return -ENOBUFS;
	if (t->payload_len)
		memmove(tcp + hlen, t->payload, t->payload_len); /* PAYLOAD may be NULL */
	ip_header_build(&t->src, &t->dst, IPPROTO_TCP, tcp_len, out);
	memset(tcp, 0, hlen);
	put16(tcp, t->sport);
	put16(tcp + 2, t->dport);
	put32(tcp + 4, t->seq);
	put32(tcp + 8, t->ack);
	tcp[12] = (uint8_t)(hlen / 4 << 4);
	tcp[13] = t->flags;
	put16(tcp + 14, t->window);
	if (t->mss) {
		tcp[TCP_HEADER_MIN] = TCP_OPT_MSS;
		tcp[TCP_HEADER_MIN + 1] = TCP_MSS_OPTION_LEN;
		put16(tcp + TCP_HEADER_MIN + 2, t->mss);
	}
	put16(tcp + 16, l4_checksum(&t->src, &t->dst, IPPROTO_TCP, tcp, tcp_len, true));
	return (int)total;
}

int ippacket_tcp_reset_of(const struct ippacket_tcp *seg, struct ippacket_tcp *rst)
{
	if (seg->flags & IPPACKET_TCP_RST)
		return -EINVAL; /* never answer a reset (RFC 9293 3.10.7.1) */
	memset(rst, 0, sizeof(*rst));
	rst->src = seg->dst;
	rst->dst = seg->src;
	rst->sport = seg->dport;
	rst->dport = seg->sport;
	if (seg->flags & IPPACKET_TCP_ACK) {
		rst->seq = seg->ack;
		rst->flags = IPPACKET_TCP_RST;
	} else {
		rst->ack = seg->seq + (uint32_t)seg->payload_len +
			   !!(seg->flags & IPPACKET_TCP_SYN) + !!(seg->flags & IPPACKET_TCP_FIN);
		rst->flags = IPPACKET_TCP_RST | IPPACKET_TCP_ACK;
	}
	return 0;
}

int ippacket_tcp_reset_build(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	struct ippacket_tcp seg, rst;

	if (ippacket_tcp_parse(pkt, len, false, &seg) < 0 || ippacket_tcp_reset_of(&seg, &rst) < 0)
		return -EINVAL;
	return ippacket_tcp_build(&rst, out, cap);
}

int ippacket_port_unreachable_build(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	struct ip_addr src, dst;
	size_t ip_len, quote, icmp_len;
	uint8_t *icmp, proto;

	if (!l4_offset(pkt, len, &proto) || ippacket_addrs(pkt, len, &src, &dst) < 0)
		return -EINVAL;
	if (proto != IPPROTO_UDP)
		return -EINVAL; /* and so never an error about an ICMP error */
	ip_len = src.family == AF_INET ? IPV4_HEADER_MIN : IPV6_HEADER_LEN;
	quote = src.family == AF_INET ? be16(pkt + 2) : IPV6_HEADER_LEN + (size_t)be16(pkt + 4);
	if (quote > IPPACKET_ICMP_QUOTE)
		quote = IPPACKET_ICMP_QUOTE;
	icmp_len = 8 + quote;
	if (ip_len + icmp_len > cap)
		return -ENOBUFS;
	icmp = out + ip_len;
	memmove(icmp + 8, pkt, quote);
	memset(icmp, 0, 8);
	if (src.family == AF_INET) {
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 3; /* port unreachable */
		ip_header_build(&dst, &src, IPPROTO_ICMP, icmp_len, out);
		put16(icmp + 2, l4_checksum(&dst, &src, IPPROTO_ICMP, icmp, icmp_len, false));
	} else {
		icmp[0] = 1; /* destination unreachable */
		icmp[1] = 4; /* port unreachable */
		ip_header_build(&dst, &src, IPPROTO_ICMPV6, icmp_len, out);
		put16(icmp + 2, l4_checksum(&dst, &src, IPPROTO_ICMPV6, icmp, icmp_len, true));
	}
	return (int)(ip_len + icmp_len);
}
