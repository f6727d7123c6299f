/* IP header parsing, prefixes, MSS clamping (with a checksum that must stay
 * valid), UDP datagrams and TCP segments built and parsed back (checksums a
 * receiver would accept), endpoint text forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "path/endpoint.h"
#include "session/ippacket.h"

/* A TCP SYN over IPv4 with MSS 1460 (as a 1500-MTU host sends it). */
static size_t make_syn4(uint8_t *p, uint16_t mss)
{
	static const uint8_t tmpl[] = {
		0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
		0x00, 0x00, 100,  64,	0,    1,    100,  64,	0,    2, /* IP */
		0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x60, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, /* TCP, data offset 6 */
		0x02, 0x04, 0x00, 0x00,					    /* MSS option */
	};
	memcpy(p, tmpl, sizeof(tmpl));
	p[42] = (uint8_t)(mss >> 8);
	p[43] = (uint8_t)mss;
	return sizeof(tmpl);
}

/* Ones'-complement sum of the TCP segment with its IPv4 pseudo-header. */
static uint16_t tcp4_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t tcp_len = len - 20;

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	sum += 6 + (uint32_t)tcp_len;
	for (size_t i = 20; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void set_tcp4_checksum(uint8_t *p, size_t len)
{
	uint16_t c;

	p[36] = p[37] = 0;
	c = tcp4_checksum(p, len);
	p[36] = (uint8_t)(c >> 8);
	p[37] = (uint8_t)c;
}

static void test_clamp_mss(void **state)
{
	uint8_t p[64];
	size_t len = make_syn4(p, 1460);

	(void)state;
	set_tcp4_checksum(p, len);
	assert_int_equal(tcp4_checksum(p, len), 0);
	/* MTU 1420: MSS 1420 - 20 - 20 = 1380 */
	assert_true(ippacket_clamp_mss(p, len, 1420));
	assert_int_equal(p[42] << 8 | p[43], 1380);
	assert_int_equal(tcp4_checksum(p, len), 0);
	/* already small enough: untouched */
	assert_false(ippacket_clamp_mss(p, len, 1420));
	/* not a SYN: untouched */
	len = make_syn4(p, 1460);
	p[33] = 0x10;
	assert_false(ippacket_clamp_mss(p, len, 1420));
	/* truncated options: no read past the end */
	len = make_syn4(p, 1460);
	assert_false(ippacket_clamp_mss(p, len - 3, 1420));
}

static void test_addrs(void **state)
{
	uint8_t p[64];
	size_t len = make_syn4(p, 1460);
	struct ip_addr src, dst;

	(void)state;
	assert_int_equal(ippacket_addrs(p, len, &src, &dst), 0);
	assert_int_equal(src.family, AF_INET);
	assert_int_equal(dst.bytes[3], 2);
	assert_int_equal(ippacket_addrs(p, 19, &src, &dst), -EINVAL);
	p[3] = 0xff; /* total length beyond the buffer */
	assert_int_equal(ippacket_addrs(p, len, &src, &dst), -EINVAL);
	p[0] = 0x55; /* version 5 */
	assert_int_equal(ippacket_addrs(p, len, &src, &dst), -EINVAL);
	assert_int_equal(ippacket_addrs(p, 0, &src, &dst), -EINVAL);
}

static void test_prefixes(void **state)
{
	struct ip_addr a, pfx;
	unsigned len;
	char text[64];

	(void)state;
	assert_int_equal(ip_prefix_parse("100.64.0.0/10", &pfx, &len), 0);
	assert_int_equal(len, 10);
	assert_int_equal(ip_prefix_parse("100.127.255.255", &a, &len), 0);
	assert_int_equal(len, 32);
	assert_true(ip_addr_in_prefix(&a, &pfx, 10));
	assert_int_equal(ip_prefix_parse("100.128.0.0", &a, &len), 0);
	assert_false(ip_addr_in_prefix(&a, &pfx, 10));
	assert_int_equal(ip_prefix_parse("fd72:6179::/32", &pfx, &len), 0);
	ip_prefix_format(&pfx, len, text, sizeof(text));
	assert_string_equal(text, "fd72:6179::/32");
	/* host bits set, out of range, junk */
	assert_int_equal(ip_prefix_parse("10.1.2.3/8", &a, &len), -EINVAL);
	assert_int_equal(ip_prefix_parse("10.0.0.0/33", &a, &len), -EINVAL);
	assert_int_equal(ip_prefix_parse("10.0.0.0/", &a, &len), -EINVAL);
	assert_int_equal(ip_prefix_parse("10.0.0.0/-1", &a, &len), -EINVAL);
	assert_int_equal(ip_prefix_parse("nonsense", &a, &len), -EINVAL);
	assert_int_equal(ip_prefix_parse("", &a, &len), -EINVAL);
}

static void test_endpoints(void **state)
{
	struct endpoint a, b;
	char text[ENDPOINT_TEXT_MAX];

	(void)state;
	assert_int_equal(endpoint_parse("10.0.0.1:51820", &a), 0);
	endpoint_format(&a, text);
	assert_string_equal(text, "10.0.0.1:51820");
	assert_int_equal(endpoint_parse("[fd00::1]:41383", &b), 0);
	endpoint_format(&b, text);
	assert_string_equal(text, "[fd00::1]:41383");
	assert_false(endpoint_equal(&a, &b));
	assert_true(endpoint_is_set(&a));
	for (const char *bad = "10.0.0.1\0"
			       "10.0.0.1:0\0"
			       "10.0.0.1:65536\0"
			       ":80\0"
			       "[fd00::1]\0"
			       "fd00::1:80\0"
			       "host:80\0"
			       "10.0.0.1:+5\0";
	     *bad; bad += strlen(bad) + 1)
		assert_int_equal(endpoint_parse(bad, &a), -EINVAL);
}

/* Sum over the pseudo-header and the UDP (PROTO 17) or TCP (6) segment: a
 * valid checksum makes it 0xffff (RFC 768, RFC 9293). */
static uint16_t l4_sum(const uint8_t *p, size_t len, uint32_t proto)
{
	bool v4 = p[0] >> 4 == 4;
	size_t ip_len = v4 ? 20 : 40, alen = v4 ? 4 : 16;
	const uint8_t *addrs = v4 ? p + 12 : p + 8;
	uint32_t sum = proto + (uint32_t)(len - ip_len);

	for (size_t i = 0; i < 2 * alen; i += 2)
		sum += (uint32_t)(addrs[i] << 8 | addrs[i + 1]);
	for (size_t i = ip_len; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_udp(void **state)
{
	static const char *const addrs[][2] = {
		{"100.100.100.53", "100.64.0.7"},
		{"fd72:6179::53", "fd72:6179:1:2:3:4:5:6"},
	};
	uint8_t payload[301], pkt[512], small[64];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct ippacket_udp u = {.sport = 53,
					 .dport = 40000,
					 .payload = payload,
					 .payload_len = sizeof(payload)};
		struct ippacket_udp back;
		int n;

		u.src.family = u.dst.family = (uint8_t)family;
		assert_int_equal(inet_pton(family, addrs[f][0], u.src.bytes), 1);
		assert_int_equal(inet_pton(family, addrs[f][1], u.dst.bytes), 1);
		n = ippacket_udp_build(&u, pkt, sizeof(pkt));
		assert_int_equal(n, (f ? 40 : 20) + 8 + (int)sizeof(payload));
		assert_int_equal(l4_sum(pkt, (size_t)n, 17), 0xffff);
		if (!f) {
			uint32_t sum = 0;

			for (int i = 0; i < 20; i += 2)
				sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			assert_int_equal(sum, 0xffff);
		}
		memset(&back, 0, sizeof(back));
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), 0);
		assert_memory_equal(&back.src, &u.src, sizeof(u.src));
		assert_memory_equal(&back.dst, &u.dst, sizeof(u.dst));
		assert_int_equal(back.sport, 53);
		assert_int_equal(back.dport, 40000);
		assert_int_equal(back.payload_len, sizeof(payload));
		assert_memory_equal(back.payload, payload, sizeof(payload));
		/* too small a buffer; short or inconsistent packets */
		assert_int_equal(ippacket_udp_build(&u, small, sizeof(small)), -ENOBUFS);
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n - 1, &back), -EINVAL);
		assert_int_equal(ippacket_udp_parse(pkt, f ? 47 : 27, &back), -EINVAL);
		pkt[(f ? 40 : 20) + 4] = 0xff; /* UDP length beyond the packet */
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), -EINVAL);
		pkt[(f ? 40 : 20) + 4] = 0;
		pkt[(f ? 40 : 20) + 5] = 7; /* below its own header */
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), -EINVAL);
		n = ippacket_udp_build(&u, pkt, sizeof(pkt));
		pkt[f ? 6 : 9] = 6; /* TCP */
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), -EINVAL);
		u.dst.family = (uint8_t)(f ? AF_INET : AF_INET6);
		assert_int_equal(ippacket_udp_build(&u, pkt, sizeof(pkt)), -EINVAL);
	}
	/* an IPv4 fragment (more fragments set, then an offset) is not parsed */
	{
		struct ippacket_udp u = {
			.sport = 1, .dport = 53, .payload = payload, .payload_len = 20};
		struct ippacket_udp back;
		int n;

		u.src.family = u.dst.family = AF_INET;
		n = ippacket_udp_build(&u, pkt, sizeof(pkt));
		assert_true(n > 0);
		pkt[6] = 0x20;
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), -EINVAL);
		pkt[6] = 0x00;
		pkt[7] = 0x01;
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), -EINVAL);
		pkt[7] = 0x00;
		pkt[6] = 0x40; /* don't fragment: fine */
		assert_int_equal(ippacket_udp_parse(pkt, (size_t)n, &back), 0);
	}
}

/* TCP segments built and parsed back: flags, numbers, the MSS option of a
 * SYN, checksums; with VERIFY, a wrong checksum and fragments are refused;
 * lengths that disagree are refused either way. */
static void test_tcp(void **state)
{
	static const char *const addrs[][2] = {
		{"100.100.100.53", "100.64.0.7"},
		{"fd72:6179::53", "fd72:6179:1:2:3:4:5:6"},
	};
	uint8_t payload[101], pkt[512], small[40];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13);
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		size_t ip = f ? 40 : 20;
		struct ippacket_tcp t = {.sport = 53,
					 .dport = 40000,
					 .seq = 0xfffffff0,
					 .ack = 7,
					 .flags = IPPACKET_TCP_ACK | IPPACKET_TCP_PSH,
					 .window = 8192,
					 .payload = payload,
					 .payload_len = sizeof(payload)};
		struct ippacket_tcp back, rst;
		int n;

		t.src.family = t.dst.family = (uint8_t)family;
		assert_int_equal(inet_pton(family, addrs[f][0], t.src.bytes), 1);
		assert_int_equal(inet_pton(family, addrs[f][1], t.dst.bytes), 1);
		n = ippacket_tcp_build(&t, pkt, sizeof(pkt));
		assert_int_equal(n, (int)(ip + 20 + sizeof(payload)));
		assert_int_equal(l4_sum(pkt, (size_t)n, 6), 0xffff);
		memset(&back, 0, sizeof(back));
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), 0);
		assert_memory_equal(&back.src, &t.src, sizeof(t.src));
		assert_memory_equal(&back.dst, &t.dst, sizeof(t.dst));
		assert_int_equal(back.sport, 53);
		assert_int_equal(back.dport, 40000);
		assert_int_equal(back.seq, 0xfffffff0);
		assert_int_equal(back.ack, 7);
		assert_int_equal(back.flags, IPPACKET_TCP_ACK | IPPACKET_TCP_PSH);
		assert_int_equal(back.window, 8192);
		assert_int_equal(back.mss, 0);
		assert_int_equal(back.payload_len, sizeof(payload));
		assert_memory_equal(back.payload, payload, sizeof(payload));
		/* a RST for it: from its destination, seq from its ACK */
		assert_int_equal(ippacket_tcp_reset_of(&back, &rst), 0);
		assert_int_equal(rst.flags, IPPACKET_TCP_RST);
		assert_int_equal(rst.seq, 7);
		assert_int_equal(rst.sport, 40000);
		assert_memory_equal(&rst.src, &t.dst, sizeof(t.dst));
		/* a wrong checksum: only VERIFY sees it */
		pkt[n - 1] ^= 1;
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), -EBADMSG);
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), 0);
		pkt[n - 1] ^= 1;
		/* short or inconsistent */
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n - 1, false, &back), -EINVAL);
		assert_int_equal(ippacket_tcp_parse(pkt, ip + 19, false, &back), -EINVAL);
		pkt[ip + 12] = 0x40; /* data offset below the header */
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), -EINVAL);
		pkt[ip + 12] = 0xf0; /* 60 bytes: fine, options in the payload */
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), 0);
		assert_int_equal(back.payload_len, sizeof(payload) + 20 - 60);
		assert_int_equal(ippacket_tcp_parse(pkt, ip + 59, false, &back), -EINVAL);
		pkt[f ? 6 : 9] = 17;
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), -EINVAL);
		/* a SYN with an MSS option, the payload built in place */
		t.flags = IPPACKET_TCP_SYN | IPPACKET_TCP_ACK;
		t.mss = 1380;
		t.payload_len = 0;
		n = ippacket_tcp_build(&t, pkt, sizeof(pkt));
		assert_int_equal(n, (int)(ip + 24));
		assert_int_equal(l4_sum(pkt, (size_t)n, 6), 0xffff);
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), 0);
		assert_int_equal(back.mss, 1380);
		assert_int_equal(back.payload_len, 0);
		memcpy(pkt + ip + 24, "abc", 3);
		t.payload = pkt + ip + 24;
		t.payload_len = 3;
		n = ippacket_tcp_build(&t, pkt, sizeof(pkt));
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), 0);
		assert_memory_equal(back.payload, "abc", 3);
		/* a SYN answered by RST|ACK of its sequence space (1 + 3) */
		back.flags = IPPACKET_TCP_SYN;
		assert_int_equal(ippacket_tcp_reset_of(&back, &rst), 0);
		assert_int_equal(rst.flags, IPPACKET_TCP_RST | IPPACKET_TCP_ACK);
		assert_int_equal(rst.ack, 0xfffffff0 + 4);
		back.flags = IPPACKET_TCP_RST;
		assert_int_equal(ippacket_tcp_reset_of(&back, &rst), -EINVAL);
		assert_int_equal(ippacket_tcp_build(&t, small, sizeof(small)), -ENOBUFS);
		t.dst.family = (uint8_t)(f ? AF_INET : AF_INET6);
		assert_int_equal(ippacket_tcp_build(&t, pkt, sizeof(pkt)), -EINVAL);
	}
	/* IPv4 fragments: a later one never parses, a first one not with VERIFY */
	{
		struct ippacket_tcp t = {
			.sport = 1, .dport = 53, .payload = payload, .payload_len = 20};
		struct ippacket_tcp back;
		int n;

		t.src.family = t.dst.family = AF_INET;
		n = ippacket_tcp_build(&t, pkt, sizeof(pkt));
		assert_true(n > 0);
		pkt[6] = 0x20;
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), -EINVAL);
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), 0);
		pkt[6] = 0x00;
		pkt[7] = 0x01;
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, false, &back), -EINVAL);
		pkt[7] = 0x00;
		pkt[6] = 0x40; /* don't fragment: fine */
		assert_int_equal(ippacket_tcp_parse(pkt, (size_t)n, true, &back), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp_mss), cmocka_unit_test(test_addrs),
		cmocka_unit_test(test_prefixes),  cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_udp),	  cmocka_unit_test(test_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
