/* WireGuard's timer rules (whitepaper section 6, the timers of
 * wireguard-linux) as a pure state machine. The caller reports events with
 * the current monotonic time in nanoseconds; wg_timers_poll() says which
 * actions are due and when it must be called next. Nothing here sleeps,
 * sends or reads a clock.
 *
 * Events to report, per peer:
 *   wg_timers_data_sent            a non-empty transport packet was sent
 *   wg_timers_data_received        a non-empty transport packet was accepted
 *   wg_timers_packet_sent          any authenticated packet was sent
 *                                  (data, keepalive, handshake message)
 *   wg_timers_packet_received      any authenticated packet was accepted
 *   wg_timers_handshake_initiated  an initiation was just sent
 *   wg_timers_handshake_complete   a response was consumed, or the first
 *                                  packet on a responder's new keypair came
 *   wg_timers_session_derived      a new keypair was derived
 * Report wg_timers_handshake_initiated() whenever an initiation was due and
 * built, even if sending it failed (no endpoint yet): it re-arms the retries.
 * Before sending an initiation for any other reason (WG_KEYPAIR_F_REKEY, data
 * queued without a keypair), ask wg_timers_want_handshake(), which rate-limits
 * initiations to one per REKEY_TIMEOUT. */
#ifndef RAY_WG_TIMERS_H
#define RAY_WG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

/* Protocol limits. Tests shorten them to force a rekey; production uses
 * wg_timer_config_default(). Times in nanoseconds. */
struct wg_timer_config {
	uint64_t tc_rekey_after_time;
	uint64_t tc_reject_after_time;
	uint64_t tc_rekey_attempt_time;
	uint64_t tc_rekey_timeout;
	uint64_t tc_keepalive_timeout;
	uint64_t tc_rekey_after_messages;
	uint64_t tc_reject_after_messages;
	uint64_t tc_persistent_keepalive; /* 0: off */
};

/* The whitepaper's values; persistent keepalive off. */
void wg_timer_config_default(struct wg_timer_config *cfg);
extern const struct wg_timer_config wg_timer_config_defaults;

/* Actions returned by wg_timers_poll(), OR-ed together. */
enum wg_timers_action {
	WG_TIMERS_SEND_INITIATION = 1 << 0, /* create and send an initiation now */
	WG_TIMERS_SEND_KEEPALIVE = 1 << 1,  /* send an empty transport packet */
	WG_TIMERS_GIVE_UP = 1 << 2,	    /* handshake failed: drop queued packets */
	WG_TIMERS_ZERO_KEYS = 1 << 3,	    /* wipe handshake and all keypairs */
};

#define WG_TIMERS_NEVER UINT64_MAX

struct wg_timers {
	const struct wg_timer_config *t_cfg;
	uint64_t t_retransmit_at;    /* resend the initiation if no response */
	uint64_t t_keepalive_at;     /* answer received data with a keepalive */
	uint64_t t_new_handshake_at; /* sent data, heard nothing back */
	uint64_t t_zero_keys_at;
	uint64_t t_persistent_at;
	uint64_t t_last_initiation; /* when the last initiation was sent */
	bool t_initiated;	    /* t_last_initiation is meaningful */
	bool t_another_keepalive;   /* data came while a keepalive was pending */
	uint32_t t_attempts;	    /* retransmissions of the current handshake */
};

/* CFG must outlive T; NULL means wg_timer_config_defaults. */
void wg_timers_init(struct wg_timers *t, const struct wg_timer_config *cfg);

/* JITTER is any caller-supplied random value; it picks 0-333 ms. */
void wg_timers_data_sent(struct wg_timers *t, uint64_t now, uint32_t jitter);
void wg_timers_data_received(struct wg_timers *t, uint64_t now);
void wg_timers_packet_sent(struct wg_timers *t, uint64_t now);
void wg_timers_packet_received(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint32_t jitter);
void wg_timers_handshake_complete(struct wg_timers *t, uint64_t now);
void wg_timers_session_derived(struct wg_timers *t, uint64_t now);

/* A handshake is wanted (rekey, data without a keypair): true if an
 * initiation may be sent now, i.e. none went out in the last REKEY_TIMEOUT.
 * Starts a new series of attempts. */
bool wg_timers_want_handshake(struct wg_timers *t, uint64_t now);

/* Fire every timer due at NOW; returns the wg_timers_action bits to carry
 * out, and sets *NEXT to the time of the next deadline (WG_TIMERS_NEVER if
 * none). After SEND_INITIATION the caller reports
 * wg_timers_handshake_initiated(); after ZERO_KEYS it wipes the keys. */
unsigned int wg_timers_poll(struct wg_timers *t, uint64_t now, uint64_t *next);

/* Disarm everything (peer removed or keys zeroed). */
void wg_timers_stop(struct wg_timers *t);

#endif
