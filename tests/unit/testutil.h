/* testutil.h - what several unit tests share: random numbers, a reference checksum */
#ifndef GANGWAY_TESTUTIL_H
#define GANGWAY_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: small, seedable, the same everywhere. Each test has its own. */
static uint64_t rng_state = 1;

static inline void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/*
 * RFC 1071 done the slow, obvious way, independent of csum.c: big-endian
 * 16-bit words into a 32-bit accumulator (an odd last byte is the high
 * half of a word), carries folded at the end.
 */
static inline uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
