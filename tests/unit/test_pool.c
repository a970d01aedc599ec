/* test_pool.c - the batch pool: every job once, on a valid thread, effects visible */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pool.h"
#include "testutil.h"

#define JOBS	4096

struct batch {
	unsigned int workers;
	uint32_t round;
	_Atomic unsigned int runs[JOBS];	/* how often each job ran */
	uint64_t out[JOBS];			/* written by the job, plainly */
	_Atomic unsigned int bad_thread;
	unsigned int spin;			/* busy work per job */
};

static void job(void *arg, unsigned int i, unsigned int thread)
{
	struct batch *b = arg;
	volatile uint64_t x = i;

	if (thread > b->workers)
		atomic_fetch_add(&b->bad_thread, 1);
	for (unsigned int k = 0; k < b->spin; k++)
		x = x * 6364136223846793005ULL + 1;
	atomic_fetch_add(&b->runs[i], 1);
	b->out[i] = (uint64_t)b->round << 32 | i;
}

/* Many batches of many sizes: each job exactly once, its write seen on return. */
static void run_batches(unsigned int workers, unsigned int spin)
{
	static struct batch b;
	struct pool *p = pool_new(workers);
	unsigned long long before = 0, after = 0, jobs = 0;

	assert_non_null(p);
	assert_int_equal(pool_workers(p), workers);
	memset(&b, 0, sizeof(b));
	b.workers = workers;
	b.spin = spin;
	for (unsigned int t = 0; t <= POOL_MAX_WORKERS; t++)
		before += pool_jobs_done(p, t);
	assert_int_equal(before, 0);
	for (uint32_t r = 1; r <= 3000; r++) {
		unsigned int n = r % 7 == 0 ? JOBS : 1 + (unsigned int)(rng() % 200);

		b.round = r;
		for (unsigned int i = 0; i < n; i++)
			atomic_store(&b.runs[i], 0);
		pool_run(p, job, &b, n);
		jobs += n;
		for (unsigned int i = 0; i < n; i++) {
			if (atomic_load(&b.runs[i]) != 1)
				fail_msg("round %u: job %u of %u ran %u times", r, i, n,
					 atomic_load(&b.runs[i]));
			if (b.out[i] != ((uint64_t)r << 32 | i))
				fail_msg("round %u: job %u's result not visible", r, i);
		}
	}
	assert_int_equal(atomic_load(&b.bad_thread), 0);
	for (unsigned int t = 0; t <= POOL_MAX_WORKERS; t++) {
		if (t > workers)
			assert_int_equal(pool_jobs_done(p, t), 0);
		after += pool_jobs_done(p, t);
	}
	assert_int_equal(after, jobs);
	pool_free(p);
}

static void test_no_workers(void **state)
{
	(void)state;
	run_batches(0, 0);
}

static void test_one_worker(void **state)
{
	(void)state;
	run_batches(1, 0);
	run_batches(1, 200);
}

static void test_three_workers(void **state)
{
	(void)state;
	run_batches(3, 0);
	run_batches(3, 200);
}

/* With jobs long enough, a worker gets some of them (it is awake and idle). */
static void test_workers_share(void **state)
{
	static struct batch b;
	struct pool *p = pool_new(1);
	unsigned long long w = 0;

	(void)state;
	assert_non_null(p);
	memset(&b, 0, sizeof(b));
	b.workers = 1;
	b.spin = 20000;
	for (uint32_t r = 1; r <= 200 && !w; r++) {
		b.round = r;
		pool_run(p, job, &b, 64);
		w = pool_jobs_done(p, 1);
	}
	assert_true(w > 0);
	pool_free(p);
}

/* More workers than allowed are clamped; NULL pools run everything in place. */
static void test_limits(void **state)
{
	static struct batch b;
	struct pool *p = pool_new(POOL_MAX_WORKERS + 5);

	(void)state;
	assert_non_null(p);
	assert_int_equal(pool_workers(p), POOL_MAX_WORKERS);
	pool_free(p);
	pool_free(NULL);
	assert_int_equal(pool_workers(NULL), 0);
	memset(&b, 0, sizeof(b));
	b.round = 1;
	pool_run(NULL, job, &b, 10);
	for (unsigned int i = 0; i < 10; i++)
		assert_int_equal(atomic_load(&b.runs[i]), 1);
	pool_run(NULL, job, &b, 0);
	assert_int_equal(atomic_load(&b.runs[0]), 1);
	/* a pool started and stopped without ever running a batch */
	p = pool_new(2);
	assert_non_null(p);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_workers),
		cmocka_unit_test(test_one_worker),
		cmocka_unit_test(test_three_workers),
		cmocka_unit_test(test_workers_share),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
