#include "control/reliable.h"

#include "control/frame.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MS(x) ((uint64_t)(x)*1000000ull)

#define ID_WINDOW	  CTL_CHANNEL_ID_WINDOW
#define DUP_THRESH	  3  /* later fragments acked before one counts as lost */
#define ACK_PENDING_MAX	  16 /* messages remembered for the next ACK */
#define ACK_RUNS_PER_MSG  32 /* ranges one message may take in one ACK */
#define RETIRED_EPOCHS	  4
#define MAX_BACKOFF	  2 /* doublings of the RTO for one fragment */
#define CLOCK_GRANULARITY MS(1)

struct txfrag {
	uint64_t sent_at; /* last transmission */
	uint32_t seq;	  /* channel send sequence of the last transmission */
	uint8_t tx;	  /* transmissions so far; 0 = never sent */
	uint8_t timeouts; /* of those, resends because its timer expired */
	bool acked;
};

/* One recent transmission, found again by the seq an ACK echoes. */
struct txlog {
	uint32_t seq;
	bool used;
	bool first; /* a first transmission, so a fair RTT sample (Karn) */
	uint64_t sent_at;
};

struct txmsg {
	struct txmsg *prev, *next; /* queue, oldest id first */
	uint32_t id;
	uint32_t len;
	uint32_t count;
	uint32_t next_unsent;	/* fragments below were sent at least once */
	uint32_t first_unacked; /* fragments below are all acknowledged */
	uint32_t nacked;
	uint64_t queued_at;
	size_t cost;
	struct txfrag *frags; /* COUNT entries, same allocation */
	uint8_t *data;	      /* LEN bytes, same allocation */
};

struct rxmsg {
	struct rxmsg *next;
	uint32_t id;
	uint32_t total;
	uint32_t count;
	uint32_t nrecv;
	uint32_t first_missing; /* every fragment below is received */
	uint64_t last_activity;
	size_t cost;
	uint8_t *bits; /* received fragments, same allocation */
	uint8_t *data; /* TOTAL bytes, same allocation */
};

struct ctl_channel {
	struct ctl_channel_config cfg;
	ctl_channel_send_fn send;
	ctl_channel_deliver_fn deliver;
	void *user;
	uint8_t *frame;			/* scratch, cfg.cc_max_frame bytes */
	struct ctl_frame_range *ranges; /* scratch, one ACK's worth */
	size_t ranges_cap;

	/* sending */
	uint32_t epoch;
	uint32_t next_id;
	struct txmsg *tx_head, *tx_tail;
	struct txmsg *tx_ring[ID_WINDOW]; /* by id % ID_WINDOW */
	uint32_t tx_nmsgs;
	size_t tx_mem;
	uint32_t in_flight;
	uint32_t tx_seq;
	uint32_t acked_seq_max; /* highest seq the peer echoed */
	struct txlog *txlog;	/* by seq % txlog_len */
	size_t txlog_len;
	uint64_t last_progress; /* last time an ACK acknowledged something new */
	uint64_t srtt, rttvar, rto;
	bool rtt_valid;

	/* receiving */
	uint32_t rx_epoch; /* 0: none seen yet */
	uint32_t rx_retired[RETIRED_EPOCHS];
	unsigned rx_retired_next;
	uint32_t rx_cum;		/* every id up to here is delivered */
	uint32_t rx_echo;		/* highest DATA seq received */
	uint8_t rx_done[ID_WINDOW / 8]; /* ids in (cum, cum + ID_WINDOW] delivered */
	struct rxmsg *rx_list;
	uint32_t rx_nmsgs;
	size_t rx_mem;
	uint32_t ack_ids[ACK_PENDING_MAX]; /* messages touched since the last ACK */
	unsigned ack_nids;
	bool ack_needed;
	bool ack_armed;
	uint32_t ack_frames;
	uint64_t ack_deadline;

	struct ctl_channel_stats st;
};

/* Serial number comparison: > 0 when A is after B. */
static int32_t sdiff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool bit_get(const uint8_t *bits, uint32_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *bits, uint32_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void bit_clear(uint8_t *bits, uint32_t i)
{
	bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

void ctl_channel_config_default(struct ctl_channel_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cc_max_frame = 1420;
	cfg->cc_window = 64;
	cfg->cc_max_retries = 16;
	cfg->cc_msg_timeout = MS(10000);
	cfg->cc_rto_initial = MS(1000);
	cfg->cc_rto_min = MS(200);
	cfg->cc_rto_max = MS(5000);
	cfg->cc_ack_delay = MS(2);
	cfg->cc_ack_every = 8;
	cfg->cc_tx_budget = 4u << 20;
	cfg->cc_tx_max_msgs = 256;
	cfg->cc_rx_budget = (2u << 20) + (64u << 10);
	cfg->cc_rx_max_msgs = 64;
	cfg->cc_rx_timeout = MS(60000);
}

static bool config_valid(const struct ctl_channel_config *c)
{
	return c->cc_max_frame >= CTL_CHANNEL_MIN_FRAME && c->cc_max_frame <= 65535 &&
	       c->cc_window >= 1 && c->cc_window <= 4096 && c->cc_max_retries <= 254 &&
	       c->cc_msg_timeout > 0 && c->cc_rto_min > 0 && c->cc_rto_min <= c->cc_rto_initial &&
	       c->cc_rto_initial <= c->cc_rto_max && c->cc_rto_max <= MS(3600000) &&
	       c->cc_ack_every >= 1 && c->cc_tx_max_msgs >= 1 && c->cc_tx_max_msgs <= ID_WINDOW &&
	       c->cc_rx_max_msgs >= 1 && c->cc_rx_timeout > 0;
}

struct ctl_channel *ctl_channel_new(const struct ctl_channel_config *cfg, ctl_channel_send_fn send,
				    ctl_channel_deliver_fn deliver, void *user)
{
	struct ctl_channel *ch = NULL;
	struct ctl_channel_config def;

	if (!cfg) {
		ctl_channel_config_default(&def);
		cfg = &def;
	}
	if (!send || !deliver || !config_valid(cfg)) {
		errno = EINVAL;
		goto fail;
	}
	if (sodium_init() < 0) {
		errno = ENOMEM;
		goto fail;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		goto fail;
	ch->cfg = *cfg;
	ch->send = send;
	ch->deliver = deliver;
	ch->user = user;
	ch->ranges_cap = ctl_frame_ack_capacity(cfg->cc_max_frame);
	ch->frame = malloc(cfg->cc_max_frame);
	ch->ranges = calloc(ch->ranges_cap, sizeof(*ch->ranges));
	/* Echoes name frames sent about one RTT ago: a few windows back. */
	ch->txlog_len = 4 * (size_t)cfg->cc_window;
	ch->txlog = calloc(ch->txlog_len, sizeof(*ch->txlog));
	if (!ch->frame || !ch->ranges || !ch->txlog) {
		errno = ENOMEM;
		goto fail;
	}
	while (!ch->epoch)
		randombytes_buf(&ch->epoch, sizeof(ch->epoch));
	ch->next_id = 1;
	ch->rto = cfg->cc_rto_initial;
	return ch;
fail:
	ctl_channel_free(ch);
	return NULL;
}

static void rx_reset(struct ctl_channel *ch)
{
	struct rxmsg *r;

	while ((r = ch->rx_list)) {
		ch->rx_list = r->next;
		free(r);
	}
	ch->rx_nmsgs = 0;
	ch->rx_mem = 0;
	memset(ch->rx_done, 0, sizeof(ch->rx_done));
	ch->ack_nids = 0;
	ch->ack_needed = false;
	ch->ack_armed = false;
	ch->ack_frames = 0;
}

void ctl_channel_free(struct ctl_channel *ch)
{
	struct txmsg *m;

	if (!ch)
		return;
	while ((m = ch->tx_head)) {
		ch->tx_head = m->next;
		free(m);
	}
	rx_reset(ch);
	free(ch->frame);
	free(ch->ranges);
	free(ch->txlog);
	free(ch);
}

/* ---- RTT estimation (RFC 6298) ---- */

static void rtt_sample(struct ctl_channel *ch, uint64_t r)
{
	uint64_t delta;

	if (!ch->rtt_valid) {
		ch->srtt = r;
		ch->rttvar = r / 2;
		ch->rtt_valid = true;
	} else {
		delta = ch->srtt > r ? ch->srtt - r : r - ch->srtt;
		ch->rttvar = (3 * ch->rttvar + delta) / 4;
		ch->srtt = (7 * ch->srtt + r) / 8;
	}
	/* The peer may hold an ACK back for up to ack_delay on purpose. */
	ch->rto = ch->srtt + max64(CLOCK_GRANULARITY, 4 * ch->rttvar) + ch->cfg.cc_ack_delay;
	ch->rto = min64(max64(ch->rto, ch->cfg.cc_rto_min), ch->cfg.cc_rto_max);
}

/* When fragment F is due for a resend. Its timeout doubles per expiry, but
 * only while nothing at all got acknowledged since it was last sent (ACKs
 * prove the peer alive and the loss random: backing off then would only
 * stall the window), and at most MAX_BACKOFF times: control messages are
 * small, so a lossy path can afford a try every 4 RTO (800 ms at the floor).
 * With 8x, a request on an idle channel with 20% loss each way got only five
 * tries in 5 s and one ping in a hundred timed out. */
static uint64_t frag_deadline(const struct ctl_channel *ch, const struct txfrag *f)
{
	uint64_t rto = ch->rto;
	unsigned k;

	if (ch->last_progress <= f->sent_at)
		for (k = 0; k < f->timeouts && k < MAX_BACKOFF; k++)
			rto *= 2;
	return f->sent_at + min64(rto, ch->cfg.cc_rto_max);
}

/* ---- sending ---- */

static uint32_t tx_base(const struct ctl_channel *ch)
{
	return ch->tx_head ? ch->tx_head->id : ch->next_id;
}

static struct txmsg *tx_find(const struct ctl_channel *ch, uint32_t id)
{
	struct txmsg *m = ch->tx_ring[id % ID_WINDOW];

	return m && m->id == id ? m : NULL;
}

static void tx_unlink(struct ctl_channel *ch, struct txmsg *m)
{
	uint32_t i;

	if (m->prev)
		m->prev->next = m->next;
	else
		ch->tx_head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		ch->tx_tail = m->prev;
	m->prev = m->next = NULL;
	ch->tx_ring[m->id % ID_WINDOW] = NULL;
	ch->tx_nmsgs--;
	ch->tx_mem -= m->cost;
	for (i = m->first_unacked; i < m->next_unsent; i++)
		if (!m->frags[i].acked)
			ch->in_flight--;
}

static void transmit(struct ctl_channel *ch, struct txmsg *m, uint32_t i, uint64_t now)
{
	struct txfrag *f = &m->frags[i];
	struct ctl_frame_data d;
	struct txlog *l;
	uint32_t off, len;
	int n;

	ctl_frame_frag_span(m->len, m->count, i, &off, &len);
	d.fd_epoch = ch->epoch;
	d.fd_base = tx_base(ch);
	d.fd_msg_id = m->id;
	d.fd_total_len = m->len;
	d.fd_index = (uint16_t)i;
	d.fd_count = (uint16_t)m->count;
	d.fd_payload = m->data + off;
	d.fd_payload_len = len;
	if (f->tx == 0) {
		ch->in_flight++;
		ch->st.cs_frames_sent++;
	} else {
		ch->st.cs_frames_retransmitted++;
	}
	if (f->tx < UINT8_MAX)
		f->tx++;
	f->sent_at = now;
	f->seq = ++ch->tx_seq;
	l = &ch->txlog[f->seq % ch->txlog_len];
	l->seq = f->seq;
	l->used = true;
	l->first = f->tx == 1;
	l->sent_at = now;
	d.fd_seq = f->seq;
	n = ctl_frame_encode_data(ch->frame, ch->cfg.cc_max_frame, &d);
	if (n > 0)
		ch->send(ch->user, ch->frame, (size_t)n);
}

/* Send new fragments, oldest message first, while the window has room. */
static void fill_window(struct ctl_channel *ch, uint64_t now)
{
	struct txmsg *m;

	for (m = ch->tx_head; m && ch->in_flight < ch->cfg.cc_window; m = m->next)
		while (m->next_unsent < m->count && ch->in_flight < ch->cfg.cc_window)
			transmit(ch, m, m->next_unsent++, now);
}

int ctl_channel_send(struct ctl_channel *ch, uint64_t now, const void *msg, size_t len,
		     uint32_t *msg_id)
{
	struct txmsg *m;
	uint32_t count;
	size_t cost;

	if (len > CTL_CHANNEL_MAX_MSG)
		return -EMSGSIZE;
	count = ctl_frame_frag_count((uint32_t)len, ch->cfg.cc_max_frame);
	if (!count)
		return -EMSGSIZE;
	cost = sizeof(*m) + count * sizeof(struct txfrag) + len;
	if (ch->tx_nmsgs >= ch->cfg.cc_tx_max_msgs || ch->next_id - tx_base(ch) >= ID_WINDOW ||
	    cost > ch->cfg.cc_tx_budget - min64(ch->tx_mem, ch->cfg.cc_tx_budget))
		return -ENOBUFS;
	m = calloc(1, cost);
	if (!m)
		return -ENOMEM;
	m->frags = (struct txfrag *)(m + 1);
	m->data = (uint8_t *)(m->frags + count);
	if (len)
		memcpy(m->data, msg, len);
	m->id = ch->next_id++;
	m->len = (uint32_t)len;
	m->count = count;
	m->queued_at = now;
	m->cost = cost;
	m->prev = ch->tx_tail;
	if (ch->tx_tail)
		ch->tx_tail->next = m;
	else
		ch->tx_head = m;
	ch->tx_tail = m;
	ch->tx_ring[m->id % ID_WINDOW] = m;
	ch->tx_nmsgs++;
	ch->tx_mem += cost;
	ch->st.cs_msgs_sent++;
	if (msg_id)
		*msg_id = m->id;
	fill_window(ch, now);
	return 0;
}

/* Finish messages on LIST (linked by next): report and free. */
static void tx_report(struct ctl_channel *ch, struct txmsg *list, int status)
{
	struct txmsg *m;

	while ((m = list)) {
		list = m->next;
		if (status)
			ch->st.cs_msgs_failed++;
		else
			ch->st.cs_msgs_acked++;
		if (ch->cfg.cc_done)
			ch->cfg.cc_done(ch->user, m->id, status);
		free(m);
	}
}

/* Acknowledge fragment I of M. */
static bool ack_frag(struct ctl_channel *ch, struct txmsg *m, uint32_t i)
{
	struct txfrag *f = &m->frags[i];

	if (f->acked || f->tx == 0)
		return false;
	f->acked = true;
	m->nacked++;
	ch->in_flight--;
	while (m->first_unacked < m->count && m->frags[m->first_unacked].acked)
		m->first_unacked++;
	return true;
}

static int rx_ack(struct ctl_channel *ch, uint64_t now, const struct ctl_frame_ack *a)
{
	struct txmsg *m, *next, *done = NULL, **done_tail = &done;
	struct ctl_frame_range r;
	struct txlog *l;
	bool progress = false;
	uint32_t i, hi;
	size_t k;

	if (a->fa_epoch != ch->epoch)
		return -ESTALE;
	/* Only fragments we actually sent can be acknowledged: a peer cannot
	 * make us drop a message unsent. */
	for (m = ch->tx_head; m && sdiff(m->id, a->fa_cum) <= 0; m = m->next)
		for (i = m->first_unacked; i < m->next_unsent; i++)
			progress |= ack_frag(ch, m, i);
	for (k = 0; k < a->fa_nranges; k++) {
		ctl_frame_ack_range(a, k, &r);
		m = tx_find(ch, r.fr_msg_id);
		if (!m)
			continue;
		hi = r.fr_hi < m->next_unsent ? r.fr_hi : m->next_unsent - 1;
		for (i = r.fr_lo > m->first_unacked ? r.fr_lo : m->first_unacked;
		     i <= hi && i < m->next_unsent; i++)
			progress |= ack_frag(ch, m, i);
	}
	if (progress)
		ch->last_progress = now;
	/* The echo names the newest frame the peer got, exactly: an RTT
	 * sample unless it was a resend (Karn), and the mark for detecting
	 * loss among frames sent before it. */
	l = &ch->txlog[a->fa_echo % ch->txlog_len];
	if (l->used && l->seq == a->fa_echo && sdiff(a->fa_echo, ch->acked_seq_max) > 0) {
		ch->acked_seq_max = a->fa_echo;
		if (l->first)
			rtt_sample(ch, now - l->sent_at);
	}
	for (m = ch->tx_head; m; m = next) {
		next = m->next;
		if (m->nacked == m->count) {
			tx_unlink(ch, m);
			*done_tail = m;
			done_tail = &m->next;
		}
	}
	/* Fast retransmit: DUP_THRESH fragments sent later already arrived. */
	for (m = ch->tx_head; m && m->next_unsent; m = m->next)
		for (i = m->first_unacked; i < m->next_unsent; i++)
			if (!m->frags[i].acked &&
			    sdiff(ch->acked_seq_max, m->frags[i].seq) >= DUP_THRESH)
				transmit(ch, m, i, now);
	fill_window(ch, now);
	tx_report(ch, done, 0);
	return 0;
}

/* ---- receiving ---- */

static struct rxmsg *rx_find(const struct ctl_channel *ch, uint32_t id)
{
	struct rxmsg *r;

	for (r = ch->rx_list; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void rx_remove(struct ctl_channel *ch, struct rxmsg *r)
{
	struct rxmsg **pp;

	for (pp = &ch->rx_list; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			ch->rx_nmsgs--;
			ch->rx_mem -= r->cost;
			return;
		}
	}
}

/* Move the cumulative point to CUM (forward only), forgetting what falls out
 * of the window, then over any delivered ids that follow. */
static void rx_advance(struct ctl_channel *ch, uint32_t cum)
{
	struct rxmsg *r, *next;
	uint32_t d = cum - ch->rx_cum, k;

	if (sdiff(cum, ch->rx_cum) > 0) {
		if (d >= ID_WINDOW)
			memset(ch->rx_done, 0, sizeof(ch->rx_done));
		else
			for (k = 1; k <= d; k++)
				bit_clear(ch->rx_done, (ch->rx_cum + k) % ID_WINDOW);
		ch->rx_cum = cum;
		for (r = ch->rx_list; r; r = next) {
			next = r->next;
			if (sdiff(r->id, cum) <= 0) {
				rx_remove(ch, r);
				free(r);
			}
		}
	}
	while (bit_get(ch->rx_done, (ch->rx_cum + 1) % ID_WINDOW)) {
		ch->rx_cum++;
		bit_clear(ch->rx_done, ch->rx_cum % ID_WINDOW);
	}
}

static void ack_send(struct ctl_channel *ch, size_t n)
{
	int len = ctl_frame_encode_ack(ch->frame, ch->cfg.cc_max_frame, ch->rx_epoch, ch->rx_cum,
				       ch->rx_echo, ch->ranges, n);

	if (len > 0)
		ch->send(ch->user, ch->frame, (size_t)len);
	ch->st.cs_acks_sent++;
}

/* Append a range to the ACK being built, sending it when full. */
static void ack_add(struct ctl_channel *ch, size_t *n, bool *sent, uint32_t id, uint32_t lo,
		    uint32_t hi)
{
	ch->ranges[(*n)++] = (struct ctl_frame_range){id, (uint16_t)lo, (uint16_t)hi};
	if (*n == ch->ranges_cap) {
		ack_send(ch, *n);
		*n = 0;
		*sent = true;
	}
}

/* Describe what we hold of a partial message: its received prefix, then the
 * runs after the first hole. Every ACK repeats them (as TCP repeats SACK
 * blocks), so one lost ACK costs no retransmission. */
static void ack_partial(struct ctl_channel *ch, const struct rxmsg *r, size_t *n, bool *sent)
{
	unsigned runs = 0;
	uint32_t i, lo;

	if (r->first_missing) {
		ack_add(ch, n, sent, r->id, 0, r->first_missing - 1);
		runs++;
	}
	for (i = r->first_missing; i < r->count && runs < ACK_RUNS_PER_MSG; runs++) {
		while (i < r->count && !bit_get(r->bits, i))
			i++;
		if (i == r->count)
			break;
		lo = i;
		while (i < r->count && bit_get(r->bits, i))
			i++;
		ack_add(ch, n, sent, r->id, lo, i - 1);
	}
}

static void flush_acks(struct ctl_channel *ch)
{
	struct rxmsg *r;
	bool sent = false;
	size_t n = 0;
	unsigned k;
	uint32_t id;

	if (!ch->ack_needed)
		return;
	for (k = 0; k < ch->ack_nids; k++) {
		id = ch->ack_ids[k];
		if (sdiff(id, ch->rx_cum) <= 0)
			continue;
		if (bit_get(ch->rx_done, id % ID_WINDOW))
			ack_add(ch, &n, &sent, id, 0, CTL_FRAME_ACK_ALL);
		else if ((r = rx_find(ch, id)))
			ack_partial(ch, r, &n, &sent);
	}
	if (n || !sent)
		ack_send(ch, n);
	ch->ack_nids = 0;
	ch->ack_needed = false;
	ch->ack_armed = false;
	ch->ack_frames = 0;
}

/* Remember that the next ACK should mention ID. */
static void ack_note(struct ctl_channel *ch, uint32_t id)
{
	unsigned k;

	for (k = 0; k < ch->ack_nids; k++)
		if (ch->ack_ids[k] == id)
			goto out;
	if (ch->ack_nids == ACK_PENDING_MAX)
		flush_acks(ch);
	ch->ack_ids[ch->ack_nids++] = id;
out:
	ch->ack_needed = true;
}

/* A DATA frame was taken: ACK now or arm the delayed ACK. */
static void ack_schedule(struct ctl_channel *ch, uint64_t now)
{
	ch->ack_needed = true;
	if (ch->cfg.cc_ack_delay == 0 || ++ch->ack_frames >= ch->cfg.cc_ack_every) {
		flush_acks(ch);
	} else if (!ch->ack_armed) {
		ch->ack_armed = true;
		ch->ack_deadline = now + ch->cfg.cc_ack_delay;
	}
}

/* Follow the sender's epoch; a new one means the sender restarted. */
static int rx_epoch(struct ctl_channel *ch, uint32_t epoch, uint32_t base, uint32_t seq)
{
	unsigned k;

	if (epoch == ch->rx_epoch)
		return 0;
	for (k = 0; k < RETIRED_EPOCHS; k++)
		if (ch->rx_retired[k] == epoch)
			return -ESTALE;
	if (ch->rx_epoch) {
		ch->rx_retired[ch->rx_retired_next] = ch->rx_epoch;
		ch->rx_retired_next = (ch->rx_retired_next + 1) % RETIRED_EPOCHS;
	}
	rx_reset(ch);
	ch->rx_epoch = epoch;
	ch->rx_cum = base - 1;
	ch->rx_echo = seq;
	return 0;
}

static void rx_complete(struct ctl_channel *ch, uint64_t now, uint32_t id, const uint8_t *msg,
			size_t len)
{
	bit_set(ch->rx_done, id % ID_WINDOW);
	rx_advance(ch, ch->rx_cum);
	ack_note(ch, id);
	ch->st.cs_msgs_delivered++;
	ch->deliver(ch->user, now, id, msg, len);
}

static int rx_data(struct ctl_channel *ch, uint64_t now, const struct ctl_frame_data *d)
{
	struct rxmsg *r;
	uint32_t off, len;
	size_t cost;
	int err;

	err = rx_epoch(ch, d->fd_epoch, d->fd_base, d->fd_seq);
	if (err)
		return err;
	if (sdiff(d->fd_seq, ch->rx_echo) > 0)
		ch->rx_echo = d->fd_seq;
	rx_advance(ch, d->fd_base - 1);
	if (sdiff(d->fd_msg_id, ch->rx_cum) > 0 && d->fd_msg_id - ch->rx_cum > ID_WINDOW)
		return -ERANGE;
	if (sdiff(d->fd_msg_id, ch->rx_cum) <= 0 ||
	    bit_get(ch->rx_done, d->fd_msg_id % ID_WINDOW)) {
		/* Delivered already: the sender missed our ACK. */
		if (sdiff(d->fd_msg_id, ch->rx_cum) > 0)
			ack_note(ch, d->fd_msg_id);
		ch->st.cs_frames_duplicate++;
		goto ack;
	}
	if (d->fd_total_len > CTL_CHANNEL_MAX_MSG)
		return -EMSGSIZE;
	if (d->fd_count == 1) {
		rx_complete(ch, now, d->fd_msg_id, d->fd_payload, d->fd_payload_len);
		goto ack;
	}
	r = rx_find(ch, d->fd_msg_id);
	if (!r) {
		cost = sizeof(*r) + (d->fd_count + 7u) / 8 + d->fd_total_len;
		if (ch->rx_nmsgs >= ch->cfg.cc_rx_max_msgs ||
		    cost > ch->cfg.cc_rx_budget - min64(ch->rx_mem, ch->cfg.cc_rx_budget))
			return -ENOBUFS;
		r = malloc(cost);
		if (!r)
			return -ENOMEM;
		memset(r, 0, sizeof(*r) + (d->fd_count + 7u) / 8);
		r->bits = (uint8_t *)(r + 1);
		r->data = r->bits + (d->fd_count + 7u) / 8;
		r->id = d->fd_msg_id;
		r->total = d->fd_total_len;
		r->count = d->fd_count;
		r->cost = cost;
		r->next = ch->rx_list;
		ch->rx_list = r;
		ch->rx_nmsgs++;
		ch->rx_mem += cost;
	} else if (r->total != d->fd_total_len || r->count != d->fd_count) {
		return -EBADMSG;
	}
	r->last_activity = now;
	ack_note(ch, r->id);
	if (bit_get(r->bits, d->fd_index)) {
		ch->st.cs_frames_duplicate++;
		goto ack;
	}
	ctl_frame_frag_span(r->total, r->count, d->fd_index, &off, &len);
	memcpy(r->data + off, d->fd_payload, len);
	bit_set(r->bits, d->fd_index);
	while (r->first_missing < r->count && bit_get(r->bits, r->first_missing))
		r->first_missing++;
	if (++r->nrecv == r->count) {
		rx_remove(ch, r);
		rx_complete(ch, now, r->id, r->data, r->total);
		free(r);
	}
ack:
	ack_schedule(ch, now);
	return 0;
}

int ctl_channel_receive(struct ctl_channel *ch, uint64_t now, const uint8_t *frame, size_t len)
{
	struct ctl_frame f;
	int err;

	ch->st.cs_frames_received++;
	err = ctl_frame_decode(frame, len, &f);
	if (err)
		goto out;
	if (f.f_type == CTL_FRAME_DATA)
		err = rx_data(ch, now, &f.f_data);
	else
		err = rx_ack(ch, now, &f.f_ack);
out:
	if (err)
		ch->st.cs_frames_dropped++;
	return err;
}

/* ---- timers ---- */

static uint64_t tx_fail_at(const struct ctl_channel *ch, const struct txmsg *m)
{
	return max64(m->queued_at, ch->last_progress) + ch->cfg.cc_msg_timeout;
}

static uint64_t next_deadline(const struct ctl_channel *ch)
{
	const struct txmsg *m;
	const struct rxmsg *r;
	uint64_t t = UINT64_MAX;
	uint32_t i;

	if (ch->ack_armed)
		t = ch->ack_deadline;
	for (r = ch->rx_list; r; r = r->next)
		t = min64(t, r->last_activity + ch->cfg.cc_rx_timeout);
	for (m = ch->tx_head; m; m = m->next) {
		t = min64(t, tx_fail_at(ch, m));
		for (i = m->first_unacked; i < m->next_unsent; i++)
			if (!m->frags[i].acked)
				t = min64(t, frag_deadline(ch, &m->frags[i]));
	}
	return t;
}

uint64_t ctl_channel_poll(struct ctl_channel *ch, uint64_t now)
{
	struct txmsg *m, *next, *failed = NULL, **failed_tail = &failed;
	struct rxmsg *r, *rnext;
	struct txfrag *f;
	bool fail;
	uint32_t i;

	if (ch->ack_armed && now >= ch->ack_deadline)
		flush_acks(ch);
	for (r = ch->rx_list; r; r = rnext) {
		rnext = r->next;
		if (now >= r->last_activity + ch->cfg.cc_rx_timeout) {
			rx_remove(ch, r);
			free(r);
		}
	}
	for (m = ch->tx_head; m; m = next) {
		next = m->next;
		fail = now >= tx_fail_at(ch, m);
		for (i = m->first_unacked; !fail && i < m->next_unsent; i++) {
			f = &m->frags[i];
			if (f->acked || now < frag_deadline(ch, f))
				continue;
			if (f->tx > ch->cfg.cc_max_retries) {
				fail = true;
			} else {
				if (f->timeouts < UINT8_MAX)
					f->timeouts++;
				transmit(ch, m, i, now);
			}
		}
		if (fail) {
			tx_unlink(ch, m);
			*failed_tail = m;
			failed_tail = &m->next;
		}
	}
	fill_window(ch, now);
	tx_report(ch, failed, -ETIMEDOUT);
	return next_deadline(ch);
}

void ctl_channel_stats(const struct ctl_channel *ch, struct ctl_channel_stats *st)
{
	*st = ch->st;
	st->cs_srtt = ch->rtt_valid ? ch->srtt : 0;
	st->cs_rttvar = ch->rtt_valid ? ch->rttvar : 0;
	st->cs_rto = ch->rto;
	st->cs_tx_msgs = ch->tx_nmsgs;
	st->cs_tx_bytes = ch->tx_mem;
	st->cs_in_flight = ch->in_flight;
	st->cs_rx_msgs = ch->rx_nmsgs;
	st->cs_rx_bytes = ch->rx_mem;
}
