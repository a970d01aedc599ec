/* resolver.h - while the host agent runs, the host resolves the names' domain through the tunnel */
#ifndef GANGWAY_RESOLVER_H
#define GANGWAY_RESOLVER_H

#include <stddef.h>

#include "config.h"
#include "prefix.h"

struct resolver;

/*
 * Get ready to send queries for c->domain over interface ifname:
 * systemd-resolved's per-link DNS and routing domain on Linux (its bus is
 * opened now, while the agent still holds its privileges),
 * /etc/resolver/<domain> on macOS. Nothing is changed on the host until
 * resolver_set. NULL only when out of memory or without the interface
 * (logged); never fatal.
 */
struct resolver *resolver_start(const struct config *c, const char *ifname);
/*
 * Send the domain to the guest's DNS server at dns (n addresses, full
 * length), replacing what was set; n == 0 undoes it. Where it cannot be
 * done, logs exactly what to configure instead. NULL r is fine.
 */
void resolver_set(struct resolver *r, const struct prefix *dns, size_t n);
/* One line for gangway status: "*.<domain> -> <address> (<how>)"; NULL when unset. */
const char *resolver_describe(const struct resolver *r);
/* Undo what resolver_set did; NULL is fine. */
void resolver_stop(struct resolver *r);

/*
 * A guest's DNS addresses as the host's configuration knows them: the
 * single-address entries (/32, /128) of its AllowedIPs, the first max of
 * them, into out. Returns how many.
 */
size_t resolver_peer_dns(const struct config_peer *cp, struct prefix *out, size_t max);

/* For the platforms' resolver_describe: "*.<domain> -> <dns[0]> (how)". */
void resolver_set_desc(char *buf, size_t size, const char *domain, const struct prefix *dns,
		       const char *how);

#endif
