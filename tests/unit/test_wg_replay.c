/* Replay window cases, numbered so a failure names its row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wg/messages.h"
#include "wg/replay.h"

#define W WG_REPLAY_WINDOW
#define B WG_REPLAY_BITS_PER_WORD

struct replay_case {
	uint64_t counter;
	bool accept;
};

static void run_cases(const struct replay_case *cases, size_t n)
{
	struct wg_replay rp;
	size_t i;

	wg_replay_init(&rp);
	for (i = 0; i < n; i++) {
		bool got = wg_replay_check(&rp, cases[i].counter);

		if (got != cases[i].accept)
			fail_msg("case %zu: counter %llu: want %s, got %s", i + 1,
				 (unsigned long long)cases[i].counter,
				 cases[i].accept ? "accept" : "reject", got ? "accept" : "reject");
	}
}

static void test_window_table(void **state)
{
	(void)state;
	static const struct replay_case cases[] = {
		/*  1 */ {0, true},
		/*  2 */ {1, true},
		/*  3 */ {1, false},
		/*  4 */ {9, true},
		/*  5 */ {8, true},
		/*  6 */ {7, true},
		/*  7 */ {7, false},
		/*  8 */ {W, true},
		/*  9 */ {W + 2, true},
		/* 10 */ {2, true},	/* exactly W behind the greatest: inside */
		/* 11 */ {1, false},	/* W + 1 behind: outside */
		/* 12 */ {W + 1, true}, /* a gap below the greatest */
		/* 13 */ {W + 3, true},
		/* 14 */ {2, false}, /* fell out of the window */
		/* 15 */ {3, true},
		/* 16 */ {3, false},
		/* 17 */ {2 * W + 3, true}, /* W ahead: everything below W + 3 dies */
		/* 18 */ {W + 2, false},
		/* 19 */ {W + 3, false}, /* exactly W behind, but seen */
		/* 20 */ {W + 4, true},
		/* 21 */ {10 * W, true}, /* far ahead: the whole ring is cleared */
		/* 22 */ {9 * W, true},
		/* 23 */ {9 * W - 1, false},
		/* 24 */ {10 * W - 1, true},
		/* 25 */ {10 * W - 1, false},
		/* 26 */ {10 * W + 1, true},
		/* 27 */ {10 * W, false},
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Bits that were set in one lap of the ring must not leak into the next. */
static void test_ring_wraparound(void **state)
{
	struct wg_replay rp;
	uint64_t c;

	(void)state;
	wg_replay_init(&rp);
	for (c = 0; c < 3 * WG_REPLAY_BITS_TOTAL; c += 7)
		assert_true(wg_replay_check(&rp, c));
	/* Every counter still in the window and not yet seen is accepted once. */
	for (c = 3 * WG_REPLAY_BITS_TOTAL - W; c < 3 * WG_REPLAY_BITS_TOTAL; c++) {
		bool seen = c % 7 == 0;

		assert_int_equal(wg_replay_check(&rp, c), !seen);
		assert_false(wg_replay_check(&rp, c));
	}
}

/* Counters arriving backwards, all inside the window. */
static void test_reverse_order(void **state)
{
	struct wg_replay rp;
	uint64_t c;

	(void)state;
	wg_replay_init(&rp);
	assert_true(wg_replay_check(&rp, W));
	for (c = W; c-- > 0;)
		assert_true(wg_replay_check(&rp, c));
	for (c = 0; c <= W; c++)
		assert_false(wg_replay_check(&rp, c));
}

/* Word-boundary steps: advancing by exactly one word, by one bit past it. */
static void test_word_boundaries(void **state)
{
	struct wg_replay rp;

	(void)state;
	wg_replay_init(&rp);
	assert_true(wg_replay_check(&rp, B - 1));
	assert_true(wg_replay_check(&rp, B));
	assert_true(wg_replay_check(&rp, 2 * B - 1));
	assert_true(wg_replay_check(&rp, B - 2));
	assert_false(wg_replay_check(&rp, B - 1));
	assert_false(wg_replay_check(&rp, B));
	assert_true(wg_replay_check(&rp, 2 * B + 1));
	assert_true(wg_replay_check(&rp, 2 * B));
	assert_false(wg_replay_check(&rp, 2 * B - 1));
}

static void test_reject_after_messages(void **state)
{
	struct wg_replay rp;

	(void)state;
	wg_replay_init(&rp);
	assert_false(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES));
	assert_false(wg_replay_check(&rp, UINT64_MAX));
	assert_true(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES - 1));
	assert_false(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES - 1));
	assert_true(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES - 2));
	assert_true(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES - 1 - W));
	assert_false(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES - 2 - W));
	assert_false(wg_replay_check(&rp, WG_REJECT_AFTER_MESSAGES));
}

static void test_window_size(void **state)
{
	(void)state;
	assert_true(WG_REPLAY_WINDOW >= 8192);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_table),
		cmocka_unit_test(test_ring_wraparound),
		cmocka_unit_test(test_reverse_order),
		cmocka_unit_test(test_word_boundaries),
		cmocka_unit_test(test_reject_after_messages),
		cmocka_unit_test(test_window_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
