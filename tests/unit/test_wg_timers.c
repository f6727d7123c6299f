/* Timer rules at their boundaries: one nanosecond early nothing happens, on
 * time the action is due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wg/messages.h"
#include "wg/timers.h"

#define SEC WG_NSEC_PER_SEC
#define MS  1000000ULL
#define T0  (1000 * SEC)

static unsigned int poll_at(struct wg_timers *t, uint64_t now)
{
	uint64_t next;

	return wg_timers_poll(t, now, &next);
}

static void test_idle(void **state)
{
	struct wg_timers t;
	uint64_t next = 0;

	(void)state;
	wg_timers_init(&t, NULL);
	assert_int_equal(wg_timers_poll(&t, T0, &next), 0);
	assert_true(next == WG_TIMERS_NEVER);
}

static void test_keepalive_after_data_received(void **state)
{
	struct wg_timers t;
	uint64_t next;

	(void)state;
	wg_timers_init(&t, NULL);
	wg_timers_data_received(&t, T0);
	assert_int_equal(wg_timers_poll(&t, T0 + WG_KEEPALIVE_TIMEOUT - 1, &next), 0);
	assert_true(next == T0 + WG_KEEPALIVE_TIMEOUT);
	assert_int_equal(poll_at(&t, T0 + WG_KEEPALIVE_TIMEOUT), WG_TIMERS_SEND_KEEPALIVE);
	assert_int_equal(poll_at(&t, T0 + 100 * SEC), 0);

	/* Sending anything in the meantime makes the keepalive unnecessary. */
	wg_timers_data_received(&t, T0);
	wg_timers_packet_sent(&t, T0 + SEC);
	assert_int_equal(poll_at(&t, T0 + 100 * SEC), 0);

	/* More data while one is pending: another keepalive one timeout later. */
	wg_timers_data_received(&t, T0);
	wg_timers_data_received(&t, T0 + 5 * SEC);
	assert_int_equal(poll_at(&t, T0 + WG_KEEPALIVE_TIMEOUT), WG_TIMERS_SEND_KEEPALIVE);
	assert_int_equal(poll_at(&t, T0 + 2 * WG_KEEPALIVE_TIMEOUT - 1), 0);
	assert_int_equal(poll_at(&t, T0 + 2 * WG_KEEPALIVE_TIMEOUT), WG_TIMERS_SEND_KEEPALIVE);
	assert_int_equal(poll_at(&t, T0 + 100 * SEC), 0);
}

static void test_new_handshake_when_unanswered(void **state)
{
	const uint64_t due = T0 + WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT;
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, NULL);
	wg_timers_data_sent(&t, T0, 0);
	wg_timers_data_sent(&t, T0 + SEC, 0); /* does not push the deadline */
	assert_int_equal(poll_at(&t, due - 1), 0);
	assert_int_equal(poll_at(&t, due), WG_TIMERS_SEND_INITIATION);

	/* Jitter: 0..333 ms on top. */
	wg_timers_init(&t, NULL);
	wg_timers_data_sent(&t, T0, 333);
	assert_int_equal(poll_at(&t, due + 333 * MS - 1), 0);
	assert_int_equal(poll_at(&t, due + 333 * MS), WG_TIMERS_SEND_INITIATION);
	wg_timers_init(&t, NULL);
	wg_timers_data_sent(&t, T0, 334); /* wraps to 0 */
	assert_int_equal(poll_at(&t, due), WG_TIMERS_SEND_INITIATION);

	/* Any authenticated packet back cancels it. */
	wg_timers_init(&t, NULL);
	wg_timers_data_sent(&t, T0, 0);
	wg_timers_packet_received(&t, T0 + SEC);
	assert_int_equal(poll_at(&t, due + 100 * SEC), 0);

	/* Rate limit: not within REKEY_TIMEOUT of the last initiation. */
	wg_timers_init(&t, NULL);
	wg_timers_handshake_initiated(&t, due - SEC, 0);
	wg_timers_handshake_complete(&t, due - SEC);
	wg_timers_data_sent(&t, T0, 0);
	assert_int_equal(poll_at(&t, due), 0);
}

static void test_retransmit_then_give_up(void **state)
{
	struct wg_timers t;
	uint64_t now = T0, next;
	unsigned int a;
	int sent = 1;

	(void)state;
	wg_timers_init(&t, NULL);
	wg_timers_handshake_initiated(&t, now, 0);
	wg_timers_data_received(&t, now); /* a keepalive pending is dropped on giving up */
	wg_timers_data_received(&t, now);
	for (;;) {
		assert_int_equal(wg_timers_poll(&t, now + WG_REKEY_TIMEOUT - 1, &next) &
					 (WG_TIMERS_SEND_INITIATION | WG_TIMERS_GIVE_UP),
				 0);
		now += WG_REKEY_TIMEOUT;
		a = poll_at(&t, now) & ~(unsigned int)WG_TIMERS_SEND_KEEPALIVE;
		if (a != WG_TIMERS_SEND_INITIATION)
			break;
		sent++;
		wg_timers_handshake_initiated(&t, now, 0);
	}
	/* REKEY_ATTEMPT_TIME / REKEY_TIMEOUT retries after the first, plus
	 * one more as wireguard-linux does, then give up. */
	assert_int_equal(a, WG_TIMERS_GIVE_UP);
	assert_int_equal(sent, 20);
	assert_true(now - T0 == 20 * WG_REKEY_TIMEOUT);
	/* Keys are wiped 3 * REJECT_AFTER_TIME after giving up. */
	assert_int_equal(wg_timers_poll(&t, now, &next), 0);
	assert_true(next == now + 3 * WG_REJECT_AFTER_TIME);
	assert_int_equal(poll_at(&t, next), WG_TIMERS_ZERO_KEYS);

	/* A completed handshake stops the retries. */
	wg_timers_init(&t, NULL);
	wg_timers_handshake_initiated(&t, T0, 0);
	wg_timers_handshake_complete(&t, T0 + SEC);
	assert_int_equal(poll_at(&t, T0 + 100 * SEC), 0);
}

static void test_zero_keys_after_session(void **state)
{
	struct wg_timers t;
	uint64_t next;

	(void)state;
	wg_timers_init(&t, NULL);
	wg_timers_session_derived(&t, T0);
	assert_int_equal(wg_timers_poll(&t, T0 + 3 * WG_REJECT_AFTER_TIME - 1, &next), 0);
	assert_true(next == T0 + 3 * WG_REJECT_AFTER_TIME);
	/* A newer session pushes it back. */
	wg_timers_session_derived(&t, T0 + SEC);
	assert_int_equal(poll_at(&t, T0 + 3 * WG_REJECT_AFTER_TIME), 0);
	assert_int_equal(poll_at(&t, T0 + SEC + 3 * WG_REJECT_AFTER_TIME), WG_TIMERS_ZERO_KEYS);
}

static void test_want_handshake_rate_limit(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, NULL);
	assert_true(wg_timers_want_handshake(&t, 0)); /* never initiated: at once */
	wg_timers_handshake_initiated(&t, T0, 100);
	assert_false(wg_timers_want_handshake(&t, T0 + WG_REKEY_TIMEOUT - 1));
	assert_true(wg_timers_want_handshake(&t, T0 + WG_REKEY_TIMEOUT));
}

static void test_persistent_keepalive(void **state)
{
	struct wg_timer_config cfg;
	struct wg_timers t;

	(void)state;
	wg_timer_config_default(&cfg);
	cfg.tc_persistent_keepalive = 25 * SEC;
	wg_timers_init(&t, &cfg);
	wg_timers_packet_received(&t, T0);
	assert_int_equal(poll_at(&t, T0 + 25 * SEC - 1), 0);
	assert_int_equal(poll_at(&t, T0 + 25 * SEC), WG_TIMERS_SEND_KEEPALIVE);
	/* Every authenticated packet restarts it. */
	wg_timers_packet_sent(&t, T0 + 25 * SEC);
	wg_timers_packet_sent(&t, T0 + 30 * SEC);
	assert_int_equal(poll_at(&t, T0 + 50 * SEC), 0);
	assert_int_equal(poll_at(&t, T0 + 55 * SEC), WG_TIMERS_SEND_KEEPALIVE);
	/* Off by default. */
	wg_timers_init(&t, NULL);
	wg_timers_packet_received(&t, T0);
	assert_int_equal(poll_at(&t, T0 + 1000 * SEC), 0);
}

static void test_shortened_config(void **state)
{
	struct wg_timer_config cfg;
	struct wg_timers t;
	uint64_t next;

	(void)state;
	wg_timer_config_default(&cfg);
	assert_true(cfg.tc_rekey_after_time == 120 * SEC);
	assert_true(cfg.tc_reject_after_messages == UINT64_MAX - 8192);
	cfg.tc_keepalive_timeout = SEC;
	cfg.tc_rekey_timeout = SEC / 2;
	wg_timers_init(&t, &cfg);
	wg_timers_data_sent(&t, T0, 0);
	assert_int_equal(wg_timers_poll(&t, T0, &next), 0);
	assert_true(next == T0 + SEC + SEC / 2);
	wg_timers_stop(&t);
	assert_int_equal(wg_timers_poll(&t, T0 + 10 * SEC, &next), 0);
	assert_true(next == WG_TIMERS_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_keepalive_after_data_received),
		cmocka_unit_test(test_new_handshake_when_unanswered),
		cmocka_unit_test(test_retransmit_then_give_up),
		cmocka_unit_test(test_zero_keys_after_session),
		cmocka_unit_test(test_want_handshake_rate_limit),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_shortened_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
