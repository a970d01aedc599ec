/* replay.c - RFC 6479 sliding window against replayed transport counters */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "replay.h"

/*
 * Theory of operation (RFC 6479): bit (c % 64) of word (c / 64) % WORDS
 * records counter c. The words form a ring; the word holding the greatest
 * accepted counter (top - 1) is the newest block, the WORDS - 1 words
 * after it in the ring are the older blocks. When a counter beyond the
 * newest block arrives, the blocks it skips over are cleared (never more
 * than the whole ring) and it becomes the newest; no bit ever moves.
 *
 * Because the newest block may have only its first bit in use, a fixed
 * age limit must stay inside the WORDS - 1 older blocks: a counter is
 * accepted when top - 1 - counter <= REPLAY_WINDOW_SIZE (8128), which is
 * exactly the kernel's rule. Counter top - 1 - 8128 then always lies in
 * the oldest live block, never in a recycled one.
 */

static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0,
	      "the ring index is a mask");
static_assert(REPLAY_WORD_BITS == 64, "one uint64_t per block");
static_assert(REPLAY_WINDOW_SIZE < REPLAY_WINDOW_BITS, "ring has slack");

#define REPLAY_BLOCK_SHIFT	6	/* log2(REPLAY_WORD_BITS) */

static inline uint64_t replay_block(uint64_t counter)
{
	return counter >> REPLAY_BLOCK_SHIFT;
}

static inline size_t replay_index(uint64_t block)
{
	return (size_t)(block & (REPLAY_WORDS - 1));
}

static inline uint64_t replay_bit(uint64_t counter)
{
	return 1ULL << (counter & (REPLAY_WORD_BITS - 1));
}

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check(const struct replay_window *w, uint64_t counter)
{
	if (counter >= REPLAY_REJECT_AFTER_MESSAGES)
		return false;
	if (counter >= w->top)
		return true;
	/* counter < top here, so top - 1 does not underflow. */
	if (w->top - 1 - counter > REPLAY_WINDOW_SIZE)
		return false;
	return !(w->bits[replay_index(replay_block(counter))] &
		 replay_bit(counter));
}

bool replay_update(struct replay_window *w, uint64_t counter)
{
	if (!replay_check(w, counter))
		return false;

	if (counter >= w->top) {
		/*
		 * Clear every block after the newest one up to and including
		 * the counter's. With no counter yet (top == 0) the ring is
		 * still all zero from replay_init() and nothing needs clearing.
		 */
		if (w->top) {
			uint64_t cur = replay_block(w->top - 1);
			uint64_t n = replay_block(counter) - cur;
			uint64_t i;

			if (n > REPLAY_WORDS)
				n = REPLAY_WORDS;
			for (i = 1; i <= n; i++)
				w->bits[replay_index(cur + i)] = 0;
		}
		/* counter < REJECT_AFTER_MESSAGES < UINT64_MAX: no overflow */
		w->top = counter + 1;
	}
	w->bits[replay_index(replay_block(counter))] |= replay_bit(counter);
	return true;
}
