/* pool.c - share one batch of independent jobs with a few worker threads
 *
 * Theory of operation
 *
 * One 64-bit word says everything about the batch in progress: a
 * generation (32 bits), the number of jobs n and the next unclaimed job
 * (16 bits each). A thread claims jobs i..i+c-1 by a compare-and-swap from
 * (g, n, i) to (g, n, i + c), so a claim can only succeed while its batch
 * is the current one and has jobs left; the batch's function and argument
 * are read after the claim, when the batch cannot end before these jobs
 * do. c is about n / (4 x threads): the word's cache line moves between
 * cores a few times per batch, not once per job. pool_run() publishes a batch with one release store of the word,
 * claims jobs itself like any worker, and returns when the count of
 * finished jobs reaches n.
 *
 * Nobody waits for a thread that is not running: jobs are claimed a few
 * at a time, so a worker the scheduler has not woken claims nothing and
 * the caller does its share. The caller waits only for jobs already
 * claimed.
 *
 * Sleeping: an idle worker spins briefly on the word, then sleeps on a
 * futex (seq) that pool_run() bumps and wakes only when a worker sleeps,
 * so a busy pool costs no system call per batch. The caller, once out of
 * jobs, spins briefly and then sleeps on the count of finished jobs; the
 * worker that finishes the last job wakes it only if it sleeps. Both
 * handshakes rely on sequentially consistent atomics: either the sleeper
 * sees the new value or the waker sees the sleeper.
 *
 * Workers are created with every signal blocked, so signals keep reaching
 * the event loop's signalfd.
 *
 * Where there is no futex (macOS), a wait is a condition variable around
 * the same check: the sleeper looks at the word under a mutex, and the
 * waker, having changed the word, takes that mutex before it broadcasts,
 * so the wake cannot fall between the look and the sleep. Only sleeping
 * and waking take the mutex; a busy pool never does. POOL_CONDVAR builds
 * that way on Linux too, which is how the tests check it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pool.h"

#define POOL_SPIN_WORKER	4096	/* idle polls (about 0.1 ms) before a worker sleeps */
#define POOL_SPIN_CALLER	64	/* polls before the caller sleeps */

#if defined(__APPLE__) && !defined(POOL_CONDVAR)
#define POOL_CONDVAR	1
#endif
#if defined(__linux__) || defined(POOL_CONDVAR)
#include <pthread.h>
#define POOL_THREADS	1
#endif
#if defined(POOL_THREADS) && !defined(POOL_CONDVAR)
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

struct pool_worker {
	struct pool *pool;
	unsigned int id;		/* 1..workers */
#ifdef POOL_THREADS
	pthread_t thread;
#endif
};

struct pool {
	_Atomic uint64_t word;		/* generation << 32 | n << 16 | next */
	_Atomic uint32_t done;		/* jobs of this batch finished */
	_Atomic uint32_t seq;		/* bumped per batch: workers sleep on it */
	_Atomic uint32_t sleepers;	/* workers asleep or about to be */
	_Atomic uint32_t waiting;	/* the caller sleeps on done */
	_Atomic bool stop;
	pool_fn fn;			/* the current batch's */
	void *arg;
	unsigned int workers;
	/* jobs each thread ran, each on its own cache line */
	struct {
		_Atomic unsigned long long n;
		char pad[64 - sizeof(unsigned long long)];
	} ran[POOL_MAX_WORKERS + 1];
	struct pool_worker w[POOL_MAX_WORKERS];
#ifdef POOL_CONDVAR
	pthread_mutex_t lock;		/* only around sleeping and waking */
	pthread_cond_t wake;
#endif
};

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static bool pool_has_work(uint64_t w)
{
	return (w & 0xffff) < ((w >> 16) & 0xffff);
}

/*
 * Jobs per claim: about four claims per thread and batch, so that the word
 * is contended a few times per batch rather than once per job, while the
 * caller waits at most one claim's worth for a slow worker at the end.
 */
static unsigned int pool_chunk(unsigned int n, unsigned int threads)
{
	return (n + 4 * threads - 1) / (4 * threads);
}

/* Claim the next jobs of the current batch: the first index, or -1 if none is left. */
static int pool_claim(struct pool *p, unsigned int *n, unsigned int *count)
{
	uint64_t w = atomic_load(&p->word);

	while (pool_has_work(w)) {
		unsigned int total = (unsigned int)((w >> 16) & 0xffff);
		unsigned int next = (unsigned int)(w & 0xffff);
		unsigned int c = pool_chunk(total, p->workers + 1);

		if (c > total - next)
			c = total - next;
		if (atomic_compare_exchange_weak(&p->word, &w, w + c)) {
			*n = total;
			*count = c;
			return (int)next;
		}
	}
	return -1;
}

#if defined(POOL_CONDVAR)
/* Sleep while *addr is val (spurious wakes are fine: callers look again). */
static void pool_wait(struct pool *p, _Atomic uint32_t *addr, uint32_t val)
{
	pthread_mutex_lock(&p->lock);
	if (atomic_load(addr) == val)
		pthread_cond_wait(&p->wake, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

/* *addr has changed: wake its sleepers (all of them; count is a hint). */
static void pool_wake(struct pool *p, _Atomic uint32_t *addr, int count)
{
	(void)addr;
	(void)count;
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}
#elif defined(POOL_THREADS)
static void pool_wait(struct pool *p, _Atomic uint32_t *addr, uint32_t val)
{
	(void)p;
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void pool_wake(struct pool *p, _Atomic uint32_t *addr, int count)
{
	(void)p;
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
#else
static void pool_wait(struct pool *p, _Atomic uint32_t *addr, uint32_t val)
{
	(void)p;
	(void)addr;
	(void)val;
}

static void pool_wake(struct pool *p, _Atomic uint32_t *addr, int count)
{
	(void)p;
	(void)addr;
	(void)count;
}
#endif

/* Run jobs of the current batch until none is left to claim. */
static void pool_drain(struct pool *p, unsigned int thread)
{
	unsigned int n, c;
	int i;

	while ((i = pool_claim(p, &n, &c)) >= 0) {
		for (unsigned int k = 0; k < c; k++)
			p->fn(p->arg, (unsigned int)i + k, thread);
		/* counted before done, so that pool_run's return sees the count */
		atomic_fetch_add_explicit(&p->ran[thread].n, c, memory_order_relaxed);
		if (atomic_fetch_add(&p->done, c) + c == n && atomic_load(&p->waiting))
			pool_wake(p, &p->done, 1);
	}
}

#ifdef POOL_THREADS
static void *pool_worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct pool *p = w->pool;
	uint32_t s;

	while (!atomic_load(&p->stop)) {
		pool_drain(p, w->id);
		for (int k = 0; k < POOL_SPIN_WORKER && !pool_has_work(atomic_load(&p->word)); k++)
			pool_relax();
		if (pool_has_work(atomic_load(&p->word)))
			continue;
		atomic_fetch_add(&p->sleepers, 1);
		s = atomic_load(&p->seq);
		if (!pool_has_work(atomic_load(&p->word)) && !atomic_load(&p->stop))
			pool_wait(p, &p->seq, s);
		atomic_fetch_sub(&p->sleepers, 1);
	}
	return NULL;
}
#endif

struct pool *pool_new(unsigned int workers)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
#ifdef POOL_CONDVAR
	if (pthread_mutex_init(&p->lock, NULL) || pthread_cond_init(&p->wake, NULL)) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
#endif
#ifdef POOL_THREADS
	sigset_t all, old;
	int err;

	if (workers > POOL_MAX_WORKERS)
		workers = POOL_MAX_WORKERS;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int i = 0; i < workers; i++) {
		p->w[i].pool = p;
		p->w[i].id = i + 1;
		err = pthread_create(&p->w[i].thread, NULL, pool_worker_main, &p->w[i]);
		if (err) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			pool_free(p);
			errno = err;
			return NULL;
		}
		p->workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
#else
	(void)workers;
#endif
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
#ifdef POOL_THREADS
	atomic_store(&p->stop, true);
	atomic_fetch_add(&p->seq, 1);
	pool_wake(p, &p->seq, INT_MAX);
	for (unsigned int i = 0; i < p->workers; i++)
		pthread_join(p->w[i].thread, NULL);
#endif
#ifdef POOL_CONDVAR
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
#endif
	free(p);
}

unsigned int pool_workers(const struct pool *p)
{
	return p ? p->workers : 0;
}

unsigned long long pool_jobs_done(const struct pool *p, unsigned int thread)
{
	if (!p || thread > POOL_MAX_WORKERS)
		return 0;
	return atomic_load_explicit(&p->ran[thread].n, memory_order_relaxed);
}

/**
 * pool_run() - run fn(arg, i, thread) for every i in [0, n)
 * @p:   the pool (NULL: run everything here)
 * @fn:  the job
 * @arg: its argument
 * @n:   number of jobs; more than POOL_MAX_JOBS run on this thread alone
 *
 * Returns when all n jobs have finished; their effects are visible then.
 */
void pool_run(struct pool *p, pool_fn fn, void *arg, unsigned int n)
{
	uint64_t gen;
	uint32_t d;

	if (!n)
		return;
	/* the word has 16 bits for n: a larger batch runs here, whole */
	if (!p || !p->workers || n == 1 || n > POOL_MAX_JOBS) {
		for (unsigned int i = 0; i < n; i++)
			fn(arg, i, 0);
		if (p)
			atomic_fetch_add_explicit(&p->ran[0].n, n, memory_order_relaxed);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store(&p->done, 0);
	gen = (atomic_load(&p->word) >> 32) + 1;
	atomic_store(&p->word, gen << 32 | (uint64_t)n << 16);
	if (atomic_load(&p->sleepers)) {
		atomic_fetch_add(&p->seq, 1);
		pool_wake(p, &p->seq, (int)p->workers);
	}

	pool_drain(p, 0);
	for (int k = 0; atomic_load(&p->done) != n; k++) {
		if (k < POOL_SPIN_CALLER) {
			pool_relax();
			continue;
		}
		atomic_store(&p->waiting, 1);
		d = atomic_load(&p->done);
		if (d != n)
			pool_wait(p, &p->done, d);
		atomic_store(&p->waiting, 0);
	}
}
