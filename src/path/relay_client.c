/* The daemon's connection to one relay (relay/relay_proto.h). One TCP
 * connection at a time, walked through explicit states by the event loop;
 * one timer serves whatever the current state waits for (the next attempt,
 * the setup stage's deadline, or the keep-alive check), so the data path never
 * touches a timer. */
#include "path/relay_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "relay/relay_proto.h"
#include "util/eventloop.h"
#include "util/log.h"

#define RC_QUEUE_CAP	  (1024 * 1024) /* output queue, bytes */
#define RC_WBUF_MIN	  65536
#define RC_READ_CHUNK	  65536
#define RC_READS_PER_WAKE 8 /* fairness: then let the loop serve the others */
/* the partial frame carried over from the last read, plus a whole chunk */
#define RC_RBUF_SIZE   (RELAY_PROTO_HEADER_LEN + RELAY_PROTO_MAX_PAYLOAD + RC_READ_CHUNK)
#define RC_REASON_MAX  128
#define RC_REQUEST_MAX 512

enum rc_state {
	RC_IDLE,       /* no connection; the timer starts the next attempt */
	RC_CONNECTING, /* TCP connect in flight */
	RC_HTTP,       /* upgrade request sent, reading the 101 */
	RC_AUTH,       /* reading SERVER_CHALLENGE, then (CLIENT_AUTH sent) SERVER_OK */
	RC_READY,      /* authenticated: frames flow */
};

struct relay_client {
	struct loop *loop;
	struct relay_client_callbacks cb;
	struct relay_client_timeouts to;
	char url[RELAY_CLIENT_URL_MAX + 1];
	char host[256];		/* brackets removed */
	char hostport[256 + 8]; /* for the Host header */
	uint16_t port;
	uint8_t node_secret[64]; /* wiped on free */
	uint8_t node_pk[32];
	uint8_t server_pk[32]; /* from the last challenge */
	enum rc_state state;
	int fd;
	uint64_t gen; /* bumped by every close: the connection a callback saw is gone */
	uint64_t timer;
	bool challenged;       /* CLIENT_AUTH sent, SERVER_OK awaited */
	bool want_out;	       /* EPOLLOUT armed */
	bool blocked;	       /* the last write hit a full socket; no EPOLLOUT since */
	unsigned backoff_step; /* failures since the backoff was last reset */
	unsigned attempts;     /* rotates over the addresses of a DNS name */
	uint64_t ready_ms, last_rx_ms;
	bool ping_pending;
	uint64_t ping_ms, ping_ns; /* when the pending PING went out */
	uint8_t ping[RELAY_PROTO_PING_LEN];
	int last_err;			 /* the failure last logged as a warning ... */
	const char *last_what;		 /* ... so that a retry loop logs it once */
	char last_reason[RC_REASON_MAX]; /* the last SERVER_ERROR logged */
	struct sockaddr_storage peer;	 /* the relay's address of this attempt */
	struct endpoint stun;
	struct relay_client_stats st;
	/* the output queue: bytes [whead, wtail) of wbuf */
	uint8_t *wbuf;
	size_t whead, wtail, wcap;
	/* bytes read but not parsed yet: the HTTP head, or at most one partial frame */
	size_t rlen;
	uint8_t rbuf[RC_RBUF_SIZE];
};

static const struct relay_client_timeouts rc_default_timeouts = {
	.stage_ms = 10000,
	.backoff_ms = 1000,
	.backoff_max_ms = 30000,
	.stable_ms = 5000,
	.ping_ms = 15000,
	.idle_ms = 40000,
};

/* ---- URL ---------------------------------------------------------------- */

static bool rc_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

int relay_client_parse_url(const char *url, char host[256], uint16_t *port)
{
	static const char scheme[] = "http://";
	char tmp[256];
	const char *h, *end, *p;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long v = 0;
	size_t hlen, n;
	bool numeric = true;

	if (!url || strnlen(url, RELAY_CLIENT_URL_MAX + 1) > RELAY_CLIENT_URL_MAX ||
	    strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
		return -EINVAL;
	h = url + sizeof(scheme) - 1;
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - h);
		if (hlen == 0 || hlen >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, h, hlen);
		tmp[hlen] = '\0';
		/* no zone ids: a relay is not on a link-local address */
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return -EINVAL;
		p = end + 2;
	} else {
		for (end = h; *end && *end != ':'; end++) {
			if (!rc_is_name_char(*end))
				return -EINVAL;
			if (*end != '.' && (*end < '0' || *end > '9'))
				numeric = false;
		}
		hlen = (size_t)(end - h);
		if (*end != ':' || hlen == 0 || hlen > 253)
			return -EINVAL;
		memcpy(tmp, h, hlen);
		tmp[hlen] = '\0';
		/* digits and dots are an IPv4 address or nothing (no "1.2.3", "1234") */
		if (numeric && inet_pton(AF_INET, tmp, &a4) != 1)
			return -EINVAL;
		p = end + 1;
	}
	for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
		if (n == 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	if (n == 0 || v == 0 || v > 65535)
		return -EINVAL;
	p += n;
	if (*p == '/')
		p++;
	if (*p)
		return -EINVAL;
	memcpy(host, tmp, hlen + 1);
	*port = (uint16_t)v;
	return 0;
}

/* ---- timers ------------------------------------------------------------- */

static void rc_timer(struct loop *loop, void *arg);

static void rc_arm(struct relay_client *rc, uint64_t delay_ms)
{
	if (rc->timer)
		loop_timer_cancel(rc->loop, rc->timer);
	rc->timer = loop_timer_add(rc->loop, delay_ms, rc_timer, rc);
	if (!rc->timer)
		log_error("relay %s: out of memory for a timer; the connection is stuck", rc->url);
}

/* The next retry delay: doubling from backoff_ms to backoff_max_ms, then
 * jittered +-20 % so that the clients of a restarted relay come back spread
 * out. */
static uint64_t rc_backoff(struct relay_client *rc)
{
	uint64_t d = rc->to.backoff_ms;

	for (unsigned i = 0; i < rc->backoff_step && d < rc->to.backoff_max_ms; i++)
		d *= 2;
	if (d > rc->to.backoff_max_ms)
		d = rc->to.backoff_max_ms;
	if (rc->backoff_step < 32)
		rc->backoff_step++;
	return d * (80 + randombytes_uniform(41)) / 100;
}

/* ---- closing -------------------------------------------------------------- */

/* Close the connection, if any, and stop the timer. No callback runs. */
static void rc_close(struct relay_client *rc)
{
	if (rc->fd >= 0) {
		loop_fd_remove(rc->loop, rc->fd);
		close(rc->fd);
		rc->fd = -1;
	}
	if (rc->timer) {
		loop_timer_cancel(rc->loop, rc->timer);
		rc->timer = 0;
	}
	rc->state = RC_IDLE;
	rc->gen++;
	rc->rlen = 0;
	rc->whead = rc->wtail = 0;
	rc->challenged = rc->want_out = rc->blocked = rc->ping_pending = false;
}

/* An attempt failed or a connection was lost: close, retry after the backoff,
 * and tell the owner last, when everything is consistent again. WHAT says
 * where it failed (NULL: already logged); ERR is a negative errno or 0. */
static void rc_fail(struct relay_client *rc, int err, const char *what)
{
	bool was_ready = rc->state == RC_READY;
	uint64_t delay;

	if (was_ready && loop_now_ms() - rc->ready_ms >= rc->to.stable_ms)
		rc->backoff_step = 0;
	rc_close(rc);
	rc->st.failures++;
	delay = rc_backoff(rc);
	if (what && (was_ready || err != rc->last_err || what != rc->last_what)) {
		log_warn("relay %s: %s%s%s; retrying in %llu ms", rc->url, what, err ? ": " : "",
			 err ? strerror(-err) : "", (unsigned long long)delay);
		rc->last_err = err;
		rc->last_what = what;
	} else {
		log_debug("relay %s: attempt failed (%s); retrying in %llu ms", rc->url,
			  what ? what : "refused", (unsigned long long)delay);
	}
	rc_arm(rc, delay);
	if (was_ready && rc->cb.on_state)
		rc->cb.on_state(rc->cb.arg, rc, false);
}

/* SERVER_ERROR: log its reason (once while it repeats), then fail. */
static void rc_server_error(struct relay_client *rc, const uint8_t *p, size_t len)
{
	char reason[RC_REASON_MAX];
	size_t n = len < sizeof(reason) - 1 ? len : sizeof(reason) - 1;

	/* the server's text goes into our log: printable ASCII only */
	for (size_t i = 0; i < n; i++)
		reason[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	reason[n] = '\0';
	if (strcmp(reason, rc->last_reason) != 0) {
		log_warn("relay %s: refused by the relay: %s", rc->url, reason);
		memcpy(rc->last_reason, reason, n + 1);
	}
	rc_fail(rc, -ECONNREFUSED, NULL);
}

/* ---- the output queue ----------------------------------------------------- */

static void rc_want_out(struct relay_client *rc, bool on)
{
	if (rc->want_out == on)
		return;
	if (loop_fd_modify(rc->loop, rc->fd, EPOLLIN | (on ? EPOLLOUT : 0)) == 0)
		rc->want_out = on;
}

/* Write what the socket takes. 0 once the queue is empty, -EAGAIN when the
 * socket is full, or -errno. */
static int rc_write(struct relay_client *rc)
{
	while (rc->whead < rc->wtail) {
		ssize_t n = send(rc->fd, rc->wbuf + rc->whead, rc->wtail - rc->whead,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc->blocked = true;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		rc->whead += (size_t)n;
	}
	rc->whead = rc->wtail = 0;
	return 0;
}

/* Write now; keep EPOLLOUT armed while bytes remain. Returns 0, or -errno
 * after failing the connection. */
static int rc_flush(struct relay_client *rc)
{
	int ret = rc_write(rc);

	if (ret == -EAGAIN) {
		rc_want_out(rc, true);
		return 0;
	}
	if (ret < 0) {
		rc_fail(rc, ret, "write");
		return ret;
	}
	rc_want_out(rc, false);
	return 0;
}

/* Room for NEED more bytes at wtail within the cap. 0 or -ENOBUFS. */
static int rc_reserve(struct relay_client *rc, size_t need)
{
	size_t queued = rc->wtail - rc->whead, cap;
	uint8_t *nb;

	if (queued + need > RC_QUEUE_CAP && queued && !rc->blocked) {
		/* a burst over the cap within one turn: the socket may take some
		 * now. Errors are left for the event handler to see. */
		rc_write(rc);
		queued = rc->wtail - rc->whead;
	}
	if (queued + need > RC_QUEUE_CAP)
		return -ENOBUFS;
	if (rc->wcap - rc->wtail >= need)
		return 0;
	if (rc->whead) {
		memmove(rc->wbuf, rc->wbuf + rc->whead, queued);
		rc->whead = 0;
		rc->wtail = queued;
		if (rc->wcap - rc->wtail >= need)
			return 0;
	}
	for (cap = rc->wcap; cap < queued + need; cap *= 2)
		;
	if (cap > RC_QUEUE_CAP)
		cap = RC_QUEUE_CAP;
	nb = realloc(rc->wbuf, cap);
	if (!nb)
		return -ENOBUFS;
	rc->wbuf = nb;
	rc->wcap = cap;
	return 0;
}

/* Queue one frame and arm EPOLLOUT. 0 or -ENOBUFS. */
static int rc_queue(struct relay_client *rc, uint8_t type, const void *p1, size_t l1,
		    const void *p2, size_t l2)
{
	int ret = rc_reserve(rc, RELAY_PROTO_HEADER_LEN + l1 + l2);

	if (ret < 0)
		return ret;
	ret = relay_proto_frame_encode(type, p1, l1, p2, l2, rc->wbuf + rc->wtail,
				       rc->wcap - rc->wtail);
	if (ret < 0)
		return ret;
	rc->wtail += (size_t)ret;
	rc_want_out(rc, true);
	return 0;
}

int relay_client_send(struct relay_client *rc, const uint8_t dst[32], const uint8_t *payload,
		      size_t len)
{
	int ret;

	if (len > RELAY_CLIENT_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (rc->state != RC_READY) {
		rc->st.drop_not_ready++;
		return -ENOTCONN;
	}
	ret = rc_queue(rc, RELAY_SEND, dst, RELAY_PROTO_KEY_LEN, payload, len);
	if (ret < 0) {
		rc->st.drop_queue_full++;
		return -ENOBUFS;
	}
	rc->st.tx_frames++;
	rc->st.tx_bytes += len;
	return 0;
}

/* ---- the server's stream -------------------------------------------------- */

static void rc_ready(struct relay_client *rc)
{
	uint64_t now = loop_now_ms();

	rc->state = RC_READY;
	rc->challenged = false;
	rc->st.connects++;
	rc->ready_ms = rc->last_rx_ms = now;
	rc->last_err = 0;
	rc->last_what = NULL;
	rc->last_reason[0] = '\0';
	log_debug("relay %s: connected", rc->url);
	rc_arm(rc, rc->to.ping_ms);
	if (rc->cb.on_state)
		rc->cb.on_state(rc->cb.arg, rc, true);
}

/* A frame before SERVER_OK. Returns 0, or -errno and *WHY for a protocol
 * error (the caller fails the connection). */
static int rc_auth_frame(struct relay_client *rc, uint8_t type, const uint8_t *p, size_t len,
			 const char **why)
{
	uint8_t nonce[RELAY_PROTO_NONCE_LEN], sig[RELAY_PROTO_SIG_LEN];
	int ret;

	if (type == RELAY_SERVER_ERROR) {
		rc_server_error(rc, p, len);
		return 0;
	}
	if (!rc->challenged && type == RELAY_SERVER_CHALLENGE) {
		ret = relay_proto_parse_challenge(p, len, rc->server_pk, nonce);
		if (ret < 0) {
			*why = ret == -EPROTONOSUPPORT ? "unsupported relay protocol version"
						       : "malformed challenge";
			return ret;
		}
		relay_proto_auth_sign(rc->node_secret, rc->server_pk, nonce, sig);
		rc_queue(rc, RELAY_CLIENT_AUTH, rc->node_pk, RELAY_PROTO_KEY_LEN, sig, sizeof(sig));
		rc->challenged = true;
		rc_arm(rc, rc->to.stage_ms);
		return 0;
	}
	if (rc->challenged && type == RELAY_SERVER_OK && len == 0) {
		rc_ready(rc);
		return 0;
	}
	*why = "unexpected frame during authentication";
	return -EPROTO;
}

static void rc_pong(struct relay_client *rc, const uint8_t *p)
{
	uint64_t ns;

	if (!rc->ping_pending || memcmp(p, rc->ping, sizeof(rc->ping)) != 0)
		return;
	rc->ping_pending = false;
	ns = loop_now_ns() - rc->ping_ns;
	/* rounded up, so that a measured round trip is never 0 ("none yet") */
	rc->st.rtt_ms = (ns + 999999) / 1000000;
	if (!rc->st.rtt_ms)
		rc->st.rtt_ms = 1;
}

/* A frame after SERVER_OK; P may be changed in place (by on_recv). */
static int rc_ready_frame(struct relay_client *rc, uint8_t type, uint8_t *p, size_t len,
			  const char **why)
{
	switch (type) {
	case RELAY_RECV:
		if (len < RELAY_PROTO_KEY_LEN) {
			*why = "RECV shorter than a node id";
			return -EBADMSG;
		}
		rc->st.rx_frames++;
		rc->st.rx_bytes += len - RELAY_PROTO_KEY_LEN;
		rc->cb.on_recv(rc->cb.arg, rc, p, p + RELAY_PROTO_KEY_LEN,
			       len - RELAY_PROTO_KEY_LEN);
		return 0;
	case RELAY_PEER_GONE:
		if (len != RELAY_PROTO_KEY_LEN) {
			*why = "PEER_GONE of the wrong length";
			return -EBADMSG;
		}
		if (rc->cb.on_peer_gone)
			rc->cb.on_peer_gone(rc->cb.arg, rc, p);
		return 0;
	case RELAY_PING:
	case RELAY_PONG:
		if (len != RELAY_PROTO_PING_LEN) {
			*why = "PING or PONG of the wrong length";
			return -EBADMSG;
		}
		if (type == RELAY_PONG)
			rc_pong(rc, p);
		else
			rc_queue(rc, RELAY_PONG, p, len, NULL,
				 0); /* dropped if the queue is full */
		return 0;
	case RELAY_SERVER_ERROR:
		rc_server_error(rc, p, len);
		return 0;
	case RELAY_SERVER_CHALLENGE:
	case RELAY_CLIENT_AUTH:
	case RELAY_SERVER_OK:
	case RELAY_SEND:
		*why = "unexpected frame type";
		return -EPROTO;
	default:
		return 0; /* a later protocol's frame: ignore */
	}
}

/* Parse what rbuf holds: the 101 first, then whole frames; keep the partial
 * frame at the end for the next read. */
static void rc_consume(struct relay_client *rc)
{
	uint64_t gen = rc->gen;
	const char *why = NULL;
	struct relay_frame f;
	size_t off = 0;
	int n, ret;

	if (rc->state == RC_HTTP) {
		size_t head;
		uint16_t stun_port = 0;

		ret = relay_proto_http_response_parse(rc->rbuf, rc->rlen, &head, &stun_port);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			rc_fail(rc, ret,
				ret == -ECONNREFUSED ? "upgrade refused"
						     : "malformed upgrade answer");
			return;
		}
		memset(&rc->stun, 0, sizeof(rc->stun));
		if (stun_port) {
			struct sockaddr_in6 *s6 = &rc->stun.sin6;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(stun_port);
			if (rc->peer.ss_family == AF_INET) {
				s6->sin6_addr.s6_addr[10] = 0xff;
				s6->sin6_addr.s6_addr[11] = 0xff;
				memcpy(&s6->sin6_addr.s6_addr[12],
				       &((struct sockaddr_in *)&rc->peer)->sin_addr, 4);
			} else {
				s6->sin6_addr = ((struct sockaddr_in6 *)&rc->peer)->sin6_addr;
			}
		}
		rc->state = RC_AUTH;
		rc_arm(rc, rc->to.stage_ms);
		off = head;
	}
	while (off < rc->rlen) {
		n = relay_proto_frame_decode(rc->rbuf + off, rc->rlen - off,
					     RELAY_PROTO_MAX_PAYLOAD, &f);
		if (n == 0)
			break;
		if (n < 0) {
			rc_fail(rc, n, "malformed frame");
			return;
		}
		if (rc->state == RC_AUTH)
			ret = rc_auth_frame(rc, f.type, f.payload, f.len, &why);
		else
			ret = rc_ready_frame(rc, f.type, rc->rbuf + off + RELAY_PROTO_HEADER_LEN,
					     f.len, &why);
		if (gen != rc->gen)
			return; /* failed, or a callback reconnected: rbuf is reset */
		if (ret < 0) {
			rc_fail(rc, ret, why);
			return;
		}
		off += (size_t)n;
	}
	if (off) {
		memmove(rc->rbuf, rc->rbuf + off, rc->rlen - off);
		rc->rlen -= off;
	}
}

static void rc_read(struct relay_client *rc)
{
	uint64_t gen = rc->gen;

	for (int i = 0; i < RC_READS_PER_WAKE; i++) {
		size_t room = sizeof(rc->rbuf) - rc->rlen;
		ssize_t n = recv(rc->fd, rc->rbuf + rc->rlen, room, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rc_fail(rc, -errno, "read");
			return;
		}
		if (n == 0) {
			rc_fail(rc, 0, "connection closed by the relay");
			return;
		}
		rc->last_rx_ms = loop_now_ms();
		rc->rlen += (size_t)n;
		rc_consume(rc);
		if (gen != rc->gen || (size_t)n < room)
			return;
	}
}

/* ---- connecting ----------------------------------------------------------- */

/* The relay's address: numeric hosts without the resolver; a DNS name with
 * getaddrinfo, which blocks the loop while it asks (relays are normally given
 * by address; an asynchronous resolver is future work). */
static int rc_resolve(struct relay_client *rc, struct sockaddr_storage *sa)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	char port[8];
	unsigned n = 0, pick;
	int ret;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, rc->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(rc->port);
		return 0;
	}
	if (inet_pton(AF_INET6, rc->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(rc->port);
		return 0;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)rc->port);
	ret = getaddrinfo(rc->host, port, &hints, &res);
	if (ret != 0) {
		log_debug("relay %s: %s", rc->url, gai_strerror(ret));
		return ret == EAI_SYSTEM && errno ? -errno : -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(*sa))
			n++;
	}
	ret = -EHOSTUNREACH;
	pick = n ? rc->attempts % n : 0;
	for (ai = res; ai && n; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(*sa))
			continue;
		if (pick-- == 0) {
			memcpy(sa, ai->ai_addr, ai->ai_addrlen);
			ret = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return ret;
}

static void rc_event(struct loop *loop, int fd, uint32_t events, void *arg);

static void rc_connect(struct relay_client *rc)
{
	static const int one = 1;
	socklen_t sa_len;
	int fd, ret;

	rc->attempts++;
	ret = rc_resolve(rc, &rc->peer);
	if (ret < 0) {
		rc_fail(rc, ret, "cannot resolve the host name");
		return;
	}
	sa_len = rc->peer.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					       : sizeof(struct sockaddr_in6);
	fd = socket(rc->peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc_fail(rc, -errno, "socket");
		return;
	}
	/* relayed WireGuard packets are latency-bound; batching is ours to do */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&rc->peer, sa_len) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	/* EPOLLOUT reports the end of the connect, one way or the other */
	ret = loop_fd_add(rc->loop, fd, EPOLLIN | EPOLLOUT, rc_event, rc);
	if (ret < 0)
		goto fail;
	rc->fd = fd;
	rc->state = RC_CONNECTING;
	rc->want_out = true;
	rc_arm(rc, rc->to.stage_ms);
	return;
fail:
	close(fd);
	rc_fail(rc, ret, "connect");
}

/* The connect finished: on success send the upgrade request. */
static void rc_connected(struct relay_client *rc)
{
	char req[RC_REQUEST_MAX];
	socklen_t len = sizeof(int);
	int err = 0, n;

	if (getsockopt(rc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		rc_fail(rc, -err, "connect");
		return;
	}
	n = relay_proto_http_request_write(rc->hostport, req, sizeof(req));
	if (n < 0 || rc_reserve(rc, (size_t)n) < 0) {
		rc_fail(rc, n < 0 ? n : -ENOBUFS, "upgrade request");
		return;
	}
	memcpy(rc->wbuf + rc->wtail, req, (size_t)n);
	rc->wtail += (size_t)n;
	rc->state = RC_HTTP;
	rc_arm(rc, rc->to.stage_ms);
	rc_flush(rc);
}

static void rc_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct relay_client *rc = arg;
	uint64_t gen = rc->gen;

	(void)loop;
	(void)fd;
	if (rc->state == RC_CONNECTING) {
		rc_connected(rc);
		return;
	}
	if (events & EPOLLOUT) {
		rc->blocked = false;
		if (rc_flush(rc) < 0)
			return;
	}
	if (gen == rc->gen && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc_read(rc);
}

/* Ready: PING after ping_ms of silence, give up after idle_ms. Reads only
 * note the time; this check runs at most twice per ping_ms. */
static void rc_keepalive(struct relay_client *rc)
{
	uint64_t now = loop_now_ms(), silent = now - rc->last_rx_ms, next;
	bool pinged = rc->ping_pending && rc->ping_ms >= rc->last_rx_ms;

	if (silent >= rc->to.idle_ms) {
		rc_fail(rc, -ETIMEDOUT, "keep-alive");
		return;
	}
	if (silent >= rc->to.ping_ms && !pinged) {
		randombytes_buf(rc->ping, sizeof(rc->ping));
		if (rc_queue(rc, RELAY_PING, rc->ping, sizeof(rc->ping), NULL, 0) == 0) {
			rc->ping_pending = pinged = true;
			rc->ping_ms = now;
			rc->ping_ns = loop_now_ns();
		}
	}
	next = rc->last_rx_ms + (pinged ? rc->to.idle_ms : rc->to.ping_ms);
	rc_arm(rc, next > now ? next - now : 1);
}

static void rc_timer(struct loop *loop, void *arg)
{
	struct relay_client *rc = arg;

	(void)loop;
	rc->timer = 0;
	switch (rc->state) {
	case RC_IDLE:
		rc_connect(rc);
		break;
	case RC_CONNECTING:
		rc_fail(rc, -ETIMEDOUT, "connect");
		break;
	case RC_HTTP:
		rc_fail(rc, -ETIMEDOUT, "waiting for the upgrade");
		break;
	case RC_AUTH:
		rc_fail(rc, -ETIMEDOUT,
			rc->challenged ? "waiting for SERVER_OK" : "waiting for the challenge");
		break;
	case RC_READY:
		rc_keepalive(rc);
		break;
	}
}

/* ---- the object ------------------------------------------------------------ */

int relay_client_new(struct loop *loop, const char *url, const uint8_t node_secret[64],
		     const struct relay_client_callbacks *cb, struct relay_client **out)
{
	struct relay_client *rc = NULL;
	char host[256];
	uint16_t port;
	int ret;

	if (!loop || !node_secret || !cb || !cb->on_recv || !out)
		return -EINVAL;
	ret = relay_client_parse_url(url, host, &port);
	if (ret < 0)
		return ret;
	if (sodium_init() < 0)
		return -ENOMEM;
	ret = -ENOMEM;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		goto out;
	rc->loop = loop;
	rc->cb = *cb;
	rc->to = rc_default_timeouts;
	rc->fd = -1;
	rc->state = RC_IDLE;
	snprintf(rc->url, sizeof(rc->url), "%s", url);
	memcpy(rc->host, host, sizeof(host));
	rc->port = port;
	snprintf(rc->hostport, sizeof(rc->hostport), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		 (unsigned)port);
	memcpy(rc->node_secret, node_secret, sizeof(rc->node_secret));
	crypto_sign_ed25519_sk_to_pk(rc->node_pk, rc->node_secret);
	rc->wbuf = malloc(RC_WBUF_MIN);
	if (!rc->wbuf)
		goto out;
	rc->wcap = RC_WBUF_MIN;
	/* the first attempt from the loop, never from inside this call */
	rc->timer = loop_timer_add(loop, 0, rc_timer, rc);
	if (!rc->timer)
		goto out;
	*out = rc;
	return 0;
out:
	relay_client_free(rc);
	return ret;
}

void relay_client_free(struct relay_client *rc)
{
	if (!rc)
		return;
	rc_close(rc);
	sodium_memzero(rc->node_secret, sizeof(rc->node_secret));
	free(rc->wbuf);
	free(rc);
}

void relay_client_reconnect(struct relay_client *rc)
{
	bool was_ready = rc->state == RC_READY;

	rc_close(rc);
	rc->backoff_step = 0;
	rc_arm(rc, 0);
	if (was_ready && rc->cb.on_state)
		rc->cb.on_state(rc->cb.arg, rc, false);
}

void relay_client_set_timeouts_for_test(struct relay_client *rc,
					const struct relay_client_timeouts *t)
{
	if (t->stage_ms)
		rc->to.stage_ms = t->stage_ms;
	if (t->backoff_ms)
		rc->to.backoff_ms = t->backoff_ms;
	if (t->backoff_max_ms)
		rc->to.backoff_max_ms = t->backoff_max_ms;
	if (t->stable_ms)
		rc->to.stable_ms = t->stable_ms;
	if (t->ping_ms)
		rc->to.ping_ms = t->ping_ms;
	if (t->idle_ms)
		rc->to.idle_ms = t->idle_ms;
	/* the keep-alive logic needs a PING to go out before the idle drop */
	if (rc->to.idle_ms <= rc->to.ping_ms)
		rc->to.idle_ms = rc->to.ping_ms + 1;
}

const char *relay_client_url(const struct relay_client *rc)
{
	return rc->url;
}

bool relay_client_ready(const struct relay_client *rc)
{
	return rc->state == RC_READY;
}

const uint8_t *relay_client_server_key(const struct relay_client *rc)
{
	return rc->server_pk;
}

bool relay_client_stun_endpoint(const struct relay_client *rc, struct endpoint *ep)
{
	if (!endpoint_is_set(&rc->stun))
		return false;
	*ep = rc->stun;
	return true;
}

void relay_client_get_stats(const struct relay_client *rc, struct relay_client_stats *st)
{
	*st = rc->st;
}
