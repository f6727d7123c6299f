/* Work spread over two threads: every item of every batch runs exactly once,
 * batches do not bleed into each other even when the helper wakes late,
 * small batches and a one-thread pool stay on the caller. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "session/parallel.h"

#define ITEMS_MAX 300

struct batch {
	uint32_t id;
	_Atomic uint32_t runs[ITEMS_MAX];
	_Atomic uint32_t owner[ITEMS_MAX]; /* the batch id each item saw */
	_Atomic unsigned lanes[2];
};

static void work(void *arg, size_t i, unsigned lane)
{
	struct batch *b = arg;
	volatile uint32_t spin = 0;

	assert_true(i < ITEMS_MAX && lane < 2);
	atomic_fetch_add(&b->runs[i], 1);
	atomic_store(&b->owner[i], b->id);
	atomic_fetch_add(&b->lanes[lane], 1);
	while (spin < 200) /* a little work, so the helper gets a share */
		spin = spin + 1;
}

static void check(struct batch *b, size_t n)
{
	for (size_t i = 0; i < ITEMS_MAX; i++) {
		assert_int_equal(atomic_load(&b->runs[i]), i < n ? 1 : 0);
		if (i < n)
			assert_int_equal(atomic_load(&b->owner[i]), b->id);
	}
}

static void test_every_item_once(void **state)
{
	static struct batch b;
	struct parallel *p;
	unsigned helper = 0;

	(void)state;
	assert_int_equal(parallel_new(&p, 2), 0);
	assert_int_equal(parallel_threads(p), 2);
	for (uint32_t round = 1; round <= 3000; round++) {
		size_t n = (round * 7919u) % ITEMS_MAX;

		memset(&b, 0, sizeof(b));
		b.id = round;
		parallel_run(p, work, &b, n);
		check(&b, n);
		assert_int_equal(atomic_load(&b.lanes[0]) + atomic_load(&b.lanes[1]), n);
		if (n < PARALLEL_MIN_ITEMS)
			assert_int_equal(atomic_load(&b.lanes[1]), 0);
		helper += atomic_load(&b.lanes[1]);
	}
	print_message("items done by the helper: %u\n", helper);
	parallel_free(p);
}

static void test_one_thread(void **state)
{
	static struct batch b;
	struct parallel *p;

	(void)state;
	assert_int_equal(parallel_new(&p, 1), 0);
	memset(&b, 0, sizeof(b));
	b.id = 1;
	parallel_run(p, work, &b, ITEMS_MAX);
	check(&b, ITEMS_MAX);
	assert_int_equal(atomic_load(&b.lanes[1]), 0);
	parallel_free(p);
	parallel_free(NULL);
	assert_int_equal(parallel_new(&p, 0), -EINVAL);
	assert_int_equal(parallel_new(&p, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_item_once),
		cmocka_unit_test(test_one_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
