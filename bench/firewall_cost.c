/* The firewall's cost per packet, without the network: fw_filter on
 * prebuilt IPv4 TCP packets, timed in nanoseconds per packet for
 *   - one established flow (a bulk transfer: data in, ACKs out),
 *   - 10,000 established flows visited in turn (the tracker's cache misses),
 *   - a new flow per packet through 8 rules (the rule walk and an insert),
 *   - the firewall off (the call alone).
 * Set against the daemon's per-packet budget (1 Gbit/s of 1420-byte packets
 * is ~88,000 packets per second, 11 µs each), this is the firewall's share.
 *
 *   usage: build/bench/firewall_cost [MILLION_PACKETS]   (default 10) */
#include "firewall/firewall.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define PKT_LEN	  1420
#define FLOWS_MAX 10000

static uint8_t local_ip[4] = {100, 64, 0, 1}, remote_ip[4] = {100, 64, 0, 2};
static uint8_t peer_id[32];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A TCP packet; checksums are not looked at by the firewall. */
static void tcp_packet(uint8_t *p, bool inbound, uint16_t remote_port, uint8_t flags)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = PKT_LEN >> 8;
	p[3] = PKT_LEN & 0xff;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, inbound ? remote_ip : local_ip, 4);
	memcpy(p + 16, inbound ? local_ip : remote_ip, 4);
	p[20 + (inbound ? 0 : 2)] = remote_port >> 8;
	p[21 + (inbound ? 0 : 2)] = remote_port & 0xff;
	p[20 + (inbound ? 2 : 0)] = 5201 >> 8;
	p[21 + (inbound ? 2 : 0)] = 5201 & 0xff;
	p[32] = 5 << 4;
	p[33] = flags;
}

static double run(struct firewall *fw, uint8_t (*pkts)[PKT_LEN], unsigned npkts, bool *inbound,
		  unsigned long total)
{
	struct fw_peer_info peer = {.has_id = true, .id = peer_id, .tags = 1};
	uint8_t reply[FW_REPLY_MAX];
	uint64_t start = now_ns(), t = start;
	unsigned long passed = 0;

	for (unsigned long i = 0; i < total; i++) {
		unsigned k = (unsigned)(i % npkts);

		if ((i & 1023) == 0)
			t = now_ns();
		passed += fw_filter(fw, &peer, !inbound[k], pkts[k], PKT_LEN, t, reply,
				    sizeof(reply)) == FW_PASS;
	}
	if (passed != total)
		fprintf(stderr, "warning: %lu of %lu packets dropped\n", total - passed, total);
	return (double)(now_ns() - start) / (double)total;
}

static double run_new_flows(struct firewall *fw, unsigned long total)
{
	struct fw_peer_info peer = {.has_id = true, .id = peer_id, .tags = 1};
	uint8_t reply[FW_REPLY_MAX], pkt[PKT_LEN];
	uint64_t start = now_ns(), t = start;

	tcp_packet(pkt, true, 0, 0x02);
	for (unsigned long i = 0; i < total; i++) {
		if ((i & 1023) == 0)
			t = now_ns();
		pkt[14] = (uint8_t)(i >> 16); /* the remote address's third byte */
		pkt[20] = (uint8_t)(i >> 8);
		pkt[21] = (uint8_t)i;
		fw_filter(fw, &peer, false, pkt, PKT_LEN, t, reply, sizeof(reply));
	}
	return (double)(now_ns() - start) / (double)total;
}

static struct firewall *firewall_open_5201(void)
{
	struct firewall *fw = fw_new(32768);
	struct fw_rule r;

	if (!fw)
		exit(1);
	/* Seven rules that do not match before the one that does. */
	for (uint16_t i = 0; i < 7; i++) {
		memset(&r, 0, sizeof(r));
		r.direction = FW_IN;
		r.action = FW_ALLOW;
		r.proto = FW_PROTO_UDP;
		r.port_min = r.port_max = (uint16_t)(1000 + i);
		fw_rule_add(fw, &r);
	}
	memset(&r, 0, sizeof(r));
	r.direction = FW_IN;
	r.action = FW_ALLOW;
	r.proto = FW_PROTO_TCP;
	r.port_min = r.port_max = 5201;
	fw_rule_add(fw, &r);
	return fw;
}

int main(int argc, char **argv)
{
	unsigned long total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 10) * 1000000ul;
	static uint8_t pkts[2 * FLOWS_MAX][PKT_LEN];
	static bool inbound[2 * FLOWS_MAX];
	struct firewall *fw;
	double one, many, fresh, off;

	if (sodium_init() < 0 || total == 0)
		return 1;
	randombytes_buf(peer_id, sizeof(peer_id));

	/* One flow: a SYN opens it, then data in and ACKs out. */
	fw = firewall_open_5201();
	tcp_packet(pkts[0], true, 40000, 0x02);
	inbound[0] = true;
	run(fw, pkts, 1, inbound, 1);
	tcp_packet(pkts[0], true, 40000, 0x10);
	tcp_packet(pkts[1], false, 40000, 0x10);
	inbound[1] = false;
	one = run(fw, pkts, 2, inbound, total);
	fw_set_enabled(fw, false);
	off = run(fw, pkts, 2, inbound, total);
	fw_free(fw);

	/* Many flows, each opened by a SYN, then visited in turn. */
	fw = firewall_open_5201();
	for (unsigned i = 0; i < FLOWS_MAX; i++) {
		tcp_packet(pkts[2 * i], true, (uint16_t)(20000 + i), 0x02);
		inbound[2 * i] = true;
		run(fw, pkts + 2 * i, 1, inbound + 2 * i, 1);
		tcp_packet(pkts[2 * i], true, (uint16_t)(20000 + i), 0x10);
		tcp_packet(pkts[2 * i + 1], false, (uint16_t)(20000 + i), 0x10);
		inbound[2 * i + 1] = false;
	}
	many = run(fw, pkts, 2 * FLOWS_MAX, inbound, total);
	fw_free(fw);

	/* A new flow each packet: SYNs from ever-changing addresses and ports
	 * (the tracker evicts as it fills). */
	fw = firewall_open_5201();
	fresh = run_new_flows(fw, total / 10);
	fw_free(fw);

	printf("firewall cost per packet (%lu M packets):\n", total / 1000000ul);
	printf("  off (the call alone)        %6.1f ns\n", off);
	printf("  one established flow        %6.1f ns\n", one);
	printf("  10,000 established flows    %6.1f ns\n", many);
	printf("  a new flow (8 rules)        %6.1f ns\n", fresh);
	printf("  share of an 11 us packet budget (1 Gbit/s, 1420 B): %.2f%% .. %.2f%%\n",
	       one / 110.0, many / 110.0);
	return 0;
}
