/* The DNS-over-TCP responder driven by a script of client segments, late
 * answers, aborts and the passing of time. Most segments are built from the
 * script with valid checksums and sequence numbers near the ones each
 * client expects (so the fuzzer gets past the checksum and into the
 * connection states); some are raw bytes. Properties checked besides memory
 * safety: every packet we send parses back with its checksum, fits the MTU,
 * and is a SYN-ACK (with an MSS that fits the MTU), a RST, or an ACK (with
 * data, a FIN or neither); no data goes beyond the furthest window edge
 * (ACK + window) the client ever advertised on the connection; a query is
 * never longer than DNS_TCP_QUERY_MAX; the table (smaller than the
 * clients, for evictions) never holds more than its size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/socket.h>

#include "dns/tcp_responder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MTU	   1280
#define FZ_CLIENTS 4
#define FZ_CONNS   3 /* fewer than the clients: evictions */
#define FZ_IDS	   16
#define FZ_S	   1000000000ull

struct fz_client {
	struct ip_addr addr, server;
	uint16_t port;
	uint32_t seq;	  /* its next sequence number */
	uint32_t ack;	  /* the end of what we sent it */
	uint32_t win_end; /* our data must end by its furthest ack + window */
	bool synced;	  /* it saw a segment of ours */
};

struct fz {
	struct dns_tcp *t;
	struct fz_client c[FZ_CLIENTS];
	uint64_t ids[FZ_IDS];
	unsigned nids;
	uint64_t now;
	bool answer_now;
	uint8_t answer[DNS_TCP_MSG_MAX];
};

static struct fz fz;

/* The scripted client at ADDR:PORT talking to SERVER, if any. */
static struct fz_client *fz_find(const struct ip_addr *addr, uint16_t port,
				 const struct ip_addr *server)
{
	size_t alen = addr->family == AF_INET ? 4 : 16;

	for (int i = 0; i < FZ_CLIENTS; i++) {
		struct fz_client *c = &fz.c[i];

		if (c->addr.family == addr->family && c->port == port &&
		    memcmp(c->addr.bytes, addr->bytes, alen) == 0 &&
		    memcmp(c->server.bytes, server->bytes, alen) == 0)
			return c;
	}
	return NULL;
}

/* Client C advertised WINDOW from ACK (whether we took it or not). */
static void fz_window(struct fz_client *c, uint32_t ack, uint16_t window)
{
	uint32_t end = ack + window;

	if ((int32_t)(end - c->win_end) > 0)
		c->win_end = end;
}

static int fz_send(void *arg, const uint8_t *pkt, size_t len)
{
	struct ippacket_tcp s;
	struct fz_client *c;
	uint8_t f;

	(void)arg;
	if (len > FZ_MTU || ippacket_tcp_parse(pkt, len, true, &s) != 0)
		abort();
	/* raw segments may come from anywhere: only scripted clients are tracked */
	c = fz_find(&s.dst, s.dport, &s.src);
	f = s.flags;
	if (!(f & IPPACKET_TCP_RST) && !(f & IPPACKET_TCP_ACK))
		abort();
	if ((f & IPPACKET_TCP_SYN) && (f & (IPPACKET_TCP_FIN | IPPACKET_TCP_RST)))
		abort();
	if ((f & (IPPACKET_TCP_SYN | IPPACKET_TCP_RST)) && s.payload_len)
		abort();
	if (!c)
		return 0;
	if (f & IPPACKET_TCP_SYN) {
		c->ack = s.seq + 1;
		c->win_end = c->ack + 65535;
		c->synced = true;
		if (s.mss == 0 || s.mss > FZ_MTU - 40)
			abort();
	} else if (!(f & IPPACKET_TCP_RST)) {
		uint32_t end = s.seq + (uint32_t)s.payload_len;

		if (s.payload_len && c->synced && (int32_t)(end - c->win_end) > 0)
			abort(); /* beyond the client's window */
		end += !!(f & IPPACKET_TCP_FIN);
		if (!c->synced || (int32_t)(end - c->ack) > 0)
			c->ack = end;
		c->synced = true;
	}
	return 0;
}

static void fz_query(void *arg, uint64_t id, const struct ip_addr *client, const uint8_t *msg,
		     size_t len)
{
	(void)arg;
	(void)client;
	if (len > DNS_TCP_QUERY_MAX || id == 0)
		abort();
	if (fz.answer_now) {
		size_t n = len ? (size_t)msg[0] * 300 : 0;

		dns_tcp_answer(fz.t, id, fz.answer, n, fz.now);
	} else {
		fz.ids[fz.nids++ % FZ_IDS] = id;
	}
}

static void fz_clients(void)
{
	memset(fz.c, 0, sizeof(fz.c));
	for (int i = 0; i < FZ_CLIENTS; i++) {
		struct fz_client *c = &fz.c[i];

		c->port = (uint16_t)(40000 + i % 2);
		c->seq = 0xfffff000u * (uint32_t)i;
		if (i < 2) {
			static const uint8_t a4[4] = {100, 64, 0, 7}, s4[4] = {100, 100, 100, 53};

			c->addr.family = c->server.family = AF_INET;
			memcpy(c->addr.bytes, a4, 4);
			memcpy(c->server.bytes, s4, 4);
		} else {
			static const uint8_t a6[16] = {0xfd, 0x72, 0x61, 0x79, 0, 1, 0, 0,
						       0,    0,	   0,	 0,    0, 0, 0, 7};
			static const uint8_t s6[16] = {0xfd, 0x72, 0x61, 0x79, 0, 0, 0, 0,
						       0,    0,	   0,	 0,    0, 0, 0, 0x53};

			c->addr.family = c->server.family = AF_INET6;
			memcpy(c->addr.bytes, a6, 16);
			memcpy(c->server.bytes, s6, 16);
		}
	}
}

/* Takes N bytes of the script (fewer at its end). */
static const uint8_t *fz_take(const uint8_t **p, size_t *left, size_t n, size_t *got)
{
	const uint8_t *at = *p;

	*got = n < *left ? n : *left;
	*p += *got;
	*left -= *got;
	return at;
}

static uint8_t fz_byte(const uint8_t **p, size_t *left)
{
	size_t got;
	const uint8_t *b = fz_take(p, left, 1, &got);

	return got ? *b : 0;
}

/* A segment of client C from the script: flags, offsets of its numbers
 * from the expected ones, window, MSS, payload. */
static void fz_segment(struct fz_client *c, const uint8_t **p, size_t *left)
{
	static uint8_t pkt[FZ_MTU + 100];
	uint8_t flags = fz_byte(p, left), d = fz_byte(p, left);
	uint8_t plen = fz_byte(p, left);
	struct ippacket_tcp s = {
		.src = c->addr,
		.dst = c->server,
		.sport = c->port,
		.dport = d & 0x80 ? 5353 : 53,
		.seq = c->seq,
		.ack = c->ack,
		.flags = flags & 0x3f,
		.window = (uint16_t)(fz_byte(p, left) << 8 | fz_byte(p, left)),
	};
	size_t got;
	int n;

	/* small offsets: duplicates, holes, unacceptable ACKs */
	if (d & 0x01)
		s.seq += (uint32_t)(int8_t)fz_byte(p, left);
	if (d & 0x02)
		s.ack += (uint32_t)(int8_t)fz_byte(p, left);
	if (s.flags & IPPACKET_TCP_SYN)
		s.mss = d & 0x04 ? (uint16_t)fz_byte(p, left) * 8 : 0;
	s.payload = fz_take(p, left, plen * (d & 0x08 ? 8u : 1u), &got);
	s.payload_len = got;
	if (s.payload_len > FZ_MTU - 64)
		s.payload_len = FZ_MTU - 64;
	n = ippacket_tcp_build(&s, pkt, sizeof(pkt));
	if (n < 0)
		abort();
	if (d & 0x10)
		pkt[n - 1] ^= 1; /* a bad checksum (or a flipped payload byte) */
	if (s.flags & IPPACKET_TCP_ACK)
		fz_window(c, s.ack, s.window);
	dns_tcp_input(fz.t, pkt, (size_t)n, fz.now);
	if (!(d & 0x20)) /* else it is lost: the client sends it again */
		c->seq = s.seq + (uint32_t)s.payload_len +
			 !!(s.flags & (IPPACKET_TCP_SYN | IPPACKET_TCP_FIN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size, got;
	struct dns_tcp_stats st;

	memset(fz.ids, 0, sizeof(fz.ids));
	fz.nids = 0;
	fz.now = 1000 * FZ_S;
	fz.t = dns_tcp_new(FZ_MTU, 53, FZ_CONNS, fz_send, fz_query, NULL);
	if (!fz.t)
		abort();
	fz_clients();
	while (left) {
		uint8_t op = fz_byte(&p, &left);
		const uint8_t *raw;

		fz.answer_now = op & 0x80;
		switch (op & 7) {
		case 0: { /* raw bytes as a packet */
			struct ippacket_tcp s;
			struct fz_client *c;

			raw = fz_take(&p, &left, fz_byte(&p, &left) * 4u, &got);
			if (ippacket_tcp_parse(raw, got, true, &s) == 0 &&
			    (c = fz_find(&s.src, s.sport, &s.dst)) && (s.flags & IPPACKET_TCP_ACK))
				fz_window(c, s.ack, s.window);
			dns_tcp_input(fz.t, raw, got, fz.now);
			break;
		}
		case 1:
		case 2:
		case 3:
		case 4:
			fz_segment(&fz.c[(op >> 3) % FZ_CLIENTS], &p, &left);
			break;
		case 5: { /* a late answer, up to the largest */
			uint64_t id = fz.ids[fz_byte(&p, &left) % FZ_IDS];
			size_t n = (size_t)fz_byte(&p, &left) * 257;

			if (op & 0x40)
				n = DNS_TCP_MSG_MAX + (op & 0x08 ? 1 : 0);
			dns_tcp_answer(fz.t, id, fz.answer, n, fz.now);
			break;
		}
		case 6:
			dns_tcp_abort(fz.t, fz.ids[fz_byte(&p, &left) % FZ_IDS]);
			break;
		case 7:
			fz.now += (uint64_t)fz_byte(&p, &left) * (FZ_S / 10);
			if (op & 0x40)
				dns_tcp_expire(fz.t, fz.now);
			break;
		}
		dns_tcp_get_stats(fz.t, fz.now, &st);
		if (st.open > FZ_CONNS)
			abort();
	}
	dns_tcp_free(fz.t);
	fz.t = NULL;
	return 0;
}
