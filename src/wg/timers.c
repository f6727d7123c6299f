#include "wg/timers.h"

#include <string.h>

const struct wg_timer_config wg_timer_config_defaults = {
	.tc_rekey_after_time = WG_REKEY_AFTER_TIME,
	.tc_reject_after_time = WG_REJECT_AFTER_TIME,
	.tc_rekey_attempt_time = WG_REKEY_ATTEMPT_TIME,
	.tc_rekey_timeout = WG_REKEY_TIMEOUT,
	.tc_keepalive_timeout = WG_KEEPALIVE_TIMEOUT,
	.tc_rekey_after_messages = WG_REKEY_AFTER_MESSAGES,
	.tc_reject_after_messages = WG_REJECT_AFTER_MESSAGES,
	.tc_persistent_keepalive = 0,
};

void wg_timer_config_default(struct wg_timer_config *cfg)
{
	*cfg = wg_timer_config_defaults;
}

static uint64_t jitter_ns(uint32_t jitter)
{
	return (uint64_t)jitter % (WG_REKEY_TIMEOUT_JITTER / 1000000) * 1000000;
}

static bool due(uint64_t at, uint64_t now)
{
	return at != WG_TIMERS_NEVER && at <= now;
}

void wg_timers_init(struct wg_timers *t, const struct wg_timer_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->t_cfg = cfg ? cfg : &wg_timer_config_defaults;
	wg_timers_stop(t);
}

void wg_timers_stop(struct wg_timers *t)
{
	t->t_retransmit_at = WG_TIMERS_NEVER;
	t->t_keepalive_at = WG_TIMERS_NEVER;
	t->t_new_handshake_at = WG_TIMERS_NEVER;
	t->t_zero_keys_at = WG_TIMERS_NEVER;
	t->t_persistent_at = WG_TIMERS_NEVER;
	t->t_another_keepalive = false;
	t->t_attempts = 0;
}

void wg_timers_data_sent(struct wg_timers *t, uint64_t now, uint32_t jitter)
{
	/* Expect an answer within KEEPALIVE_TIMEOUT (the peer's keepalive) plus
	 * a round trip allowance; otherwise the session may be dead. */
	if (t->t_new_handshake_at == WG_TIMERS_NEVER)
		t->t_new_handshake_at = now + t->t_cfg->tc_keepalive_timeout +
					t->t_cfg->tc_rekey_timeout + jitter_ns(jitter);
}

void wg_timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (t->t_keepalive_at == WG_TIMERS_NEVER)
		t->t_keepalive_at = now + t->t_cfg->tc_keepalive_timeout;
	else
		t->t_another_keepalive = true;
}

static void traversal(struct wg_timers *t, uint64_t now)
{
	if (t->t_cfg->tc_persistent_keepalive)
		t->t_persistent_at = now + t->t_cfg->tc_persistent_keepalive;
}

void wg_timers_packet_sent(struct wg_timers *t, uint64_t now)
{
	/* Anything we send acknowledges the peer's data: no keepalive needed. */
	t->t_keepalive_at = WG_TIMERS_NEVER;
	traversal(t, now);
}

void wg_timers_packet_received(struct wg_timers *t, uint64_t now)
{
	t->t_new_handshake_at = WG_TIMERS_NEVER;
	traversal(t, now);
}

void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint32_t jitter)
{
	t->t_last_initiation = now;
	t->t_initiated = true;
	t->t_retransmit_at = now + t->t_cfg->tc_rekey_timeout + jitter_ns(jitter);
}

void wg_timers_handshake_complete(struct wg_timers *t, uint64_t now)
{
	(void)now;
	t->t_retransmit_at = WG_TIMERS_NEVER;
	t->t_attempts = 0;
}

void wg_timers_session_derived(struct wg_timers *t, uint64_t now)
{
	t->t_zero_keys_at = now + 3 * t->t_cfg->tc_reject_after_time;
}

static bool may_initiate(const struct wg_timers *t, uint64_t now)
{
	return !t->t_initiated || now - t->t_last_initiation >= t->t_cfg->tc_rekey_timeout;
}

bool wg_timers_want_handshake(struct wg_timers *t, uint64_t now)
{
	t->t_attempts = 0;
	return may_initiate(t, now);
}

unsigned int wg_timers_poll(struct wg_timers *t, uint64_t now, uint64_t *next)
{
	const struct wg_timer_config *cfg = t->t_cfg;
	unsigned int actions = 0;
	uint64_t max_attempts = cfg->tc_rekey_attempt_time / cfg->tc_rekey_timeout;
	uint64_t at[5];
	int i;

	if (due(t->t_retransmit_at, now)) {
		t->t_retransmit_at = WG_TIMERS_NEVER;
		if (t->t_attempts > max_attempts) {
			/* REKEY_ATTEMPT_TIME without an answer: stop trying,
			 * and wipe the keys later unless something revives us. */
			actions |= WG_TIMERS_GIVE_UP;
			t->t_keepalive_at = WG_TIMERS_NEVER;
			if (t->t_zero_keys_at == WG_TIMERS_NEVER)
				t->t_zero_keys_at = now + 3 * cfg->tc_reject_after_time;
		} else {
			t->t_attempts++;
			actions |= WG_TIMERS_SEND_INITIATION;
		}
	}
	if (due(t->t_keepalive_at, now)) {
		t->t_keepalive_at = WG_TIMERS_NEVER;
		actions |= WG_TIMERS_SEND_KEEPALIVE;
		if (t->t_another_keepalive) {
			t->t_another_keepalive = false;
			t->t_keepalive_at = now + cfg->tc_keepalive_timeout;
		}
	}
	if (due(t->t_new_handshake_at, now)) {
		/* We sent data and heard nothing back for too long. */
		t->t_new_handshake_at = WG_TIMERS_NEVER;
		if (wg_timers_want_handshake(t, now))
			actions |= WG_TIMERS_SEND_INITIATION;
	}
	if (due(t->t_zero_keys_at, now)) {
		t->t_zero_keys_at = WG_TIMERS_NEVER;
		actions |= WG_TIMERS_ZERO_KEYS;
	}
	if (due(t->t_persistent_at, now)) {
		t->t_persistent_at = WG_TIMERS_NEVER;
		actions |= WG_TIMERS_SEND_KEEPALIVE;
	}

	at[0] = t->t_retransmit_at;
	at[1] = t->t_keepalive_at;
	at[2] = t->t_new_handshake_at;
	at[3] = t->t_zero_keys_at;
	at[4] = t->t_persistent_at;
	*next = WG_TIMERS_NEVER;
	for (i = 0; i < 5; i++)
		if (at[i] < *next)
			*next = at[i];
	return actions;
}
