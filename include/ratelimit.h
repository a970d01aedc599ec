/* ratelimit.h - a token bucket: at most rate events a second, bursts of burst */
#ifndef GANGWAY_RATELIMIT_H
#define GANGWAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t cost_ns;	/* one event's worth of time */
	uint64_t cap_ns;	/* burst events' worth */
	uint64_t credit_ns;
	uint64_t last_ns;
	bool limiting;		/* the last event was refused */
	/*
	 * Set by the first refusal, cleared once the bucket is full again (the
	 * sender kept below the rate for a whole burst's time): one flood, one
	 * episode, however often single events slip through in between.
	 */
	bool flooding;
};

/* rate events a second (at least 1), burst (at least 1) at once; starts full. */
void ratelimit_init(struct ratelimit *r, uint32_t rate, uint32_t burst, uint64_t now_ns);
/* May one more event happen at now_ns (a monotonic clock)? Spends a token if so. */
bool ratelimit_allow(struct ratelimit *r, uint64_t now_ns);

#endif
