/* testhooks/wg_hooks.h - the engine's test hook, in test builds only
 *
 * Defined only where src/wg.c is compiled with GANGWAY_TEST_HOOKS (the
 * Makefile's obj-hooks, linked into the unit tests and fuzzers ahead of
 * the library); the programs in $(BUILD)/ have none.
 */
#ifndef GANGWAY_TESTHOOKS_WG_HOOKS_H
#define GANGWAY_TESTHOOKS_WG_HOOKS_H

#include <stdint.h>

#include "wg.h"

/*
 * Set the current session's send counter (to exercise
 * Rekey/Reject-After-Messages). -ENOENT without one.
 */
int wg_peer_test_set_send_counter(struct wg_peer *peer, uint64_t counter);

#endif
