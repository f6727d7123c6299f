/* DNS over TCP for Magic DNS: see dns/tcp_responder.h. */
#include "dns/tcp_responder.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sys/socket.h>

#define DNS_TCP_CONNS_MAX 256 /* a connection's slot is the low byte of its id */

#define DNS_TCP_IPV4_OVERHEAD 40 /* IPv4 and TCP headers, no options */
#define DNS_TCP_IPV6_OVERHEAD 60
#define DNS_TCP_MSS_DEFAULT   536 /* a SYN without the option (RFC 9293 3.7.1) */
#define DNS_TCP_MSS_FLOOR     64  /* not a segment a byte for a silly MSS */

enum dns_tcp_state {
	DNS_TCP_FREE,
	DNS_TCP_SYN_RCVD, /* SYN-ACK sent, waiting for its ACK */
	DNS_TCP_OPEN,	  /* established; after the client's FIN, until ours is sent */
	DNS_TCP_LAST_ACK, /* our FIN sent, waiting for its ACK */
};

struct dns_tcp_conn {
	uint64_t id; /* serial << 8 | slot; 0 when free */
	enum dns_tcp_state state;
	struct ip_addr client, server;
	uint16_t cport, sport;
	uint32_t irs;	  /* the client's ISN: a retransmitted SYN has it */
	uint32_t iss;	  /* ours */
	uint32_t rcv_nxt; /* the next byte we take from the client */
	uint32_t ack_sent;
	uint32_t snd_una, snd_nxt;
	uint32_t snd_wnd; /* the client's window from snd_una */
	uint16_t mss;	  /* our segments' payload at most */
	bool fin_rcvd;
	unsigned pending; /* queries handed up and not answered yet */
	uint64_t last_ns;
	size_t rx_len;	       /* a message not whole yet */
	size_t tx_off, tx_len; /* answer bytes waiting for the client's window */
	uint8_t rx[2 + DNS_TCP_QUERY_MAX];
	uint8_t tx[2 + DNS_TCP_MSG_MAX];
};

struct dns_tcp {
	dns_tcp_send_fn send;
	dns_tcp_query_fn query;
	void *arg;
	unsigned mtu;
	uint16_t port;
	uint64_t serial;
	struct dns_tcp_stats stats;
	uint8_t *seg; /* one outgoing packet, MTU bytes, after the table */
	unsigned nconns;
	struct dns_tcp_conn conns[];
};

static bool dns_tcp_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Whether SEQ is in [START, START + LEN). */
static bool dns_tcp_seq_in(uint32_t seq, uint32_t start, uint32_t len)
{
	return seq - start < len;
}

struct dns_tcp *dns_tcp_new(unsigned mtu, uint16_t port, unsigned conns, dns_tcp_send_fn send,
			    dns_tcp_query_fn query, void *arg)
{
	struct dns_tcp *t;

	if (mtu < DNS_TCP_MTU_MIN || mtu > 65535 || conns < 1 || conns > DNS_TCP_CONNS_MAX ||
	    !send || !query)
		return NULL;
	t = calloc(1, sizeof(*t) + conns * sizeof(t->conns[0]) + mtu);
	if (!t)
		return NULL;
	t->nconns = conns;
	t->seg = (uint8_t *)&t->conns[conns];
	t->send = send;
	t->query = query;
	t->arg = arg;
	t->mtu = mtu;
	t->port = port;
	return t;
}

void dns_tcp_free(struct dns_tcp *t)
{
	free(t);
}

static uint16_t dns_tcp_our_mss(const struct dns_tcp *t, uint8_t family)
{
	return (uint16_t)(t->mtu -
			  (family == AF_INET ? DNS_TCP_IPV4_OVERHEAD : DNS_TCP_IPV6_OVERHEAD));
}

static int dns_tcp_emit(struct dns_tcp *t, const struct ippacket_tcp *seg)
{
	int n = ippacket_tcp_build(seg, t->seg, t->mtu);

	if (n < 0)
		return n;
	return t->send(t->arg, t->seg, (size_t)n);
}

/* One segment of C at SEQ with FLAGS and LEN bytes of DATA; it always
 * acknowledges all we have taken. */
static int dns_tcp_send(struct dns_tcp *t, struct dns_tcp_conn *c, uint32_t seq, uint8_t flags,
			const uint8_t *data, size_t len)
{
	struct ippacket_tcp s = {
		.src = c->server,
		.dst = c->client,
		.sport = c->sport,
		.dport = c->cport,
		.seq = seq,
		.ack = c->rcv_nxt,
		.flags = flags | IPPACKET_TCP_ACK,
		.window = DNS_TCP_WINDOW,
		.payload = data,
		.payload_len = len,
	};
	int ret;

	if (flags & IPPACKET_TCP_SYN)
		s.mss = dns_tcp_our_mss(t, c->client.family);
	ret = dns_tcp_emit(t, &s);
	if (ret == 0)
		c->ack_sent = c->rcv_nxt;
	return ret;
}

static void dns_tcp_release(struct dns_tcp_conn *c)
{
	c->id = 0;
	c->state = DNS_TCP_FREE;
}

/* Aborts C: a RST its client takes (at the sequence number it expects),
 * then the entry is free. */
static void dns_tcp_reset(struct dns_tcp *t, struct dns_tcp_conn *c)
{
	dns_tcp_send(t, c, c->snd_nxt, IPPACKET_TCP_RST, NULL, 0);
	t->stats.resets++;
	dns_tcp_release(c);
}

/* A RST for SEG, which belongs to no connection we know (or is a wrong ACK
 * of our SYN). */
static void dns_tcp_refuse(struct dns_tcp *t, const struct ippacket_tcp *seg)
{
	struct ippacket_tcp rst;

	if (ippacket_tcp_reset_of(seg, &rst) < 0)
		return;
	if (dns_tcp_emit(t, &rst) == 0)
		t->stats.resets++;
}

/* Sends what C owes its client: answer bytes as far as its window allows,
 * our FIN once its FIN came and every query is answered and sent, and an
 * ACK when none of those carried our latest one (or FORCE: to answer a
 * segment we did not take). */
static void dns_tcp_output(struct dns_tcp *t, struct dns_tcp_conn *c, bool force)
{
	bool sent = false;

	if (c->state == DNS_TCP_SYN_RCVD) {
		if (force)
			dns_tcp_send(t, c, c->iss, IPPACKET_TCP_SYN, NULL, 0);
		return;
	}
	if (c->state == DNS_TCP_LAST_ACK) {
		/* the client did not take our FIN: again */
		if (force)
			dns_tcp_send(t, c, c->snd_nxt - 1, IPPACKET_TCP_FIN, NULL, 0);
		return;
	}
	while (c->tx_len > 0) {
		uint32_t flight = c->snd_nxt - c->snd_una;
		size_t n = c->tx_len < c->mss ? c->tx_len : c->mss;

		if (flight >= c->snd_wnd)
			break;
		if (n > c->snd_wnd - flight)
			n = c->snd_wnd - flight;
		if (dns_tcp_send(t, c, c->snd_nxt, IPPACKET_TCP_PSH, c->tx + c->tx_off, n) < 0)
			break;
		c->snd_nxt += (uint32_t)n;
		c->tx_off += n;
		c->tx_len -= n;
		sent = true;
	}
	if (c->tx_len == 0)
		c->tx_off = 0;
	if (c->fin_rcvd && c->pending == 0 && c->tx_len == 0) {
		if (dns_tcp_send(t, c, c->snd_nxt, IPPACKET_TCP_FIN, NULL, 0) == 0) {
			c->snd_nxt++;
			c->state = DNS_TCP_LAST_ACK;
			return;
		}
	}
	if (!sent && (force || c->ack_sent != c->rcv_nxt))
		dns_tcp_send(t, c, c->snd_nxt, 0, NULL, 0);
}

static struct dns_tcp_conn *dns_tcp_find(struct dns_tcp *t, const struct ippacket_tcp *seg)
{
	size_t alen = seg->src.family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < t->nconns; i++) {
		struct dns_tcp_conn *c = &t->conns[i];

		if (c->id && c->cport == seg->sport && c->sport == seg->dport &&
		    c->client.family == seg->src.family &&
		    memcmp(c->client.bytes, seg->src.bytes, alen) == 0 &&
		    memcmp(c->server.bytes, seg->dst.bytes, alen) == 0)
			return c;
	}
	return NULL;
}

static struct dns_tcp_conn *dns_tcp_by_id(struct dns_tcp *t, uint64_t id)
{
	struct dns_tcp_conn *c;

	if ((id & 0xff) >= t->nconns)
		return NULL;
	c = &t->conns[id & 0xff];
	return id && c->id == id ? c : NULL;
}

static bool dns_tcp_idle(const struct dns_tcp_conn *c, uint64_t now)
{
	return now > c->last_ns && now - c->last_ns > DNS_TCP_IDLE_NS;
}

void dns_tcp_expire(struct dns_tcp *t, uint64_t now_ns)
{
	for (size_t i = 0; i < t->nconns; i++) {
		struct dns_tcp_conn *c = &t->conns[i];

		if (c->id && dns_tcp_idle(c, now_ns)) {
			dns_tcp_reset(t, c);
			t->stats.expired++;
		}
	}
}

/* A free entry, or the least recently active one, reset. */
static struct dns_tcp_conn *dns_tcp_slot(struct dns_tcp *t)
{
	struct dns_tcp_conn *oldest = NULL;

	for (size_t i = 0; i < t->nconns; i++) {
		struct dns_tcp_conn *c = &t->conns[i];

		if (!c->id)
			return c;
		if (!oldest || c->last_ns < oldest->last_ns)
			oldest = c;
	}
	dns_tcp_reset(t, oldest);
	t->stats.evicted++;
	return oldest;
}

/* SEG is for no connection: a SYN to our port opens one, anything else but
 * a RST is refused. Data on a SYN is not taken: the client sends it again. */
static void dns_tcp_listen(struct dns_tcp *t, const struct ippacket_tcp *seg, uint64_t now)
{
	struct dns_tcp_conn *c;
	uint16_t mss;

	if (seg->flags & IPPACKET_TCP_RST)
		return;
	if ((seg->flags & (IPPACKET_TCP_SYN | IPPACKET_TCP_ACK | IPPACKET_TCP_FIN)) !=
		    IPPACKET_TCP_SYN ||
	    seg->dport != t->port) {
		dns_tcp_refuse(t, seg);
		return;
	}
	c = dns_tcp_slot(t);
	mss = seg->mss ? seg->mss : DNS_TCP_MSS_DEFAULT;
	if (mss > dns_tcp_our_mss(t, seg->src.family))
		mss = dns_tcp_our_mss(t, seg->src.family);
	if (mss < DNS_TCP_MSS_FLOOR)
		mss = DNS_TCP_MSS_FLOOR;
	c->id = ++t->serial << 8 | (uint64_t)(c - t->conns);
	c->state = DNS_TCP_SYN_RCVD;
	c->client = seg->src;
	c->server = seg->dst;
	c->cport = seg->sport;
	c->sport = seg->dport;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->ack_sent = c->irs; /* none yet */
	c->iss = randombytes_random();
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->snd_wnd = seg->window;
	c->mss = mss;
	c->fin_rcvd = false;
	c->pending = 0;
	c->last_ns = now;
	c->rx_len = 0;
	c->tx_off = c->tx_len = 0;
	t->stats.connections++;
	/* if it is not taken, the client's SYN comes again */
	dns_tcp_send(t, c, c->iss, IPPACKET_TCP_SYN, NULL, 0);
}

/* In-order bytes DATA (LEN) of C: whole messages go up. False when C is
 * gone meanwhile (a query too long, or the callback aborted it). */
static bool dns_tcp_take(struct dns_tcp *t, struct dns_tcp_conn *c, const uint8_t *data, size_t len)
{
	uint64_t id = c->id;

	while (len > 0) {
		size_t n = sizeof(c->rx) - c->rx_len, off = 0;

		/* the buffer holds a longest message: when full, one is whole */
		if (n > len)
			n = len;
		memcpy(c->rx + c->rx_len, data, n);
		c->rx_len += n;
		data += n;
		len -= n;
		while (c->rx_len - off >= 2) {
			size_t mlen = (size_t)c->rx[off] << 8 | c->rx[off + 1];

			if (mlen > DNS_TCP_QUERY_MAX) {
				t->stats.oversize++;
				dns_tcp_reset(t, c);
				return false;
			}
			if (c->rx_len - off < 2 + mlen)
				break;
			c->pending++;
			t->stats.queries++;
			t->query(t->arg, id, &c->client, c->rx + off + 2, mlen);
			if (c->id != id)
				return false;
			off += 2 + mlen;
		}
		memmove(c->rx, c->rx + off, c->rx_len - off);
		c->rx_len -= off;
	}
	return true;
}

/* SEG for the connection C. */
static void dns_tcp_segment(struct dns_tcp *t, struct dns_tcp_conn *c,
			    const struct ippacket_tcp *seg, uint64_t now)
{
	bool fin = seg->flags & IPPACKET_TCP_FIN;
	uint32_t seg_len = (uint32_t)seg->payload_len + fin;
	uint32_t skip, fresh;

	c->last_ns = now;
	if (seg->flags & IPPACKET_TCP_RST) {
		/* RFC 5961 3.2: only a RST at exactly rcv_nxt is taken */
		if (seg->seq == c->rcv_nxt)
			dns_tcp_release(c);
		else if (dns_tcp_seq_in(seg->seq, c->rcv_nxt, DNS_TCP_WINDOW))
			dns_tcp_output(t, c, true);
		return;
	}
	if (seg->flags & IPPACKET_TCP_SYN) {
		/* a retransmitted SYN gets its SYN-ACK again; any other is
		 * challenged (RFC 5961 4.2): a client that lost the
		 * connection answers the ACK with a RST, then retries */
		if (c->state == DNS_TCP_SYN_RCVD && seg->seq == c->irs &&
		    !(seg->flags & IPPACKET_TCP_ACK))
			dns_tcp_send(t, c, c->iss, IPPACKET_TCP_SYN, NULL, 0);
		else
			dns_tcp_output(t, c, true);
		return;
	}
	if (!(seg->flags & IPPACKET_TCP_ACK))
		return;
	/* RFC 9293 3.10.7.4: a segment outside the window is only ACKed */
	if (seg_len == 0
		    ? !dns_tcp_seq_in(seg->seq, c->rcv_nxt, DNS_TCP_WINDOW)
		    : !dns_tcp_seq_in(seg->seq, c->rcv_nxt, DNS_TCP_WINDOW) &&
			      !dns_tcp_seq_in(seg->seq + seg_len - 1, c->rcv_nxt, DNS_TCP_WINDOW)) {
		dns_tcp_output(t, c, true);
		return;
	}
	if (c->state == DNS_TCP_SYN_RCVD) {
		if (seg->ack != c->snd_nxt) {
			dns_tcp_refuse(t, seg);
			return;
		}
		c->state = DNS_TCP_OPEN;
	}
	if (dns_tcp_seq_lt(c->snd_nxt, seg->ack)) {
		/* it acknowledges what we never sent */
		dns_tcp_output(t, c, true);
		return;
	}
	/* No reordering between the client and us, so any ACK at least as
	 * new as the last one carries its current window (no wl1/wl2). */
	if (!dns_tcp_seq_lt(seg->ack, c->snd_una)) {
		c->snd_una = seg->ack;
		c->snd_wnd = seg->window;
	}
	if (c->state == DNS_TCP_LAST_ACK && c->snd_una == c->snd_nxt) {
		dns_tcp_release(c);
		return;
	}
	if (seg_len == 0) {
		dns_tcp_output(t, c, false);
		return;
	}
	/* Out of order (a hole before it), or after the client's FIN: we keep
	 * nothing aside, the client sends it again after our ACK. */
	if (dns_tcp_seq_lt(c->rcv_nxt, seg->seq) || c->state != DNS_TCP_OPEN || c->fin_rcvd) {
		dns_tcp_output(t, c, true);
		return;
	}
	/* It starts at or before rcv_nxt and (the window test) ends after it:
	 * past the SKIP bytes we have, its data or its FIN is new. A whole
	 * duplicate failed the window test. */
	skip = c->rcv_nxt - seg->seq;
	fresh = (uint32_t)seg->payload_len - skip;
	c->rcv_nxt += fresh;
	if (fresh && !dns_tcp_take(t, c, seg->payload + skip, fresh))
		return;
	if (fin) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
	}
	dns_tcp_output(t, c, false);
}

int dns_tcp_input(struct dns_tcp *t, const uint8_t *pkt, size_t len, uint64_t now_ns)
{
	struct ippacket_tcp seg;
	struct dns_tcp_conn *c;
	int ret;

	ret = ippacket_tcp_parse(pkt, len, true, &seg);
	if (ret < 0) {
		t->stats.malformed++;
		return ret;
	}
	t->stats.segments++;
	dns_tcp_expire(t, now_ns);
	c = dns_tcp_find(t, &seg);
	if (c)
		dns_tcp_segment(t, c, &seg, now_ns);
	else
		dns_tcp_listen(t, &seg, now_ns);
	return 0;
}

int dns_tcp_answer(struct dns_tcp *t, uint64_t id, const uint8_t *msg, size_t len, uint64_t now_ns)
{
	struct dns_tcp_conn *c = dns_tcp_by_id(t, id);

	if (!c || c->state != DNS_TCP_OPEN)
		return -ENOENT;
	if (len > DNS_TCP_MSG_MAX)
		return -EMSGSIZE;
	if (c->pending)
		c->pending--;
	if (c->tx_len + 2 + len > sizeof(c->tx)) {
		dns_tcp_reset(t, c);
		return -ENOBUFS;
	}
	if (c->tx_off + c->tx_len + 2 + len > sizeof(c->tx)) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len);
		c->tx_off = 0;
	}
	c->tx[c->tx_off + c->tx_len] = (uint8_t)(len >> 8);
	c->tx[c->tx_off + c->tx_len + 1] = (uint8_t)len;
	memcpy(c->tx + c->tx_off + c->tx_len + 2, msg, len);
	c->tx_len += 2 + len;
	c->last_ns = now_ns;
	t->stats.answers++;
	dns_tcp_output(t, c, false);
	return 0;
}

int dns_tcp_abort(struct dns_tcp *t, uint64_t id)
{
	struct dns_tcp_conn *c = dns_tcp_by_id(t, id);

	if (!c)
		return -ENOENT;
	dns_tcp_reset(t, c);
	return 0;
}

void dns_tcp_get_stats(const struct dns_tcp *t, uint64_t now_ns, struct dns_tcp_stats *out)
{
	*out = t->stats;
	out->open = 0;
	out->size = t->nconns;
	for (size_t i = 0; i < t->nconns; i++)
		if (t->conns[i].id && !dns_tcp_idle(&t->conns[i], now_ns))
			out->open++;
}
