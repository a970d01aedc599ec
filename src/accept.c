/* accept.c - the host agent's accept policy: may a guest's prefix be routed?
 *
 * Theory of operation: a guest speaks for the networks behind it, nothing
 * more. What it advertises must lie inside the ranges its peer may
 * advertise (AcceptPrefixes, by default the private ranges), and the
 * prefix the host would route must take nothing the host already reaches
 * another way. "Take" is overlap in either direction: a /32 inside the LAN
 * would steal one LAN address, a /8 around the LAN would hide it from
 * anyone who adds a more specific route later, and both shadow the LAN's
 * router and the host itself. So the rules, in order: the default route is
 * never learnt; outside AcceptPrefixes is NOT_ALLOWED; a host route in any
 * table (policy tables such as a VPN's included) that is not through
 * gangway's device, or a local address, makes it SHADOWED; the tunnel's
 * own Address subnets and another peer's configured AllowedIPs or accepted
 * prefixes make it a CONFLICT. A default route does not count: every
 * private prefix lies inside it. Nor do the two halves of one (0.0.0.0/1
 * and 128.0.0.0/1, ::/1 and 8000::/1), which is how VPN clients such as
 * OpenVPN's redirect-gateway def1 take all traffic without replacing the
 * default route; counting them would refuse every guest while such a VPN
 * is up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>

#include "accept.h"

/* Routes this short are default routes or their halves: they do not count. */
#define ACCEPT_DEFAULT_LEN	1

int accept_host_add_route(struct accept_host *h, const struct prefix *dst, int ifindex,
			  uint32_t table)
{
	if (h->n_routes == h->cap_routes) {
		size_t cap = h->cap_routes ? h->cap_routes * 2 : 64;
		struct accept_route *v;

		if (h->n_routes >= ACCEPT_MAX_ROUTES)
			return -E2BIG;
		if (cap > ACCEPT_MAX_ROUTES)
			cap = ACCEPT_MAX_ROUTES;
		v = realloc(h->routes, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->routes = v;
		h->cap_routes = cap;
	}
	h->routes[h->n_routes++] = (struct accept_route){ .dst = *dst, .ifindex = ifindex,
							  .table = table };
	return 0;
}

int accept_host_add_addr(struct accept_host *h, int family, const void *addr)
{
	struct prefix *a;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (h->n_addrs == h->cap_addrs) {
		size_t cap = h->cap_addrs ? h->cap_addrs * 2 : 16;
		struct prefix *v;

		if (h->n_addrs >= ACCEPT_MAX_ADDRS)
			return -E2BIG;
		if (cap > ACCEPT_MAX_ADDRS)
			cap = ACCEPT_MAX_ADDRS;
		v = realloc(h->addrs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->addrs = v;
		h->cap_addrs = cap;
	}
	a = &h->addrs[h->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->len = (uint8_t)(prefix_addr_len(family) * 8);
	memcpy(a->addr.b, addr, prefix_addr_len(family));
	return 0;
}

void accept_host_clear(struct accept_host *h)
{
	h->n_routes = 0;
	h->n_addrs = 0;
}

void accept_host_free(struct accept_host *h)
{
	free(h->routes);
	free(h->addrs);
	memset(h, 0, sizeof(*h));
}

static bool accept_inside(const struct config_peer *cp, const struct prefix *p)
{
	if (!cp || !cp->has_accept_prefixes)
		return prefix_is_private(p);
	for (size_t i = 0; i < cp->accept_prefixes.n; i++)
		if (prefix_contains(&cp->accept_prefixes.v[i], p))
			return true;
	return false;
}

/*
 * The rules a prefix and a DNS address share (an address is a full-length
 * prefix, for which overlapping is lying inside): true when p hits one,
 * with why filled.
 */
static bool accept_hits_route(const struct accept_host *host, const struct accept_claims *c,
			      const struct prefix *p, struct accept_why *why)
{
	for (size_t i = 0; i < host->n_routes; i++) {
		const struct accept_route *r = &host->routes[i];

		if (r->dst.len <= ACCEPT_DEFAULT_LEN || r->ifindex == c->own_ifindex ||
		    !prefix_overlaps(&r->dst, p))
			continue;
		why->what = ACCEPT_ROUTE;
		why->hit = r->dst;
		why->ifindex = r->ifindex;
		why->table = r->table;
		return true;
	}
	return false;
}

static bool accept_hits_local(const struct accept_host *host, const struct prefix *p,
			      struct accept_why *why)
{
	for (size_t i = 0; i < host->n_addrs; i++) {
		if (!prefix_contains(p, &host->addrs[i]))
			continue;
		why->what = ACCEPT_LOCAL;
		why->hit = host->addrs[i];
		return true;
	}
	return false;
}

/* A peer's AllowedIPs of 0.0.0.0/0 is no claim on each prefix. */
static bool accept_hits_peer(const struct accept_claims *c, const struct prefix *p,
			     struct accept_why *why)
{
	for (size_t i = 0; i < c->n_others; i++) {
		if (c->others[i].len == 0 || !prefix_overlaps(&c->others[i], p))
			continue;
		why->what = ACCEPT_PEER;
		why->hit = c->others[i];
		return true;
	}
	return false;
}

enum ctlmsg_status accept_judge(const struct accept_host *host, const struct accept_claims *c,
				const struct config_peer *cp, const struct prefix *adv,
				const struct prefix *route, struct accept_why *why)
{
	memset(why, 0, sizeof(*why));
	if (adv->len == 0 || route->len == 0) {
		why->what = ACCEPT_DEFAULT;
		return CTLMSG_ST_NOT_ALLOWED;
	}
	if (!accept_inside(cp, adv)) {
		why->what = ACCEPT_OUTSIDE;
		why->hit = *adv;
		return CTLMSG_ST_NOT_ALLOWED;
	}
	if (accept_hits_route(host, c, route, why) || accept_hits_local(host, route, why))
		return CTLMSG_ST_SHADOWED;
	for (size_t i = 0; c->tunnel_addrs && i < c->tunnel_addrs->n; i++) {
		struct prefix net = c->tunnel_addrs->v[i];

		prefix_mask(&net);
		if (!prefix_overlaps(&net, route))
			continue;
		why->what = ACCEPT_TUNNEL;
		why->hit = net;
		return CTLMSG_ST_CONFLICT;
	}
	if (accept_hits_peer(c, route, why))
		return CTLMSG_ST_CONFLICT;
	why->what = ACCEPT_OK;
	return CTLMSG_ST_INSTALLED;
}

/* Addresses no DNS server of a guest has: unspecified, loopback, multicast, link-local. */
static bool accept_unicast(const struct prefix *a)
{
	const uint8_t *b = a->addr.b;
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return b[0] != 0 && b[0] != 127 && b[0] < 224 && !(b[0] == 169 && b[1] == 254);
	if (a->family != AF_INET6)
		return false;
	if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1))
		return false;		/* :: and ::1 */
	return b[0] != 0xff && !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

enum accept_what accept_dns(const struct accept_host *host, const struct accept_claims *c,
			    const struct config_peer *cp, const struct prefix *addr,
			    struct accept_why *why)
{
	bool own = false;

	memset(why, 0, sizeof(*why));
	why->hit = *addr;
	if (addr->len != prefix_addr_len(addr->family) * 8 || !accept_unicast(addr))
		return why->what = ACCEPT_NOT_UNICAST;
	for (size_t i = 0; cp && i < cp->allowed_ips.n && !own; i++)
		own = prefix_contains(&cp->allowed_ips.v[i], addr);
	if (!own)
		return why->what = ACCEPT_NOT_OWN;
	/* Local first: the host's own address is also on a connected route. */
	if (accept_hits_local(host, addr, why) || accept_hits_route(host, c, addr, why) ||
	    accept_hits_peer(c, addr, why))
		return why->what;
	return why->what = ACCEPT_OK;
}

bool accept_dns_domain(const char *own, const char *announced)
{
	return strcmp(own, announced) == 0;
}

const char *accept_why_format(const struct accept_why *why, char *buf, size_t size)
{
	char hit[PREFIX_STRLEN], dev[IF_NAMESIZE];

	prefix_format(&why->hit, hit, sizeof(hit));
	switch (why->what) {
	case ACCEPT_OK:
		snprintf(buf, size, "accepted");
		break;
	case ACCEPT_DEFAULT:
		snprintf(buf, size, "a default route is never learnt");
		break;
	case ACCEPT_OUTSIDE:
		snprintf(buf, size, "outside the peer's AcceptPrefixes");
		break;
	case ACCEPT_ROUTE:
		if (why->ifindex <= 0 || !if_indextoname((unsigned int)why->ifindex, dev))
			snprintf(dev, sizeof(dev), "%d", why->ifindex);
		snprintf(buf, size, "overlaps the host's route %s dev %s table %u", hit, dev,
			 why->table);
		break;
	case ACCEPT_LOCAL:
		snprintf(buf, size, "holds the host's address %s", hit);
		break;
	case ACCEPT_TUNNEL:
		snprintf(buf, size, "overlaps the tunnel's own subnet %s", hit);
		break;
	case ACCEPT_PEER:
		snprintf(buf, size, "overlaps %s, which another peer holds", hit);
		break;
	case ACCEPT_NOT_OWN:
		snprintf(buf, size, "%s is outside the peer's AllowedIPs", hit);
		break;
	case ACCEPT_NOT_UNICAST:
		snprintf(buf, size, "%s is not a unicast address", hit);
		break;
	case ACCEPT_DOMAIN:
		snprintf(buf, size, "not the host's domain");
		break;
	case ACCEPT_NO_ROOM:
		snprintf(buf, size, "its remap to %s does not fit in the acknowledgement "
			 "(%d bytes; fewer remapped IPv6 prefixes per guest)", hit, CTLMSG_MAX_LEN);
		break;
	}
	return buf;
}

bool accept_reported_has(const struct accept_reported *r, const struct prefix *p,
			 uint8_t status)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->status[i] == status && prefix_equal(&r->p[i], p))
			return true;
	return false;
}

bool accept_reported_add(struct accept_reported *r, const struct prefix *p, uint8_t status)
{
	if (r->n >= CTLMSG_MAX_PREFIXES)
		return false;
	r->p[r->n] = *p;
	r->status[r->n++] = status;
	return true;
}
