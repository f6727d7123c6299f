#include "wg/replay.h"

#include <string.h>

#include "wg/messages.h"

void wg_replay_init(struct wg_replay *rp)
{
	memset(rp, 0, sizeof(*rp));
}

bool wg_replay_check(struct wg_replay *rp, uint64_t counter)
{
	uint64_t word, top, last_word, n, i;
	unsigned long bit;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return false;
	/* Too old: more than the window behind the greatest counter seen. */
	if (rp->rp_next > WG_REPLAY_WINDOW && counter < rp->rp_next - 1 - WG_REPLAY_WINDOW)
		return false;

	word = counter / WG_REPLAY_BITS_PER_WORD;
	if (counter >= rp->rp_next) {
		/* Advance: clear the words between the old top and the new one,
		 * at most the whole ring. */
		last_word = rp->rp_next ? (rp->rp_next - 1) / WG_REPLAY_BITS_PER_WORD : 0;
		top = rp->rp_next ? word - last_word : word + 1;
		n = top < WG_REPLAY_WORDS ? top : WG_REPLAY_WORDS;
		for (i = 0; i < n; i++)
			rp->rp_bitmap[(word - i) % WG_REPLAY_WORDS] = 0;
		rp->rp_next = counter + 1;
	}

	bit = 1UL << (counter % WG_REPLAY_BITS_PER_WORD);
	word %= WG_REPLAY_WORDS;
	if (rp->rp_bitmap[word] & bit)
		return false;
	rp->rp_bitmap[word] |= bit;
	return true;
}
