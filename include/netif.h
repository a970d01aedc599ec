/* netif.h - configure network interfaces and routes through rtnetlink (libnl) */
#ifndef GANGWAY_NETIF_H
#define GANGWAY_NETIF_H

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
 * Find a route in the main table, not through exclude_ifindex, that lies
 * inside p or equals it (a LAN or VPN route that p would shadow). Returns 1
 * and fills found, 0 when there is none, or -errno.
 */
int netif_route_conflict(struct netif *n, const struct prefix *p, int exclude_ifindex,
			 struct prefix *found, char *found_dev, size_t devlen);

#endif
