#include "firewall/flow.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IPV4_HEADER_MIN	 20
#define IPV6_HEADER_LEN	 40
#define IPV6_EXT_MAX	 8 /* extension headers followed before giving up */
#define TCP_HEADER_MIN	 20
#define UDP_HEADER_LEN	 8
#define ICMP_HEADER_LEN	 8
#define IPV6_NH_HOPOPTS	 0
#define IPV6_NH_ROUTING	 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_AH	 51
#define IPV6_NH_DSTOPTS	 60
#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO	 8
#define ICMP6_ECHO	 128
#define ICMP6_ECHO_REPLY 129

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool icmp_is_echo(uint8_t proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP)
		return type == ICMP4_ECHO || type == ICMP4_ECHO_REPLY;
	return type == ICMP6_ECHO || type == ICMP6_ECHO_REPLY;
}

static bool icmp_is_error(uint8_t proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type < 128;
}

/* The IP header at PKT: addresses and protocol into T, the offset of the
 * transport header into L4, the packet's end (its length field; for a
 * quoted packet, cut to what is there) into END, and for a later fragment
 * its offset in 8-byte units into FRAG. *TOTAL is how much of the packet
 * there is (a quoted one has less than its length field says). Returns 0,
 * 1 for a later fragment (no transport header), or -EINVAL. */
static int flow_ip(const uint8_t *pkt, size_t avail, bool quoted, struct fw_tuple *t, size_t *l4,
		   size_t *end, uint16_t *frag)
{
	size_t hlen, off, total;
	uint8_t nh;

	memset(t, 0, sizeof(*t));
	*frag = 0;
	if (avail < 1)
		return -EINVAL;
	if (pkt[0] >> 4 == 4) {
		hlen = (size_t)(pkt[0] & 0x0f) * 4;
		if (avail < IPV4_HEADER_MIN || hlen < IPV4_HEADER_MIN || hlen > avail)
			return -EINVAL;
		total = be16(pkt + 2);
		if (total < hlen || (!quoted && total > avail))
			return -EINVAL;
		*end = total < avail ? total : avail;
		t->family = AF_INET;
		t->proto = pkt[9];
		memcpy(t->src, pkt + 12, 4);
		memcpy(t->dst, pkt + 16, 4);
		*l4 = hlen;
		*frag = be16(pkt + 6) & 0x1fff;
		return *frag ? 1 : 0;
	}
	if (pkt[0] >> 4 != 6 || avail < IPV6_HEADER_LEN)
		return -EINVAL;
	total = (size_t)be16(pkt + 4) + IPV6_HEADER_LEN;
	if (!quoted && total > avail)
		return -EINVAL;
	/* Bytes after the packet (or after what is quoted) are not part of it. */
	if (total > avail)
		total = avail;
	*end = total;
	t->family = AF_INET6;
	memcpy(t->src, pkt + 8, 16);
	memcpy(t->dst, pkt + 24, 16);
	nh = pkt[6];
	off = IPV6_HEADER_LEN;
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		size_t elen;

		switch (nh) {
		case IPV6_NH_HOPOPTS:
		case IPV6_NH_ROUTING:
		case IPV6_NH_DSTOPTS:
			if (off + 2 > total)
				return -EINVAL;
			elen = ((size_t)pkt[off + 1] + 1) * 8;
			break;
		case IPV6_NH_AH:
			if (off + 2 > total)
				return -EINVAL;
			elen = ((size_t)pkt[off + 1] + 2) * 4;
			break;
		case IPV6_NH_FRAGMENT:
			if (off + 8 > total)
				return -EINVAL;
			if (be16(pkt + off + 2) >> 3) {
				*frag = be16(pkt + off + 2) >> 3;
				t->proto = pkt[off];
				*l4 = off + 8;
				return 1;
			}
			elen = 8;
			break;
		default:
			t->proto = nh;
			*l4 = off;
			return 0;
		}
		nh = pkt[off];
		off += elen;
		if (off > total)
			return -EINVAL;
	}
	return -EINVAL;
}

/* Ports (or the echo identifier) of the transport header at L4 into T. */
static int flow_ports(const uint8_t *l4, size_t len, struct fw_tuple *t, bool *has_ports)
{
	*has_ports = false;
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (len < 4)
			return -EINVAL;
		t->sport = be16(l4);
		t->dport = be16(l4 + 2);
		*has_ports = true;
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < ICMP_HEADER_LEN)
			return -EINVAL;
		if (icmp_is_echo(t->proto, l4[0])) {
			t->sport = t->dport = be16(l4 + 4);
			*has_ports = true;
		}
		return 0;
	default:
		return 0;
	}
}

int fw_flow_parse(const uint8_t *pkt, size_t len, struct fw_flow *f)
{
	const uint8_t *l4;
	size_t off, l4_len, inner_off, inner_end;
	uint16_t inner_frag;
	bool inner_ports;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = flow_ip(pkt, len, false, &f->t, &off, &len, &f->frag_offset);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		f->later_fragment = true;
		return 0;
	}
	l4 = pkt + off;
	l4_len = len - off;
	switch (f->t.proto) {
	case IPPROTO_TCP:
		if (l4_len < TCP_HEADER_MIN)
			return -EINVAL;
		f->tcp_flags = l4[13];
		break;
	case IPPROTO_UDP:
		if (l4_len < UDP_HEADER_LEN)
			return -EINVAL;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (l4_len < ICMP_HEADER_LEN)
			return -EINVAL;
		/* ICMP travels in its own family only. */
		if ((f->t.proto == IPPROTO_ICMP) != (f->t.family == AF_INET))
			return 0;
		f->icmp_type = l4[0];
		if (!icmp_is_error(f->t.proto, l4[0]))
			break;
		ret = flow_ip(l4 + ICMP_HEADER_LEN, l4_len - ICMP_HEADER_LEN, true, &f->inner,
			      &inner_off, &inner_end, &inner_frag);
		if (ret < 0 || f->inner.family != f->t.family)
			return -EINVAL;
		if (ret == 0) {
			if (flow_ports(l4 + ICMP_HEADER_LEN + inner_off, inner_end - inner_off,
				       &f->inner, &inner_ports) < 0)
				return -EINVAL;
			f->icmp_error = inner_ports;
		}
		return 0;
	default:
		return 0;
	}
	return flow_ports(l4, l4_len, &f->t, &f->has_ports);
}
