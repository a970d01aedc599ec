/* testhooks/discover_hooks.h - a discover fed by hand, in test builds only
 *
 * Defined only where src/discover_linux.c is compiled with
 * GANGWAY_TEST_HOOKS (the Makefile's obj-hooks, linked into the unit tests
 * and fuzzers ahead of the library); the programs in $(BUILD)/ have none.
 */
#ifndef GANGWAY_TESTHOOKS_DISCOVER_HOOKS_H
#define GANGWAY_TESTHOOKS_DISCOVER_HOOKS_H

#include <stddef.h>

#include "discover.h"

/*
 * A discover with an empty model and no sockets (discover_fd() is -1,
 * discover_process() fails with -ENOTCONN), and discover_feed() to apply
 * one datagram of rtnetlink messages to it as if it had come from the
 * event socket: the view is published (fn called if it changed), but no
 * dump is made. Returns 1 when discover_process() would now dump again (a
 * message lost or truncated, a bridge that may hold unseen addresses), 0
 * when not, -EMSGSIZE for more than a datagram. discover_check() verifies
 * the internal state (bounds, every bridge matching, valid and unique
 * addresses, unique ifindexes): 0 or -EUCLEAN.
 */
struct discover *discover_new_detached(const struct config *c, discover_fn fn, void *ctx);
int discover_feed(struct discover *d, const void *buf, size_t len);
int discover_check(const struct discover *d);

#endif
