/* host.c - the host agent's control plane: accept advertised prefixes, route them
 *
 * Theory of operation: each guest sends the whole set of its container
 * prefixes (ctlmsg ADVERTISE) through its authenticated session. Each
 * prefix is judged by the accept policy (accept.c) against one reading of
 * the host's routes and addresses per message: inside the peer's
 * AcceptPrefixes (the private ranges unless configured), and overlapping
 * nothing the host reaches another way, nothing of the tunnel's own
 * subnets and nothing another peer holds. An accepted prefix joins the
 * guest's allowed IPs (so cryptokey routing stays exact) and gets a route
 * through the tunnel device; otherwise it is refused with a reason the
 * guest logs. Prefixes missing from a newer set are withdrawn: route and
 * allowed IP removed, unless the configuration lists them statically. A
 * guest only ever withdraws its own entries. The answer (ACK) echoes the
 * set with a status per prefix.
 *
 * The configuration may remap a guest prefix (Remap = 172.17.0.0/16=
 * 10.217.0.0/16): the host then routes and allows the host-side prefix,
 * and the ACK tells the guest, which translates destinations 1:1. Two VMs
 * with the same container network are both reachable this way.
 *
 * The host changes under us: a VPN connects, a LAN appears, someone
 * deletes our route. The platform's route watch (rtnetlink, the routing
 * socket) says when; every accepted prefix is then judged again. One that
 * now collides is withdrawn and reported once, in the log and in status;
 * our route that went missing is put back. Where no watch can be opened,
 * the same check runs on the 1 s tick. A guest that goes silent keeps its
 * routes for WithdrawAfter seconds, so a VM restart does not make routes
 * flap; after that they are withdrawn until it advertises again, which a
 * SYNC asks for as soon as it is heard from. A host that slept (the tick
 * comes late) does not count the time asleep as its guests' silence: their
 * VMs slept too.
 *
 * A guest's NAMES message (where its DNS server for container names
 * listens) goes to hostdns.c, judged against the same reading of the host
 * and judged again with the prefixes when the host changes.
 *
 * A guest's FINDINGS message (what its own check of its firewall found
 * dropping the host's traffic ahead of gangway's rules) is kept as the
 * guest's word, for the status and the host's doctor to show, and acted on
 * never. A guest could be compromised: what it says is kept only as
 * printable ASCII, cut to the message's limits, so it cannot write
 * terminal escapes or endless lines into anyone's status.
 *
 * Guests are known by public key, never by the engine's peer object: a
 * reload frees the peers it removes, and their routes go with them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "accept.h"
#include "ctlmsg.h"
#include "ctlsock_render.h"
#include "host.h"
#include "hostdns.h"
#include "log.h"
#include "loop.h"
#include "ratelimit.h"

/*
 * Control messages a guest may send: its own pace is one on each change,
 * one a second until acknowledged and one every 30 s, so a burst of Docker
 * networks fits and a flood does not. What is dropped is sent again, since
 * each message carries the whole set.
 */
#define HOST_CTL_RATE		4
#define HOST_CTL_BURST		16

struct host_guest {
	uint8_t pub[WG_KEY_LEN];
	struct prefix accepted[CTLMSG_MAX_PREFIXES];	/* as routed on the host */
	struct prefix advertised[CTLMSG_MAX_PREFIXES];	/* the same, as the guest said */
	size_t n_accepted;
	bool seen;
	uint32_t seq;
	uint64_t last_adv_ns;
	uint64_t withdrawn_ns;		/* when silence withdrew its routes, or 0 */
	struct prefix ctl;		/* where its control messages come from */
	struct accept_reported refused;	/* current refusals, each logged once */
	struct ratelimit limit;		/* its control messages */
	uint64_t limited;		/* control messages dropped by it */
	bool heard_findings;		/* it said what its firewall check found */
	struct ctlmsg_finding findings[CTLMSG_MAX_FINDINGS];	/* cleaned */
	size_t n_findings;
};

/* A tick this late (it should come every second) follows a sleep. */
#define HOST_SLEPT_NS	(5 * WG_NSEC)

struct host {
	struct tunnel *t;
	const struct config *cfg;	/* the tunnel's, reloads included */
	struct platform *plat;		/* the tunnel's device, routes, host view */
	const char *ifname;		/* the tunnel device's, for the log */
	struct loop *loop;
	uint64_t last_tick_ns;		/* when the once-a-second tick last ran */
	bool warned_v6;			/* about IPv6 routes with no IPv6 Address */
	struct host_guest guests[CONFIG_MAX_PEERS];
	size_t n_guests;
	struct accept_host view;	/* the host's routes and addresses, reused */
	uint64_t view_reads;		/* how often the view was read */
	int view_err;			/* last read's error, logged on change */
	struct prefix *others;		/* claims of the peers not being judged */
	size_t n_others, cap_others;
	int watch_fd;			/* route and address changes; -1: poll */
	struct hostdns *dns;		/* the guests' DNS servers; NULL: Names = off */
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
	ratelimit_init(&h->guests[h->n_guests].limit, HOST_CTL_RATE, HOST_CTL_BURST, loop_now());
	return &h->guests[h->n_guests++];
}

/* The engine's peer for a guest now; NULL once a reload removed it. */
static struct wg_peer *host_peer(const struct host *h, const struct host_guest *hg)
{
	return wg_peer_find(tunnel_device(h->t), hg->pub);
}

static const struct config_peer *host_config_peer(const struct host *h,
						  const struct host_guest *hg)
{
	for (size_t i = 0; i < h->cfg->n_peers; i++)
		if (!memcmp(h->cfg->peers[i].public_key, hg->pub, WG_KEY_LEN))
			return &h->cfg->peers[i];
	return NULL;
}

/* Some configured peer lists p statically: the tunnel routes it itself. */
static bool host_config_routes(const struct host *h, const struct prefix *p)
{
	for (size_t i = 0; i < h->cfg->n_peers; i++)
		for (size_t j = 0; j < h->cfg->peers[i].allowed_ips.n; j++)
			if (prefix_equal(&h->cfg->peers[i].allowed_ips.v[j], p))
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

/*
 * Read the host's routes and addresses: once per message or change, never
 * per prefix. A failed read leaves the view empty and is reported; the
 * caller then refuses what is new.
 */
static int host_view_read(struct host *h, const char *why)
{
	int ret = platform_host_view(h->plat, &h->view);

	h->view_reads++;
	log_debug("Read the host's routes and addresses for %s (%llu reads so far): "
		  "%zu routes, %zu addresses", why, (unsigned long long)h->view_reads,
		  h->view.n_routes, h->view.n_addrs);
	if (ret && ret != h->view_err)
		log_err("Failed to read the host's routes and addresses: %s; new guest "
			"prefixes are refused", strerror(-ret));
	h->view_err = ret;
	if (ret)
		accept_host_clear(&h->view);
	return ret;
}

static int host_others_add(struct host *h, const struct prefix *p)
{
	if (h->n_others == h->cap_others) {
		size_t cap = h->cap_others ? h->cap_others * 2 : 64;
		struct prefix *v = realloc(h->others, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->others = v;
		h->cap_others = cap;
	}
	h->others[h->n_others++] = *p;
	return 0;
}

/* What every peer but hg's holds: configured AllowedIPs and accepted prefixes. */
static int host_claims(struct host *h, const struct host_guest *hg, struct accept_claims *c)
{
	int ret = 0;

	h->n_others = 0;
	for (size_t i = 0; i < h->cfg->n_peers && !ret; i++) {
		const struct config_peer *cp = &h->cfg->peers[i];

		if (!memcmp(cp->public_key, hg->pub, WG_KEY_LEN))
			continue;
		for (size_t j = 0; j < cp->allowed_ips.n && !ret; j++)
			ret = host_others_add(h, &cp->allowed_ips.v[j]);
		/* its Remap targets are its own, routed or not yet */
		for (size_t j = 0; j < cp->n_remaps && !ret; j++)
			ret = host_others_add(h, &cp->remaps[j].host);
	}
	for (size_t i = 0; i < h->n_guests && !ret; i++)
		for (size_t j = 0; &h->guests[i] != hg && j < h->guests[i].n_accepted && !ret; j++)
			ret = host_others_add(h, &h->guests[i].accepted[j]);
	*c = (struct accept_claims){ .own_ifindex = platform_ifindex(h->plat),
				     .tunnel_addrs = &h->cfg->addresses,
				     .others = h->others, .n_others = h->n_others };
	return ret;
}

static enum ctlmsg_status host_judge(struct host *h, const struct host_guest *hg,
				     const struct config_peer *cp, const struct prefix *adv,
				     const struct prefix *route, struct accept_why *why)
{
	struct accept_claims c;

	if (host_claims(h, hg, &c) || h->view_err) {
		memset(why, 0, sizeof(*why));
		why->what = ACCEPT_ROUTE;
		return CTLMSG_ST_SHADOWED;	/* cannot tell: refuse */
	}
	return accept_judge(&h->view, &c, cp, adv, route, why);
}

/* Note a refusal for status; log it only if it is new. */
static void host_refuse(struct host_guest *hg, const struct accept_reported *before,
			const struct prefix *p, enum ctlmsg_status st,
			const struct accept_why *why, const char *what)
{
	char buf[PREFIX_STRLEN], text[160];

	if (!accept_reported_has(&hg->refused, p, (uint8_t)st))
		accept_reported_add(&hg->refused, p, (uint8_t)st);
	if (accept_reported_has(before, p, (uint8_t)st))
		return;
	log_warn("Guest prefix %s %s: %s (%s)", prefix_format(p, buf, sizeof(buf)), what,
		 ctlmsg_status_name(st), accept_why_format(why, text, sizeof(text)));
}

static void host_withdraw(struct host *h, struct host_guest *hg, const struct config_peer *cp,
			  const struct prefix *p)
{
	char buf[PREFIX_STRLEN];
	struct wg_peer *peer = host_peer(h, hg);

	if (host_static(cp, p))
		return;		/* configured: stays routed */
	if (peer)
		wg_peer_disallow(peer, p);	/* only if it points to this guest */
	if (!host_config_routes(h, p))
		platform_route_del(h->plat, p);
	log_info("Route to %s withdrawn", prefix_format(p, buf, sizeof(buf)));
}

/*
 * Without an IPv6 address of its own on the tunnel, the host sends to an
 * IPv6 container network from an address of another interface, which the
 * guest does not accept from this peer: say so, once.
 */
static void host_check_v6_source(struct host *h, const char *prefix)
{
	for (size_t i = 0; i < h->cfg->addresses.n; i++)
		if (h->cfg->addresses.v[i].family == AF_INET6)
			return;
	if (h->warned_v6)
		return;
	h->warned_v6 = true;
	log_warn("IPv6 network %s is routed through %s, which has no IPv6 Address: this host "
		 "would send from another interface's address, which the guest drops; add an "
		 "IPv6 Address on both ends (for example fd00:33::1/64 and fd00:33::2/128, "
		 "with the guest's in this peer's AllowedIPs)", prefix, h->ifname);
}

static void host_on_advertise(struct host *h, struct wg_peer *peer, const struct prefix *src,
			      const struct ctlmsg *m)
{
	struct host_guest *hg = host_guest_of(h, peer, true);
	const struct config_peer *cp = hg ? host_config_peer(h, hg) : NULL;
	struct prefix keep[CTLMSG_MAX_PREFIXES], keep_adv[CTLMSG_MAX_PREFIXES];
	static struct accept_reported before;
	static struct ctlmsg ack;
	char buf[PREFIX_STRLEN];
	size_t n_keep = 0, room;
	bool need_view = h->watch_fd < 0;
	int ret;

	if (!hg)
		return;
	/* A refresh of accepted prefixes needs no reading: the watch keeps them true. */
	for (size_t i = 0; i < m->n && !need_view; i++) {
		const struct prefix *route = host_remap(cp, &m->prefixes[i]);

		need_view = !host_accepted(hg, route ? route : &m->prefixes[i]);
	}
	log_debug("Advertisement %u from a guest: %zu prefixes", m->seq, m->n);
	if (need_view)
		host_view_read(h, "an advertisement");
	ack.type = CTLMSG_ACK;
	ack.seq = m->seq;
	ack.n = m->n;
	before = hg->refused;
	hg->refused.n = 0;
	/*
	 * The ACK is one message: every entry's plain form always fits (an
	 * advertisement does), the remaps take what room is left, in order;
	 * a remap past it is refused, never sent in an ACK that cannot be.
	 */
	room = CTLMSG_BODY_MAX;
	for (size_t i = 0; i < m->n; i++)
		room -= ctlmsg_ack_entry_len(&m->prefixes[i], NULL);
	for (size_t i = 0; i < m->n; i++) {
		const struct prefix *p = &m->prefixes[i];
		const struct prefix *route = host_remap(cp, p);
		struct accept_why why;
		enum ctlmsg_status st;
		size_t extra;

		/* A remapped prefix is judged, allowed and routed as the host sees it. */
		st = host_judge(h, hg, cp, p, route ? route : p, &why);
		ack.prefixes[i] = *p;
		if (route && st == CTLMSG_ST_INSTALLED) {
			extra = ctlmsg_ack_entry_len(p, route) - ctlmsg_ack_entry_len(p, NULL);
			if (extra <= room) {
				room -= extra;
				st = CTLMSG_ST_REMAPPED;
				ack.mapped[i] = *route;
			} else {
				st = CTLMSG_ST_NOT_ALLOWED;
				why = (struct accept_why){ .what = ACCEPT_NO_ROOM, .hit = *route };
				route = p;
			}
		} else {
			route = p;
		}
		ack.status[i] = (uint8_t)st;
		prefix_format(route, buf, sizeof(buf));
		if (st != CTLMSG_ST_INSTALLED && st != CTLMSG_ST_REMAPPED) {
			host_refuse(hg, &before, route, st, &why, "refused");
			continue;
		}
		keep_adv[n_keep] = *p;
		keep[n_keep++] = *route;
		if (host_accepted(hg, route))
			continue;	/* a refresh: allowed and routed already */
		ret = wg_peer_allow(peer, route);
		if (ret)
			log_err("Failed to allow %s: %s", buf, strerror(-ret));
		ret = platform_route_add(h->plat, route);
		if (ret == 0)
			log_info("Route to %s through %s installed%s", buf, h->ifname,
				 route != p ? " (remapped)" : "");
		else if (ret != -EEXIST)
			log_err("Failed to add route %s dev %s: %s", buf, h->ifname,
				strerror(-ret));
		if (route->family == AF_INET6)
			host_check_v6_source(h, buf);
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
	memcpy(hg->advertised, keep_adv, n_keep * sizeof(keep_adv[0]));
	hg->n_accepted = n_keep;
	hg->seq = m->seq;
	hg->seen = true;
	hg->last_adv_ns = loop_now();
	hg->ctl = *src;
	tunnel_send_ctl(h->t, src, &ack);
}

/* Judge what a guest said of its DNS server (hostdns.c) against the host now. */
static void host_judge_dns(struct host *h, const struct host_guest *hg)
{
	struct accept_claims c;
	bool known = !host_claims(h, hg, &c) && !h->view_err;

	hostdns_judge(h->dns, hg->pub, host_config_peer(h, hg), known ? &h->view : NULL, &c);
}

/* NAMES: a repeat needs no judging, unless no watch keeps the view true. */
static void host_on_names(struct host *h, const struct host_guest *hg, const struct ctlmsg *m)
{
	if (!h->dns)
		return;
	if (!hostdns_heard(h->dns, hg->pub, m) && h->watch_fd >= 0)
		return;
	host_view_read(h, "a DNS server's announcement");
	host_judge_dns(h, hg);
}

/*
 * FINDINGS: the guest's word on its firewall, kept cleaned (ctlmsg_clean_text,
 * though the decoder lets nothing else through) and logged when it changes.
 */
static void host_on_findings(struct host_guest *hg, const struct ctlmsg *m)
{
	struct ctlmsg_finding v[CTLMSG_MAX_FINDINGS];
	size_t n = m->n < CTLMSG_MAX_FINDINGS ? m->n : CTLMSG_MAX_FINDINGS;

	memset(v, 0, sizeof(v));
	for (size_t i = 0; i < n; i++) {
		ctlmsg_clean_text(v[i].text, sizeof(v[i].text), m->findings[i].text,
				  sizeof(m->findings[i].text));
		ctlmsg_clean_text(v[i].fix, sizeof(v[i].fix), m->findings[i].fix,
				  sizeof(m->findings[i].fix));
	}
	if (hg->heard_findings && n == hg->n_findings && !memcmp(v, hg->findings, sizeof(v)))
		return;
	for (size_t i = 0; i < n; i++)
		log_warn("A guest reports: %s Fix: %s", v[i].text, v[i].fix);
	if (!n && hg->n_findings)
		log_notice("A guest reports nothing wrong with its firewall any more");
	memcpy(hg->findings, v, sizeof(v));
	hg->n_findings = n;
	hg->heard_findings = true;
}

/*
 * The tunnel verified the message (tunnel_ctl_fn). A guest advertises, or
 * says HELLO after a restart on either side left its last advertisement
 * unheard: ask for it again. Each guest's messages are rate limited.
 */
static void host_on_ctl(void *ctx, struct wg_peer *from, const struct prefix *src,
			const struct ctlmsg *m)
{
	static const struct ctlmsg sync = { .type = CTLMSG_SYNC };
	struct host *h = ctx;
	struct host_guest *hg = host_guest_of(h, from, true);
	bool was_flooding;

	if (!hg)
		return;
	was_flooding = hg->limit.flooding;
	if (!ratelimit_allow(&hg->limit, loop_now())) {
		hg->limited++;
		wg_count_drop(tunnel_device(h->t), from, WG_DROP_CTL_RATE);
		if (!was_flooding)
			log_warn("A guest sends control messages faster than %d a second: "
				 "dropping some", HOST_CTL_RATE);
		return;
	}
	if (was_flooding && !hg->limit.flooding)
		log_notice("A guest's control messages are within the limit again "
			   "(%llu dropped so far)", (unsigned long long)hg->limited);
	if (m->type == CTLMSG_HELLO)
		tunnel_send_ctl(h->t, src, &sync);
	else if (m->type == CTLMSG_ADVERTISE)
		host_on_advertise(h, from, src, m);
	else if (m->type == CTLMSG_NAMES)
		host_on_names(h, hg, m);
	else if (m->type == CTLMSG_FINDINGS)
		host_on_findings(hg, m);
	else
		log_debug("Unexpected control message dropped");
}

/* Ask a guest for its whole set again (SYNC); its answer gets a fresh ACK. */
static void host_sync(struct host *h, const struct host_guest *hg)
{
	static const struct ctlmsg sync = { .type = CTLMSG_SYNC };

	if (hg->seen)
		tunnel_send_ctl(h->t, &hg->ctl, &sync);
}

/* Is our own route to p in the view? */
static bool host_view_routes(const struct host *h, const struct prefix *p)
{
	int own = platform_ifindex(h->plat);

	for (size_t i = 0; i < h->view.n_routes; i++)
		if (h->view.routes[i].ifindex == own && prefix_equal(&h->view.routes[i].dst, p))
			return true;
	return false;
}

/*
 * The host's routes or addresses changed (or, without a watch, a second
 * passed): judge every accepted prefix again. One that now collides with
 * something (a VPN that connected, a LAN that appeared, a route someone
 * added over ours) is withdrawn and reported once; we do not fight over
 * it. Our route that someone deleted, with nothing else in its place, is
 * put back.
 */
static void host_recheck(struct host *h, const char *cause)
{
	char buf[PREFIX_STRLEN];

	if (host_view_read(h, cause))
		return;		/* keep what is installed; the next change tries again */
	for (size_t i = 0; i < h->n_guests; i++) {
		struct host_guest *hg = &h->guests[i];
		const struct config_peer *cp = host_config_peer(h, hg);
		struct accept_reported before = hg->refused;
		size_t n = 0;
		bool withdrawn = false;

		for (size_t j = 0; j < hg->n_accepted; j++) {
			const struct prefix *route = &hg->accepted[j];
			struct accept_why why;
			enum ctlmsg_status st = host_judge(h, hg, cp, &hg->advertised[j], route,
							   &why);
			int ret;

			if (st != CTLMSG_ST_INSTALLED) {
				host_withdraw(h, hg, cp, route);
				host_refuse(hg, &before, route, st, &why, "withdrawn");
				withdrawn = true;
				continue;
			}
			if (!host_view_routes(h, route)) {
				ret = platform_route_add(h->plat, route);
				if (ret == 0)
					log_notice("Route to %s through %s was removed by someone "
						   "else: restored",
						   prefix_format(route, buf, sizeof(buf)),
						   h->ifname);
				else if (ret != -EEXIST)
					log_debug("Route to %s cannot be restored yet: %s",
						  prefix_format(route, buf, sizeof(buf)),
						  strerror(-ret));
			}
			hg->advertised[n] = hg->advertised[j];
			hg->accepted[n++] = *route;
		}
		hg->n_accepted = n;
		if (h->dns)
			host_judge_dns(h, hg);
		/*
		 * Its ACK tells it why; a prefix refused before may be free now
		 * (the route that held it went away): its answer is judged anew.
		 */
		if (withdrawn || hg->refused.n)
			host_sync(h, hg);
	}
}

static void host_on_watch(void *ctx, int fd, uint32_t events)
{
	struct host *h = ctx;
	int ret;

	(void)fd;
	(void)events;
	ret = platform_watch_drain(h->plat);
	if (ret < 0)
		log_warn("Failed to read route changes: %s", strerror(-ret));
	if (ret != 0)
		host_recheck(h, "a route or address change");	/* errors may lose some */
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
		hostdns_forget(h->dns, hg->pub);
		for (size_t j = 0; j < hg->n_accepted; j++) {
			if (host_config_routes(h, &hg->accepted[j]))
				continue;
			platform_route_del(h->plat, &hg->accepted[j]);
			log_info("Route to %s withdrawn: its peer was removed",
				 prefix_format(&hg->accepted[j], buf, sizeof(buf)));
		}
	}
	h->n_guests = n;
}

/*
 * Once a second: withdraw the routes of guests silent for longer than
 * WithdrawAfter; without a route watch, also judge the rest again.
 */
static void host_on_tick(void *ctx, int fd, uint32_t events)
{
	struct host *h = ctx;
	uint64_t now = loop_now(), limit = (uint64_t)h->cfg->withdraw_after * WG_NSEC;
	bool any = false;

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
	host_prune(h);
	for (size_t i = 0; i < h->n_guests; i++) {
		struct host_guest *hg = &h->guests[i];
		const struct wg_peer_stats *st = wg_peer_stats(host_peer(h, hg));
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
			any = true;
			continue;
		}
		cp = host_config_peer(h, hg);
		log_notice("A guest has been silent for %u s: withdrawing its %zu route(s)",
			   h->cfg->withdraw_after, hg->n_accepted);
		for (size_t j = 0; j < hg->n_accepted; j++)
			host_withdraw(h, hg, cp, &hg->accepted[j]);
		hg->n_accepted = 0;
		hg->withdrawn_ns = now;
	}
	if (any && h->watch_fd < 0)
		host_recheck(h, "the periodic check");
}

void host_reload(struct host *h)
{
	host_prune(h);
	/*
	 * The new configuration may claim what a guest holds (a peer's new
	 * AllowedIPs, narrower AcceptPrefixes): judge again, then give back
	 * what stays, since the reload reset every kept peer's allowed IPs.
	 */
	host_recheck(h, "a reload");
	for (size_t i = 0; i < h->n_guests; i++) {
		struct wg_peer *peer = host_peer(h, &h->guests[i]);

		for (size_t j = 0; j < h->guests[i].n_accepted; j++)
			wg_peer_allow(peer, &h->guests[i].accepted[j]);
	}
	/* Remaps may have changed too: ask every guest for its set again. */
	for (size_t i = 0; i < h->n_guests; i++)
		host_sync(h, &h->guests[i]);
	hostdns_refresh(h->dns);	/* the peers, and their AllowedIPs, may differ */
}

struct host *host_start(struct tunnel *t, struct loop *loop)
{
	static const struct tunnel_hooks hooks = { .on_ctl = host_on_ctl };
	struct host *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return NULL;
	h->t = t;
	h->cfg = tunnel_config(t);
	h->plat = tunnel_platform(t);
	h->ifname = tunnel_ifname(t);
	h->loop = loop;
	h->last_tick_ns = loop_now();
	h->watch_fd = -1;
	if (loop_add_periodic(loop, WG_NSEC, host_on_tick, h) < 0) {
		free(h);
		return NULL;
	}
	ret = platform_watch_open(h->plat);
	if (ret >= 0 && loop_add_fd(loop, ret, LOOP_IN, host_on_watch, h) == 0)
		h->watch_fd = ret;
	else
		log_warn("Failed to watch the host's routes: %s; checking them every second",
			 strerror(ret < 0 ? -ret : EIO));
	/* Container names: the host's resolver follows the guests' DNS servers. */
	if (h->cfg->names)
		h->dns = hostdns_start(t);
	tunnel_set_hooks(t, &hooks, h);
	return h;
}

void host_stop(struct host *h)
{
	if (!h)
		return;
	if (h->watch_fd >= 0)
		loop_del_fd(h->loop, h->watch_fd);
	for (size_t i = 0; i < h->n_guests; i++) {
		for (size_t j = 0; j < h->guests[i].n_accepted; j++)
			if (!host_config_routes(h, &h->guests[i].accepted[j]))
				platform_route_del(h->plat, &h->guests[i].accepted[j]);
	}
	tunnel_unset_hooks(h->t, h);
	hostdns_stop(h->dns);
	accept_host_free(&h->view);
	free(h->others);
	free(h);
}

void host_status(const struct host *h, struct ctlsock_status *s)
{
	hostdns_status(h->dns, s);
	for (size_t i = 0; i < h->n_guests; i++) {
		const struct host_guest *hg = &h->guests[i];
		struct wg_peer *peer = host_peer(h, hg);

		if (!peer)
			continue;	/* removed by a reload; pruned at the next tick */
		for (size_t j = 0; j < hg->n_accepted; j++) {
			struct ctlsock_prefix p = { .p = hg->accepted[j], .peer = peer,
						    .state = CTLSOCK_P_INSTALLED };

			ctlsock_render_add_prefix(s, &p);
		}
		for (size_t j = 0; j < hg->refused.n; j++) {
			struct ctlsock_prefix p = { .p = hg->refused.p[j], .peer = peer,
						    .state = CTLSOCK_P_REFUSED,
						    .reason = ctlmsg_status_name(hg->refused.status[j]) };

			ctlsock_render_add_prefix(s, &p);
		}
		if (hg->heard_findings && s->n_findings < CONFIG_MAX_PEERS)
			s->findings[s->n_findings++] = (struct ctlsock_findings){
				.peer = peer, .v = hg->findings, .n = hg->n_findings };
	}
}
