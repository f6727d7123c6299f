#include "relay/relay_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/identity.h"
#include "crypto/keytext.h"
#include "path/endpoint.h"
#include "path/record.h"
#include "path/stun.h"
#include "relay/record_store.h"
#include "relay/relay_proto.h"
#include "util/eventloop.h"
#include "util/fileio.h"
#include "util/log.h"

#define RELAY_SWEEP_MS		1000
#define RELAY_LINGER_MS		2000 /* how long a closing client may take to read its error */
#define RELAY_READ_CHUNK	65536
#define RELAY_READS_PER_EVENT	4 /* fairness: then let other clients run */
#define RELAY_ACCEPTS_PER_EVENT 256
#define RELAY_GONE_SLOTS	8  /* destinations remembered for PEER_GONE limiting */
#define RELAY_GONE_PER_SEC	32 /* and a cap on PEER_GONE per client per second */
#define RELAY_WBUF_MIN		4096
#define RELAY_WBUF_KEEP		65536 /* an empty queue bigger than this is given back */
#define RELAY_PBUF_KEEP		256
#define RELAY_STUN_PER_EVENT	64   /* datagrams per wake-up, then let the rest run */
#define RELAY_STUN_BUF		1500 /* bigger datagrams are not STUN we answer */
#define RELAY_RECORD_SWEEP	4096 /* work per sweep spent dropping expired records */
#define RELAY_RECORDS_PREFIX	"/records/"

enum relay_client_state {
	RELAY_C_HTTP,	 /* reading a request head */
	RELAY_C_BODY,	 /* reading the body of PUT /records/ID */
	RELAY_C_AUTH,	 /* challenge sent, waiting for CLIENT_AUTH */
	RELAY_C_READY,	 /* authenticated, in the table */
	RELAY_C_CLOSING, /* error queued; flush, shut down, wait for EOF or linger timeout */
};

struct relay_gone {
	uint8_t prefix[8];
	uint64_t ms;
};

struct relay_client {
	struct relay_server *srv;
	int fd;
	enum relay_client_state state;
	bool dead, in_table, in_flush, want_out, shut;
	uint8_t id[RELAY_PROTO_KEY_LEN]; /* node id; in RELAY_C_BODY, the record's ID */
	uint8_t nonce[RELAY_PROTO_NONCE_LEN];
	size_t body_len;		  /* RELAY_C_BODY: the Content-Length */
	struct relay_client *prev, *next; /* all connections */
	struct relay_client *hnext;	  /* hash chain */
	struct relay_client *flush_next;  /* has queued bytes to write this turn */
	struct relay_client *dead_next;	  /* closed, freed at the end of the turn */
	/* the incomplete frame (or HTTP head) carried over between reads */
	uint8_t *pbuf;
	size_t plen, pcap;
	/* the send queue: bytes [whead, wtail) of wbuf */
	uint8_t *wbuf;
	size_t whead, wtail, wcap;
	uint64_t connected_ms, last_rx_ms, last_ping_ms, full_since_ms, closing_since_ms;
	/* token bucket in byte-nanoseconds per second, so refills are exact integers */
	uint64_t credit, credit_ns;
	struct relay_gone gone[RELAY_GONE_SLOTS];
	unsigned gone_next, gone_in_sec;
	uint64_t gone_sec;
};

struct relay_server {
	struct loop *loop;
	struct relay_server_config cfg;
	uint8_t server_pk[RELAY_PROTO_KEY_LEN];
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	int listen_fd, stun_fd[2]; /* the STUN port and the one after it */
	uint16_t port;
	bool listening;
	char resp101[RELAY_PROTO_HTTP_101_MAX];
	size_t resp101_len;
	struct record_store *store;
	uint64_t sweep_timer, accept_timer;
	uint64_t now_ms;
	struct relay_client *clients; /* all connections */
	struct relay_client **buckets;
	size_t nbuckets, ntable;
	struct relay_client *flush_head, *dead_head;
	struct relay_counters ctr, last_summary;
	uint64_t next_summary_ms;
	uint8_t scratch[RELAY_READ_CHUNK];
};

void relay_server_config_default(struct relay_server_config *c)
{
	c->max_payload = RELAY_PROTO_MAX_PAYLOAD;
	c->queue_bytes = 256 * 1024;
	c->rate_bytes_per_s = 64000000 / 8;
	c->burst_bytes = 1024 * 1024;
	c->auth_timeout_ms = 5000;
	c->ping_interval_ms = 30000;
	c->idle_timeout_ms = 90000;
	c->slow_reader_ms = 5000;
	c->summary_interval_ms = 60000;
	c->stun_port = 0;
	c->max_records = RECORD_STORE_DEFAULT_MAX;
}

static uint64_t relay_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- client table: node id -> client, keyed hash against chosen keys ---- */

static size_t relay_bucket(const struct relay_server *s, const uint8_t id[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	/* ids are chosen by clients; SipHash with a secret key keeps chains short */
	crypto_shorthash(h, id, RELAY_PROTO_KEY_LEN, s->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (s->nbuckets - 1));
}

static struct relay_client *relay_table_find(const struct relay_server *s, const uint8_t id[32])
{
	struct relay_client *c;

	for (c = s->buckets[relay_bucket(s, id)]; c; c = c->hnext) {
		if (memcmp(c->id, id, RELAY_PROTO_KEY_LEN) == 0)
			return c;
	}
	return NULL;
}

static void relay_table_remove(struct relay_server *s, struct relay_client *c)
{
	struct relay_client **pos;

	if (!c->in_table)
		return;
	for (pos = &s->buckets[relay_bucket(s, c->id)]; *pos; pos = &(*pos)->hnext) {
		if (*pos == c) {
			*pos = c->hnext;
			break;
		}
	}
	c->in_table = false;
	c->hnext = NULL;
	s->ntable--;
	s->ctr.clients--;
}

static void relay_table_grow(struct relay_server *s)
{
	size_t old_n = s->nbuckets, n = old_n * 2;
	struct relay_client **old = s->buckets, **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return; /* longer chains, still correct */
	s->buckets = nb;
	s->nbuckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct relay_client *c = old[i], *next;

		for (; c; c = next) {
			size_t b = relay_bucket(s, c->id);

			next = c->hnext;
			c->hnext = nb[b];
			nb[b] = c;
		}
	}
	free(old);
}

static void relay_table_insert(struct relay_server *s, struct relay_client *c)
{
	size_t b;

	if (s->ntable >= s->nbuckets)
		relay_table_grow(s);
	b = relay_bucket(s, c->id);
	c->hnext = s->buckets[b];
	s->buckets[b] = c;
	c->in_table = true;
	s->ntable++;
	s->ctr.clients++;
}

/* ---- closing ------------------------------------------------------------ */

/* Close now. The struct lives until the end of the current callback, so
 * pointers on the stack and in the flush list stay valid. */
static void relay_client_close(struct relay_client *c)
{
	struct relay_server *s = c->srv;

	if (c->dead)
		return;
	c->dead = true;
	relay_table_remove(s, c);
	loop_fd_remove(s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead_next = s->dead_head;
	s->dead_head = c;
	s->ctr.connections--;
}

static void relay_client_free(struct relay_client *c)
{
	free(c->pbuf);
	free(c->wbuf);
	free(c);
}

static void relay_reap(struct relay_server *s)
{
	struct relay_client *c;

	while ((c = s->dead_head)) {
		s->dead_head = c->dead_next;
		relay_client_free(c);
	}
}

/* ---- sending ------------------------------------------------------------ */

static void relay_client_want_out(struct relay_client *c, bool on)
{
	if (c->want_out == on)
		return;
	if (loop_fd_modify(c->srv->loop, c->fd, EPOLLIN | (on ? EPOLLOUT : 0)) == 0)
		c->want_out = on;
}

/* Write what the socket takes. Returns 0, or -errno after closing C. */
static int relay_client_flush(struct relay_client *c)
{
	struct relay_server *s = c->srv;

	if (c->dead)
		return -EPIPE;
	while (c->whead < c->wtail) {
		ssize_t n = send(c->fd, c->wbuf + c->whead, c->wtail - c->whead,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				relay_client_want_out(c, true);
				return 0;
			}
			relay_client_close(c);
			return -EPIPE;
		}
		c->whead += (size_t)n;
	}
	c->whead = c->wtail = 0;
	c->full_since_ms = 0;
	relay_client_want_out(c, false);
	if (c->wcap > RELAY_WBUF_KEEP) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
	if (c->state == RELAY_C_CLOSING && !c->shut) {
		/* half-close so the peer reads our error before any RST */
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	(void)s;
	return 0;
}

/* Room for LEN more bytes at wtail, within the queue cap. */
static int relay_client_reserve(struct relay_client *c, size_t len)
{
	size_t queued = c->wtail - c->whead, cap;
	uint8_t *nb;

	if (queued + len > c->srv->cfg.queue_bytes)
		return -ENOBUFS;
	if (c->wcap - c->wtail >= len)
		return 0;
	if (c->whead) {
		memmove(c->wbuf, c->wbuf + c->whead, queued);
		c->whead = 0;
		c->wtail = queued;
		if (c->wcap - c->wtail >= len)
			return 0;
	}
	cap = c->wcap ? c->wcap : RELAY_WBUF_MIN;
	while (cap < queued + len)
		cap *= 2;
	if (cap > c->srv->cfg.queue_bytes)
		cap = c->srv->cfg.queue_bytes;
	nb = realloc(c->wbuf, cap);
	if (!nb)
		return -ENOMEM;
	c->wbuf = nb;
	c->wcap = cap;
	return 0;
}

static void relay_client_mark_flush(struct relay_client *c)
{
	if (c->in_flush)
		return;
	c->in_flush = true;
	c->flush_next = c->srv->flush_head;
	c->srv->flush_head = c;
}

/* Room for LEN more bytes in C's queue: 0, -EPIPE (closed), -ENOBUFS (full
 * even after writing what the socket takes), -ENOMEM. */
static int relay_client_make_room(struct relay_client *c, size_t len)
{
	int ret;

	if (c->dead)
		return -EPIPE;
	ret = relay_client_reserve(c, len);
	if (ret == -ENOBUFS && c->whead < c->wtail) {
		/* the socket may have room that the end-of-turn flush has not used yet */
		if (relay_client_flush(c) < 0)
			return -EPIPE;
		ret = relay_client_reserve(c, len);
	}
	return ret;
}

/* Queue raw bytes. 0 or -ENOBUFS (queue full: try writing first), -ENOMEM. */
static int relay_client_queue_raw(struct relay_client *c, const void *data, size_t len)
{
	int ret = relay_client_make_room(c, len);

	if (ret < 0)
		return ret;
	memcpy(c->wbuf + c->wtail, data, len);
	c->wtail += len;
	relay_client_mark_flush(c);
	return 0;
}

static int relay_client_queue(struct relay_client *c, uint8_t type, const void *p1, size_t l1,
			      const void *p2, size_t l2)
{
	int ret = relay_client_make_room(c, RELAY_PROTO_HEADER_LEN + l1 + l2);

	if (ret < 0)
		return ret;
	ret = relay_proto_frame_encode(type, p1, l1, p2, l2, c->wbuf + c->wtail,
				       c->wcap - c->wtail);
	if (ret < 0)
		return ret;
	c->wtail += (size_t)ret;
	relay_client_mark_flush(c);
	return 0;
}

static void relay_flush_all(struct relay_server *s)
{
	struct relay_client *c;

	while ((c = s->flush_head)) {
		s->flush_head = c->flush_next;
		c->in_flush = false;
		c->flush_next = NULL;
		if (!c->dead)
			relay_client_flush(c);
	}
}

/* After what is queued now: shut down writing, then close at EOF or after
 * the linger time. */
static void relay_client_closing(struct relay_client *c)
{
	struct relay_server *s = c->srv;

	if (c->dead || c->state == RELAY_C_CLOSING)
		return;
	relay_table_remove(s, c);
	c->state = RELAY_C_CLOSING;
	c->closing_since_ms = s->now_ms;
	free(c->pbuf);
	c->pbuf = NULL;
	c->plen = c->pcap = 0;
	if (c->whead == c->wtail)
		relay_client_flush(c); /* nothing queued: shut down now */
}

/* Queue HTTP error text or SERVER_ERROR, then close once it is written. */
static void relay_client_fail(struct relay_client *c, const char *reason, bool http)
{
	if (c->dead || c->state == RELAY_C_CLOSING)
		return;
	relay_table_remove(c->srv, c);
	if (http)
		relay_client_queue_raw(c, reason, strlen(reason));
	else
		relay_client_queue(c, RELAY_SERVER_ERROR, reason, strlen(reason), NULL, 0);
	relay_client_closing(c);
}

static void relay_protocol_error(struct relay_client *c, const char *reason)
{
	c->srv->ctr.closed_protocol++;
	relay_client_fail(c, reason, false);
}

/* ---- frames from a client ------------------------------------------------ */

static bool relay_bucket_take(struct relay_client *c, size_t bytes, uint64_t now_ns)
{
	const struct relay_server_config *cfg = &c->srv->cfg;
	uint64_t full = cfg->burst_bytes * 1000000000ull, cost = bytes * 1000000000ull;
	uint64_t elapsed = now_ns - c->credit_ns;

	if (!cfg->rate_bytes_per_s)
		return true;
	/* elapsed * rate can overflow only long after the bucket is full */
	if (elapsed >= full / cfg->rate_bytes_per_s + 1)
		c->credit = full;
	else if (c->credit + elapsed * cfg->rate_bytes_per_s >= full)
		c->credit = full;
	else
		c->credit += elapsed * cfg->rate_bytes_per_s;
	c->credit_ns = now_ns;
	if (c->credit < cost)
		return false;
	c->credit -= cost;
	return true;
}

static void relay_peer_gone(struct relay_client *c, const uint8_t dst[32])
{
	struct relay_server *s = c->srv;
	uint64_t now = s->now_ms, sec = now / 1000;
	struct relay_gone *g;

	for (unsigned i = 0; i < RELAY_GONE_SLOTS; i++) {
		g = &c->gone[i];
		if (g->ms && memcmp(g->prefix, dst, sizeof(g->prefix)) == 0 && now - g->ms < 1000)
			return;
	}
	if (c->gone_sec != sec) {
		c->gone_sec = sec;
		c->gone_in_sec = 0;
	}
	if (c->gone_in_sec >= RELAY_GONE_PER_SEC)
		return;
	c->gone_in_sec++;
	g = &c->gone[c->gone_next++ % RELAY_GONE_SLOTS];
	memcpy(g->prefix, dst, sizeof(g->prefix));
	g->ms = now ? now : 1;
	if (relay_client_queue(c, RELAY_PEER_GONE, dst, RELAY_PROTO_KEY_LEN, NULL, 0) == 0)
		s->ctr.peer_gone_sent++;
}

static void relay_handle_send(struct relay_client *c, const struct relay_frame *f, uint64_t now_ns)
{
	struct relay_server *s = c->srv;
	struct relay_client *dst;
	int ret;

	if (f->len < RELAY_PROTO_KEY_LEN) {
		relay_protocol_error(c, "SEND shorter than a node id");
		return;
	}
	if (!relay_bucket_take(c, f->len, now_ns)) {
		s->ctr.drop_rate_limit++;
		return;
	}
	dst = relay_table_find(s, f->payload);
	if (!dst) {
		s->ctr.drop_no_peer++;
		relay_peer_gone(c, f->payload);
		return;
	}
	ret = relay_client_queue(dst, RELAY_RECV, c->id, RELAY_PROTO_KEY_LEN,
				 f->payload + RELAY_PROTO_KEY_LEN, f->len - RELAY_PROTO_KEY_LEN);
	if (ret < 0) {
		s->ctr.drop_queue_full++;
		if (!dst->dead && !dst->full_since_ms)
			dst->full_since_ms = s->now_ms;
		return;
	}
	s->ctr.frames_forwarded++;
	s->ctr.bytes_forwarded += f->len - RELAY_PROTO_KEY_LEN;
}

static void relay_handle_auth(struct relay_client *c, const struct relay_frame *f)
{
	struct relay_server *s = c->srv;
	uint8_t id[RELAY_PROTO_KEY_LEN], sig[RELAY_PROTO_SIG_LEN];
	struct relay_client *old;
	char text[NODE_ID_TEXT_LEN + 1];

	if (f->type != RELAY_CLIENT_AUTH) {
		relay_protocol_error(c, "authenticate first");
		return;
	}
	if (relay_proto_parse_auth(f->payload, f->len, id, sig) < 0 ||
	    relay_proto_auth_verify(id, s->server_pk, c->nonce, sig) < 0) {
		s->ctr.auth_failed++;
		relay_protocol_error(c, "authentication failed");
		return;
	}
	memcpy(c->id, id, sizeof(id));
	old = relay_table_find(s, id);
	if (old) {
		/* the newest login wins: the old one is likely a dead connection */
		s->ctr.replaced++;
		relay_client_fail(old, "replaced by a newer connection of this node", false);
	}
	relay_table_insert(s, c);
	c->state = RELAY_C_READY;
	s->ctr.auth_ok++;
	relay_client_queue(c, RELAY_SERVER_OK, NULL, 0, NULL, 0);
	keytext_format_node_id(id, text);
	log_debug("relay: %.*s connected%s", NODE_ID_SHORT_LEN, text, old ? " (replaced)" : "");
}

static void relay_handle_frame(struct relay_client *c, const struct relay_frame *f, uint64_t now_ns)
{
	if (c->state == RELAY_C_AUTH) {
		relay_handle_auth(c, f);
		return;
	}
	switch (f->type) {
	case RELAY_SEND:
		relay_handle_send(c, f, now_ns);
		break;
	case RELAY_PING:
		if (f->len != RELAY_PROTO_PING_LEN)
			relay_protocol_error(c, "PING must carry 8 bytes");
		else
			relay_client_queue(c, RELAY_PONG, f->payload, f->len, NULL, 0);
		break;
	case RELAY_PONG:
		break; /* last_rx_ms already moved */
	case RELAY_SERVER_CHALLENGE:
	case RELAY_CLIENT_AUTH:
	case RELAY_SERVER_OK:
	case RELAY_SERVER_ERROR:
	case RELAY_RECV:
	case RELAY_PEER_GONE:
		relay_protocol_error(c, "unexpected frame type");
		break;
	default:
		break; /* a later protocol's frame: ignore */
	}
}

static bool relay_client_active(const struct relay_client *c)
{
	return !c->dead && (c->state == RELAY_C_AUTH || c->state == RELAY_C_READY);
}

static int relay_pbuf_reserve(struct relay_client *c, size_t cap)
{
	uint8_t *nb;

	if (c->pcap >= cap)
		return 0;
	nb = realloc(c->pbuf, cap);
	if (!nb)
		return -ENOMEM;
	c->pbuf = nb;
	c->pcap = cap;
	return 0;
}

/* The biggest payload C may send now: before SERVER_OK only a CLIENT_AUTH
 * is allowed, so an unauthenticated client never makes us buffer more. */
static size_t relay_frame_cap(const struct relay_client *c)
{
	return c->state == RELAY_C_AUTH ? RELAY_PROTO_AUTH_LEN : c->srv->cfg.max_payload;
}

/* Frames from DATA, after what is left in pbuf from earlier reads. */
static void relay_client_consume(struct relay_client *c, const uint8_t *data, size_t len,
				 uint64_t now_ns)
{
	size_t max = relay_frame_cap(c), off = 0;
	struct relay_frame f;
	int n;

	if (c->plen) {
		size_t total, take;

		while (c->plen < RELAY_PROTO_HEADER_LEN && off < len)
			c->pbuf[c->plen++] = data[off++];
		if (c->plen < RELAY_PROTO_HEADER_LEN)
			return;
		total = RELAY_PROTO_HEADER_LEN + ((size_t)c->pbuf[1] << 8 | c->pbuf[2]);
		if (total - RELAY_PROTO_HEADER_LEN > max) {
			relay_protocol_error(c, "frame too long");
			return;
		}
		if (relay_pbuf_reserve(c, total) < 0) {
			relay_client_close(c);
			return;
		}
		take = total - c->plen < len - off ? total - c->plen : len - off;
		memcpy(c->pbuf + c->plen, data + off, take);
		c->plen += take;
		off += take;
		if (c->plen < total)
			return;
		relay_proto_frame_decode(c->pbuf, c->plen, max, &f);
		c->plen = 0;
		relay_handle_frame(c, &f, now_ns);
		if (c->pcap > RELAY_PBUF_KEEP) {
			free(c->pbuf);
			c->pbuf = NULL;
			c->pcap = 0;
		}
		if (!relay_client_active(c))
			return;
	}
	while (off < len) {
		max = relay_frame_cap(c);
		n = relay_proto_frame_decode(data + off, len - off, max, &f);
		if (n < 0) {
			relay_protocol_error(c, "frame too long");
			return;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		relay_handle_frame(c, &f, now_ns);
		if (!relay_client_active(c))
			return;
	}
	if (off < len) {
		size_t rest = len - off, need = RELAY_PROTO_HEADER_LEN;

		if (rest >= RELAY_PROTO_HEADER_LEN)
			need += (size_t)data[off + 1] << 8 | data[off + 2];
		if (relay_pbuf_reserve(c, need > RELAY_PBUF_KEEP ? need : RELAY_PBUF_KEEP) < 0) {
			relay_client_close(c);
			return;
		}
		memcpy(c->pbuf, data + off, rest);
		c->plen = rest;
	}
}

/* ---- HTTP: the upgrade and the record store ------------------------------ */

/* Drop the request buffer: the request is done with. */
static void relay_pbuf_release(struct relay_client *c)
{
	free(c->pbuf);
	c->pbuf = NULL;
	c->plen = c->pcap = 0;
}

/* Answer STATUS with BODY (LEN bytes) and close. */
static void relay_http_reply(struct relay_client *c, unsigned status, const char *content_type,
			     const void *body, size_t len)
{
	char head[256];
	int n;

	n = relay_proto_http_response_write(status, content_type, len, head, sizeof(head));
	if (n > 0 && relay_client_queue_raw(c, head, (size_t)n) == 0 && len)
		relay_client_queue_raw(c, body, len);
	relay_pbuf_release(c);
	relay_client_closing(c);
}

static void relay_http_text(struct relay_client *c, unsigned status, const char *line)
{
	relay_http_reply(c, status, "text/plain", line, strlen(line));
}

/* A malformed request: the fixed answers of relay_proto_http_error_response. */
static void relay_http_refuse(struct relay_client *c, int err)
{
	c->srv->ctr.closed_protocol++;
	relay_pbuf_release(c);
	relay_client_fail(c, relay_proto_http_error_response(err), true);
}

static void relay_http_upgrade(struct relay_client *c)
{
	struct relay_server *s = c->srv;
	uint8_t challenge[RELAY_PROTO_CHALLENGE_LEN];

	relay_pbuf_release(c);
	randombytes_buf(c->nonce, sizeof(c->nonce));
	challenge[0] = RELAY_PROTO_VERSION;
	memcpy(challenge + 1, s->server_pk, RELAY_PROTO_KEY_LEN);
	memcpy(challenge + 1 + RELAY_PROTO_KEY_LEN, c->nonce, RELAY_PROTO_NONCE_LEN);
	c->state = RELAY_C_AUTH;
	relay_client_queue_raw(c, s->resp101, s->resp101_len);
	relay_client_queue(c, RELAY_SERVER_CHALLENGE, challenge, sizeof(challenge), NULL, 0);
}

/* The whole body of PUT /records/ID is in pbuf. */
static void relay_records_put(struct relay_client *c)
{
	struct relay_server *s = c->srv;
	int ret = record_store_put(s->store, c->id, c->pbuf, c->plen, relay_wall_ms());

	s->ctr.records = record_store_count(s->store);
	if (ret == 0) {
		s->ctr.records_stored++;
		relay_http_reply(c, 204, NULL, NULL, 0);
		return;
	}
	s->ctr.records_refused++;
	switch (ret) {
	case -EMSGSIZE:
		relay_http_text(c, 413, "record too big\n");
		break;
	case -EKEYREJECTED:
		relay_http_text(c, 403, "bad signature\n");
		break;
	case -ESTALE:
		relay_http_text(c, 410, "record expired\n");
		break;
	case -EALREADY:
		relay_http_text(c, 409, "not newer than the stored record\n");
		break;
	case -ENOSPC:
	case -ENOMEM:
		relay_http_text(c, 503, "record store full\n");
		break;
	case -EINVAL:
		relay_http_text(c, 400, "ID is not the record's signer\n");
		break;
	default:
		relay_http_text(c, 400, "malformed record\n");
		break;
	}
}

static void relay_records_get(struct relay_client *c)
{
	struct relay_server *s = c->srv;
	uint8_t buf[RECORD_MAX_LEN];
	size_t len;

	if (record_store_get(s->store, c->id, relay_wall_ms(), buf, &len) < 0) {
		s->ctr.records = record_store_count(s->store);
		relay_http_text(c, 404, "no record\n");
		return;
	}
	s->ctr.records_served++;
	relay_http_reply(c, 200, "application/octet-stream", buf, len);
}

/* Body bytes of a PUT: append, and store once all have come. */
static void relay_client_body(struct relay_client *c, const uint8_t *data, size_t len)
{
	if (len > c->body_len - c->plen) {
		relay_http_text(c, 400, "bytes after the body\n");
		return;
	}
	memcpy(c->pbuf + c->plen, data, len);
	c->plen += len;
	if (c->plen == c->body_len)
		relay_records_put(c);
}

/* A whole head REQ is at the start of pbuf; EXTRA bytes came after it, of
 * which the last REST are at DATA (they did not fit in pbuf). */
static void relay_http_route(struct relay_client *c, const struct relay_http_request *req,
			     size_t extra, const uint8_t *data, size_t rest)
{
	const size_t prefix = sizeof(RELAY_RECORDS_PREFIX) - 1;
	char text[NODE_ID_TEXT_LEN + 1];
	size_t in_pbuf;

	if (req->target_len == sizeof(RELAY_PROTO_PATH) - 1 &&
	    memcmp(req->target, RELAY_PROTO_PATH, req->target_len) == 0 &&
	    req->method == RELAY_HTTP_GET) {
		if (!req->upgrade)
			relay_http_refuse(c, -EPROTONOSUPPORT);
		else if (extra ||
			 (req->content_length != RELAY_PROTO_NO_LENGTH && req->content_length != 0))
			relay_http_refuse(c, -EBADMSG); /* nothing may come before the challenge */
		else
			relay_http_upgrade(c);
		return;
	}
	if (req->target_len < prefix || memcmp(req->target, RELAY_RECORDS_PREFIX, prefix) != 0) {
		relay_http_refuse(c, -ENOENT);
		return;
	}
	if (req->target_len - prefix != NODE_ID_TEXT_LEN) {
		relay_http_text(c, 400, "bad record ID\n");
		return;
	}
	memcpy(text, req->target + prefix, NODE_ID_TEXT_LEN);
	text[NODE_ID_TEXT_LEN] = '\0';
	if (keytext_parse_node_id(text, c->id) < 0) {
		relay_http_text(c, 400, "bad record ID\n");
		return;
	}
	if (req->method == RELAY_HTTP_GET) {
		if (extra ||
		    (req->content_length != RELAY_PROTO_NO_LENGTH && req->content_length != 0))
			relay_http_text(c, 400, "GET has no body\n");
		else
			relay_records_get(c);
		return;
	}
	if (req->content_length == RELAY_PROTO_NO_LENGTH) {
		relay_http_text(c, 400, "Content-Length required\n");
		return;
	}
	if (req->content_length > RECORD_MAX_LEN) {
		c->srv->ctr.records_refused++;
		relay_http_text(c, 413, "record too big\n");
		return;
	}
	if (extra > req->content_length) {
		relay_http_text(c, 400, "bytes after the body\n");
		return;
	}
	/* keep only the body: pbuf (8 KiB) holds any record */
	in_pbuf = extra - rest;
	memmove(c->pbuf, c->pbuf + req->head_len, in_pbuf);
	c->plen = in_pbuf;
	c->body_len = (size_t)req->content_length;
	c->state = RELAY_C_BODY;
	if (req->expect_continue && extra < req->content_length) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		relay_client_queue_raw(c, cont, sizeof(cont) - 1);
	}
	relay_client_body(c, data, rest);
}

/* Request bytes: collect the head, then route it. */
static void relay_client_http(struct relay_client *c, const uint8_t *data, size_t len)
{
	struct relay_http_request req;
	size_t take, from;
	int ret;

	if (c->state == RELAY_C_BODY) {
		relay_client_body(c, data, len);
		return;
	}
	if (relay_pbuf_reserve(c, RELAY_PROTO_HTTP_MAX) < 0) {
		relay_client_close(c);
		return;
	}
	take = RELAY_PROTO_HTTP_MAX - c->plen;
	if (take > len)
		take = len;
	/* look for the blank line in the new bytes only, so a head sent a
	 * byte at a time costs linear time, not quadratic */
	from = c->plen > 3 ? c->plen - 3 : 0;
	memcpy(c->pbuf + c->plen, data, take);
	c->plen += take;
	if (!memmem(c->pbuf + from, c->plen - from, "\r\n\r\n", 4) &&
	    c->plen < RELAY_PROTO_HTTP_MAX)
		return;
	ret = relay_proto_http_request_head(c->pbuf, c->plen, &req);
	if (ret == -EAGAIN)
		return;
	if (ret < 0) {
		relay_http_refuse(c, ret);
		return;
	}
	relay_http_route(c, &req, c->plen - req.head_len + (len - take), data + take, len - take);
}

static void relay_client_read(struct relay_client *c)
{
	struct relay_server *s = c->srv;
	uint64_t now_ns = loop_now_ns();

	for (int i = 0; i < RELAY_READS_PER_EVENT && !c->dead; i++) {
		ssize_t n = recv(c->fd, s->scratch, sizeof(s->scratch), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				relay_client_close(c);
			return;
		}
		if (n == 0) {
			relay_client_close(c);
			return;
		}
		c->last_rx_ms = s->now_ms;
		switch (c->state) {
		case RELAY_C_HTTP:
		case RELAY_C_BODY:
			relay_client_http(c, s->scratch, (size_t)n);
			break;
		case RELAY_C_AUTH:
		case RELAY_C_READY:
			relay_client_consume(c, s->scratch, (size_t)n, now_ns);
			break;
		case RELAY_C_CLOSING:
			break; /* discard until EOF */
		}
		if ((size_t)n < sizeof(s->scratch))
			return;
	}
}

/* End of every callback: write what was queued, free what was closed. */
static void relay_turn_end(struct relay_server *s)
{
	relay_flush_all(s);
	relay_reap(s);
}

static void relay_client_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct relay_client *c = arg;
	struct relay_server *s = c->srv;

	(void)loop;
	(void)fd;
	s->now_ms = loop_now_ms();
	if (events & EPOLLOUT)
		relay_client_flush(c);
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		relay_client_read(c);
	relay_turn_end(s);
}

/* ---- accepting ----------------------------------------------------------- */

static void relay_accept_event(struct loop *loop, int fd, uint32_t events, void *arg);

static void relay_accept_resume(struct loop *loop, void *arg)
{
	struct relay_server *s = arg;

	s->accept_timer = 0;
	if (!s->listening && loop_fd_add(loop, s->listen_fd, EPOLLIN, relay_accept_event, s) == 0)
		s->listening = true;
}

static void relay_accept_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct relay_server *s = arg;
	static const int one = 1;

	(void)events;
	s->now_ms = loop_now_ms();
	for (int i = 0; i < RELAY_ACCEPTS_PER_EVENT; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct relay_client *c;

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* level-triggered: stop listening a moment instead of spinning */
				log_warn("relay: cannot accept: %s; pausing 200 ms",
					 strerror(errno));
				loop_fd_remove(loop, fd);
				s->listening = false;
				s->accept_timer = loop_timer_add(loop, 200, relay_accept_resume, s);
			}
			break;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			break;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->srv = s;
		c->fd = cfd;
		c->state = RELAY_C_HTTP;
		c->connected_ms = c->last_rx_ms = c->last_ping_ms = s->now_ms;
		c->credit = s->cfg.burst_bytes * 1000000000ull;
		c->credit_ns = loop_now_ns();
		if (loop_fd_add(loop, cfd, EPOLLIN, relay_client_event, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = s->clients;
		if (s->clients)
			s->clients->prev = c;
		s->clients = c;
		s->ctr.accepted++;
		s->ctr.connections++;
	}
	relay_turn_end(s);
}

/* ---- the sweep: timeouts, keep-alives, slow readers, summary ------------- */

static void relay_summary(struct relay_server *s)
{
	struct relay_counters *c = &s->ctr, *l = &s->last_summary;

	if (c->accepted == l->accepted && c->frames_forwarded == l->frames_forwarded &&
	    c->connections == l->connections && c->drop_no_peer == l->drop_no_peer &&
	    c->drop_rate_limit == l->drop_rate_limit && c->drop_queue_full == l->drop_queue_full &&
	    c->stun_answered == l->stun_answered && c->stun_ignored == l->stun_ignored &&
	    c->records == l->records && c->records_refused == l->records_refused &&
	    c->records_served == l->records_served)
		return;
	log_info("relay: %llu clients (%llu conns), +%llu accepted, +%llu frames %llu bytes "
		 "forwarded, drops +%llu no-peer +%llu queue-full +%llu rate, closed +%llu "
		 "protocol +%llu timeout +%llu slow",
		 (unsigned long long)c->clients, (unsigned long long)c->connections,
		 (unsigned long long)(c->accepted - l->accepted),
		 (unsigned long long)(c->frames_forwarded - l->frames_forwarded),
		 (unsigned long long)(c->bytes_forwarded - l->bytes_forwarded),
		 (unsigned long long)(c->drop_no_peer - l->drop_no_peer),
		 (unsigned long long)(c->drop_queue_full - l->drop_queue_full),
		 (unsigned long long)(c->drop_rate_limit - l->drop_rate_limit),
		 (unsigned long long)(c->closed_protocol - l->closed_protocol),
		 (unsigned long long)(c->closed_timeout - l->closed_timeout),
		 (unsigned long long)(c->closed_slow - l->closed_slow));
	log_info("relay: stun +%llu answered +%llu ignored; records %llu held, +%llu stored "
		 "+%llu refused +%llu served",
		 (unsigned long long)(c->stun_answered - l->stun_answered),
		 (unsigned long long)(c->stun_ignored - l->stun_ignored),
		 (unsigned long long)c->records,
		 (unsigned long long)(c->records_stored - l->records_stored),
		 (unsigned long long)(c->records_refused - l->records_refused),
		 (unsigned long long)(c->records_served - l->records_served));
	*l = *c;
}

static void relay_sweep(struct loop *loop, void *arg)
{
	struct relay_server *s = arg;
	const struct relay_server_config *cfg = &s->cfg;
	struct relay_client *c, *next;
	uint64_t now = loop_now_ms();

	s->now_ms = now;
	for (c = s->clients; c; c = next) {
		next = c->next;
		switch (c->state) {
		case RELAY_C_HTTP:
		case RELAY_C_BODY:
		case RELAY_C_AUTH:
			if (now - c->connected_ms >= cfg->auth_timeout_ms) {
				s->ctr.closed_timeout++;
				if (c->state == RELAY_C_AUTH) {
					relay_client_fail(c, "authentication timed out", false);
				} else {
					relay_pbuf_release(c);
					relay_client_fail(
						c, relay_proto_http_error_response(-ETIMEDOUT),
						true);
				}
			}
			break;
		case RELAY_C_CLOSING:
			if (now - c->closing_since_ms >= RELAY_LINGER_MS)
				relay_client_close(c);
			break;
		case RELAY_C_READY:
			if (c->full_since_ms && now - c->full_since_ms >= cfg->slow_reader_ms) {
				s->ctr.closed_slow++;
				relay_client_close(c); /* its queue is full: no room for a reason */
			} else if (now - c->last_rx_ms >= cfg->idle_timeout_ms) {
				s->ctr.closed_timeout++;
				relay_client_fail(c, "idle timeout", false);
			} else if (now - c->last_rx_ms >= cfg->ping_interval_ms &&
				   now - c->last_ping_ms >= cfg->ping_interval_ms) {
				uint8_t ping[RELAY_PROTO_PING_LEN];

				memcpy(ping, &now, sizeof(ping));
				if (relay_client_queue(c, RELAY_PING, ping, sizeof(ping), NULL,
						       0) == 0)
					s->ctr.pings_sent++;
				c->last_ping_ms = now;
			}
			break;
		}
	}
	record_store_expire(s->store, relay_wall_ms(), RELAY_RECORD_SWEEP);
	s->ctr.records = record_store_count(s->store);
	if (now >= s->next_summary_ms) {
		relay_summary(s);
		s->next_summary_ms = now + cfg->summary_interval_ms;
	}
	relay_turn_end(s);
	s->sweep_timer = loop_timer_add(loop, RELAY_SWEEP_MS, relay_sweep, s);
}

/* ---- setup ---------------------------------------------------------------- */

int relay_server_parse_listen(const char *text, struct sockaddr_storage *sa, socklen_t *sa_len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_text, *h = text;
	size_t hlen;
	char *end;
	unsigned long port;
	bool v6 = false;

	memset(sa, 0, sizeof(*sa));
	if (text[0] == '[') {
		const char *close_br = strchr(text, ']');

		if (!close_br || close_br[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(close_br - h);
		port_text = close_br + 2;
		v6 = true;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - text);
		port_text = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port_text || *port_text == '-' ||
	    *port_text == '+')
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(port_text, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sa_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sa_len = sizeof(*s4);
	}
	return 0;
}

/* ---- STUN on UDP ----------------------------------------------------------- */

/* Answers only Binding Requests, one datagram each, to the source address.
 * An answer is at most about three times its request (64 bytes for 20), the
 * usual STUN reflection factor; there is no per-source state to exhaust. */

static void relay_stun_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct relay_server *s = arg;
	uint8_t buf[RELAY_STUN_BUF], out[STUN_RESPONSE_MAX];

	(void)loop;
	(void)events;
	for (int i = 0; i < RELAY_STUN_PER_EVENT; i++) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		struct endpoint ep;
		size_t out_len;
		ssize_t n;
		int ret;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: drained; anything else: the next wake-up */
		}
		memset(&ep, 0, sizeof(ep));
		ep.sin6.sin6_family = AF_INET6;
		if (from.ss_family == AF_INET6) {
			const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)&from;

			ep.sin6.sin6_addr = f6->sin6_addr;
			ep.sin6.sin6_port = f6->sin6_port;
		} else if (from.ss_family == AF_INET) {
			const struct sockaddr_in *f4 = (const struct sockaddr_in *)&from;
			uint8_t *a = ep.sin6.sin6_addr.s6_addr;

			a[10] = a[11] = 0xff;
			memcpy(a + 12, &f4->sin_addr, 4);
			ep.sin6.sin6_port = f4->sin_port;
		}
		/* MSG_TRUNC: N is the datagram's real size */
		if ((size_t)n > sizeof(buf) || !ep.sin6.sin6_port) {
			s->ctr.stun_ignored++;
			continue;
		}
		if (stun_is_binding_request(buf, (size_t)n))
			ret = stun_write_binding_response(buf, (size_t)n, &ep, out, sizeof(out),
							  &out_len);
		else if (stun_is_classic_binding_request(buf, (size_t)n))
			ret = stun_write_classic_binding_response(buf, (size_t)n, &ep, out,
								  sizeof(out), &out_len);
		else
			ret = -EBADMSG;
		if (ret < 0) {
			s->ctr.stun_ignored++;
			continue;
		}
		/* a full socket buffer drops the answer; the client retries */
		if (sendto(fd, out, out_len, MSG_DONTWAIT, (struct sockaddr *)&from, from_len) ==
		    (ssize_t)out_len)
			s->ctr.stun_answered++;
	}
}

/* Allow IPv4 on a socket bound to [::], whatever net.ipv6.bindv6only says. */
static void relay_dual_stack(int fd, const struct sockaddr_storage *sa)
{
	static const int zero = 0;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
}

/* STUN on PORT; SLOT 0 is the advertised port, 1 the alternate one after it
 * (relay_proto.h: two destinations on one relay reveal a NAT whose mapping
 * depends on the destination). */
static int relay_stun_open(struct relay_server *s, const char *listen_text, unsigned slot,
			   uint16_t port)
{
	struct sockaddr_storage sa;
	socklen_t sa_len;
	int ret, fd;

	ret = relay_server_parse_listen(listen_text, &sa, &sa_len);
	if (ret < 0)
		return ret;
	if (sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&sa)->sin_port = htons(port);
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	relay_dual_stack(fd, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = loop_fd_add(s->loop, fd, EPOLLIN, relay_stun_event, s);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	s->stun_fd[slot] = fd;
	return 0;
}

/* ---- the TCP listener -------------------------------------------------------- */

static int relay_listen(struct relay_server *s, const char *listen_text)
{
	struct sockaddr_storage sa;
	socklen_t sa_len;
	static const int one = 1;
	int ret, fd;

	ret = relay_server_parse_listen(listen_text, &sa, &sa_len);
	if (ret < 0)
		return ret;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	relay_dual_stack(fd, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sa_len) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	s->listen_fd = fd;
	s->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
						 : ((struct sockaddr_in *)&sa)->sin_port);
	return 0;
}

int relay_server_new(struct loop *loop, const char *listen_text, const uint8_t server_pk[32],
		     const struct relay_server_config *config, struct relay_server **out)
{
	struct relay_server *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->listen_fd = -1;
	s->stun_fd[0] = s->stun_fd[1] = -1;
	if (config)
		s->cfg = *config;
	else
		relay_server_config_default(&s->cfg);
	if (s->cfg.max_payload > RELAY_PROTO_MAX_PAYLOAD)
		s->cfg.max_payload = RELAY_PROTO_MAX_PAYLOAD;
	/* the queue must hold at least one largest frame */
	if (s->cfg.queue_bytes < RELAY_PROTO_HEADER_LEN + s->cfg.max_payload)
		s->cfg.queue_bytes = RELAY_PROTO_HEADER_LEN + s->cfg.max_payload;
	if (!s->cfg.summary_interval_ms)
		s->cfg.summary_interval_ms = 60000;
	if (!s->cfg.max_records)
		s->cfg.max_records = RECORD_STORE_DEFAULT_MAX;
	memcpy(s->server_pk, server_pk, RELAY_PROTO_KEY_LEN);
	crypto_shorthash_keygen(s->hash_key);
	s->nbuckets = 1024;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		goto out;
	ret = record_store_new(s->cfg.max_records, &s->store);
	if (ret < 0)
		goto out;
	ret = relay_listen(s, listen_text);
	if (ret < 0)
		goto out;
	if (s->cfg.stun_port) {
		ret = relay_stun_open(s, listen_text, 0, s->cfg.stun_port);
		if (ret == 0 && s->cfg.stun_port < 65535)
			ret = relay_stun_open(s, listen_text, 1, (uint16_t)(s->cfg.stun_port + 1));
		if (ret < 0)
			goto out;
	}
	ret = relay_proto_http_101_write(s->cfg.stun_port, s->resp101, sizeof(s->resp101));
	if (ret < 0)
		goto out;
	s->resp101_len = (size_t)ret;
	ret = loop_fd_add(loop, s->listen_fd, EPOLLIN, relay_accept_event, s);
	if (ret < 0)
		goto out;
	s->listening = true;
	s->next_summary_ms = loop_now_ms() + s->cfg.summary_interval_ms;
	s->sweep_timer = loop_timer_add(loop, RELAY_SWEEP_MS, relay_sweep, s);
	if (!s->sweep_timer) {
		ret = -ENOMEM;
		goto out;
	}
	*out = s;
	return 0;
out:
	relay_server_free(s);
	return ret;
}

void relay_server_free(struct relay_server *s)
{
	if (!s)
		return;
	while (s->clients)
		relay_client_close(s->clients);
	relay_reap(s);
	if (s->sweep_timer)
		loop_timer_cancel(s->loop, s->sweep_timer);
	if (s->accept_timer)
		loop_timer_cancel(s->loop, s->accept_timer);
	if (s->listen_fd >= 0) {
		if (s->listening)
			loop_fd_remove(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	for (unsigned i = 0; i < 2; i++) {
		if (s->stun_fd[i] >= 0) {
			loop_fd_remove(s->loop, s->stun_fd[i]);
			close(s->stun_fd[i]);
		}
	}
	record_store_free(s->store);
	sodium_memzero(s->hash_key, sizeof(s->hash_key));
	free(s->buckets);
	free(s);
}

uint16_t relay_server_port(const struct relay_server *s)
{
	return s->port;
}

void relay_server_counters(const struct relay_server *s, struct relay_counters *c)
{
	*c = s->ctr;
	c->records = record_store_count(s->store);
}

/* ---- the process ---------------------------------------------------------- */

static void relay_signal(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("relay: received %s, shutting down", strsignal((int)si.ssi_signo));
		loop_stop(loop);
	}
}

/* Thousands of clients need thousands of descriptors: take all we may. */
static void relay_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("relay: getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("relay: cannot raise open-file limit from %llu: %s",
				 (unsigned long long)old, strerror(errno));
			return;
		}
		log_info("relay: open-file limit raised from %llu to %llu (the hard limit)",
			 (unsigned long long)old, (unsigned long long)rl.rlim_cur);
	} else {
		log_info("relay: open-file limit %llu (already the hard limit)",
			 (unsigned long long)rl.rlim_cur);
	}
}

int relay_server_run(const struct relay_options *o)
{
	struct identity id;
	struct loop *loop = NULL;
	struct relay_server *s = NULL;
	struct relay_server_config cfg;
	char path[PATH_MAX], text[NODE_ID_TEXT_LEN + 1];
	sigset_t mask;
	int sfd = -1, ret, status = 1;

	memset(&id, 0, sizeof(id));
	if (sodium_init() < 0) {
		log_error("relay: libsodium failed to initialize");
		return 1;
	}
	relay_raise_nofile();
	ret = file_mkdirs(o->state_dir, 0700);
	if (ret < 0) {
		log_error("relay: cannot create %s: %s", o->state_dir, strerror(-ret));
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/relay.key", o->state_dir) >= (int)sizeof(path)) {
		log_error("relay: state directory path too long");
		goto out;
	}
	ret = identity_load_or_create(path, &id);
	if (ret < 0) {
		log_error("relay: cannot use key %s: %s", path, strerror(-ret));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("relay: cannot watch signals: %s", strerror(errno));
		goto out;
	}
	loop = loop_new();
	if (!loop || loop_fd_add(loop, sfd, EPOLLIN, relay_signal, NULL) < 0) {
		log_error("relay: cannot create the event loop");
		goto out;
	}
	if (o->config)
		cfg = *o->config;
	else
		relay_server_config_default(&cfg);
	cfg.stun_port = o->stun_port;
	if (!cfg.max_records)
		cfg.max_records = RECORD_STORE_DEFAULT_MAX;
	ret = relay_server_new(loop, o->listen, id.sign_public, &cfg, &s);
	if (ret < 0) {
		log_error("relay: cannot listen on %s (TCP%s): %s", o->listen,
			  o->stun_port ? ", and UDP for STUN" : "", strerror(-ret));
		goto out;
	}
	keytext_format_node_id(id.sign_public, text);
	log_info("relay: listening on %s (port %u), relay key %s", o->listen,
		 (unsigned)relay_server_port(s), text);
	if (o->stun_port)
		log_info("relay: STUN on udp %u and %u", (unsigned)o->stun_port,
			 (unsigned)o->stun_port + 1);
	log_info("relay: record store for up to %zu records", cfg.max_records);
	ret = loop_run(loop);
	if (ret < 0) {
		log_error("relay: event loop failed: %s", strerror(-ret));
		goto out;
	}
	relay_summary(s);
	status = 0;
out:
	relay_server_free(s);
	if (loop && sfd >= 0)
		loop_fd_remove(loop, sfd);
	loop_free(loop);
	if (sfd >= 0)
		close(sfd);
	identity_wipe(&id);
	return status;
}
