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

/*
 * A guest is known by its public key, never by the engine's peer object: a
 * reload frees the peers it removes, and a new peer may reuse the memory.
 */
struct host_guest {
	uint8_t pub[WG_KEY_LEN];
	struct prefix accepted[CTLMSG_MAX_PREFIXES];
	size_t n_accepted;
	bool seen;
	uint32_t seq;
	uint64_t last_adv_ns;
	struct prefix ctl;		/* where its control messages come from */
	struct prefix refused[CTLMSG_MAX_PREFIXES];	/* for status: last advert's refusals */
	uint8_t refused_st[CTLMSG_MAX_PREFIXES];
	size_t n_refused;
};

struct host {
	struct tunnel *t;
	struct host_guest guests[CONFIG_MAX_PEERS];
	size_t n_guests;
};

static struct host_guest *host_guest_of(struct host *h, struct wg_peer *peer, bool create)
{
	uint8_t pub[WG_KEY_LEN];

	wg_peer_public_key(peer, pub);
	for (size_t i = 0; i < h->n_guests; i++)
		if (!memcmp(h->guests[i].pub, pub, WG_KEY_LEN))
			return &h->guests[i];
	if (!create || h->n_guests >= CONFIG_MAX_PEERS)
		return NULL;
	memset(&h->guests[h->n_guests], 0, sizeof(h->guests[0]));
	memcpy(h->guests[h->n_guests].pub, pub, WG_KEY_LEN);
	return &h->guests[h->n_guests++];
}

/* The engine's peer for a guest now; NULL once a reload removed it. */
static struct wg_peer *host_peer(const struct host *h, const struct host_guest *hg)
{
	return wg_peer_find(h->t->dev, hg->pub);
}

static const struct config_peer *host_config_peer(const struct host *h,
						  const struct host_guest *hg)
{
	for (size_t i = 0; i < h->t->cfg.n_peers; i++)
		if (!memcmp(h->t->cfg.peers[i].public_key, hg->pub, WG_KEY_LEN))
			return &h->t->cfg.peers[i];
	return NULL;
}

/* Some configured peer lists p statically: the tunnel routes it itself. */
static bool host_config_routes(const struct host *h, const struct prefix *p)
{
	for (size_t i = 0; i < h->t->cfg.n_peers; i++)
		for (size_t j = 0; j < h->t->cfg.peers[i].allowed_ips.n; j++)
			if (prefix_equal(&h->t->cfg.peers[i].allowed_ips.v[j], p))
				return true;
	return false;
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

static void host_withdraw(struct host *h, struct host_guest *hg, const struct config_peer *cp,
			  const struct prefix *p)
{
	char buf[PREFIX_STRLEN];

	struct wg_peer *peer = host_peer(h, hg);

	if (host_static(cp, p))
		return;		/* configured: stays routed */
	if (peer)
		wg_peer_disallow(peer, p);
	if (!host_config_routes(h, p))
		platform_route_del(h->t->plat, p);
	log_info("Route to %s withdrawn", prefix_format(p, buf, sizeof(buf)));
}

static void host_on_advertise(struct host *h, struct wg_peer *peer, const struct prefix *src,
			      const struct ctlmsg *m)
{
	struct host_guest *hg = host_guest_of(h, peer, true);
	const struct config_peer *cp = hg ? host_config_peer(h, hg) : NULL;
	struct prefix keep[CTLMSG_MAX_PREFIXES];
	static struct ctlmsg ack;
	uint8_t out[CTLMSG_MAX_LEN];
	char buf[PREFIX_STRLEN];
	size_t n_keep = 0;
	int ret, n;

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
	n = ctlmsg_encode(&ack, out, sizeof(out));
	if (n > 0)
		tunnel_send_ctl(h->t, src, out, (size_t)n);
}

static void host_on_ctl(void *ctx, struct wg_peer *from, const struct prefix *src,
			const uint8_t *msg, size_t len)
{
	struct host *h = ctx;
	static struct ctlmsg m;

	if (ctlmsg_decode(&m, msg, len) || m.type != CTLMSG_ADVERTISE) {
		log_debug("Malformed or unexpected control message dropped");
		return;
	}
	host_on_advertise(h, from, src, &m);
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
 * Forget the guests whose peer a reload removed: their routes go (unless the
 * new configuration routes the prefix itself), and a peer added later under
 * another key starts with nothing.
 */
static void host_prune(struct host *h)
{
	char buf[PREFIX_STRLEN];
	size_t n = 0;

	for (size_t i = 0; i < h->n_guests; i++) {
		struct host_guest *hg = &h->guests[i];

		if (host_peer(h, hg) && host_config_peer(h, hg)) {
			if (n != i)
				h->guests[n] = *hg;
			n++;
			continue;
		}
		for (size_t j = 0; j < hg->n_accepted; j++) {
			if (host_config_routes(h, &hg->accepted[j]))
				continue;
			platform_route_del(h->t->plat, &hg->accepted[j]);
			log_info("Route to %s withdrawn: its peer was removed",
				 prefix_format(&hg->accepted[j], buf, sizeof(buf)));
		}
	}
	h->n_guests = n;
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
	host_prune(h);
	for (size_t i = 0; i < h->n_guests; i++) {
		struct host_guest *hg = &h->guests[i];
		const struct wg_peer_stats *st = wg_peer_stats(host_peer(h, hg));
		uint64_t last = st->last_rx_ns > hg->last_adv_ns ? st->last_rx_ns : hg->last_adv_ns;
		const struct config_peer *cp;

		if (!hg->n_accepted)
			continue;
		if (now - last < limit) {
			host_restore_routes(h, hg);
			continue;
		}
		cp = host_config_peer(h, hg);
		log_notice("A guest has been silent for %u s: withdrawing its %zu route(s)",
			   h->t->cfg.withdraw_after, hg->n_accepted);
		for (size_t j = 0; j < hg->n_accepted; j++)
			host_withdraw(h, hg, cp, &hg->accepted[j]);
		hg->n_accepted = 0;
	}
}

void host_reload(struct host *h)
{
	static const struct ctlmsg sync = { .type = CTLMSG_SYNC };
	uint8_t out[CTLMSG_HDR_LEN];
	int n = ctlmsg_encode(&sync, out, sizeof(out));

	host_prune(h);
	/*
	 * The reload reset every kept peer's allowed IPs to its configuration:
	 * give back what it had accepted until its answer to SYNC is judged.
	 */
	for (size_t i = 0; i < h->n_guests; i++) {
		struct wg_peer *peer = host_peer(h, &h->guests[i]);

		for (size_t j = 0; j < h->guests[i].n_accepted; j++)
			wg_peer_allow(peer, &h->guests[i].accepted[j]);
	}
	/* Remaps or allowed ranges may have changed: judge every set again. */
	for (size_t i = 0; i < h->n_guests && n > 0; i++)
		if (h->guests[i].seen)
			tunnel_send_ctl(h->t, &h->guests[i].ctl, out, (size_t)n);
}

struct host *host_start(struct tunnel *t, struct loop *loop)
{
	struct host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->t = t;
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
		for (size_t j = 0; j < h->guests[i].n_accepted; j++)
			if (!host_config_routes(h, &h->guests[i].accepted[j]))
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
		struct wg_peer *peer = host_peer(h, hg);

		if (!peer)
			continue;	/* removed by a reload; pruned at the next tick */
		for (size_t j = 0; j < hg->n_accepted; j++) {
			struct ctlsock_prefix p = { .p = hg->accepted[j], .peer = peer,
						    .state = CTLSOCK_P_INSTALLED };

			ctlsock_status_add(s, &p);
		}
		for (size_t j = 0; j < hg->n_refused; j++) {
			struct ctlsock_prefix p = { .p = hg->refused[j], .peer = peer,
						    .state = CTLSOCK_P_REFUSED,
						    .reason = ctlmsg_status_name(hg->refused_st[j]) };

			ctlsock_status_add(s, &p);
		}
	}
}
