/* The upstream forwarder against fake upstreams on 127.0.0.1, all on one
 * event loop: an answer comes back with the client's id; answers from the
 * wrong port or with the wrong id are ignored; silence ends in -ETIMEDOUT
 * with the client's question handed back; a silent first upstream gives way
 * to the second; a query too long for UDP goes over TCP alone (the TCP
 * fallback after a truncated answer is tested against dnsmasq in
 * tests/integration/magic_dns.sh); a full table says -EBUSY; freeing
 * with queries in flight leaks nothing (the sanitizer build checks). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/forward.h"
#include "dns/resolver.h"
#include "util/eventloop.h"

#define CLIENT_ID 0x4242

enum upstream_mode { UP_ANSWER, UP_SILENT, UP_SPOOF_FIRST };

struct upstream {
	int udp, tcp, other; /* OTHER: a second socket, the wrong source port */
	int conn;	     /* the TCP connection accepted last, or -1 */
	struct sockaddr_storage addr;
	enum upstream_mode mode;
	unsigned udp_queries, tcp_queries;
	size_t rx_len, tcp_query_len;
	uint8_t rx[2 + 4096];
};

struct result {
	bool done;
	int status;
	uint8_t answer[2048];
	size_t len;
	char client[16];
};

static struct loop *loop;
static struct result res;

/* example.com A, id CLIENT_ID, RD */
static size_t make_query(uint8_t *q)
{
	static const uint8_t tmpl[] = {0x42, 0x42, 0x01, 0x00, 0,   1,	 0,   0,   0,	0,
				       0,    0,	   7,	 'e',  'x', 'a', 'm', 'p', 'l', 'e',
				       3,    'c',  'o',	 'm',  0,   0,	 1,   0,   1};

	memcpy(q, tmpl, sizeof(tmpl));
	return sizeof(tmpl);
}

/* An answer to Q: QR set, RCODE, and EXTRA bytes of one TXT record. */
static size_t make_answer(const uint8_t *q, size_t qlen, uint8_t *a, int rcode, size_t extra,
			  bool tc)
{
	size_t n = qlen;

	memcpy(a, q, qlen);
	a[2] |= 0x80 | (tc ? 0x02 : 0);
	a[3] = (uint8_t)(0x80 | rcode);
	if (extra) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60};
		size_t rdlen = 0;

		a[7] = 1;
		memcpy(a + n, rr, sizeof(rr));
		n += sizeof(rr) + 2;
		while (rdlen < extra) {
			size_t chunk = extra - rdlen > 200 ? 200 : extra - rdlen;

			a[n++] = (uint8_t)chunk;
			memset(a + n, 'x', chunk);
			n += chunk;
			rdlen += chunk + 1;
		}
		a[n - rdlen - 2] = (uint8_t)(rdlen >> 8);
		a[n - rdlen - 1] = (uint8_t)rdlen;
	}
	return n;
}

static void upstream_udp(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream *u = arg;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint8_t q[512], a[2048];
	ssize_t n;
	size_t alen;

	(void)l;
	(void)events;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	if (n < DNS_HEADER_LEN)
		return;
	u->udp_queries++;
	switch (u->mode) {
	case UP_SILENT:
		return;
	case UP_SPOOF_FIRST:
		/* right id, wrong port; then wrong id, right port: both NXDOMAIN */
		alen = make_answer(q, (size_t)n, a, DNS_RCODE_NXDOMAIN, 0, false);
		sendto(u->other, a, alen, 0, (struct sockaddr *)&from, flen);
		a[0] ^= 0xff;
		sendto(fd, a, alen, 0, (struct sockaddr *)&from, flen);
		break;
	default:
		break;
	}
	alen = make_answer(q, (size_t)n, a, 0, 4, false);
	sendto(fd, a, alen, 0, (struct sockaddr *)&from, flen);
}

/* Reads one length-prefixed query and answers it like the UDP side. */
static void upstream_tcp_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream *u = arg;
	uint8_t a[2 + 2048];
	size_t need, alen;
	ssize_t n;

	(void)l;
	(void)events;
	n = recv(fd, u->rx + u->rx_len, sizeof(u->rx) - u->rx_len, 0);
	if (n <= 0)
		return;
	u->rx_len += (size_t)n;
	if (u->rx_len < 2)
		return;
	need = 2u + (size_t)(u->rx[0] << 8 | u->rx[1]);
	if (u->rx_len < need)
		return;
	u->tcp_queries++;
	u->tcp_query_len = need - 2;
	/* header and question (example.com A: 29 bytes), no additional records */
	alen = make_answer(u->rx + 2, 29, a + 2, 0, 4, false);
	a[2 + 10] = a[2 + 11] = 0;
	a[0] = (uint8_t)(alen >> 8);
	a[1] = (uint8_t)alen;
	assert_int_equal(send(fd, a, alen + 2, 0), (ssize_t)(alen + 2));
}

static void upstream_tcp_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream *u = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);

	(void)events;
	if (c < 0)
		return;
	if (u->conn >= 0) {
		loop_fd_remove(l, u->conn);
		close(u->conn);
	}
	u->conn = c;
	u->rx_len = 0;
	assert_int_equal(loop_fd_add(l, c, EPOLLIN, upstream_tcp_readable, u), 0);
}

static void upstream_open(struct upstream *u, enum upstream_mode mode)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&u->addr;
	socklen_t len = sizeof(*sin);
	int one = 1;

	memset(u, 0, sizeof(*u));
	u->mode = mode;
	u->conn = -1;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	u->other = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	u->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(u->udp >= 0 && u->other >= 0 && u->tcp >= 0);
	assert_int_equal(bind(u->udp, (struct sockaddr *)sin, len), 0);
	assert_int_equal(getsockname(u->udp, (struct sockaddr *)sin, &len), 0);
	setsockopt(u->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(u->tcp, (struct sockaddr *)sin, len), 0);
	assert_int_equal(listen(u->tcp, 8), 0);
	assert_int_equal(loop_fd_add(loop, u->udp, EPOLLIN, upstream_udp, u), 0);
	assert_int_equal(loop_fd_add(loop, u->tcp, EPOLLIN, upstream_tcp_accept, u), 0);
}

static void upstream_close(struct upstream *u)
{
	if (u->conn >= 0) {
		loop_fd_remove(loop, u->conn);
		close(u->conn);
	}
	loop_fd_remove(loop, u->udp);
	loop_fd_remove(loop, u->tcp);
	close(u->udp);
	close(u->tcp);
	close(u->other);
}

static void on_answer(void *arg, const void *client, size_t client_len, int status,
		      const uint8_t *answer, size_t len)
{
	(void)arg;
	res.done = true;
	res.status = status;
	assert_true(len <= sizeof(res.answer));
	memcpy(res.answer, answer, len);
	res.len = len;
	assert_true(client_len < sizeof(res.client));
	memcpy(res.client, client, client_len);
	loop_stop(loop);
}

static void give_up(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* Forwards example.com A through F (MAX_ANSWER) and runs the loop until the
 * callback, for at most 3 s. */
static void forward_once(struct dns_forward *f, size_t max_answer)
{
	uint8_t q[64];
	size_t len = make_query(q);
	uint64_t guard;

	memset(&res, 0, sizeof(res));
	assert_int_equal(dns_forward_query(f, q, len, max_answer, "client", 6), 0);
	guard = loop_timer_add(loop, 3000, give_up, NULL);
	loop_run(loop);
	loop_timer_cancel(loop, guard);
	assert_true(res.done);
	assert_string_equal(res.client, "client");
	assert_true(res.len >= DNS_HEADER_LEN);
	assert_int_equal(res.answer[0] << 8 | res.answer[1], CLIENT_ID);
}

static int setup(void **state)
{
	(void)state;
	loop = loop_new();
	return loop ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	loop_free(loop);
	return 0;
}

static void test_answer(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	struct upstream u;

	(void)state;
	upstream_open(&u, UP_ANSWER);
	assert_int_equal(dns_forward_set_upstreams(f, &u.addr, 1), 0);
	forward_once(f, 512);
	assert_int_equal(res.status, 0);
	assert_true(res.answer[2] & 0x80);
	assert_int_equal(res.answer[7], 1); /* the upstream's record */
	dns_forward_free(f);
	upstream_close(&u);
}

static void test_spoofed_answers_ignored(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	struct dns_forward_stats st;
	struct upstream u;

	(void)state;
	upstream_open(&u, UP_SPOOF_FIRST);
	assert_int_equal(dns_forward_set_upstreams(f, &u.addr, 1), 0);
	forward_once(f, 512);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.answer[3] & 0xf, DNS_RCODE_NOERROR); /* not the spoofed NXDOMAIN */
	dns_forward_get_stats(f, &st);
	assert_int_equal(st.dropped, 2);
	dns_forward_free(f);
	upstream_close(&u);
}

static void test_timeout_hands_back_question(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	uint64_t start = loop_now_ms();
	struct upstream u;

	(void)state;
	upstream_open(&u, UP_SILENT);
	assert_int_equal(dns_forward_set_upstreams(f, &u.addr, 1), 0);
	dns_forward_set_timeouts(f, 100, 300, 0);
	forward_once(f, 512);
	assert_int_equal(res.status, -ETIMEDOUT);
	assert_true(loop_now_ms() - start < 1000);
	assert_int_equal(u.udp_queries, 2); /* DNS_FORWARD_TRIES */
	/* the question, for the caller's SERVFAIL */
	assert_int_equal(res.len, 29);
	assert_int_equal(res.answer[5], 1);
	assert_memory_equal(res.answer + 12, "\7example\3com", 13);
	assert_true(dns_error_reply(res.answer, res.len, DNS_RCODE_SERVFAIL, res.answer + 64, 512) >
		    DNS_HEADER_LEN);
	dns_forward_free(f);
	upstream_close(&u);
}

static void test_failover(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	struct sockaddr_storage ups[2];
	struct upstream silent, good;

	(void)state;
	upstream_open(&silent, UP_SILENT);
	upstream_open(&good, UP_ANSWER);
	ups[0] = silent.addr;
	ups[1] = good.addr;
	assert_int_equal(dns_forward_set_upstreams(f, ups, 2), 0);
	dns_forward_set_timeouts(f, 100, 1000, 0);
	forward_once(f, 512);
	assert_int_equal(res.status, 0);
	assert_int_equal(silent.udp_queries, 1);
	assert_int_equal(good.udp_queries, 1);
	dns_forward_free(f);
	upstream_close(&silent);
	upstream_close(&good);
}

/* example.com A with an EDNS OPT record padded (RFC 7830) to 1200 bytes:
 * longer than a server must take over UDP. */
static size_t make_long_query(uint8_t *q)
{
	size_t n = make_query(q), rdlen = 1200 - n - 11;

	q[11] = 1;  /* ARCOUNT */
	q[n++] = 0; /* root name */
	q[n++] = 0;
	q[n++] = 41;   /* OPT */
	q[n++] = 0x10; /* UDP size 4096 */
	q[n++] = 0;
	memset(q + n, 0, 4); /* extended rcode, version, flags */
	n += 4;
	q[n++] = (uint8_t)(rdlen >> 8);
	q[n++] = (uint8_t)rdlen;
	q[n++] = 0; /* option 12, padding */
	q[n++] = 12;
	q[n++] = (uint8_t)((rdlen - 4) >> 8);
	q[n++] = (uint8_t)(rdlen - 4);
	memset(q + n, 0, rdlen - 4);
	return n + rdlen - 4;
}

static void test_long_query_over_tcp(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	struct dns_forward_stats st;
	struct upstream u;
	uint8_t q[DNS_FORWARD_QUERY_MAX + 1];
	size_t len = make_long_query(q);
	uint64_t guard;

	(void)state;
	assert_int_equal(len, 1200);
	upstream_open(&u, UP_ANSWER);
	assert_int_equal(dns_forward_set_upstreams(f, &u.addr, 1), 0);
	memset(&res, 0, sizeof(res));
	assert_int_equal(dns_forward_query(f, q, len, 65535, "tcp", 3), 0);
	guard = loop_timer_add(loop, 3000, give_up, NULL);
	loop_run(loop);
	loop_timer_cancel(loop, guard);
	assert_true(res.done);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.answer[0] << 8 | res.answer[1], CLIENT_ID);
	assert_int_equal(res.answer[7], 1); /* the upstream's record */
	assert_int_equal(u.udp_queries, 0);
	assert_int_equal(u.tcp_queries, 1);
	assert_int_equal(u.tcp_query_len, 1200); /* as the client sent it */
	dns_forward_get_stats(f, &st);
	assert_int_equal(st.tcp, 1);
	/* past the limit: refused at once */
	memset(q + len, 0, sizeof(q) - len);
	assert_int_equal(dns_forward_query(f, q, DNS_FORWARD_QUERY_MAX + 1, 65535, NULL, 0),
			 -EMSGSIZE);
	dns_forward_free(f);
	upstream_close(&u);
}

static void test_table_full(void **state)
{
	struct dns_forward *f = dns_forward_new(loop, on_answer, NULL);
	struct upstream u;
	uint8_t q[64];
	size_t len = make_query(q);

	(void)state;
	upstream_open(&u, UP_SILENT);
	assert_int_equal(dns_forward_query(f, q, len, 512, NULL, 0), -ENETUNREACH);
	assert_int_equal(dns_forward_set_upstreams(f, &u.addr, 1), 0);
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX; i++)
		assert_int_equal(dns_forward_query(f, q, len, 512, NULL, 0), 0);
	assert_int_equal(dns_forward_query(f, q, len, 512, NULL, 0), -EBUSY);
	assert_int_equal(dns_forward_pending(f), DNS_FORWARD_PENDING_MAX);
	q[2] |= 0x80; /* a response is not a query */
	assert_int_equal(dns_forward_query(f, q, len, 512, NULL, 0), -EINVAL);
	dns_forward_free(f); /* with every slot in flight */
	upstream_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_spoofed_answers_ignored),
		cmocka_unit_test(test_timeout_hands_back_question),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_long_query_over_tcp),
		cmocka_unit_test(test_table_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
