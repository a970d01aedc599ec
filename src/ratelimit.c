/* ratelimit.c - a token bucket: at most rate events a second, bursts of burst
 *
 * Credit is kept in nanoseconds of earned time, so the bucket refills
 * exactly with the clock and needs no division on the hot side. A clock
 * that goes backwards earns nothing.
 */
#include "ratelimit.h"

#define RATELIMIT_NSEC	1000000000ULL

void ratelimit_init(struct ratelimit *r, uint32_t rate, uint32_t burst, uint64_t now_ns)
{
	r->cost_ns = RATELIMIT_NSEC / (rate ? rate : 1);
	r->cap_ns = r->cost_ns * (burst ? burst : 1);
	r->credit_ns = r->cap_ns;
	r->last_ns = now_ns;
	r->limiting = false;
	r->flooding = false;
}

bool ratelimit_allow(struct ratelimit *r, uint64_t now_ns)
{
	if (now_ns > r->last_ns) {
		uint64_t earned = now_ns - r->last_ns;

		r->credit_ns = earned >= r->cap_ns - r->credit_ns ? r->cap_ns
								    : r->credit_ns + earned;
	}
	r->last_ns = now_ns > r->last_ns ? now_ns : r->last_ns;
	if (r->credit_ns == r->cap_ns)
		r->flooding = false;
	r->limiting = r->credit_ns < r->cost_ns;
	if (r->limiting) {
		r->flooding = true;
		return false;
	}
	r->credit_ns -= r->cost_ns;
	return true;
}
