/* accept.h - the host agent's accept policy: may a guest's prefix be routed?
 *
 * A pure judgement over a snapshot of the host (its routes in every table
 * and its local addresses, read by the platform) and the tunnel's own
 * claims (its Address subnets, the other peers' configured AllowedIPs and
 * accepted prefixes). host.c reads the snapshot once per decision round and
 * asks accept_judge() about each prefix; nothing here touches the system,
 * so the rules are unit-tested as they are.
 */
#ifndef GANGWAY_ACCEPT_H
#define GANGWAY_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ctlmsg.h"
#include "prefix.h"

/* Routes a snapshot holds at most: beyond that it is refused as a whole. */
#define ACCEPT_MAX_ROUTES	65536
#define ACCEPT_MAX_ADDRS	4096

struct accept_route {
	struct prefix dst;
	int ifindex;		/* first next hop's interface; 0 = none (blackhole...) */
	uint32_t table;
};

/* What the host routes and which addresses it holds, at one moment. */
struct accept_host {
	struct accept_route *routes;
	size_t n_routes, cap_routes;
	struct prefix *addrs;		/* full length: one address each */
	size_t n_addrs, cap_addrs;
};

/* Append to a snapshot; -E2BIG beyond the limits, -ENOMEM. */
int accept_host_add_route(struct accept_host *h, const struct prefix *dst, int ifindex,
			  uint32_t table);
int accept_host_add_addr(struct accept_host *h, int family, const void *addr);
/* Empty it, keeping the storage; accept_host_free releases it. */
void accept_host_clear(struct accept_host *h);
void accept_host_free(struct accept_host *h);

/* What else the tunnel claims, besides the guest being judged. */
struct accept_claims {
	int own_ifindex;			/* gangway's device: its routes are ours */
	const struct config_prefixes *tunnel_addrs;	/* Address = (host bits kept) */
	const struct prefix *others;		/* other peers: AllowedIPs and accepted */
	size_t n_others;
};

enum accept_what {
	ACCEPT_OK = 0,
	ACCEPT_OUTSIDE,		/* not inside the peer's AcceptPrefixes */
	ACCEPT_DEFAULT,		/* a default route (length 0) */
	ACCEPT_ROUTE,		/* overlaps a host route not through our device */
	ACCEPT_LOCAL,		/* holds a local address of the host */
	ACCEPT_TUNNEL,		/* overlaps the tunnel's own Address subnets */
	ACCEPT_PEER,		/* overlaps another peer's AllowedIPs or accepted prefix */
	ACCEPT_NOT_OWN,		/* a DNS address outside the peer's configured AllowedIPs */
	ACCEPT_NOT_UNICAST,	/* a DNS address no server can have (loopback, multicast...) */
	ACCEPT_DOMAIN,		/* a domain other than the host's Domain */
	ACCEPT_NO_ROOM,		/* its remap does not fit in the one ACK message */
};

/* Why a prefix was refused: the rule, and the route/address/claim it hit. */
struct accept_why {
	enum accept_what what;
	struct prefix hit;
	int ifindex;		/* ACCEPT_ROUTE: the route's interface */
	uint32_t table;		/* ACCEPT_ROUTE: its table */
};

/*
 * May a guest that advertised adv have it routed as route (adv itself, or
 * its configured Remap target)? adv must lie inside the peer's
 * AcceptPrefixes (cp; NULL or unset: the private ranges), whatever its
 * AllowedIPs say; route must not overlap, in either direction, any host
 * route outside our device in any table (the default route excepted), any
 * local address, the tunnel's Address subnets or another peer's claim.
 * Returns the ACK status (INSTALLED when all rules pass) and fills why.
 */
enum ctlmsg_status accept_judge(const struct accept_host *host, const struct accept_claims *c,
				const struct config_peer *cp, const struct prefix *adv,
				const struct prefix *route, struct accept_why *why);

/*
 * May the host's resolver send the names' domain to addr, which the guest
 * cp announced as its DNS server? Only the guest's own tunnel address
 * qualifies: a unicast address inside the peer's configured AllowedIPs
 * (never a prefix it merely advertised) that is none of the host's local
 * addresses, that no host route outside our device covers (the default
 * route excepted: a LAN, a VPN, the host's own networks) and that no other
 * peer claims. So a guest can point the host's resolver at itself and
 * nowhere else. Returns ACCEPT_OK or the rule it broke, and fills why.
 */
enum accept_what accept_dns(const struct accept_host *host, const struct accept_claims *c,
			    const struct config_peer *cp, const struct prefix *addr,
			    struct accept_why *why);
/* Is the domain a guest announced the host's own (its Domain, lower case)? */
bool accept_dns_domain(const char *own, const char *announced);

/* One line of text for why (a log message's tail); returns buf. */
const char *accept_why_format(const struct accept_why *why, char *buf, size_t size);

/*
 * Refusals already reported, so a guest that repeats its set (every second
 * until acknowledged, every 30 s after) is logged once per change.
 */
struct accept_reported {
	struct prefix p[CTLMSG_MAX_PREFIXES];
	uint8_t status[CTLMSG_MAX_PREFIXES];
	size_t n;
};

/* Was (p, status) in the previous set? */
bool accept_reported_has(const struct accept_reported *r, const struct prefix *p,
			 uint8_t status);
/* Add (p, status) to r; false when r is full. */
bool accept_reported_add(struct accept_reported *r, const struct prefix *p, uint8_t status);

#endif
