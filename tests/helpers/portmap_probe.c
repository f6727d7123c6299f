/* Runs path/portmap on an event loop, for the integration test.
 *
 *   portmap_probe PORT SECONDS [--hold]
 *
 * Prints each result the module reports as one line:
 *
 *   upnp=1 natpmp=1 mapped=1 external=198.18.0.2:41383 method=nat-pmp lifetime=7200 ms=12
 *
 * (external=- and method=- when not mapped; ms since start.) Without --hold
 * it stops at the first result; with --hold it keeps running, SIGUSR1 asks
 * for a refresh, and SIGTERM or SIGINT stops it. Either way it stops after
 * SECONDS, then frees the module (which deletes the mapping) and exits 0 if a
 * result was printed, 1 if not ("timeout" is printed). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "path/portmap.h"
#include "util/eventloop.h"
#include "util/log.h"

struct probe {
	struct loop *loop;
	struct portmap *pm;
	bool hold;
	int results;
	uint64_t start_ms;
};

static void probe_on_result(void *arg, const struct portmap_result *r)
{
	struct probe *p = arg;
	char ext[ENDPOINT_TEXT_MAX] = "-";

	if (r->mapped)
		endpoint_format(&r->external, ext);
	printf("upnp=%d natpmp=%d mapped=%d external=%s method=%s lifetime=%u ms=%llu\n", r->upnp,
	       r->natpmp, r->mapped, ext, r->method ? r->method : "-", (unsigned)r->lifetime_s,
	       (unsigned long long)(loop_now_ms() - p->start_ms));
	fflush(stdout);
	p->results++;
	if (!p->hold)
		loop_stop(p->loop);
}

static void probe_on_timeout(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

static void probe_on_signal(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct probe *p = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			portmap_refresh(p->pm);
		else
			loop_stop(loop);
	}
}

int main(int argc, char **argv)
{
	struct probe p = {0};
	unsigned long port, secs;
	sigset_t mask;
	int sfd = -1, r, rc = 1;
	char *end;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--hold") != 0)) {
		fprintf(stderr, "usage: portmap_probe PORT SECONDS [--hold]\n");
		return 2;
	}
	port = strtoul(argv[1], &end, 10);
	if (*end || port == 0 || port > 65535)
		return 2;
	secs = strtoul(argv[2], &end, 10);
	if (*end || secs == 0)
		return 2;
	p.hold = argc == 4;
	log_set_level(LOG_LEVEL_DEBUG);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	p.loop = loop_new();
	if (sfd < 0 || !p.loop) {
		fprintf(stderr, "portmap_probe: setup failed\n");
		goto out;
	}
	p.start_ms = loop_now_ms();
	r = portmap_new(p.loop, (uint16_t)port, probe_on_result, &p, &p.pm);
	if (r < 0) {
		fprintf(stderr, "portmap_probe: portmap_new: %s\n", strerror(-r));
		goto out;
	}
	if (loop_fd_add(p.loop, sfd, EPOLLIN, probe_on_signal, &p) < 0 ||
	    !loop_timer_add(p.loop, secs * 1000, probe_on_timeout, NULL)) {
		fprintf(stderr, "portmap_probe: setup failed\n");
		goto out;
	}
	loop_run(p.loop);
	if (!p.results)
		printf("timeout\n");
	rc = p.results ? 0 : 1;
out:
	portmap_free(p.pm);
	if (p.loop && sfd >= 0)
		loop_fd_remove(p.loop, sfd);
	loop_free(p.loop);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
