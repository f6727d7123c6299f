/* Request/response: PING/PONG, timeouts, late and unmatched responses,
 * malformed envelopes, the pending table's bound, and a ping over two real
 * channels. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/codec.h"
#include "control/messages.h"
#include "control/reliable.h"
#include "control/rpc.h"

#define MS(x) ((uint64_t)(x)*1000000ull)

/* Two rpc ends joined by an in-order queue of whole messages. */
struct msgq {
	uint8_t *msg[256];
	size_t len[256];
	int to[256];
	size_t n;
};

struct end {
	struct msgq *q;
	int idx;
	struct ctl_rpc *rpc;
	bool answer;	  /* handler responds at once */
	uint32_t held_id; /* last request left unanswered */
	unsigned nrequests;
};

struct outcome {
	unsigned calls;
	uint32_t req_id;
	int status;
	uint64_t now;
	struct ctl_msg_ping pong;
	bool pong_ok;
};

static int q_send(void *user, uint64_t now, const uint8_t *msg, size_t len)
{
	struct end *e = user;
	struct msgq *q = e->q;

	(void)now;
	assert_true(q->n < 256);
	q->msg[q->n] = malloc(len);
	assert_non_null(q->msg[q->n]);
	memcpy(q->msg[q->n], msg, len);
	q->len[q->n] = len;
	q->to[q->n] = !e->idx;
	q->n++;
	return 0;
}

/* Deliver the messages queued so far; answers wait for the next pump. */
static void pump(struct msgq *q, struct end *ends, uint64_t now)
{
	size_t i, n = q->n;

	for (i = 0; i < n; i++) {
		assert_int_equal(ctl_rpc_input(ends[q->to[i]].rpc, now, q->msg[i], q->len[i]), 0);
		free(q->msg[i]);
	}
	memmove(q->msg, q->msg + n, (q->n - n) * sizeof(q->msg[0]));
	memmove(q->len, q->len + n, (q->n - n) * sizeof(q->len[0]));
	memmove(q->to, q->to + n, (q->n - n) * sizeof(q->to[0]));
	q->n -= n;
}

/* Answers PING with PONG (same body), anything else with -ENOSYS. */
static void handler(void *user, struct ctl_rpc *rpc, uint64_t now, uint32_t req_id, uint32_t method,
		    const uint8_t *body, size_t len)
{
	struct end *e = user;
	struct ctl_codec_writer w;
	struct ctl_msg_ping ping;
	uint8_t buf[64];

	e->nrequests++;
	if (!e->answer) {
		e->held_id = req_id;
		return;
	}
	if (method != CTL_MSG_PING) {
		assert_int_equal(ctl_rpc_respond(rpc, now, req_id, -ENOSYS, NULL, 0), 0);
		return;
	}
	if (ctl_msg_ping_decode(body, len, &ping)) {
		assert_int_equal(ctl_rpc_respond(rpc, now, req_id, -EBADMSG, NULL, 0), 0);
		return;
	}
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(ctl_msg_ping_encode(&w, &ping), 0);
	assert_int_equal(ctl_rpc_respond(rpc, now, req_id, 0, buf, w.cw_len), 0);
}

static void on_response(void *arg, uint64_t now, uint32_t req_id, int status, const uint8_t *body,
			size_t len)
{
	struct outcome *o = arg;

	o->calls++;
	o->req_id = req_id;
	o->status = status;
	o->now = now;
	o->pong_ok = status == 0 && ctl_msg_ping_decode(body, len, &o->pong) == 0;
}

static void setup_ends(struct msgq *q, struct end ends[2])
{
	int k;

	memset(q, 0, sizeof(*q));
	memset(ends, 0, 2 * sizeof(ends[0]));
	for (k = 0; k < 2; k++) {
		ends[k].q = q;
		ends[k].idx = k;
		ends[k].answer = true;
		ends[k].rpc = ctl_rpc_new(q_send, handler, &ends[k]);
		assert_non_null(ends[k].rpc);
	}
}

static void teardown_ends(struct msgq *q, struct end ends[2])
{
	size_t i;

	ctl_rpc_free(ends[0].rpc);
	ctl_rpc_free(ends[1].rpc);
	for (i = 0; i < q->n; i++)
		free(q->msg[i]);
}

static int ping(struct end *e, uint64_t now, uint64_t nonce, uint64_t timeout, struct outcome *o,
		uint32_t *id)
{
	struct ctl_msg_ping p = {.mp_nonce = nonce, .mp_sent_ns = now};
	struct ctl_codec_writer w;
	uint8_t buf[64];

	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(ctl_msg_ping_encode(&w, &p), 0);
	return ctl_rpc_request(e->rpc, now, CTL_MSG_PING, buf, w.cw_len, timeout, on_response, o,
			       id);
}

static void test_ping_pong(void **state)
{
	struct outcome o = {0};
	struct end ends[2];
	struct msgq q;
	uint32_t id;

	(void)state;
	setup_ends(&q, ends);
	assert_int_equal(ping(&ends[0], MS(5), 0xfeedface12345678ull, MS(1000), &o, &id), 0);
	assert_int_equal(ctl_rpc_poll(ends[0].rpc, MS(5)), MS(1005));
	pump(&q, ends, MS(6)); /* request to B, B answers */
	assert_int_equal(o.calls, 0);
	pump(&q, ends, MS(7)); /* response to A */
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.req_id, id);
	assert_int_equal(o.status, 0);
	assert_true(o.pong_ok);
	assert_true(o.pong.mp_nonce == 0xfeedface12345678ull);
	assert_true(o.pong.mp_sent_ns == MS(5));
	assert_int_equal(o.now - o.pong.mp_sent_ns, MS(2));
	assert_int_equal(ctl_rpc_poll(ends[0].rpc, MS(7)), UINT64_MAX);
	/* and a method B does not know */
	assert_int_equal(
		ctl_rpc_request(ends[0].rpc, MS(8), 999, NULL, 0, MS(1000), on_response, &o, NULL),
		0);
	pump(&q, ends, MS(8));
	pump(&q, ends, MS(8));
	assert_int_equal(o.calls, 2);
	assert_int_equal(o.status, -ENOSYS);
	teardown_ends(&q, ends);
}

static void test_timeout_and_late_response(void **state)
{
	struct outcome o = {0};
	struct end ends[2];
	struct msgq q;
	uint32_t id;

	(void)state;
	setup_ends(&q, ends);
	ends[1].answer = false;
	assert_int_equal(ping(&ends[0], MS(0), 1, MS(500), &o, &id), 0);
	pump(&q, ends, MS(1));
	assert_int_equal(ends[1].nrequests, 1);
	assert_int_equal(ctl_rpc_poll(ends[0].rpc, MS(499)), MS(500));
	assert_int_equal(o.calls, 0);
	assert_int_equal(ctl_rpc_poll(ends[0].rpc, MS(500)), UINT64_MAX);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.req_id, id);
	assert_int_equal(o.status, -ETIMEDOUT);
	/* the answer comes after all: ignored */
	assert_int_equal(ctl_rpc_respond(ends[1].rpc, MS(600), ends[1].held_id, 0, NULL, 0), 0);
	pump(&q, ends, MS(600));
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.status, -ETIMEDOUT);
	teardown_ends(&q, ends);
}

static void test_unmatched_and_duplicate_responses(void **state)
{
	struct outcome o = {0};
	struct end ends[2];
	struct msgq q;
	uint32_t id;

	(void)state;
	setup_ends(&q, ends);
	/* a response nobody asked for */
	assert_int_equal(ctl_rpc_respond(ends[1].rpc, 0, 12345, 0, NULL, 0), 0);
	pump(&q, ends, 0);
	/* a real exchange, then the same response delivered twice */
	assert_int_equal(ping(&ends[0], 0, 9, MS(100), &o, &id), 0);
	pump(&q, ends, 0);
	assert_int_equal(q.n, 1);
	q.msg[1] = malloc(q.len[0]);
	assert_non_null(q.msg[1]);
	memcpy(q.msg[1], q.msg[0], q.len[0]);
	q.len[1] = q.len[0];
	q.to[1] = q.to[0];
	q.n = 2;
	pump(&q, ends, 0);
	assert_int_equal(o.calls, 1);
	/* cancelled requests never call back */
	assert_int_equal(ping(&ends[0], 0, 10, MS(100), &o, &id), 0);
	assert_int_equal(ctl_rpc_cancel(ends[0].rpc, id), 0);
	assert_int_equal(ctl_rpc_cancel(ends[0].rpc, id), -ENOENT);
	pump(&q, ends, 0);
	pump(&q, ends, 0);
	ctl_rpc_poll(ends[0].rpc, MS(1000));
	assert_int_equal(o.calls, 1);
	teardown_ends(&q, ends);
}

static void test_malformed_envelopes(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
		int want;
	} cases[] = {
		{"", 0, -EBADMSG},
		{"\x01", 1, -EBADMSG},		       /* not a map */
		{"\x81\x00\x01", 3, -EBADMSG},	       /* request without id */
		{"\x82\x00\x01\x01\x05", 5, -EBADMSG}, /* request without method */
		{"\x82\x00\x02\x01\x05", 5, -EBADMSG}, /* response without status */
		{"\x83\x00\x02\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x03\x00", 15, -EBADMSG},
		{"\x83\x00\x01\x01\x05\x02\xa1x", 8, -EBADMSG},	   /* method is a string */
		{"\x83\x00\x01\x01\x05\x02\x01\xc0", 8, -EBADMSG}, /* trailing byte */
		{"\x82\x00\x07\x01\x05", 5, 0},			   /* unknown kind: ignored */
		{"\x84\x00\x02\x01\x05\x03\x00\x09\x93\x01\x02\x03", 12, 0}, /* unknown key */
	};
	struct end ends[2];
	struct msgq q;
	size_t k;

	(void)state;
	setup_ends(&q, ends);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		assert_int_equal(
			ctl_rpc_input(ends[0].rpc, 0, (const uint8_t *)cases[k].msg, cases[k].len),
			cases[k].want);
	assert_int_equal(q.n, 0);
	teardown_ends(&q, ends);
}

static void test_no_handler_answers_enosys(void **state)
{
	struct outcome o = {0};
	struct end ends[2];
	struct msgq q;

	(void)state;
	setup_ends(&q, ends);
	ctl_rpc_free(ends[1].rpc);
	ends[1].rpc = ctl_rpc_new(q_send, NULL, &ends[1]);
	assert_non_null(ends[1].rpc);
	assert_int_equal(ping(&ends[0], 0, 1, MS(100), &o, NULL), 0);
	pump(&q, ends, 0);
	pump(&q, ends, 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.status, -ENOSYS);
	teardown_ends(&q, ends);
}

static void test_pending_table_bounded(void **state)
{
	struct outcome o[CTL_RPC_MAX_PENDING + 1];
	struct end ends[2];
	struct msgq q;
	unsigned i;

	(void)state;
	memset(o, 0, sizeof(o));
	setup_ends(&q, ends);
	for (i = 0; i < CTL_RPC_MAX_PENDING; i++) {
		assert_int_equal(ping(&ends[0], 0, i, MS(100) + i, &o[i], NULL), 0);
		/* drop the request on the floor */
		free(q.msg[--q.n]);
	}
	assert_int_equal(ping(&ends[0], 0, 99, MS(100), &o[CTL_RPC_MAX_PENDING], NULL), -ENOBUFS);
	assert_int_equal(q.n, 0);
	/* one expires, a slot frees up */
	assert_int_equal(ctl_rpc_poll(ends[0].rpc, MS(100)), MS(100) + 1);
	assert_int_equal(o[0].calls, 1);
	assert_int_equal(ping(&ends[0], MS(100), 99, MS(100), &o[CTL_RPC_MAX_PENDING], NULL), 0);
	free(q.msg[--q.n]);
	/* freeing cancels the rest, each once */
	ctl_rpc_free(ends[0].rpc);
	ends[0].rpc = ctl_rpc_new(q_send, handler, &ends[0]);
	for (i = 1; i <= CTL_RPC_MAX_PENDING; i++) {
		assert_int_equal(o[i].calls, 1);
		assert_int_equal(o[i].status, -ECANCELED);
	}
	teardown_ends(&q, ends);
}

/* PING over two real channels on a perfect link with 15 ms one way. */
struct wired {
	struct ctl_channel *ch;
	struct ctl_rpc *rpc;
	struct wired *peer;
	uint8_t frames[64][1420];
	size_t flen[64];
	size_t nframes;
};

static int wire_send(void *user, const uint8_t *frame, size_t len)
{
	struct wired *w = user;

	assert_true(w->nframes < 64);
	memcpy(w->frames[w->nframes], frame, len);
	w->flen[w->nframes++] = len;
	return 0;
}

static void wire_deliver(void *user, uint64_t now, uint32_t msg_id, const uint8_t *msg, size_t len)
{
	struct wired *w = user;

	(void)msg_id;
	assert_int_equal(ctl_rpc_input(w->rpc, now, msg, len), 0);
}

static int rpc_to_channel(void *user, uint64_t now, const uint8_t *msg, size_t len)
{
	struct wired *w = user;

	return ctl_channel_send(w->ch, now, msg, len, NULL);
}

static void wire_handler(void *user, struct ctl_rpc *rpc, uint64_t now, uint32_t req_id,
			 uint32_t method, const uint8_t *body, size_t len)
{
	(void)user;
	assert_int_equal(method, CTL_MSG_PING);
	/* PONG echoes the PING body */
	assert_int_equal(ctl_rpc_respond(rpc, now, req_id, 0, body, len), 0);
}

static void test_ping_over_channel(void **state)
{
	struct wired *w = calloc(2, sizeof(*w));
	struct outcome o = {0};
	struct ctl_msg_ping p = {.mp_nonce = 77};
	struct ctl_codec_writer cw;
	uint8_t body[32];
	uint64_t now = MS(1000);
	size_t i, n[2];
	int k, sends;

	(void)state;
	assert_non_null(w);
	for (k = 0; k < 2; k++) {
		w[k].peer = &w[!k];
		w[k].ch = ctl_channel_new(NULL, wire_send, wire_deliver, &w[k]);
		w[k].rpc = ctl_rpc_new(rpc_to_channel, wire_handler, &w[k]);
		assert_non_null(w[k].ch);
		assert_non_null(w[k].rpc);
	}
	for (sends = 0; sends < 3; sends++) {
		memset(&o, 0, sizeof(o));
		p.mp_sent_ns = now;
		ctl_codec_writer_init(&cw, body, sizeof(body));
		assert_int_equal(ctl_msg_ping_encode(&cw, &p), 0);
		assert_int_equal(ctl_rpc_request(w[0].rpc, now, CTL_MSG_PING, body, cw.cw_len,
						 MS(5000), on_response, &o, NULL),
				 0);
		/* each 15 ms step carries the frames queued before it */
		while (o.calls == 0) {
			now += MS(15);
			n[0] = w[0].nframes;
			n[1] = w[1].nframes;
			for (k = 0; k < 2; k++) {
				for (i = 0; i < n[k]; i++)
					ctl_channel_receive(w[!k].ch, now, w[k].frames[i],
							    w[k].flen[i]);
			}
			for (k = 0; k < 2; k++) {
				memmove(w[k].frames, w[k].frames + n[k],
					(w[k].nframes - n[k]) * sizeof(w[k].frames[0]));
				memmove(w[k].flen, w[k].flen + n[k],
					(w[k].nframes - n[k]) * sizeof(w[k].flen[0]));
				w[k].nframes -= n[k];
			}
			for (k = 0; k < 2; k++) {
				ctl_channel_poll(w[k].ch, now);
				ctl_rpc_poll(w[k].rpc, now);
			}
			assert_true(now < MS(10000));
		}
		assert_int_equal(o.status, 0);
		assert_true(o.pong_ok);
		assert_int_equal(o.pong.mp_nonce, 77);
		/* request out, response back: two one-way trips */
		assert_int_equal(now - o.pong.mp_sent_ns, MS(30));
	}
	for (k = 0; k < 2; k++) {
		ctl_rpc_free(w[k].rpc);
		ctl_channel_free(w[k].ch);
	}
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_timeout_and_late_response),
		cmocka_unit_test(test_unmatched_and_duplicate_responses),
		cmocka_unit_test(test_malformed_envelopes),
		cmocka_unit_test(test_no_handler_answers_enosys),
		cmocka_unit_test(test_pending_table_bounded),
		cmocka_unit_test(test_ping_over_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
