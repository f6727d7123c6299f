/* The firewall: packets parsed into flows (TCP, UDP, ICMP echo and errors,
 * IPv6 extension chains, fragments, every truncation), the connection
 * tracker on a fake clock (states, timeouts, related ICMP errors, eviction),
 * rules (matching, parsing, JSON), the coordinators' suggestion codec
 * (canonical bytes), and the engine: defaults, first match, local rules
 * before suggested ones, rejects that a receiver would accept (checksums),
 * and the configuration saved and loaded back.
 *
 * Packets are built byte by byte here, from "us" (the node filtering) to a
 * "peer", so each test reads as the traffic it is about. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/keytext.h"
#include "firewall/conntrack.h"
#include "firewall/firewall.h"
#include "firewall/flow.h"
#include "firewall/rule.h"
#include "session/ippacket.h"

#define S  1000000000ull
#define T0 (1000 * S) /* a clock that does not start at 0 */

#define V4 AF_INET
#define V6 AF_INET6

#define TCP_SYN_ACK (FW_TCP_SYN | FW_TCP_ACK)

static const int families[] = {V4, V6};

/* ---- packets ---------------------------------------------------------------- */

enum who { US, PEER, OTHER };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* 100.64.0.1 and fd72:6179::1 are us, .2 and ::2 the peer, .3 and ::3 a
 * third node. IPv4 addresses in the first 4 bytes, the rest 0 (as in
 * struct fw_tuple). */
static void addr_of(int family, enum who w, uint8_t out[16])
{
	static const uint8_t v4[4] = {100, 64, 0, 0};
	static const uint8_t v6[16] = {0xfd, 0x72, 0x61, 0x79};

	memset(out, 0, 16);
	if (family == V4) {
		memcpy(out, v4, 4);
		out[3] = (uint8_t)(1 + w);
	} else {
		memcpy(out, v6, 16);
		out[15] = (uint8_t)(1 + w);
	}
}

static void assert_addr(const uint8_t got[16], int family, enum who w)
{
	uint8_t want[16];

	addr_of(family, w, want);
	assert_memory_equal(got, want, 16);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IP header of a packet FROM -> TO carrying L4_LEN bytes of PROTO (for
 * IPv6 the first next header), with its checksum. Returns its length. */
static size_t ip_header(uint8_t *p, int family, enum who from, enum who to, uint8_t proto,
			size_t l4_len)
{
	uint8_t src[16], dst[16];

	addr_of(family, from, src);
	addr_of(family, to, dst);
	if (family == V4) {
		memset(p, 0, 20);
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(20 + l4_len));
		put16(p + 4, 0x1234);
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
		put16(p + 10, csum_fold(csum_add(0, p, 20)));
		return 20;
	}
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)l4_len);
	p[6] = proto;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	return 40;
}

/* The transport checksum of P as its receiver computes it (0: valid), the
 * transport header right after the IP header. */
static uint16_t l4_csum(const uint8_t *p)
{
	size_t off, l4_len, alen;
	uint8_t proto;
	uint32_t sum = 0;

	if (p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 0x0f) * 4;
		l4_len = get16(p + 2) - off;
		proto = p[9];
		alen = 4;
	} else {
		off = 40;
		l4_len = get16(p + 4);
		proto = p[6];
		alen = 16;
	}
	if (proto != IPPROTO_ICMP) { /* the pseudo-header */
		sum = csum_add(0, p + (alen == 4 ? 12 : 8), 2 * alen);
		sum += proto + (uint32_t)l4_len;
	}
	return csum_fold(csum_add(sum, p + off, l4_len));
}

static void l4_csum_set(uint8_t *p)
{
	size_t off = p[0] >> 4 == 4 ? (size_t)(p[0] & 0x0f) * 4 : 40;
	uint8_t proto = p[0] >> 4 == 4 ? p[9] : p[6];
	size_t at = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	uint16_t c;

	put16(p + off + at, 0);
	c = l4_csum(p);
	put16(p + off + at, proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

static size_t tcp_pkt(uint8_t *p, int family, enum who from, enum who to, uint16_t sport,
		      uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, size_t payload)
{
	size_t ip = ip_header(p, family, from, to, IPPROTO_TCP, 20 + payload);
	uint8_t *t = p + ip;

	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	for (size_t i = 0; i < payload; i++)
		t[20 + i] = (uint8_t)(i * 7);
	l4_csum_set(p);
	return ip + 20 + payload;
}

static size_t udp_pkt(uint8_t *p, size_t cap, int family, enum who from, enum who to,
		      uint16_t sport, uint16_t dport, size_t payload)
{
	static uint8_t data[1500];
	struct ippacket_udp u;
	int n;

	memset(&u, 0, sizeof(u));
	memset(data, 'x', sizeof(data));
	u.src.family = u.dst.family = (uint8_t)family;
	addr_of(family, from, u.src.bytes);
	addr_of(family, to, u.dst.bytes);
	u.sport = sport;
	u.dport = dport;
	u.payload = data;
	u.payload_len = payload;
	n = ippacket_udp_build(&u, p, cap);
	assert_true(n > 0);
	return (size_t)n;
}

/* An echo request (or reply) with identifier ID and 8 bytes of data. */
static size_t echo_pkt(uint8_t *p, int family, enum who from, enum who to, bool reply, uint16_t id)
{
	size_t ip =
		ip_header(p, family, from, to, family == V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 16);
	uint8_t *icmp = p + ip;

	memset(icmp, 0, 16);
	if (family == V4)
		icmp[0] = reply ? 0 : 8;
	else
		icmp[0] = reply ? 129 : 128;
	put16(icmp + 4, id);
	put16(icmp + 6, 1);
	memcpy(icmp + 8, "pingping", 8);
	l4_csum_set(p);
	return ip + 16;
}

/* An ICMP error (port unreachable unless TYPE/CODE say otherwise) FROM -> TO
 * quoting QLEN bytes of Q. */
static size_t icmp_error_pkt(uint8_t *p, int family, enum who from, enum who to, uint8_t type,
			     uint8_t code, const uint8_t *q, size_t qlen)
{
	size_t ip = ip_header(p, family, from, to, family == V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
			      8 + qlen);
	uint8_t *icmp = p + ip;

	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, q, qlen);
	l4_csum_set(p);
	return ip + 8 + qlen;
}

static size_t unreach_pkt(uint8_t *p, int family, enum who from, enum who to, const uint8_t *q,
			  size_t qlen)
{
	return icmp_error_pkt(p, family, from, to, family == V4 ? 3 : 1, family == V4 ? 3 : 4, q,
			      qlen);
}

static struct fw_flow flow_of(const uint8_t *p, size_t len)
{
	struct fw_flow f;

	assert_int_equal(fw_flow_parse(p, len, &f), 0);
	return f;
}

static struct fw_flow tcp_flow(int family, enum who from, enum who to, uint16_t sport,
			       uint16_t dport, uint8_t flags)
{
	uint8_t p[128];

	return flow_of(p, tcp_pkt(p, family, from, to, sport, dport, flags, 1000, 2000, 0));
}

static struct fw_flow udp_flow(int family, enum who from, enum who to, uint16_t sport,
			       uint16_t dport)
{
	uint8_t p[128];

	return flow_of(p, udp_pkt(p, sizeof(p), family, from, to, sport, dport, 4));
}

/* ---- fw_flow_parse ------------------------------------------------------------ */

static void test_flow_tcp(void **state)
{
	uint8_t p[128];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];
		size_t len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_SYN, 1000, 0, 0);
		struct fw_flow f = flow_of(p, len);

		assert_int_equal(f.t.family, fam);
		assert_int_equal(f.t.proto, IPPROTO_TCP);
		assert_int_equal(f.t.sport, 40000);
		assert_int_equal(f.t.dport, 22);
		assert_addr(f.t.src, fam, PEER);
		assert_addr(f.t.dst, fam, US);
		assert_true(f.has_ports);
		assert_int_equal(f.tcp_flags, FW_TCP_SYN);
		assert_false(f.later_fragment);
		assert_false(f.icmp_error);
		/* bytes after the packet are not part of it */
		memset(p + len, 0xee, 8);
		f = flow_of(p, len + 8);
		assert_int_equal(f.t.dport, 22);
	}
}

static void test_flow_ipv4_options(void **state)
{
	uint8_t p[128];
	size_t len = tcp_pkt(p, V4, PEER, US, 40000, 443, FW_TCP_ACK, 1, 1, 10);
	struct fw_flow f;

	(void)state;
	/* four NOP options: the transport header moves to byte 24 */
	memmove(p + 24, p + 20, len - 20);
	memset(p + 20, 1, 4);
	p[0] = 0x46;
	put16(p + 2, (uint16_t)(len + 4));
	f = flow_of(p, len + 4);
	assert_int_equal(f.t.sport, 40000);
	assert_int_equal(f.t.dport, 443);
	assert_int_equal(f.tcp_flags, FW_TCP_ACK);
}

static void test_flow_udp(void **state)
{
	uint8_t p[128];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fw_flow f = udp_flow(families[i], US, PEER, 5353, 53);

		assert_int_equal(f.t.family, families[i]);
		assert_int_equal(f.t.proto, IPPROTO_UDP);
		assert_int_equal(f.t.sport, 5353);
		assert_int_equal(f.t.dport, 53);
		assert_addr(f.t.src, families[i], US);
		assert_addr(f.t.dst, families[i], PEER);
		assert_true(f.has_ports);
		assert_int_equal(f.tcp_flags, 0);
	}
	/* an empty datagram is still one */
	flow_of(p, udp_pkt(p, sizeof(p), V6, PEER, US, 1, 2, 0));
}

static void test_flow_icmp_echo(void **state)
{
	uint8_t p[128];
	struct fw_flow f;
	size_t len;

	(void)state;
	f = flow_of(p, echo_pkt(p, V4, US, PEER, false, 0x4242));
	assert_int_equal(f.t.proto, IPPROTO_ICMP);
	assert_int_equal(f.icmp_type, 8);
	assert_true(f.has_ports);
	assert_int_equal(f.t.sport, 0x4242); /* the identifier as both ports */
	assert_int_equal(f.t.dport, 0x4242);
	assert_false(f.icmp_error);
	f = flow_of(p, echo_pkt(p, V4, PEER, US, true, 0x4242));
	assert_int_equal(f.icmp_type, 0);
	assert_int_equal(f.t.sport, 0x4242);
	assert_int_equal(f.t.dport, 0x4242);

	f = flow_of(p, echo_pkt(p, V6, US, PEER, false, 7));
	assert_int_equal(f.t.proto, IPPROTO_ICMPV6);
	assert_int_equal(f.icmp_type, 128);
	assert_true(f.has_ports);
	assert_int_equal(f.t.sport, 7);
	assert_int_equal(f.t.dport, 7);
	f = flow_of(p, echo_pkt(p, V6, PEER, US, true, 7));
	assert_int_equal(f.icmp_type, 129);
	assert_int_equal(f.t.dport, 7);

	/* timestamp request: neither echo nor error, no ports */
	len = echo_pkt(p, V4, PEER, US, false, 9);
	p[20] = 13;
	f = flow_of(p, len);
	assert_int_equal(f.icmp_type, 13);
	assert_false(f.has_ports);
	assert_false(f.icmp_error);

	/* ICMPv6 over IPv4 and ICMP over IPv6 are not ICMP to us */
	len = echo_pkt(p, V4, PEER, US, false, 9);
	p[9] = IPPROTO_ICMPV6;
	f = flow_of(p, len);
	assert_false(f.has_ports);
	assert_false(f.icmp_error);
	len = echo_pkt(p, V6, PEER, US, false, 9);
	p[6] = IPPROTO_ICMP;
	p[40] = 8;
	f = flow_of(p, len);
	assert_false(f.has_ports);
}

/* IPv6 with NEXT extension headers, written from EXT (their bytes) before a
 * TCP header. */
static size_t ip6_ext_pkt(uint8_t *p, uint8_t first, const uint8_t *ext, size_t ext_len,
			  uint8_t flags)
{
	uint8_t *t;

	ip_header(p, V6, PEER, US, first, ext_len + 20);
	memcpy(p + 40, ext, ext_len);
	t = p + 40 + ext_len;
	memset(t, 0, 20);
	put16(t, 40000);
	put16(t + 2, 22);
	t[12] = 5 << 4;
	t[13] = flags;
	return 40 + ext_len + 20;
}

static void test_flow_ipv6_ext_chain(void **state)
{
	/* hop-by-hop (PadN) -> fragment (offset 0, more fragments) -> TCP */
	static const uint8_t hbh_frag[] = {
		44, 0, 1, 4, 0,	   0,	 0,    0,    /* hop-by-hop, 8 bytes */
		6,  0, 0, 1, 0xab, 0xcd, 0x12, 0x34, /* fragment: offset 0, M */
	};
	/* hop-by-hop -> destination options (16 bytes) -> routing -> TCP */
	static const uint8_t long_chain[] = {
		60, 0, 1, 4,  0, 0, 0, 0,			  /* hop-by-hop */
		43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* dst opts, 16 */
		6,  0, 0, 0,  0, 0, 0, 0,			  /* routing, 8 */
	};
	static const uint8_t too_long[] = {6, 200, 0, 0};
	/* hop-by-hop -> AH (payload length 4: (4 + 2) * 4 = 24 bytes) -> TCP */
	uint8_t ah[8 + 24];
	uint8_t chain[8 * 9];
	uint8_t p[256];
	struct fw_flow f;

	(void)state;
	f = flow_of(p, ip6_ext_pkt(p, 0, hbh_frag, sizeof(hbh_frag), FW_TCP_SYN));
	assert_int_equal(f.t.family, V6);
	assert_int_equal(f.t.proto, IPPROTO_TCP);
	assert_true(f.has_ports);
	assert_false(f.later_fragment);
	assert_int_equal(f.t.sport, 40000);
	assert_int_equal(f.t.dport, 22);
	assert_int_equal(f.tcp_flags, FW_TCP_SYN);
	assert_addr(f.t.src, V6, PEER);

	f = flow_of(p, ip6_ext_pkt(p, 0, long_chain, sizeof(long_chain), FW_TCP_ACK));
	assert_int_equal(f.t.proto, IPPROTO_TCP);
	assert_int_equal(f.t.dport, 22);

	memset(ah, 0, sizeof(ah));
	ah[0] = 51; /* hop-by-hop -> AH */
	ah[8] = 6;  /* AH -> TCP */
	ah[9] = 4;
	f = flow_of(p, ip6_ext_pkt(p, 0, ah, sizeof(ah), FW_TCP_ACK));
	assert_int_equal(f.t.proto, IPPROTO_TCP);
	assert_int_equal(f.t.dport, 22);

	/* a chain of 7 hop-by-hop headers is followed, one of 9 is not */
	memset(chain, 0, sizeof(chain));
	for (size_t i = 0; i < 9; i++)
		chain[8 * i] = 0;
	chain[8 * 6] = 6;
	f = flow_of(p, ip6_ext_pkt(p, 0, chain, 8 * 7, FW_TCP_ACK));
	assert_int_equal(f.t.proto, IPPROTO_TCP);
	chain[8 * 6] = 0;
	chain[8 * 8] = 6;
	assert_int_equal(fw_flow_parse(p, ip6_ext_pkt(p, 0, chain, 8 * 9, FW_TCP_ACK), &f),
			 -EINVAL);

	/* an extension header longer than the packet */
	assert_int_equal(fw_flow_parse(p, ip6_ext_pkt(p, 0, too_long, 4, FW_TCP_ACK), &f), -EINVAL);
}

static void test_flow_later_fragments(void **state)
{
	static const uint8_t hbh[] = {44, 0, 1, 4, 0, 0, 0, 0};
	static const uint8_t frag[] = {17, 0, (185 << 3) >> 8, (185 << 3) & 0xff, 0, 0, 0, 9};
	uint8_t p[256];
	struct fw_flow f;
	size_t len;

	(void)state;
	/* IPv4: offset 185 (1480 bytes), the rest of a UDP datagram */
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 53, 5000, 40);
	put16(p + 6, 0x2000 | 185);
	memset(p + 20, 0xab, 8); /* data, not a UDP header */
	f = flow_of(p, len);
	assert_true(f.later_fragment);
	assert_false(f.has_ports);
	assert_int_equal(f.t.proto, IPPROTO_UDP);
	assert_int_equal(f.t.sport, 0);
	assert_addr(f.t.src, V4, PEER);
	/* the last one (no MF) too */
	put16(p + 6, 200);
	assert_true(flow_of(p, len).later_fragment);
	/* the first fragment (MF, offset 0) has the header */
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 53, 5000, 40);
	put16(p + 6, 0x2000);
	f = flow_of(p, len);
	assert_false(f.later_fragment);
	assert_true(f.has_ports);
	assert_int_equal(f.t.dport, 5000);
	/* a later fragment too short for any transport header is still one */
	len = ip_header(p, V4, PEER, US, IPPROTO_TCP, 3);
	put16(p + 6, 7);
	assert_true(flow_of(p, len + 3).later_fragment);

	/* IPv6: a fragment header with offset 185, after a hop-by-hop one */
	ip_header(p, V6, PEER, US, 0, 8 + 8 + 16);
	memcpy(p + 40, hbh, 8);
	memcpy(p + 48, frag, 8);
	memset(p + 56, 0xcd, 16);
	f = flow_of(p, 72);
	assert_true(f.later_fragment);
	assert_false(f.has_ports);
	assert_int_equal(f.t.proto, IPPROTO_UDP);
	assert_int_equal(f.t.family, V6);
	assert_addr(f.t.dst, V6, US);
}

static void test_flow_icmp_error(void **state)
{
	uint8_t q[256], p[512];
	struct fw_flow f;
	size_t qlen, len, ip;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];

		ip = fam == V4 ? 20 : 40;
		/* our datagram to the peer, which answers "port unreachable" */
		qlen = udp_pkt(q, sizeof(q), fam, US, PEER, 5000, 53, 30);
		f = flow_of(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		assert_int_equal(f.t.proto, fam == V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
		assert_int_equal(f.icmp_type, fam == V4 ? 3 : 1);
		assert_true(f.icmp_error);
		assert_false(f.has_ports);
		assert_int_equal(f.inner.family, fam);
		assert_int_equal(f.inner.proto, IPPROTO_UDP);
		assert_int_equal(f.inner.sport, 5000);
		assert_int_equal(f.inner.dport, 53);
		assert_addr(f.inner.src, fam, US);
		assert_addr(f.inner.dst, fam, PEER);
		assert_addr(f.t.src, fam, PEER);

		/* only the IP header and 8 bytes quoted (RFC 792's minimum): the
		 * quoted length field says more */
		f = flow_of(p, unreach_pkt(p, fam, PEER, US, q, ip + 8));
		assert_true(f.icmp_error);
		assert_int_equal(f.inner.dport, 53);
		/* too little of the quoted transport header */
		assert_int_equal(fw_flow_parse(p, unreach_pkt(p, fam, PEER, US, q, ip + 3), &f),
				 -EINVAL);
		/* not even the quoted IP header */
		assert_int_equal(fw_flow_parse(p, unreach_pkt(p, fam, PEER, US, q, ip - 1), &f),
				 -EINVAL);

		/* time exceeded (hop limit) about a TCP segment */
		qlen = tcp_pkt(q, fam, US, PEER, 40000, 443, FW_TCP_SYN, 1, 0, 0);
		f = flow_of(p, icmp_error_pkt(p, fam, OTHER, US, fam == V4 ? 11 : 3, 0, q, qlen));
		assert_true(f.icmp_error);
		assert_int_equal(f.inner.proto, IPPROTO_TCP);
		assert_int_equal(f.inner.sport, 40000);
		assert_int_equal(f.inner.dport, 443);
		assert_addr(f.t.src, fam, OTHER);

		/* about an echo request: the identifier as ports */
		qlen = echo_pkt(q, fam, US, PEER, false, 99);
		f = flow_of(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		assert_true(f.icmp_error);
		assert_int_equal(f.inner.sport, 99);
		assert_int_equal(f.inner.dport, 99);
	}

	/* an IPv6 packet quoted in ICMPv4 */
	qlen = udp_pkt(q, sizeof(q), V6, US, PEER, 5000, 53, 0);
	assert_int_equal(fw_flow_parse(p, unreach_pkt(p, V4, PEER, US, q, qlen), &f), -EINVAL);
	/* garbage quoted */
	memset(q, 0, 48);
	assert_int_equal(fw_flow_parse(p, unreach_pkt(p, V4, PEER, US, q, 48), &f), -EINVAL);
	/* a later fragment quoted: an error, but about no flow */
	qlen = udp_pkt(q, sizeof(q), V4, US, PEER, 5000, 53, 30);
	put16(q + 6, 10);
	f = flow_of(p, unreach_pkt(p, V4, PEER, US, q, qlen));
	assert_false(f.icmp_error);
	/* an error quoting a packet of another protocol (GRE) */
	len = ip_header(q, V4, US, PEER, 47, 8);
	memset(q + len, 0, 8);
	f = flow_of(p, unreach_pkt(p, V4, PEER, US, q, len + 8));
	assert_false(f.icmp_error);
}

static void test_flow_malformed(void **state)
{
	uint8_t p[256] = {0};
	struct fw_flow f;
	size_t len;

	(void)state;
	assert_int_equal(fw_flow_parse(p, 0, &f), -EINVAL);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(fw_flow_parse(p, 1, &f), -EINVAL);
	assert_int_equal(fw_flow_parse(p, 19, &f), -EINVAL);
	/* versions 5 and 0 */
	p[0] = 0x55;
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	p[0] = 0x05;
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	/* IHL below 5, and beyond the total length */
	p[0] = 0x44;
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	p[0] = 0x4f;
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	p[0] = 0x45;
	/* total length beyond the buffer, below the header */
	put16(p + 2, (uint16_t)(len + 1));
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	put16(p + 2, 19);
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	/* a TCP header cut short by the total length */
	put16(p + 2, 30);
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	put16(p + 2, (uint16_t)len);
	assert_int_equal(fw_flow_parse(p, len, &f), 0);

	/* IPv6: shorter than its header, a payload longer than the buffer, a
	 * TCP header cut short */
	len = tcp_pkt(p, V6, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(fw_flow_parse(p, 39, &f), -EINVAL);
	assert_int_equal(fw_flow_parse(p, len - 1, &f), -EINVAL);
	put16(p + 4, 10);
	assert_int_equal(fw_flow_parse(p, 50, &f), -EINVAL);
	/* a fragment header cut short */
	ip_header(p, V6, PEER, US, 44, 4);
	assert_int_equal(fw_flow_parse(p, 44, &f), -EINVAL);

	/* UDP and ICMP headers cut short */
	len = ip_header(p, V4, PEER, US, IPPROTO_UDP, 7);
	assert_int_equal(fw_flow_parse(p, len + 7, &f), -EINVAL);
	len = ip_header(p, V6, PEER, US, IPPROTO_UDP, 7);
	assert_int_equal(fw_flow_parse(p, len + 7, &f), -EINVAL);
	len = ip_header(p, V4, PEER, US, IPPROTO_ICMP, 7);
	p[len] = 8;
	assert_int_equal(fw_flow_parse(p, len + 7, &f), -EINVAL);
	len = ip_header(p, V6, PEER, US, IPPROTO_ICMPV6, 7);
	p[len] = 128;
	assert_int_equal(fw_flow_parse(p, len + 7, &f), -EINVAL);
	/* another protocol needs no header at all */
	len = ip_header(p, V4, PEER, US, 47, 0);
	f = flow_of(p, len);
	assert_int_equal(f.t.proto, 47);
	assert_false(f.has_ports);
}

/* Parse every prefix of P in a buffer of exactly that size (ASan sees any
 * read beyond it): only the whole packet parses. Then the same with the
 * length fields shrunk to the prefix, so the parser goes deeper into what
 * is left; it must return 0 or -EINVAL. */
static void check_truncations(const uint8_t *p, size_t len)
{
	struct fw_flow f;

	for (size_t n = 0; n <= len; n++) {
		uint8_t *b = malloc(n ? n : 1);
		int ret;

		assert_non_null(b);
		memcpy(b, p, n);
		assert_int_equal(fw_flow_parse(b, n, &f), n == len ? 0 : -EINVAL);
		if (n >= 20 && p[0] >> 4 == 4)
			put16(b + 2, (uint16_t)n);
		if (n >= 40 && p[0] >> 4 == 6)
			put16(b + 4, (uint16_t)(n - 40));
		ret = fw_flow_parse(b, n, &f);
		assert_true(ret == 0 || ret == -EINVAL);
		free(b);
	}
}

static void test_flow_truncations(void **state)
{
	static const uint8_t hbh_frag[] = {44, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 1};
	uint8_t p[512], q[256];
	size_t len, qlen;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];

		check_truncations(p, tcp_pkt(p, fam, PEER, US, 1, 2, FW_TCP_SYN, 1, 0, 5));
		check_truncations(p, udp_pkt(p, sizeof(p), fam, PEER, US, 1, 2, 5));
		check_truncations(p, echo_pkt(p, fam, PEER, US, false, 3));
		qlen = udp_pkt(q, sizeof(q), fam, US, PEER, 5000, 53, 30);
		check_truncations(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		qlen = ip6_ext_pkt(q, 0, hbh_frag, sizeof(hbh_frag), FW_TCP_SYN);
		if (fam == V6)
			check_truncations(p, unreach_pkt(p, fam, PEER, US, q, qlen));
	}
	check_truncations(p, ip6_ext_pkt(p, 0, hbh_frag, sizeof(hbh_frag), FW_TCP_SYN));
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 53, 5000, 40);
	put16(p + 6, 185);
	check_truncations(p, len);
}

/* ---- the connection tracker --------------------------------------------------- */

static unsigned ct_entries(struct fw_ct *ct, uint64_t now)
{
	struct fw_ct_stats st;

	fw_ct_get_stats(ct, now, &st);
	return st.entries;
}

static void test_ct_tcp_handshake(void **state)
{

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];
		struct fw_ct *ct = fw_ct_new(64);
		struct fw_flow syn = tcp_flow(fam, US, PEER, 40000, 22, FW_TCP_SYN);
		struct fw_flow synack = tcp_flow(fam, PEER, US, 22, 40000, TCP_SYN_ACK);
		struct fw_flow peer_syn = tcp_flow(fam, PEER, US, 22, 40000, FW_TCP_SYN);
		struct fw_flow ack = tcp_flow(fam, US, PEER, 40000, 22, FW_TCP_ACK);
		struct fw_flow data = tcp_flow(fam, PEER, US, 22, 40000, FW_TCP_ACK);

		assert_non_null(ct);
		assert_int_equal(fw_ct_check(ct, &synack, false, T0), FW_CT_MISS);
		fw_ct_admit(ct, &syn, true, T0);
		assert_int_equal(ct_entries(ct, T0), 1);
		/* a SYN from the other side on the same tuple is a new connection */
		assert_int_equal(fw_ct_check(ct, &peer_syn, false, T0 + 1), FW_CT_MISS);
		assert_int_equal(fw_ct_check(ct, &synack, false, T0 + 2), FW_CT_PASS);
		assert_int_equal(fw_ct_check(ct, &peer_syn, false, T0 + 3), FW_CT_MISS);
		assert_int_equal(fw_ct_check(ct, &ack, true, T0 + 3), FW_CT_PASS);
		assert_int_equal(fw_ct_check(ct, &data, false, T0 + 4), FW_CT_PASS);
		/* our own SYN again (a retransmission) belongs to it */
		assert_int_equal(fw_ct_check(ct, &syn, true, T0 + 5), FW_CT_PASS);
		/* the same segment seen in the wrong direction does not */
		assert_int_equal(fw_ct_check(ct, &synack, true, T0 + 5), FW_CT_MISS);
		/* nor another port, or another peer */
		data.t.sport = 23;
		assert_int_equal(fw_ct_check(ct, &data, false, T0 + 6), FW_CT_MISS);
		data = tcp_flow(fam, OTHER, US, 22, 40000, FW_TCP_ACK);
		assert_int_equal(fw_ct_check(ct, &data, false, T0 + 6), FW_CT_MISS);
		/* a reset opens nothing */
		data = tcp_flow(fam, US, PEER, 40001, 22, FW_TCP_RST);
		fw_ct_admit(ct, &data, true, T0 + 7);
		assert_int_equal(ct_entries(ct, T0 + 7), 1);
		fw_ct_free(ct);
	}
}

static void test_ct_udp_reply(void **state)
{

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];
		struct fw_ct *ct = fw_ct_new(0);
		struct fw_flow out = udp_flow(fam, US, PEER, 5000, 53);
		struct fw_flow reply = udp_flow(fam, PEER, US, 53, 5000);
		struct fw_flow other;

		assert_non_null(ct);
		assert_int_equal(fw_ct_check(ct, &reply, false, T0), FW_CT_MISS);
		fw_ct_admit(ct, &out, true, T0);
		assert_int_equal(fw_ct_check(ct, &reply, false, T0 + S), FW_CT_PASS);
		assert_int_equal(fw_ct_check(ct, &out, true, T0 + S), FW_CT_PASS);
		other = udp_flow(fam, PEER, US, 53, 5001);
		assert_int_equal(fw_ct_check(ct, &other, false, T0 + S), FW_CT_MISS);
		other = udp_flow(fam, OTHER, US, 53, 5000);
		assert_int_equal(fw_ct_check(ct, &other, false, T0 + S), FW_CT_MISS);
		/* a TCP segment on the same ports is another flow */
		other = tcp_flow(fam, PEER, US, 53, 5000, FW_TCP_ACK);
		assert_int_equal(fw_ct_check(ct, &other, false, T0 + S), FW_CT_MISS);
		fw_ct_free(ct);
	}
}

static void test_ct_icmp_echo(void **state)
{
	struct fw_ct *ct = fw_ct_new(0);
	uint8_t p[128];
	struct fw_flow req = flow_of(p, echo_pkt(p, V6, US, PEER, false, 77));
	struct fw_flow rep = flow_of(p, echo_pkt(p, V6, PEER, US, true, 77));
	struct fw_flow other = flow_of(p, echo_pkt(p, V6, PEER, US, true, 78));

	(void)state;
	fw_ct_admit(ct, &req, true, T0);
	assert_int_equal(fw_ct_check(ct, &rep, false, T0 + S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &other, false, T0 + S), FW_CT_MISS);
	assert_int_equal(ct_entries(ct, T0 + S + FW_CT_ICMP_S * S - 1), 1);
	assert_int_equal(ct_entries(ct, T0 + S + FW_CT_ICMP_S * S), 0);
	fw_ct_free(ct);
}

static void test_ct_timeouts(void **state)
{
	struct fw_ct *ct = fw_ct_new(0);
	struct fw_flow out = udp_flow(V4, US, PEER, 5000, 53);
	struct fw_flow reply = udp_flow(V4, PEER, US, 53, 5000);
	struct fw_flow syn = tcp_flow(V4, US, PEER, 40000, 22, FW_TCP_SYN);
	struct fw_flow synack = tcp_flow(V4, PEER, US, 22, 40000, TCP_SYN_ACK);
	struct fw_flow ack = tcp_flow(V4, PEER, US, 22, 40000, FW_TCP_ACK);
	struct fw_flow rst = tcp_flow(V4, PEER, US, 22, 40000, FW_TCP_RST | FW_TCP_ACK);
	struct fw_flow fin = tcp_flow(V4, US, PEER, 40000, 22, FW_TCP_FIN | FW_TCP_ACK);
	uint64_t t;

	(void)state;
	/* UDP without an answer: FW_CT_UDP_S */
	fw_ct_admit(ct, &out, true, T0);
	assert_int_equal(ct_entries(ct, T0 + FW_CT_UDP_S * S - 1), 1);
	assert_int_equal(ct_entries(ct, T0 + FW_CT_UDP_S * S), 0);
	assert_int_equal(fw_ct_check(ct, &reply, false, T0 + FW_CT_UDP_S * S), FW_CT_MISS);
	/* answered: FW_CT_UDP_REPLIED_S from the answer */
	fw_ct_admit(ct, &out, true, T0);
	t = T0 + 10 * S;
	assert_int_equal(fw_ct_check(ct, &reply, false, t), FW_CT_PASS);
	assert_int_equal(ct_entries(ct, t + FW_CT_UDP_S * S + S), 1);
	assert_int_equal(ct_entries(ct, t + FW_CT_UDP_REPLIED_S * S - 1), 1);
	assert_int_equal(ct_entries(ct, t + FW_CT_UDP_REPLIED_S * S), 0);
	/* each packet restarts the clock */
	assert_int_equal(fw_ct_check(ct, &out, true, t + 100 * S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &reply, false, t + 270 * S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &reply, false, t + 270 * S + FW_CT_UDP_REPLIED_S * S),
			 FW_CT_MISS);
	fw_ct_free(ct);

	/* a SYN nobody answers: FW_CT_TCP_SYN_S */
	ct = fw_ct_new(0);
	fw_ct_admit(ct, &syn, true, T0);
	assert_int_equal(ct_entries(ct, T0 + FW_CT_TCP_SYN_S * S - 1), 1);
	assert_int_equal(fw_ct_check(ct, &synack, false, T0 + FW_CT_TCP_SYN_S * S), FW_CT_MISS);
	/* established: days */
	fw_ct_admit(ct, &syn, true, T0);
	assert_int_equal(fw_ct_check(ct, &synack, false, T0 + S), FW_CT_PASS);
	t = T0 + S + (uint64_t)FW_CT_TCP_ESTABLISHED_S * S;
	assert_int_equal(ct_entries(ct, t - 1), 1);
	assert_int_equal(ct_entries(ct, t), 0);
	/* a reset: FW_CT_TCP_CLOSED_S, and then the flow is gone */
	assert_int_equal(fw_ct_check(ct, &ack, false, T0 + 2 * S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &rst, false, T0 + 3 * S), FW_CT_PASS);
	assert_int_equal(ct_entries(ct, T0 + 3 * S + FW_CT_TCP_CLOSED_S * S - 1), 1);
	assert_int_equal(ct_entries(ct, T0 + 3 * S + FW_CT_TCP_CLOSED_S * S), 0);
	assert_int_equal(fw_ct_check(ct, &ack, false, T0 + 3 * S + FW_CT_TCP_CLOSED_S * S),
			 FW_CT_MISS);
	/* the port pair reused after a reset: a new SYN takes the closed flow */
	fw_ct_admit(ct, &syn, true, T0 + 20 * S);
	assert_int_equal(fw_ct_check(ct, &rst, false, T0 + 21 * S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &syn, true, T0 + 22 * S), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &synack, false, T0 + 23 * S), FW_CT_PASS);
	assert_int_equal(ct_entries(ct, T0 + 23 * S + FW_CT_TCP_SYN_S * S), 1); /* established */
	/* a FIN: FW_CT_TCP_CLOSING_S */
	assert_int_equal(fw_ct_check(ct, &fin, true, T0 + 30 * S), FW_CT_PASS);
	assert_int_equal(ct_entries(ct, T0 + 30 * S + FW_CT_TCP_CLOSING_S * S - 1), 1);
	assert_int_equal(ct_entries(ct, T0 + 30 * S + FW_CT_TCP_CLOSING_S * S), 0);
	fw_ct_free(ct);
}

static void test_ct_related(void **state)
{

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = families[i];
		struct fw_ct *ct = fw_ct_new(0);
		uint8_t q[256], p[512];
		struct fw_flow out = udp_flow(fam, US, PEER, 5000, 53), err;
		size_t qlen;

		fw_ct_admit(ct, &out, true, T0);
		qlen = udp_pkt(q, sizeof(q), fam, US, PEER, 5000, 53, 20);
		err = flow_of(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		assert_true(fw_ct_related(ct, &err, false, T0 + S));
		assert_int_equal(fw_ct_check(ct, &err, false, T0 + S),
				 FW_CT_MISS); /* no ports of its own */
		/* an error we send about it is not "related" the same way round */
		assert_false(fw_ct_related(ct, &err, true, T0 + S));
		/* about another datagram */
		qlen = udp_pkt(q, sizeof(q), fam, US, PEER, 5001, 53, 20);
		err = flow_of(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		assert_false(fw_ct_related(ct, &err, false, T0 + S));
		/* not after the flow expired */
		qlen = udp_pkt(q, sizeof(q), fam, US, PEER, 5000, 53, 20);
		err = flow_of(p, unreach_pkt(p, fam, PEER, US, q, qlen));
		assert_false(fw_ct_related(ct, &err, false, T0 + FW_CT_UDP_S * S));

		/* a flow the peer opened: our error about its packet goes out */
		out = tcp_flow(fam, PEER, US, 7000, 8080, FW_TCP_SYN);
		fw_ct_admit(ct, &out, false, T0);
		qlen = tcp_pkt(q, fam, PEER, US, 7000, 8080, FW_TCP_ACK, 1, 1, 0);
		err = flow_of(p, icmp_error_pkt(p, fam, US, PEER, fam == V4 ? 3 : 2,
						fam == V4 ? 4 : 0, q, qlen)); /* needs frag / PTB */
		assert_true(fw_ct_related(ct, &err, true, T0 + S));
		assert_false(fw_ct_related(ct, &err, false, T0 + S));
		/* an echo reply is not an error */
		err = flow_of(p, echo_pkt(p, fam, PEER, US, true, 5000));
		assert_false(fw_ct_related(ct, &err, false, T0 + S));
		fw_ct_free(ct);
	}
}

static void test_ct_capacity(void **state)
{
	static const unsigned caps[][2] = {{0, 8}, {1, 8}, {8, 8}, {9, 16}, {100, 128}};
	struct fw_ct_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct fw_ct *ct = fw_ct_new(caps[i][0]);

		assert_non_null(ct);
		fw_ct_get_stats(ct, T0, &st);
		assert_int_equal(st.capacity, caps[i][1]);
		assert_int_equal(st.entries, 0);
		fw_ct_free(ct);
	}
	fw_ct_free(NULL);
}

static void test_ct_eviction(void **state)
{
	struct fw_ct *ct = fw_ct_new(8); /* one bucket of 8 */
	struct fw_flow syn = tcp_flow(V4, US, PEER, 40000, 22, FW_TCP_SYN);
	struct fw_flow synack = tcp_flow(V4, PEER, US, 22, 40000, TCP_SYN_ACK);
	struct fw_flow ack = tcp_flow(V4, PEER, US, 22, 40000, FW_TCP_ACK);
	struct fw_flow f;
	struct fw_ct_stats st;

	(void)state;
	/* the oldest flow: established TCP */
	fw_ct_admit(ct, &syn, true, T0);
	assert_int_equal(fw_ct_check(ct, &synack, false, T0 + 1), FW_CT_PASS);
	for (uint16_t i = 0; i < 7; i++) {
		f = udp_flow(V4, US, PEER, (uint16_t)(5000 + i), 53);
		fw_ct_admit(ct, &f, true, T0 + 10 + i);
	}
	fw_ct_get_stats(ct, T0 + 20, &st);
	assert_int_equal(st.capacity, 8);
	assert_int_equal(st.entries, 8);
	assert_int_equal(st.inserted, 8);
	assert_int_equal(st.evicted, 0);
	/* re-admitting a tracked flow takes no new entry */
	f = udp_flow(V4, US, PEER, 5006, 53);
	fw_ct_admit(ct, &f, true, T0 + 17);
	fw_ct_get_stats(ct, T0 + 20, &st);
	assert_int_equal(st.inserted, 8);
	/* a 9th: the least recently used UDP flow goes, not the older TCP one */
	f = udp_flow(V4, US, PEER, 6000, 53);
	fw_ct_admit(ct, &f, true, T0 + 20);
	fw_ct_get_stats(ct, T0 + 20, &st);
	assert_int_equal(st.entries, 8);
	assert_int_equal(st.inserted, 9);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(fw_ct_check(ct, &ack, false, T0 + 21), FW_CT_PASS);
	f = udp_flow(V4, PEER, US, 53, 5000);
	assert_int_equal(fw_ct_check(ct, &f, false, T0 + 21), FW_CT_MISS);
	for (uint16_t i = 1; i < 7; i++) {
		f = udp_flow(V4, PEER, US, 53, (uint16_t)(5000 + i));
		assert_int_equal(fw_ct_check(ct, &f, false, T0 + 22), FW_CT_PASS);
	}
	f = udp_flow(V4, PEER, US, 53, 6000);
	assert_int_equal(fw_ct_check(ct, &f, false, T0 + 22), FW_CT_PASS);
	/* an expired entry is reused without evicting */
	f = udp_flow(V4, US, PEER, 7000, 53);
	fw_ct_admit(ct, &f, true, T0 + 22 + FW_CT_UDP_REPLIED_S * S);
	fw_ct_get_stats(ct, T0 + 22 + FW_CT_UDP_REPLIED_S * S, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.entries, 2); /* it and the TCP flow */
	fw_ct_free(ct);
}

static void test_ct_recheck_inbound(void **state)
{
	struct fw_ct *ct = fw_ct_new(0);
	struct fw_flow ours = udp_flow(V4, US, PEER, 5000, 53);
	struct fw_flow ours_reply = udp_flow(V4, PEER, US, 53, 5000);
	struct fw_flow theirs = tcp_flow(V4, PEER, US, 7000, 22, FW_TCP_SYN);
	struct fw_flow theirs_next = tcp_flow(V4, PEER, US, 7000, 22, FW_TCP_ACK);
	struct fw_flow theirs_reply = tcp_flow(V4, US, PEER, 22, 7000, TCP_SYN_ACK);
	struct fw_flow dgram = udp_flow(V4, PEER, US, 7001, 5353);
	struct fw_flow dgram_reply = udp_flow(V4, US, PEER, 5353, 7001);

	(void)state;
	fw_ct_admit(ct, &ours, true, T0);
	fw_ct_admit(ct, &theirs, false, T0);
	fw_ct_admit(ct, &dgram, false, T0);
	assert_int_equal(fw_ct_check(ct, &theirs_reply, true, T0 + 1), FW_CT_PASS);
	assert_int_equal(ct_entries(ct, T0 + 1), 3);
	/* the rules changed: the flows the peer opened are asked about again,
	 * in both directions; ours are not */
	fw_ct_recheck_inbound(ct);
	assert_int_equal(ct_entries(ct, T0 + 2), 3);
	assert_int_equal(fw_ct_check(ct, &theirs_next, false, T0 + 2), FW_CT_RECHECK);
	assert_int_equal(fw_ct_check(ct, &theirs_reply, true, T0 + 2), FW_CT_RECHECK);
	assert_int_equal(fw_ct_check(ct, &ours_reply, false, T0 + 2), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &dgram_reply, true, T0 + 2), FW_CT_RECHECK);
	/* allowed again: the flow goes on */
	fw_ct_settle(ct, &theirs_next, false, true, T0 + 3);
	assert_int_equal(fw_ct_check(ct, &theirs_reply, true, T0 + 4), FW_CT_PASS);
	assert_int_equal(fw_ct_check(ct, &theirs_next, false, T0 + 4), FW_CT_PASS);
	/* denied: it stays marked, held while the peer keeps trying */
	fw_ct_settle(ct, &dgram, false, false, T0 + 20 * S);
	assert_int_equal(fw_ct_check(ct, &dgram, false, T0 + 21 * S), FW_CT_RECHECK);
	assert_int_equal(fw_ct_check(ct, &dgram_reply, true, T0 + 21 * S), FW_CT_RECHECK);
	assert_int_equal(ct_entries(ct, T0 + 20 * S + FW_CT_UDP_S * S - 1), 3);
	assert_int_equal(ct_entries(ct, T0 + 20 * S + FW_CT_UDP_S * S), 2);
	/* a flow admitted anew is not marked */
	fw_ct_admit(ct, &dgram, false, T0 + 60 * S);
	assert_int_equal(fw_ct_check(ct, &dgram_reply, true, T0 + 61 * S), FW_CT_PASS);
	/* settling a flow that is not tracked does nothing */
	fw_ct_settle(ct, &ours_reply, false, false, T0 + 61 * S);
	fw_ct_settle(ct, &theirs_reply, false, true, T0 + 61 * S);
	assert_int_equal(ct_entries(ct, T0 + 61 * S), 3);
	fw_ct_free(ct);
}

/* ---- rules ------------------------------------------------------------------ */

static struct fw_rule rule(uint8_t dir, uint8_t action, uint8_t proto, uint16_t pmin, uint16_t pmax)
{
	struct fw_rule r;

	memset(&r, 0, sizeof(r));
	r.direction = dir;
	r.action = action;
	r.proto = proto;
	r.port_min = pmin;
	r.port_max = pmax;
	r.network_bit = -1;
	return r;
}

static struct fw_rule suggested_rule(const uint8_t room[32], uint8_t dir, uint8_t action,
				     uint8_t proto, uint16_t pmin, uint16_t pmax)
{
	struct fw_rule r = rule(dir, action, proto, pmin, pmax);

	r.suggested = r.has_network = true;
	memcpy(r.origin, room, 32);
	memcpy(r.network, room, 32);
	return r;
}

static void id_fill(uint8_t id[32], uint8_t b)
{
	memset(id, b, 32);
	id[31] = (uint8_t)~b;
}

static void test_rule_direction_proto(void **state)
{
	struct fw_peer_info anyone = {.has_id = false};
	struct fw_flow in_tcp = tcp_flow(V4, PEER, US, 40000, 22, FW_TCP_SYN);
	struct fw_flow out_tcp = tcp_flow(V4, US, PEER, 40000, 22, FW_TCP_SYN);
	struct fw_flow in_udp = udp_flow(V6, PEER, US, 40000, 22);
	uint8_t p[64];
	struct fw_flow ping4 = flow_of(p, echo_pkt(p, V4, PEER, US, false, 1));
	struct fw_flow ping6 = flow_of(p, echo_pkt(p, V6, PEER, US, false, 1));
	struct fw_flow gre;
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0);

	(void)state;
	gre = flow_of(p, ip_header(p, V4, PEER, US, 47, 0));
	assert_true(fw_rule_matches(&r, &in_tcp, false, &anyone));
	assert_false(fw_rule_matches(&r, &out_tcp, true, &anyone));
	assert_false(fw_rule_matches(&r, &in_udp, false, &anyone));
	assert_false(fw_rule_matches(&r, &ping4, false, &anyone));
	r.direction = FW_OUT;
	assert_true(fw_rule_matches(&r, &out_tcp, true, &anyone));
	assert_false(fw_rule_matches(&r, &in_tcp, false, &anyone));
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 0, 0);
	assert_true(fw_rule_matches(&r, &in_udp, false, &anyone));
	assert_false(fw_rule_matches(&r, &in_tcp, false, &anyone));
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ICMP, 0, 0);
	assert_true(fw_rule_matches(&r, &ping4, false, &anyone));
	assert_true(fw_rule_matches(&r, &ping6, false, &anyone));
	assert_false(fw_rule_matches(&r, &in_udp, false, &anyone));
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 0, 0);
	assert_true(fw_rule_matches(&r, &in_tcp, false, &anyone));
	assert_true(fw_rule_matches(&r, &in_udp, false, &anyone));
	assert_true(fw_rule_matches(&r, &ping6, false, &anyone));
	assert_true(fw_rule_matches(&r, &gre, false, &anyone));
	assert_false(fw_rule_matches(&r, &out_tcp, true, &anyone));
}

static void test_rule_ports(void **state)
{
	struct fw_peer_info anyone = {.has_id = false};
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 80, 90);
	struct fw_flow f;
	uint8_t p[128];
	size_t len;

	(void)state;
	for (unsigned port = 78; port <= 92; port++) {
		f = tcp_flow(V4, PEER, US, 40000, (uint16_t)port, FW_TCP_SYN);
		assert_int_equal(fw_rule_matches(&r, &f, false, &anyone), port >= 80 && port <= 90);
	}
	/* the port connected to, not the one connected from */
	f = tcp_flow(V4, PEER, US, 80, 1000, FW_TCP_SYN);
	assert_false(fw_rule_matches(&r, &f, false, &anyone));
	/* outbound: the peer's port */
	r = rule(FW_OUT, FW_DENY, FW_PROTO_TCP, 443, 443);
	f = tcp_flow(V6, US, PEER, 50000, 443, FW_TCP_SYN);
	assert_true(fw_rule_matches(&r, &f, true, &anyone));
	f = tcp_flow(V6, US, PEER, 443, 50000, FW_TCP_SYN);
	assert_false(fw_rule_matches(&r, &f, true, &anyone));
	/* any protocol with a port: TCP and UDP, never ICMP (echo ids look
	 * like ports) nor later fragments */
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 80, 80);
	f = udp_flow(V4, PEER, US, 1, 80);
	assert_true(fw_rule_matches(&r, &f, false, &anyone));
	f = tcp_flow(V4, PEER, US, 1, 80, FW_TCP_SYN);
	assert_true(fw_rule_matches(&r, &f, false, &anyone));
	f = flow_of(p, echo_pkt(p, V4, PEER, US, false, 80));
	assert_true(f.has_ports);
	assert_false(fw_rule_matches(&r, &f, false, &anyone));
	f = flow_of(p, echo_pkt(p, V6, PEER, US, false, 80));
	assert_false(fw_rule_matches(&r, &f, false, &anyone));
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 1, 80, 40);
	put16(p + 6, 100);
	f = flow_of(p, len);
	assert_false(fw_rule_matches(&r, &f, false, &anyone));
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 0, 0);
	assert_true(fw_rule_matches(&r, &f, false, &anyone)); /* no port: a fragment matches */
	/* full range */
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 1, 65535);
	f = udp_flow(V4, PEER, US, 1, 65535);
	assert_true(fw_rule_matches(&r, &f, false, &anyone));
}

static void test_rule_peer_user(void **state)
{
	uint8_t a[32], b[32];
	struct fw_peer_info pa = {.has_id = true, .id = a};
	struct fw_peer_info pb = {.has_id = true, .id = b};
	struct fw_peer_info wg = {.has_id = false};
	struct fw_flow f = tcp_flow(V4, PEER, US, 40000, 22, FW_TCP_SYN);
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);

	(void)state;
	id_fill(a, 0xaa);
	id_fill(b, 0xbb);
	/* no selector: everyone, plain WireGuard peers too */
	assert_true(fw_rule_matches(&r, &f, false, &wg));
	r.has_peer = true;
	memcpy(r.peer, a, 32);
	assert_true(fw_rule_matches(&r, &f, false, &pa));
	assert_false(fw_rule_matches(&r, &f, false, &pb));
	assert_false(fw_rule_matches(&r, &f, false, &wg));
	r.has_peer = false;
	r.has_user = true;
	memcpy(r.user, b, 32);
	assert_false(fw_rule_matches(&r, &f, false, &pa));
	assert_true(fw_rule_matches(&r, &f, false, &pb));
	assert_false(fw_rule_matches(&r, &f, false, &wg));
	/* both: the same node */
	r.has_peer = true;
	memcpy(r.peer, b, 32);
	assert_true(fw_rule_matches(&r, &f, false, &pb));
	memcpy(r.peer, a, 32);
	assert_false(fw_rule_matches(&r, &f, false, &pb));
	assert_false(fw_rule_matches(&r, &f, false, &pa));
}

static void test_rule_network(void **state)
{
	uint8_t a[32], room[32];
	struct fw_peer_info p = {.has_id = true, .id = a};
	struct fw_peer_info wg = {.has_id = false, .tags = 0};
	struct fw_flow f = udp_flow(V6, PEER, US, 1000, 53);
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 53, 53);

	(void)state;
	id_fill(a, 0xaa);
	id_fill(room, 0x77);
	r.has_network = true;
	memcpy(r.network, room, 32);
	r.network_bit = 3;
	p.tags = 1u << 3;
	assert_true(fw_rule_matches(&r, &f, false, &p));
	p.tags = 1u << 2 | 1u << 4;
	assert_false(fw_rule_matches(&r, &f, false, &p));
	p.tags = 0xffffffffu;
	assert_true(fw_rule_matches(&r, &f, false, &p));
	assert_false(fw_rule_matches(&r, &f, false, &wg));
	/* a network we are not in matches no one */
	r.network_bit = -1;
	assert_false(fw_rule_matches(&r, &f, false, &p));
	r.network_bit = 31;
	p.tags = 1u << 31;
	assert_true(fw_rule_matches(&r, &f, false, &p));
}

static void test_rule_equal(void **state)
{
	uint8_t room[32];
	struct fw_rule a = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22), b = a;

	(void)state;
	id_fill(room, 0x55);
	b.network_bit = 4; /* run time */
	strcpy(b.peer_name, "web");
	memset(b.peer, 0x99, 32); /* not used without has_peer */
	assert_true(fw_rule_equal(&a, &b));
	b.port_max = 23;
	assert_false(fw_rule_equal(&a, &b));
	b = a;
	b.action = FW_DENY;
	assert_false(fw_rule_equal(&a, &b));
	b = a;
	b.has_peer = true;
	assert_false(fw_rule_equal(&a, &b));
	a = suggested_rule(room, FW_IN, FW_ALLOW, FW_PROTO_UDP, 0, 0);
	b = a;
	assert_true(fw_rule_equal(&a, &b));
	b.origin[0] ^= 1;
	assert_false(fw_rule_equal(&a, &b));
}

static void test_ports_parse(void **state)
{
	static const char *const bad[] = {
		"0",	   "0-5",	"90-80", "65536",
		"1-65536", "8a",	"",	 "-",
		"-80",	   "80-",	" 80",	 "+80",
		"80 ",	   "80-90-100", "x",	 "99999999999999999999",
		"0x50",	   "80--90",
	};
	uint16_t lo, hi;

	(void)state;
	assert_int_equal(fw_ports_parse("80", &lo, &hi), 0);
	assert_int_equal(lo, 80);
	assert_int_equal(hi, 80);
	assert_int_equal(fw_ports_parse("80-90", &lo, &hi), 0);
	assert_int_equal(lo, 80);
	assert_int_equal(hi, 90);
	assert_int_equal(fw_ports_parse("1-65535", &lo, &hi), 0);
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 65535);
	assert_int_equal(fw_ports_parse("7-7", &lo, &hi), 0);
	assert_int_equal(hi, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fw_ports_parse(bad[i], &lo, &hi) != -EINVAL)
			fail_msg("accepted port range \"%s\"", bad[i]);
	}
}

static void test_proto_parse(void **state)
{
	static const char *const names[] = {"any", "tcp", "udp", "icmp"};
	uint8_t proto;

	(void)state;
	for (uint8_t i = 0; i < 4; i++) {
		assert_int_equal(fw_proto_parse(names[i], &proto), 0);
		assert_int_equal(proto, i);
		assert_string_equal(fw_proto_name(i), names[i]);
	}
	assert_int_equal(fw_proto_parse("TCP", &proto), -EINVAL);
	assert_int_equal(fw_proto_parse("sctp", &proto), -EINVAL);
	assert_int_equal(fw_proto_parse("", &proto), -EINVAL);
	assert_string_equal(fw_proto_name(4), "?");
}

static void test_rule_check(void **state)
{
	uint8_t room[32], other[32];
	char err[96];
	struct fw_rule r;

	(void)state;
	id_fill(room, 0x10);
	id_fill(other, 0x20);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 1, 65535);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), 0);
	r = rule(FW_OUT, FW_DENY, FW_PROTO_ANY, 0, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), 0);
	/* ICMP has no ports */
	err[0] = '\0';
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ICMP, 80, 80);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ICMP"));
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ICMP, 0, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), 0);
	/* port ranges */
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 80, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 90, 80);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 80);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	/* out of range fields */
	r = rule(2, FW_ALLOW, FW_PROTO_TCP, 0, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	r = rule(FW_IN, 2, FW_PROTO_TCP, 0, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	r = rule(FW_IN, FW_ALLOW, 4, 0, 0);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	/* a suggested rule is about its own network */
	r = suggested_rule(room, FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), 0);
	memcpy(r.network, other, 32);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
	r.has_network = false;
	memcpy(r.network, room, 32);
	assert_int_equal(fw_rule_check(&r, err, sizeof(err)), -EINVAL);
}

static void test_rule_json_roundtrip(void **state)
{
	uint8_t a[32], b[32], room[32];
	struct fw_rule rules[6], back;
	char err[96], *text;
	json_t *o, *parsed;

	(void)state;
	id_fill(a, 0xa1);
	id_fill(b, 0xb2);
	id_fill(room, 0xc3);
	rules[0] = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	rules[1] = rule(FW_OUT, FW_DENY, FW_PROTO_UDP, 53, 54);
	rules[1].has_peer = true;
	memcpy(rules[1].peer, a, 32);
	strcpy(rules[1].peer_name, "web-1");
	rules[2] = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 0, 0);
	rules[2].has_user = true;
	memcpy(rules[2].user, b, 32);
	rules[3] = rule(FW_IN, FW_DENY, FW_PROTO_ICMP, 0, 0);
	rules[3].has_network = true;
	memcpy(rules[3].network, room, 32);
	rules[4] = suggested_rule(room, FW_IN, FW_ALLOW, FW_PROTO_TCP, 8000, 8999);
	rules[4].has_peer = true;
	memcpy(rules[4].peer, b, 32);
	strcpy(rules[4].peer_name, "db");
	rules[5] = rule(FW_OUT, FW_ALLOW, FW_PROTO_ANY, 1, 65535);
	for (size_t i = 0; i < 6; i++) {
		o = fw_rule_to_json(&rules[i]);
		assert_non_null(o);
		/* through text, as in the rules file */
		text = json_dumps(o, JSON_COMPACT);
		assert_non_null(text);
		parsed = json_loads(text, 0, NULL);
		assert_non_null(parsed);
		assert_int_equal(fw_rule_from_json(parsed, &back, err, sizeof(err)), 0);
		assert_true(fw_rule_equal(&rules[i], &back));
		assert_string_equal(back.peer_name, rules[i].peer_name);
		assert_int_equal(back.network_bit, -1);
		free(text);
		json_decref(parsed);
		json_decref(o);
	}
	/* the form itself */
	o = fw_rule_to_json(&rules[1]);
	assert_string_equal(json_string_value(json_object_get(o, "direction")), "out");
	assert_string_equal(json_string_value(json_object_get(o, "action")), "deny");
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "udp");
	assert_string_equal(json_string_value(json_object_get(o, "ports")), "53-54");
	assert_string_equal(json_string_value(json_object_get(o, "peer_name")), "web-1");
	assert_int_equal(strlen(json_string_value(json_object_get(o, "peer"))), NODE_ID_TEXT_LEN);
	assert_null(json_object_get(o, "user"));
	assert_null(json_object_get(o, "origin"));
	json_decref(o);
	o = fw_rule_to_json(&rules[0]);
	assert_string_equal(json_string_value(json_object_get(o, "ports")), "22");
	json_decref(o);
	o = fw_rule_to_json(&rules[2]);
	assert_null(json_object_get(o, "ports"));
	json_decref(o);
	/* unknown keys are ignored (a later version's) */
	o = json_loads("{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"udp\","
		       "\"ports\":\"5353\",\"comment\":\"mdns\"}",
		       0, NULL);
	assert_int_equal(fw_rule_from_json(o, &back, err, sizeof(err)), 0);
	assert_int_equal(back.port_min, 5353);
	json_decref(o);
}

static void test_rule_json_bad(void **state)
{
	char id[NODE_ID_TEXT_LEN + 1], id2[NODE_ID_TEXT_LEN + 1], text[512], err[96];
	uint8_t a[32];
	struct fw_rule r;
#define BASE "\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"tcp\""
	const char *const bad[] = {
		"[]",
		"\"in allow tcp\"",
		"{}",
		"{\"direction\":\"in\",\"action\":\"allow\"}",
		"{\"direction\":\"in\",\"proto\":\"tcp\"}",
		"{\"action\":\"allow\",\"proto\":\"tcp\"}",
		"{\"direction\":\"up\",\"action\":\"allow\",\"proto\":\"tcp\"}",
		"{\"direction\":0,\"action\":\"allow\",\"proto\":\"tcp\"}",
		"{\"direction\":\"in\",\"action\":\"maybe\",\"proto\":\"tcp\"}",
		"{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"sctp\"}",
		"{\"direction\":\"in\",\"action\":\"allow\",\"proto\":6}",
		"{" BASE ",\"ports\":\"0\"}",
		"{" BASE ",\"ports\":80}",
		"{" BASE ",\"ports\":\"80-\"}",
		"{" BASE ",\"ports\":\"90-80\"}",
		"{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"icmp\",\"ports\":\"1\"}",
		"{" BASE ",\"peer\":\"abc\"}",
		"{" BASE ",\"peer\":5}",
		"{" BASE ",\"user\":null}",
		"{" BASE ",\"network\":\"\"}",
		"{" BASE ",\"peer_name\":7}",
	};
	char name[80];
	json_t *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		err[0] = '\0';
		if (fw_rule_from_json(o, &r, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != '\0');
		json_decref(o);
	}
	/* a peer name of 64 characters is too long, 63 are fine */
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "{" BASE ",\"peer_name\":\"%s\"}", name);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), -EINVAL);
	json_decref(o);
	name[63] = '\0';
	snprintf(text, sizeof(text), "{" BASE ",\"peer_name\":\"%s\"}", name);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), 0);
	assert_string_equal(r.peer_name, name);
	json_decref(o);

	id_fill(a, 0x42);
	keytext_format_node_id(a, id);
	id_fill(a, 0x43);
	keytext_format_node_id(a, id2);
	/* an id with a character more */
	snprintf(text, sizeof(text), "{" BASE ",\"peer\":\"%s!\"}", id);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), -EINVAL);
	json_decref(o);
	/* an origin without its network */
	snprintf(text, sizeof(text), "{" BASE ",\"origin\":\"%s\"}", id);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), -EINVAL);
	json_decref(o);
	/* or with another network */
	snprintf(text, sizeof(text), "{" BASE ",\"origin\":\"%s\",\"network\":\"%s\"}", id, id2);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), -EINVAL);
	json_decref(o);
	/* with its own: a suggested rule */
	snprintf(text, sizeof(text), "{" BASE ",\"origin\":\"%s\",\"network\":\"%s\"}", id, id);
	o = json_loads(text, 0, NULL);
	assert_int_equal(fw_rule_from_json(o, &r, err, sizeof(err)), 0);
	assert_true(r.suggested);
	assert_true(r.has_network);
	json_decref(o);
#undef BASE
}

/* ---- the suggestion codec ----------------------------------------------------- */

static void assert_suggestion_equal(const struct fw_suggestion *a, const struct fw_suggestion *b)
{
	assert_int_equal(a->direction, b->direction);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->port_min, b->port_min);
	assert_int_equal(a->port_max, b->port_max);
	assert_string_equal(a->peer_host, b->peer_host);
}

static void test_suggestion_roundtrip(void **state)
{
	static const uint8_t web[] = {
		0x86, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01, 0x03, 0xcd, 0x1f,
		0x90, 0x04, 0xcd, 0x1f, 0x90, 0x05, 0xa3, 'w',	'e',  'b',
	};
	static const uint8_t dns[] = {0x83, 0x00, 0x01, 0x01, 0x01, 0x02, 0x02};
	const struct fw_suggestion cases[] = {
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 8080, 8080, "web"},
		{FW_OUT, FW_DENY, FW_PROTO_UDP, 0, 0, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_ANY, 1, 65535, ""},
		{FW_IN, FW_DENY, FW_PROTO_ICMP, 0, 0, "db-1"},
		{FW_OUT, FW_ALLOW, FW_PROTO_UDP, 100, 200,
		 "a23456789012345678901234567890123456789012345678901234567890123"},
	};
	struct fw_suggestion back;
	uint8_t buf[FW_SUGGESTION_MAX];
	char text[128];
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = fw_suggestion_encode(&cases[i], buf, sizeof(buf));
		assert_true(n > 0 && n <= FW_SUGGESTION_MAX);
		assert_int_equal(fw_suggestion_decode(buf, (size_t)n, &back), 0);
		assert_suggestion_equal(&cases[i], &back);
		/* too small a buffer */
		assert_int_equal(fw_suggestion_encode(&cases[i], buf, (size_t)n - 1), -ENOBUFS);
	}
	/* the canonical bytes */
	n = fw_suggestion_encode(&cases[0], buf, sizeof(buf));
	assert_int_equal(n, sizeof(web));
	assert_memory_equal(buf, web, sizeof(web));
	n = fw_suggestion_encode(&cases[1], buf, sizeof(buf));
	assert_int_equal(n, sizeof(dns));
	assert_memory_equal(buf, dns, sizeof(dns));

	fw_suggestion_describe(&cases[0], text, sizeof(text));
	assert_string_equal(text, "in allow tcp port 8080 peer web");
	fw_suggestion_describe(&cases[1], text, sizeof(text));
	assert_string_equal(text, "out deny udp");
	fw_suggestion_describe(&cases[2], text, sizeof(text));
	assert_string_equal(text, "in allow any port 1-65535");
}

static void test_suggestion_encode_invalid(void **state)
{
	const struct fw_suggestion bad[] = {
		{2, FW_ALLOW, FW_PROTO_TCP, 0, 0, ""},
		{FW_IN, 2, FW_PROTO_TCP, 0, 0, ""},
		{FW_IN, FW_ALLOW, 4, 0, 0, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_ICMP, 1, 1, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 90, 80, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 80, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 80, 0, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0, "Web"},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0, "-web"},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0, "web.example"},
	};
	uint8_t buf[FW_SUGGESTION_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fw_suggestion_encode(&bad[i], buf, sizeof(buf)), -EINVAL);
}

#define BYTES(...)                                                                                 \
	{                                                                                          \
		(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})             \
	}

static void test_suggestion_decode_rejects(void **state)
{
	static const uint8_t web[] = {
		0x86, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01, 0x03, 0xcd, 0x1f,
		0x90, 0x04, 0xcd, 0x1f, 0x90, 0x05, 0xa3, 'w',	'e',  'b',
	};
	const struct {
		const uint8_t *b;
		size_t n;
	} bad[] = {
		BYTES(0x82, 0, 0, 1, 0),		     /* no proto */
		BYTES(0x82, 1, 0, 2, 1),		     /* no direction */
		BYTES(0x82, 0, 0, 2, 1),		     /* no action */
		BYTES(0x80),				     /* nothing */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 3, 80),	     /* port_min alone */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 4, 80),	     /* port_max alone */
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 3, 90, 4, 80), /* min > max */
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 3, 0, 4, 80),  /* port 0 */
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 3, 0, 4, 0),   /* "any port" written out */
		BYTES(0x85, 0, 0, 1, 0, 2, 3, 3, 1, 4, 2),   /* ICMP with ports */
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 3, 0xce, 0, 1, 0, 0, 4, 0xce, 0, 1, 0, 0), /* 65536 */
		BYTES(0x83, 0, 2, 1, 0, 2, 1),				  /* direction 2 */
		BYTES(0x83, 0, 0, 1, 2, 2, 1),				  /* action 2 */
		BYTES(0x83, 0, 0, 1, 0, 2, 4),				  /* proto 4 */
		BYTES(0x83, 0, 0xff, 1, 0, 2, 1),			  /* -1 */
		BYTES(0x83, 0, 0xc3, 1, 0, 2, 1),			  /* true */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xa3, 'W', 'e', 'b'),	  /* not lower case */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xa2, '-', 'a'),	  /* leading hyphen */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xa3, 'a', '.', 'b'),	  /* a dot */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xa0),			  /* empty host */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xc4, 3, 'w', 'e', 'b'), /* bin, not str */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 1),			  /* an int */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 5, 0xd9, 3, 'w', 'e', 'b'), /* str8 for 3 */
		BYTES(0x83, 0, 0xcc, 1, 1, 0, 2, 1),			  /* uint8 for 1 */
		BYTES(0x83, 0xcc, 0, 0, 1, 0, 2, 1),			  /* uint8 key */
		BYTES(0x83, 1, 0, 0, 0, 2, 1),				  /* keys out of order */
		BYTES(0x84, 0, 0, 0, 0, 1, 0, 2, 1),			  /* a key twice */
		BYTES(0xde, 0, 3, 0, 0, 1, 0, 2, 1),			  /* map16 for 3 */
		BYTES(0x83, 0, 0, 1, 0, 2, 1, 0xc0),			  /* trailing nil */
		BYTES(0x93, 0, 0, 1),					  /* an array */
		BYTES(0x83, 0xa1, 'a', 0, 1, 0, 2, 1),			  /* a str key */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 6, 0xca, 0, 0, 0, 0),	  /* a float */
		BYTES(0x84, 0, 0, 1, 0, 2, 1, 6),			  /* a key, no value */
		BYTES(0x84, 0, 0, 1, 0, 2, 1),				  /* 4 announced */
		BYTES(0xc0),						  /* nil */
	};
	static const uint8_t head[] = {0x84, 0, 0, 1, 0, 2, 1, 5, 0xd9, 64};
	uint8_t buf[FW_SUGGESTION_MAX];
	struct fw_suggestion s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fw_suggestion_decode(bad[i].b, bad[i].n, &s) != -EBADMSG)
			fail_msg("accepted bad suggestion %zu", i);
	}
	/* every truncation, in a buffer of exactly that size */
	for (size_t n = 0; n < sizeof(web); n++) {
		uint8_t *b = malloc(n ? n : 1);

		memcpy(b, web, n);
		assert_int_equal(fw_suggestion_decode(b, n, &s), -EBADMSG);
		free(b);
	}
	assert_int_equal(fw_suggestion_decode(web, sizeof(web), &s), 0);
	/* a 64-character host */
	memcpy(buf, head, sizeof(head));
	memset(buf + 10, 'a', 64);
	assert_int_equal(fw_suggestion_decode(buf, 74, &s), -EBADMSG);
	/* 63 is fine */
	buf[9] = 63;
	assert_int_equal(fw_suggestion_decode(buf, 73, &s), 0);
	assert_int_equal(strlen(s.peer_host), 63);
}

static void test_suggestion_unknown_keys(void **state)
{
	const struct {
		const uint8_t *b;
		size_t n;
	} ok[] = {
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 6, 0xa1, 'x', 9, 0x92, 1, 2),
		BYTES(0x86, 0, 1, 1, 1, 2, 2, 3, 53, 4, 53, 7, 0x81, 0, 0),
		BYTES(0x85, 0, 0, 1, 0, 2, 1, 5, 0xa3, 'w', 'e', 'b', 0xcc, 200, 0xc0),
	};
	const struct fw_suggestion want[] = {
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0, ""},
		{FW_OUT, FW_DENY, FW_PROTO_UDP, 53, 53, ""},
		{FW_IN, FW_ALLOW, FW_PROTO_TCP, 0, 0, "web"},
	};
	struct fw_suggestion s;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(fw_suggestion_decode(ok[i].b, ok[i].n, &s), 0);
		assert_suggestion_equal(&s, &want[i]);
	}
}

/* A host with a NUL inside: "ab\0c" is not a hostname, and accepting it
 * lets two byte strings (this and "ab") decode to the same suggestion. */
static void test_suggestion_embedded_nul(void **state)
{
	static const uint8_t b[] = {0x84, 0, 0, 1, 0, 2, 1, 5, 0xa4, 'a', 'b', 0, 'c'};
	struct fw_suggestion s;

	(void)state;
	assert_int_equal(fw_suggestion_decode(b, sizeof(b), &s), -EBADMSG);
}

/* ---- the engine ------------------------------------------------------------- */

static int filt(struct firewall *fw, const struct fw_peer_info *peer, bool outbound,
		const uint8_t *p, size_t len, uint64_t now)
{
	uint8_t reply[FW_REPLY_MAX];
	int n = fw_filter(fw, peer, outbound, p, len, now, reply, sizeof(reply));

	assert_true(n <= (int)FW_REPLY_MAX);
	return n;
}

static const struct fw_peer_info plain_peer = {.has_id = false};

static void test_fw_defaults(void **state)
{
	struct firewall *fw = fw_new(0);
	const struct fw_rule *seed;
	struct fw_stats st;
	uint8_t p[256];
	size_t len;

	(void)state;
	assert_non_null(fw);
	assert_true(fw_enabled(fw));
	assert_false(fw_reject(fw));
	assert_int_equal(fw_default_inbound(fw), FW_DENY);
	/* one rule: in allow icmp */
	assert_int_equal(fw_rule_count(fw), 1);
	seed = fw_rule_at(fw, 0);
	assert_int_equal(seed->direction, FW_IN);
	assert_int_equal(seed->action, FW_ALLOW);
	assert_int_equal(seed->proto, FW_PROTO_ICMP);
	assert_false(seed->suggested);
	assert_null(fw_rule_at(fw, 1));

	for (size_t fi = 0; fi < 2; fi++) {
		int fam = families[fi];

		/* a connection to us: dropped */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
		len = udp_pkt(p, sizeof(p), fam, PEER, US, 40000, 53, 10);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
		/* ping: passes */
		len = echo_pkt(p, fam, PEER, US, false, 5);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
		/* our connection out, and its answers */
		len = tcp_pkt(p, fam, US, PEER, 40000, 80, FW_TCP_SYN, 1, 0, 0);
		assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
		len = tcp_pkt(p, fam, PEER, US, 80, 40000, TCP_SYN_ACK, 9, 2, 0);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 1), FW_PASS);
		len = tcp_pkt(p, fam, PEER, US, 80, 40000, FW_TCP_ACK, 10, 2, 100);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 2), FW_PASS);
		/* but not a SYN from the peer on its ports */
		len = tcp_pkt(p, fam, PEER, US, 80, 40000, FW_TCP_SYN, 9, 0, 0);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 3), FW_DROP);
		/* our UDP out, the answer in */
		len = udp_pkt(p, sizeof(p), fam, US, PEER, 5000, 53, 10);
		assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
		len = udp_pkt(p, sizeof(p), fam, PEER, US, 53, 5000, 100);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 1), FW_PASS);
		/* our ping out, the reply in */
		len = echo_pkt(p, fam, US, PEER, false, 6);
		assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
		len = echo_pkt(p, fam, PEER, US, true, 6);
		assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 1), FW_PASS);
	}
	/* not a packet: dropped both ways */
	memset(p, 0, 40);
	assert_int_equal(filt(fw, &plain_peer, false, p, 40, T0), FW_DROP);
	assert_int_equal(filt(fw, &plain_peer, true, p, 40, T0), FW_DROP);
	fw_get_stats(fw, T0 + 2, &st);
	assert_int_equal(st.in_dropped, 2 * 3 + 1);
	assert_int_equal(st.in_passed, 2 * 5);
	assert_int_equal(st.out_passed, 2 * 3);
	assert_int_equal(st.out_dropped, 1);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.ct.entries, 2 * 4); /* the peer's ping too */

	/* default inbound allow */
	fw_set_default_inbound(fw, FW_ALLOW);
	assert_int_equal(fw_default_inbound(fw), FW_ALLOW);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 3), FW_PASS);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, TCP_SYN_ACK, 1, 2, 0);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0 + 3), FW_PASS);
	/* back to deny: the flow it let in is closed */
	fw_set_default_inbound(fw, FW_DENY);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 2, 2, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 4), FW_DROP);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, FW_TCP_ACK, 2, 12, 0);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0 + 4), FW_DROP);
	/* but our own connections stay */
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 53, 5000, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 4), FW_PASS);
	fw_free(fw);
	fw_free(NULL);
}

/* REPLY (N bytes) is a RST answering the TCP segment P (a fixed IP header):
 * addresses and ports swapped, checksums a receiver accepts. Returns its
 * TCP header. */
static const uint8_t *check_rst(const uint8_t *p, const uint8_t *reply, int n)
{
	bool v4 = p[0] >> 4 == 4;
	size_t ip = v4 ? 20 : 40;
	const uint8_t *t = reply + ip, *q = p + ip;

	assert_int_equal(n, ip + 20);
	if (v4) {
		assert_int_equal(reply[0], 0x45);
		assert_int_equal(get16(reply + 2), n);
		assert_int_equal(reply[9], IPPROTO_TCP);
		assert_true((get16(reply + 6) & 0x1fff) == 0);
		assert_true(reply[8] > 0);
		assert_memory_equal(reply + 12, p + 16, 4);
		assert_memory_equal(reply + 16, p + 12, 4);
		assert_int_equal(csum_fold(csum_add(0, reply, 20)), 0);
	} else {
		assert_int_equal(reply[0] >> 4, 6);
		assert_int_equal(get16(reply + 4), 20);
		assert_int_equal(reply[6], IPPROTO_TCP);
		assert_true(reply[7] > 0);
		assert_memory_equal(reply + 8, p + 24, 16);
		assert_memory_equal(reply + 24, p + 8, 16);
	}
	assert_int_equal(get16(t), get16(q + 2));
	assert_int_equal(get16(t + 2), get16(q));
	assert_int_equal(t[12] >> 4, 5);
	assert_true(t[13] & FW_TCP_RST);
	assert_false(t[13] & (FW_TCP_SYN | FW_TCP_FIN));
	assert_int_equal(l4_csum(reply), 0);
	return t;
}

static void test_fw_reject_tcp(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t p[256], reply[FW_REPLY_MAX];
	const uint8_t *t;
	struct fw_stats st;
	size_t len;
	int n;

	(void)state;
	fw_set_reject(fw, true);
	assert_true(fw_reject(fw));
	for (size_t fi = 0; fi < 2; fi++) {
		int fam = families[fi];

		/* a SYN: RST|ACK acking seq + 1 */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_SYN, 0x01020304, 0, 0);
		n = fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply));
		assert_true(n > 0);
		t = check_rst(p, reply, n);
		assert_int_equal(t[13], FW_TCP_RST | FW_TCP_ACK);
		assert_int_equal(get32(t + 4), 0);
		assert_int_equal(get32(t + 8), 0x01020305);
		/* data without ACK: acks seq + its length (+1 for a FIN) */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_FIN, 0xfffffff0, 0, 100);
		n = fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply));
		t = check_rst(p, reply, n);
		assert_int_equal(t[13], FW_TCP_RST | FW_TCP_ACK);
		assert_int_equal(get32(t + 8), (uint32_t)(0xfffffff0u + 101));
		/* a segment with ACK: RST alone, seq from its ACK */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_ACK, 5, 0xdeadbeef, 10);
		n = fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply));
		t = check_rst(p, reply, n);
		assert_int_equal(t[13], FW_TCP_RST);
		assert_int_equal(get32(t + 4), 0xdeadbeef);
		/* a RST is never answered */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_RST | FW_TCP_ACK, 5, 6, 0);
		assert_int_equal(
			fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply)),
			FW_DROP);
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_RST, 5, 0, 0);
		assert_int_equal(
			fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply)),
			FW_DROP);
		/* no room for the answer: just dropped */
		len = tcp_pkt(p, fam, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
		assert_int_equal(fw_filter(fw, &plain_peer, false, p, len, T0, reply, 20), FW_DROP);
	}
	fw_get_stats(fw, T0, &st);
	assert_int_equal(st.rejected, 2 * 3);
	assert_int_equal(st.in_dropped, 2 * 6);
	assert_int_equal(st.ct.entries, 0);

	/* an outbound connection a local rule denies: the RST comes from the
	 * peer's side, back into the TUN */
	{
		struct fw_rule r = rule(FW_OUT, FW_DENY, FW_PROTO_TCP, 25, 25);

		assert_int_equal(fw_rule_add(fw, &r), 0);
		len = tcp_pkt(p, V4, US, PEER, 40000, 25, FW_TCP_SYN, 77, 0, 0);
		n = fw_filter(fw, &plain_peer, true, p, len, T0, reply, sizeof(reply));
		t = check_rst(p, reply, n);
		assert_int_equal(get32(t + 8), 78);
		assert_addr((const uint8_t[16]){reply[12], reply[13], reply[14], reply[15]}, V4,
			    PEER);
	}
	/* reject off: dropped silently */
	fw_set_reject(fw, false);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply)),
			 FW_DROP);
	fw_free(fw);
}

/* REPLY (N bytes) is a port unreachable about the datagram P (LEN bytes). */
static void check_unreachable(const uint8_t *p, size_t len, const uint8_t *reply, int n)
{
	bool v4 = p[0] >> 4 == 4;
	size_t ip = v4 ? 20 : 40, quote = len < IPPACKET_ICMP_QUOTE ? len : IPPACKET_ICMP_QUOTE;
	const uint8_t *icmp = reply + ip;
	struct fw_flow f;

	assert_true(n > 0 && n <= (int)FW_REPLY_MAX);
	assert_int_equal(n, ip + 8 + quote);
	if (v4) {
		assert_int_equal(reply[0], 0x45);
		assert_int_equal(get16(reply + 2), n);
		assert_int_equal(reply[9], IPPROTO_ICMP);
		assert_memory_equal(reply + 12, p + 16, 4);
		assert_memory_equal(reply + 16, p + 12, 4);
		assert_int_equal(csum_fold(csum_add(0, reply, 20)), 0);
		assert_int_equal(icmp[0], 3);
		assert_int_equal(icmp[1], 3);
	} else {
		assert_int_equal(reply[0] >> 4, 6);
		assert_int_equal(get16(reply + 4), 8 + quote);
		assert_int_equal(reply[6], IPPROTO_ICMPV6);
		assert_memory_equal(reply + 8, p + 24, 16);
		assert_memory_equal(reply + 24, p + 8, 16);
		assert_int_equal(icmp[0], 1);
		assert_int_equal(icmp[1], 4);
	}
	assert_int_equal(get32(icmp + 4), 0);
	assert_memory_equal(icmp + 8, p, quote);
	assert_int_equal(l4_csum(reply), 0);
	/* and it reads back as an error about that datagram */
	assert_int_equal(fw_flow_parse(reply, (size_t)n, &f), 0);
	assert_true(f.icmp_error);
	assert_int_equal(f.inner.proto, IPPROTO_UDP);
	assert_int_equal(f.inner.sport, get16(p + ip));
	assert_int_equal(f.inner.dport, get16(p + ip + 2));
}

static void test_fw_reject_udp(void **state)
{
	static const size_t payloads[] = {0, 1, 20, 71, 500, 1400};
	static const uint8_t frag[] = {17, 0, 0x05, 0xc8, 0, 0, 0, 1}; /* offset 185 */
	struct firewall *fw = fw_new(0);
	uint8_t p[1500], reply[FW_REPLY_MAX];
	struct fw_rule ping = rule(FW_IN, FW_ALLOW, FW_PROTO_ICMP, 0, 0);
	size_t len;
	int n;

	(void)state;
	fw_set_reject(fw, true);
	for (size_t fi = 0; fi < 2; fi++) {
		int fam = families[fi];

		for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
			len = udp_pkt(p, sizeof(p), fam, PEER, US, 5353, 9999, payloads[i]);
			n = fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply));
			check_unreachable(p, len, reply, n);
		}
		/* not enough room */
		len = udp_pkt(p, sizeof(p), fam, PEER, US, 5353, 9999, 200);
		assert_int_equal(fw_filter(fw, &plain_peer, false, p, len, T0, reply, 100),
				 FW_DROP);
		/* a later fragment is not answered: it passes, the first one decided */
		len = udp_pkt(p, sizeof(p), fam, PEER, US, 5353, 9999, 200);
		if (fam == V4) {
			put16(p + 6, 100);
		} else {
			/* the payload behind a fragment header at offset 185 */
			memmove(p + 48, p + 40, len - 40);
			memcpy(p + 40, frag, 8);
			p[6] = 44;
			len += 8;
			put16(p + 4, (uint16_t)(len - 40));
		}
		assert_true(flow_of(p, len).later_fragment);
		assert_int_equal(
			fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply)),
			FW_PASS);
	}
	/* neither is ICMP (an error is never answered with one) */
	assert_int_equal(fw_rule_remove(fw, 0), 0);
	len = echo_pkt(p, V4, PEER, US, false, 1);
	assert_int_equal(fw_filter(fw, &plain_peer, false, p, len, T0, reply, sizeof(reply)),
			 FW_DROP);
	len = ip_header(p, V6, PEER, US, 47, 8);
	assert_int_equal(fw_filter(fw, &plain_peer, false, p, len + 8, T0, reply, sizeof(reply)),
			 FW_DROP);
	assert_int_equal(fw_rule_add(fw, &ping), 0);
	fw_free(fw);
}

static void test_fw_related_icmp(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t q[256], p[512];
	size_t qlen, len;

	(void)state;
	/* without the ping rule, an error about our datagram still comes in */
	assert_int_equal(fw_rule_remove(fw, 0), 0);
	qlen = udp_pkt(q, sizeof(q), V6, US, PEER, 5000, 53, 20);
	assert_int_equal(filt(fw, &plain_peer, true, q, qlen, T0), FW_PASS);
	len = unreach_pkt(p, V6, PEER, US, q, qlen);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + S), FW_PASS);
	/* one about a datagram we did not send does not */
	qlen = udp_pkt(q, sizeof(q), V6, US, PEER, 5001, 53, 20);
	len = unreach_pkt(p, V6, PEER, US, q, qlen);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + S), FW_DROP);
	fw_free(fw);
}

static void test_fw_first_match(void **state)
{
	struct firewall *fw = fw_new(0);
	struct fw_rule deny = rule(FW_IN, FW_DENY, FW_PROTO_TCP, 8080, 8080);
	struct fw_rule allow = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 8080, 8080);
	struct fw_rule allow_range = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 9000, 9100);
	struct fw_rule deny_one = rule(FW_IN, FW_DENY, FW_PROTO_TCP, 9090, 9090);
	struct fw_rule bad = rule(FW_IN, FW_ALLOW, FW_PROTO_ICMP, 1, 1);
	uint8_t p[128];
	size_t len;

	(void)state;
	assert_int_equal(fw_rule_add(fw, &deny), 0);
	assert_int_equal(fw_rule_add(fw, &allow), 0);
	assert_int_equal(fw_rule_add(fw, &allow_range), 0);
	assert_int_equal(fw_rule_add(fw, &deny_one), 0);
	assert_int_equal(fw_rule_add(fw, &bad), -EINVAL);
	assert_int_equal(fw_rule_count(fw), 5);
	len = tcp_pkt(p, V4, PEER, US, 40000, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
	len = tcp_pkt(p, V4, PEER, US, 40000, 9090, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 40000, 9100, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 40000, 9101, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
	/* remove the deny (index 1, after the ping rule): 8080 opens */
	assert_int_equal(fw_rule_remove(fw, 1), 0);
	len = tcp_pkt(p, V4, PEER, US, 40000, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	assert_int_equal(fw_rule_remove(fw, 4), -ENOENT);
	/* a rule for the way out */
	{
		struct fw_rule r = rule(FW_OUT, FW_DENY, FW_PROTO_UDP, 0, 0);

		assert_int_equal(fw_rule_add(fw, &r), 0);
		len = udp_pkt(p, sizeof(p), V4, US, PEER, 5000, 53, 0);
		assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_DROP);
		len = tcp_pkt(p, V4, US, PEER, 5000, 53, FW_TCP_SYN, 1, 0, 0);
		assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
	}
	fw_free(fw);
}

static void test_fw_rules_full(void **state)
{
	struct firewall *fw = fw_new(0);
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 1, 1);
	uint8_t room[32];

	(void)state;
	id_fill(room, 0x31);
	while (fw_rule_count(fw) < FW_RULES_MAX)
		assert_int_equal(fw_rule_add(fw, &r), 0);
	assert_int_equal(fw_rule_add(fw, &r), -ENOSPC);
	r = suggested_rule(room, FW_IN, FW_ALLOW, FW_PROTO_TCP, 2, 2);
	assert_int_equal(fw_set_suggested(fw, room, &r, 1), -ENOSPC);
	assert_int_equal(fw_rule_count(fw), FW_RULES_MAX);
	fw_free(fw);
}

static void test_fw_suggested(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t rooms[2][32], a[32], p[128];
	struct fw_peer_info member = {.has_id = true, .id = a, .tags = 1u << 0};
	struct fw_peer_info member2 = {.has_id = true, .id = a, .tags = 1u << 1};
	struct fw_rule s1[2], s2[1], local, wrong;
	size_t len;

	(void)state;
	id_fill(rooms[0], 0x01);
	id_fill(rooms[1], 0x02);
	id_fill(a, 0xaa);
	fw_set_networks(fw, (const uint8_t(*)[32])rooms, 2);
	s1[0] = suggested_rule(rooms[0], FW_IN, FW_ALLOW, FW_PROTO_TCP, 8080, 8080);
	s1[1] = suggested_rule(rooms[0], FW_IN, FW_ALLOW, FW_PROTO_UDP, 53, 53);
	s2[0] = suggested_rule(rooms[1], FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	assert_int_equal(fw_set_suggested(fw, rooms[0], s1, 2), 0);
	assert_int_equal(fw_set_suggested(fw, rooms[1], s2, 1), 0);
	assert_int_equal(fw_rule_count(fw), 4);
	assert_true(fw_rule_at(fw, 1)->suggested);
	assert_int_equal(fw_rule_at(fw, 1)->network_bit, 0);
	assert_int_equal(fw_rule_at(fw, 3)->network_bit, 1);

	/* a member of room 0 reaches 8080; a member of room 1 not */
	len = tcp_pkt(p, V4, PEER, US, 40000, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V4, PEER, US, 40001, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member2, false, p, len, T0), FW_DROP);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
	len = tcp_pkt(p, V4, PEER, US, 40001, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member2, false, p, len, T0), FW_PASS);

	/* a local rule goes before the suggested ones, and wins */
	local = rule(FW_IN, FW_DENY, FW_PROTO_TCP, 8080, 8080);
	assert_int_equal(fw_rule_add(fw, &local), 0);
	assert_int_equal(fw_rule_count(fw), 5);
	assert_false(fw_rule_at(fw, 1)->suggested);
	assert_int_equal(fw_rule_at(fw, 1)->action, FW_DENY);
	assert_true(fw_rule_at(fw, 2)->suggested);
	len = tcp_pkt(p, V4, PEER, US, 40002, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_DROP);
	assert_int_equal(fw_rule_remove(fw, 1), 0);

	/* replacing room 0's rules leaves room 1's */
	s1[0] = suggested_rule(rooms[0], FW_IN, FW_ALLOW, FW_PROTO_TCP, 9000, 9000);
	assert_int_equal(fw_set_suggested(fw, rooms[0], s1, 1), 0);
	assert_int_equal(fw_rule_count(fw), 3);
	for (unsigned i = 1; i < 3; i++) {
		const struct fw_rule *r = fw_rule_at(fw, i);

		assert_true(r->suggested);
		if (!memcmp(r->origin, rooms[0], 32))
			assert_int_equal(r->port_min, 9000);
		else
			assert_int_equal(r->port_min, 22);
	}
	len = tcp_pkt(p, V4, PEER, US, 40003, 8080, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_DROP);
	len = tcp_pkt(p, V4, PEER, US, 40003, 9000, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_PASS);

	/* invalid sets change nothing: not suggested, another room's, bad */
	wrong = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 1, 1);
	assert_int_equal(fw_set_suggested(fw, rooms[0], &wrong, 1), -EINVAL);
	assert_int_equal(fw_set_suggested(fw, rooms[0], s2, 1), -EINVAL);
	wrong = suggested_rule(rooms[0], FW_IN, FW_ALLOW, FW_PROTO_ICMP, 1, 1);
	assert_int_equal(fw_set_suggested(fw, rooms[0], &wrong, 1), -EINVAL);
	/* and fw_rule_add takes no suggested rule */
	assert_int_equal(fw_rule_add(fw, &s1[0]), -EINVAL);
	assert_int_equal(fw_rule_count(fw), 3);

	/* networks renumbered: room 1 is now bit 0 */
	fw_set_networks(fw, (const uint8_t(*)[32]) & rooms[1], 1);
	len = tcp_pkt(p, V4, PEER, US, 40004, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member2, false, p, len, T0), FW_DROP);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V4, PEER, US, 40004, 9000, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &member, false, p, len, T0), FW_DROP); /* left room 0 */

	/* room 1's rules removed */
	assert_int_equal(fw_set_suggested(fw, rooms[1], NULL, 0), 0);
	assert_int_equal(fw_rule_count(fw), 2);
	assert_memory_equal(fw_rule_at(fw, 1)->origin, rooms[0], 32);
	fw_free(fw);
}

static void test_fw_remove_closes_flow(void **state)
{
	struct firewall *fw = fw_new(0);
	struct fw_rule ssh = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	struct fw_rule web = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 80, 80);
	uint8_t p[128];
	size_t len;

	(void)state;
	assert_int_equal(fw_rule_add(fw, &ssh), 0);
	/* a connection in, through the rule */
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, TCP_SYN_ACK, 1, 2, 0);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
	/* a connection out */
	len = tcp_pkt(p, V4, US, PEER, 50000, 80, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V4, PEER, US, 80, 50000, TCP_SYN_ACK, 1, 2, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	/* the rule goes: its connection with it, ours stays */
	assert_int_equal(fw_rule_remove(fw, 1), 0);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 2, 2, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + S), FW_DROP);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, FW_TCP_ACK, 2, 12, 10);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0 + S), FW_DROP);
	len = tcp_pkt(p, V4, PEER, US, 80, 50000, FW_TCP_ACK, 2, 2, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + S), FW_PASS);
	/* the rule back: the connection goes on */
	assert_int_equal(fw_rule_add(fw, &ssh), 0);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 2, 2, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 2 * S), FW_PASS);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, FW_TCP_ACK, 2, 12, 10);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0 + 2 * S), FW_PASS);
	/* a change that still allows it: it goes on too */
	assert_int_equal(fw_rule_add(fw, &web), 0);
	assert_int_equal(fw_rule_remove(fw, 2), 0);
	len = tcp_pkt(p, V4, US, PEER, 22, 40000, FW_TCP_ACK, 2, 12, 10);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0 + 3 * S), FW_PASS);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 2, 2, 10);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 3 * S), FW_PASS);
	fw_free(fw);
}

static void test_fw_peer_rules(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t a[32], b[32], rooms[2][32], p[128];
	struct fw_peer_info pa = {.has_id = true, .id = a};
	struct fw_peer_info pb = {.has_id = true, .id = b, .tags = 1u << 1};
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	size_t len;

	(void)state;
	id_fill(a, 0xaa);
	id_fill(b, 0xbb);
	id_fill(rooms[0], 0x01);
	id_fill(rooms[1], 0x02);
	r.has_peer = true;
	memcpy(r.peer, a, 32);
	assert_int_equal(fw_rule_add(fw, &r), 0);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 80, 80);
	r.has_network = true;
	memcpy(r.network, rooms[1], 32);
	assert_int_equal(fw_rule_add(fw, &r), 0);
	assert_int_equal(fw_rule_at(fw, 2)->network_bit, -1); /* not in it yet */
	len = tcp_pkt(p, V6, PEER, US, 40000, 80, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &pb, false, p, len, T0), FW_DROP);
	fw_set_networks(fw, (const uint8_t(*)[32])rooms, 2);
	assert_int_equal(fw_rule_at(fw, 2)->network_bit, 1);
	assert_int_equal(filt(fw, &pb, false, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V6, PEER, US, 40001, 80, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &pa, false, p, len, T0), FW_DROP);

	len = tcp_pkt(p, V6, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &pa, false, p, len, T0), FW_PASS);
	len = tcp_pkt(p, V6, PEER, US, 40001, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &pb, false, p, len, T0), FW_DROP);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
	fw_set_networks(fw, (const uint8_t(*)[32])rooms, 0);
	assert_int_equal(fw_rule_at(fw, 2)->network_bit, -1);
	fw_free(fw);
}

static void test_fw_disabled(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t p[128];
	size_t len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	struct fw_stats st;

	(void)state;
	fw_set_enabled(fw, false);
	fw_set_reject(fw, true);
	assert_false(fw_enabled(fw));
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	assert_int_equal(filt(fw, &plain_peer, false, (const uint8_t *)"junk", 4, T0), FW_PASS);
	assert_int_equal(filt(fw, &plain_peer, true, (const uint8_t *)"junk", 4, T0), FW_PASS);
	fw_get_stats(fw, T0, &st);
	assert_int_equal(st.ct.entries, 0);
	fw_set_enabled(fw, true);
	assert_true(filt(fw, &plain_peer, false, p, len, T0) > 0); /* a RST now */
	fw_free(fw);
}

static json_t *json_roundtrip(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	json_t *back;

	assert_non_null(text);
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	free(text);
	json_decref(o);
	return back;
}

/* A firewall with some of everything. */
static struct firewall *fw_sample(void)
{
	struct firewall *fw = fw_new(64);
	uint8_t a[32], room[32];
	struct fw_rule r, s[2];

	assert_non_null(fw);
	id_fill(a, 0xa5);
	id_fill(room, 0x5a);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	r.has_peer = true;
	memcpy(r.peer, a, 32);
	strcpy(r.peer_name, "laptop");
	assert_int_equal(fw_rule_add(fw, &r), 0);
	r = rule(FW_OUT, FW_DENY, FW_PROTO_UDP, 5000, 6000);
	assert_int_equal(fw_rule_add(fw, &r), 0);
	r = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 0, 0);
	r.has_user = r.has_network = true;
	memcpy(r.user, a, 32);
	memcpy(r.network, room, 32);
	assert_int_equal(fw_rule_add(fw, &r), 0);
	s[0] = suggested_rule(room, FW_IN, FW_ALLOW, FW_PROTO_TCP, 443, 443);
	s[1] = suggested_rule(room, FW_IN, FW_DENY, FW_PROTO_ICMP, 0, 0);
	assert_int_equal(fw_set_suggested(fw, room, s, 2), 0);
	fw_set_reject(fw, true);
	fw_set_default_inbound(fw, FW_ALLOW);
	fw_set_enabled(fw, false);
	return fw;
}

static void test_fw_save_load(void **state)
{
	struct firewall *a = fw_sample(), *b = fw_new(0);
	json_t *saved = json_roundtrip(fw_save(a)), *again;
	struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 1, 2);
	char err[128];

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(saved, "version")), 1);
	assert_int_equal(json_array_size(json_object_get(saved, "rules")), 6);
	assert_int_equal(fw_load(b, saved, err, sizeof(err)), 0);
	assert_int_equal(fw_rule_count(b), fw_rule_count(a));
	for (unsigned i = 0; i < fw_rule_count(a); i++) {
		assert_true(fw_rule_equal(fw_rule_at(a, i), fw_rule_at(b, i)));
		assert_string_equal(fw_rule_at(a, i)->peer_name, fw_rule_at(b, i)->peer_name);
	}
	assert_false(fw_enabled(b));
	assert_true(fw_reject(b));
	assert_int_equal(fw_default_inbound(b), FW_ALLOW);
	again = fw_save(b);
	assert_true(json_equal(saved, again));
	json_decref(again);
	/* the local/suggested boundary came back too */
	assert_int_equal(fw_rule_add(b, &r), 0);
	assert_false(fw_rule_at(b, 4)->suggested);
	assert_true(fw_rule_equal(fw_rule_at(b, 4), &r));
	assert_true(fw_rule_at(b, 5)->suggested);

	/* the defaults, saved and loaded into a changed firewall */
	fw_free(a);
	a = fw_new(0);
	json_decref(saved);
	saved = fw_save(a);
	assert_int_equal(fw_load(b, saved, err, sizeof(err)), 0);
	assert_true(fw_enabled(b));
	assert_false(fw_reject(b));
	assert_int_equal(fw_default_inbound(b), FW_DENY);
	assert_int_equal(fw_rule_count(b), 1);
	json_decref(saved);
	fw_free(a);
	fw_free(b);
}

static void test_fw_load_rejects(void **state)
{
#define CFG(enabled, def, reject, rules)                                                           \
	"{\"version\":1,\"enabled\":" enabled ",\"default\":\"" def "\",\"reject\":" reject        \
	",\"rules\":" rules "}"
	static const char *const bad[] = {
		"[]",
		"{}",
		"null",
		"{\"version\":2,\"enabled\":true,\"default\":\"deny\",\"reject\":false,\"rules\":[]"
		"}",
		"{\"version\":\"1\",\"enabled\":true,\"default\":\"deny\",\"reject\":false,"
		"\"rules\":[]}",
		"{\"enabled\":true,\"default\":\"deny\",\"reject\":false,\"rules\":[]}",
		"{\"version\":1,\"enabled\":true,\"default\":\"deny\",\"reject\":false}",
		"{\"version\":1,\"default\":\"deny\",\"reject\":false,\"rules\":[]}",
		CFG("1", "deny", "false", "[]"),
		CFG("true", "deny", "\"no\"", "[]"),
		CFG("true", "maybe", "false", "[]"),
		CFG("true", "deny", "false", "{}"),
		CFG("true", "deny", "false", "[1]"),
		CFG("true", "deny", "false", "[{\"direction\":\"in\"}]"),
		CFG("true", "deny", "false",
		    "[{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"icmp\",\"ports\":"
		    "\"1\"}]"),
		CFG("true", "deny", "false",
		    "[{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"udp\"},"
		    "{\"direction\":\"in\",\"action\":\"allow\",\"proto\":\"tcp\",\"ports\":\"x\"}"
		    "]"),
	};
	struct firewall *fw = fw_sample();
	json_t *before = fw_save(fw), *after, *o, *rules;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		err[0] = '\0';
		if (fw_load(fw, o, err, sizeof(err)) != -EINVAL)
			fail_msg("loaded %s", bad[i]);
		assert_true(err[0] != '\0');
		json_decref(o);
	}
	/* a local rule after a suggested one */
	o = json_deep_copy(before);
	rules = json_object_get(o, "rules");
	json_array_append(rules, json_array_get(rules, 0));
	assert_int_equal(fw_load(fw, o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rule 7"));
	json_decref(o);
	/* more rules than fit */
	o = json_deep_copy(before);
	rules = json_object_get(o, "rules");
	json_array_clear(rules);
	for (unsigned i = 0; i <= FW_RULES_MAX; i++)
		json_array_append_new(rules, json_pack("{s:s, s:s, s:s}", "direction", "in",
						       "action", "deny", "proto", "any"));
	assert_int_equal(fw_load(fw, o, err, sizeof(err)), -EINVAL);
	/* exactly as many is fine, on another firewall */
	json_array_remove(rules, 0);
	{
		struct firewall *other = fw_new(0);

		assert_int_equal(fw_load(other, o, err, sizeof(err)), 0);
		assert_int_equal(fw_rule_count(other), FW_RULES_MAX);
		fw_free(other);
	}
	json_decref(o);
	/* nothing changed */
	after = fw_save(fw);
	assert_true(json_equal(before, after));
	assert_false(fw_enabled(fw));
	json_decref(after);
	json_decref(before);
	fw_free(fw);
#undef CFG
}

/* Bytes after an IPv6 packet's payload length are not part of it, as for
 * IPv4's total length: a transport header there is no header. */
static void test_flow_ipv6_trailing_bytes(void **state)
{
	uint8_t p[128];
	struct fw_flow f;
	size_t len = udp_pkt(p, sizeof(p), V6, PEER, US, 5000, 53, 8);
	int ret;

	(void)state;
	/* IPv4: padding ignored, a header beyond the total length refused */
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 5000, 53, 8);
	put16(p + 2, 24);
	assert_int_equal(fw_flow_parse(p, len, &f), -EINVAL);
	/* IPv6 with payload length 4: the UDP header is cut short */
	len = udp_pkt(p, sizeof(p), V6, PEER, US, 5000, 53, 8);
	put16(p + 4, 4);
	ret = fw_flow_parse(p, len, &f);
	assert_int_equal(ret, -EINVAL);
}

/* A later fragment of a datagram answering ours: the first fragment passes
 * as part of the flow, the rest should too, or the datagram is lost. */
static void test_fw_fragments_of_tracked_flow(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t p[256];
	size_t len;
	int ret;

	(void)state;
	len = udp_pkt(p, sizeof(p), V4, US, PEER, 5000, 53, 30);
	assert_int_equal(filt(fw, &plain_peer, true, p, len, T0), FW_PASS);
	len = udp_pkt(p, sizeof(p), V4, PEER, US, 53, 5000, 100);
	put16(p + 6, 0x2000); /* the first fragment */
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 1), FW_PASS);
	put16(p + 6, 14); /* the next */
	ret = filt(fw, &plain_peer, false, p, len, T0 + 1);
	fw_free(fw);
	assert_int_equal(ret, FW_PASS);
}

/* A TCP fragment that would overwrite the first one's TCP header (RFC
 * 1858's overlapping fragment attack) is dropped; a later one passes. */
static void test_fw_tcp_overlapping_fragment(void **state)
{
	struct firewall *fw = fw_new(0);
	uint8_t p[128];
	size_t len;

	(void)state;
	fw_set_default_inbound(fw, FW_ALLOW);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 1, 1, 0);
	put16(p + 6, 1);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_DROP);
	put16(p + 6, 3);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	fw_free(fw);
}

/* A deny rule added for a port closes the connections peers have open to
 * it, as removing an allow rule does (conntrack.h: "the rules changed: the
 * flows peers opened must be allowed again by the new rules"). */
static void test_fw_add_deny_closes_flow(void **state)
{
	struct firewall *fw = fw_new(0);
	struct fw_rule deny = rule(FW_IN, FW_DENY, FW_PROTO_TCP, 22, 22);
	uint8_t p[128];
	size_t len;
	int ret;

	(void)state;
	fw_set_default_inbound(fw, FW_ALLOW);
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0), FW_PASS);
	assert_int_equal(fw_rule_add(fw, &deny), 0);
	/* new connections are denied */
	len = tcp_pkt(p, V4, PEER, US, 40001, 22, FW_TCP_SYN, 1, 0, 0);
	assert_int_equal(filt(fw, &plain_peer, false, p, len, T0 + 1), FW_DROP);
	/* the open one should be too */
	len = tcp_pkt(p, V4, PEER, US, 40000, 22, FW_TCP_ACK, 2, 2, 0);
	ret = filt(fw, &plain_peer, false, p, len, T0 + 2);
	fw_free(fw);
	assert_int_equal(ret, FW_DROP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_tcp),
		cmocka_unit_test(test_flow_ipv4_options),
		cmocka_unit_test(test_flow_udp),
		cmocka_unit_test(test_flow_icmp_echo),
		cmocka_unit_test(test_flow_ipv6_ext_chain),
		cmocka_unit_test(test_flow_later_fragments),
		cmocka_unit_test(test_flow_icmp_error),
		cmocka_unit_test(test_flow_malformed),
		cmocka_unit_test(test_flow_truncations),
		cmocka_unit_test(test_flow_ipv6_trailing_bytes),
		cmocka_unit_test(test_ct_tcp_handshake),
		cmocka_unit_test(test_ct_udp_reply),
		cmocka_unit_test(test_ct_icmp_echo),
		cmocka_unit_test(test_ct_timeouts),
		cmocka_unit_test(test_ct_related),
		cmocka_unit_test(test_ct_capacity),
		cmocka_unit_test(test_ct_eviction),
		cmocka_unit_test(test_ct_recheck_inbound),
		cmocka_unit_test(test_rule_direction_proto),
		cmocka_unit_test(test_rule_ports),
		cmocka_unit_test(test_rule_peer_user),
		cmocka_unit_test(test_rule_network),
		cmocka_unit_test(test_rule_equal),
		cmocka_unit_test(test_ports_parse),
		cmocka_unit_test(test_proto_parse),
		cmocka_unit_test(test_rule_check),
		cmocka_unit_test(test_rule_json_roundtrip),
		cmocka_unit_test(test_rule_json_bad),
		cmocka_unit_test(test_suggestion_roundtrip),
		cmocka_unit_test(test_suggestion_encode_invalid),
		cmocka_unit_test(test_suggestion_decode_rejects),
		cmocka_unit_test(test_suggestion_unknown_keys),
		cmocka_unit_test(test_suggestion_embedded_nul),
		cmocka_unit_test(test_fw_defaults),
		cmocka_unit_test(test_fw_reject_tcp),
		cmocka_unit_test(test_fw_reject_udp),
		cmocka_unit_test(test_fw_related_icmp),
		cmocka_unit_test(test_fw_first_match),
		cmocka_unit_test(test_fw_rules_full),
		cmocka_unit_test(test_fw_suggested),
		cmocka_unit_test(test_fw_remove_closes_flow),
		cmocka_unit_test(test_fw_peer_rules),
		cmocka_unit_test(test_fw_disabled),
		cmocka_unit_test(test_fw_save_load),
		cmocka_unit_test(test_fw_load_rejects),
		cmocka_unit_test(test_fw_fragments_of_tracked_flow),
		cmocka_unit_test(test_fw_add_deny_closes_flow),
		cmocka_unit_test(test_fw_tcp_overlapping_fragment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
