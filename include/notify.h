/* notify.h - the service manager's readiness and watchdog protocol (sd_notify) */
#ifndef GANGWAY_NOTIFY_H
#define GANGWAY_NOTIFY_H

#include <stdint.h>

/*
 * Send STATE ("READY=1", "WATCHDOG=1", "STOPPING=1", ...) to the socket
 * named by $NOTIFY_SOCKET. Returns 1 if sent, 0 if no manager listens
 * (the variable is unset), or -errno.
 */
int notify_send(const char *state);
/*
 * The watchdog interval the manager asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours) in nanoseconds, or 0 for none.
 */
uint64_t notify_watchdog_ns(void);

#endif
