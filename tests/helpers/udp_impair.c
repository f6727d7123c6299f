/* A lossy, reordering UDP relay for tests, standing in for netem (which this
 * kernel lacks). It listens on two ports; a datagram to port A goes to
 * TARGET_A from port B's socket and vice versa, so each side sees the relay
 * as its peer. Each datagram is dropped with probability LOSS %, held back
 * behind the next one with probability REORDER %, sent twice with
 * probability DUP %. Runs until killed.
 *
 *   udp_impair LISTEN_IP PORT_A TARGET_A PORT_B TARGET_B LOSS REORDER DUP SEED
 *   e.g. udp_impair 10.1.0.2 50001 10.1.0.2:41383 50002 10.1.0.1:41383 20 10 5 1 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct side {
	int fd;
	struct sockaddr_in target; /* where datagrams arriving on the other side go */
	uint8_t held[2048];	   /* one datagram held back to reorder */
	ssize_t held_len;
};

static uint64_t rng_state;

static unsigned rng_percent(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % 100);
}

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int open_port(const char *ip, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp_impair: bind");
		exit(1);
	}
	return fd;
}

/* OUT sends to its target a datagram that arrived on the other side. */
static void forward(struct side *out, const uint8_t *buf, ssize_t len, unsigned reorder,
		    unsigned dup)
{
	if (out->held_len == 0 && rng_percent() < reorder) {
		memcpy(out->held, buf, (size_t)len);
		out->held_len = len;
		return;
	}
	sendto(out->fd, buf, (size_t)len, 0, (struct sockaddr *)&out->target, sizeof(out->target));
	if (rng_percent() < dup)
		sendto(out->fd, buf, (size_t)len, 0, (struct sockaddr *)&out->target,
		       sizeof(out->target));
	if (out->held_len > 0) {
		sendto(out->fd, out->held, (size_t)out->held_len, 0,
		       (struct sockaddr *)&out->target, sizeof(out->target));
		out->held_len = 0;
	}
}

int main(int argc, char **argv)
{
	struct side side[2];
	unsigned loss, reorder, dup;
	uint64_t forwarded = 0, dropped = 0;

	if (argc != 10) {
		fprintf(stderr, "usage: udp_impair LISTEN_IP PORT_A TARGET_A PORT_B TARGET_B "
				"LOSS REORDER DUP SEED\n");
		return 2;
	}
	memset(side, 0, sizeof(side));
	side[0].fd = open_port(argv[1], argv[2]);
	side[1].fd = open_port(argv[1], argv[4]);
	/* Arriving on A, sent from B's socket to TARGET_A; and back. */
	if (parse_addr(argv[3], &side[1].target) < 0 || parse_addr(argv[5], &side[0].target) < 0) {
		fprintf(stderr, "udp_impair: bad target\n");
		return 2;
	}
	loss = (unsigned)atoi(argv[6]);
	reorder = (unsigned)atoi(argv[7]);
	dup = (unsigned)atoi(argv[8]);
	rng_state = (uint64_t)strtoull(argv[9], NULL, 10) * 2654435761u + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("udp_impair: loss %u%%, reorder %u%%, dup %u%%\n", loss, reorder, dup);
	for (;;) {
		struct pollfd pfd[2] = {{side[0].fd, POLLIN, 0}, {side[1].fd, POLLIN, 0}};

		if (poll(pfd, 2, 200) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 2; i++) {
			uint8_t buf[2048];
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			n = recv(side[i].fd, buf, sizeof(buf), 0);
			if (n <= 0)
				continue;
			if (rng_percent() < loss) {
				dropped++;
				continue;
			}
			forward(&side[1 - i], buf, n, reorder, dup);
			forwarded++;
		}
		/* A held datagram is not held forever on a quiet path. */
		for (int i = 0; i < 2; i++) {
			if (side[i].held_len > 0 && !(pfd[1 - i].revents & POLLIN)) {
				sendto(side[i].fd, side[i].held, (size_t)side[i].held_len, 0,
				       (struct sockaddr *)&side[i].target, sizeof(side[i].target));
				side[i].held_len = 0;
			}
		}
		(void)forwarded;
		(void)dropped;
	}
}
