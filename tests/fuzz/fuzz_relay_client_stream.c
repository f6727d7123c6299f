/* The relay client over an arbitrary byte stream from its relay: a real
 * relay_client on a real event loop reads the input as the server's side of
 * its connection. No network: this program defines connect(), which takes
 * the place of libc's for the whole program, and turns the client's socket
 * into one end of a socketpair; the other end writes the input, one chunk
 * per loop turn, then shuts down, and reads and discards what the client
 * sends (upgrade request, CLIENT_AUTH, PONGs, echoed frames).
 *
 * Input: byte 0 chooses a prefix (0: none, 1: a good 101 and challenge, 2:
 * those and SERVER_OK, so the rest is read as an authenticated stream; 3: as
 * 2, and the rest is frames written as TYPE, LEN, LEN bytes, where LEN 255
 * is followed by a 16-bit length, so that the fuzzer need not get frame
 * lengths right to explore what frames do), byte 1 the chunk size (0: all
 * at once), the rest is the stream. The upper bits of byte 0, if not 0,
 * make on_recv reconnect at that frame.
 *
 * Properties checked besides memory safety (ASan/UBSan): the client closes
 * the connection once it has read EOF; with prefix 2 it got ready; on_recv
 * sees exactly what the stats count, never more than RELAY_CLIENT_MAX_PAYLOAD
 * bytes; the callbacks may send, change the payload in place, and reconnect
 * from inside on_recv. */
#undef _GNU_SOURCE /* the plain connect() prototype, not glibc's transparent union */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "path/relay_client.h"
#include "relay/relay_proto.h"
#include "util/eventloop.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DEADLINE_MS 10000

static struct loop *loop;
static uint8_t node_sk[64], node_pk[32], server_pk[32];

/* the current iteration */
static struct {
	int relay_fd; /* our end of the client's connection */
	int connects; /* connect() calls */
	const uint8_t *in;
	size_t len, off, chunk;
	bool eof_sent, closed, reconnected;
	uint64_t frames, bytes, reconnect_at;
} it;

static void relay_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint8_t sink[65536];
	ssize_t n;

	(void)arg;
	if ((events & EPOLLOUT) && !it.eof_sent) {
		size_t want = it.len - it.off < it.chunk ? it.len - it.off : it.chunk;

		n = want ? send(fd, it.in + it.off, want, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
		if (n > 0)
			it.off += (size_t)n;
		if (it.off == it.len || (n < 0 && errno != EAGAIN)) {
			shutdown(fd, SHUT_WR);
			it.eof_sent = true;
			loop_fd_modify(l, fd, EPOLLIN);
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			it.closed = true;
			loop_stop(l);
		}
	}
}

/* The client's connect: the first of an iteration gets a socketpair, any
 * other (after a reconnect) is refused. */
int connect(int fd, const struct sockaddr *sa, socklen_t sa_len)
{
	int sv[2];

	(void)sa;
	(void)sa_len;
	if (it.connects++ ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (dup2(sv[0], fd) < 0)
		abort();
	close(sv[0]);
	it.relay_fd = sv[1];
	if (loop_fd_add(loop, sv[1], EPOLLIN | EPOLLOUT, relay_event, NULL) < 0)
		abort();
	errno = EINPROGRESS;
	return -1;
}

static void on_recv(void *arg, struct relay_client *rc, const uint8_t src[32], uint8_t *payload,
		    size_t len)
{
	(void)arg;
	if (len > RELAY_CLIENT_MAX_PAYLOAD)
		abort();
	it.frames++;
	it.bytes += len;
	relay_client_send(rc, src, payload, len); /* echo, from inside the callback */
	memset(payload, 0, len);		  /* in place, as the session decrypts */
	if (it.frames == it.reconnect_at) {
		it.reconnected = true;
		relay_client_reconnect(rc);
	}
}

static void on_peer_gone(void *arg, struct relay_client *rc, const uint8_t dst[32])
{
	(void)arg;
	relay_client_send(rc, dst, NULL, 0);
}

static void on_state(void *arg, struct relay_client *rc, bool ready)
{
	(void)arg;
	if (relay_client_ready(rc) != ready)
		abort();
}

static void deadline(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	abort(); /* the client did not close after EOF */
}

static size_t prefix(int kind, uint8_t *out)
{
	uint8_t challenge[RELAY_PROTO_CHALLENGE_LEN] = {RELAY_PROTO_VERSION};
	size_t n = sizeof(RELAY_PROTO_HTTP_RESPONSE_101) - 1;

	if (!kind)
		return 0;
	memcpy(out, RELAY_PROTO_HTTP_RESPONSE_101, n);
	memcpy(challenge + 1, server_pk, 32);
	memset(challenge + 33, 0x5a, 32);
	n += (size_t)relay_proto_frame_encode(RELAY_SERVER_CHALLENGE, challenge, sizeof(challenge),
					      NULL, 0, out + n, 256);
	if (kind >= 2)
		n += (size_t)relay_proto_frame_encode(RELAY_SERVER_OK, NULL, 0, NULL, 0, out + n,
						      8);
	return n;
}

/* Kind 3: records of TYPE, LEN (255: a 16-bit length follows), payload,
 * written as frames into OUT (at most 3 bytes more than the input). */
static size_t framed(const uint8_t *p, size_t len, uint8_t *out)
{
	size_t off = 0, n = 0, plen;

	while (len - off >= 2) {
		uint8_t type = p[off];

		plen = p[off + 1];
		off += 2;
		if (plen == 255 && len - off >= 2) {
			plen = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
		}
		if (plen > len - off)
			plen = len - off;
		n += (size_t)relay_proto_frame_encode(type, p + off, plen, NULL, 0, out + n,
						      RELAY_PROTO_HEADER_LEN + plen);
		off += plen;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct relay_client_callbacks cb = {
		.on_recv = on_recv,
		.on_peer_gone = on_peer_gone,
		.on_state = on_state,
	};
	struct relay_client *rc = NULL;
	struct relay_client_stats st;
	uint8_t *in;
	uint64_t timer;
	size_t n;
	int kind;

	if (!loop) {
		if (sodium_init() < 0)
			abort();
		log_set_level(LOG_LEVEL_ERROR);
		crypto_sign_keypair(node_pk, node_sk);
		memset(server_pk, 0x11, sizeof(server_pk));
		loop = loop_new();
		if (!loop)
			abort();
	}
	if (size < 2)
		return 0;
	kind = data[0] & 3;
	memset(&it, 0, sizeof(it));
	it.relay_fd = -1;
	it.chunk = data[1] ? data[1] : SIZE_MAX;
	it.reconnect_at = data[0] >> 2;
	in = malloc(512 + 2 * size);
	if (!in)
		return 0;
	n = prefix(kind, in);
	if (kind == 3) {
		n += framed(data + 2, size - 2, in + n);
	} else {
		memcpy(in + n, data + 2, size - 2);
		n += size - 2;
	}
	it.in = in;
	it.len = n;

	if (relay_client_new(loop, "http://127.0.0.1:3340", node_sk, &cb, &rc) != 0)
		abort();
	timer = loop_timer_add(loop, FUZZ_DEADLINE_MS, deadline, NULL);
	if (loop_run(loop) != 0 || !it.closed)
		abort();
	loop_timer_cancel(loop, timer);

	relay_client_get_stats(rc, &st);
	if (st.rx_frames != it.frames || st.rx_bytes != it.bytes || st.connects > 1)
		abort();
	if (kind >= 2 && st.connects != 1)
		abort();
	if (kind && memcmp(relay_client_server_key(rc), server_pk, 32) != 0)
		abort();
	if (relay_client_ready(rc) || (!st.failures && !it.reconnected))
		abort();
	relay_client_free(rc);
	loop_fd_remove(loop, it.relay_fd);
	close(it.relay_fd);
	free(in);
	return 0;
}
