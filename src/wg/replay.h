/* Sliding-window replay protection for transport counters, the bitmap
 * algorithm of RFC 6479: a ring of words, of which all but one are the window
 * behind the greatest counter seen, so advancing the window clears whole words
 * and never shifts bits. */
#ifndef RAY_WG_REPLAY_H
#define RAY_WG_REPLAY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define WG_REPLAY_BITS_PER_WORD (sizeof(unsigned long) * CHAR_BIT)
#define WG_REPLAY_BITS_TOTAL	16384 /* a power of two */
#define WG_REPLAY_WORDS		(WG_REPLAY_BITS_TOTAL / WG_REPLAY_BITS_PER_WORD)
/* Counters this far behind the greatest one seen are still accepted. */
#define WG_REPLAY_WINDOW (WG_REPLAY_BITS_TOTAL - WG_REPLAY_BITS_PER_WORD)

struct wg_replay {
	uint64_t rp_next;			  /* greatest counter seen + 1; 0: none yet */
	unsigned long rp_bitmap[WG_REPLAY_WORDS]; /* bit c % BITS_TOTAL: counter c seen */
};

void wg_replay_init(struct wg_replay *rp);

/* Accept COUNTER once: true if it is new, inside the window and below
 * WG_REJECT_AFTER_MESSAGES, and then marks it seen. Call only after the packet
 * carrying it has been authenticated, or a forger could move the window. */
bool wg_replay_check(struct wg_replay *rp, uint64_t counter);

#endif
