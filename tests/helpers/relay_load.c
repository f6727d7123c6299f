/* Load generator for the relay server.
 *
 *   relay_load HOST:PORT CLIENTS SECONDS [--progress]
 *
 * Opens CLIENTS connections (one epoll loop, non-blocking sockets, each with
 * its own random ed25519 key; at most RL_CONNECTING handshakes in flight so
 * the listen backlog never overflows), authenticates them all, then pairs
 * client 2i with 2i+1 and has each send 100-byte payloads to its partner for
 * SECONDS. Each sender keeps at most RL_WINDOW frames in flight (sent but not
 * yet received by its partner), so the figure measures forwarding, not the
 * relay's drop counters; a window that stalls for a second (a dropped frame)
 * is reset and counted as lost. Prints clients connected, frames/s received
 * and failures; exits 0 only if every client connected, frames flowed and
 * nothing failed. --progress also prints client 0's node id (hex) at start
 * and "second N: frames M" for each second of traffic, so a test can check
 * that frames kept flowing the whole time. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "relay/relay_proto.h"
#include "relay/relay_server.h"

#define RL_CONNECTING	256
#define RL_WINDOW	64
#define RL_PAYLOAD	100
#define RL_FRAME	(RELAY_PROTO_HEADER_LEN + RELAY_PROTO_KEY_LEN + RL_PAYLOAD)
#define RL_RBUF		16384
#define RL_CONNECT_SECS 30

enum rl_state { RL_IDLE, RL_CONNECTING_, RL_HTTP, RL_AUTH, RL_READY, RL_FAILED };

struct rl_client {
	int fd;
	enum rl_state state;
	bool want_out;
	uint8_t pk[32], sk[64];
	uint8_t rbuf[RL_RBUF];
	size_t rlen;
	uint8_t frame[RL_FRAME]; /* the SEND to the partner, built once */
	size_t out_off;		 /* bytes of a partly written frame already sent */
	uint64_t sent, received; /* frames to / from the partner */
	uint64_t stall_ms;	 /* since when the partner has received nothing new */
	uint64_t seen;		 /* partner->received then */
	struct rl_client *partner;
};

static struct rl_client *clients;
static int nclients, epfd, connecting, ready, failed, lost_windows, peer_gone;
static struct sockaddr_storage relay_sa;
static socklen_t relay_sa_len;
static char hostport[128];
static bool traffic;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rl_fail(struct rl_client *c, const char *why)
{
	static int reported;

	if (c->state == RL_FAILED)
		return;
	if (reported++ < 5)
		fprintf(stderr, "relay_load: client %d: %s\n", (int)(c - clients), why);
	if (c->state == RL_CONNECTING_ || c->state == RL_HTTP || c->state == RL_AUTH)
		connecting--;
	if (c->state == RL_READY)
		ready--;
	c->state = RL_FAILED;
	failed++;
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void rl_want_out(struct rl_client *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

	if (c->want_out == on)
		return;
	c->want_out = on;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void rl_start(struct rl_client *c)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	static const int one = 1;

	c->fd = socket(relay_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	connecting++;
	c->state = RL_CONNECTING_;
	if (c->fd < 0) {
		rl_fail(c, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&relay_sa, relay_sa_len) < 0 &&
	    errno != EINPROGRESS) {
		rl_fail(c, strerror(errno));
		return;
	}
	c->want_out = true;
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Small writes during the handshake go whole into a fresh socket buffer. */
static void rl_write_all(struct rl_client *c, const void *data, size_t len)
{
	if (send(c->fd, data, len, MSG_NOSIGNAL) != (ssize_t)len)
		rl_fail(c, "short handshake write");
}

/* Send to the partner while the window allows and the socket takes it. A
 * frame partly written counts as sent; OUT_OFF says how much of it went. */
static void rl_pump(struct rl_client *c)
{
	uint8_t batch[(RL_WINDOW + 1) * RL_FRAME];
	size_t len = 0, rem = c->out_off ? RL_FRAME - c->out_off : 0, done;
	uint64_t inflight;
	ssize_t n;

	if (!traffic || c->state != RL_READY || !c->partner || c->partner->state != RL_READY)
		return;
	if (rem) {
		memcpy(batch, c->frame + c->out_off, rem);
		len = rem;
	}
	for (inflight = c->sent - c->partner->received; inflight < RL_WINDOW; inflight++) {
		memcpy(batch + len, c->frame, RL_FRAME);
		len += RL_FRAME;
	}
	if (!len)
		return;
	n = send(c->fd, batch, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			rl_want_out(c, true);
		else
			rl_fail(c, strerror(errno));
		return;
	}
	done = (size_t)n;
	if (rem) {
		if (done < rem) {
			c->out_off += done;
			rl_want_out(c, true);
			return;
		}
		done -= rem;
		c->out_off = 0;
	}
	c->sent += done / RL_FRAME;
	if (done % RL_FRAME) {
		c->sent++;
		c->out_off = done % RL_FRAME;
	}
	rl_want_out(c, (size_t)n < len);
}

static void rl_frame(struct rl_client *c, const struct relay_frame *f)
{
	uint8_t pk[32], nonce[32], sig[64], auth[96];

	switch (c->state) {
	case RL_AUTH:
		if (f->type == RELAY_SERVER_CHALLENGE) {
			if (relay_proto_parse_challenge(f->payload, f->len, pk, nonce) < 0) {
				rl_fail(c, "bad challenge");
				return;
			}
			relay_proto_auth_sign(c->sk, pk, nonce, sig);
			memcpy(auth, c->pk, 32);
			memcpy(auth + 32, sig, 64);
			{
				uint8_t frame[3 + 96];
				int n = relay_proto_frame_encode(RELAY_CLIENT_AUTH, auth, 96, NULL,
								 0, frame, sizeof(frame));

				rl_write_all(c, frame, (size_t)n);
			}
		} else if (f->type == RELAY_SERVER_OK) {
			c->state = RL_READY;
			connecting--;
			ready++;
		} else {
			rl_fail(c, f->type == RELAY_SERVER_ERROR ? "server error during auth"
								 : "unexpected frame during auth");
		}
		return;
	case RL_READY:
		if (f->type == RELAY_RECV) {
			c->received++; /* the partner is pumped once per read, not per frame */
		} else if (f->type == RELAY_PING && f->len == 8) {
			uint8_t frame[11];
			int n = relay_proto_frame_encode(RELAY_PONG, f->payload, 8, NULL, 0, frame,
							 sizeof(frame));

			send(c->fd, frame, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else if (f->type == RELAY_PEER_GONE) {
			peer_gone++;
		} else if (f->type == RELAY_SERVER_ERROR) {
			rl_fail(c, "server error");
		}
		return;
	default:
		return;
	}
}

static void rl_read(struct rl_client *c)
{
	ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
	size_t off = 0;
	struct relay_frame f;
	int ret;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		rl_fail(c, n == 0 ? "closed by the relay" : strerror(errno));
		return;
	}
	c->rlen += (size_t)n;
	if (c->state == RL_HTTP) {
		size_t head;

		ret = relay_proto_http_response_parse(c->rbuf, c->rlen, &head, NULL);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			rl_fail(c, "upgrade refused");
			return;
		}
		off = head;
		c->state = RL_AUTH;
	}
	while (c->state == RL_AUTH || c->state == RL_READY) {
		ret = relay_proto_frame_decode(c->rbuf + off, c->rlen - off,
					       RELAY_PROTO_MAX_PAYLOAD, &f);
		if (ret == 0)
			break;
		if (ret < 0 || f.len > RL_RBUF - 3) {
			rl_fail(c, "bad frame");
			return;
		}
		off += (size_t)ret;
		rl_frame(c, &f);
	}
	if (c->state == RL_FAILED)
		return;
	if (c->state == RL_READY && c->partner)
		rl_pump(c->partner);
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

static void rl_event(struct rl_client *c, uint32_t events)
{
	if (c->state == RL_CONNECTING_) {
		int err = 0;
		socklen_t len = sizeof(err);
		char req[256];
		int n;

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			rl_fail(c, err ? strerror(err) : "connect failed");
			return;
		}
		n = relay_proto_http_request_write(hostport, req, sizeof(req));
		c->state = RL_HTTP;
		rl_want_out(c, false);
		rl_write_all(c, req, (size_t)n);
		return;
	}
	if (events & EPOLLOUT)
		rl_pump(c);
	if (c->state != RL_FAILED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rl_read(c);
}

static void rl_poll(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(epfd, evs, 256, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct rl_client *c = evs[i].data.ptr;

		if (c->state != RL_FAILED)
			rl_event(c, evs[i].events);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int seconds, next = 0;
	uint64_t start, deadline, received = 0, t0, t1, next_tick, last_total = 0;
	bool progress = argc == 5 && strcmp(argv[4], "--progress") == 0;
	int second = 0;

	if (argc != 4 && !progress) {
		fprintf(stderr, "usage: relay_load HOST:PORT CLIENTS SECONDS [--progress]\n");
		return 2;
	}
	nclients = atoi(argv[2]);
	seconds = atoi(argv[3]);
	if (nclients < 2 || seconds < 1 ||
	    relay_server_parse_listen(argv[1], &relay_sa, &relay_sa_len) < 0) {
		fprintf(stderr, "relay_load: bad arguments\n");
		return 2;
	}
	snprintf(hostport, sizeof(hostport), "%s", argv[1]);
	if (sodium_init() < 0)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	clients = calloc((size_t)nclients, sizeof(*clients));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!clients || epfd < 0)
		return 1;
	for (int i = 0; i < nclients; i++) {
		struct rl_client *c = &clients[i];

		c->fd = -1;
		crypto_sign_keypair(c->pk, c->sk);
	}
	for (int i = 0; i + 1 < nclients; i += 2) {
		clients[i].partner = &clients[i + 1];
		clients[i + 1].partner = &clients[i];
	}
	for (int i = 0; i < nclients; i++) {
		struct rl_client *c = &clients[i];
		uint8_t payload[RL_PAYLOAD];

		memset(payload, 0xa5, sizeof(payload));
		if (c->partner)
			relay_proto_frame_encode(RELAY_SEND, c->partner->pk, 32, payload,
						 sizeof(payload), c->frame, sizeof(c->frame));
	}

	if (progress) {
		printf("client0 key: ");
		for (int i = 0; i < 32; i++)
			printf("%02x", clients[0].pk[i]);
		printf("\n");
		fflush(stdout);
	}

	/* phase 1: connect and authenticate everyone */
	start = now_ms();
	deadline = start + RL_CONNECT_SECS * 1000;
	while (ready + failed < nclients && now_ms() < deadline) {
		while (next < nclients && connecting < RL_CONNECTING)
			rl_start(&clients[next++]);
		rl_poll(100);
	}
	t0 = now_ms();
	printf("clients connected: %d/%d in %.2f s\n", ready, nclients, (t0 - start) / 1000.0);
	fflush(stdout);

	/* phase 2: traffic between partners */
	traffic = true;
	for (int i = 0; i < nclients; i++)
		rl_pump(&clients[i]);
	deadline = t0 + (uint64_t)seconds * 1000;
	next_tick = t0 + 1000;
	while ((t1 = now_ms()) < deadline) {
		rl_poll(50);
		if (progress && t1 >= next_tick) {
			uint64_t total = 0;

			for (int i = 0; i < nclients; i++)
				total += clients[i].received;
			printf("second %d: frames %llu\n", ++second,
			       (unsigned long long)(total - last_total));
			fflush(stdout);
			last_total = total;
			next_tick += 1000;
		}
		for (int i = 0; i < nclients; i++) {
			struct rl_client *c = &clients[i];

			if (c->state != RL_READY || !c->partner)
				continue;
			if (c->sent - c->partner->received < RL_WINDOW ||
			    c->partner->received != c->seen) {
				c->seen = c->partner->received;
				c->stall_ms = 0;
				continue;
			}
			if (!c->stall_ms) {
				c->stall_ms = t1;
			} else if (t1 - c->stall_ms > 1000) {
				/* a frame was dropped somewhere: forget it */
				lost_windows++;
				c->sent = c->partner->received;
				c->stall_ms = 0;
				rl_pump(c);
			}
		}
	}
	t1 = now_ms();
	for (int i = 0; i < nclients; i++)
		received += clients[i].received;
	printf("frames forwarded: %llu in %.2f s = %.0f frames/s (%.1f Mbit/s of payload)\n",
	       (unsigned long long)received, (t1 - t0) / 1000.0, received * 1000.0 / (t1 - t0),
	       received * RL_PAYLOAD * 8.0 / 1000.0 / (t1 - t0));
	printf("failures: %d (stalled windows %d, peer gone %d), still connected %d\n", failed,
	       lost_windows, peer_gone, ready);
	for (int i = 0; i < nclients; i++) {
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	}
	close(epfd);
	free(clients);
	return failed == 0 && ready == nclients && received > 0 ? 0 : 1;
}
