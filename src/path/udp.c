#include "path/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* Large buffers ride out bursts between two turns of the event loop. */
#define UDP_SOCKET_BUFFER (7 << 20)

int udp_open(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in6 addr = {
		.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	socklen_t len = sizeof(addr);
	int fd, off = 0, size = UDP_SOCKET_BUFFER, ret;

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
	*bound = ntohs(addr.sin6_port);
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int udp_recv_batch(int fd, struct udp_batch *b, size_t buf_size)
{
	int n;

	for (unsigned i = 0; i < UDP_BATCH; i++) {
		b->iovs[i].iov_base = b->bufs[i];
		b->iovs[i].iov_len = buf_size;
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->eps[i].sin6,
			.msg_namelen = sizeof(b->eps[i].sin6),
			.msg_iov = &b->iovs[i],
			.msg_iovlen = 1,
		};
	}
	do
		n = recvmmsg(fd, b->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		b->count = 0;
		return errno == EAGAIN ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		b->lens[i] = b->msgs[i].msg_len;
		/* A truncated datagram is larger than anything valid: make it fail. */
		if (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			b->lens[i] = 0;
	}
	b->count = (unsigned)n;
	return n;
}

int udp_send_batch(int fd, struct udp_batch *b)
{
	unsigned done = 0;

	for (unsigned i = 0; i < b->count; i++) {
		b->iovs[i].iov_base = b->bufs[i];
		b->iovs[i].iov_len = b->lens[i];
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->eps[i].sin6,
			.msg_namelen = sizeof(b->eps[i].sin6),
			.msg_iov = &b->iovs[i],
			.msg_iovlen = 1,
		};
	}
	while (done < b->count) {
		int n = sendmmsg(fd, b->msgs + done, b->count - done, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break; /* full socket buffer: drop the rest, as a router would */
		if (n < 0) {
			done++; /* this one is undeliverable (e.g. no route); go on */
			continue;
		}
		done += (unsigned)n;
	}
	return (int)done;
}

int udp_send(int fd, const struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&ep->sin6,
			   sizeof(ep->sin6));
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}
