/* The reliable channel between two endpoints joined by a simulated link: a
 * queue of frames in flight, with loss, duplication, reordering and delay
 * driven by a deterministic PRNG, and a simulated clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/frame.h"
#include "control/reliable.h"

#define MS(x)	 ((uint64_t)(x)*1000000ull)
#define MAX_IDS	 4096
#define NO_EVENT UINT64_MAX

struct sim;

struct node {
	struct sim *sim;
	int idx;
	struct ctl_channel *ch;
	uint32_t recv_count[MAX_IDS]; /* deliveries per message id */
	int done_status[MAX_IDS];     /* 1: none yet */
	uint64_t done_at[MAX_IDS];
	size_t sent_len[MAX_IDS]; /* length of each message this node sent */
	unsigned ndelivered, ndone_ok, ndone_fail;
	bool content_bad;
};

struct pkt {
	uint64_t at;
	uint64_t seq;
	int to;
	size_t len;
	uint8_t data[1420];
};

struct sim {
	uint64_t now;
	uint64_t rng;
	uint64_t delay;	  /* one way */
	unsigned loss;	  /* percent, each direction */
	unsigned dup;	  /* percent */
	unsigned reorder; /* percent of frames delayed by up to 2 * delay more */
	bool down;	  /* drop everything */
	struct pkt *q;
	size_t nq, capq;
	uint64_t seq;
	struct node node[2];
};

static uint8_t scratch[1 << 20];

static uint32_t rnd(struct sim *s)
{
	/* xorshift64*: deterministic, good enough for a link model */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

/* Content of message ID from node FROM, byte I. */
static uint8_t content(int from, uint32_t id, size_t i)
{
	return (uint8_t)(id * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)(i >> 9) ^
			 (uint32_t)from * 77u);
}

static int link_send(void *user, const uint8_t *frame, size_t len)
{
	struct node *n = user;
	struct sim *s = n->sim;
	unsigned copies, k;
	struct pkt *p;

	assert_true(len <= sizeof(s->q[0].data));
	if (s->down || rnd(s) % 100 < s->loss)
		return 0;
	copies = rnd(s) % 100 < s->dup ? 2 : 1;
	for (k = 0; k < copies; k++) {
		if (s->nq == s->capq) {
			s->capq = s->capq ? 2 * s->capq : 256;
			s->q = realloc(s->q, s->capq * sizeof(*s->q));
			assert_non_null(s->q);
		}
		p = &s->q[s->nq++];
		p->at = s->now + s->delay;
		if (rnd(s) % 100 < s->reorder)
			p->at += rnd(s) % (2 * s->delay + 1);
		p->seq = s->seq++;
		p->to = !n->idx;
		p->len = len;
		memcpy(p->data, frame, len);
	}
	return 0;
}

static void on_deliver(void *user, uint64_t now, uint32_t id, const uint8_t *msg, size_t len)
{
	struct node *n = user;
	struct node *peer = &n->sim->node[!n->idx];
	size_t i;

	(void)now;
	assert_true(id < MAX_IDS);
	n->recv_count[id]++;
	n->ndelivered++;
	if (len != peer->sent_len[id]) {
		n->content_bad = true;
		return;
	}
	for (i = 0; i < len; i++) {
		if (msg[i] != content(peer->idx, id, i)) {
			n->content_bad = true;
			return;
		}
	}
}

static void on_done(void *user, uint32_t id, int status)
{
	struct node *n = user;

	assert_true(id < MAX_IDS);
	assert_int_equal(n->done_status[id], 1);
	n->done_status[id] = status;
	n->done_at[id] = n->sim->now;
	if (status)
		n->ndone_fail++;
	else
		n->ndone_ok++;
}

static struct sim *sim_new(uint64_t seed, const struct ctl_channel_config *cfg)
{
	struct ctl_channel_config def;
	struct sim *s = calloc(1, sizeof(*s));
	int k, i;

	assert_non_null(s);
	if (!cfg) {
		ctl_channel_config_default(&def);
		cfg = &def;
	}
	def = *cfg;
	def.cc_done = on_done;
	s->rng = seed;
	s->delay = MS(10);
	s->now = MS(1000);
	for (k = 0; k < 2; k++) {
		s->node[k].sim = s;
		s->node[k].idx = k;
		for (i = 0; i < MAX_IDS; i++)
			s->node[k].done_status[i] = 1;
		s->node[k].ch = ctl_channel_new(&def, link_send, on_deliver, &s->node[k]);
		assert_non_null(s->node[k].ch);
	}
	return s;
}

static void sim_free(struct sim *s)
{
	ctl_channel_free(s->node[0].ch);
	ctl_channel_free(s->node[1].ch);
	free(s->q);
	free(s);
}

/* Deliver every frame due now and run both channels' timers. Returns the
 * time of the next event, NO_EVENT when nothing is left to happen. */
static uint64_t sim_process(struct sim *s)
{
	uint64_t next = NO_EVENT, d;
	size_t i, best;
	struct pkt p;
	int k;

	for (;;) {
		best = s->nq;
		for (i = 0; i < s->nq; i++)
			if (s->q[i].at <= s->now &&
			    (best == s->nq || s->q[i].at < s->q[best].at ||
			     (s->q[i].at == s->q[best].at && s->q[i].seq < s->q[best].seq)))
				best = i;
		if (best == s->nq)
			break;
		p = s->q[best];
		s->q[best] = s->q[--s->nq];
		ctl_channel_receive(s->node[p.to].ch, s->now, p.data, p.len);
	}
	for (k = 0; k < 2; k++) {
		d = ctl_channel_poll(s->node[k].ch, s->now);
		assert_true(d > s->now);
		if (d < next)
			next = d;
	}
	for (i = 0; i < s->nq; i++)
		if (s->q[i].at < next)
			next = s->q[i].at;
	return next;
}

/* Process what is due, then move the clock to the next event. */
static bool sim_step(struct sim *s)
{
	uint64_t next = sim_process(s);

	if (next == NO_EVENT)
		return false;
	s->now = next;
	return true;
}

/* Run until time T (the clock ends at T). */
static void sim_run_until(struct sim *s, uint64_t t)
{
	uint64_t next;

	for (;;) {
		next = sim_process(s);
		if (next > t) {
			s->now = t;
			return;
		}
		s->now = next;
	}
}

/* Send a message of LEN bytes with known content from node K. */
static int send_msg(struct sim *s, int k, size_t len)
{
	struct node *n = &s->node[k];
	struct ctl_channel_stats st;
	uint32_t id;
	size_t i;
	int err;

	/* Ids are assigned in order from 1, so the next id is known. */
	ctl_channel_stats(n->ch, &st);
	id = (uint32_t)st.cs_msgs_sent + 1;
	assert_true(id < MAX_IDS);
	for (i = 0; i < len; i++)
		scratch[i] = content(k, id, i);
	n->sent_len[id] = len;
	err = ctl_channel_send(n->ch, s->now, scratch, len, &id);
	if (!err)
		assert_int_equal(id, (uint32_t)st.cs_msgs_sent + 1);
	return err;
}

/* 200 messages of 1 B..64 KiB and one of 1 MiB from A to B, 50 from B to A,
 * over a link losing 20% each way and duplicating and reordering some:
 * each arrives exactly once and intact, every send is acknowledged. */
static void test_lossy_link(void **state)
{
	struct sim *s = sim_new(0x1234567, NULL);
	struct ctl_channel_stats sa, sb;
	unsigned sent_a = 0, sent_b = 0;
	const unsigned total_a = 201, total_b = 50;
	uint64_t limit;
	size_t len;
	uint32_t id;
	int err;

	(void)state;
	s->loss = 20;
	s->dup = 5;
	s->reorder = 10;
	limit = s->now + MS(600000);
	while (s->now < limit) {
		while (sent_a < total_a) {
			len = sent_a == 100 ? CTL_CHANNEL_MAX_MSG : 1 + rnd(s) % 65536;
			err = send_msg(s, 0, len);
			if (err == -ENOBUFS)
				break;
			assert_int_equal(err, 0);
			sent_a++;
		}
		while (sent_b < total_b) {
			err = send_msg(s, 1, 1 + rnd(s) % 3000);
			if (err == -ENOBUFS)
				break;
			assert_int_equal(err, 0);
			sent_b++;
		}
		if (s->node[0].ndone_ok + s->node[0].ndone_fail == total_a &&
		    s->node[1].ndone_ok + s->node[1].ndone_fail == total_b)
			break;
		if (!sim_step(s))
			break;
	}
	/* let stray duplicates and retransmissions play out */
	limit = s->now + MS(20000);
	while (s->now < limit && sim_step(s))
		;

	assert_int_equal(s->node[0].ndone_ok, total_a);
	assert_int_equal(s->node[1].ndone_ok, total_b);
	assert_int_equal(s->node[0].ndone_fail + s->node[1].ndone_fail, 0);
	assert_false(s->node[0].content_bad);
	assert_false(s->node[1].content_bad);
	for (id = 1; id <= total_a; id++)
		assert_int_equal(s->node[1].recv_count[id], 1);
	for (id = 1; id <= total_b; id++)
		assert_int_equal(s->node[0].recv_count[id], 1);
	assert_int_equal(s->node[1].ndelivered, total_a);
	assert_int_equal(s->node[0].ndelivered, total_b);

	ctl_channel_stats(s->node[0].ch, &sa);
	ctl_channel_stats(s->node[1].ch, &sb);
	assert_int_equal(sa.cs_msgs_acked, total_a);
	assert_int_equal(sb.cs_msgs_delivered, total_a);
	assert_true(sa.cs_frames_retransmitted > 0);
	assert_true(sb.cs_frames_duplicate > 0);
	assert_int_equal(sa.cs_tx_msgs, 0);
	assert_int_equal(sa.cs_tx_bytes, 0);
	assert_int_equal(sa.cs_in_flight, 0);
	assert_int_equal(sb.cs_rx_msgs, 0);
	assert_int_equal(sb.cs_rx_bytes, 0);
	print_message("lossy link: %llu s simulated, A sent %llu frames, %llu resent, "
		      "%llu acks from B, srtt %llu ms\n",
		      (unsigned long long)((s->now - MS(1000)) / MS(1000)),
		      (unsigned long long)sa.cs_frames_sent,
		      (unsigned long long)sa.cs_frames_retransmitted,
		      (unsigned long long)sb.cs_acks_sent,
		      (unsigned long long)(sa.cs_srtt / MS(1)));
	sim_free(s);
}

/* The same with ACK coalescing off and a small MTU. */
static void test_immediate_acks_small_frames(void **state)
{
	struct ctl_channel_config cfg;
	struct sim *s;
	unsigned sent = 0;
	uint32_t id;
	int err;

	(void)state;
	ctl_channel_config_default(&cfg);
	cfg.cc_ack_delay = 0;
	cfg.cc_max_frame = CTL_CHANNEL_MIN_FRAME;
	s = sim_new(99, &cfg);
	s->loss = 10;
	s->reorder = 20;
	while (s->node[0].ndone_ok < 20) {
		if (sent < 20) {
			err = send_msg(s, 0, sent * 1000 + 1);
			if (!err)
				sent++;
			else
				assert_int_equal(err, -ENOBUFS);
		}
		assert_true(sim_step(s));
	}
	for (id = 1; id <= 20; id++)
		assert_int_equal(s->node[1].recv_count[id], 1);
	assert_false(s->node[1].content_bad);
	sim_free(s);
}

/* The peer vanishes: bounded retransmissions, then -ETIMEDOUT for every
 * queued message, and nothing left behind. */
static void test_peer_vanishes(void **state)
{
	struct sim *s = sim_new(7, NULL);
	struct ctl_channel_stats st;
	uint64_t t0;
	uint32_t id;

	(void)state;
	assert_int_equal(send_msg(s, 0, 100), 0);
	while (s->node[0].ndone_ok < 1 && sim_step(s))
		;
	assert_false(s->node[0].ndone_ok < 1);
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(st.cs_frames_retransmitted, 0);

	s->down = true;
	t0 = s->now;
	assert_int_equal(send_msg(s, 0, 10), 0);
	assert_int_equal(send_msg(s, 0, 300000), 0);
	assert_int_equal(send_msg(s, 0, 1), 0);
	while (sim_step(s))
		;
	assert_int_equal(s->node[0].ndone_fail, 3);
	for (id = 2; id <= 4; id++) {
		assert_int_equal(s->node[0].done_status[id], -ETIMEDOUT);
		/* after the configured 10 s without progress, not much later */
		assert_true(s->node[0].done_at[id] >= t0 + MS(10000));
		assert_true(s->node[0].done_at[id] <= t0 + MS(10000) + MS(5000));
	}
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(st.cs_msgs_failed, 3);
	assert_int_equal(st.cs_tx_msgs, 0);
	assert_int_equal(st.cs_tx_bytes, 0);
	assert_int_equal(st.cs_in_flight, 0);
	/* a window's worth of fragments, each resent a bounded number of times */
	assert_true(st.cs_frames_retransmitted <= 64 * 16);
	assert_int_equal(ctl_channel_poll(s->node[0].ch, s->now), NO_EVENT);
	sim_free(s);
}

/* With no progress at all, each fragment is still bounded by max_retries. */
static void test_retry_limit(void **state)
{
	struct ctl_channel_config cfg;
	struct ctl_channel_stats st;
	struct sim *s;

	(void)state;
	ctl_channel_config_default(&cfg);
	cfg.cc_max_retries = 3;
	cfg.cc_msg_timeout = MS(3600000);
	s = sim_new(8, &cfg);
	s->down = true;
	assert_int_equal(send_msg(s, 0, 5000), 0);
	while (sim_step(s))
		;
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(s->node[0].done_status[1], -ETIMEDOUT);
	assert_int_equal(st.cs_frames_sent, 4);
	assert_int_equal(st.cs_frames_retransmitted, 4 * 3);
	/* RTO 1 s, backed off at most 4x: timeouts of 1 + 2 + 4 + 4 s */
	assert_int_equal(s->node[0].done_at[1], MS(1000) + MS(11000));
	sim_free(s);
}

/* RFC 6298 estimate converges to the link's round trip (+ the ACK delay). */
static void test_rtt_converges(void **state)
{
	struct sim *s = sim_new(5, NULL);
	struct ctl_channel_stats st;
	int i;

	(void)state;
	s->delay = MS(25);
	for (i = 0; i < 60; i++) {
		assert_int_equal(send_msg(s, 0, 200), 0);
		sim_run_until(s, s->now + MS(100));
	}
	ctl_channel_stats(s->node[0].ch, &st);
	print_message("rtt: srtt %llu us, rttvar %llu us, rto %llu ms\n",
		      (unsigned long long)(st.cs_srtt / 1000),
		      (unsigned long long)(st.cs_rttvar / 1000),
		      (unsigned long long)(st.cs_rto / MS(1)));
	assert_true(st.cs_srtt >= MS(50));
	assert_true(st.cs_srtt <= MS(50) + MS(3));
	assert_true(st.cs_rttvar <= MS(2));
	assert_int_equal(st.cs_rto, MS(200)); /* clamped at the minimum */
	assert_int_equal(s->node[0].ndone_ok, 60);
	sim_free(s);
}

/* Frames a hostile peer crafts by hand. */
static int hostile_data(struct ctl_channel *ch, uint64_t now, uint32_t epoch, uint32_t base,
			uint32_t id, uint32_t total, uint32_t count, uint32_t index)
{
	struct ctl_frame_data d = {
		.fd_epoch = epoch, .fd_base = base, .fd_seq = id, .fd_msg_id = id};
	uint8_t frame[1420];
	uint32_t off, len;
	int n;

	d.fd_total_len = total;
	d.fd_count = (uint16_t)count;
	d.fd_index = (uint16_t)index;
	assert_int_equal(ctl_frame_frag_span(total, count, index, &off, &len), 0);
	d.fd_payload = scratch + off;
	d.fd_payload_len = len;
	n = ctl_frame_encode_data(frame, sizeof(frame), &d);
	assert_true(n > 0);
	return ctl_channel_receive(ch, now, frame, (size_t)n);
}

static int count_frames(void *user, const uint8_t *frame, size_t len)
{
	(void)frame;
	(void)len;
	(*(unsigned *)user)++;
	return 0;
}

static void count_deliver(void *user, uint64_t now, uint32_t id, const uint8_t *msg, size_t len)
{
	(void)user;
	(void)now;
	(void)id;
	(void)msg;
	(void)len;
	fail_msg("hostile peer got a message delivered");
}

/* Announcing many huge messages cannot push reassembly memory past the
 * budget; idle partial messages are dropped later. */
static void test_hostile_reassembly_budget(void **state)
{
	struct ctl_channel_config cfg;
	struct ctl_channel_stats st;
	struct ctl_channel *ch;
	uint64_t now = MS(1000);
	unsigned frames = 0, accepted = 0, refused = 0;
	uint32_t id, e;
	int err;

	(void)state;
	ctl_channel_config_default(&cfg);
	ch = ctl_channel_new(&cfg, count_frames, count_deliver, &frames);
	assert_non_null(ch);
	/* 1000 messages of 1 MiB in 61681 tiny fragments each (the most a
	 * valid split allows), first fragment only */
	for (id = 1; id <= 1000; id++) {
		err = hostile_data(ch, now, 42, 1, id, CTL_CHANNEL_MAX_MSG, 61681, 0);
		if (err == 0)
			accepted++;
		else if (err == -ENOBUFS)
			refused++;
		else
			fail_msg("unexpected %d", err);
		ctl_channel_stats(ch, &st);
		assert_true(st.cs_rx_bytes <= cfg.cc_rx_budget);
	}
	assert_int_equal(accepted, 2);
	assert_int_equal(refused, 998);
	/* many small multi-fragment messages: capped by count as well */
	for (id = 1001; id <= 1024; id++)
		hostile_data(ch, now, 42, 1, id, 3000, 3, 0);
	ctl_channel_stats(ch, &st);
	assert_true(st.cs_rx_bytes <= cfg.cc_rx_budget);
	assert_true(st.cs_rx_msgs <= cfg.cc_rx_max_msgs);
	/* ids beyond the window, oversized messages */
	assert_int_equal(hostile_data(ch, now, 42, 1, 1 + CTL_CHANNEL_ID_WINDOW + 1, 10, 1, 0),
			 -ERANGE);
	assert_int_equal(hostile_data(ch, now, 42, 1, 5, CTL_CHANNEL_MAX_MSG + 1, 61681, 0),
			 -EMSGSIZE);
	/* epoch churn frees everything each time and stays bounded */
	for (e = 100; e < 200; e++) {
		hostile_data(ch, now, e, 1, 1, CTL_CHANNEL_MAX_MSG, 753, 0);
		hostile_data(ch, now, e, 1, 2, CTL_CHANNEL_MAX_MSG, 753, 3);
		hostile_data(ch, now, e, 1, 3, CTL_CHANNEL_MAX_MSG, 753, 3);
		ctl_channel_stats(ch, &st);
		assert_true(st.cs_rx_bytes <= cfg.cc_rx_budget);
		assert_int_equal(st.cs_rx_msgs, 2);
	}
	/* a retired epoch is refused */
	assert_int_equal(hostile_data(ch, now, 198, 1, 9, 10, 1, 0), -ESTALE);
	/* a base far ahead forgets everything before it */
	assert_int_equal(hostile_data(ch, now, 199, 500000, 500000, 5000, 4, 1), 0);
	ctl_channel_stats(ch, &st);
	assert_int_equal(st.cs_rx_msgs, 1);
	assert_true(st.cs_rx_bytes < 6000);
	/* idle partial messages go after cc_rx_timeout */
	assert_true(ctl_channel_poll(ch, now) <= now + cfg.cc_rx_timeout);
	ctl_channel_poll(ch, now + cfg.cc_rx_timeout);
	ctl_channel_stats(ch, &st);
	assert_int_equal(st.cs_rx_msgs, 0);
	assert_int_equal(st.cs_rx_bytes, 0);
	assert_true(frames > 0); /* it was acked all along */
	ctl_channel_free(ch);
}

/* ACKs for things never sent, for unknown epochs, or absurd: harmless. */
static void test_hostile_acks(void **state)
{
	struct sim *s = sim_new(11, NULL);
	struct ctl_frame_range r[2] = {{1, 0, CTL_FRAME_ACK_ALL}, {2, 0, 5}};
	struct ctl_channel_stats st;
	uint8_t frame[64];
	int n;

	(void)state;
	s->down = true;
	assert_int_equal(send_msg(s, 0, 50000), 0);
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(st.cs_in_flight, 36);
	n = ctl_frame_encode_ack(frame, sizeof(frame), 12345, 0xffffff, 1, r, 2);
	assert_int_equal(ctl_channel_receive(s->node[0].ch, s->now, frame, (size_t)n), -ESTALE);
	/* garbage is counted and dropped */
	assert_int_equal(ctl_channel_receive(s->node[0].ch, s->now, frame, 3), -EBADMSG);
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(st.cs_frames_dropped, 2);
	assert_int_equal(st.cs_tx_msgs, 1);
	sim_free(s);
}

/* After the peer restarts (new channel, new epoch, ids from 1 again) its
 * messages are delivered, not mistaken for duplicates. */
static void test_peer_restart(void **state)
{
	struct sim *s = sim_new(21, NULL);
	struct ctl_channel_config cfg;
	uint32_t id;

	(void)state;
	for (id = 1; id <= 5; id++)
		assert_int_equal(send_msg(s, 0, 3000), 0);
	while (s->node[0].ndone_ok < 5 && sim_step(s))
		;
	assert_false(s->node[0].ndone_ok < 5);
	assert_int_equal(s->node[1].ndelivered, 5);

	ctl_channel_free(s->node[0].ch);
	ctl_channel_config_default(&cfg);
	cfg.cc_done = on_done;
	s->node[0].ch = ctl_channel_new(&cfg, link_send, on_deliver, &s->node[0]);
	assert_non_null(s->node[0].ch);
	for (id = 1; id < MAX_IDS; id++)
		s->node[0].done_status[id] = 1;
	s->node[0].ndone_ok = 0;
	memset(s->node[1].recv_count, 0, sizeof(s->node[1].recv_count));
	for (id = 1; id <= 3; id++)
		assert_int_equal(send_msg(s, 0, 100), 0);
	while (s->node[0].ndone_ok < 3 && sim_step(s))
		;
	assert_false(s->node[0].ndone_ok < 3);
	for (id = 1; id <= 3; id++)
		assert_int_equal(s->node[1].recv_count[id], 1);
	assert_int_equal(s->node[1].ndelivered, 8);
	assert_false(s->node[1].content_bad);
	sim_free(s);
}

static void test_send_limits(void **state)
{
	struct ctl_channel_config cfg;
	struct ctl_channel_stats st;
	struct sim *s;
	int i;

	(void)state;
	ctl_channel_config_default(&cfg);
	cfg.cc_tx_max_msgs = 10;
	s = sim_new(3, &cfg);
	s->down = true;
	assert_int_equal(
		ctl_channel_send(s->node[0].ch, s->now, scratch, CTL_CHANNEL_MAX_MSG + 1, NULL),
		-EMSGSIZE);
	for (i = 0; i < 10; i++)
		assert_int_equal(send_msg(s, 0, 10), 0);
	assert_int_equal(send_msg(s, 0, 10), -ENOBUFS);
	ctl_channel_stats(s->node[0].ch, &st);
	assert_int_equal(st.cs_tx_msgs, 10);
	sim_free(s);

	/* byte budget: four 1 MiB messages do not fit in 4 MiB with overhead */
	s = sim_new(4, NULL);
	s->down = true;
	for (i = 0; i < 3; i++)
		assert_int_equal(send_msg(s, 0, CTL_CHANNEL_MAX_MSG), 0);
	assert_int_equal(send_msg(s, 0, CTL_CHANNEL_MAX_MSG), -ENOBUFS);
	assert_int_equal(send_msg(s, 0, 1000), 0);
	sim_free(s);

	/* bad configurations */
	ctl_channel_config_default(&cfg);
	cfg.cc_max_frame = CTL_CHANNEL_MIN_FRAME - 1;
	assert_null(ctl_channel_new(&cfg, count_frames, count_deliver, NULL));
	assert_int_equal(errno, EINVAL);
	ctl_channel_config_default(&cfg);
	cfg.cc_max_retries = 255;
	assert_null(ctl_channel_new(&cfg, count_frames, count_deliver, NULL));
	assert_null(ctl_channel_new(NULL, NULL, count_deliver, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lossy_link),
		cmocka_unit_test(test_immediate_acks_small_frames),
		cmocka_unit_test(test_peer_vanishes),
		cmocka_unit_test(test_retry_limit),
		cmocka_unit_test(test_rtt_converges),
		cmocka_unit_test(test_hostile_reassembly_budget),
		cmocka_unit_test(test_hostile_acks),
		cmocka_unit_test(test_peer_restart),
		cmocka_unit_test(test_send_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
