/* replay.h - RFC 6479 sliding window against replayed transport counters */
#ifndef GANGWAY_REPLAY_H
#define GANGWAY_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_WINDOW_BITS	8192	/* as the kernel's implementation */
#define REPLAY_WORD_BITS	64
#define REPLAY_WORDS		(REPLAY_WINDOW_BITS / REPLAY_WORD_BITS)
/*
 * A counter up to REPLAY_WINDOW_SIZE below the greatest one accepted is
 * still accepted once; older ones are refused. One word of the ring is
 * slack for the block being filled, as in the kernel.
 */
#define REPLAY_WINDOW_SIZE	(REPLAY_WINDOW_BITS - REPLAY_WORD_BITS)
/* Reject-After-Messages: 2^64 - 2^13 - 1 (whitepaper 6.1) */
#define REPLAY_REJECT_AFTER_MESSAGES	(UINT64_MAX - (1ULL << 13))

struct replay_window {
	uint64_t top;		/* greatest counter accepted + 1, 0 = none yet */
	uint64_t bits[REPLAY_WORDS];
};

void replay_init(struct replay_window *w);
/*
 * Before decryption: false if the counter is too old, already seen, or at
 * or beyond Reject-After-Messages. Does not change the window.
 */
bool replay_check(const struct replay_window *w, uint64_t counter);
/*
 * After the tag verified: check again and mark the counter seen. Returns
 * false (and changes nothing) if it was a replay after all.
 */
bool replay_update(struct replay_window *w, uint64_t counter);

#endif
