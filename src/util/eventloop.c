#include "util/eventloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

struct loop_fd {
	loop_fd_cb cb;
	void *arg;
	uint32_t generation; /* tells a stale event in a batch from a reused fd */
};

struct loop_timer {
	uint64_t id;
	uint64_t deadline_ms;
	loop_timer_cb cb;
	void *arg;
	struct loop_timer *next;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_fd *fds;
	int nfds;
	uint32_t generation;
	uint64_t next_timer_id;
	struct loop_timer *timers; /* sorted by deadline, then by id */
};

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000ull;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void loop_free(struct loop *loop)
{
	struct loop_timer *t, *next;

	if (!loop)
		return;
	for (t = loop->timers; t; t = next) {
		next = t->next;
		free(t);
	}
	close(loop->epfd);
	free(loop->fds);
	free(loop);
}

static int loop_grow_fds(struct loop *loop, int fd)
{
	int n = loop->nfds ? loop->nfds : 64;
	struct loop_fd *fds;

	while (n <= fd)
		n *= 2;
	fds = realloc(loop->fds, sizeof(*fds) * (size_t)n);
	if (!fds)
		return -ENOMEM;
	memset(fds + loop->nfds, 0, sizeof(*fds) * (size_t)(n - loop->nfds));
	loop->fds = fds;
	loop->nfds = n;
	return 0;
}

static uint64_t loop_event_data(int fd, uint32_t generation)
{
	return (uint64_t)generation << 32 | (uint32_t)fd;
}

int loop_fd_add(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = {.events = events};
	int ret;

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->nfds) {
		ret = loop_grow_fds(loop, fd);
		if (ret < 0)
			return ret;
	}
	loop->fds[fd].cb = cb;
	loop->fds[fd].arg = arg;
	loop->fds[fd].generation = ++loop->generation;
	ev.data.u64 = loop_event_data(fd, loop->fds[fd].generation);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		loop->fds[fd].cb = NULL;
		return -errno;
	}
	return 0;
}

int loop_fd_modify(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || fd >= loop->nfds || !loop->fds[fd].cb)
		return -EBADF;
	ev.data.u64 = loop_event_data(fd, loop->fds[fd].generation);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_fd_remove(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfds || !loop->fds[fd].cb)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd].cb = NULL;
	loop->fds[fd].arg = NULL;
}

uint64_t loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t)), **pos;

	if (!t)
		return 0;
	t->id = ++loop->next_timer_id;
	t->deadline_ms = loop_now_ms() + delay_ms;
	t->cb = cb;
	t->arg = arg;
	for (pos = &loop->timers; *pos && (*pos)->deadline_ms <= t->deadline_ms;
	     pos = &(*pos)->next)
		;
	t->next = *pos;
	*pos = t;
	return t->id;
}

void loop_timer_cancel(struct loop *loop, uint64_t id)
{
	struct loop_timer **pos, *t;

	for (pos = &loop->timers; (t = *pos); pos = &t->next) {
		if (t->id == id) {
			*pos = t->next;
			free(t);
			return;
		}
	}
}

/* Runs the timers that are due; returns the wait until the next one, or -1. */
static int loop_run_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms();
	struct loop_timer *t;

	while ((t = loop->timers) && t->deadline_ms <= now && !loop->stop) {
		loop->timers = t->next;
		t->cb(loop, t->arg);
		free(t);
	}
	if (!loop->timers)
		return -1;
	now = loop_now_ms();
	if (loop->timers->deadline_ms <= now)
		return 0;
	if (loop->timers->deadline_ms - now > 60000)
		return 60000;
	return (int)(loop->timers->deadline_ms - now);
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	loop->stop = false;
	while (!loop->stop) {
		int timeout = loop_run_timers(loop);
		int n;

		if (loop->stop)
			break;
		n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			int fd = (int)(uint32_t)events[i].data.u64;
			uint32_t generation = (uint32_t)(events[i].data.u64 >> 32);
			struct loop_fd *entry;

			if (fd >= loop->nfds)
				continue;
			entry = &loop->fds[fd];
			if (!entry->cb || entry->generation != generation)
				continue;
			entry->cb(loop, fd, events[i].events, entry->arg);
		}
	}
	return 0;
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}
