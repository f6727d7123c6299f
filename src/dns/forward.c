/* DNS forwarding to upstream resolvers: see dns/forward.h. */
#include "dns/forward.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sodium.h>

#include "dns/resolver.h"

/* Datagrams read per wakeup: the socket is level-triggered, so the rest
 * comes on the next turn, after the loop has served everything else. */
#define FWD_READ_BATCH 256
#define FWD_NAME_MAX   255
#define FWD_FLAG_QR    0x80 /* in byte 2 */
#define FWD_FLAG_TC    0x02 /* in byte 2 */
#define FWD_ID_TRIES   64

struct fwd_pending {
	struct dns_forward *f;
	bool used;
	uint16_t id;	    /* on the wire */
	uint16_t client_id; /* restored in the answer */
	uint16_t len;	    /* of the query, at wire + 2 */
	uint16_t qlen;	    /* of its question, after the header */
	uint32_t max_answer;
	unsigned up;		/* the upstream tried last */
	unsigned tries;		/* UDP sends so far */
	bool sent_once;		/* one send succeeded: silence is a timeout */
	uint32_t sent, refused; /* by upstream index, since the last list change */
	uint64_t deadline_ms;
	uint64_t timer;
	struct sockaddr_storage target; /* where the last send (or the TCP connect) went */
	/* TCP fallback: FD >= 0 while it runs. */
	int fd;
	bool sending;
	size_t io; /* bytes sent, then bytes received, length prefix included */
	uint8_t rx_prefix[2];
	size_t rx_len;
	uint8_t *rx; /* the TCP answer, owned here until delivered */
	size_t client_len;
	uint8_t client[DNS_FORWARD_CLIENT_MAX];
	uint8_t wire[2 + DNS_FORWARD_QUERY_MAX]; /* TCP length prefix, then the query */
};

struct dns_forward {
	struct loop *loop;
	dns_forward_fn cb;
	void *arg;
	int fd4, fd6;
	struct sockaddr_storage ups[DNS_FORWARD_UPSTREAMS_MAX];
	unsigned nups;
	unsigned npending, ntcp;
	unsigned try_ms, total_ms, tcp_ms;
	struct dns_forward_stats stats;
	struct fwd_pending pending[DNS_FORWARD_PENDING_MAX];
	uint8_t buf[DNS_FORWARD_ANSWER_MAX]; /* one UDP datagram */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static socklen_t fwd_addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Whether SRC (from recvfrom) is the upstream UP: family, address, port, and
 * the scope when UP names one (a link-local resolver). */
static bool fwd_addr_equal(const struct sockaddr_storage *up, const struct sockaddr_storage *src)
{
	if (up->ss_family != src->ss_family)
		return false;
	if (up->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)up, *b = (const void *)src;

		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (up->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)up, *b = (const void *)src;

		return a->sin6_port == b->sin6_port &&
		       !memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) &&
		       (!a->sin6_scope_id || a->sin6_scope_id == b->sin6_scope_id);
	}
	return false;
}

/* Length of the question after the header of MSG: one uncompressed name of
 * at most 255 bytes, type and class; 0 when there is no such question. An
 * answer's question is never compressed (nothing precedes it to point at). */
static size_t fwd_question_len(const uint8_t *msg, size_t len)
{
	size_t off = DNS_HEADER_LEN;
	uint8_t label;

	if (len < DNS_HEADER_LEN || get16(msg + 4) != 1)
		return 0;
	do {
		if (off >= len)
			return 0;
		label = msg[off];
		if (label & 0xc0)
			return 0;
		off += 1u + label;
		if (off - DNS_HEADER_LEN > FWD_NAME_MAX)
			return 0;
	} while (label);
	if (off + 4 > len)
		return 0;
	return off + 4 - DNS_HEADER_LEN;
}

/* The name ASCII case-insensitively (length bytes are below 64 and so never
 * changed by lowering: equal bytes mean equal label structure), type and
 * class exactly. */
static bool fwd_question_equal(const uint8_t *a, const uint8_t *b, size_t qlen)
{
	for (size_t i = 0; i < qlen - 4; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return !memcmp(a + qlen - 4, b + qlen - 4, 4);
}

/* Whether ANS (LEN bytes) answers P's query: QR, P's id, P's question. */
static bool fwd_matches(const struct fwd_pending *p, const uint8_t *ans, size_t len)
{
	const uint8_t *query = p->wire + 2;

	if (len < DNS_HEADER_LEN || !(ans[2] & FWD_FLAG_QR) || get16(ans) != p->id)
		return false;
	if (fwd_question_len(ans, len) != p->qlen)
		return false;
	return fwd_question_equal(ans + DNS_HEADER_LEN, query + DNS_HEADER_LEN, p->qlen);
}

static int fwd_upstream_index(const struct dns_forward *f, const struct sockaddr_storage *src)
{
	for (unsigned i = 0; i < f->nups; i++)
		if (fwd_addr_equal(&f->ups[i], src))
			return (int)i;
	return -1;
}

static struct fwd_pending *fwd_find_id(struct dns_forward *f, uint16_t id)
{
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX; i++)
		if (f->pending[i].used && f->pending[i].id == id)
			return &f->pending[i];
	return NULL;
}

static void fwd_release(struct dns_forward *f, struct fwd_pending *p)
{
	if (p->timer)
		loop_timer_cancel(f->loop, p->timer);
	if (p->fd >= 0) {
		loop_fd_remove(f->loop, p->fd);
		close(p->fd);
		f->ntcp--;
	}
	free(p->rx);
	p->rx = NULL;
	p->timer = 0;
	p->fd = -1;
	p->used = false;
	f->npending--;
}

/* Ends P: releases its slot, then calls back (so that the callback finds a
 * free slot and P's state gone). ANSWER (P's buffer or F's) is made to fit
 * the client and gets the client's id. */
static void fwd_finish(struct dns_forward *f, struct fwd_pending *p, int status, uint8_t *answer,
		       size_t len)
{
	uint8_t client[DNS_FORWARD_CLIENT_MAX], query[DNS_HEADER_LEN + FWD_NAME_MAX + 4];
	size_t client_len = p->client_len;
	uint8_t *owned = p->rx;

	p->rx = NULL;
	memcpy(client, p->client, client_len);
	if (status == 0) {
		/* Header and question only, TC set: the question is P's, checked. */
		if (len > p->max_answer) {
			len = DNS_HEADER_LEN + p->qlen;
			answer[2] |= FWD_FLAG_TC;
			memset(answer + 6, 0, 6);
			f->stats.truncated++;
		}
		put16(answer, p->client_id);
		f->stats.answers++;
	} else {
		/* the client's question, so that the caller can answer it */
		len = DNS_HEADER_LEN + p->qlen;
		memcpy(query, p->wire + 2, len);
		put16(query, p->client_id);
		memset(query + 6, 0, 6);
		answer = query;
		f->stats.failures++;
		if (status == -ETIMEDOUT)
			f->stats.timeouts++;
	}
	fwd_release(f, p);
	f->cb(f->arg, client, client_len, status, answer, len);
	free(owned);
}

static void fwd_udp_readable(struct loop *loop, int fd, uint32_t events, void *arg);

/* The UDP socket for FAMILY, opened on first use. */
static int fwd_socket(struct dns_forward *f, int family)
{
	int *slot = family == AF_INET ? &f->fd4 : &f->fd6;
	int fd, ret;

	if (*slot >= 0)
		return *slot;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = loop_fd_add(f->loop, fd, EPOLLIN, fwd_udp_readable, f);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*slot = fd;
	return fd;
}

static int fwd_send(struct dns_forward *f, struct fwd_pending *p)
{
	const struct sockaddr_storage *up = &f->ups[p->up];
	int fd = fwd_socket(f, up->ss_family);

	if (fd < 0)
		return fd;
	p->target = *up;
	p->sent |= 1u << p->up;
	if (sendto(fd, p->wire + 2, p->len, MSG_NOSIGNAL, (const struct sockaddr *)up,
		   fwd_addr_len(up)) < 0)
		return -errno;
	return 0;
}

/* The next upstream after P's last that has not refused P; false if none. */
static bool fwd_next_upstream(const struct dns_forward *f, struct fwd_pending *p)
{
	for (unsigned i = 1; i <= f->nups; i++) {
		unsigned up = (p->up + i) % f->nups;

		if (!(p->refused & (1u << up))) {
			p->up = up;
			return true;
		}
	}
	return false;
}

static void fwd_on_timer(struct loop *loop, void *arg);

/* Sends P to an upstream (the current one when FIRST, else the next) and
 * arms its timer; an upstream that cannot be sent to costs a try and the
 * next one is tried at once. 0, -ETIMEDOUT when P's tries or time are used
 * up, -ENETUNREACH without upstreams, the error of sending when no send of
 * P ever went out, -ENOMEM. */
static int fwd_advance(struct dns_forward *f, struct fwd_pending *p, bool first)
{
	int ret = -ETIMEDOUT;

	for (;;) {
		uint64_t now = loop_now_ms(), wait;

		if (!f->nups)
			return -ENETUNREACH;
		if (p->tries >= DNS_FORWARD_TRIES * f->nups || now >= p->deadline_ms)
			return p->sent_once ? -ETIMEDOUT : ret;
		if (first)
			p->up %= f->nups;
		else if (!fwd_next_upstream(f, p))
			return p->sent_once ? -ETIMEDOUT : ret;
		else
			f->stats.retries++;
		first = false;
		p->tries++;
		ret = fwd_send(f, p);
		if (ret < 0)
			continue;
		p->sent_once = true;
		wait = p->deadline_ms - now;
		if (wait > f->try_ms)
			wait = f->try_ms;
		p->timer = loop_timer_add(f->loop, wait, fwd_on_timer, p);
		return p->timer ? 0 : -ENOMEM;
	}
}

static void fwd_on_timer(struct loop *loop, void *arg)
{
	struct fwd_pending *p = arg;
	struct dns_forward *f = p->f;
	int ret;

	(void)loop;
	p->timer = 0;
	/* The TCP fallback's deadline passed, or P's UDP try did. */
	ret = p->fd >= 0 ? -ETIMEDOUT : fwd_advance(f, p, false);
	if (ret < 0)
		fwd_finish(f, p, ret, NULL, 0);
}

static void fwd_tcp_event(struct loop *loop, int fd, uint32_t events, void *arg);

/* Sends P over TCP to SRC: the upstream whose UDP answer was truncated, or
 * the first one for a query too long for UDP. 0, or -errno and P is left as
 * it was. */
static int fwd_tcp_start(struct dns_forward *f, struct fwd_pending *p,
			 const struct sockaddr_storage *src)
{
	uint64_t timer;
	int fd, ret;

	if (f->ntcp >= DNS_FORWARD_TCP_MAX)
		return -EBUSY;
	fd = socket(src->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)src, fwd_addr_len(src)) < 0 &&
	    errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	ret = loop_fd_add(f->loop, fd, EPOLLOUT, fwd_tcp_event, p);
	if (ret < 0)
		goto fail;
	timer = loop_timer_add(f->loop, f->tcp_ms, fwd_on_timer, p);
	if (!timer) {
		loop_fd_remove(f->loop, fd);
		ret = -ENOMEM;
		goto fail;
	}
	loop_timer_cancel(f->loop, p->timer);
	p->timer = timer;
	p->target = *src;
	p->fd = fd;
	p->sending = true;
	p->io = 0;
	put16(p->wire, p->len);
	f->ntcp++;
	f->stats.tcp++;
	return 0;
fail:
	close(fd);
	return ret;
}

/* Sends what is left of the length-prefixed query: 0 (done or to be
 * continued), -errno. */
static int fwd_tcp_send(struct dns_forward *f, struct fwd_pending *p, uint32_t events)
{
	size_t total = 2u + p->len;
	ssize_t n;

	if (p->io == 0 && (events & (EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t elen = sizeof(err);

		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -errno;
		return err ? -err : -ECONNRESET;
	}
	n = send(p->fd, p->wire + p->io, total - p->io, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	p->io += (size_t)n;
	if (p->io < total)
		return 0;
	p->sending = false;
	p->io = 0;
	return loop_fd_modify(f->loop, p->fd, EPOLLIN);
}

/* Reads the answer: 1 when it is complete (in P->rx), 0 to be continued,
 * -errno. */
static int fwd_tcp_recv(struct fwd_pending *p)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (p->io < 2) {
			dst = p->rx_prefix + p->io;
			want = 2 - p->io;
		} else {
			dst = p->rx + (p->io - 2);
			want = p->rx_len - (p->io - 2);
		}
		n = recv(p->fd, dst, want, 0);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -ECONNRESET; /* closed before the whole answer */
		p->io += (size_t)n;
		if (p->io == 2) {
			p->rx_len = get16(p->rx_prefix);
			if (p->rx_len < DNS_HEADER_LEN)
				return -EPROTO;
			p->rx = malloc(p->rx_len);
			if (!p->rx)
				return -ENOMEM;
		} else if (p->io > 2 && p->io - 2 == p->rx_len) {
			return 1;
		}
	}
}

static void fwd_tcp_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct fwd_pending *p = arg;
	struct dns_forward *f = p->f;
	int ret;

	(void)loop;
	(void)fd;
	if (p->sending) {
		ret = fwd_tcp_send(f, p, events);
		if (ret < 0)
			fwd_finish(f, p, ret, NULL, 0);
		return;
	}
	ret = fwd_tcp_recv(p);
	if (ret == 1 && !fwd_matches(p, p->rx, p->rx_len))
		ret = -EPROTO;
	if (ret == 1)
		fwd_finish(f, p, 0, p->rx, p->rx_len);
	else if (ret < 0)
		fwd_finish(f, p, ret, NULL, 0);
}

/* One UDP datagram of LEN bytes in F->buf from SRC. */
static void fwd_udp_answer(struct dns_forward *f, const struct sockaddr_storage *src, size_t len)
{
	struct fwd_pending *p;
	uint8_t *ans = f->buf;
	int idx, rcode;

	if (len < DNS_HEADER_LEN)
		goto drop;
	p = fwd_find_id(f, get16(ans));
	if (!p || p->fd >= 0)
		goto drop; /* unknown, or its TCP fallback runs already */
	idx = fwd_upstream_index(f, src);
	if (!fwd_addr_equal(&p->target, src) && (idx < 0 || !(p->sent & (1u << idx))))
		goto drop;
	if (!fwd_matches(p, ans, len))
		goto drop;
	rcode = ans[3] & 0x0f;
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED) {
		if (idx >= 0) {
			if (p->refused & (1u << idx))
				goto drop; /* a repeat: that upstream was left already */
			p->refused |= 1u << idx;
			if ((unsigned)idx != p->up)
				return; /* a late one: the current upstream may still answer */
		}
		loop_timer_cancel(f->loop, p->timer);
		p->timer = 0;
		if (fwd_advance(f, p, false) == 0)
			return;
		/* No upstream left, no time left, or none could be sent to:
		 * the answer in hand (F->buf is untouched by sending). */
		fwd_finish(f, p, 0, ans, len);
		return;
	}
	if ((ans[2] & FWD_FLAG_TC) && p->max_answer > len) {
		/* On failure, the truncated answer: the client asks over TCP. */
		if (fwd_tcp_start(f, p, src) == 0)
			return;
	}
	fwd_finish(f, p, 0, ans, len);
	return;
drop:
	f->stats.dropped++;
}

static void fwd_udp_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct dns_forward *f = arg;

	(void)loop;
	(void)events;
	for (unsigned i = 0; i < FWD_READ_BATCH; i++) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		ssize_t n;

		n = recvfrom(fd, f->buf, sizeof(f->buf), 0, (struct sockaddr *)&src, &slen);
		if (n < 0)
			return; /* EAGAIN; an error has nothing for us either */
		fwd_udp_answer(f, &src, (size_t)n);
	}
}

struct dns_forward *dns_forward_new(struct loop *loop, dns_forward_fn cb, void *arg)
{
	struct dns_forward *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->loop = loop;
	f->cb = cb;
	f->arg = arg;
	f->fd4 = -1;
	f->fd6 = -1;
	f->try_ms = DNS_FORWARD_TRY_MS;
	f->total_ms = DNS_FORWARD_TOTAL_MS;
	f->tcp_ms = DNS_FORWARD_TCP_MS;
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX; i++) {
		f->pending[i].f = f;
		f->pending[i].fd = -1;
	}
	return f;
}

void dns_forward_free(struct dns_forward *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX; i++)
		if (f->pending[i].used)
			fwd_release(f, &f->pending[i]);
	if (f->fd4 >= 0) {
		loop_fd_remove(f->loop, f->fd4);
		close(f->fd4);
	}
	if (f->fd6 >= 0) {
		loop_fd_remove(f->loop, f->fd6);
		close(f->fd6);
	}
	free(f);
}

/* UP as the list keeps it (IPv4-mapped IPv6 as IPv4), or -EINVAL. */
static int fwd_upstream_copy(struct sockaddr_storage *out, const struct sockaddr_storage *up)
{
	memset(out, 0, sizeof(*out));
	if (up->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)up;

		if (!in->sin_port)
			return -EINVAL;
		memcpy(out, in, sizeof(*in));
		return 0;
	}
	if (up->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)up;
		struct sockaddr_in *in = (void *)out;

		if (!in6->sin6_port)
			return -EINVAL;
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(out, in6, sizeof(*in6));
			return 0;
		}
		in->sin_family = AF_INET;
		in->sin_port = in6->sin6_port;
		memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		return 0;
	}
	return -EINVAL;
}

int dns_forward_set_upstreams(struct dns_forward *f, const struct sockaddr_storage *ups, unsigned n)
{
	struct sockaddr_storage copy[DNS_FORWARD_UPSTREAMS_MAX];
	int ret;

	if (n > DNS_FORWARD_UPSTREAMS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		ret = fwd_upstream_copy(&copy[i], &ups[i]);
		if (ret < 0)
			return ret;
	}
	memcpy(f->ups, copy, sizeof(copy[0]) * n);
	f->nups = n;
	/* The masks name indices of the old list; each query's last target
	 * stays valid, and its next try goes to the upstream after it in the
	 * new list (to the head when it is not in the new list). */
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX; i++) {
		struct fwd_pending *p = &f->pending[i];

		int idx;

		if (!p->used)
			continue;
		p->sent = 0;
		p->refused = 0;
		idx = fwd_upstream_index(f, &p->target);
		p->up = idx >= 0 ? (unsigned)idx : n ? n - 1 : 0;
	}
	return 0;
}

int dns_forward_query(struct dns_forward *f, const uint8_t *query, size_t len, size_t max_answer,
		      const void *client, size_t client_len)
{
	struct fwd_pending *p = NULL;
	uint16_t id = 0;
	size_t qlen;
	int ret;

	if (len < DNS_HEADER_LEN || (query[2] & FWD_FLAG_QR) ||
	    client_len > DNS_FORWARD_CLIENT_MAX || (client_len && !client))
		return -EINVAL;
	qlen = fwd_question_len(query, len);
	if (!qlen)
		return -EINVAL;
	if (len > DNS_FORWARD_QUERY_MAX)
		return -EMSGSIZE;
	if (!f->nups)
		return -ENETUNREACH;
	if (f->npending >= DNS_FORWARD_PENDING_MAX)
		return -EBUSY;
	for (unsigned i = 0; i < DNS_FORWARD_PENDING_MAX && !p; i++)
		if (!f->pending[i].used)
			p = &f->pending[i];
	for (unsigned i = 0; i < FWD_ID_TRIES; i++) {
		randombytes_buf(&id, sizeof(id));
		if (!fwd_find_id(f, id))
			break;
		if (i == FWD_ID_TRIES - 1)
			return -EBUSY;
	}
	memset(p, 0, offsetof(struct fwd_pending, client));
	p->f = f;
	p->fd = -1;
	p->used = true;
	p->id = id;
	p->client_id = get16(query);
	p->len = (uint16_t)len;
	p->qlen = (uint16_t)qlen;
	p->max_answer = max_answer < DNS_UDP_MAX	      ? DNS_UDP_MAX
			: max_answer > DNS_FORWARD_ANSWER_MAX ? DNS_FORWARD_ANSWER_MAX
							      : (uint32_t)max_answer;
	p->deadline_ms = loop_now_ms() + f->total_ms;
	p->client_len = client_len;
	if (client_len)
		memcpy(p->client, client, client_len);
	memcpy(p->wire + 2, query, len);
	put16(p->wire + 2, id);
	f->npending++;
	if (len > DNS_UDP_MAX)
		ret = fwd_tcp_start(f, p, &f->ups[0]);
	else
		ret = fwd_advance(f, p, true);
	if (ret < 0) {
		fwd_release(f, p);
		return ret;
	}
	f->stats.queries++;
	return 0;
}

unsigned dns_forward_pending(const struct dns_forward *f)
{
	return f->npending;
}

void dns_forward_get_stats(const struct dns_forward *f, struct dns_forward_stats *out)
{
	*out = f->stats;
}

void dns_forward_set_timeouts(struct dns_forward *f, unsigned try_ms, unsigned total_ms,
			      unsigned tcp_ms)
{
	if (try_ms)
		f->try_ms = try_ms;
	if (total_ms)
		f->total_ms = total_ms;
	if (tcp_ms)
		f->tcp_ms = tcp_ms;
}
