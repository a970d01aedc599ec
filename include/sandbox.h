/* sandbox.h - shed the privileges a running daemon no longer needs */
#ifndef GANGWAY_SANDBOX_H
#define GANGWAY_SANDBOX_H

#include <stdint.h>

/* Capabilities a caller may keep (Linux's CAP_NET_ADMIN, CAP_NET_RAW). */
#define SANDBOX_NET_ADMIN	(1u << 0)
#define SANDBOX_NET_RAW		(1u << 1)
#define SANDBOX_NET_BIND_SERVICE (1u << 2)	/* gangwayd with names: DNS on port 53 */

/*
 * Set no_new_privs and reduce the capability sets (effective, permitted,
 * inheritable, ambient and, where allowed, bounding) to KEEP, a mask of
 * SANDBOX_*. Returns 0 or -errno; a no-op where there are no capabilities.
 */
int sandbox_enter(uint32_t keep);

#endif
