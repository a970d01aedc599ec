/* netif.h - configure network interfaces and routes through rtnetlink (libnl) */
#ifndef GANGWAY_NETIF_H
#define GANGWAY_NETIF_H

#include "accept.h"
#include "prefix.h"

struct netif;

/* Open a route socket; NULL on failure (errno set). */
struct netif *netif_open(void);
void netif_close(struct netif *n);

/* ifindex of name, or -ENODEV. */
int netif_index(struct netif *n, const char *name);
/* Set MTU and bring the link up. */
int netif_up(struct netif *n, int ifindex, unsigned int mtu);
/* Add an address (p keeps host bits); -EEXIST is treated as success. */
int netif_addr_add(struct netif *n, int ifindex, const struct prefix *p);
/* Add/remove a route for p through the interface (no gateway). */
int netif_route_add(struct netif *n, int ifindex, const struct prefix *p);
int netif_route_del(struct netif *n, int ifindex, const struct prefix *p);

/*
 * What `ip route get` says of addr (family AF_INET/AF_INET6): the device
 * the kernel would send through, into dev (IF_NAMESIZE; "?" when the
 * route names none). 1 for a local address, 0 for a unicast route,
 * -ENETUNREACH for any other route type, -errno (the kernel's) otherwise.
 */
int netif_route_get(struct netif *n, int family, const void *addr, char *dev, size_t devlen);

/*
 * Read the host's routes (every table and family) and local addresses into
 * v, which is emptied first: one dump of each. 0 or -errno (-E2BIG: more
 * than the snapshot holds).
 */
int netif_host_view(struct netif *n, struct accept_host *v);

/*
 * A non-blocking rtnetlink socket in the IPv4/IPv6 route and address groups
 * (its descriptor, or -errno); netif_watch_drain() empties it and returns 1
 * when anything arrived or was lost (ENOBUFS), 0 when nothing did, -errno.
 */
int netif_watch_open(void);
int netif_watch_drain(int fd);

#endif
