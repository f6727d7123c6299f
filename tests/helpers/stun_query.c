/* Ask a STUN server for our reflexive address, with path/stun.h.
 *
 *   stun_query HOST:PORT [--local-port N] [--tries N]
 *
 * HOST:PORT as endpoint_parse reads it ("192.0.2.1:3478", "[2001:db8::1]:3478").
 * Sends an RFC 5389 Binding Request with a random transaction id and
 * FINGERPRINT, up to TRIES times (default 3) 500 ms apart, and prints the
 * mapped endpoint ("IP:PORT" or "[IPv6]:PORT") of the first matching answer.
 * Exits 0 on an answer, 1 on none, 2 on bad arguments. Answers to other
 * transactions and non-STUN datagrams are ignored (and counted on stderr). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "path/endpoint.h"
#include "path/stun.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const int zero = 0;
	struct endpoint server, mapped;
	struct sockaddr_in6 local = {.sin6_family = AF_INET6};
	uint8_t txid[STUN_TXID_LEN], req[STUN_REQUEST_MAX], buf[1500];
	char text[ENDPOINT_TEXT_MAX];
	int tries = 3, ignored = 0, fd;
	size_t req_len;

	if (argc < 2 || endpoint_parse(argv[1], &server) < 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--local-port") == 0 && i + 1 < argc)
			local.sin6_port = htons((uint16_t)atoi(argv[++i]));
		else if (strcmp(argv[i], "--tries") == 0 && i + 1 < argc)
			tries = atoi(argv[++i]);
		else
			goto usage;
	}
	if (sodium_init() < 0 || tries < 1)
		return 2;
	/* one dual-stack socket reaches both families (IPv4 as v4-mapped) */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("stun_query: socket");
		return 1;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		perror("stun_query: bind");
		return 1;
	}
	randombytes_buf(txid, sizeof(txid));
	stun_build_binding_request(txid, true, req, sizeof(req), &req_len);
	for (int t = 0; t < tries; t++) {
		uint64_t deadline = now_ms() + 500;

		if (sendto(fd, req, req_len, 0, (struct sockaddr *)&server.sin6,
			   sizeof(server.sin6)) < 0)
			fprintf(stderr, "stun_query: sendto: %s\n", strerror(errno));
		for (uint64_t now; (now = now_ms()) < deadline;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			ssize_t n;

			if (poll(&p, 1, (int)(deadline - now)) <= 0)
				continue;
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0)
				continue;
			if (stun_parse_binding_response(buf, (size_t)n, txid, &mapped) == 0) {
				endpoint_format(&mapped, text);
				printf("%s\n", text);
				if (ignored)
					fprintf(stderr, "stun_query: ignored %d datagrams\n",
						ignored);
				close(fd);
				return 0;
			}
			ignored++;
		}
	}
	fprintf(stderr, "stun_query: no answer from %s after %d tries\n", argv[1], tries);
	close(fd);
	return 1;
usage:
	fprintf(stderr, "usage: stun_query HOST:PORT [--local-port N] [--tries N]\n");
	return 2;
}
