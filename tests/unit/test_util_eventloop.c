/* The event loop: timers fire in deadline order and can be cancelled, fd
 * callbacks run, and a callback may remove another fd of the same batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/epoll.h>
#include <unistd.h>

#include "util/eventloop.h"

static int order[8], norder;

static void record(struct loop *loop, void *arg)
{
	order[norder++] = (int)(long)arg;
	if (norder == 3)
		loop_stop(loop);
}

static void test_timers_in_order(void **state)
{
	struct loop *loop = loop_new();
	uint64_t cancelled, start = loop_now_ms();

	(void)state;
	norder = 0;
	loop_timer_add(loop, 30, record, (void *)3L);
	loop_timer_add(loop, 10, record, (void *)1L);
	cancelled = loop_timer_add(loop, 15, record, (void *)99L);
	loop_timer_add(loop, 20, record, (void *)2L);
	loop_timer_cancel(loop, cancelled);
	loop_timer_cancel(loop, 12345); /* unknown: no-op */
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_true(loop_now_ms() - start >= 30);
	loop_free(loop);
}

struct pair {
	int fds[2][2];
	int calls;
};

static void on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair *p = arg;
	char c;

	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	p->calls++;
	/* remove both: the other, already in this batch, must not be called */
	loop_fd_remove(loop, p->fds[0][0]);
	loop_fd_remove(loop, p->fds[1][0]);
	loop_stop(loop);
}

static void test_remove_within_batch(void **state)
{
	struct loop *loop = loop_new();
	struct pair p = {.calls = 0};

	(void)state;
	assert_int_equal(pipe(p.fds[0]), 0);
	assert_int_equal(pipe(p.fds[1]), 0);
	assert_int_equal(loop_fd_add(loop, p.fds[0][0], EPOLLIN, on_readable, &p), 0);
	assert_int_equal(loop_fd_add(loop, p.fds[1][0], EPOLLIN, on_readable, &p), 0);
	assert_int_equal(write(p.fds[0][1], "x", 1), 1);
	assert_int_equal(write(p.fds[1][1], "y", 1), 1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(p.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(p.fds[i][0]);
		close(p.fds[i][1]);
	}
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_remove_within_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
