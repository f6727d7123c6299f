/* The relay client on one event loop with a real relay server (127.0.0.1,
 * and [::1] when IPv6 loopback works): authentication, frames both ways in
 * order, PEER_GONE, the output queue cap, reconnecting after the server goes
 * and comes back. A scripted fake relay on the same loop plays what a real
 * one does not: silence, refusals, garbage, keep-alives. The loop is driven
 * by run_until (a condition or a deadline). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "path/endpoint.h"
#include "path/relay_client.h"
#include "relay/relay_proto.h"
#include "relay/relay_server.h"
#include "util/eventloop.h"
#include "util/log.h"

/* Short timers for the failure tests: a stage times out in 300 ms, retries
 * come after 20, 40, 80, 100, 100 ... ms. */
static const struct relay_client_timeouts fast = {
	.stage_ms = 300,
	.backoff_ms = 20,
	.backoff_max_ms = 100,
};

/* ---- driving the loop ------------------------------------------------------ */

typedef bool (*cond_fn)(void *arg);

struct waiter {
	cond_fn cond;
	void *arg;
	uint64_t deadline, timer;
	bool met;
};

static void wait_tick(struct loop *loop, void *arg)
{
	struct waiter *w = arg;

	w->timer = 0;
	if (w->cond(w->arg)) {
		w->met = true;
		loop_stop(loop);
	} else if (loop_now_ms() >= w->deadline) {
		loop_stop(loop);
	} else {
		w->timer = loop_timer_add(loop, 1, wait_tick, w);
	}
}

/* Run LOOP until COND holds (checked every millisecond) or TIMEOUT_MS pass;
 * returns whether it held. */
static bool run_until(struct loop *loop, cond_fn cond, void *arg, uint64_t timeout_ms)
{
	struct waiter w = {.cond = cond, .arg = arg, .deadline = loop_now_ms() + timeout_ms};

	if (cond(arg))
		return true;
	w.timer = loop_timer_add(loop, 1, wait_tick, &w);
	assert_true(w.timer != 0);
	assert_int_equal(loop_run(loop), 0);
	if (w.timer)
		loop_timer_cancel(loop, w.timer);
	return w.met;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static void run_for(struct loop *loop, uint64_t ms)
{
	run_until(loop, never, NULL, ms);
}

/* ---- a test client ----------------------------------------------------------- */

#define SEQ_MAGIC 'S'

struct tc {
	struct relay_client *rc;
	uint8_t pk[32], sk[64];
	int ups, downs;	   /* on_state(true), on_state(false) */
	uint64_t frames;   /* on_recv calls */
	uint32_t next_seq; /* of sequence frames, to check the order */
	bool out_of_order;
	uint8_t last_src[32];
	uint8_t last[65535]; /* the last payload */
	size_t last_len;
	int gone;
	uint8_t gone_id[32];
};

static void tc_on_recv(void *arg, struct relay_client *rc, const uint8_t src[32], uint8_t *payload,
		       size_t len)
{
	struct tc *t = arg;
	uint32_t seq;

	assert_ptr_equal(rc, t->rc);
	t->frames++;
	memcpy(t->last_src, src, 32);
	memcpy(t->last, payload, len);
	t->last_len = len;
	if (len == 5 && payload[0] == SEQ_MAGIC) {
		memcpy(&seq, payload + 1, 4);
		if (seq != t->next_seq)
			t->out_of_order = true;
		t->next_seq = seq + 1;
	}
	memset(payload, 0xee, len); /* the session decrypts in place */
}

static void tc_on_gone(void *arg, struct relay_client *rc, const uint8_t dst[32])
{
	struct tc *t = arg;

	assert_ptr_equal(rc, t->rc);
	t->gone++;
	memcpy(t->gone_id, dst, 32);
}

static void tc_on_state(void *arg, struct relay_client *rc, bool ready)
{
	struct tc *t = arg;

	assert_ptr_equal(rc, t->rc);
	assert_int_equal(relay_client_ready(rc), ready);
	if (ready)
		t->ups++;
	else
		t->downs++;
}

static void tc_start(struct loop *loop, const char *url, struct tc *t,
		     const struct relay_client_timeouts *to)
{
	struct relay_client_callbacks cb = {
		.arg = t,
		.on_recv = tc_on_recv,
		.on_peer_gone = tc_on_gone,
		.on_state = tc_on_state,
	};

	memset(t, 0, sizeof(*t));
	crypto_sign_keypair(t->pk, t->sk);
	assert_int_equal(relay_client_new(loop, url, t->sk, &cb, &t->rc), 0);
	if (to)
		relay_client_set_timeouts_for_test(t->rc, to);
}

static void tc_stop(struct tc *t)
{
	relay_client_free(t->rc);
	t->rc = NULL;
}

static bool tc_ready(void *arg)
{
	return relay_client_ready(((struct tc *)arg)->rc);
}

static bool tc_down(void *arg)
{
	return ((struct tc *)arg)->downs > 0;
}

/* ---- the real server ------------------------------------------------------------ */

struct fixture {
	struct loop *loop;
	struct relay_server *srv;
	uint8_t server_pk[32], server_sk[64];
	char url[64];
	struct tc a, b;
};

static int server_start(struct fixture *fx, const char *listen)
{
	struct relay_server_config cfg;
	int ret;

	relay_server_config_default(&cfg);
	/* nothing dropped by the server in these tests: no rate limit, room to queue */
	cfg.rate_bytes_per_s = 0;
	cfg.queue_bytes = 8 << 20;
	ret = relay_server_new(fx->loop, listen, fx->server_pk, &cfg, &fx->srv);
	if (ret < 0)
		return ret;
	if (listen[0] == '[')
		snprintf(fx->url, sizeof(fx->url), "http://[::1]:%u/",
			 (unsigned)relay_server_port(fx->srv));
	else
		snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%u",
			 (unsigned)relay_server_port(fx->srv));
	return 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->loop = loop_new();
	assert_non_null(fx->loop);
	crypto_sign_keypair(fx->server_pk, fx->server_sk);
	assert_int_equal(server_start(fx, "127.0.0.1:0"), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	tc_stop(&fx->a);
	tc_stop(&fx->b);
	relay_server_free(fx->srv);
	loop_free(fx->loop);
	free(fx);
	return 0;
}

static const uint8_t zero32[32];

struct want_frames {
	struct tc *t;
	uint64_t n;
};

static bool got_frames(void *arg)
{
	struct want_frames *w = arg;

	return w->t->frames >= w->n;
}

static bool two_got_frames(void *arg)
{
	struct want_frames *w = arg;

	return w[0].t->frames >= w[0].n && w[1].t->frames >= w[1].n;
}

/* Authenticate two clients through FX's server and exchange frames. */
static void exchange(struct fixture *fx)
{
	static uint8_t big[65000], max[RELAY_CLIENT_MAX_PAYLOAD + 1];
	struct relay_client_stats st;
	struct want_frames w[2];
	struct tc *a = &fx->a, *b = &fx->b;
	uint8_t small[5] = {SEQ_MAGIC};
	struct endpoint ep;
	uint32_t seq;

	tc_start(fx->loop, fx->url, a, NULL);
	tc_start(fx->loop, fx->url, b, NULL);
	/* not connected yet: refused and counted, nothing queued */
	assert_int_equal(relay_client_send(a->rc, b->pk, (const uint8_t *)"x", 1), -ENOTCONN);
	relay_client_get_stats(a->rc, &st);
	assert_int_equal(st.drop_not_ready, 1);
	assert_int_equal(st.tx_frames, 0);
	assert_memory_equal(relay_client_server_key(a->rc), zero32, 32);
	assert_false(relay_client_stun_endpoint(a->rc, &ep));

	assert_true(run_until(fx->loop, tc_ready, a, 5000));
	assert_true(run_until(fx->loop, tc_ready, b, 5000));
	assert_int_equal(a->ups, 1);
	assert_int_equal(b->ups, 1);
	assert_memory_equal(relay_client_server_key(a->rc), fx->server_pk, 32);
	assert_false(relay_client_stun_endpoint(a->rc, &ep)); /* this server sends no port */
	assert_string_equal(relay_client_url(a->rc), fx->url);

	/* a small frame A -> B */
	assert_int_equal(relay_client_send(a->rc, b->pk, (const uint8_t *)"hello", 5), 0);
	w[0] = (struct want_frames){b, 1};
	assert_true(run_until(fx->loop, got_frames, &w[0], 5000));
	assert_memory_equal(b->last_src, a->pk, 32);
	assert_int_equal(b->last_len, 5);
	assert_memory_equal(b->last, "hello", 5);

	/* 65000 bytes B -> A, and the largest payload; one byte more is refused */
	randombytes_buf(big, sizeof(big));
	randombytes_buf(max, sizeof(max));
	assert_int_equal(relay_client_send(b->rc, a->pk, big, sizeof(big)), 0);
	w[0] = (struct want_frames){a, 1};
	assert_true(run_until(fx->loop, got_frames, &w[0], 5000));
	assert_memory_equal(a->last_src, b->pk, 32);
	assert_int_equal(a->last_len, sizeof(big));
	assert_memory_equal(a->last, big, sizeof(big));
	assert_int_equal(relay_client_send(b->rc, a->pk, max, RELAY_CLIENT_MAX_PAYLOAD + 1),
			 -EMSGSIZE);
	assert_int_equal(relay_client_send(b->rc, a->pk, max, RELAY_CLIENT_MAX_PAYLOAD), 0);
	w[0] = (struct want_frames){a, 2};
	assert_true(run_until(fx->loop, got_frames, &w[0], 5000));
	assert_int_equal(a->last_len, RELAY_CLIENT_MAX_PAYLOAD);
	assert_memory_equal(a->last, max, RELAY_CLIENT_MAX_PAYLOAD);

	/* 10,000 small frames each way, all queued within one turn */
	for (seq = 0; seq < 10000; seq++) {
		memcpy(small + 1, &seq, 4);
		assert_int_equal(relay_client_send(a->rc, b->pk, small, sizeof(small)), 0);
		assert_int_equal(relay_client_send(b->rc, a->pk, small, sizeof(small)), 0);
	}
	w[0] = (struct want_frames){a, 2 + 10000};
	w[1] = (struct want_frames){b, 1 + 10000};
	assert_true(run_until(fx->loop, two_got_frames, w, 10000));
	assert_false(a->out_of_order);
	assert_false(b->out_of_order);
	assert_int_equal(a->next_seq, 10000);
	assert_int_equal(b->next_seq, 10000);
	assert_int_equal(a->frames, 2 + 10000);
	assert_int_equal(b->frames, 1 + 10000);

	relay_client_get_stats(a->rc, &st);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.tx_frames, 1 + 10000);
	assert_int_equal(st.tx_bytes, 5 + 10000 * 5);
	assert_int_equal(st.rx_frames, 2 + 10000);
	assert_int_equal(st.rx_bytes, sizeof(big) + RELAY_CLIENT_MAX_PAYLOAD + 10000 * 5);
	assert_int_equal(st.drop_queue_full, 0);
	assert_int_equal(a->downs, 0);
	assert_int_equal(b->downs, 0);
}

static void test_exchange_ipv4(void **state)
{
	exchange(*state);
}

static void test_exchange_ipv6(void **state)
{
	struct fixture *fx = *state;

	relay_server_free(fx->srv);
	fx->srv = NULL;
	if (server_start(fx, "[::1]:0") < 0) {
		print_message("IPv6 loopback unavailable: skipped\n");
		skip();
	}
	exchange(fx);
}

static bool gone_seen(void *arg)
{
	return ((struct tc *)arg)->gone > 0;
}

static void test_peer_gone(void **state)
{
	struct fixture *fx = *state;
	uint8_t absent[32];

	tc_start(fx->loop, fx->url, &fx->a, NULL);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	randombytes_buf(absent, sizeof(absent));
	assert_int_equal(relay_client_send(fx->a.rc, absent, (const uint8_t *)"?", 1), 0);
	assert_true(run_until(fx->loop, gone_seen, &fx->a, 5000));
	assert_int_equal(fx->a.gone, 1);
	assert_memory_equal(fx->a.gone_id, absent, 32);
	assert_true(relay_client_ready(fx->a.rc));
}

/* The server goes away: the client says so, and comes back by itself to a
 * new server on the same port within the first backoff step (1 s +-20 %). */
static void test_server_restart(void **state)
{
	struct fixture *fx = *state;
	struct relay_client_stats st;
	char listen[32];
	uint64_t t0;

	tc_start(fx->loop, fx->url, &fx->a, NULL);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)relay_server_port(fx->srv));
	relay_server_free(fx->srv);
	fx->srv = NULL;
	assert_true(run_until(fx->loop, tc_down, &fx->a, 5000));
	assert_int_equal(fx->a.downs, 1);
	assert_false(relay_client_ready(fx->a.rc));
	assert_int_equal(relay_client_send(fx->a.rc, fx->a.pk, (const uint8_t *)"x", 1), -ENOTCONN);

	t0 = loop_now_ms();
	assert_int_equal(relay_server_new(fx->loop, listen, fx->server_pk, NULL, &fx->srv), 0);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 3000));
	assert_true(loop_now_ms() - t0 <= 1200 + 300);
	assert_int_equal(fx->a.ups, 2);
	relay_client_get_stats(fx->a.rc, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.failures, 1);
}

/* relay_client_reconnect drops at once (on_state(false) from inside the
 * call) and connects again without waiting for a backoff. */
static void test_reconnect(void **state)
{
	struct fixture *fx = *state;
	struct relay_client_stats st;
	uint64_t t0;

	tc_start(fx->loop, fx->url, &fx->a, NULL);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	t0 = loop_now_ms();
	relay_client_reconnect(fx->a.rc);
	assert_int_equal(fx->a.downs, 1);
	assert_false(relay_client_ready(fx->a.rc));
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	assert_true(loop_now_ms() - t0 < 500);
	relay_client_get_stats(fx->a.rc, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.failures, 0);
}

/* Sends within one turn beyond what the queue (1 MiB) and the socket take
 * are refused and counted; the connection carries on. */
static void test_queue_cap(void **state)
{
	static uint8_t big[65000];
	struct fixture *fx = *state;
	struct relay_client_stats st;
	uint8_t absent[32];
	int ret = 0, i;

	tc_start(fx->loop, fx->url, &fx->a, NULL);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	randombytes_buf(absent, sizeof(absent));
	for (i = 0; i < 5000 && ret == 0; i++)
		ret = relay_client_send(fx->a.rc, absent, big, sizeof(big));
	assert_int_equal(ret, -ENOBUFS);
	assert_int_equal(relay_client_send(fx->a.rc, absent, big, sizeof(big)), -ENOBUFS);
	relay_client_get_stats(fx->a.rc, &st);
	assert_int_equal(st.drop_queue_full, 2);
	assert_int_equal(st.tx_frames, (uint64_t)i - 1);
	/* small frames still fit while the big ones do not */
	run_for(fx->loop, 200);
	assert_true(relay_client_ready(fx->a.rc));
	assert_int_equal(relay_client_send(fx->a.rc, absent, big, 10), 0);
	assert_true(run_until(fx->loop, gone_seen, &fx->a, 5000));
	assert_int_equal(fx->a.downs, 0);
}

/* A DNS name goes through the resolver (localhost: /etc/hosts, no network);
 * the addresses it gives are tried in turn. */
static void test_host_name(void **state)
{
	struct fixture *fx = *state;
	char url[64];

	snprintf(url, sizeof(url), "http://localhost:%u", (unsigned)relay_server_port(fx->srv));
	tc_start(fx->loop, url, &fx->a, &fast);
	assert_true(run_until(fx->loop, tc_ready, &fx->a, 5000));
	assert_memory_equal(relay_client_server_key(fx->a.rc), fx->server_pk, 32);
}

/* ---- URLs -------------------------------------------------------------------------- */

static void test_parse_url(void **state)
{
	static const struct {
		const char *url, *host;
		uint16_t port;
	} good[] = {
		{"http://1.2.3.4:80", "1.2.3.4", 80},
		{"http://1.2.3.4:3340/", "1.2.3.4", 3340},
		{"http://[::1]:3340", "::1", 3340},
		{"http://[2001:db8::7]:65535/", "2001:db8::7", 65535},
		{"http://relay.example.com:443", "relay.example.com", 443},
		{"http://relay-1.example.:1", "relay-1.example.", 1},
		{"HTTP://localhost:8080", "localhost", 8080},
	};
	static const char *const bad[] = {
		"http://1.2.3.4",      /* no port */
		"http://1.2.3.4:",     /* empty port */
		"http://1.2.3.4/",     /* no port */
		"https://1.2.3.4:443", /* TLS is not ours (yet) */
		"http://[::1:80",      /* no closing bracket */
		"http://[::1]80",      /* no colon after it */
		"http://[::1]",	       /* no port */
		"http://::1:80",       /* IPv6 without brackets */
		"http://[1.2.3.4]:80", /* IPv4 in brackets */
		"http://[fe80::1%eth0]:80",
		"http://[]:80",
		"http://1.2.3.4:0",
		"http://1.2.3.4:70000",
		"http://1.2.3.4:65536",
		"http://1.2.3.4:000080", /* more than five digits */
		"http://1.2.3.4:-1",
		"http://1.2.3.4:+80",
		"http://1.2.3.4:8a",
		"http://:80", /* empty host */
		"http://",
		"",
		"1.2.3.4:80",
		"ftp://1.2.3.4:80",
		"http://1.2.3.4:80/relay", /* no path */
		"http://1.2.3.4:80//",
		"http://1.2.3.4:80?x",
		"http://user@1.2.3.4:80",
		"http://ho st:80",
		"http://host\n:80",
		"http://1.2.3.256:80", /* digits and dots must be IPv4 */
		"http://1.2.3:80",
		"http://1234:80",
	};
	char host[256], long_url[400];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		port = 0;
		if (relay_client_parse_url(good[i].url, host, &port) != 0)
			fail_msg("refused %s", good[i].url);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (relay_client_parse_url(bad[i], host, &port) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* RELAY_CLIENT_URL_MAX (255) characters at most */
	memset(long_url, 'a', sizeof(long_url));
	memcpy(long_url, "http://", 7);
	strcpy(long_url + RELAY_CLIENT_URL_MAX - 2, ":1");
	assert_int_equal(relay_client_parse_url(long_url, host, &port), 0);
	assert_int_equal(strlen(host), RELAY_CLIENT_URL_MAX - 2 - 7);
	strcpy(long_url + RELAY_CLIENT_URL_MAX - 2, ":12");
	assert_int_equal(relay_client_parse_url(long_url, host, &port), -EINVAL);
}

static void test_new_refuses(void **state)
{
	struct relay_client_callbacks cb = {.on_recv = tc_on_recv};
	struct relay_client *rc = (struct relay_client *)&cb;
	struct loop *loop = loop_new();
	uint8_t sk[64] = {0};

	(void)state;
	assert_int_equal(relay_client_new(loop, "https://1.2.3.4:443", sk, &cb, &rc), -EINVAL);
	assert_ptr_equal(rc, (struct relay_client *)&cb); /* untouched */
	cb.on_recv = NULL;
	assert_int_equal(relay_client_new(loop, "http://1.2.3.4:443", sk, &cb, &rc), -EINVAL);
	relay_client_free(NULL);
	loop_free(loop);
}

/* ---- a scripted fake relay ------------------------------------------------------------ */

#define FAKE_CONNS 64

struct fake_conn {
	int fd;
	bool answered, authed;
	size_t len, head, parsed;
	uint8_t buf[8192];
};

struct fake {
	struct loop *loop;
	int lfd;
	uint16_t port;
	char url[64];
	uint8_t reply[16384]; /* sent when the request head is complete */
	size_t reply_len;
	uint8_t after[4096]; /* sent when the 99 bytes of CLIENT_AUTH came */
	size_t after_len;
	bool pong;	/* answer the client's PINGs */
	int pongs_seen; /* the client's answers to our PING "pingpong" */
	int accepted;
	uint64_t accept_ms[FAKE_CONNS];
	struct fake_conn conns[FAKE_CONNS];
};

static void put(uint8_t *buf, size_t cap, size_t *len, const void *data, size_t n)
{
	assert_true(*len + n <= cap);
	memcpy(buf + *len, data, n);
	*len += n;
}

static void put_frame(uint8_t *buf, size_t cap, size_t *len, uint8_t type, const void *p, size_t n)
{
	int ret = relay_proto_frame_encode(type, p, n, NULL, 0, buf + *len, cap - *len);

	assert_true(ret > 0);
	*len += (size_t)ret;
}

static void fake_conn_close(struct fake *f, struct fake_conn *c)
{
	(void)f;
	loop_fd_remove(f->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void fake_send(struct fake_conn *c, const uint8_t *data, size_t len)
{
	if (len)
		assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Frames from the client after its CLIENT_AUTH. */
static void fake_frames(struct fake *f, struct fake_conn *c)
{
	struct relay_frame fr;
	uint8_t out[16];
	int n;

	while ((n = relay_proto_frame_decode(c->buf + c->parsed, c->len - c->parsed, 65535, &fr)) >
	       0) {
		c->parsed += (size_t)n;
		if (fr.type == RELAY_PING && f->pong) {
			n = relay_proto_frame_encode(RELAY_PONG, fr.payload, fr.len, NULL, 0, out,
						     sizeof(out));
			fake_send(c, out, (size_t)n);
		} else if (fr.type == RELAY_PONG && fr.len == 8 &&
			   memcmp(fr.payload, "pingpong", 8) == 0) {
			f->pongs_seen++;
		}
	}
	memmove(c->buf, c->buf + c->parsed, c->len - c->parsed);
	c->len -= c->parsed;
	c->parsed = 0;
}

static void fake_conn_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *c = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	for (int i = 0; i < FAKE_CONNS; i++) {
		if (f->conns[i].fd == fd)
			c = &f->conns[i];
	}
	assert_non_null(c);
	n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		fake_conn_close(f, c);
		return;
	}
	c->len += (size_t)n;
	if (!c->answered) {
		uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);

		if (!end)
			return;
		c->head = (size_t)(end - c->buf) + 4;
		c->answered = true;
		fake_send(c, f->reply, f->reply_len);
	}
	if (!c->authed && c->len - c->head >= RELAY_PROTO_HEADER_LEN + RELAY_PROTO_AUTH_LEN) {
		c->authed = true;
		c->parsed = c->head + RELAY_PROTO_HEADER_LEN + RELAY_PROTO_AUTH_LEN;
		fake_send(c, f->after, f->after_len);
	}
	if (c->authed)
		fake_frames(f, c);
}

static void fake_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	assert_true(f->accepted < FAKE_CONNS);
	c = &f->conns[f->accepted];
	f->accept_ms[f->accepted++] = loop_now_ms();
	memset(c, 0, sizeof(*c));
	c->fd = cfd;
	assert_int_equal(loop_fd_add(loop, cfd, EPOLLIN, fake_conn_event, f), 0);
}

/* Listen on 127.0.0.1; ACCEPT false leaves connections in the backlog (the
 * kernel completes the handshake, nobody answers). */
static struct fake *fake_new(struct loop *loop, bool accept)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	assert_non_null(f);
	f->loop = loop;
	for (int i = 0; i < FAKE_CONNS; i++)
		f->conns[i].fd = -1;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 64), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", (unsigned)f->port);
	if (accept)
		assert_int_equal(loop_fd_add(loop, f->lfd, EPOLLIN, fake_accept, f), 0);
	return f;
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < FAKE_CONNS; i++) {
		if (f->conns[i].fd >= 0)
			fake_conn_close(f, &f->conns[i]);
	}
	loop_fd_remove(f->loop, f->lfd);
	close(f->lfd);
	free(f);
}

#define HTTP_101 RELAY_PROTO_HTTP_RESPONSE_101

enum { CH_NONE, CH_GOOD, CH_VERSION_2, CH_SHORT };

/* The 101 (or HEAD), then a challenge of kind CH. */
static void fake_script(struct fake *f, const char *head, int ch)
{
	uint8_t challenge[RELAY_PROTO_CHALLENGE_LEN];

	f->reply_len = 0;
	put(f->reply, sizeof(f->reply), &f->reply_len, head ? head : HTTP_101,
	    strlen(head ? head : HTTP_101));
	randombytes_buf(challenge, sizeof(challenge));
	challenge[0] = ch == CH_VERSION_2 ? 2 : RELAY_PROTO_VERSION;
	if (ch != CH_NONE)
		put_frame(f->reply, sizeof(f->reply), &f->reply_len, RELAY_SERVER_CHALLENGE,
			  challenge, ch == CH_SHORT ? sizeof(challenge) - 1 : sizeof(challenge));
}

static bool fake_came_back(void *arg)
{
	return ((struct fake *)arg)->accepted >= 2;
}

struct want_failures {
	struct tc *t;
	uint64_t n;
};

static bool failed_enough(void *arg)
{
	struct want_failures *w = arg;
	struct relay_client_stats st;

	relay_client_get_stats(w->t->rc, &st);
	return st.failures >= w->n;
}

/* A server that never answers, whether it accepts or leaves the connection
 * in its backlog: each attempt times out after stage_ms. */
static void test_silent_server(void **state)
{
	struct loop *loop = loop_new();
	struct tc t;
	struct want_failures w = {&t, 2};

	(void)state;
	for (int accept = 0; accept < 2; accept++) {
		struct fake *f = fake_new(loop, accept);
		uint64_t t0 = loop_now_ms();

		fake_script(f, "", CH_NONE); /* nothing at all */
		tc_start(loop, f->url, &t, &fast);
		assert_true(run_until(loop, failed_enough, &w, 3000));
		/* two stage timeouts of 300 ms, a backoff between */
		assert_true(loop_now_ms() - t0 >= 2 * 300);
		assert_int_equal(t.ups, 0);
		assert_int_equal(t.downs, 0);
		assert_int_equal(t.frames, 0);
		if (accept)
			assert_true(f->accepted >= 2);
		tc_stop(&t);
		fake_free(f);
	}
	loop_free(loop);
}

/* Nothing listens: every attempt fails at connect and is retried. */
static void test_connect_refused(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct loop *loop = loop_new();
	struct tc t;
	struct want_failures w = {&t, 3};
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* a port that was free a moment ago, and is closed now */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	tc_start(loop, url, &t, &fast);
	assert_true(run_until(loop, failed_enough, &w, 3000));
	assert_int_equal(t.ups, 0);
	tc_stop(&t);
	loop_free(loop);
}

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

/* Hostile or broken relays: each makes the client drop the connection and
 * come back (a second accept), without a crash or a delivered frame. */
static void test_hostile_server(void **state)
{
	static const struct {
		const char *name;
		const char *head; /* NULL: a good 101 */
		int ch;
		const uint8_t *raw; /* bytes after the challenge, before CLIENT_AUTH */
		size_t raw_len;
		const uint8_t *after; /* bytes after CLIENT_AUTH */
		size_t after_len;
		size_t junk; /* this many 'A's instead of any head */
		bool ready;  /* gets as far as SERVER_OK */
	} cases[] = {
		{"not HTTP", "\x01\x02\x03 garbage\r\n\r\n", CH_NONE, NULL, 0, NULL, 0, 0, false},
		{"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", CH_NONE, NULL, 0,
		 NULL, 0, 0, false},
		{"101 without Upgrade", "HTTP/1.1 101 Switching Protocols\r\n\r\n", CH_GOOD, NULL,
		 0, NULL, 0, 0, false},
		{"101 of HTTP/1.0",
		 "HTTP/1.0 101 Switching Protocols\r\nUpgrade: rayfish-relay-1\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 CH_GOOD, NULL, 0, NULL, 0, 0, false},
		{"head over 8 KiB", "", CH_NONE, NULL, 0, NULL, 0, 9000, false},
		{"SERVER_OK before the challenge", NULL, CH_NONE, B("\x03\x00\x00"), NULL, 0, 0,
		 false},
		{"challenge of version 2", NULL, CH_VERSION_2, NULL, 0, NULL, 0, 0, false},
		{"short challenge", NULL, CH_SHORT, NULL, 0, NULL, 0, 0, false},
		{"challenge of 5 bytes", NULL, CH_NONE, B("\x01\x00\x05hello"), NULL, 0, 0, false},
		{"frame that never ends", NULL, CH_NONE, B("\xff\xff\xff\x00"), NULL, 0, 0, false},
		{"two challenges", NULL, CH_GOOD, NULL, 0, NULL, 0, 0, false},
		{"RECV before SERVER_OK", NULL, CH_GOOD, NULL, 0,
		 B("\x06\x00\x22"
		   "0123456789abcdef0123456789abcdefhi"),
		 0, false},
		{"SERVER_OK with a payload", NULL, CH_GOOD, NULL, 0, B("\x03\x00\x01x"), 0, false},
		{"SERVER_ERROR instead of SERVER_OK", NULL, CH_GOOD, NULL, 0,
		 B("\x04\x00\x0bgo away\x1b[2J"), 0, false},
		{"RECV shorter than a node id", NULL, CH_GOOD, NULL, 0,
		 B("\x03\x00\x00\x06\x00\x0a"
		   "0123456789"),
		 0, true},
		{"PEER_GONE of 31 bytes", NULL, CH_GOOD, NULL, 0,
		 B("\x03\x00\x00\x07\x00\x1f"
		   "0123456789abcdef0123456789abcde"),
		 0, true},
		{"PING of 7 bytes", NULL, CH_GOOD, NULL, 0, B("\x03\x00\x00\x08\x00\x07pingpin"), 0,
		 true},
		{"SEND from the relay", NULL, CH_GOOD, NULL, 0,
		 B("\x03\x00\x00\x05\x00\x20"
		   "0123456789abcdef0123456789abcdef"),
		 0, true},
		{"SERVER_OK twice", NULL, CH_GOOD, NULL, 0, B("\x03\x00\x00\x03\x00\x00"), 0, true},
		{"SERVER_ERROR when ready", NULL, CH_GOOD, NULL, 0,
		 B("\x03\x00\x00\x04\x00\x04"
		   "full"),
		 0, true},
	};
	struct loop *loop = loop_new();
	struct relay_client_stats st;
	struct tc t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *f = fake_new(loop, true);

		print_message("case: %s\n", cases[i].name);
		fake_script(f, cases[i].head, cases[i].ch);
		if (cases[i].junk) {
			f->reply_len = 0;
			for (size_t j = 0; j < cases[i].junk; j++)
				put(f->reply, sizeof(f->reply), &f->reply_len, "A", 1);
		}
		if (cases[i].raw)
			put(f->reply, sizeof(f->reply), &f->reply_len, cases[i].raw,
			    cases[i].raw_len);
		if (strcmp(cases[i].name, "two challenges") == 0) {
			size_t n = f->reply_len - strlen(HTTP_101);

			put(f->reply, sizeof(f->reply), &f->reply_len, f->reply + strlen(HTTP_101),
			    n);
		}
		if (cases[i].after)
			put(f->after, sizeof(f->after), &f->after_len, cases[i].after,
			    cases[i].after_len);
		tc_start(loop, f->url, &t, &fast);
		if (!run_until(loop, fake_came_back, f, 3000))
			fail_msg("%s: the client did not come back", cases[i].name);
		relay_client_get_stats(t.rc, &st);
		assert_true(st.failures >= 1);
		assert_int_equal(t.frames, 0);
		assert_int_equal(t.gone, 0);
		if (cases[i].ready) {
			assert_true(t.ups >= 1);
			assert_true(t.downs >= 1);
		} else {
			assert_int_equal(t.ups, 0);
			assert_int_equal(st.connects, 0);
		}
		tc_stop(&t);
		fake_free(f);
	}
	loop_free(loop);
}

/* Frames of types from a later protocol are skipped; what follows is read. */
static void test_unknown_frames_ignored(void **state)
{
	struct loop *loop = loop_new();
	struct fake *f = fake_new(loop, true);
	struct want_frames w;
	struct tc t;

	(void)state;
	fake_script(f, NULL, CH_GOOD);
	put(f->after, sizeof(f->after), &f->after_len,
	    B("\x03\x00\x00"
	      "\x7f\x00\x03"
	      "abc"
	      "\x00\x00\x00"
	      "\x06\x00\x22"
	      "0123456789abcdef0123456789abcdefhi"));
	tc_start(loop, f->url, &t, &fast);
	w = (struct want_frames){&t, 1};
	assert_true(run_until(loop, got_frames, &w, 3000));
	assert_int_equal(t.last_len, 2);
	assert_memory_equal(t.last, "hi", 2);
	assert_memory_equal(t.last_src, "0123456789abcdef0123456789abcdef", 32);
	run_for(loop, 50);
	assert_int_equal(t.ups, 1);
	assert_int_equal(t.downs, 0);
	assert_int_equal(f->accepted, 1);
	tc_stop(&t);
	fake_free(f);
	loop_free(loop);
}

/* The 101's Rayfish-Stun-Port gives the STUN endpoint at the relay's address. */
static void test_stun_endpoint(void **state)
{
	struct loop *loop = loop_new();
	struct fake *f = fake_new(loop, true);
	char text[ENDPOINT_TEXT_MAX];
	struct endpoint ep;
	struct tc t;

	(void)state;
	fake_script(f,
		    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: rayfish-relay-1\r\n"
		    "Rayfish-Stun-Port: 3478\r\nConnection: Upgrade\r\n\r\n",
		    CH_GOOD);
	put(f->after, sizeof(f->after), &f->after_len, B("\x03\x00\x00"));
	tc_start(loop, f->url, &t, &fast);
	assert_false(relay_client_stun_endpoint(t.rc, &ep));
	assert_true(run_until(loop, tc_ready, &t, 3000));
	assert_true(relay_client_stun_endpoint(t.rc, &ep));
	endpoint_format(&ep, text);
	assert_string_equal(text, "127.0.0.1:3478");
	tc_stop(&t);
	fake_free(f);
	loop_free(loop);
}

struct keepalive_cond {
	struct tc *t;
	struct fake *f;
};

static bool rtt_measured(void *arg)
{
	struct keepalive_cond *k = arg;
	struct relay_client_stats st;

	relay_client_get_stats(k->t->rc, &st);
	return st.rtt_ms > 0 && k->f->pongs_seen > 0;
}

/* Silence: a PING after ping_ms; answered, the connection stays and the
 * round trip is measured; unanswered, it is dropped after idle_ms. The
 * relay's own PING is answered with its bytes. */
static void test_keepalive(void **state)
{
	static const struct relay_client_timeouts keep = {
		.stage_ms = 300,
		.backoff_ms = 1000,
		.ping_ms = 100,
		.idle_ms = 300,
	};
	struct loop *loop = loop_new();
	struct relay_client_stats st;
	struct keepalive_cond k;
	struct tc t;

	(void)state;
	for (int pong = 1; pong >= 0; pong--) {
		struct fake *f = fake_new(loop, true);
		uint64_t t0;

		f->pong = pong;
		fake_script(f, NULL, CH_GOOD);
		put(f->after, sizeof(f->after), &f->after_len,
		    B("\x03\x00\x00\x08\x00\x08pingpong"));
		tc_start(loop, f->url, &t, &keep);
		assert_true(run_until(loop, tc_ready, &t, 3000));
		t0 = loop_now_ms();
		if (pong) {
			k = (struct keepalive_cond){&t, f};
			assert_true(run_until(loop, rtt_measured, &k, 3000));
			run_for(loop, 3 * keep.idle_ms);
			assert_int_equal(t.downs, 0);
			assert_true(relay_client_ready(t.rc));
		} else {
			assert_true(run_until(loop, tc_down, &t, 3000));
			assert_true(loop_now_ms() - t0 >= keep.idle_ms - 10);
			relay_client_get_stats(t.rc, &st);
			assert_int_equal(st.rtt_ms, 0);
			assert_int_equal(st.failures, 1);
			assert_int_equal(f->pongs_seen, 1);
		}
		tc_stop(&t);
		fake_free(f);
	}
	loop_free(loop);
}

static bool accepted_6(void *arg)
{
	return ((struct fake *)arg)->accepted >= 6;
}

/* A relay that refuses every login: retries come after 20, 40, 80, 100, 100
 * ms (+-20 %), not faster. */
static void test_backoff(void **state)
{
	static const uint64_t expect[] = {20, 40, 80, 100, 100};
	struct loop *loop = loop_new();
	struct fake *f = fake_new(loop, true);
	struct tc t;

	(void)state;
	fake_script(f, NULL, CH_GOOD);
	put(f->after, sizeof(f->after), &f->after_len, B("\x04\x00\x07go away"));
	tc_start(loop, f->url, &t, &fast);
	assert_true(run_until(loop, accepted_6, f, 5000));
	for (int i = 0; i < 5; i++) {
		uint64_t gap = f->accept_ms[i + 1] - f->accept_ms[i];

		if (gap + 1 < expect[i] * 8 / 10 || gap > expect[i] * 12 / 10 + 200)
			fail_msg("retry %d after %llu ms, expected %llu", i + 1,
				 (unsigned long long)gap, (unsigned long long)expect[i]);
	}
	assert_int_equal(t.ups, 0);
	tc_stop(&t);
	fake_free(f);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_url),
		cmocka_unit_test(test_new_refuses),
		cmocka_unit_test_setup_teardown(test_exchange_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_name, setup, teardown),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_hostile_server),
		cmocka_unit_test(test_unknown_frames_ignored),
		cmocka_unit_test(test_stun_endpoint),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_backoff),
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
