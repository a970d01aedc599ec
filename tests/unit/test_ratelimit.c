/* test_ratelimit.c - the token bucket behind the host's control-message limit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

#define MS	1000000ULL
#define SEC	(1000 * MS)

static unsigned int allowed(struct ratelimit *r, uint64_t now, unsigned int tries)
{
	unsigned int n = 0;

	while (tries--)
		n += ratelimit_allow(r, now);
	return n;
}

static void test_burst_then_rate(void **state)
{
	struct ratelimit r;
	uint64_t t = 5 * SEC;

	(void)state;
	ratelimit_init(&r, 4, 16, t);
	assert_int_equal(allowed(&r, t, 100), 16);	/* a full bucket, then nothing */
	assert_true(r.limiting);
	assert_false(ratelimit_allow(&r, t + 249 * MS));
	assert_true(ratelimit_allow(&r, t + 250 * MS));	/* one every 250 ms */
	assert_false(r.limiting);
	assert_false(ratelimit_allow(&r, t + 251 * MS));
	/* a steady 4 a second passes, 8 a second is halved */
	t += 250 * MS;
	for (int i = 1; i <= 40; i++)
		assert_true(ratelimit_allow(&r, t + (uint64_t)i * 250 * MS));
	t += 40 * 250 * MS;
	{
		unsigned int n = 0;

		for (int i = 1; i <= 80; i++)
			n += ratelimit_allow(&r, t + (uint64_t)i * 125 * MS);
		assert_int_equal(n, 40);
	}
}

static void test_idle_refills_to_burst_only(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 4, 16, 0);
	assert_int_equal(allowed(&r, 0, 16), 16);
	/* an hour idle earns a burst, not 14400 messages */
	assert_int_equal(allowed(&r, 3600 * SEC, 100), 16);
}

static void test_clock_backwards(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 1, 1, 10 * SEC);
	assert_true(ratelimit_allow(&r, 10 * SEC));
	assert_false(ratelimit_allow(&r, 1 * SEC));	/* earns nothing */
	assert_false(ratelimit_allow(&r, 10 * SEC + 999 * MS));
	assert_true(ratelimit_allow(&r, 11 * SEC));
}

/* A flood is one episode until the sender stays below the rate for a burst. */
static void test_flood_episode(void **state)
{
	struct ratelimit r;
	uint64_t t = 0;

	(void)state;
	ratelimit_init(&r, 4, 4, t);
	assert_int_equal(allowed(&r, t, 4), 4);
	assert_false(r.flooding);
	assert_false(ratelimit_allow(&r, t));
	assert_true(r.flooding);
	/* events slip through every 250 ms: still the same flood */
	for (int i = 1; i <= 20; i++) {
		assert_true(ratelimit_allow(&r, t + (uint64_t)i * 250 * MS));
		assert_true(r.flooding);
		assert_false(ratelimit_allow(&r, t + (uint64_t)i * 250 * MS + 1));
	}
	t += 20 * 250 * MS + 1;
	/* quiet for less than a burst's time (1 s): still flooding */
	assert_true(ratelimit_allow(&r, t + 900 * MS));
	assert_true(r.flooding);
	/* quiet until the bucket is full again: over */
	t += 900 * MS;
	assert_true(ratelimit_allow(&r, t + SEC));
	assert_false(r.flooding);
}

static void test_zero_parameters(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 0, 0, 0);	/* taken as 1 a second, burst 1 */
	assert_true(ratelimit_allow(&r, 0));
	assert_false(ratelimit_allow(&r, 0));
	assert_true(ratelimit_allow(&r, SEC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_idle_refills_to_burst_only),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_flood_episode),
		cmocka_unit_test(test_zero_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
