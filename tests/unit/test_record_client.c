/* The record client against a real relay server on the same event loop
 * (loopback, port 0): publish, fetch and verify, and each refusal of the
 * store as its errno. Then what the store cannot produce, from a fake server
 * on a raw socket: a record signed by another key, garbage, a cut-off body,
 * a 100 Continue before the answer; a listener that never answers (timeout),
 * a closed port, bad URLs, and cancel. Callbacks must never run inside the
 * call that starts a request. */
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
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "path/record.h"
#include "path/record_client.h"
#include "relay/relay_server.h"
#include "util/eventloop.h"

#define TIMEOUT_MS 5000

struct key {
	uint8_t pk[32], sk[64];
};

struct result {
	int calls;
	int status;
	bool had_record;
	struct record rec;
};

struct fixture {
	struct loop *loop;
	struct relay_server *srv;
	char url[64];
	uint64_t watchdog;
	int pending; /* callbacks still expected before the loop stops */
};

static struct fixture *fx_now; /* for callbacks */

static void done_cb(void *arg, int status, const struct record *r)
{
	struct result *res = arg;

	res->calls++;
	res->status = status;
	res->had_record = r != NULL;
	if (r)
		res->rec = *r;
	if (--fx_now->pending == 0)
		loop_stop(fx_now->loop);
}

static void watchdog_cb(struct loop *loop, void *arg)
{
	(void)arg;
	fx_now->watchdog = 0;
	fail_msg("a callback did not come within 10 s");
	loop_stop(loop);
}

/* Run the loop until N callbacks have come. */
static void run_until(struct fixture *fx, int n)
{
	fx->pending = n;
	fx->watchdog = loop_timer_add(fx->loop, 10000, watchdog_cb, NULL);
	loop_run(fx->loop);
	loop_timer_cancel(fx->loop, fx->watchdog);
}

static void stop_cb(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

/* Run the loop for MS. */
static void run_for(struct fixture *fx, uint64_t ms)
{
	loop_timer_add(fx->loop, ms, stop_cb, NULL);
	loop_run(fx->loop);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	uint8_t pk[32];

	assert_non_null(fx);
	fx->loop = loop_new();
	assert_non_null(fx->loop);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(relay_server_new(fx->loop, "127.0.0.1:0", pk, NULL, &fx->srv), 0);
	snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%u",
		 (unsigned)relay_server_port(fx->srv));
	fx_now = fx;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	relay_server_free(fx->srv);
	loop_free(fx->loop);
	free(fx);
	return 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A node record of K, dated AGE_MS ago. */
static void make_record(const struct key *k, uint64_t age_ms, uint8_t *buf, size_t *len)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.kind = RECORD_NODE;
	memcpy(r.signer, k->pk, 32);
	r.timestamp_ms = wall_ms() - age_ms;
	r.expires_ms = r.timestamp_ms + 3600000;
	r.body.node.relay_count = 1;
	strcpy(r.body.node.relays[0], "http://127.0.0.1:3340");
	assert_int_equal(record_sign(&r, k->sk, buf, RECORD_MAX_LEN, len), 0);
}

static void put(struct fixture *fx, const char *url, const struct key *k, const uint8_t *buf,
		size_t len, struct result *res)
{
	memset(res, 0, sizeof(*res));
	assert_int_equal(
		record_client_put(fx->loop, url, k->pk, buf, len, TIMEOUT_MS, done_cb, res, NULL),
		0);
	assert_int_equal(res->calls, 0); /* never from inside the call */
	run_until(fx, 1);
	assert_int_equal(res->calls, 1);
}

static void get(struct fixture *fx, const char *url, const uint8_t id[32], uint64_t timeout_ms,
		struct result *res)
{
	struct record_request *req = NULL;

	memset(res, 0, sizeof(*res));
	assert_int_equal(record_client_get(fx->loop, url, id, timeout_ms, done_cb, res, &req), 0);
	assert_non_null(req);
	assert_int_equal(res->calls, 0);
	run_until(fx, 1);
	assert_int_equal(res->calls, 1);
}

static void test_put_get_and_refusals(void **state)
{
	struct fixture *fx = *state;
	struct key a, b;
	uint8_t rec[RECORD_MAX_LEN], old[RECORD_MAX_LEN], big[2000];
	size_t len, old_len;
	struct result res;
	struct relay_counters ctr;

	crypto_sign_keypair(a.pk, a.sk);
	crypto_sign_keypair(b.pk, b.sk);
	make_record(&a, 1000, rec, &len);
	make_record(&a, 2000, old, &old_len);

	put(fx, fx->url, &a, rec, len, &res);
	assert_int_equal(res.status, 0);
	assert_false(res.had_record);
	get(fx, fx->url, a.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, 0);
	assert_true(res.had_record);
	assert_memory_equal(res.rec.signer, a.pk, 32);
	assert_int_equal(res.rec.kind, RECORD_NODE);
	assert_string_equal(res.rec.body.node.relays[0], "http://127.0.0.1:3340");

	/* the store's answers, each as its errno */
	put(fx, fx->url, &a, rec, len, &res);
	assert_int_equal(res.status, -EALREADY); /* 409: same timestamp */
	put(fx, fx->url, &a, old, old_len, &res);
	assert_int_equal(res.status, -EALREADY); /* 409: older */
	get(fx, fx->url, b.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, -ENOENT); /* 404 */
	assert_false(res.had_record);
	memset(big, 0x41, sizeof(big));
	put(fx, fx->url, &a, big, sizeof(big), &res);
	assert_int_equal(res.status, -EMSGSIZE); /* 413 */
	put(fx, fx->url, &b, rec, len, &res);
	assert_int_equal(res.status, -EBADMSG); /* 400: not b's record */
	old[old_len - 3] ^= 1;
	put(fx, fx->url, &a, old, old_len, &res);
	assert_int_equal(res.status, -EKEYREJECTED); /* 403 */
	put(fx, fx->url, &a, big, 100, &res);
	assert_int_equal(res.status, -EBADMSG); /* 400: garbage */

	/* still the first record */
	get(fx, fx->url, a.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, 0);
	relay_server_counters(fx->srv, &ctr);
	assert_int_equal(ctr.records, 1);
	assert_int_equal(ctr.records_stored, 1);
	assert_int_equal(ctr.records_served, 2);
}

static void test_ipv6_url(void **state)
{
	struct fixture *fx = *state;
	struct relay_server *srv6 = NULL;
	char url[64];
	uint8_t pk[32], rec[RECORD_MAX_LEN];
	size_t len;
	struct key a;
	struct result res;

	randombytes_buf(pk, sizeof(pk));
	if (relay_server_new(fx->loop, "[::1]:0", pk, NULL, &srv6) < 0)
		skip(); /* no IPv6 loopback here */
	snprintf(url, sizeof(url), "http://[::1]:%u/", (unsigned)relay_server_port(srv6));
	crypto_sign_keypair(a.pk, a.sk);
	make_record(&a, 0, rec, &len);
	put(fx, url, &a, rec, len, &res);
	assert_int_equal(res.status, 0);
	get(fx, url, a.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, 0);
	relay_server_free(srv6);
}

/* ---- a fake server: answers every connection with one canned response ---- */

struct fake {
	struct loop *loop;
	int lfd;
	uint16_t port;
	int conns[8];
	int nconns;
	const uint8_t *answer;
	size_t answer_len;
	bool read_request; /* wait for the request head before answering */
	char url[64];
};

static void fake_conn_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)events;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0 && f->read_request && memmem(buf, (size_t)n, "\r\n\r\n", 4)) {
		assert_int_equal(send(fd, f->answer, f->answer_len, MSG_NOSIGNAL),
				 (ssize_t)f->answer_len);
		shutdown(fd, SHUT_WR);
	}
}

static void fake_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (cfd < 0)
		return;
	assert_true(f->nconns < 8);
	f->conns[f->nconns++] = cfd;
	assert_int_equal(loop_fd_add(loop, cfd, EPOLLIN, fake_conn_event, f), 0);
}

/* A listener on loopback; ACCEPT false: connections wait in the backlog,
 * never accepted, never answered. */
static void fake_start(struct fake *f, struct loop *loop, bool accept_them)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->read_request = true;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(f->lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", (unsigned)f->port);
	if (accept_them)
		assert_int_equal(loop_fd_add(loop, f->lfd, EPOLLIN, fake_accept, f), 0);
}

static void fake_stop(struct fake *f, bool accepting)
{
	for (int i = 0; i < f->nconns; i++) {
		loop_fd_remove(f->loop, f->conns[i]);
		close(f->conns[i]);
	}
	if (accepting)
		loop_fd_remove(f->loop, f->lfd);
	close(f->lfd);
}

/* GET A's record from a fake server that answers ANSWER (LEN bytes). */
static int fake_get(struct fixture *fx, const struct key *a, const void *answer, size_t len)
{
	struct fake f;
	struct result res;

	fake_start(&f, fx->loop, true);
	f.answer = answer;
	f.answer_len = len;
	get(fx, f.url, a->pk, TIMEOUT_MS, &res);
	fake_stop(&f, true);
	if (res.status != 0)
		assert_false(res.had_record);
	return res.status;
}

static void test_untrusted_answers(void **state)
{
	struct fixture *fx = *state;
	struct key a, b;
	uint8_t rec[RECORD_MAX_LEN], answer[RECORD_MAX_LEN + 512];
	size_t len;
	int n;

	crypto_sign_keypair(a.pk, a.sk);
	crypto_sign_keypair(b.pk, b.sk);

	/* a valid record, but b's, when we asked for a's */
	make_record(&b, 0, rec, &len);
	n = snprintf((char *)answer, 512, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	memcpy(answer + n, rec, len);
	assert_int_equal(fake_get(fx, &a, answer, (size_t)n + len), -EKEYREJECTED);

	/* a's record, through an interim 100 and without Content-Length: fine */
	make_record(&a, 0, rec, &len);
	n = snprintf((char *)answer, 512,
		     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	memcpy(answer + n, rec, len);
	assert_int_equal(fake_get(fx, &a, answer, (size_t)n + len), 0);

	/* a's record with a flipped signature bit */
	n = snprintf((char *)answer, 512, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	memcpy(answer + n, rec, len);
	answer[(size_t)n + len - 1] ^= 0x80;
	assert_int_equal(fake_get(fx, &a, answer, (size_t)n + len), -EKEYREJECTED);

	/* cut short, garbage body, garbage head, other statuses */
	n = snprintf((char *)answer, 512, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	memcpy(answer + n, rec, len);
	assert_int_equal(fake_get(fx, &a, answer, (size_t)n + len - 1), -EPROTO);
	assert_int_equal(fake_get(fx, &a, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 41),
			 -EBADMSG);
	assert_int_equal(fake_get(fx, &a, "SSH-2.0-OpenSSH\r\n\r\n", 19), -EPROTO);
	assert_int_equal(fake_get(fx, &a, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", 41),
			 -EBUSY);
	assert_int_equal(fake_get(fx, &a, "HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n", 41),
			 -ESTALE);
	assert_int_equal(fake_get(fx, &a, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", 41),
			 -EPROTO);
	assert_int_equal(fake_get(fx, &a, "HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n", 43),
			 -EPROTO);
	assert_int_equal(fake_get(fx, &a, "", 0), -EPROTO); /* closed without a word */
}

static void test_timeout_refused_cancel(void **state)
{
	struct fixture *fx = *state;
	struct fake f;
	struct result res, never;
	struct record_request *req = NULL;
	struct key a;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sa_len = sizeof(sa);
	char url[64];
	uint64_t t0;
	int fd;

	crypto_sign_keypair(a.pk, a.sk);
	/* a listener that never accepts: the connect succeeds (backlog), no answer */
	fake_start(&f, fx->loop, false);
	t0 = loop_now_ms();
	get(fx, f.url, a.pk, 300, &res);
	assert_int_equal(res.status, -ETIMEDOUT);
	assert_true(loop_now_ms() - t0 >= 300);
	assert_true(loop_now_ms() - t0 < 3000);

	/* cancelled: its callback never runs */
	memset(&never, 0, sizeof(never));
	assert_int_equal(record_client_get(fx->loop, f.url, a.pk, 100, done_cb, &never, &req), 0);
	assert_non_null(req);
	record_client_cancel(req);
	record_client_cancel(NULL);
	run_for(fx, 300);
	assert_int_equal(never.calls, 0);
	fake_stop(&f, false);

	/* a port where nobody listens: refused, reported later, not inside the call */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sa_len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	get(fx, url, a.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, -ECONNREFUSED);
	close(fd);

	/* a name that does not resolve: reported later too */
	get(fx, "http://no-such-host.invalid:80", a.pk, TIMEOUT_MS, &res);
	assert_int_equal(res.status, -EHOSTUNREACH);
}

static void test_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	static const char *bad_urls[] = {
		"",
		"127.0.0.1:1",
		"https://127.0.0.1:1",
		"http://127.0.0.1",
		"http://127.0.0.1:",
		"http://127.0.0.1:0",
		"http://127.0.0.1:65536",
		"http://127.0.0.1:1/path",
		"http://[::1:1",
		"http://[::1]",
		"http://[nope]:1",
		"http://a b:1",
		"http://a:1:2",
		"http://:1",
		"http://x\r\nEvil: 1:1",
	};
	struct record_request *req = (struct record_request *)&req;
	struct result res = {0};
	uint8_t id[32] = {1}, buf[1] = {0};

	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		assert_int_equal(
			record_client_get(fx->loop, bad_urls[i], id, 100, done_cb, &res, &req),
			-EINVAL);
		assert_null(req);
	}
	assert_int_equal(record_client_get(fx->loop, NULL, id, 100, done_cb, &res, NULL), -EINVAL);
	assert_int_equal(record_client_get(fx->loop, fx->url, id, 100, NULL, &res, NULL), -EINVAL);
	assert_int_equal(record_client_put(fx->loop, fx->url, id, buf, 0, 100, done_cb, &res, NULL),
			 -EINVAL);
	assert_int_equal(
		record_client_put(fx->loop, fx->url, id, NULL, 1, 100, done_cb, &res, NULL),
		-EINVAL);
	run_for(fx, 50);
	assert_int_equal(res.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_refused_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
