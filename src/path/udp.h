/* The UDP socket peers talk to: one dual-stack socket, batched I/O, and the
 * kernel's UDP segmentation offloads where it has them: on send (GSO), a run
 * of equal-size datagrams to one endpoint leaves as one buffer that the
 * kernel cuts late; on receive (GRO), the kernel hands over trains of
 * datagrams from one sender in one buffer. Both are probed at open and fall
 * back to one datagram at a time. */
#ifndef RAY_PATH_UDP_H
#define RAY_PATH_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "path/endpoint.h"

#define UDP_BATCH	 64    /* datagrams per send batch */
#define UDP_RX_BUFS	 16    /* receive buffers per recvmmsg */
#define UDP_RX_BUF_SIZE	 65536 /* room for a GRO train */
#define UDP_RX_MAX	 (UDP_RX_BUFS * 64)
#define UDP_GSO_MAX_SEGS 64
#define UDP_CMSG_SPACE	 32 /* CMSG_SPACE(sizeof(int)) with room to spare */

struct udp_socket {
	int fd;
	bool gso; /* UDP_SEGMENT works */
	bool gro; /* UDP_GRO is on */
};

/* Open a non-blocking dual-stack UDP socket on PORT (0: any) with large
 * buffers and whatever offloads the kernel has. Returns 0 or -errno; *BOUND
 * gets the actual port. */
int udp_open(struct udp_socket *u, uint16_t port, uint16_t *bound);
void udp_close(struct udp_socket *u);

/* Datagrams to send. The caller points bufs[i] at its buffers once, fills
 * lens, eps and count. */
struct udp_batch {
	unsigned count;
	uint8_t *bufs[UDP_BATCH];
	size_t lens[UDP_BATCH];
	struct endpoint eps[UDP_BATCH];
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iovs[UDP_BATCH];
	uint8_t cmsgs[UDP_BATCH][UDP_CMSG_SPACE];
};

/* Send b->count datagrams. Datagrams the kernel refuses are dropped, as UDP
 * may. Returns how many were handed over, or -errno. */
int udp_send_batch(struct udp_socket *u, struct udp_batch *b);

/* Send one datagram (handshakes, keepalives). Returns 0 or -errno. */
int udp_send(struct udp_socket *u, const struct endpoint *ep, const void *buf, size_t len);

/* Received datagrams, GRO trains already cut apart: datagram i is
 * data[i][0..lens[i]) from eps[from[i]]. Buffers are owned by the struct. */
struct udp_rx {
	unsigned count;
	unsigned nmsgs; /* datagrams or trains the last recvmmsg returned */
	uint8_t *data[UDP_RX_MAX];
	size_t lens[UDP_RX_MAX];
	uint8_t from[UDP_RX_MAX];
	struct endpoint eps[UDP_RX_BUFS];
	uint8_t *bufs[UDP_RX_BUFS];
	struct mmsghdr msgs[UDP_RX_BUFS];
	struct iovec iovs[UDP_RX_BUFS];
	uint8_t cmsgs[UDP_RX_BUFS][UDP_CMSG_SPACE];
};

struct udp_rx *udp_rx_new(void);
void udp_rx_free(struct udp_rx *rx);

/* Receive what is waiting, up to UDP_RX_BUFS datagrams or trains. Returns
 * the number of datagrams (0 when none are waiting) or -errno. */
int udp_recv(struct udp_socket *u, struct udp_rx *rx);

#endif
