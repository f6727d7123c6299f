/* A reliable, message-oriented channel to one peer, carried in control
 * frames (control/frame.h). Pure code: no sockets, no threads, no clock.
 * The caller passes the monotonic time in nanoseconds to every call, feeds
 * received control frames to ctl_channel_receive(), and arms one timer for
 * the deadline ctl_channel_poll() returns.
 *
 * Sending: a message (at most CTL_CHANNEL_MAX_MSG bytes) is copied, given
 * the next id, cut into fragments that fit cc_max_frame, and sent as the
 * window of cc_window unacknowledged fragments allows, oldest message first.
 * A fragment is retransmitted when its timer expires, or at once when the
 * peer has seen a frame sent three or more frames after it (fast
 * retransmit). Every frame sent carries a new sequence number and each ACK
 * echoes the highest one received, so an RTT sample always measures one
 * known frame; samples of resent frames are not taken (Karn). The timeout
 * comes from an RFC 6298 estimator (SRTT/RTTVAR, clamped to cc_rto_min ..
 * cc_rto_max) and doubles each time a fragment's timer expires while no
 * ACK progress is made at all, up to 8x (and cc_rto_max). The
 * message is done when every fragment is acknowledged: cc_done(id, 0).
 * It fails with cc_done(id, -ETIMEDOUT), and is freed, when a fragment's
 * timer expires after cc_max_retries retransmissions, or when cc_msg_timeout
 * passed since it was queued with no acknowledgement progress on the whole
 * channel (a dead peer). A busy but live channel does not time out messages
 * that wait for their turn.
 *
 * Receiving: fragments are reassembled in memory bounded by cc_rx_budget
 * (payload, bitmap and bookkeeping counted) and cc_rx_max_msgs; a fragment
 * of a message that does not fit is dropped unacknowledged, so the sender
 * retries later. Messages are delivered whole and exactly once each, as soon
 * as they are complete: NOT in id order (callers that need order, none so
 * far, carry it in the body). Partial reassemblies idle for cc_rx_timeout
 * (longer than any sender would retry) are discarded.
 *
 * ACKs are coalesced: sent when cc_ack_every DATA frames have arrived since
 * the last ACK, or cc_ack_delay after the first of them (the deadline is
 * part of ctl_channel_poll's answer); cc_ack_delay = 0 acks every frame at
 * once. An ACK carries the cumulative id plus ranges of received fragments
 * of the messages touched since the last ACK.
 *
 * Restarts: each channel instance picks a random epoch carried in DATA; the
 * receiver resets its receive state when the epoch changes and ignores the
 * few epochs it saw before, so the channel survives a peer restart without
 * the caller doing anything.
 *
 * Sending and receiving can create new deadlines: call ctl_channel_poll()
 * after them (and whenever the timer fires) and re-arm the timer with its
 * answer.
 *
 * Callbacks run inside ctl_channel_send/receive/poll. deliver and done may
 * call ctl_channel_send() (e.g. to answer a request) but must not call
 * ctl_channel_receive/poll/free; send must not call into the channel at
 * all. A send callback that fails is treated as a lost frame.
 */
#ifndef RAY_CONTROL_RELIABLE_H
#define RAY_CONTROL_RELIABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_CHANNEL_MAX_MSG   (1u << 20)
#define CTL_CHANNEL_MIN_FRAME 64
#define CTL_CHANNEL_ID_WINDOW 1024 /* message ids in flight, either way */

/* Send one frame (the channel keeps ownership of FRAME). */
typedef int (*ctl_channel_send_fn)(void *user, const uint8_t *frame, size_t len);
/* A whole message arrived; MSG lives until the callback returns. */
typedef void (*ctl_channel_deliver_fn)(void *user, uint64_t now, uint32_t msg_id,
				       const uint8_t *msg, size_t len);
/* A message we sent is acknowledged (STATUS 0) or failed (-ETIMEDOUT). */
typedef void (*ctl_channel_done_fn)(void *user, uint32_t msg_id, int status);

struct ctl_channel_config {
	size_t cc_max_frame;	     /* bytes per frame, CTL_CHANNEL_MIN_FRAME..65535 (1420) */
	uint32_t cc_window;	     /* unacknowledged fragments in flight, <= 4096 (64) */
	uint32_t cc_max_retries;     /* retransmissions of one fragment, <= 254 (16) */
	uint64_t cc_msg_timeout;     /* ns without progress before a message fails (10 s) */
	uint64_t cc_rto_initial;     /* ns, before the first RTT sample (1 s) */
	uint64_t cc_rto_min;	     /* ns (200 ms) */
	uint64_t cc_rto_max;	     /* ns (5 s) */
	uint64_t cc_ack_delay;	     /* ns an ACK may wait for company (2 ms) */
	uint32_t cc_ack_every;	     /* DATA frames that force an ACK at once (8) */
	size_t cc_tx_budget;	     /* bytes of queued outgoing messages (4 MiB) */
	uint32_t cc_tx_max_msgs;     /* queued outgoing messages, <= ID_WINDOW (256) */
	size_t cc_rx_budget;	     /* bytes of reassembly state (2 MiB + 64 KiB) */
	uint32_t cc_rx_max_msgs;     /* messages being reassembled at once (64) */
	uint64_t cc_rx_timeout;	     /* ns an idle partial message is kept (60 s) */
	ctl_channel_done_fn cc_done; /* optional */
};

struct ctl_channel_stats {
	uint64_t cs_srtt;      /* ns; 0 before the first sample */
	uint64_t cs_rttvar;    /* ns */
	uint64_t cs_rto;       /* ns, current base retransmission timeout */
	uint64_t cs_msgs_sent; /* accepted by ctl_channel_send */
	uint64_t cs_msgs_acked;
	uint64_t cs_msgs_failed;
	uint64_t cs_msgs_delivered;
	uint64_t cs_frames_sent; /* DATA frames, first transmissions */
	uint64_t cs_frames_retransmitted;
	uint64_t cs_acks_sent;
	uint64_t cs_frames_received;
	uint64_t cs_frames_duplicate;
	uint64_t cs_frames_dropped; /* malformed, stale, out of window, over budget */
	uint32_t cs_tx_msgs;	    /* queued, not yet acknowledged */
	size_t cs_tx_bytes;	    /* their cost against cc_tx_budget */
	uint32_t cs_in_flight;	    /* fragments sent, not yet acknowledged */
	uint32_t cs_rx_msgs;	    /* partial messages held */
	size_t cs_rx_bytes;	    /* their cost against cc_rx_budget */
};

struct ctl_channel;

/* Fill CFG with the defaults shown above. */
void ctl_channel_config_default(struct ctl_channel_config *cfg);

/* New channel (CFG copied; NULL for defaults). SEND and DELIVER are required;
 * USER is passed to every callback. Returns NULL with errno EINVAL (bad
 * config) or ENOMEM. */
struct ctl_channel *ctl_channel_new(const struct ctl_channel_config *cfg, ctl_channel_send_fn send,
				    ctl_channel_deliver_fn deliver, void *user);

/* Free CH and everything queued, without callbacks. */
void ctl_channel_free(struct ctl_channel *ch);

/* Queue a copy of MSG and send what the window allows; *MSG_ID (optional)
 * gets its id. Returns 0, -EMSGSIZE (over CTL_CHANNEL_MAX_MSG), -ENOBUFS
 * (queue, id window or budget full: retry after some are acknowledged) or
 * -ENOMEM. */
int ctl_channel_send(struct ctl_channel *ch, uint64_t now, const void *msg, size_t len,
		     uint32_t *msg_id);

/* Consume one received control frame. Returns 0 when it was used (a
 * duplicate counts), or why it was dropped: -EBADMSG/-EPROTONOSUPPORT
 * (malformed), -ESTALE (old epoch), -ERANGE (outside the id window),
 * -EMSGSIZE (message too large), -ENOBUFS (reassembly budget full). */
int ctl_channel_receive(struct ctl_channel *ch, uint64_t now, const uint8_t *frame, size_t len);

/* Run timers due at NOW: delayed ACK, retransmissions, failures, stale
 * reassemblies. Returns the absolute time of the next deadline, or
 * UINT64_MAX when nothing is pending. Calling it early is harmless. */
uint64_t ctl_channel_poll(struct ctl_channel *ch, uint64_t now);

void ctl_channel_stats(const struct ctl_channel *ch, struct ctl_channel_stats *st);

#endif
