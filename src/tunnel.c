/* tunnel.c - runs the WireGuard engine between a TUN device and a UDP socket
 *
 * Theory of operation: the engine (wg.c) is pure protocol; this file feeds
 * it. The TUN and UDP descriptors are non-blocking and registered with the
 * program's one event loop; each wake-up drains a bounded number of packets
 * and then asks the engine for its next timer deadline, which becomes the
 * loop's timer. Both programs use it: the guest dials the configured
 * endpoint (it can reach the host, not the reverse), the host waits and
 * learns each guest's address from its authenticated packets.
 *
 * The runtime is in four files sharing src/tunnel_int.h: this one (start,
 * reload and stop, the peers and routes a configuration asks for, the
 * packet I/O and the loop's timer, the engine's callbacks, and the
 * accessors), tunnel_endpoint.c (endpoint names and the remembered
 * endpoints), tunnel_ctl.c (control messages between the daemons) and
 * tunnel_stats.c (the tunnel's part of a status snapshot). Every packet
 * goes through this file alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "ctlmsg.h"
#include "log.h"
#include "pool.h"
#include "resolve.h"
#include "tunnel.h"
#include "tunnel_int.h"

#define TUNNEL_BURST		64		/* packets per wake-up and source */
/* batches per wake-up and source: up to ~1 MB, so the other direction waits little */
#define TUNNEL_BATCHES		8

const char *tunnel_key_name(const uint8_t key[WG_KEY_LEN], char buf[KEY_B64_LEN + 1])
{
	key_to_base64(buf, key);
	return buf;
}

const char *tunnel_peer_name(const struct wg_peer *p, char buf[KEY_B64_LEN + 1])
{
	uint8_t pub[WG_KEY_LEN];

	wg_peer_public_key(p, pub);
	return tunnel_key_name(pub, buf);
}

const char *tunnel_ep_str(const struct wg_endpoint *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in.sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(ep->in.sin_port));
	} else {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(ep->in6.sin6_port));
	}
	return buf;
}

struct tunnel_peer *tunnel_peer_of(struct tunnel *t, struct wg_peer *wp)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].wg == wp)
			return &t->peers[i];
	return NULL;
}

static int tunnel_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct tunnel *t = ctx;

	return t->io.ops->udp_send(&t->io, to, buf, len);
}

/*
 * Only the daemons speak on the control port, and they hand their messages
 * to the engine directly: a packet read from the device (a container in
 * the VM, any process on the host) to that port of one of our addresses,
 * or of any address a peer's daemon could hold (inside its configured
 * AllowedIPs: the peer takes control messages on any address of its own),
 * is dropped.
 */
static bool tunnel_tun_forged(struct tunnel *t, const uint8_t *pkt, size_t len)
{
	struct tunnel_peer *tp = NULL;
	struct prefix dst;

	if (!ctlmsg_is_control(pkt, len, &dst))
		return false;
	if (!tunnel_ctl_is_own_addr(t, &dst)) {
		tp = tunnel_ctl_peer(t, &dst);
		if (!tp)
			tp = tunnel_ctl_allowed_peer(t, &dst);
		if (!tp)
			return false;
	}
	wg_count_drop(t->dev, tp ? tp->wg : NULL, WG_DROP_CTL_DEVICE);
	return true;
}

/*
 * Control messages to our own tunnel address are taken out here, before
 * the device; everything else goes to the kernel. The engine already
 * checked the inner source against the peer's allowed IPs, so `from` is
 * the peer's side; the message's tag says whether its daemon wrote it.
 */
static int tunnel_deliver(void *ctx, struct wg_peer *from, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = ctx;
	struct prefix src, dst;
	const uint8_t *msg;
	ssize_t n;
	int mlen;

	/* Captures see each packet as opened, before the device write merges them. */
	captap_hook(t->tap, pkt, len);
	if (t->hooks.on_ctl) {
		mlen = ctlmsg_unwrap(pkt, len, &src, &dst, &msg);
		if (mlen >= 0 && tunnel_ctl_is_own_addr(t, &dst)) {
			tunnel_ctl_in(t, from, &src, msg, (size_t)mlen);
			return 0;
		}
	}
	n = t->io.ops->tun_write(&t->io, pkt, len);
	return n < 0 ? (int)n : 0;
}

static void tunnel_event(void *ctx, struct wg_peer *peer, enum wg_event ev)
{
	struct tunnel *t = ctx;
	struct tunnel_peer *tp = tunnel_peer_of(t, peer);
	struct wg_endpoint ep;
	char name[KEY_B64_LEN + 1], epbuf[80];

	tunnel_peer_name(peer, name);
	switch (ev) {
	case WG_EV_HANDSHAKE_DONE:
		log_info("Handshake with peer %s completed", name);
		break;
	case WG_EV_ENDPOINT_CHANGED:
		if (wg_peer_get_endpoint(peer, &ep))
			log_info("Peer %s is now at %s", name,
				 tunnel_ep_str(&ep, epbuf, sizeof(epbuf)));
		if (t->role == TUNNEL_HOST)
			tunnel_endpoint_save(t);
		break;
	case WG_EV_HANDSHAKE_TIMEOUT:
		log_notice("Peer %s did not answer the handshake", name);
		/* The host may have moved (sleep/wake, new network): look again. */
		if (tp && tp->endpoint_name[0])
			tp->resolve_at = loop_now();
		break;
	case WG_EV_SESSION_EXPIRED:
		log_info("Session with peer %s expired, keys erased", name);
		break;
	}
	if (t->hooks.on_event)
		t->hooks.on_event(t->hook_ctx, peer, ev);
}

static const struct wg_ops tunnel_wg_ops = {
	.send = tunnel_send,
	.deliver = tunnel_deliver,
	.event = tunnel_event,
};

static void tunnel_on_timer(void *ctx, int fd, uint32_t events);

/* Run due timers and name lookups, then arm the loop for the next one. */
void tunnel_schedule(struct tunnel *t)
{
	uint64_t now = loop_now(), next;

	t->in_engine = true;
	tunnel_ctl_flush(t, now);
	for (size_t i = 0; i < t->n_peers; i++) {
		tunnel_endpoint_collect(t, &t->peers[i], now);
		if (t->peers[i].resolve_at && t->peers[i].resolve_at <= now)
			tunnel_endpoint_resolve(t, &t->peers[i], now);
	}
	next = wg_device_tick(t->dev, now);
	/* Timers may have produced control messages (events): send them too. */
	tunnel_ctl_flush(t, now);
	t->in_engine = false;
	for (size_t i = 0; i < t->n_peers; i++) {
		if (t->peers[i].resolve_at && t->peers[i].resolve_at < next)
			next = t->peers[i].resolve_at;
		if (t->peers[i].lookup && now + TUNNEL_RESOLVE_POLL < next)
			next = now + TUNNEL_RESOLVE_POLL;
	}
	t->deadline = next;
	if (loop_set_timer(t->loop, next, tunnel_on_timer, t) < 0)
		log_err("Failed to arm the timer: %m");
}

static void tunnel_on_timer(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	tunnel_schedule(ctx);
}

/* Batches: superpackets arrive cut, sends leave grouped at udp_flush (pktio.h). */
static void tunnel_tun_batches(struct tunnel *t, uint64_t now)
{
	struct wg_packet *p;
	int n, kept;

	for (int i = 0; i < TUNNEL_BATCHES; i++) {
		n = t->io.ops->tun_read_batch(&t->io, &p);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n < 0) {
			log_err("Failed to read from %s: %s", t->ifname, strerror(-n));
			break;
		}
		kept = 0;
		for (int j = 0; j < n; j++) {
			if (tunnel_tun_forged(t, p[j].data, p[j].len))
				continue;
			captap_hook(t->tap, p[j].data, p[j].len);
			p[kept++] = p[j];
		}
		if (kept)
			wg_device_tx_batch(t->dev, p, (size_t)kept, now);
	}
	t->io.ops->udp_flush(&t->io);
}

static void tunnel_on_tun(void *ctx, int fd, uint32_t events)
{
	struct tunnel *t = ctx;
	uint8_t *pkt = t->buf + WG_HEADROOM;
	uint64_t now = loop_now();
	ssize_t n;

	(void)fd;
	(void)events;
	t->in_engine = true;
	if (t->io.ops->tun_read_batch) {
		tunnel_tun_batches(t, now);
		tunnel_schedule(t);
		return;
	}
	for (int i = 0; i < TUNNEL_BURST; i++) {
		n = t->io.ops->tun_read(&t->io, pkt, WG_MAX_PACKET);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n < 0) {
			log_err("Failed to read from %s: %s", t->ifname, strerror((int)-n));
			break;
		}
		if (tunnel_tun_forged(t, pkt, (size_t)n))
			continue;
		captap_hook(t->tap, pkt, (size_t)n);
		wg_device_tx(t->dev, pkt, (size_t)n, now);
	}
	tunnel_schedule(t);
}

/* Batches: GRO messages arrive cut, device writes leave merged at tun_flush. */
static void tunnel_udp_batches(struct tunnel *t, uint64_t now)
{
	struct wg_datagram *d;
	int n;

	for (int i = 0; i < TUNNEL_BATCHES; i++) {
		n = t->io.ops->udp_recv_batch(&t->io, &d);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n < 0) {
			/* ICMP errors surface here (ECONNREFUSED ...); keep going. */
			log_debug("UDP receive: %s", strerror(-n));
			continue;
		}
		wg_device_rx_batch(t->dev, d, (size_t)n, now);
		t->io.ops->tun_flush(&t->io);
	}
	t->io.ops->udp_flush(&t->io);
}

static void tunnel_on_udp(void *ctx, int fd, uint32_t events)
{
	struct tunnel *t = ctx;
	struct wg_endpoint from;
	uint64_t now = loop_now();
	ssize_t n;

	(void)fd;
	(void)events;
	t->in_engine = true;
	if (t->io.ops->udp_recv_batch) {
		tunnel_udp_batches(t, now);
		tunnel_schedule(t);
		return;
	}
	for (int i = 0; i < TUNNEL_BURST; i++) {
		n = t->io.ops->udp_recv(&t->io, t->buf, sizeof(t->buf), &from);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n == -EMSGSIZE || n == -EAFNOSUPPORT)
			continue;	/* not something a peer could have sent */
		if (n < 0) {
			/* ICMP errors surface here (ECONNREFUSED ...); keep going. */
			log_debug("UDP receive: %s", strerror((int)-n));
			continue;
		}
		wg_device_rx(t->dev, &from, t->buf, (size_t)n, now);
	}
	tunnel_schedule(t);
}

/* Routes the host installs: allowed IPs the interface's addresses do not cover. */
static bool tunnel_wants_route(const struct tunnel *t, const struct config *c,
			       const struct prefix *p)
{
	if (t->role != TUNNEL_HOST)
		return false;
	if (p->len == 0)
		return false;	/* a default route through a VM is never what is meant */
	for (size_t i = 0; i < c->addresses.n; i++) {
		struct prefix net = c->addresses.v[i];

		prefix_mask(&net);
		if (prefix_contains(&net, p))
			return false;
	}
	return true;
}

static void tunnel_routes(struct tunnel *t, const struct config *old, const struct config *c)
{
	char buf[PREFIX_STRLEN];
	int ret;

	/* Remove what the old configuration routed and the new one does not. */
	for (size_t i = 0; old && i < old->n_peers; i++) {
		const struct config_prefixes *l = &old->peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++) {
			bool keep = false;

			if (!tunnel_wants_route(t, old, &l->v[j]))
				continue;
			for (size_t k = 0; k < c->n_peers && !keep; k++)
				for (size_t m = 0; m < c->peers[k].allowed_ips.n && !keep; m++)
					keep = prefix_equal(&c->peers[k].allowed_ips.v[m], &l->v[j]) &&
					       tunnel_wants_route(t, c, &l->v[j]);
			if (!keep)
				platform_route_del(t->plat, &l->v[j]);
		}
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct config_prefixes *l = &c->peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++) {
			if (t->role == TUNNEL_HOST && l->v[j].len == 0)
				log_warn("AllowedIPs = %s is not routed: it would send all of this "
					 "host's traffic into the VM; list the networks to reach",
					 prefix_format(&l->v[j], buf, sizeof(buf)));
			if (!tunnel_wants_route(t, c, &l->v[j]))
				continue;
			ret = platform_route_add(t->plat, &l->v[j]);
			if (ret && ret != -EEXIST)
				log_warn("Failed to add route %s dev %s: %s",
					 prefix_format(&l->v[j], buf, sizeof(buf)), t->ifname,
					 strerror(-ret));
		}
	}
}

/*
 * Free a list of peers that is going away (reload, stop): abandon their
 * name lookups and wipe their control message keys.
 */
static void tunnel_peers_free(struct tunnel_peer *peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		resolve_free(peers[i].lookup);
		peers[i].lookup = NULL;
		ctlmsg_auth_wipe(&peers[i].auth);
	}
	free(peers);
}

/* Make the engine's peers match c->peers; t->peers is rebuilt in c's order. */
static int tunnel_sync_peers(struct tunnel *t, const struct config *c)
{
	struct tunnel_peer *np = calloc(c->n_peers ? c->n_peers : 1, sizeof(*np));
	char buf[PREFIX_STRLEN], name[KEY_B64_LEN + 1];
	uint64_t now = loop_now();
	int ret;

	if (!np)
		return -ENOMEM;
	/* Peers no longer configured go first, with their sessions. */
	for (size_t i = 0; i < t->n_peers; i++) {
		bool keep = false;
		uint8_t pub[WG_KEY_LEN];

		wg_peer_public_key(t->peers[i].wg, pub);
		for (size_t j = 0; j < c->n_peers; j++)
			keep |= !memcmp(pub, c->peers[j].public_key, WG_KEY_LEN);
		if (!keep) {
			log_info("Removing peer %s", tunnel_peer_name(t->peers[i].wg, name));
			wg_peer_remove(t->peers[i].wg);
		}
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct config_peer *cp = &c->peers[i];
		struct tunnel_peer *tp = &np[i], *old;
		bool fresh = false;

		tp->wg = wg_peer_find(t->dev, cp->public_key);
		if (!tp->wg) {
			tp->wg = wg_peer_new(t->dev, cp->public_key,
					     cp->has_preshared_key ? cp->preshared_key : NULL);
			if (!tp->wg) {
				ret = -errno;
				log_err("Failed to add peer %s: %s",
					tunnel_key_name(cp->public_key, name),
					strerror(errno));
				tunnel_peers_free(np, i);
				return ret;
			}
			fresh = true;
		}
		wg_peer_clear_allowed(tp->wg);
		for (size_t j = 0; j < cp->allowed_ips.n; j++) {
			ret = wg_peer_allow(tp->wg, &cp->allowed_ips.v[j]);
			if (ret)
				log_err("Failed to allow %s for a peer: %s",
					prefix_format(&cp->allowed_ips.v[j], buf, sizeof(buf)),
					strerror(-ret));
		}
		wg_peer_set_keepalive(tp->wg, cp->persistent_keepalive);
		snprintf(tp->endpoint_name, sizeof(tp->endpoint_name), "%s", cp->endpoint_host);
		tp->port = cp->endpoint_port;
		old = NULL;
		for (size_t k = 0; k < t->n_peers && !fresh; k++)
			if (t->peers[k].wg == tp->wg)
				old = &t->peers[k];
		tunnel_ctl_auth(t, tp, old, cp);
		if (tp->endpoint_name[0]) {
			/* A changed endpoint is looked up again; an unchanged one kept. */
			if (fresh || !old || strcmp(old->endpoint_name, tp->endpoint_name) || old->port != tp->port) {
				tunnel_endpoint_resolve(t, tp, now);
			} else {
				tp->resolve_at = old->resolve_at;
				tp->lookup = old->lookup;	/* still the right name */
				old->lookup = NULL;
			}
		}
		if (fresh)
			log_info("Added peer %s", tunnel_peer_name(tp->wg, name));
		/* with its name still being looked up, it dials once that ends */
		if (t->role == TUNNEL_GUEST && tp->endpoint_name[0] && !tp->lookup)
			wg_peer_connect(tp->wg, now);
	}
	tunnel_peers_free(t->peers, t->n_peers);
	t->peers = np;
	t->n_peers = c->n_peers;
	return 0;
}

#ifdef GANGWAY_TEST_HOOKS
/*
 * Shortened protocol timers, "name=seconds,...", for the tests that need
 * many rekeys. Only the test build of the programs ($(BUILD)/test-hooks/,
 * made by `make tests`) has this: the production programs ignore the
 * variable.
 */
static void tunnel_test_timers(struct tunnel *t)
{
	const char *env = getenv("GANGWAY_TEST_TIMERS");
	struct wg_timers tm;
	char *copy, *tok, *save = NULL;

	if (!env || !*env)
		return;
	wg_timers_default(&tm);
	copy = strdup(env);
	if (!copy)
		return;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t v;

		if (!eq)
			continue;
		*eq = '\0';
		v = (uint64_t)(strtod(eq + 1, NULL) * 1e9);
		if (!strcmp(tok, "rekey_after_time"))
			tm.rekey_after_time = v;
		else if (!strcmp(tok, "reject_after_time"))
			tm.reject_after_time = v;
		else if (!strcmp(tok, "rekey_attempt_time"))
			tm.rekey_attempt_time = v;
		else if (!strcmp(tok, "rekey_timeout"))
			tm.rekey_timeout = v;
		else if (!strcmp(tok, "keepalive_timeout"))
			tm.keepalive_timeout = v;
		else if (!strcmp(tok, "rekey_after_messages"))
			tm.rekey_after_messages = (uint64_t)strtoull(eq + 1, NULL, 10);
	}
	free(copy);
	log_warn("Using test timers: %s", env);
	wg_device_set_timers(t->dev, &tm);
}
#endif

/*
 * CryptoWorkers = auto: one worker per two CPUs beyond the first two, at
 * most POOL_MAX_WORKERS. The tunnel shares the machine with the traffic's
 * own ends (containers, the kernel's forwarding): on the 2-CPU test
 * machine a worker bought no throughput and cost about a fifth more CPU
 * per byte (docs/performance.md), so small machines keep one thread.
 */
static int tunnel_auto_workers(void)
{
#ifdef __linux__
	cpu_set_t cpus;
	int n;

	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		return 0;
	n = (CPU_COUNT(&cpus) - 2) / 2;
	if (n < 0)
		n = 0;
	return n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : n;
#else
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long n = cpus > 2 ? (cpus - 2) / 2 : 0;

	return n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : (int)n;
#endif
}

/*
 * CryptoWorkers = auto | 0-3 (GANGWAY_CRYPTO_WORKERS overrides it): threads
 * that share the seal and open of each batch with the event loop (see
 * tunnel_auto_workers). Every packet I/O hands the engine batches (pktio.h).
 */
static int tunnel_start_pool(struct tunnel *t)
{
	const char *env = getenv("GANGWAY_CRYPTO_WORKERS");
	int n = t->cfg.crypto_workers, ret;

	if (env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (*env && !*end && v >= 0 && v <= POOL_MAX_WORKERS)
			n = (int)v;
		else
			log_warn("GANGWAY_CRYPTO_WORKERS=%s is not 0-%d; ignoring", env,
				 POOL_MAX_WORKERS);
	}
	if (n < 0)
		n = tunnel_auto_workers();
	if (n <= 0 || !t->io.ops->tun_read_batch)
		return 0;
	t->pool = pool_new((unsigned int)n);
	if (!t->pool) {
		ret = -errno;
		log_err("Failed to start %d crypto worker thread(s): %s", n, strerror(-ret));
		return ret;
	}
	ret = wg_device_set_pool(t->dev, t->pool);
	if (ret)
		return ret;
	log_info("%u crypto worker thread(s)", pool_workers(t->pool));
	return 0;
}

int tunnel_start(struct tunnel *t, struct loop *loop, struct config *cfg,
		 enum tunnel_role role)
{
	char buf[PREFIX_STRLEN];
	int ret;

	t->role = role;
	t->loop = loop;
	t->cfg = *cfg;
	config_init(cfg);
	t->io.ops = &pktio_plain_ops;
	t->io.tun_fd = t->io.udp_fd = -1;
	/*
	 * PacketIO = fast (default) | batch | plain: the fast path and its
	 * fallbacks. GANGWAY_PKTIO overrides it, so tests and benchmarks can
	 * pick one without editing the file.
	 */
	t->io.mode = getenv("GANGWAY_PKTIO");
	if (!t->io.mode && t->cfg.packet_io[0])
		t->io.mode = t->cfg.packet_io;
	t->io.mtu = t->cfg.mtu;

	ret = crypto_init();
	if (ret) {
		log_err("Failed to initialise the crypto library: %s", strerror(-ret));
		return ret;
	}
	t->dev = wg_device_new(t->cfg.private_key, &tunnel_wg_ops, t);
	if (!t->dev) {
		ret = -errno;
		log_err("Failed to create the WireGuard device: %m");
		return ret;
	}
	wg_device_set_mtu(t->dev, t->cfg.mtu);
#ifdef GANGWAY_TEST_HOOKS
	tunnel_test_timers(t);
#endif

	t->plat = platform_open();
	if (!t->plat) {
		ret = -errno;
		log_err("Failed to open the interface configuration socket: %m");
		return ret;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", t->cfg.ifname);
	ret = platform_tun_open(t->plat, &t->io, t->ifname, sizeof(t->ifname));
	if (ret) {
		log_err("Failed to create TUN device %s: %s", t->ifname, strerror(-ret));
		return ret;
	}
	t->ifindex = platform_ifindex(t->plat);
	for (size_t i = 0; i < t->cfg.addresses.n; i++) {
		ret = platform_addr_add(t->plat, &t->cfg.addresses.v[i]);
		if (ret) {
			log_err("Failed to add address %s to %s: %s",
				prefix_format(&t->cfg.addresses.v[i], buf, sizeof(buf)),
				t->ifname, strerror(-ret));
			return ret;
		}
	}
	ret = platform_up(t->plat, t->cfg.mtu);
	if (ret) {
		log_err("Failed to bring %s up: %s", t->ifname, strerror(-ret));
		return ret;
	}
	ret = pktio_udp_open(&t->io, t->cfg.listen_port);
	if (ret) {
		log_err("Failed to open UDP port %u: %s", t->cfg.listen_port, strerror(-ret));
		return ret;
	}
	log_info("Tunnel %s up, listening on UDP port %u (%s), packet I/O %s", t->ifname,
		 t->io.udp_port, t->io.udp_family == AF_INET6 ? "IPv4 and IPv6" : "IPv4",
		 pktio_desc(&t->io));

	ret = tunnel_start_pool(t);
	if (ret)
		return ret;
	ret = tunnel_sync_peers(t, &t->cfg);
	if (ret)
		return ret;
	tunnel_routes(t, NULL, &t->cfg);
	if (t->role == TUNNEL_HOST)
		tunnel_endpoint_load(t);
	if ((ret = loop_add_fd(loop, t->io.tun_fd, LOOP_IN, tunnel_on_tun, t)) < 0 ||
	    (ret = loop_add_fd(loop, t->io.udp_fd, LOOP_IN, tunnel_on_udp, t)) < 0) {
		log_err("Failed to watch the tunnel: %s", strerror(-ret));
		return ret;
	}
	tunnel_schedule(t);
	return 0;
}

int tunnel_reload(struct tunnel *t, struct config *cfg)
{
	struct config old;
	int ret;

	if (config_restart_change(&t->cfg, cfg)) {
		log_err(CONFIG_RESTART_KEYS " change only on restart; "
			"keeping the running configuration");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->addresses.n; i++)
		platform_addr_add(t->plat, &cfg->addresses.v[i]);
	ret = tunnel_sync_peers(t, cfg);
	if (ret)
		return ret;
	tunnel_routes(t, &t->cfg, cfg);
	old = t->cfg;
	t->cfg = *cfg;
	config_init(cfg);
	config_free(&old);
	tunnel_schedule(t);
	log_info("Configuration reloaded: %zu peer(s)", t->n_peers);
	return 0;
}

void tunnel_stop(struct tunnel *t)
{
	if (t->plat && t->ifindex > 0) {
		struct config none;

		config_init(&none);
		tunnel_routes(t, &t->cfg, &none);
	}
	if (t->loop) {
		if (t->io.tun_fd >= 0)
			loop_del_fd(t->loop, t->io.tun_fd);
		if (t->io.udp_fd >= 0)
			loop_del_fd(t->loop, t->io.udp_fd);
		loop_set_timer(t->loop, UINT64_MAX, NULL, NULL);
	}
	/* Closing the TUN descriptor deletes the device and its addresses. */
	pktio_close(&t->io);
	if (t->dev)
		wg_device_free(t->dev);
	pool_free(t->pool);
	t->pool = NULL;
	platform_close(t->plat);
	tunnel_peers_free(t->peers, t->n_peers);
	config_free(&t->cfg);
	crypto_wipe(t->buf, sizeof(t->buf));
	t->dev = NULL;
	t->plat = NULL;
	t->peers = NULL;
	t->n_peers = 0;
}

void tunnel_set_hooks(struct tunnel *t, const struct tunnel_hooks *hooks, void *ctx)
{
	if (!hooks) {
		t->hooks = (struct tunnel_hooks){ 0 };
		t->hook_ctx = NULL;
		return;
	}
	t->hooks = *hooks;
	t->hook_ctx = ctx;
}

void tunnel_unset_hooks(struct tunnel *t, void *ctx)
{
	if (t->hook_ctx == ctx)
		tunnel_set_hooks(t, NULL, NULL);
}

void tunnel_set_tap(struct tunnel *t, struct captap *tap)
{
	t->tap = tap;
}

const struct config *tunnel_config(const struct tunnel *t)
{
	return &t->cfg;
}

struct platform *tunnel_platform(const struct tunnel *t)
{
	return t->plat;
}

struct wg_device *tunnel_device(const struct tunnel *t)
{
	return t->dev;
}

const char *tunnel_ifname(const struct tunnel *t)
{
	return t->ifname;
}
