/* guest_linux.c - gangwayd's control plane: watch Docker's networks, open the way, advertise
 *
 * Theory of operation: discovery (discover_linux.c) keeps a view of the Docker
 * bridges and their prefixes, current within milliseconds of a change. Each
 * new view goes to the firewall (firewall_linux.c), which lets tunnel traffic from
 * the host's addresses reach those bridges, and to the host as an ADVERTISE
 * control message carrying the whole set (state, not deltas, so a lost or
 * repeated message is harmless). The message is resent every second until
 * the host acknowledges that generation, then refreshed every 30 s and
 * after every new handshake, so a restarted host agent learns everything
 * again without being asked. A NAMES message goes with each: where the DNS
 * server for container names listens and its domain, or that names are
 * off; the host believes it as far as its policy allows (hostdns.c). A 500 ms tick re-checks the firewall, which
 * Docker may rewrite at any time.
 *
 * gangwayd puts its own rules back, but never moves anyone else's: after
 * each check that read the rules it inspects them (firewall_inspect_own)
 * and tells the host what drops its traffic ahead of them, in a FINDINGS
 * message, sent on every change, with the answer to the host's SYNC or
 * HELLO or a new session, and with the 30 s refresh, so that the host's
 * status and doctor can name the rule. The host shows it as the
 * guest's word and acts on nothing in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "ctlmsg.h"
#include "ctlsock_render.h"
#include "discover.h"
#include "dns.h"
#include "docker_api.h"
#include "firewall.h"
#include "guest.h"
#include "log.h"
#include "loop.h"
#include "names.h"

#define GUEST_TICK		(500ULL * 1000000ULL)
#define GUEST_RESEND		(1 * WG_NSEC)
#define GUEST_REFRESH		(30 * WG_NSEC)

struct guest {
	struct tunnel *t;
	struct loop *loop;
	struct discover *disc;
	struct firewall *fw;
	struct prefix host_ctl;		/* the host agent's tunnel address */
	bool have_host_ctl;
	struct ctlmsg adv;		/* what we advertise now */
	bool acked;			/* the host acknowledged adv.seq */
	uint64_t next_adv;
	struct prefix *sources;		/* host addresses let through */
	size_t n_sources;
	bool resync;			/* discovery failed: dump again on the tick */
	struct firewall_remap remap[CTLMSG_MAX_PREFIXES];	/* the host's remaps */
	size_t n_remap;
	struct names *names;		/* container names; NULL when Names = off */
	struct docker_api *docker;
	struct dns_server *dns;
	struct ctlmsg dns_msg;		/* NAMES: where dns serves, or names off */
	struct ctlmsg fw_msg;		/* FINDINGS: what blocks the host's traffic here */
	uint64_t fw_checks;		/* firewall_checks when last inspected */
	bool fw_due;			/* send fw_msg with the next advertisement */
};

/*
 * The host agent answers on its tunnel address: the first single-address
 * entry of the peer's AllowedIPs (10.33.0.1/32 in the documented setup).
 */
static bool guest_find_host_ctl(const struct config *c, struct prefix *out)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct config_prefixes *l = &c->peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++) {
			if (l->v[j].len == prefix_addr_len(l->v[j].family) * 8) {
				*out = l->v[j];
				return true;
			}
		}
	}
	return false;
}

static void guest_send_adv(struct guest *g, uint64_t now)
{
	int ret;

	if (!g->have_host_ctl)
		return;
	g->next_adv = now + (g->acked ? GUEST_REFRESH : GUEST_RESEND);
	ret = tunnel_send_ctl(g->t, &g->host_ctl, &g->adv);
	if (ret)
		log_debug("Advertisement not sent: %s", strerror(-ret));
	/*
	 * Where our names are served goes along, as state: the host takes a
	 * repeat as one, and a lost one is sent again with the next.
	 */
	ret = tunnel_send_ctl(g->t, &g->host_ctl, &g->dns_msg);
	if (ret)
		log_debug("DNS server's announcement not sent: %s", strerror(-ret));
	/*
	 * The firewall's findings go along when the host asked (SYNC, HELLO,
	 * a new session: it may have restarted) and with the 30 s refresh,
	 * not with each change of the networks or its resends: a burst of
	 * Docker networks stays within the host's rate limit as before.
	 */
	if (!g->fw_due && !g->acked)
		return;
	g->fw_due = false;
	ret = tunnel_send_ctl(g->t, &g->host_ctl, &g->fw_msg);
	if (ret)
		log_debug("Firewall findings not sent: %s", strerror(-ret));
}

/*
 * After a check that read the rules: inspect them, and when what is wrong
 * changed, log it and tell the host. The findings go as many as fit one
 * message, each cut to the message's limits; the guest's doctor has them
 * all.
 */
static void guest_fw_findings(struct guest *g)
{
	static struct firewall_inspect r;	/* large: not on the stack */
	static struct firewall_findings f;
	static struct ctlmsg m;
	size_t room = CTLMSG_BODY_MAX;
	uint64_t checks = firewall_checks(g->fw);
	int ret;

	if (!g->fw || checks == g->fw_checks)
		return;
	g->fw_checks = checks;
	ret = firewall_inspect_own(g->fw, &r);
	if (ret) {
		log_debug("Firewall inspection failed: %s", strerror(-ret));
		return;		/* what we said last stands */
	}
	firewall_findings(&r, tunnel_ifname(g->t), &f);
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_FINDINGS;
	for (size_t i = 0; i < f.n && m.n < CTLMSG_MAX_FINDINGS; i++) {
		struct ctlmsg_finding *e = &m.findings[m.n];

		ctlmsg_clean_text(e->text, sizeof(e->text), f.v[i].text, sizeof(f.v[i].text));
		ctlmsg_clean_text(e->fix, sizeof(e->fix), f.v[i].fix, sizeof(f.v[i].fix));
		if (ctlmsg_finding_len(e) > room)
			break;
		room -= ctlmsg_finding_len(e);
		m.n++;
	}
	if (m.n == g->fw_msg.n && !memcmp(m.findings, g->fw_msg.findings, sizeof(m.findings)))
		return;
	for (size_t i = 0; i < f.n; i++)
		log_warn("%s Fix: %s", f.v[i].text, f.v[i].fix);
	if (!f.n && g->fw_msg.n)
		log_notice("Firewall: nothing drops the tunnel's traffic ahead of gangway's rules "
			   "any more");
	g->fw_msg.n = m.n;
	memcpy(g->fw_msg.findings, m.findings, sizeof(m.findings));
	if (!g->have_host_ctl)
		return;
	ret = tunnel_send_ctl(g->t, &g->host_ctl, &g->fw_msg);
	if (ret)
		log_debug("Firewall findings not sent: %s", strerror(-ret));
}

static void guest_on_view(void *ctx, const struct discover_view *view)
{
	struct guest *g = ctx;
	char buf[PREFIX_STRLEN];
	size_t n = view->n_prefixes;
	int ret;

	if (n > CTLMSG_MAX_PREFIXES) {
		log_warn("%zu prefixes found; advertising the first %d", n, CTLMSG_MAX_PREFIXES);
		n = CTLMSG_MAX_PREFIXES;
	}
	for (size_t i = 0; i < n; i++)
		log_debug("Network %s", prefix_format(&view->prefixes[i], buf, sizeof(buf)));
	log_info("Docker networks: %zu bridge(s), %zu prefix(es)", view->n_bridges,
		 view->n_prefixes);
	if (g->fw) {
		ret = firewall_apply(g->fw, view);
		if (ret)
			log_err("Failed to open the firewall for the containers: %s",
				strerror(-ret));
	}
	/* Names answer with the addresses the host reaches first. */
	if (g->names && names_set_preferred(g->names, view->prefixes, n))
		log_warn("Failed to order names' addresses: out of memory");
	memcpy(g->adv.prefixes, view->prefixes, n * sizeof(view->prefixes[0]));
	g->adv.n = n;
	g->adv.seq++;
	g->acked = false;
	guest_send_adv(g, loop_now());
}

/* The tunnel verified the message (tunnel_ctl_fn): it is the host agent's. */
static void guest_on_ctl(void *ctx, struct wg_peer *from, const struct prefix *src,
			 const struct ctlmsg *m)
{
	static struct prefix guest_pfx[CTLMSG_MAX_PREFIXES], host_pfx[CTLMSG_MAX_PREFIXES];
	struct guest *g = ctx;
	char buf[PREFIX_STRLEN];
	size_t n_remap, ignored;
	int ret;

	(void)from;
	(void)src;
	/*
	 * SYNC: the host asks again. HELLO: the host dropped what we sent as
	 * not fresh (one of us restarted) and now told us its challenge.
	 */
	if (m->type == CTLMSG_SYNC || m->type == CTLMSG_HELLO) {
		g->acked = false;
		g->fw_due = true;
		guest_send_adv(g, loop_now());
		return;
	}
	if (m->type != CTLMSG_ACK || m->seq != g->adv.seq || g->acked)
		return;
	g->acked = true;
	g->next_adv = loop_now() + GUEST_REFRESH;
	/* Translate only what we advertise: never a prefix of the host's choosing. */
	n_remap = ctlmsg_ack_remaps(m, &g->adv, guest_pfx, host_pfx, &ignored);
	if (ignored)
		log_warn("The host remapped %zu prefix(es) not advertised; ignoring them", ignored);
	for (size_t i = 0; i < n_remap; i++) {
		char hbuf[PREFIX_STRLEN];

		log_info("The host reaches %s as %s", prefix_format(&guest_pfx[i], buf, sizeof(buf)),
			 prefix_format(&host_pfx[i], hbuf, sizeof(hbuf)));
		g->remap[i].guest = guest_pfx[i];
		g->remap[i].host = host_pfx[i];
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->status[i] != CTLMSG_ST_INSTALLED && m->status[i] != CTLMSG_ST_REMAPPED)
			log_warn("The host did not route %s: %s",
				 prefix_format(&m->prefixes[i], buf, sizeof(buf)),
				 ctlmsg_status_name(m->status[i]));
	g->n_remap = n_remap;
	if (g->fw) {
		ret = firewall_set_remaps(g->fw, g->remap, n_remap);
		if (ret)
			log_err("Failed to set up the remapped prefixes: %s", strerror(-ret));
		else
			firewall_check(g->fw);
	}
	log_info("The host acknowledged %zu prefix(es)", m->n);
}

static void guest_on_event(void *ctx, struct wg_peer *peer, enum wg_event ev)
{
	struct guest *g = ctx;

	(void)peer;
	/* A new session may mean a restarted host: tell it everything again. */
	if (ev == WG_EV_HANDSHAKE_DONE) {
		g->acked = false;
		g->fw_due = true;
		guest_send_adv(g, loop_now());
	}
}

static void guest_on_discover(void *ctx, int fd, uint32_t events)
{
	struct guest *g = ctx;
	int ret;

	(void)fd;
	(void)events;
	ret = discover_process(g->disc);
	if (ret) {
		log_warn("Network discovery: %s; trying again", strerror(-ret));
		g->resync = true;
	}
}

static void guest_on_fw_event(void *ctx, int fd, uint32_t events)
{
	struct guest *g = ctx;

	(void)fd;
	(void)events;
	if (firewall_event_process(g->fw) && firewall_check(g->fw) > 0)
		log_notice("Firewall rules rewritten by someone else; gangway's restored");
	guest_fw_findings(g);
}

static void guest_on_tick(void *ctx, int fd, uint32_t events)
{
	struct guest *g = ctx;
	uint64_t now = loop_now();

	(void)fd;
	(void)events;
	if (g->resync)
		g->resync = discover_resync(g->disc, NULL) != 0;
	if (g->fw && firewall_check(g->fw) > 0)
		log_notice("Firewall rules rewritten by someone else; gangway's restored");
	guest_fw_findings(g);
	if (now >= g->next_adv)
		guest_send_adv(g, now);
}

static int guest_collect_sources(struct guest *g, const struct config *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_peers; i++)
		n += c->peers[i].allowed_ips.n;
	g->sources = calloc(n ? n : 1, sizeof(*g->sources));
	if (!g->sources)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].allowed_ips.n; j++)
			g->sources[g->n_sources++] = c->peers[i].allowed_ips.v[j];
	return 0;
}

/*
 * Container names: the table, the engine client filling it, and the DNS
 * server on the guest's own tunnel addresses (one per family), where the
 * host's resolver asks. Without an engine the names wait for one; without
 * a tunnel address there is nowhere to serve, which is said once.
 */
static int guest_start_names(struct guest *g, const struct config *c)
{
	struct prefix addrs[2];
	size_t n = 0;
	bool v4 = false, v6 = false;

	for (size_t i = 0; i < c->addresses.n && n < 2; i++) {
		const struct prefix *a = &c->addresses.v[i];

		if ((a->family == AF_INET && v4) || (a->family == AF_INET6 && v6))
			continue;
		v4 |= a->family == AF_INET;
		v6 |= a->family == AF_INET6;
		addrs[n] = *a;
		addrs[n++].len = (uint8_t)(prefix_addr_len(a->family) * 8);
	}
	if (!n) {
		log_warn("No Address in [Interface]: container names are not served");
		return 0;
	}
	g->names = names_new(c->domain);
	if (!g->names)
		return -errno;
	g->dns = dns_start(g->loop, g->names, addrs, n, DNS_PORT);
	if (!g->dns)
		return -errno;
	memcpy(g->dns_msg.prefixes, addrs, n * sizeof(addrs[0]));
	g->dns_msg.n = n;
	snprintf(g->dns_msg.domain, sizeof(g->dns_msg.domain), "%s", c->domain);
	g->docker = docker_api_new(g->loop, c->docker_socket, g->names);
	if (!g->docker)
		return -errno;
	return 0;
}

struct guest *guest_start(struct tunnel *t, struct loop *loop)
{
	static const struct tunnel_hooks hooks = {
		.on_ctl = guest_on_ctl,
		.on_event = guest_on_event,
	};
	const struct config *c = tunnel_config(t);
	struct firewall_opts fo = { 0 };
	struct guest *g = calloc(1, sizeof(*g));
	char buf[PREFIX_STRLEN];
	int ret;

	if (!g)
		return NULL;
	g->t = t;
	g->loop = loop;
	g->adv.type = CTLMSG_ADVERTISE;
	g->dns_msg.type = CTLMSG_NAMES;		/* names off until they are served */
	g->fw_msg.type = CTLMSG_FINDINGS;	/* nothing found until a check */
	g->fw_due = true;
	g->have_host_ctl = guest_find_host_ctl(c, &g->host_ctl);
	if (g->have_host_ctl)
		log_info("Advertising container networks to the host agent at %s",
			 prefix_format(&g->host_ctl, buf, sizeof(buf)));
	else
		log_warn("No host tunnel address (a /32 or /128 in the peer's AllowedIPs): "
			 "networks are not advertised; the host needs static AllowedIPs "
			 "('gangway config' prints them)");
	if (guest_collect_sources(g, c))
		goto fail;

	if (c->firewall != CONFIG_FW_OFF) {
		fo.tun_ifname = tunnel_ifname(t);
		fo.mtu = c->mtu;
		fo.sources = g->sources;
		fo.n_sources = g->n_sources;
		fo.snat = c->snat;
		fo.mode = c->firewall;
		fo.fwmark = c->fwmark;
		g->fw = firewall_new(&fo);
		if (!g->fw) {
			log_err("Failed to set up the firewall: %m");
			goto fail;
		}
		log_info("Firewall mechanism: %s",
			 firewall_mech_name(firewall_mechanism(g->fw)));
		if (firewall_event_fd(g->fw) >= 0 &&
		    loop_add_fd(loop, firewall_event_fd(g->fw), EPOLLIN, guest_on_fw_event, g) < 0)
			goto fail;
	}
	/* Names are a convenience: without them, routing goes on. */
	if (c->names) {
		ret = guest_start_names(g, c);
		if (ret) {
			log_err("Failed to start serving container names: %s; routing goes on "
				"without them", strerror(-ret));
			docker_api_free(g->docker);
			dns_stop(g->dns);
			names_free(g->names);
			g->docker = NULL;
			g->dns = NULL;
			g->names = NULL;
			g->dns_msg.n = 0;
			g->dns_msg.domain[0] = '\0';
		}
	}
	tunnel_set_hooks(t, &hooks, g);
	g->disc = discover_new(c, guest_on_view, g);
	if (!g->disc) {
		log_err("Failed to start network discovery: %m");
		goto fail;
	}
	ret = loop_add_fd(loop, discover_fd(g->disc), EPOLLIN, guest_on_discover, g);
	if (ret == 0)
		ret = loop_add_periodic(loop, GUEST_TICK, guest_on_tick, g);
	if (ret) {
		log_err("Failed to watch networks: %s", strerror(-ret));
		goto fail;
	}
	/* The first dump happened in discover_new: act on it now. */
	guest_on_view(g, discover_view(g->disc));
	return g;
fail:
	guest_stop(g);
	return NULL;
}

void guest_stop(struct guest *g)
{
	if (!g)
		return;
	tunnel_unset_hooks(g->t, g);
	if (g->disc) {
		loop_del_fd(g->loop, discover_fd(g->disc));
		discover_free(g->disc);
	}
	if (g->fw) {
		if (firewall_event_fd(g->fw) >= 0)
			loop_del_fd(g->loop, firewall_event_fd(g->fw));
		firewall_remove(g->fw);
		firewall_free(g->fw);
	}
	docker_api_free(g->docker);
	dns_stop(g->dns);
	names_free(g->names);
	free(g->sources);
	free(g);
}

void guest_status(const struct guest *g, struct ctlsock_status *s)
{
	s->firewall = g->fw ? firewall_mech_name(firewall_mechanism(g->fw)) : "off";
	s->have_host_ctl = g->have_host_ctl;
	s->host_ctl = g->host_ctl;
	s->generation = g->adv.seq;
	s->acked = g->acked;
	s->names = g->names;
	if (g->docker)
		s->names_engine = docker_api_state_name(docker_api_state(g->docker));
	if (g->dns)
		s->dns_queries = dns_stats(g->dns)->queries;
	for (size_t i = 0; i < g->adv.n; i++) {
		struct ctlsock_prefix p = { .p = g->adv.prefixes[i],
					    .state = CTLSOCK_P_ADVERTISED };

		/* The host's remaps, as its last ACK told them. */
		for (size_t j = 0; j < g->n_remap; j++)
			if (prefix_equal(&g->remap[j].guest, &p.p))
				p.mapped = g->remap[j].host;
		ctlsock_render_add_prefix(s, &p);
	}
}
