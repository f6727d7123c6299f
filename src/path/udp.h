/* The UDP socket peers talk to: one dual-stack socket, batched I/O. */
#ifndef RAY_PATH_UDP_H
#define RAY_PATH_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "path/endpoint.h"

#define UDP_BATCH 64

/* Open a non-blocking dual-stack UDP socket on PORT (0: any) with large
 * buffers. Returns the fd or -errno; *BOUND gets the actual port. */
int udp_open(uint16_t port, uint16_t *bound);

/* A batch of datagrams. The caller points bufs[i] at its buffers once. */
struct udp_batch {
	unsigned count;
	uint8_t *bufs[UDP_BATCH];
	size_t lens[UDP_BATCH];
	struct endpoint eps[UDP_BATCH];
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
};

/* Receive up to UDP_BATCH datagrams of at most BUF_SIZE bytes each into the
 * batch. Returns the count (0 when none are waiting) or -errno. */
int udp_recv_batch(int fd, struct udp_batch *b, size_t buf_size);

/* Send b->count datagrams (bufs, lens, eps). Datagrams the kernel refuses
 * are dropped, as UDP may. Returns how many were sent, or -errno. */
int udp_send_batch(int fd, struct udp_batch *b);

/* Send one datagram (handshakes, keepalives). Returns 0 or -errno. */
int udp_send(int fd, const struct endpoint *ep, const void *buf, size_t len);

#endif
