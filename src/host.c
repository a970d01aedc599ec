/* host.c - the host agent's control plane: accept advertised prefixes, route them
 *
 * Theory of operation: each guest sends the whole set of its container
 * prefixes (ctlmsg ADVERTISE) through its authenticated session. For every
 * prefix the agent decides: accepted (inside the private ranges, or in that
 * guest's configured AllowedIPs) and not claimed by another guest, it joins
 * the guest's allowed IPs (so cryptokey routing stays exact) and gets a
 * route through the tunnel device; otherwise it is refused with a reason
 * the guest logs. Prefixes missing from a newer set are withdrawn: route
 * and allowed IP removed, unless the configuration lists them statically.
 * The answer (ACK) echoes the set with a status per prefix.
 *
 * The configuration may remap a guest prefix (Remap = 172.17.0.0/16=
 * 10.217.0.0/16): the host then routes and allows the host-side prefix,
 * and the ACK tells the guest, which translates destinations 1:1. Two VMs
 * with the same container network are both reachable this way.
 *
 * A prefix that a more specific route of the host already covers (a LAN, a
 * VPN) is not installed: it is reported as shadowed, and left to the user
 * (who can remap it). A guest that goes silent keeps its routes for
 * WithdrawAfter seconds, so a VM restart does not make routes flap; after
 * that they are withdrawn until it advertises again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "ctlmsg.h"
#include "ctlsock.h"
#include "host.h"
#include "log.h"
#include "loop.h"

/* A tick this late (it should come every second) follows a sleep. */
#define HOST_SLEPT_NS	(5 * WG_NSEC)

struct host_guest {
	struct wg_peer *peer;
	struct prefix accepted[CTLMSG_MAX_PREFIXES];
	size_t n_accepted;
	bool seen;
	uint32_t seq;
	uint64_t last_adv_ns;
	uint64_t withdrawn_ns;		/* when silence withdrew its routes, or 0 */
	struct prefix ctl;		/* where its control messages come from */
	struct prefix refused[CTLMSG_MAX_PREFIXES];	/* for status: last advert's refusals */
	uint8_t refused_st[CTLMSG_MAX_PREFIXES];
	size_t n_refused;
};

struct host {
	struct tunnel *t;
	uint64_t last_tick_ns;		/* when the once-a-second tick last ran */
	bool warned_v6;			/* about IPv6 routes with no IPv6 Address */
	struct host_guest guests[CONFIG_MAX_PEERS];
	size_t n_guests;
};

static struct host_guest *host_guest_of(struct host *h, struct wg_peer *peer, bool create)
{
	for (size_t i = 0; i < h->n_guests; i++)
		if (h->guests[i].peer == peer)
			return &h->guests[i];
	if (!create || h->n_guests >= CONFIG_MAX_PEERS)
		return NULL;
	memset(&h->guests[h->n_guests], 0, sizeof(h->guests[0]));
	h->guests[h->n_guests].peer = peer;
	return &h->guests[h->n_guests++];
}

static const struct config_peer *host_config_peer(const struct host *h, struct wg_peer *peer)
{
	uint8_t pub[WG_KEY_LEN];

	wg_peer_public_key(peer, pub);
	for (size_t i = 0; i < h->t->cfg.n_peers; i++)
		if (!memcmp(h->t->cfg.peers[i].public_key, pub, WG_KEY_LEN))
			return &h->t->cfg.peers[i];
	return NULL;
}

static bool host_static(const struct config_peer *cp, const struct prefix *p)
{
	for (size_t i = 0; cp && i < cp->allowed_ips.n; i++)
		if (prefix_equal(&cp->allowed_ips.v[i], p))
			return true;
	return false;
}

static bool host_in_static(const struct config_peer *cp, const struct prefix *p)
{
	for (size_t i = 0; cp && i < cp->allowed_ips.n; i++)
		if (prefix_contains(&cp->allowed_ips.v[i], p))
			return true;
	return false;
}

/* The host-side prefix the configuration maps guest prefix p to, or NULL. */
static const struct prefix *host_remap(const struct config_peer *cp, const struct prefix *p)
{
	for (size_t i = 0; cp && i < cp->n_remaps; i++)
		if (prefix_equal(&cp->remaps[i].guest, p))
			return &cp->remaps[i].host;
	return NULL;
}

static bool host_accepted(const struct host_guest *hg, const struct prefix *p)
{
	for (size_t i = 0; i < hg->n_accepted; i++)
		if (prefix_equal(&hg->accepted[i], p))
			return true;
	return false;
}

static enum ctlmsg_status host_judge(struct host *h, const struct host_guest *hg,
				     const struct config_peer *cp, const struct prefix *p)
{
	char buf[PREFIX_STRLEN], hit[PREFIX_STRLEN], dev[IF_NAMESIZE];
	struct prefix found;

	if (!prefix_is_private(p) && !host_in_static(cp, p))
		return CTLMSG_ST_NOT_ALLOWED;
	/* Ours already (a refresh): the route found would be our own. */
	if (!host_accepted(hg, p) &&
	    platform_route_conflict(h->t->plat, p, &found, dev, sizeof(dev)) > 0) {
		log_warn("Guest prefix %s overlaps the host's route %s dev %s: not installed "
			 "(remap it in the configuration to reach it)",
			 prefix_format(p, buf, sizeof(buf)),
			 prefix_format(&found, hit, sizeof(hit)), dev);
		return CTLMSG_ST_SHADOWED;
	}
	for (size_t i = 0; i < h->n_guests; i++) {
		const struct host_guest *o = &h->guests[i];

		if (o == hg)
			continue;
		for (size_t j = 0; j < o->n_accepted; j++)
			if (prefix_overlaps(&o->accepted[j], p))
				return CTLMSG_ST_CONFLICT;
	}
	return CTLMSG_ST_INSTALLED;
}

/*
 * Without an IPv6 address of its own on the tunnel, the host sends to an
 * IPv6 container network from an address of another interface, which the
 * guest does not accept from this peer: say so, once.
 */
static void host_check_v6_source(struct host *h, const char *prefix)
{
	for (size_t i = 0; i < h->t->cfg.addresses.n; i++)
		if (h->t->cfg.addresses.v[i].family == AF_INET6)
			return;
	if (h->warned_v6)
		return;
	h->warned_v6 = true;
	log_warn("IPv6 network %s is routed through %s, which has no IPv6 Address: this host "
		 "would send from another interface's address, which the guest drops; add an "
		 "IPv6 Address on both ends (for example fd00:33::1/64 and fd00:33::2/128, "
		 "with the guest's in this peer's AllowedIPs)", prefix, h->t->ifname);
}

static void host_withdraw(struct host *h, struct host_guest *hg, const struct config_peer *cp,
			  const struct prefix *p)
{
	char buf[PREFIX_STRLEN];

	if (host_static(cp, p))
		return;		/* configured: stays routed */
	wg_peer_disallow(hg->peer, p);
	platform_route_del(h->t->plat, p);
	log_info("Route to %s withdrawn", prefix_format(p, buf, sizeof(buf)));
}

static void host_on_advertise(struct host *h, struct wg_peer *peer, const struct prefix *src,
			      const struct ctlmsg *m)
{
	const struct config_peer *cp = host_config_peer(h, peer);
	struct host_guest *hg = host_guest_of(h, peer, true);
	struct prefix keep[CTLMSG_MAX_PREFIXES];
	static struct ctlmsg ack;
	char buf[PREFIX_STRLEN];
	size_t n_keep = 0;
	int ret;

	if (!hg)
		return;
	ack.type = CTLMSG_ACK;
	ack.seq = m->seq;
	ack.n = m->n;
	hg->n_refused = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct prefix *p = &m->prefixes[i];
		const struct prefix *route = host_remap(cp, p);
		enum ctlmsg_status st;

		/* A remapped prefix is judged, allowed and routed as the host sees it. */
		st = host_judge(h, hg, cp, route ? route : p);
		ack.prefixes[i] = *p;
		if (route && st == CTLMSG_ST_INSTALLED) {
			st = CTLMSG_ST_REMAPPED;
			ack.mapped[i] = *route;
		} else {
			route = p;
		}
		ack.status[i] = (uint8_t)st;
		prefix_format(route, buf, sizeof(buf));
		if (st != CTLMSG_ST_INSTALLED && st != CTLMSG_ST_REMAPPED) {
			log_warn("Guest prefix %s refused: %s", buf, ctlmsg_status_name(st));
			hg->refused[hg->n_refused] = *route;
			hg->refused_st[hg->n_refused++] = (uint8_t)st;
			continue;
		}
		keep[n_keep++] = *route;
		ret = wg_peer_allow(peer, route);
		if (ret)
			log_err("Failed to allow %s: %s", buf, strerror(-ret));
		ret = platform_route_add(h->t->plat, route);
		if (ret == 0)
			log_info("Route to %s through %s installed%s", buf, h->t->ifname,
				 route != p ? " (remapped)" : "");
		if (route->family == AF_INET6)
			host_check_v6_source(h, buf);
		else if (ret != -EEXIST)
			log_err("Failed to add route %s dev %s: %s", buf, h->t->ifname,
				strerror(-ret));
	}
	/* What the guest no longer has goes. */
	for (size_t i = 0; i < hg->n_accepted; i++) {
		bool still = false;

		for (size_t j = 0; j < n_keep && !still; j++)
			still = prefix_equal(&keep[j], &hg->accepted[i]);
		if (!still)
			host_withdraw(h, hg, cp, &hg->accepted[i]);
	}
	memcpy(hg->accepted, keep, n_keep * sizeof(keep[0]));
	hg->n_accepted = n_keep;
	hg->seq = m->seq;
	hg->seen = true;
	hg->last_adv_ns = loop_now();
	hg->ctl = *src;
	tunnel_send_ctl(h->t, src, &ack);
}

/*
 * The tunnel verified the message (tunnel_ctl_fn). A guest advertises, or
 * says HELLO after a restart on either side left its last advertisement
 * unheard: ask for it again.
 */
static void host_on_ctl(void *ctx, struct wg_peer *from, const struct prefix *src,
			const struct ctlmsg *m)
{
	static const struct ctlmsg sync = { .type = CTLMSG_SYNC };
	struct host *h = ctx;

	if (m->type == CTLMSG_HELLO)
		tunnel_send_ctl(h->t, src, &sync);
	else if (m->type == CTLMSG_ADVERTISE)
		host_on_advertise(h, from, src, m);
	else
		log_debug("Unexpected control message dropped");
}

/* Ask a guest for its whole set again (SYNC). */
static void host_sync(struct host *h, const struct host_guest *hg)
{
	static const struct ctlmsg sync = { .type = CTLMSG_SYNC };

	tunnel_send_ctl(h->t, &hg->ctl, &sync);
}

/*
 * Put back an accepted route that someone else deleted (a VPN client, a
 * network manager, a person with `ip route del`). Adding a route that is
 * there is a cheap -EEXIST; this runs once a second for a handful of
 * prefixes, and works the same with rtnetlink and a PF_ROUTE socket.
 */
static void host_restore_routes(struct host *h, const struct host_guest *hg)
{
	char buf[PREFIX_STRLEN];

	for (size_t j = 0; j < hg->n_accepted; j++) {
		int ret = platform_route_add(h->t->plat, &hg->accepted[j]);

		if (ret == 0)
			log_notice("Route to %s through %s was removed by someone else: restored",
				   prefix_format(&hg->accepted[j], buf, sizeof(buf)),
				   h->t->ifname);
		else if (ret != -EEXIST)
			log_debug("Route to %s cannot be restored yet: %s",
				  prefix_format(&hg->accepted[j], buf, sizeof(buf)),
				  strerror(-ret));
	}
}

/*
 * Once a second: withdraw the routes of guests silent for longer than
 * WithdrawAfter, and restore the others' routes if they went missing.
 */
static void host_on_tick(void *ctx, int fd, uint32_t events)
{
	struct host *h = ctx;
	uint64_t now = loop_now(), limit = (uint64_t)h->t->cfg.withdraw_after * WG_NSEC;

	(void)fd;
	(void)events;
	/*
	 * A tick far later than a second means this host slept (the clock
	 * counts suspend) or the agent was stopped. A VM sleeps with its
	 * host, so its silence meanwhile says nothing: it counts from now.
	 */
	if (now - h->last_tick_ns > HOST_SLEPT_NS) {
		log_notice("Resumed after %llu s asleep: guests' silence counts from now",
			   (unsigned long long)((now - h->last_tick_ns) / WG_NSEC));
		for (size_t i = 0; i < h->n_guests; i++)
			h->guests[i].last_adv_ns = now;
	}
	h->last_tick_ns = now;
	for (size_t i = 0; i < h->n_guests; i++) {
		struct host_guest *hg = &h->guests[i];
		const struct wg_peer_stats *st = wg_peer_stats(hg->peer);
		uint64_t last = st->last_rx_ns > hg->last_adv_ns ? st->last_rx_ns : hg->last_adv_ns;
		const struct config_peer *cp;

		if (hg->withdrawn_ns && st->last_rx_ns > hg->withdrawn_ns) {
			/* Back from its silence: ask for its set now, not at its next refresh. */
			hg->withdrawn_ns = 0;
			host_sync(h, hg);
		}
		if (!hg->n_accepted)
			continue;
		if (now - last < limit) {
			host_restore_routes(h, hg);
			continue;
		}
		cp = host_config_peer(h, hg->peer);
		log_notice("A guest has been silent for %u s: withdrawing its %zu route(s)",
			   h->t->cfg.withdraw_after, hg->n_accepted);
		for (size_t j = 0; j < hg->n_accepted; j++)
			host_withdraw(h, hg, cp, &hg->accepted[j]);
		hg->n_accepted = 0;
		hg->withdrawn_ns = now;
	}
}

void host_reload(struct host *h)
{
	/* Remaps or allowed ranges may have changed: judge every set again. */
	for (size_t i = 0; i < h->n_guests; i++)
		if (h->guests[i].seen)
			host_sync(h, &h->guests[i]);
}

struct host *host_start(struct tunnel *t, struct loop *loop)
{
	struct host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->t = t;
	h->last_tick_ns = loop_now();
	if (loop_add_periodic(loop, WG_NSEC, host_on_tick, h) < 0) {
		free(h);
		return NULL;
	}
	t->on_ctl = host_on_ctl;
	t->hook_ctx = h;
	return h;
}

void host_stop(struct host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_guests; i++) {
		const struct config_peer *cp = host_config_peer(h, h->guests[i].peer);

		for (size_t j = 0; j < h->guests[i].n_accepted; j++)
			if (!host_static(cp, &h->guests[i].accepted[j]))
				platform_route_del(h->t->plat, &h->guests[i].accepted[j]);
	}
	if (h->t->hook_ctx == h) {
		h->t->on_ctl = NULL;
		h->t->hook_ctx = NULL;
	}
	free(h);
}

void host_status(const struct host *h, struct ctlsock_status *s)
{
	for (size_t i = 0; i < h->n_guests; i++) {
		const struct host_guest *hg = &h->guests[i];

		for (size_t j = 0; j < hg->n_accepted; j++) {
			struct ctlsock_prefix p = { .p = hg->accepted[j], .peer = hg->peer,
						    .state = CTLSOCK_P_INSTALLED };

			ctlsock_status_add(s, &p);
		}
		for (size_t j = 0; j < hg->n_refused; j++) {
			struct ctlsock_prefix p = { .p = hg->refused[j], .peer = hg->peer,
						    .state = CTLSOCK_P_REFUSED,
						    .reason = ctlmsg_status_name(hg->refused_st[j]) };

			ctlsock_status_add(s, &p);
		}
	}
}
