/* The DNS-over-TCP responder against a scripted client: the handshake, one
 * query answered at once or later, pipelined queries, a query split over
 * segments, out-of-order and duplicate data re-ACKed, FIN in both orders,
 * RST, segments for no connection, a full table, a query too long, the
 * client's window, idle expiry, and packets that are not (valid) TCP
 * segments. Every segment the responder sends is parsed back with its
 * checksum verified. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/tcp_responder.h"

#define MTU	 1420
#define MSS4	 (MTU - 40)
#define MSS6	 (MTU - 60)
#define S	 1000000000ull
#define T0	 (100 * S)
#define OUT_MAX	 128
#define QUERIES	 16
#define CSEQ	 0xfffffff0u /* the client's ISN: its numbers wrap at once */
#define SEND_ERR 1

static const char *const client_addr[2] = {"100.64.0.7", "fd72:6179:1:2:3:4:5:6"};
static const char *const server_addr[2] = {"100.100.100.53", "fd72:6179::53"};

/* What the responder did, since the last reset_log(). */
struct harness {
	struct dns_tcp *t;
	uint8_t out[OUT_MAX][MTU];
	size_t out_len[OUT_MAX];
	unsigned nout;
	int send_ret; /* what the send callback returns */
	/* queries seen */
	uint64_t qid[QUERIES];
	uint8_t q[QUERIES][DNS_TCP_QUERY_MAX];
	size_t qlen[QUERIES];
	unsigned nq;
	bool answer_now; /* answer each query from the callback: "A" + query */
	bool abort_now;
};

static struct harness h;

static int h_send(void *arg, const uint8_t *pkt, size_t len)
{
	assert_ptr_equal(arg, &h);
	assert_true(len <= MTU);
	if (h.send_ret)
		return -EAGAIN;
	assert_true(h.nout < OUT_MAX);
	memcpy(h.out[h.nout], pkt, len);
	h.out_len[h.nout++] = len;
	return 0;
}

static void h_query(void *arg, uint64_t id, const struct ip_addr *client, const uint8_t *msg,
		    size_t len)
{
	assert_ptr_equal(arg, &h);
	assert_true(client->family == AF_INET || client->family == AF_INET6);
	assert_true(h.nq < QUERIES);
	h.qid[h.nq] = id;
	memcpy(h.q[h.nq], msg, len);
	h.qlen[h.nq++] = len;
	if (h.abort_now) {
		assert_int_equal(dns_tcp_abort(h.t, id), 0);
	} else if (h.answer_now) {
		uint8_t a[DNS_TCP_QUERY_MAX + 1];

		a[0] = 'A';
		memcpy(a + 1, msg, len);
		assert_int_equal(dns_tcp_answer(h.t, id, a, len + 1, T0), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&h, 0, sizeof(h));
	h.t = dns_tcp_new(MTU, 53, DNS_TCP_CONNS, h_send, h_query, &h);
	assert_non_null(h.t);
	h.answer_now = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_tcp_free(h.t);
	return 0;
}

static void reset_log(void)
{
	h.nout = 0;
	h.nq = 0;
}

/* A client: one address family and port, its next sequence number, what
 * it knows of ours. */
struct client {
	int f; /* 0: IPv4, 1: IPv6 */
	uint16_t port;
	uint32_t seq; /* next byte it sends */
	uint32_t ack; /* next byte it expects from us */
	uint16_t window;
	uint16_t mss; /* on its SYN */
};

static struct client client(int f, uint16_t port)
{
	struct client c = {.f = f, .port = port, .seq = CSEQ, .window = 65535, .mss = 1460};

	return c;
}

/* The packet for a segment of C (not sent). */
static size_t c_build(const struct client *c, uint8_t flags, uint32_t seq, uint32_t ack,
		      const void *data, size_t len, uint8_t *pkt, size_t cap)
{
	int family = c->f ? AF_INET6 : AF_INET;
	struct ippacket_tcp s = {
		.sport = c->port,
		.dport = 53,
		.seq = seq,
		.ack = ack,
		.flags = flags,
		.window = c->window,
		.mss = flags & IPPACKET_TCP_SYN ? c->mss : 0,
		.payload = data,
		.payload_len = len,
	};
	int n;

	s.src.family = s.dst.family = (uint8_t)family;
	assert_int_equal(inet_pton(family, client_addr[c->f], s.src.bytes), 1);
	assert_int_equal(inet_pton(family, server_addr[c->f], s.dst.bytes), 1);
	n = ippacket_tcp_build(&s, pkt, cap);
	assert_true(n > 0);
	return (size_t)n;
}

/* C sends a segment at SEQ (its ACK is what it knows of ours). */
static void c_send_at(struct client *c, uint8_t flags, uint32_t seq, const void *data, size_t len,
		      uint64_t now)
{
	uint8_t pkt[70000];
	size_t n = c_build(c, flags, seq, c->ack, data, len, pkt, sizeof(pkt));

	assert_int_equal(dns_tcp_input(h.t, pkt, n, now), 0);
}

/* C sends its next segment, and moves its sequence number on. */
static void c_send(struct client *c, uint8_t flags, const void *data, size_t len)
{
	c_send_at(c, flags, c->seq, data, len, T0);
	c->seq += (uint32_t)len + !!(flags & (IPPACKET_TCP_SYN | IPPACKET_TCP_FIN));
}

/* Output I parsed back (checksum verified), checked to be for C. */
static struct ippacket_tcp out_seg(const struct client *c, unsigned i)
{
	struct ippacket_tcp s;
	uint8_t a[16];
	int family = c->f ? AF_INET6 : AF_INET;

	assert_true(i < h.nout);
	assert_int_equal(ippacket_tcp_parse(h.out[i], h.out_len[i], true, &s), 0);
	assert_int_equal(s.src.family, family);
	assert_int_equal(inet_pton(family, server_addr[c->f], a), 1);
	assert_memory_equal(s.src.bytes, a, c->f ? 16 : 4);
	assert_int_equal(inet_pton(family, client_addr[c->f], a), 1);
	assert_memory_equal(s.dst.bytes, a, c->f ? 16 : 4);
	assert_int_equal(s.sport, 53);
	assert_int_equal(s.dport, c->port);
	return s;
}

/* Handshake of C; returns our ISN. */
static uint32_t c_connect(struct client *c)
{
	struct ippacket_tcp s;

	reset_log();
	c_send(c, IPPACKET_TCP_SYN, NULL, 0);
	assert_int_equal(h.nout, 1);
	s = out_seg(c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_SYN | IPPACKET_TCP_ACK);
	assert_int_equal(s.ack, c->seq);
	c->ack = s.seq + 1;
	reset_log();
	c_send(c, IPPACKET_TCP_ACK, NULL, 0);
	assert_int_equal(h.nout, 0);
	return s.seq;
}

/* A DNS-over-TCP message: the length, then BODY. Returns its length. */
static size_t framed(uint8_t *out, const char *body)
{
	size_t n = strlen(body);

	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	memcpy(out + 2, body, n);
	return n + 2;
}

/* The bytes of every data segment to C in the log, in order, checked to be
 * contiguous from C's ACK (which moves on); returns their length. */
static size_t c_stream(struct client *c, uint8_t *buf, size_t cap)
{
	size_t total = 0;

	for (unsigned i = 0; i < h.nout; i++) {
		struct ippacket_tcp s = out_seg(c, i);

		assert_true(s.flags & IPPACKET_TCP_ACK);
		assert_false(s.flags & (IPPACKET_TCP_RST | IPPACKET_TCP_SYN));
		assert_int_equal(s.ack, c->seq);
		assert_int_equal(s.window, DNS_TCP_WINDOW);
		if (!s.payload_len)
			continue;
		assert_int_equal(s.seq, c->ack);
		assert_true(s.flags & IPPACKET_TCP_PSH);
		assert_true(total + s.payload_len <= cap);
		memcpy(buf + total, s.payload, s.payload_len);
		total += s.payload_len;
		c->ack += (uint32_t)s.payload_len;
	}
	return total;
}

/* The log holds exactly one bare ACK to C, acknowledging ACK. */
static void expect_ack(const struct client *c, uint32_t ack)
{
	struct ippacket_tcp s;

	assert_int_equal(h.nout, 1);
	s = out_seg(c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_ACK);
	assert_int_equal(s.ack, ack);
	assert_int_equal(s.payload_len, 0);
}

/* The log holds exactly one RST to C, at SEQ. */
static void expect_rst(const struct client *c, uint32_t seq)
{
	struct ippacket_tcp s;

	assert_int_equal(h.nout, 1);
	s = out_seg(c, 0);
	assert_true(s.flags & IPPACKET_TCP_RST);
	assert_int_equal(s.seq, seq);
}

static unsigned open_now(uint64_t now)
{
	struct dns_tcp_stats st;

	dns_tcp_get_stats(h.t, now, &st);
	return st.open;
}

static void test_handshake(void **state)
{
	struct dns_tcp_stats st;

	(void)state;
	for (int f = 0; f < 2; f++) {
		struct client c = client(f, (uint16_t)(40000 + f));
		struct ippacket_tcp s, again;

		reset_log();
		c_send(&c, IPPACKET_TCP_SYN, NULL, 0);
		assert_int_equal(h.nout, 1);
		s = out_seg(&c, 0);
		assert_int_equal(s.flags, IPPACKET_TCP_SYN | IPPACKET_TCP_ACK);
		assert_int_equal(s.ack, CSEQ + 1);
		assert_int_equal(s.mss, f ? MSS6 : MSS4);
		assert_int_equal(s.window, DNS_TCP_WINDOW);
		assert_int_equal(s.payload_len, 0);
		/* the client's SYN again: the same SYN-ACK */
		reset_log();
		c_send_at(&c, IPPACKET_TCP_SYN, CSEQ, NULL, 0, T0);
		assert_int_equal(h.nout, 1);
		again = out_seg(&c, 0);
		assert_int_equal(again.flags, IPPACKET_TCP_SYN | IPPACKET_TCP_ACK);
		assert_int_equal(again.seq, s.seq);
		/* a wrong ACK of it: RST at its ACK, the connection waits on */
		reset_log();
		c.ack = s.seq + 7;
		c_send_at(&c, IPPACKET_TCP_ACK, c.seq, NULL, 0, T0);
		expect_rst(&c, s.seq + 7);
		/* the right one: established, nothing to say */
		reset_log();
		c.ack = s.seq + 1;
		c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
		assert_int_equal(h.nout, 0);
	}
	assert_int_equal(open_now(T0), 2);
	dns_tcp_get_stats(h.t, T0, &st);
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.segments, 8);
	/* ISNs are random: two connections do not share one */
	{
		struct client a = client(0, 1), b = client(0, 2);

		assert_int_not_equal(c_connect(&a), c_connect(&b));
	}
}

static void test_one_query(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		struct client c = client(f, 5353);
		uint8_t q[64], got[256], want[64];
		size_t qn = framed(q, "query-one"), n;

		c_connect(&c);
		reset_log();
		c_send(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_PSH, q, qn);
		assert_int_equal(h.nq, 1);
		assert_int_equal(h.qlen[0], 9);
		assert_memory_equal(h.q[0], "query-one", 9);
		/* one segment: the answer, carrying the ACK of the query */
		assert_int_equal(h.nout, 1);
		n = c_stream(&c, got, sizeof(got));
		assert_int_equal(n, framed(want, "Aquery-one"));
		assert_memory_equal(got, want, n);
		/* the client ACKs it: nothing more to say */
		reset_log();
		c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
		assert_int_equal(h.nout, 0);
	}
}

static void test_pipelined(void **state)
{
	struct client c = client(0, 5000);
	uint8_t q[128], got[256], want[128];
	size_t qn, n, wn;
	struct dns_tcp_stats st;

	(void)state;
	c_connect(&c);
	qn = framed(q, "first");
	qn += framed(q + qn, "second");
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_PSH, q, qn);
	assert_int_equal(h.nq, 2);
	assert_memory_equal(h.q[0], "first", 5);
	assert_memory_equal(h.q[1], "second", 6);
	assert_int_equal(h.qid[0], h.qid[1]);
	n = c_stream(&c, got, sizeof(got));
	wn = framed(want, "Afirst");
	wn += framed(want + wn, "Asecond");
	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);
	/* a third query on the same connection, answered later */
	h.answer_now = false;
	reset_log();
	qn = framed(q, "third");
	c_send(&c, IPPACKET_TCP_ACK, q, qn);
	assert_int_equal(h.nq, 1);
	expect_ack(&c, c.seq);
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], (const uint8_t *)"late", 4, T0 + S), 0);
	n = c_stream(&c, got, sizeof(got));
	assert_int_equal(n, 6);
	assert_memory_equal(got + 2, "late", 4);
	dns_tcp_get_stats(h.t, T0, &st);
	assert_int_equal(st.queries, 3);
	assert_int_equal(st.answers, 3);
}

static void test_split_query(void **state)
{
	struct client c = client(1, 5001);
	uint8_t q[64], got[64];
	size_t qn = framed(q, "split-in-three");

	(void)state;
	c_connect(&c);
	/* half the length; the rest of the length and some; the rest */
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, 1);
	assert_int_equal(h.nq, 0);
	expect_ack(&c, c.seq);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q + 1, 6);
	assert_int_equal(h.nq, 0);
	expect_ack(&c, c.seq);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_PSH, q + 7, qn - 7);
	assert_int_equal(h.nq, 1);
	assert_int_equal(h.qlen[0], 14);
	assert_memory_equal(h.q[0], "split-in-three", 14);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 17);
}

static void test_out_of_order(void **state)
{
	struct client c = client(0, 5002);
	uint8_t q[64], got[64];
	size_t qn = framed(q, "abcdefghij");
	uint32_t start;

	(void)state;
	c_connect(&c);
	start = c.seq;
	/* the second half first: a hole before it, so re-ACK what we have */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_ACK, start + 6, q + 6, qn - 6, T0);
	assert_int_equal(h.nq, 0);
	expect_ack(&c, start);
	/* the first half, then the second again: taken */
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, 6);
	expect_ack(&c, start + 6);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q + 6, qn - 6);
	assert_int_equal(h.nq, 1);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 13);
	/* a duplicate of the first half: re-ACKed, not taken twice */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_ACK, start, q, 6, T0);
	assert_int_equal(h.nq, 0);
	expect_ack(&c, c.seq);
	/* a retransmission overlapping what we have keeps its new part */
	qn = framed(q, "xy");
	reset_log();
	{
		uint8_t overlap[8];

		overlap[0] = 'j'; /* the last byte of the first query again */
		memcpy(overlap + 1, q, qn);
		c_send_at(&c, IPPACKET_TCP_ACK, c.seq - 1, overlap, qn + 1, T0);
	}
	c.seq += (uint32_t)qn;
	assert_int_equal(h.nq, 1);
	assert_int_equal(h.qlen[0], 2);
	assert_memory_equal(h.q[0], "xy", 2);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 5);
	/* a keepalive (one old byte) and a segment far out of the window:
	 * only ACKed */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_ACK, c.seq - 1, NULL, 0, T0);
	expect_ack(&c, c.seq);
	reset_log();
	c_send_at(&c, IPPACKET_TCP_ACK, c.seq + 100000, q, qn, T0);
	expect_ack(&c, c.seq);
	assert_int_equal(h.nq, 0);
}

static void test_fin(void **state)
{
	struct client c = client(0, 5003);
	struct ippacket_tcp s;
	uint8_t q[64], got[64];
	size_t qn = framed(q, "bye");

	(void)state;
	c_connect(&c);
	/* the client closes: our FIN with the ACK of its FIN */
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_FIN, NULL, 0);
	assert_int_equal(h.nout, 1);
	s = out_seg(&c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_FIN | IPPACKET_TCP_ACK);
	assert_int_equal(s.ack, c.seq);
	assert_int_equal(s.seq, c.ack);
	/* its FIN again (our FIN lost): ours again */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_FIN, c.seq - 1, NULL, 0, T0);
	assert_int_equal(h.nout, 1);
	s = out_seg(&c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_FIN | IPPACKET_TCP_ACK);
	assert_int_equal(s.seq, c.ack);
	/* the ACK of our FIN: the entry is gone, so the next segment gets a RST */
	c.ack++;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 0);
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	expect_rst(&c, c.ack);

	/* A query then the FIN at once (a half-close), answered later: our
	 * FIN waits for the answer. */
	c = client(1, 5004);
	c_connect(&c);
	h.answer_now = false;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK | IPPACKET_TCP_PSH | IPPACKET_TCP_FIN, q, qn);
	assert_int_equal(h.nq, 1);
	expect_ack(&c, c.seq);
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], (const uint8_t *)"ok", 2, T0), 0);
	assert_int_equal(h.nout, 2);
	s = out_seg(&c, 1);
	assert_int_equal(s.flags, IPPACKET_TCP_FIN | IPPACKET_TCP_ACK);
	h.nout = 1;
	assert_int_equal(c_stream(&c, got, sizeof(got)), 4);
	assert_int_equal(s.seq, c.ack);
	/* an answer after our FIN has nowhere to go */
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], (const uint8_t *)"x", 1, T0), -ENOENT);
	c.ack++;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 0);
}

static void test_rst(void **state)
{
	struct client c = client(0, 5005);
	uint8_t q[64];
	size_t qn = framed(q, "pending");
	struct dns_tcp_stats st;

	(void)state;
	c_connect(&c);
	h.answer_now = false;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, qn);
	assert_int_equal(h.nq, 1);
	/* in the window but not at its next byte: a challenge ACK only */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_RST, c.seq + 5, NULL, 0, T0);
	expect_ack(&c, c.seq);
	assert_int_equal(open_now(T0), 1);
	/* outside the window: ignored */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_RST, c.seq - 5, NULL, 0, T0);
	assert_int_equal(h.nout, 0);
	/* at exactly the next byte: the entry is freed, nothing is sent */
	c_send_at(&c, IPPACKET_TCP_RST, c.seq, NULL, 0, T0);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 0);
	/* the late answer is dropped */
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], (const uint8_t *)"x", 1, T0), -ENOENT);
	/* the client's RST for a connection already gone: no answer either */
	c_send_at(&c, IPPACKET_TCP_RST | IPPACKET_TCP_ACK, c.seq, NULL, 0, T0);
	assert_int_equal(h.nout, 0);
	/* we abort one (a query we will not answer) */
	c = client(0, 5006);
	c_connect(&c);
	h.abort_now = true;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, qn);
	expect_rst(&c, c.ack);
	assert_int_equal(open_now(T0), 0);
	assert_int_equal(dns_tcp_abort(h.t, h.qid[0]), -ENOENT);
	dns_tcp_get_stats(h.t, T0, &st);
	assert_int_equal(st.resets, 1);
}

static void test_unknown_connection(void **state)
{
	struct client c = client(0, 6000);
	struct ippacket_tcp s;

	(void)state;
	/* with an ACK: RST at its ACK */
	reset_log();
	c.ack = 0x12345678;
	c_send_at(&c, IPPACKET_TCP_ACK, 1000, "data", 4, T0);
	expect_rst(&c, 0x12345678);
	s = out_seg(&c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_RST);
	/* without: RST|ACK of its sequence space (data and FIN) */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_FIN, 1000, "data", 4, T0);
	assert_int_equal(h.nout, 1);
	s = out_seg(&c, 0);
	assert_int_equal(s.flags, IPPACKET_TCP_RST | IPPACKET_TCP_ACK);
	assert_int_equal(s.ack, 1005);
	/* a SYN|ACK or a SYN|FIN opens nothing */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_SYN | IPPACKET_TCP_ACK, 1000, NULL, 0, T0);
	expect_rst(&c, c.ack);
	reset_log();
	c_send_at(&c, IPPACKET_TCP_SYN | IPPACKET_TCP_FIN, 1000, NULL, 0, T0);
	assert_int_equal(h.nout, 1);
	assert_true(out_seg(&c, 0).flags & IPPACKET_TCP_RST);
	/* a SYN to another port: refused, as by a closed port */
	{
		uint8_t pkt[128];
		struct ippacket_tcp syn;
		size_t n = c_build(&c, IPPACKET_TCP_SYN, 1000, 0, NULL, 0, pkt, sizeof(pkt));

		assert_int_equal(ippacket_tcp_parse(pkt, n, true, &syn), 0);
		syn.dport = 5353;
		n = (size_t)ippacket_tcp_build(&syn, pkt, sizeof(pkt));
		reset_log();
		assert_int_equal(dns_tcp_input(h.t, pkt, n, T0), 0);
		assert_int_equal(h.nout, 1);
		assert_int_equal(ippacket_tcp_parse(h.out[0], h.out_len[0], true, &syn), 0);
		assert_int_equal(syn.flags, IPPACKET_TCP_RST | IPPACKET_TCP_ACK);
		assert_int_equal(syn.sport, 5353);
		assert_int_equal(syn.ack, 1001);
		assert_int_equal(open_now(T0), 0);
	}
	/* a RST is never answered */
	reset_log();
	c_send_at(&c, IPPACKET_TCP_RST, 1000, NULL, 0, T0);
	c_send_at(&c, IPPACKET_TCP_RST | IPPACKET_TCP_ACK, 1000, NULL, 0, T0);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 0);
	/* a SYN for a connection we have: a challenge ACK, no new entry */
	c = client(0, 6001);
	c_connect(&c);
	reset_log();
	c_send_at(&c, IPPACKET_TCP_SYN, 777, NULL, 0, T0);
	expect_ack(&c, c.seq);
	assert_int_equal(open_now(T0), 1);
}

static void test_table_full(void **state)
{
	struct client cs[DNS_TCP_CONNS + 1];
	struct dns_tcp_stats st;
	struct ippacket_tcp s;

	(void)state;
	for (unsigned i = 0; i <= DNS_TCP_CONNS; i++)
		cs[i] = client(0, (uint16_t)(1000 + i));
	for (unsigned i = 0; i < DNS_TCP_CONNS; i++) {
		reset_log();
		c_send_at(&cs[i], IPPACKET_TCP_SYN, CSEQ, NULL, 0, T0 + i);
		cs[i].seq = CSEQ + 1;
		assert_int_equal(h.nout, 1);
		cs[i].ack = out_seg(&cs[i], 0).seq + 1;
		c_send_at(&cs[i], IPPACKET_TCP_ACK, cs[i].seq, NULL, 0, T0 + i);
	}
	assert_int_equal(open_now(T0 + 100), DNS_TCP_CONNS);
	/* the first is active again: the second is now the oldest */
	c_send_at(&cs[0], IPPACKET_TCP_ACK, cs[0].seq, NULL, 0, T0 + 1000);
	reset_log();
	c_send_at(&cs[DNS_TCP_CONNS], IPPACKET_TCP_SYN, CSEQ, NULL, 0, T0 + 1001);
	assert_int_equal(h.nout, 2);
	s = out_seg(&cs[1], 0);
	assert_true(s.flags & IPPACKET_TCP_RST);
	assert_int_equal(s.seq, cs[1].ack);
	s = out_seg(&cs[DNS_TCP_CONNS], 1);
	assert_int_equal(s.flags, IPPACKET_TCP_SYN | IPPACKET_TCP_ACK);
	assert_int_equal(open_now(T0 + 1001), DNS_TCP_CONNS);
	dns_tcp_get_stats(h.t, T0 + 1001, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.size, DNS_TCP_CONNS);
	/* the evicted client's next segment: RST */
	reset_log();
	c_send_at(&cs[1], IPPACKET_TCP_ACK, cs[1].seq, NULL, 0, T0 + 1002);
	expect_rst(&cs[1], cs[1].ack);
	/* the first one still works */
	reset_log();
	{
		uint8_t q[16], got[16];
		size_t qn = framed(q, "q");

		c_send_at(&cs[0], IPPACKET_TCP_ACK, cs[0].seq, q, qn, T0 + 1003);
		cs[0].seq += (uint32_t)qn;
		assert_int_equal(h.nq, 1);
		assert_int_equal(c_stream(&cs[0], got, sizeof(got)), 4);
	}
}

static void test_oversize_query(void **state)
{
	struct client c = client(0, 5007);
	static uint8_t q[2 + DNS_TCP_QUERY_MAX + 1];
	struct dns_tcp_stats st;
	uint32_t at;

	(void)state;
	/* the longest query is taken, in segments of its MSS */
	c.mss = 1000;
	c_connect(&c);
	memset(q, 'q', sizeof(q));
	q[0] = DNS_TCP_QUERY_MAX >> 8;
	q[1] = DNS_TCP_QUERY_MAX & 0xff;
	reset_log();
	for (size_t off = 0; off < 2 + DNS_TCP_QUERY_MAX; off += 1000) {
		size_t n = 2 + DNS_TCP_QUERY_MAX - off < 1000 ? 2 + DNS_TCP_QUERY_MAX - off : 1000;

		c_send(&c, IPPACKET_TCP_ACK, q + off, n);
	}
	assert_int_equal(h.nq, 1);
	assert_int_equal(h.qlen[0], DNS_TCP_QUERY_MAX);
	/* our answer (4099 bytes framed) comes in segments of the client's MSS */
	for (unsigned i = 0; i < h.nout; i++)
		assert_true(out_seg(&c, i).payload_len <= 1000);
	/* one byte longer: reset as soon as the length is in */
	q[1]++;
	c.ack += 2 + DNS_TCP_QUERY_MAX + 1;
	at = c.ack;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, 2);
	expect_rst(&c, at);
	assert_int_equal(h.nq, 0);
	assert_int_equal(open_now(T0), 0);
	dns_tcp_get_stats(h.t, T0, &st);
	assert_int_equal(st.oversize, 1);
}

static void test_window(void **state)
{
	struct client c = client(0, 5008);
	static uint8_t big[DNS_TCP_MSG_MAX], got[2 + DNS_TCP_MSG_MAX];
	uint8_t q[16];
	size_t total = 0, n;

	(void)state;
	/* a window of 100 bytes: 300 bytes go out 100 at a time */
	c.window = 100;
	c_connect(&c);
	h.answer_now = false;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, framed(q, "w"));
	memset(big, 'b', sizeof(big));
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, 298, T0), 0);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 100);
	for (int i = 0; i < 2; i++) {
		reset_log();
		c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
		assert_int_equal(c_stream(&c, got, sizeof(got)), 100);
	}
	/* a zero window holds it back until it opens */
	c.window = 0;
	c_send(&c, IPPACKET_TCP_ACK, q, framed(q, "w"));
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, 10, T0), 0);
	assert_int_equal(h.nout, 0);
	c.window = 65535;
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 12);

	/* the largest answer with a 60000-byte window: what fits, in MSS
	 * segments, the rest after the ACK */
	c.window = 60000;
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, framed(q, "big"));
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, sizeof(big), T0), 0);
	for (unsigned i = 0; i < h.nout; i++)
		assert_true(out_seg(&c, i).payload_len <= MSS4);
	total = c_stream(&c, got, sizeof(got));
	assert_int_equal(total, 60000);
	/* a short answer still fits behind the rest; a second largest one
	 * does not: reset */
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, 10, T0), 0);
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, sizeof(big), T0), -ENOBUFS);
	assert_int_equal(open_now(T0), 0);

	/* the same, but the client ACKs: all of it arrives, framed */
	c = client(1, 5009);
	c.window = 60000;
	c_connect(&c);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, framed(q, "big"));
	reset_log();
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, sizeof(big), T0), 0);
	total = c_stream(&c, got, sizeof(got));
	assert_int_equal(total, 60000);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	n = c_stream(&c, got + total, sizeof(got) - total);
	total += n;
	assert_int_equal(total, 2 + DNS_TCP_MSG_MAX);
	assert_int_equal(got[0], 0xff);
	assert_int_equal(got[1], 0xff);
	assert_memory_equal(got + 2, big, sizeof(big));
	assert_int_equal(dns_tcp_answer(h.t, h.qid[0], big, sizeof(big) + 1, T0), -EMSGSIZE);
}

static void test_send_failure(void **state)
{
	struct client c = client(0, 5010);
	uint8_t q[16], got[64];
	size_t qn = framed(q, "again");

	(void)state;
	/* the SYN-ACK is not taken: the client's SYN again gets it */
	reset_log();
	h.send_ret = SEND_ERR;
	c_send(&c, IPPACKET_TCP_SYN, NULL, 0);
	h.send_ret = 0;
	assert_int_equal(h.nout, 0);
	c_send_at(&c, IPPACKET_TCP_SYN, CSEQ, NULL, 0, T0);
	assert_int_equal(h.nout, 1);
	c.ack = out_seg(&c, 0).seq + 1;
	c_send(&c, IPPACKET_TCP_ACK, NULL, 0);
	/* the answer is not taken: it goes with the client's retransmission */
	reset_log();
	h.send_ret = SEND_ERR;
	c_send_at(&c, IPPACKET_TCP_ACK, c.seq, q, qn, T0);
	h.send_ret = 0;
	assert_int_equal(h.nq, 1);
	reset_log();
	c_send(&c, IPPACKET_TCP_ACK, q, qn);
	assert_int_equal(h.nq, 0);
	assert_int_equal(c_stream(&c, got, sizeof(got)), 8);
}

static void test_expiry(void **state)
{
	struct client c = client(0, 5011), d = client(0, 5012);

	(void)state;
	c_connect(&c);
	c_send_at(&d, IPPACKET_TCP_SYN, CSEQ, NULL, 0, T0 + 5 * S);
	assert_int_equal(open_now(T0 + DNS_TCP_IDLE_NS), 2);
	assert_int_equal(open_now(T0 + DNS_TCP_IDLE_NS + 1), 1);
	reset_log();
	dns_tcp_expire(h.t, T0 + DNS_TCP_IDLE_NS + 1);
	expect_rst(&c, c.ack);
	reset_log();
	dns_tcp_expire(h.t, T0 + 5 * S + DNS_TCP_IDLE_NS + 1);
	assert_int_equal(h.nout, 1);
	assert_int_equal(open_now(T0 + 5 * S + DNS_TCP_IDLE_NS + 1), 0);
	/* a clock that seems to go back expires nothing */
	c_connect(&c);
	dns_tcp_expire(h.t, T0 - S);
	assert_int_equal(open_now(T0), 1);
}

static void test_bad_checksum(void **state)
{
	struct client c = client(0, 5013);
	uint8_t q[16], pkt[256];
	size_t qn = framed(q, "sum"), n;
	struct dns_tcp_stats st;

	(void)state;
	c_connect(&c);
	n = c_build(&c, IPPACKET_TCP_ACK, c.seq, c.ack, q, qn, pkt, sizeof(pkt));
	pkt[n - 1] ^= 0x40;
	reset_log();
	assert_int_equal(dns_tcp_input(h.t, pkt, n, T0), -EBADMSG);
	assert_int_equal(h.nout, 0);
	assert_int_equal(h.nq, 0);
	/* a SYN with a bad checksum opens nothing */
	c = client(1, 5014);
	n = c_build(&c, IPPACKET_TCP_SYN, c.seq, 0, NULL, 0, pkt, sizeof(pkt));
	pkt[40 + 16] ^= 1;
	assert_int_equal(dns_tcp_input(h.t, pkt, n, T0), -EBADMSG);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 1);
	dns_tcp_get_stats(h.t, T0, &st);
	assert_int_equal(st.malformed, 2);
}

static void test_truncated(void **state)
{
	struct client c4 = client(0, 5015), c6 = client(1, 5016);
	uint8_t pkt[256], bad[256];
	size_t n4, n6;

	(void)state;
	n4 = c_build(&c4, IPPACKET_TCP_SYN, 1, 0, NULL, 0, pkt, sizeof(pkt));
	reset_log();
	/* every prefix of a SYN (IP header, TCP header, its MSS option) */
	for (size_t i = 0; i < n4; i++)
		assert_int_equal(dns_tcp_input(h.t, pkt, i, T0), -EINVAL);
	/* an IP total length beyond the packet, below its own header */
	memcpy(bad, pkt, n4);
	bad[3] = (uint8_t)(n4 + 1);
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	bad[3] = 39;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	/* a data offset beyond the segment, or below a header */
	memcpy(bad, pkt, n4);
	bad[20 + 12] = 0x70;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	bad[20 + 12] = 0x40;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	/* IPv4 options (IHL 6) before TCP that the length does not hold */
	memcpy(bad, pkt, n4);
	bad[0] = 0x4f;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	/* a fragment, first or later */
	memcpy(bad, pkt, n4);
	bad[6] = 0x20;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	bad[6] = 0;
	bad[7] = 1;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	/* UDP, and an IP version that is neither */
	memcpy(bad, pkt, n4);
	bad[9] = 17;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	bad[0] = 0x55;
	assert_int_equal(dns_tcp_input(h.t, bad, n4, T0), -EINVAL);
	/* IPv6: prefixes, a payload length beyond, an extension header */
	n6 = c_build(&c6, IPPACKET_TCP_SYN, 1, 0, NULL, 0, pkt, sizeof(pkt));
	for (size_t i = 0; i < n6; i++)
		assert_int_equal(dns_tcp_input(h.t, pkt, i, T0), -EINVAL);
	memcpy(bad, pkt, n6);
	bad[5]++;
	assert_int_equal(dns_tcp_input(h.t, bad, n6, T0), -EINVAL);
	memcpy(bad, pkt, n6);
	bad[6] = 0; /* hop-by-hop options */
	assert_int_equal(dns_tcp_input(h.t, bad, n6, T0), -EINVAL);
	assert_int_equal(h.nout, 0);
	assert_int_equal(open_now(T0), 0);
	/* the whole SYNs are fine; trailing bytes past the IP length are ignored */
	assert_int_equal(dns_tcp_input(h.t, pkt, n6 + 3, T0), 0);
	assert_int_equal(h.nout, 1);
	/* IPv4 with options (IHL 6, a NOP option word) */
	n4 = c_build(&c4, IPPACKET_TCP_SYN, 1, 0, NULL, 0, pkt, sizeof(pkt));
	memmove(pkt + 24, pkt + 20, n4 - 20);
	pkt[0] = 0x46;
	pkt[3] = (uint8_t)(n4 + 4);
	memset(pkt + 20, 1, 4);
	pkt[10] = pkt[11] = 0; /* the IP header checksum is not ours to check */
	assert_int_equal(dns_tcp_input(h.t, pkt, n4 + 4, T0), 0);
	assert_int_equal(h.nout, 2);
	assert_int_equal(out_seg(&c4, 1).ack, 2);
	assert_null(dns_tcp_new(DNS_TCP_MTU_MIN - 1, 53, 1, h_send, h_query, &h));
	assert_null(dns_tcp_new(65536, 53, 1, h_send, h_query, &h));
	assert_null(dns_tcp_new(MTU, 53, 0, h_send, h_query, &h));
	assert_null(dns_tcp_new(MTU, 53, 257, h_send, h_query, &h));
	dns_tcp_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
