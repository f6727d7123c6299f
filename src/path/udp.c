#include "path/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Large buffers ride out bursts between two turns of the event loop. */
#define UDP_SOCKET_BUFFER (7 << 20)
/* A GSO send carries at most this much payload (IPv4 and IPv6 alike). */
#define UDP_GSO_MAX_BYTES 65000

int udp_open(struct udp_socket *u, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in6 addr = {
		.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	socklen_t len = sizeof(addr);
	int fd, off = 0, on = 1, size = UDP_SOCKET_BUFFER, ret, seg = 0;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		goto fail;
	/* FORCE works for root beyond rmem_max; fall back to what is allowed. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		goto fail;
	/* Probes: a kernel without them refuses the option. */
	len = sizeof(seg);
	u->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &len) == 0;
	u->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
	u->fd = fd;
	*bound = ntohs(addr.sin6_port);
	return 0;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

void udp_close(struct udp_socket *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

/* How many datagrams from I on can go as one GSO send: same endpoint, all
 * the size of the first except perhaps a shorter last one. */
static unsigned udp_gso_run(const struct udp_batch *b, unsigned i)
{
	size_t size = b->lens[i], total = size;
	unsigned n = 1;

	while (i + n < b->count && n < UDP_GSO_MAX_SEGS && b->lens[i + n] <= size &&
	       total + b->lens[i + n] <= UDP_GSO_MAX_BYTES &&
	       endpoint_equal(&b->eps[i], &b->eps[i + n])) {
		total += b->lens[i + n];
		if (b->lens[i + n++] < size)
			break;
	}
	return n;
}

/* Build the messages; returns how many. */
static unsigned udp_build_msgs(struct udp_socket *u, struct udp_batch *b)
{
	unsigned nmsgs = 0;

	for (unsigned i = 0; i < b->count; i++) {
		b->iovs[i].iov_base = b->bufs[i];
		b->iovs[i].iov_len = b->lens[i];
	}
	for (unsigned i = 0; i < b->count;) {
		unsigned n = u->gso ? udp_gso_run(b, i) : 1;
		struct msghdr *m = &b->msgs[nmsgs].msg_hdr;

		*m = (struct msghdr){
			.msg_name = &b->eps[i].sin6,
			.msg_namelen = sizeof(b->eps[i].sin6),
			.msg_iov = &b->iovs[i],
			.msg_iovlen = n,
		};
		if (n > 1) {
			struct cmsghdr *c = (struct cmsghdr *)b->cmsgs[nmsgs];
			uint16_t seg = (uint16_t)b->lens[i];

			memset(b->cmsgs[nmsgs], 0, UDP_CMSG_SPACE);
			m->msg_control = c;
			m->msg_controllen = CMSG_SPACE(sizeof(seg));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		nmsgs++;
		i += n;
	}
	return nmsgs;
}

int udp_send_batch(struct udp_socket *u, struct udp_batch *b)
{
	unsigned nmsgs = udp_build_msgs(u, b), done = 0;

	while (done < nmsgs) {
		int n = sendmmsg(u->fd, b->msgs + done, nmsgs - done, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break; /* full socket buffer: drop the rest, as a router would */
		if (n < 0 && errno == EIO && u->gso) {
			/* The path cannot segment (no checksum offload): stop using
			 * GSO and send this batch again one datagram at a time. */
			u->gso = false;
			return udp_send_batch(u, b);
		}
		if (n < 0) {
			done++; /* this one is undeliverable (e.g. no route); go on */
			continue;
		}
		done += (unsigned)n;
	}
	return (int)b->count;
}

int udp_send(struct udp_socket *u, const struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = sendto(u->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&ep->sin6,
			   sizeof(ep->sin6));
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

struct udp_rx *udp_rx_new(void)
{
	struct udp_rx *rx = calloc(1, sizeof(*rx));

	if (!rx)
		return NULL;
	rx->bufs[0] = malloc((size_t)UDP_RX_BUFS * UDP_RX_BUF_SIZE);
	if (!rx->bufs[0]) {
		free(rx);
		return NULL;
	}
	for (unsigned i = 1; i < UDP_RX_BUFS; i++)
		rx->bufs[i] = rx->bufs[0] + (size_t)i * UDP_RX_BUF_SIZE;
	return rx;
}

void udp_rx_free(struct udp_rx *rx)
{
	if (!rx)
		return;
	free(rx->bufs[0]);
	free(rx);
}

/* The segment size of a GRO train, or 0 for a single datagram. */
static size_t udp_gro_size(const struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		int size;

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	}
	return 0;
}

int udp_recv(struct udp_socket *u, struct udp_rx *rx)
{
	int n;

	rx->count = 0;
	for (unsigned i = 0; i < UDP_RX_BUFS; i++) {
		rx->iovs[i].iov_base = rx->bufs[i];
		rx->iovs[i].iov_len = UDP_RX_BUF_SIZE;
		rx->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &rx->eps[i].sin6,
			.msg_namelen = sizeof(rx->eps[i].sin6),
			.msg_iov = &rx->iovs[i],
			.msg_iovlen = 1,
			.msg_control = u->gro ? rx->cmsgs[i] : NULL,
			.msg_controllen = u->gro ? UDP_CMSG_SPACE : 0,
		};
	}
	do
		n = recvmmsg(u->fd, rx->msgs, UDP_RX_BUFS, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	rx->nmsgs = 0;
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	rx->nmsgs = (unsigned)n;
	for (int i = 0; i < n; i++) {
		const struct msghdr *m = &rx->msgs[i].msg_hdr;
		size_t len = rx->msgs[i].msg_len, seg = u->gro ? udp_gro_size(m) : 0;

		/* Truncated: larger than anything valid; let it fail as empty. */
		if (m->msg_flags & MSG_TRUNC)
			len = 0;
		if (seg == 0 || seg >= len)
			seg = len;
		for (size_t off = 0; off < len || (len == 0 && off == 0); off += seg) {
			if (rx->count == UDP_RX_MAX)
				break;
			rx->data[rx->count] = rx->bufs[i] + off;
			rx->lens[rx->count] = len - off < seg ? len - off : seg;
			rx->from[rx->count] = (uint8_t)i;
			rx->count++;
			if (seg == 0)
				break;
		}
	}
	return (int)rx->count;
}
