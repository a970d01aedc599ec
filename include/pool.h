/* pool.h - share one batch of independent jobs with a few worker threads
 *
 * The event-loop thread calls pool_run() with n jobs; it and the pool's
 * workers claim jobs a few at a time until none is left, and pool_run()
 * returns when every job has finished. The caller never waits for a worker
 * that has not been scheduled: whatever no worker claimed, the caller runs
 * itself. It does wait for jobs a worker has claimed and not finished.
 *
 * fn(arg, i, thread) runs once for each i in [0, n); thread is 0 on the
 * calling thread and 1..workers on the workers, so that per-thread state
 * (the engine's AEAD contexts) can be indexed by it. Jobs must not touch
 * each other's data. pool_run() is called from one thread only.
 *
 * Workers exist on Linux only (they sleep on a futex); elsewhere, and with
 * workers = 0, pool_run() runs every job on the calling thread.
 */
#ifndef GANGWAY_POOL_H
#define GANGWAY_POOL_H

#define POOL_MAX_WORKERS	3
#define POOL_MAX_JOBS		65535

struct pool;

typedef void (*pool_fn)(void *arg, unsigned int i, unsigned int thread);

/* NULL with errno set on failure; workers is clamped to POOL_MAX_WORKERS. */
struct pool *pool_new(unsigned int workers);
/* Stops and joins the workers. NULL is fine. */
void pool_free(struct pool *p);
unsigned int pool_workers(const struct pool *p);
/* More than POOL_MAX_JOBS jobs run on the calling thread alone. */
void pool_run(struct pool *p, pool_fn fn, void *arg, unsigned int n);

/* Jobs each thread ran since pool_new (index 0: the caller), for status and tests. */
unsigned long long pool_jobs_done(const struct pool *p, unsigned int thread);

#endif
