/* platform.h - what the tunnel asks of the OS: its device, addresses and routes
 *
 * One implementation per system, each in its own file: platform_linux.c
 * (a TUN device, rtnetlink through netif_linux.c) and platform_macos.c (a utun
 * device, interface ioctls, a PF_ROUTE socket). Everything above this
 * interface is portable C. A platform handle serves one tunnel device:
 * platform_tun_open() binds it to the device it creates, and the calls
 * after it act on that device.
 */
#ifndef GANGWAY_PLATFORM_H
#define GANGWAY_PLATFORM_H

#include <stddef.h>

#include "accept.h"
#include "pktio.h"
#include "prefix.h"

struct platform;

/* Open what the platform needs to configure interfaces; NULL + errno. */
struct platform *platform_open(void);
/* Close it; the device itself goes with its descriptor (pktio_close). */
void platform_close(struct platform *p);

/*
 * Create the tunnel device: io->tun_fd is set, and name (namelen bytes)
 * receives the device's real name. On Linux name may be a name or a
 * template ("gw%d"); macOS names utun devices itself ("utun4"), so there
 * only a name of that form is honoured and any other picks a free unit.
 */
int platform_tun_open(struct platform *p, struct pktio *io, char *name, size_t namelen);
/* The device's interface index, once open (0 before). */
int platform_ifindex(const struct platform *p);
/*
 * Add an address (a keeps its host bits; the prefix length is its subnet,
 * which becomes reachable through the device as on any interface). An
 * address already present is success.
 */
int platform_addr_add(struct platform *p, const struct prefix *a);
/* Set the MTU (0 keeps it) and bring the device up. */
int platform_up(struct platform *p, unsigned int mtu);
/* Add/remove a route for dst through the device; adding one twice is -EEXIST. */
int platform_route_add(struct platform *p, const struct prefix *dst);
int platform_route_del(struct platform *p, const struct prefix *dst);
/*
 * Read what the host routes and which addresses it holds into v (emptied
 * first): every route of every table with its interface, every local
 * address. One read of the system's tables per call. 0 or -errno.
 */
int platform_host_view(struct platform *p, struct accept_host *v);
/*
 * Watch the host's routes and addresses (rtnetlink on Linux, the routing
 * socket on macOS): returns a descriptor that turns readable when they
 * change, closed by platform_close(); -errno where no watch is possible
 * (the caller then polls). platform_watch_drain() reads what is pending:
 * 1 when something changed or notifications were lost, 0 when nothing did.
 */
int platform_watch_open(struct platform *p);
int platform_watch_drain(struct platform *p);

#endif
