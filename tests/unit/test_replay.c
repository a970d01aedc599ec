/* test_replay.c - the anti-replay window against a plain reference model */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "replay.h"
#include "testutil.h"

#define REJECT	REPLAY_REJECT_AFTER_MESSAGES
#define WSIZE	((uint64_t)REPLAY_WINDOW_SIZE)

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

/* update(c) must give want, and must agree with the check before it. */
static void want_update(struct replay_window *w, uint64_t c, bool want)
{
	bool pre = replay_check(w, c);
	bool got = replay_update(w, c);

	if (pre != want || got != want)
		fail_msg("counter %llu: check %d update %d, want %d",
			 (unsigned long long)c, pre, got, want);
}

static void want_check(const struct replay_window *w, uint64_t c, bool want)
{
	if (replay_check(w, c) != want)
		fail_msg("check %llu: want %d", (unsigned long long)c, want);
}

static void test_window_size_contract(void **state)
{
	(void)state;
	/* At least as wide as the kernel's, which is 8192 - 64. */
	assert_true(REPLAY_WINDOW_SIZE >= 8192 - 64);
	assert_true(REPLAY_WINDOW_SIZE < REPLAY_WINDOW_BITS);
	assert_int_equal(REPLAY_WORDS * REPLAY_WORD_BITS, REPLAY_WINDOW_BITS);
	assert_true(REJECT == 0xffffffffffffffffULL - 8192);
}

static void test_in_order(void **state)
{
	struct replay_window w;
	uint64_t c;

	(void)state;
	replay_init(&w);
	for (c = 0; c < 50000; c++) {
		want_update(&w, c, true);
		assert_true(w.top == c + 1);
		want_check(&w, c, false);
		want_check(&w, c + 1, true);
	}
	/* Nothing that was accepted can come back. */
	for (c = 50000 - WSIZE - 10; c < 50000; c++)
		want_update(&w, c, false);
}

static void test_counter_zero_first(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	assert_true(w.top == 0);
	want_check(&w, 0, true);
	want_update(&w, 0, true);
	assert_true(w.top == 1);
	want_update(&w, 0, false);
	want_update(&w, 1, true);
	want_update(&w, 0, false);

	/* A first counter above zero leaves the older ones usable. */
	replay_init(&w);
	want_update(&w, 5000, true);
	want_update(&w, 0, true);
	want_update(&w, 0, false);
	want_update(&w, 4999, true);

	/* ... unless it is further than the window. */
	replay_init(&w);
	want_update(&w, WSIZE + 1, true);
	want_update(&w, 0, false);
	want_update(&w, 1, true);
}

static void test_out_of_order(void **state)
{
	static uint64_t order[REPLAY_WINDOW_SIZE];
	struct replay_window w;
	uint64_t base = 1000003, i, j, t;

	(void)state;
	/* The greatest first, then every counter of the window, shuffled. */
	rng_seed(7);
	for (i = 0; i < WSIZE; i++)
		order[i] = base + i;
	for (i = WSIZE - 1; i > 0; i--) {
		j = rng_below(i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	replay_init(&w);
	want_update(&w, base + WSIZE, true);
	for (i = 0; i < WSIZE; i++)
		want_update(&w, order[i], true);
	for (i = 0; i <= WSIZE; i++)
		want_update(&w, base + i, false);
	want_update(&w, base - 1, false);

	/* Interleaved: even counters ahead, odd ones filled in late. */
	replay_init(&w);
	for (i = 0; i < 4000; i += 2)
		want_update(&w, i, true);
	for (i = 1; i < 4000; i += 2)
		want_update(&w, i, true);
	for (i = 0; i < 4000; i++)
		want_update(&w, i, false);
}

static void test_duplicates(void **state)
{
	struct replay_window w;
	uint64_t c;

	(void)state;
	replay_init(&w);
	want_update(&w, 10, true);
	want_update(&w, 10, false);		/* right after */
	want_update(&w, 7, true);
	want_update(&w, 7, false);
	for (c = 11; c < 7 + WSIZE; c++)
		want_update(&w, c, true);
	/* much later, still inside the window: remembered */
	want_update(&w, 10, false);
	want_update(&w, 7, false);
	want_update(&w, 8, true);
	want_update(&w, 6, true);	/* exactly WINDOW_SIZE old */
	want_update(&w, 5, false);	/* one more: too old */
	/* later still, past the window: refused as too old */
	for (; c < 10 + 3 * WSIZE; c++)
		if (c != 10 + 2 * WSIZE - 1)
			want_update(&w, c, true);
	want_update(&w, 10, false);
	want_update(&w, 9, false);
	want_update(&w, c - 1, false);
	want_update(&w, c - 2, false);
	/* the one counter left out, now at the very edge */
	want_update(&w, c - 1 - WSIZE, true);
	want_update(&w, c - 1 - WSIZE, false);
	want_update(&w, c - 2 - WSIZE, false);
}

/*
 * The boundary: with G the greatest accepted counter, G - WINDOW_SIZE is
 * the oldest accepted, G - WINDOW_SIZE - 1 the newest refused, whatever
 * G's position inside its 64-bit block.
 */
static void test_window_edge(void **state)
{
	static const uint64_t offsets[] = { 0, 1, 2, 31, 62, 63 };
	struct replay_window w;
	size_t i;
	uint64_t g, c;

	(void)state;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		g = 64 * 1000 + offsets[i];
		/* g first, then everything below it, newest first */
		replay_init(&w);
		want_update(&w, g, true);
		for (c = g - 1; c >= g - 2 * REPLAY_WINDOW_BITS; c--)
			want_update(&w, c, c + WSIZE >= g);
		replay_init(&w);
		want_update(&w, g, true);
		want_check(&w, g - WSIZE - 1, false);
		want_check(&w, g - WSIZE, true);
		want_check(&w, g - WSIZE + 1, true);
		want_check(&w, g - REPLAY_WINDOW_BITS - 1, false);
		want_check(&w, g - REPLAY_WINDOW_BITS, false);
		want_check(&w, g - REPLAY_WINDOW_BITS + 1, false);
		want_check(&w, g - REPLAY_WINDOW_BITS + 63, false);
		/* the whole window is usable once, no more, no less */
		for (c = g - WSIZE - 70; c < g; c++)
			want_update(&w, c, c + WSIZE >= g);
		for (c = g - WSIZE - 70; c <= g; c++)
			want_update(&w, c, false);
		/* sliding by one moves the edge by one */
		want_update(&w, g + 1, true);
		want_check(&w, g + 1 - WSIZE, false);	/* seen */
		want_check(&w, g - WSIZE, false);	/* now too old */
	}
}

/* Blocks reused by the ring come back empty. */
static void test_ring_reuse(void **state)
{
	struct replay_window w;
	uint64_t c, lap;

	(void)state;
	replay_init(&w);
	for (lap = 0; lap < 5; lap++)
		for (c = 0; c < REPLAY_WINDOW_BITS; c++)
			want_update(&w, lap * REPLAY_WINDOW_BITS + c, true);

	/* Jump exactly one ring ahead of a full window, then fill below. */
	replay_init(&w);
	for (c = 0; c < REPLAY_WINDOW_BITS; c++)
		want_update(&w, c, true);
	want_update(&w, 2 * REPLAY_WINDOW_BITS - 1, true);
	for (c = REPLAY_WINDOW_BITS - 1 + 64; c < 2 * REPLAY_WINDOW_BITS - 1;
	     c++)
		want_update(&w, c, true);
	for (c = 0; c < REPLAY_WINDOW_BITS + 64; c++)
		want_check(&w, c, false);
}

static void test_big_jumps(void **state)
{
	static const uint64_t jumps[] = {
		1, 63, 64, 65, 8127, 8128, 8129, 8191, 8192, 8193, 8192 * 2,
		8192 * 2 + 1, 1000000, 1ULL << 32, 1ULL << 62,
	};
	struct replay_window w;
	uint64_t c, g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		replay_init(&w);
		/* fill the whole window, then leap */
		for (c = 100; c < 100 + REPLAY_WINDOW_BITS; c++)
			want_update(&w, c, true);
		g = c - 1 + jumps[i];
		want_update(&w, g, true);
		want_update(&w, g, false);
		/* every not yet seen counter inside the new window is free */
		for (c = g > WSIZE ? g - WSIZE : 0; c < g; c++)
			want_update(&w, c, c >= 100 + REPLAY_WINDOW_BITS);
		if (g - WSIZE - 1 >= 100)
			want_check(&w, g - WSIZE - 1, false);
	}

	/* From the bottom of the range to just below the limit. */
	replay_init(&w);
	want_update(&w, 0, true);
	want_update(&w, REJECT - 1, true);
	want_update(&w, 0, false);
	want_update(&w, REJECT - 2, true);
	want_update(&w, REJECT - 1 - WSIZE, true);
	want_update(&w, REJECT - 2 - WSIZE, false);
}

static void test_limit(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	want_check(&w, REJECT, false);
	want_check(&w, UINT64_MAX, false);
	want_update(&w, REJECT, false);
	want_update(&w, REJECT + 1, false);
	want_update(&w, UINT64_MAX, false);
	assert_true(w.top == 0);

	want_update(&w, REJECT - 1, true);
	assert_true(w.top == REJECT);
	want_update(&w, REJECT - 1, false);
	want_update(&w, REJECT, false);
	want_update(&w, UINT64_MAX, false);
	want_update(&w, REJECT - 3, true);
	want_update(&w, REJECT - 2, true);
	want_update(&w, REJECT - 2, false);
}

static void test_check_does_not_mark(void **state)
{
	struct replay_window w, copy;
	uint64_t c;
	int k;

	(void)state;
	replay_init(&w);
	want_update(&w, 20000, true);
	memcpy(&copy, &w, sizeof(w));
	for (k = 0; k < 3; k++)
		for (c = 10000; c < 30000; c += 7)
			replay_check(&w, c);
	assert_memory_equal(&copy, &w, sizeof(w));
	/* every probed counter is still available, once */
	want_update(&w, 19999, true);
	want_update(&w, 19999, false);
	want_update(&w, 29999, true);
	want_update(&w, 29999, false);

	/* A refused update leaves the window exactly as it was. */
	memcpy(&copy, &w, sizeof(w));
	replay_update(&w, 29999);
	replay_update(&w, 19999);
	replay_update(&w, 10);
	replay_update(&w, REJECT);
	assert_memory_equal(&copy, &w, sizeof(w));
}

/*
 * The reference: a bitmap of every counter ever accepted in
 * [base, base + span) plus the greatest, and the rule stated in replay.h.
 */
struct model {
	uint64_t base, span;
	uint8_t *seen;
	bool any;
	uint64_t greatest;
};

static bool model_check(const struct model *m, uint64_t c)
{
	uint64_t i = c - m->base;

	if (c >= REJECT)
		return false;
	if (!m->any || c > m->greatest)
		return true;
	if (m->greatest - c > WSIZE)
		return false;
	return !(m->seen[i / 8] & (1u << (i % 8)));
}

static void model_mark(struct model *m, uint64_t c)
{
	uint64_t i = c - m->base;

	m->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	if (!m->any || c > m->greatest)
		m->greatest = c;
	m->any = true;
}

/* A counter near the action: in order, late, at the edge, or far ahead. */
static uint64_t pick_counter(const struct model *m, const uint64_t *recent,
			     size_t nrecent)
{
	uint64_t g = m->any ? m->greatest : m->base + m->span / 2;
	uint64_t r = rng_below(10000), c;

	if (r < 4000)
		c = g + 1 + rng_below(4);
	else if (r < 6500)
		c = g - rng_below(WSIZE + 300);
	else if (r < 7500)
		c = g - WSIZE - 3 + rng_below(7);
	else if (r < 8500 && nrecent)
		c = recent[rng_below(nrecent)];
	else if (r < 9500)
		c = g - rng_below(64);
	else if (r < 9600)
		c = g + rng_below(2 * REPLAY_WINDOW_BITS + 130);
	else if (r < 9605)
		c = g + rng_below(1u << 17);
	else
		c = g + rng_below(3);

	/* Keep inside the reference's bitmap (which may mean wrapping). */
	if (c < m->base || c - m->base >= m->span)
		c = g;
	return c;
}

/* Returns the reference's final greatest counter. */
static uint64_t run_model(uint64_t seed, uint64_t base, uint64_t span,
			  unsigned long ops, unsigned long min_accepted)
{
	struct replay_window *w, *copy;
	struct model m = { .base = base, .span = span };
	uint64_t recent[64] = { 0 };
	size_t nrecent = 0, rpos = 0;
	unsigned long i, accepted = 0, refused = 0, checks = 0, resets = 0;
	uint64_t greatest;

	w = malloc(sizeof(*w));
	copy = malloc(sizeof(*copy));
	m.seen = calloc(span / 8, 1);
	assert_non_null(w);
	assert_non_null(copy);
	assert_non_null(m.seen);
	rng_seed(seed);
	replay_init(w);

	for (i = 0; i < ops; i++) {
		uint64_t c = pick_counter(&m, recent, nrecent);
		bool want = model_check(&m, c);

		if (m.any && m.greatest - m.base > span - span / 8) {
			/* The reference ran out of room: start over. */
			memset(m.seen, 0, span / 8);
			m.any = false;
			replay_init(w);
			resets++;
			continue;
		}
		if (rng_below(4) == 0) {
			memcpy(copy, w, sizeof(*w));
			if (replay_check(w, c) != want)
				fail_msg("op %lu: check %llu want %d", i,
					 (unsigned long long)c, want);
			if (memcmp(copy, w, sizeof(*w)))
				fail_msg("op %lu: check changed the window", i);
			checks++;
			continue;
		}
		if (replay_check(w, c) != want || replay_update(w, c) != want)
			fail_msg("op %lu: update %llu want %d", i,
				 (unsigned long long)c, want);
		if (want) {
			model_mark(&m, c);
			recent[rpos++ % 64] = c;
			if (nrecent < 64)
				nrecent++;
			accepted++;
		} else {
			refused++;
		}
		assert_true(w->top == m.greatest + 1);
	}
	print_message("%lu ops: %lu accepted, %lu refused, %lu checks, "
		      "%lu restarts\n", ops, accepted, refused, checks, resets);
	/* The mix must exercise both outcomes a lot. */
	assert_true(accepted >= min_accepted);
	assert_true(refused > ops / 10);
	assert_true(checks > ops / 10);
	assert_true(resets < 5);
	greatest = m.greatest;
	free(m.seen);
	free(copy);
	free(w);
	return greatest;
}

static void test_model_low(void **state)
{
	(void)state;
	run_model(0x5eed1234ULL, 0, 1ULL << 28, 1000000, 1000000 / 5);
}

static void test_model_near_limit(void **state)
{
	uint64_t g;

	(void)state;
	/*
	 * Straddles Reject-After-Messages: the top gets pinned at the last
	 * usable counter and the window fills up completely.
	 */
	g = run_model(0xfeedfaceULL, REJECT - (1ULL << 20), 1ULL << 21,
		      1000000, WSIZE);
	assert_true(g == REJECT - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_size_contract),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_counter_zero_first),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_ring_reuse),
		cmocka_unit_test(test_big_jumps),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_check_does_not_mark),
		cmocka_unit_test(test_model_low),
		cmocka_unit_test(test_model_near_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
