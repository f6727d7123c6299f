/* The firewall over arbitrary packets. Properties checked besides memory
 * safety (ASan/UBSan, leaks): fw_flow_parse returns 0 or -EINVAL; fw_filter
 * returns FW_PASS, FW_DROP or the length of an answer that fits the buffer
 * and FW_REPLY_MAX, answers only a TCP or UDP packet it dropped, and the
 * answer parses back: a TCP RST with the ports swapped, or an ICMP error
 * quoting the datagram's ports.
 *
 * The input is one packet fed both ways to a fresh firewall, then read as a
 * sequence of records (control byte, 2-byte length, packet) fed to one
 * firewall in turn, so flows opened by one packet meet the later ones; the
 * control byte picks the direction, the peer, the clock step, and now and
 * then a rule change (which makes peers' flows be checked again). */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firewall/firewall.h"
#include "firewall/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S 1000000000ull

static uint8_t room[32], id1[32], id2[32];

static struct fw_rule rule(uint8_t dir, uint8_t action, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct fw_rule r;

	memset(&r, 0, sizeof(r));
	r.direction = dir;
	r.action = action;
	r.proto = proto;
	r.port_min = lo;
	r.port_max = hi;
	r.network_bit = -1;
	return r;
}

static struct firewall *fuzz_firewall(void)
{
	struct firewall *fw = fw_new(16); /* small: eviction happens */
	struct fw_rule r[6], s;

	if (!fw)
		abort();
	memset(room, 0x52, sizeof(room));
	memset(id1, 0x11, sizeof(id1));
	memset(id2, 0x22, sizeof(id2));
	r[0] = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);
	r[1] = rule(FW_IN, FW_DENY, FW_PROTO_TCP, 80, 90);
	r[2] = rule(FW_IN, FW_ALLOW, FW_PROTO_UDP, 53, 53);
	r[2].has_network = true;
	memcpy(r[2].network, room, 32);
	r[3] = rule(FW_OUT, FW_DENY, FW_PROTO_UDP, 9999, 9999);
	r[4] = rule(FW_IN, FW_ALLOW, FW_PROTO_ANY, 0, 0);
	r[4].has_peer = true;
	memcpy(r[4].peer, id1, 32);
	r[5] = rule(FW_OUT, FW_DENY, FW_PROTO_TCP, 25, 25);
	for (size_t i = 0; i < 6; i++) {
		if (fw_rule_add(fw, &r[i]) < 0)
			abort();
	}
	s = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 443, 443);
	s.suggested = s.has_network = true;
	memcpy(s.origin, room, 32);
	memcpy(s.network, room, 32);
	if (fw_set_suggested(fw, room, &s, 1) < 0)
		abort();
	fw_set_networks(fw, (const uint8_t(*)[32])room, 1);
	fw_set_reject(fw, true);
	return fw;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where the transport header of a parsed, answerable packet starts. */
static size_t l4_off(const uint8_t *p)
{
	return p[0] >> 4 == 4 ? (size_t)(p[0] & 0x0f) * 4 : 40;
}

static void check_verdict(const uint8_t *pkt, size_t len, int n, const uint8_t *reply, size_t cap)
{
	struct fw_flow in, out;

	if (n == FW_PASS || n == FW_DROP)
		return;
	if (n < 0 || (size_t)n > cap || n > (int)FW_REPLY_MAX)
		abort();
	/* answered: the packet was one */
	if (fw_flow_parse(pkt, len, &in) < 0 || in.later_fragment)
		abort();
	if (fw_flow_parse(reply, (size_t)n, &out) < 0 || out.t.family != in.t.family)
		abort();
	if (memcmp(out.t.src, in.t.dst, 16) || memcmp(out.t.dst, in.t.src, 16))
		abort();
	if (in.t.proto == IPPROTO_TCP) {
		if (out.t.proto != IPPROTO_TCP || !(out.tcp_flags & FW_TCP_RST) ||
		    (in.tcp_flags & FW_TCP_RST) || out.t.sport != in.t.dport ||
		    out.t.dport != in.t.sport)
			abort();
	} else if (in.t.proto == IPPROTO_UDP) {
		if (!out.icmp_error || out.inner.proto != IPPROTO_UDP ||
		    out.inner.sport != in.t.sport || out.inner.dport != in.t.dport ||
		    be16(pkt + l4_off(pkt)) != in.t.sport)
			abort();
	} else {
		abort();
	}
}

static void filter(struct firewall *fw, const struct fw_peer_info *peer, bool outbound,
		   const uint8_t *pkt, size_t len, uint64_t now, size_t cap)
{
	static uint8_t reply[FW_REPLY_MAX + 64];
	int n;

	if (cap > sizeof(reply))
		cap = sizeof(reply);
	n = fw_filter(fw, peer, outbound, pkt, len, now, reply, cap);
	check_verdict(pkt, len, n, reply, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fw_peer_info *peers[4];
	static struct fw_peer_info plain, p1, p2, member;
	struct firewall *fw;
	struct fw_flow f;
	uint64_t now = 1000 * S;
	int ret;

	plain = (struct fw_peer_info){.has_id = false};
	p1 = (struct fw_peer_info){.has_id = true, .id = id1, .tags = 0};
	p2 = (struct fw_peer_info){.has_id = true, .id = id2, .tags = 1};
	member = (struct fw_peer_info){.has_id = false, .tags = 1};
	peers[0] = &plain;
	peers[1] = &p1;
	peers[2] = &p2;
	peers[3] = &member;

	ret = fw_flow_parse(data, size, &f);
	if (ret != 0 && ret != -EINVAL)
		abort();

	/* the whole input, one packet */
	fw = fuzz_firewall();
	filter(fw, &p2, false, data, size, now, FW_REPLY_MAX);
	filter(fw, &p2, true, data, size, now, FW_REPLY_MAX);
	filter(fw, &p2, false, data, size, now + S, FW_REPLY_MAX);
	fw_free(fw);

	/* records: ctl, length (2 bytes), packet */
	fw = fuzz_firewall();
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t len = be16(data + 1);
		uint8_t *pkt;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		pkt = malloc(len ? len : 1); /* exactly LEN: ASan sees overreads */
		if (!pkt)
			abort();
		memcpy(pkt, data, len);
		now += (uint64_t)(ctl >> 5) * (ctl & 0x10 ? 60 * S : S / 8);
		if ((ctl & 0x0e) == 0x0e) {
			/* a rule change: peers' flows are checked again */
			struct fw_rule r = rule(FW_IN, FW_ALLOW, FW_PROTO_TCP, 22, 22);

			if (ctl & 1) {
				if (fw_rule_count(fw) > 1)
					fw_rule_remove(fw, 1);
			} else {
				fw_rule_add(fw, &r);
			}
		}
		filter(fw, peers[(ctl >> 1) & 3], ctl & 1, pkt, len, now,
		       ctl & 0x08 ? FW_REPLY_MAX : 60);
		free(pkt);
		data += len;
		size -= len;
	}
	fw_free(fw);
	return 0;
}
