/* A single-threaded event loop: file descriptors (epoll) and one-shot timers. */
#ifndef RAY_UTIL_EVENTLOOP_H
#define RAY_UTIL_EVENTLOOP_H

#include <stdint.h>

struct loop;

/* EVENTS is the epoll event mask that fired. A callback may remove its own fd,
 * or any other, and add timers; it must not free the loop. */
typedef void (*loop_fd_cb)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

int loop_fd_add(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_fd_modify(struct loop *loop, int fd, uint32_t events);
void loop_fd_remove(struct loop *loop, int fd);

/* Run CB once, DELAY_MS from now. Returns a non-zero timer id, 0 on ENOMEM. */
uint64_t loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_timer_cb cb, void *arg);
/* Cancelling a timer that has fired or been cancelled is a no-op. */
void loop_timer_cancel(struct loop *loop, uint64_t id);

/* Runs until loop_stop. Returns 0, or -errno if epoll itself fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* CLOCK_MONOTONIC in milliseconds and nanoseconds. */
uint64_t loop_now_ms(void);
uint64_t loop_now_ns(void);

#endif
