/*
 * test_pool_condvar.c - test_pool's checks against the pool as macOS builds
 * it: sleeping and waking on a condition variable instead of a futex. The
 * pool's source is compiled in here with POOL_CONDVAR, so its functions
 * are these, not the library's.
 */
#define POOL_CONDVAR 1
#include "../../src/pool.c"
#include "test_pool.c"
