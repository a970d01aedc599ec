/* resolver.h - while the host agent runs, the host resolves the names' domain through the tunnel */
#ifndef GANGWAY_RESOLVER_H
#define GANGWAY_RESOLVER_H

#include <stddef.h>

#include "config.h"
#include "prefix.h"

struct resolver;

/*
 * Send queries for c->domain to the guest's DNS server at its tunnel
 * addresses (dns, n of them) over interface ifname: systemd-resolved's
 * per-link DNS and routing domain on Linux, /etc/resolver/<domain> on
 * macOS. Where neither can be done, logs exactly what to configure and
 * returns NULL; never fatal.
 */
struct resolver *resolver_start(const struct config *c, const char *ifname,
				const struct prefix *dns, size_t n);
/* One line for gangway status: "*.<domain> -> <address> (<how>)". */
const char *resolver_describe(const struct resolver *r);
/* Undo what resolver_start did; NULL is fine. */
void resolver_stop(struct resolver *r);

/*
 * The guest's DNS addresses as the host knows them: the single-address
 * entries (/32, /128) of the first peer's AllowedIPs that has any, the
 * guest's tunnel addresses. At most max; returns how many.
 */
size_t resolver_guest_dns(const struct config *c, struct prefix *out, size_t max);

/* For the platforms' resolver_describe: "*.<domain> -> <dns[0]> (how)". */
void resolver_set_desc(char *buf, size_t size, const struct config *c, const struct prefix *dns,
		       const char *how);

#endif
