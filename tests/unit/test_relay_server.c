/* The relay server in-process: the server runs on its own event loop in a
 * second thread; the test is its clients, with blocking sockets bounded by
 * 5 s receive timeouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keytext.h"
#include "path/record.h"
#include "path/stun.h"
#include "relay/relay_proto.h"
#include "relay/relay_server.h"
#include "util/eventloop.h"

struct fixture {
	struct loop *loop;
	struct relay_server *srv;
	pthread_t thread;
	int stop_fd;
	bool running;
	uint8_t server_pk[32], server_sk[64];
	struct relay_counters ctr; /* filled by fixture_stop */
};

#define REQ_TEXT                                                                                   \
	"GET /relay HTTP/1.1\r\nHost: t\r\nUpgrade: rayfish-relay-1\r\nConnection: "               \
	"Upgrade\r\n\r\n"

struct tclient {
	int fd;
	uint8_t pk[32], sk[64];
	uint8_t buf[3 + 65535 + 8192];
	size_t len;
};

static void stop_cb(struct loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t v;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		loop_stop(loop);
}

static void *server_thread(void *arg)
{
	struct fixture *fx = arg;

	loop_run(fx->loop);
	return NULL;
}

static int fixture_start(struct fixture *fx, const struct relay_server_config *cfg)
{
	fx->loop = loop_new();
	assert_non_null(fx->loop);
	crypto_sign_keypair(fx->server_pk, fx->server_sk);
	assert_int_equal(relay_server_new(fx->loop, "127.0.0.1:0", fx->server_pk, cfg, &fx->srv),
			 0);
	assert_true(relay_server_port(fx->srv) != 0);
	fx->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fx->stop_fd >= 0);
	assert_int_equal(loop_fd_add(fx->loop, fx->stop_fd, EPOLLIN, stop_cb, NULL), 0);
	assert_int_equal(pthread_create(&fx->thread, NULL, server_thread, fx), 0);
	fx->running = true;
	return 0;
}

/* Stops the thread; afterwards the server may be read from this thread. */
static void fixture_stop(struct fixture *fx)
{
	uint64_t one = 1;

	if (!fx->running)
		return;
	assert_int_equal(write(fx->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(fx->thread, NULL);
	fx->running = false;
	relay_server_counters(fx->srv, &fx->ctr);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fixture_start(fx, NULL);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	fixture_stop(fx);
	relay_server_free(fx->srv);
	loop_fd_remove(fx->loop, fx->stop_fd);
	close(fx->stop_fd);
	loop_free(fx->loop);
	free(fx);
	return 0;
}

static struct tclient *tc_connect(struct fixture *fx)
{
	struct tclient *c = calloc(1, sizeof(*c));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 5};

	assert_non_null(c);
	crypto_sign_keypair(c->pk, c->sk);
	sa.sin_port = htons(relay_server_port(fx->srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static void tc_free(struct tclient *c)
{
	close(c->fd);
	free(c);
}

static void tc_write(struct tclient *c, const void *data, size_t len)
{
	assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* More bytes into buf; false on EOF, error or the 5 s timeout. */
static bool tc_fill(struct tclient *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

	if (n <= 0)
		return false;
	c->len += (size_t)n;
	return true;
}

static void tc_drop(struct tclient *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* The next frame: its type, payload copied to OUT (65535 bytes); -1 on EOF. */
static int tc_frame(struct tclient *c, uint8_t *out, size_t *out_len)
{
	struct relay_frame f;
	int n, type;

	while ((n = relay_proto_frame_decode(c->buf, c->len, 65535, &f)) == 0) {
		if (!tc_fill(c))
			return -1;
	}
	assert_true(n > 0);
	type = f.type;
	memcpy(out, f.payload, f.len);
	*out_len = f.len;
	tc_drop(c, (size_t)n);
	return type;
}

static void tc_send_frame(struct tclient *c, uint8_t type, const void *p1, size_t l1,
			  const void *p2, size_t l2)
{
	uint8_t frame[3 + 65535];
	int n = relay_proto_frame_encode(type, p1, l1, p2, l2, frame, sizeof(frame));

	assert_true(n > 0);
	tc_write(c, frame, (size_t)n);
}

/* Upgrade and read the challenge. */
static void tc_upgrade(struct fixture *fx, struct tclient *c, uint8_t nonce[32])
{
	char req[256];
	uint8_t payload[65535], pk[32];
	size_t head, len;
	int ret;

	ret = relay_proto_http_request_write("127.0.0.1", req, sizeof(req));
	assert_true(ret > 0);
	tc_write(c, req, (size_t)ret);
	while ((ret = relay_proto_http_response_parse(c->buf, c->len, &head, NULL)) == -EAGAIN)
		assert_true(tc_fill(c));
	assert_int_equal(ret, 0);
	tc_drop(c, head);
	assert_int_equal(tc_frame(c, payload, &len), RELAY_SERVER_CHALLENGE);
	assert_int_equal(relay_proto_parse_challenge(payload, len, pk, nonce), 0);
	assert_memory_equal(pk, fx->server_pk, 32);
}

static void tc_login(struct fixture *fx, struct tclient *c)
{
	uint8_t nonce[32], sig[64], payload[65535];
	size_t len;

	tc_upgrade(fx, c, nonce);
	relay_proto_auth_sign(c->sk, fx->server_pk, nonce, sig);
	tc_send_frame(c, RELAY_CLIENT_AUTH, c->pk, 32, sig, 64);
	assert_int_equal(tc_frame(c, payload, &len), RELAY_SERVER_OK);
	assert_int_equal(len, 0);
}

/* Expect SERVER_ERROR, then the server's close. */
static void tc_expect_error(struct tclient *c)
{
	uint8_t payload[65535];
	size_t len;

	assert_int_equal(tc_frame(c, payload, &len), RELAY_SERVER_ERROR);
	assert_true(len > 0);
	assert_int_equal(tc_frame(c, payload, &len), -1);
}

static void test_send_recv(void **state)
{
	struct fixture *fx = *state;
	struct tclient *a = tc_connect(fx), *b = tc_connect(fx);
	uint8_t payload[65535], big[4000];
	size_t len;

	tc_login(fx, a);
	tc_login(fx, b);
	tc_send_frame(a, RELAY_SEND, b->pk, 32, "hello", 5);
	assert_int_equal(tc_frame(b, payload, &len), RELAY_RECV);
	assert_int_equal(len, 32 + 5);
	assert_memory_equal(payload, a->pk, 32);
	assert_memory_equal(payload + 32, "hello", 5);
	/* and back, with a payload bigger than one read of a small buffer */
	randombytes_buf(big, sizeof(big));
	tc_send_frame(b, RELAY_SEND, a->pk, 32, big, sizeof(big));
	assert_int_equal(tc_frame(a, payload, &len), RELAY_RECV);
	assert_int_equal(len, 32 + sizeof(big));
	assert_memory_equal(payload, b->pk, 32);
	assert_memory_equal(payload + 32, big, sizeof(big));
	/* keep-alive echo; an unknown type in between is ignored */
	tc_send_frame(a, 0x7e, "future", 6, NULL, 0);
	tc_send_frame(a, RELAY_PING, "12345678", 8, NULL, 0);
	assert_int_equal(tc_frame(a, payload, &len), RELAY_PONG);
	assert_int_equal(len, 8);
	assert_memory_equal(payload, "12345678", 8);
	/* an empty payload is forwarded too */
	tc_send_frame(a, RELAY_SEND, b->pk, 32, NULL, 0);
	assert_int_equal(tc_frame(b, payload, &len), RELAY_RECV);
	assert_int_equal(len, 32);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.clients, 2);
	assert_int_equal(fx->ctr.auth_ok, 2);
	assert_int_equal(fx->ctr.frames_forwarded, 3);
	assert_int_equal(fx->ctr.bytes_forwarded, 5 + sizeof(big));
	tc_free(a);
	tc_free(b);
}

static void test_peer_gone(void **state)
{
	struct fixture *fx = *state;
	struct tclient *a = tc_connect(fx);
	uint8_t payload[65535], absent[32], absent2[32];
	size_t len;

	randombytes_buf(absent, sizeof(absent));
	randombytes_buf(absent2, sizeof(absent2));
	tc_login(fx, a);
	tc_send_frame(a, RELAY_SEND, absent, 32, "x", 1);
	assert_int_equal(tc_frame(a, payload, &len), RELAY_PEER_GONE);
	assert_int_equal(len, 32);
	assert_memory_equal(payload, absent, 32);
	/* again within the second: no second PEER_GONE, so the PONG comes first */
	for (int i = 0; i < 10; i++)
		tc_send_frame(a, RELAY_SEND, absent, 32, "x", 1);
	tc_send_frame(a, RELAY_SEND, absent2, 32, "y", 1);
	tc_send_frame(a, RELAY_PING, "abcdefgh", 8, NULL, 0);
	assert_int_equal(tc_frame(a, payload, &len), RELAY_PEER_GONE);
	assert_memory_equal(payload, absent2, 32);
	assert_int_equal(tc_frame(a, payload, &len), RELAY_PONG);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.drop_no_peer, 12);
	assert_int_equal(fx->ctr.peer_gone_sent, 2);
	tc_free(a);
}

static void test_bad_signature_refused(void **state)
{
	struct fixture *fx = *state;
	struct tclient *a = tc_connect(fx), *b = tc_connect(fx), *c = tc_connect(fx);
	uint8_t nonce[32], sig[64], other_pk[32], other_sk[64];

	/* a flipped bit */
	tc_upgrade(fx, a, nonce);
	relay_proto_auth_sign(a->sk, fx->server_pk, nonce, sig);
	sig[10] ^= 4;
	tc_send_frame(a, RELAY_CLIENT_AUTH, a->pk, 32, sig, 64);
	tc_expect_error(a);
	/* someone else's key claimed with our signature */
	crypto_sign_keypair(other_pk, other_sk);
	tc_upgrade(fx, b, nonce);
	relay_proto_auth_sign(b->sk, fx->server_pk, nonce, sig);
	tc_send_frame(b, RELAY_CLIENT_AUTH, other_pk, 32, sig, 64);
	tc_expect_error(b);
	/* anything but CLIENT_AUTH first */
	tc_upgrade(fx, c, nonce);
	tc_send_frame(c, RELAY_SEND, other_pk, 32, "x", 1);
	tc_expect_error(c);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.auth_failed, 2);
	assert_int_equal(fx->ctr.auth_ok, 0);
	assert_int_equal(fx->ctr.clients, 0);
	assert_int_equal(fx->ctr.closed_protocol, 3);
	tc_free(a);
	tc_free(b);
	tc_free(c);
}

static void test_second_login_replaces(void **state)
{
	struct fixture *fx = *state;
	struct tclient *a1 = tc_connect(fx), *a2 = tc_connect(fx), *b = tc_connect(fx);
	uint8_t payload[65535];
	size_t len;

	memcpy(a2->pk, a1->pk, 32);
	memcpy(a2->sk, a1->sk, 64);
	tc_login(fx, a1);
	tc_login(fx, b);
	tc_login(fx, a2);
	tc_expect_error(a1);
	tc_send_frame(b, RELAY_SEND, a1->pk, 32, "to-a", 4);
	assert_int_equal(tc_frame(a2, payload, &len), RELAY_RECV);
	assert_memory_equal(payload, b->pk, 32);
	assert_memory_equal(payload + 32, "to-a", 4);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.replaced, 1);
	assert_int_equal(fx->ctr.clients, 2);
	tc_free(a1);
	tc_free(a2);
	tc_free(b);
}

/* Read everything the server sends until it closes. */
static size_t tc_read_all(struct tclient *c)
{
	while (c->len < sizeof(c->buf) - 1 && tc_fill(c))
		;
	c->buf[c->len] = 0;
	return c->len;
}

static void test_http_refusals(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *req;
		const char *status;
	} cases[] = {
		{"GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 "HTTP/1.1 426 "},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 "},
		{"BREW /pot HTCPCP/1.0\r\n\r\n", "HTTP/1.1 400 "},
	};
	char pad[9000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tclient *c = tc_connect(fx);

		tc_write(c, cases[i].req, strlen(cases[i].req));
		tc_read_all(c);
		assert_memory_equal(c->buf, cases[i].status, strlen(cases[i].status));
		tc_free(c);
	}
	/* a head over 8 KiB, arriving in two writes */
	{
		struct tclient *c = tc_connect(fx);
		size_t half = sizeof(pad) / 2;

		memset(pad, 'a', sizeof(pad));
		memcpy(pad, "GET /relay HTTP/1.1\r\nX: ", 24);
		tc_write(c, pad, half);
		usleep(20000);
		tc_write(c, pad + half, sizeof(pad) - half);
		tc_read_all(c);
		assert_memory_equal(c->buf, "HTTP/1.1 431 ", 13);
		tc_free(c);
	}
	fixture_stop(fx);
	assert_int_equal(fx->ctr.closed_protocol, 4);
}

/* A client that never reads is cut off and does not hold memory; the sender
 * sees drops, not an error. */
static void test_slow_reader(void **state)
{
	struct fixture *fx = *state;
	struct relay_server_config cfg;
	struct tclient *a, *b;
	uint8_t chunk[1000] = {0}, payload[65535];
	size_t len;
	int rcvbuf = 4096, ret;

	/* restart with a small queue and a short slow-reader limit */
	teardown(state);
	fx = calloc(1, sizeof(*fx));
	*state = fx;
	relay_server_config_default(&cfg);
	cfg.queue_bytes = 16384;
	cfg.slow_reader_ms = 1000;
	cfg.rate_bytes_per_s = 0;
	fixture_start(fx, &cfg);
	a = tc_connect(fx);
	b = tc_connect(fx);
	setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	tc_login(fx, a);
	tc_login(fx, b);
	/* keep b's queue overflowing for longer than slow_reader_ms plus a sweep */
	for (uint64_t end = loop_now_ms() + 2600; loop_now_ms() < end;) {
		for (int i = 0; i < 100; i++)
			tc_send_frame(a, RELAY_SEND, b->pk, 32, chunk, sizeof(chunk));
		usleep(5000);
	}
	/* a is still served */
	tc_send_frame(a, RELAY_PING, "stillok!", 8, NULL, 0);
	while ((ret = tc_frame(a, payload, &len)) == RELAY_PEER_GONE)
		assert_memory_equal(payload, b->pk, 32); /* b is gone, as a now learns */
	assert_int_equal(ret, RELAY_PONG);
	fixture_stop(fx);
	assert_true(fx->ctr.drop_queue_full > 0);
	assert_int_equal(fx->ctr.closed_slow, 1);
	assert_int_equal(fx->ctr.clients, 1);
	tc_free(a);
	tc_free(b);
}

static void test_parse_listen(void **state)
{
	static const char *good[] = {"127.0.0.1:0", "0.0.0.0:3340", "[::]:3340", "[::1]:1",
				     "[fd72:6179::1]:65535"};
	static const char *bad[] = {
		"",	  ":1",	   "127.0.0.1", "127.0.0.1:",  "127.0.0.1:65536", "127.0.0.1:-1",
		"::1:80", "[::1]", "[::1]80",	"[1.2.3.4]:1", "host.example:80", "1.2.3.4:80x"};
	struct sockaddr_storage sa;
	socklen_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(relay_server_parse_listen(good[i], &sa, &len), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(relay_server_parse_listen(bad[i], &sa, &len), -EINVAL);
	assert_int_equal(relay_server_parse_listen("[::1]:443", &sa, &len), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), 443);
}

/* Restart the fixture with CFG. */
static struct fixture *fixture_restart(void **state, const struct relay_server_config *cfg)
{
	struct fixture *fx;

	teardown(state);
	fx = calloc(1, sizeof(*fx));
	*state = fx;
	fixture_start(fx, cfg);
	return fx;
}

/* A UDP port free now (the kernel's choice), for the STUN responder. */
static uint16_t free_udp_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_stun_and_101(void **state)
{
	struct relay_server_config cfg;
	struct fixture *fx;
	struct sockaddr_in to = {.sin_family = AF_INET}, me;
	socklen_t me_len = sizeof(me);
	struct timeval tv = {.tv_sec = 5};
	uint8_t txid[STUN_TXID_LEN], req[STUN_REQUEST_MAX], resp[256];
	static const uint8_t classic[] = {0x00, 0x01, 0x00, 0x00, 1,  2,  3,  4,  5,  6,
					  7,	8,    9,    10,	  11, 12, 13, 14, 15, 16};
	struct endpoint mapped;
	char text[ENDPOINT_TEXT_MAX], want[ENDPOINT_TEXT_MAX];
	size_t len, head;
	uint16_t port = 0, stun_port;
	struct tclient *c;
	ssize_t n;
	int fd;

	relay_server_config_default(&cfg);
	cfg.stun_port = stun_port = free_udp_port();
	fx = fixture_restart(state, &cfg);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	to.sin_port = htons(stun_port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &me_len), 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)ntohs(me.sin_port));

	/* garbage first: ignored, and the responder lives on */
	assert_int_equal(send(fd, "\x01\x00\x00\x00garbage", 11, 0), 11);
	assert_int_equal(send(fd, "", 0, 0), 0);
	randombytes_buf(txid, sizeof(txid));
	assert_int_equal(stun_build_binding_request(txid, true, req, sizeof(req), &len), 0);
	assert_int_equal(send(fd, req, len, 0), (ssize_t)len);
	n = recv(fd, resp, sizeof(resp), 0);
	assert_true(n > 0);
	assert_int_equal(stun_parse_binding_response(resp, (size_t)n, txid, &mapped), 0);
	endpoint_format(&mapped, text);
	assert_string_equal(text, want);
	/* an RFC 3489 request gets MAPPED-ADDRESS */
	assert_int_equal(send(fd, classic, sizeof(classic), 0), (ssize_t)sizeof(classic));
	n = recv(fd, resp, sizeof(resp), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(resp + 4, classic + 4, 16);
	assert_int_equal(resp[26] << 8 | resp[27], ntohs(me.sin_port));
	close(fd);

	/* the 101 tells where STUN is */
	c = tc_connect(fx);
	tc_write(c, REQ_TEXT, strlen(REQ_TEXT));
	while (relay_proto_http_response_parse(c->buf, c->len, &head, &port) == -EAGAIN)
		assert_true(tc_fill(c));
	assert_int_equal(port, stun_port);
	tc_free(c);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.stun_answered, 2);
	assert_int_equal(fx->ctr.stun_ignored, 2);
}

/* ---- the record store over raw HTTP ---- */

static void sign_record(const uint8_t pk[32], const uint8_t sk[64], uint64_t ts, uint8_t *buf,
			size_t *len)
{
	struct record r;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	memset(&r, 0, sizeof(r));
	r.kind = RECORD_CONTACT;
	memcpy(r.signer, pk, 32);
	r.timestamp_ms = (uint64_t)now.tv_sec * 1000 - 60000 + ts;
	r.expires_ms = r.timestamp_ms + 3600000;
	memset(r.body.contact.node_id, 0x5a, 32);
	assert_int_equal(record_sign(&r, sk, buf, RECORD_MAX_LEN, len), 0);
}

/* Send TEXT (then BODY), read the whole answer; returns its status. */
static int http_exchange(struct fixture *fx, const char *text, const uint8_t *body, size_t len,
			 struct tclient **keep)
{
	struct tclient *c = tc_connect(fx);
	int status;

	tc_write(c, text, strlen(text));
	if (len)
		tc_write(c, body, len);
	tc_read_all(c);
	assert_true(c->len >= 12);
	assert_memory_equal(c->buf, "HTTP/1.1 ", 9);
	status = atoi((const char *)c->buf + 9);
	if (keep)
		*keep = c;
	else
		tc_free(c);
	return status;
}

static void test_records_http(void **state)
{
	struct relay_server_config cfg;
	struct fixture *fx;
	uint8_t pk[32], sk[64], rec[RECORD_MAX_LEN], rec2[RECORD_MAX_LEN];
	char id[NODE_ID_TEXT_LEN + 1], other[NODE_ID_TEXT_LEN + 1], head[512];
	uint8_t other_pk[32];
	size_t len, len2;
	struct tclient *c;
	struct relay_http_response resp;

	relay_server_config_default(&cfg);
	cfg.auth_timeout_ms = 1000;
	fx = fixture_restart(state, &cfg);
	crypto_sign_keypair(pk, sk);
	keytext_format_node_id(pk, id);
	randombytes_buf(other_pk, sizeof(other_pk));
	keytext_format_node_id(other_pk, other);
	sign_record(pk, sk, 0, rec, &len);
	sign_record(pk, sk, 1, rec2, &len2);

	/* the body in two writes, a moment apart */
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", id, len);
	c = tc_connect(fx);
	tc_write(c, head, strlen(head));
	tc_write(c, rec, 10);
	usleep(20000);
	tc_write(c, rec + 10, len - 10);
	tc_read_all(c);
	assert_memory_equal(c->buf, "HTTP/1.1 204 ", 13);
	tc_free(c);

	/* GET gives the same bytes */
	snprintf(head, sizeof(head), "GET /records/%s HTTP/1.1\r\nHost: t\r\n\r\n", id);
	assert_int_equal(http_exchange(fx, head, NULL, 0, &c), 200);
	assert_int_equal(relay_proto_http_response_head(c->buf, c->len, &resp), 0);
	assert_int_equal(resp.content_length, len);
	assert_int_equal(c->len - resp.head_len, len);
	assert_memory_equal(c->buf + resp.head_len, rec, len);
	assert_non_null(strstr((char *)c->buf, "Content-Type: application/octet-stream\r\n"));
	tc_free(c);

	/* Expect: 100-continue is honoured */
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
		 "%zu\r\n\r\n",
		 id, len2);
	c = tc_connect(fx);
	tc_write(c, head, strlen(head));
	while (c->len < 25)
		assert_true(tc_fill(c));
	assert_memory_equal(c->buf, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	tc_drop(c, 25);
	tc_write(c, rec2, len2);
	tc_read_all(c);
	assert_memory_equal(c->buf, "HTTP/1.1 204 ", 13);
	tc_free(c);

	/* the same again: 409; under another ID: 400 */
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", id, len2);
	assert_int_equal(http_exchange(fx, head, rec2, len2, NULL), 409);
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", other, len2);
	assert_int_equal(http_exchange(fx, head, rec2, len2, NULL), 400);
	/* bytes after the body, chunked, no length, too big, bad ID, unknown */
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", id,
		 len2 - 1);
	assert_int_equal(http_exchange(fx, head, rec2, len2, NULL), 400);
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", id);
	assert_int_equal(http_exchange(fx, head, NULL, 0, NULL), 400);
	snprintf(head, sizeof(head), "PUT /records/%s HTTP/1.1\r\nHost: t\r\n\r\n", id);
	assert_int_equal(http_exchange(fx, head, NULL, 0, NULL), 400);
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", id);
	assert_int_equal(http_exchange(fx, head, NULL, 0, NULL), 413);
	assert_int_equal(
		http_exchange(fx, "GET /records/short HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, NULL),
		400);
	snprintf(head, sizeof(head), "GET /records/%s HTTP/1.1\r\nHost: t\r\n\r\n", other);
	assert_int_equal(http_exchange(fx, head, NULL, 0, NULL), 404);
	assert_int_equal(
		http_exchange(fx, "GET /records HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, NULL), 404);
	assert_int_equal(http_exchange(fx, "PUT /relay HTTP/1.1\r\nHost: t\r\n\r\n", NULL, 0, NULL),
			 404);
	snprintf(head, sizeof(head),
		 "GET /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx", id);
	assert_int_equal(http_exchange(fx, head, NULL, 0, NULL), 400);
	/* a body that never comes: 408 once the request time is up */
	snprintf(head, sizeof(head),
		 "PUT /records/%s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", id, len2);
	assert_int_equal(http_exchange(fx, head, rec2, 5, NULL), 408);
	fixture_stop(fx);
	assert_int_equal(fx->ctr.records, 1);
	assert_int_equal(fx->ctr.records_stored, 2);
	assert_int_equal(fx->ctr.records_served, 1);
	assert_int_equal(fx->ctr.closed_timeout, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test_setup_teardown(test_send_recv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_login_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stun_and_101, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_http, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
