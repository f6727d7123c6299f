/* The floor of any userspace VPN: IP packets from a TUN device go out as UDP
 * datagrams to one peer, and datagrams in go to the TUN, with no crypto, no
 * routing and no batching beyond what udp_recv does. It uses rayfish's own
 * TUN and UDP code, so bench/rtt.sh can tell the cost of passing packets
 * through a process (the wakeups, the copies) from rayfish's own work.
 * A benchmark tool, not a tunnel: anything that reaches the port is written
 * to the TUN.
 *
 *   usage: build/bench/tun_forward IFNAME PORT PEER_IP:PORT
 *          (root; the caller sets the device's address and brings it up) */
#include "os/tun.h"
#include "path/endpoint.h"
#include "path/udp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PACKET_MAX 65535

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Every packet waiting on the TUN goes to PEER as one datagram. */
static int forward_from_tun(int tun, struct udp_socket *u, const struct endpoint *peer,
			    uint8_t *buf)
{
	for (;;) {
		ssize_t n = read(tun, buf, PACKET_MAX);

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (udp_send(u, peer, buf, (size_t)n) < 0)
			continue; /* as a link would, drop it */
	}
}

static int forward_from_udp(int tun, struct udp_socket *u, struct udp_rx *rx)
{
	for (;;) {
		int n = udp_recv(u, rx);

		if (n <= 0)
			return n;
		for (unsigned i = 0; i < rx->count; i++)
			if (write(tun, rx->data[i], rx->lens[i]) < 0 && errno != EINVAL)
				return -errno;
	}
}

int main(int argc, char **argv)
{
	struct udp_socket u = {.fd = -1};
	struct udp_rx *rx = NULL;
	struct endpoint peer;
	char name[TUN_NAME_MAX];
	uint8_t *buf = NULL;
	uint16_t port, bound;
	int tun = -1, ret = 1, err;
	char *end;
	long p;

	if (argc != 4) {
		fprintf(stderr, "usage: %s IFNAME PORT PEER_IP:PORT\n", argv[0]);
		return 2;
	}
	p = strtol(argv[2], &end, 10);
	if (*end || p < 1 || p > 65535 || endpoint_parse(argv[3], &peer) < 0) {
		fprintf(stderr, "tun_forward: bad port or peer\n");
		return 2;
	}
	port = (uint16_t)p;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	tun = tun_open(argv[1], name);
	if (tun < 0) {
		fprintf(stderr, "tun_forward: tun %s: %s\n", argv[1], strerror(-tun));
		goto out;
	}
	err = udp_open(&u, port, &bound);
	if (err < 0) {
		fprintf(stderr, "tun_forward: udp port %u: %s\n", port, strerror(-err));
		goto out;
	}
	rx = udp_rx_new();
	buf = malloc(PACKET_MAX);
	if (!rx || !buf) {
		fprintf(stderr, "tun_forward: out of memory\n");
		goto out;
	}
	while (!stopping) {
		struct pollfd fds[2] = {{.fd = tun, .events = POLLIN},
					{.fd = u.fd, .events = POLLIN}};

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tun_forward: poll");
			goto out;
		}
		err = 0;
		if (fds[0].revents)
			err = forward_from_tun(tun, &u, &peer, buf);
		if (!err && fds[1].revents)
			err = forward_from_udp(tun, &u, rx);
		if (err < 0) {
			fprintf(stderr, "tun_forward: %s\n", strerror(-err));
			goto out;
		}
	}
	ret = 0;
out:
	free(buf);
	udp_rx_free(rx);
	udp_close(&u);
	if (tun >= 0)
		close(tun);
	return ret;
}
