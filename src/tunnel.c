/* tunnel.c - runs the WireGuard engine between a TUN device and a UDP socket
 *
 * Theory of operation: the engine (wg.c) is pure protocol; this file feeds
 * it. The TUN and UDP descriptors are non-blocking and registered with the
 * program's one event loop; each wake-up drains a bounded number of packets
 * and then asks the engine for its next timer deadline, which becomes the
 * loop's timer. Both programs use it: the guest dials the configured
 * endpoint (it can reach the host, not the reverse), the host waits and
 * learns each guest's address from its authenticated packets.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "ctlmsg.h"
#include "ctlsock_render.h"
#include "log.h"
#include "pool.h"
#include "resolve.h"
#include "statedir.h"
#include "tunnel.h"

#define TUNNEL_BURST		64		/* packets per wake-up and source */
/* batches per wake-up and source: up to ~1 MB, so the other direction waits little */
#define TUNNEL_BATCHES		8
#define TUNNEL_RESOLVE_RETRY	(5 * WG_NSEC)
#define TUNNEL_RESOLVE_POLL	(WG_NSEC / 20)	/* while a lookup runs */

static void tunnel_state_save(struct tunnel *t);
static void tunnel_schedule(struct tunnel *t);

static const char *tunnel_key_name(const uint8_t key[WG_KEY_LEN], char buf[KEY_B64_LEN + 1])
{
	key_to_base64(buf, key);
	return buf;
}

static const char *tunnel_peer_name(const struct wg_peer *p, char buf[KEY_B64_LEN + 1])
{
	uint8_t pub[WG_KEY_LEN];

	wg_peer_public_key(p, pub);
	return tunnel_key_name(pub, buf);
}

static const char *tunnel_ep_str(const struct wg_endpoint *ep, char *buf, size_t size)
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

static struct tunnel_peer *tunnel_peer_of(struct tunnel *t, struct wg_peer *wp)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].wg == wp)
			return &t->peers[i];
	return NULL;
}

/*
 * Endpoint names are looked up in the background (resolve.c): the loop
 * goes on with every other peer, the control socket and the timers while a
 * name server takes its time. tunnel_schedule() starts due lookups and
 * collects ended ones, polling every TUNNEL_RESOLVE_POLL while any runs.
 * A numeric endpoint needs no lookup and is set at once.
 */
static void tunnel_resolved(struct tunnel *t, struct tunnel_peer *tp, int ret,
			    struct addrinfo *res, uint64_t now)
{
	char name[KEY_B64_LEN + 1], epbuf[80];
	struct wg_endpoint ep;
	struct addrinfo *ai;

	if (!ret && !res)
		ret = EAI_NONAME;
	if (ret) {
		log_warn("Failed to resolve endpoint %s of peer %s: %s; retrying in %llu s",
			 tp->endpoint_name, tunnel_peer_name(tp->wg, name), gai_strerror(ret),
			 (unsigned long long)(TUNNEL_RESOLVE_RETRY / WG_NSEC));
		tp->resolve_at = now + TUNNEL_RESOLVE_RETRY;
		return;
	}
	/* Prefer IPv4: it is what host.docker.internal means to most VMs. */
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET)
			break;
	if (!ai)
		ai = res;
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep.sa, ai->ai_addr, ai->ai_addrlen <= sizeof(ep) ? ai->ai_addrlen : sizeof(ep));
	freeaddrinfo(res);
	wg_peer_set_endpoint(tp->wg, &ep);
	log_info("Peer %s endpoint %s is %s", tunnel_peer_name(tp->wg, name), tp->endpoint_name,
		 tunnel_ep_str(&ep, epbuf, sizeof(epbuf)));
}

/* Look the endpoint name up again; numeric endpoints never change. */
static void tunnel_resolve(struct tunnel *t, struct tunnel_peer *tp, uint64_t now)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res = NULL;
	char port[8], name[KEY_B64_LEN + 1];
	int family, ret;

	tp->resolve_at = 0;
	if (!tp->endpoint_name[0] || tp->lookup)
		return;		/* nothing to look up, or already under way */
	family = t->io.udp_family == AF_INET ? AF_INET : AF_UNSPEC;
	hints.ai_family = family;
	snprintf(port, sizeof(port), "%u", tp->port);
	ret = getaddrinfo(tp->endpoint_name, port, &hints, &res);
	if (ret != EAI_NONAME) {
		tunnel_resolved(t, tp, ret, res, now);
		return;
	}
	tp->lookup = resolve_start(tp->endpoint_name, tp->port, family);
	if (!tp->lookup) {
		log_warn("Failed to start looking up endpoint %s of peer %s: %m; "
			 "retrying in %llu s", tp->endpoint_name, tunnel_peer_name(tp->wg, name),
			 (unsigned long long)(TUNNEL_RESOLVE_RETRY / WG_NSEC));
		tp->resolve_at = now + TUNNEL_RESOLVE_RETRY;
	}
}

/* Take an ended lookup's answer; a guest then dials the host at once. */
static void tunnel_resolve_collect(struct tunnel *t, struct tunnel_peer *tp, uint64_t now)
{
	struct addrinfo *res;
	int ret;

	if (!tp->lookup || !resolve_done(tp->lookup, &ret, &res))
		return;
	resolve_free(tp->lookup);
	tp->lookup = NULL;
	tunnel_resolved(t, tp, ret, res, now);
	if (!ret && t->role == TUNNEL_GUEST)
		wg_peer_connect(tp->wg, now);
}

static int tunnel_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct tunnel *t = ctx;

	return t->io.ops->udp_send(&t->io, to, buf, len);
}

const struct prefix *tunnel_own_addr(const struct tunnel *t, int family)
{
	for (size_t i = 0; i < t->cfg.addresses.n; i++)
		if (t->cfg.addresses.v[i].family == family)
			return &t->cfg.addresses.v[i];
	return NULL;
}

static bool tunnel_is_own_addr(const struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->cfg.addresses.n; i++) {
		const struct prefix *o = &t->cfg.addresses.v[i];

		if (o->family == a->family &&
		    !memcmp(o->addr.b, a->addr.b, prefix_addr_len(a->family)))
			return true;
	}
	return false;
}

/*
 * Where a peer's daemon speaks: the address its control messages came
 * from, or a single-address entry of its configured AllowedIPs.
 */
static struct tunnel_peer *tunnel_ctl_peer(struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].ctl.family && prefix_equal(&t->peers[i].ctl, a))
			return &t->peers[i];
	for (size_t i = 0; i < t->n_peers && i < t->cfg.n_peers; i++) {
		const struct config_prefixes *l = &t->cfg.peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++)
			if (prefix_equal(&l->v[j], a))
				return &t->peers[i];
	}
	return NULL;
}

/* The peer whose configured AllowedIPs hold address a (its daemon may be there). */
static struct tunnel_peer *tunnel_allowed_peer(struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->n_peers && i < t->cfg.n_peers; i++) {
		const struct config_prefixes *l = &t->cfg.peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++)
			if (prefix_contains(&l->v[j], a))
				return &t->peers[i];
	}
	return NULL;
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
	if (!tunnel_is_own_addr(t, &dst)) {
		tp = tunnel_ctl_peer(t, &dst);
		if (!tp)
			tp = tunnel_allowed_peer(t, &dst);
		if (!tp)
			return false;
	}
	wg_count_drop(t->dev, tp ? tp->wg : NULL, WG_DROP_CTL_DEVICE);
	return true;
}

static int tunnel_queue_ctl(struct tunnel *t, struct tunnel_peer *tp, const struct prefix *dst,
			    const struct ctlmsg *m)
{
	struct tunnel_ctl_out *o;
	int n;

	if (!tunnel_own_addr(t, dst->family))
		return -EADDRNOTAVAIL;
	if (!tp->auth_ok)
		return -EPERM;	/* no keys for this peer: nothing to seal with */
	if (t->n_out >= TUNNEL_CTL_OUTBOX)
		return -ENOBUFS;
	o = &t->outbox[t->n_out];
	n = ctlmsg_seal(&tp->auth, m, o->msg, sizeof(o->msg));
	if (n < 0)
		return n;
	t->n_out++;
	o->dst = *dst;
	o->len = (size_t)n;
	if (!t->in_engine)
		tunnel_schedule(t);
	return 0;
}

int tunnel_send_ctl(struct tunnel *t, const struct prefix *dst, const struct ctlmsg *m)
{
	struct tunnel_peer *tp = tunnel_ctl_peer(t, dst);

	return tp ? tunnel_queue_ctl(t, tp, dst, m) : -EHOSTUNREACH;
}

/*
 * A control message for us: the peer's daemon's only if its tag verifies
 * and it is fresh; anything else is counted and dropped without a word,
 * except that a well-made message that is merely not fresh (a restart) is
 * answered with a HELLO carrying our challenge, at most ten a second.
 * Nothing else ever answers, so two daemons cannot keep each other busy.
 */
static void tunnel_ctl_in(struct tunnel *t, struct wg_peer *from, const struct prefix *src,
			  const uint8_t *msg, size_t len)
{
	static const struct ctlmsg hello = { .type = CTLMSG_HELLO };
	static struct ctlmsg m;		/* large: not on the stack */
	struct tunnel_peer *tp = tunnel_peer_of(t, from);
	uint64_t now;
	int ret;

	if (!tp || !tp->auth_ok) {
		wg_count_drop(t->dev, from, WG_DROP_CTL_AUTH);
		return;
	}
	ret = ctlmsg_open(&tp->auth, &m, msg, len);
	switch (ret) {
	case 0:
		tp->ctl = *src;
		t->hooks.on_ctl(t->hook_ctx, from, src, &m);
		break;
	case -ECONNRESET:
	case -ESTALE:
		wg_count_drop(t->dev, from, WG_DROP_CTL_STALE);
		now = loop_now();
		if ((ret == -ECONNRESET || m.type != CTLMSG_HELLO) && now >= tp->hello_at) {
			tp->hello_at = now + WG_NSEC / 10;
			tunnel_queue_ctl(t, tp, src, &hello);
		}
		break;
	case -EALREADY:
		wg_count_drop(t->dev, from, WG_DROP_CTL_REPLAY);
		break;
	default:
		wg_count_drop(t->dev, from, WG_DROP_CTL_AUTH);
		break;
	}
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
		if (mlen >= 0 && tunnel_is_own_addr(t, &dst)) {
			tunnel_ctl_in(t, from, &src, msg, (size_t)mlen);
			return 0;
		}
	}
	n = t->io.ops->tun_write(&t->io, pkt, len);
	return n < 0 ? (int)n : 0;
}

static void tunnel_flush_ctl(struct tunnel *t, uint64_t now)
{
	uint8_t *pkt = t->ctlbuf + WG_HEADROOM;
	int n;

	for (size_t i = 0; i < t->n_out; i++) {
		const struct tunnel_ctl_out *o = &t->outbox[i];

		n = ctlmsg_wrap(pkt, 1280, tunnel_own_addr(t, o->dst.family), &o->dst,
				o->msg, o->len);
		if (n > 0) {
			captap_hook(t->tap, pkt, (size_t)n);
			wg_device_tx(t->dev, pkt, (size_t)n, now);
		}
	}
	t->n_out = 0;
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
			tunnel_state_save(t);
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

/*
 * The host learns guests' endpoints only from their packets. It writes them
 * down, so that after a restart (crash, upgrade) it can dial the guests at
 * once instead of waiting for them to notice the lost session.
 */
static void tunnel_state_path(const struct tunnel *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.endpoints", t->cfg.state_dir, t->cfg.ifname);
}

static void tunnel_state_save(struct tunnel *t)
{
	char path[320], tmp[336], key[KEY_B64_LEN + 1], ep[80], err[CONFIG_ERR_LEN];
	struct wg_endpoint e;
	FILE *f;
	int fd;

	tunnel_state_path(t, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (statedir_prepare(&t->cfg, err, sizeof(err))) {
		log_debug("%s", err);
		return;
	}
	/* A new file, never through a symlink, then renamed over the old. */
	fd = statedir_create(tmp);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		log_debug("Cannot write %s: %s", tmp, strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < t->n_peers; i++)
		if (wg_peer_get_endpoint(t->peers[i].wg, &e))
			fprintf(f, "%s %s\n", tunnel_peer_name(t->peers[i].wg, key),
				tunnel_ep_str(&e, ep, sizeof(ep)));
	if (fclose(f) || rename(tmp, path) < 0) {
		log_debug("Cannot write %s: %m", path);
		unlink(tmp);
	}
}

static void tunnel_state_load(struct tunnel *t)
{
	char path[320], line[256], keytxt[64], host[80], *colon, err[CONFIG_ERR_LEN];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	uint8_t key[WG_KEY_LEN];
	FILE *f;
	int fd;

	tunnel_state_path(t, path, sizeof(path));
	if (statedir_prepare(&t->cfg, err, sizeof(err))) {
		log_err("%s; not reading remembered endpoints", err);
		return;
	}
	fd = statedir_open(path);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		struct addrinfo *res = NULL;
		struct wg_endpoint ep;
		struct wg_peer *p;

		if (sscanf(line, "%63s %79s", keytxt, host) != 2 || key_from_base64(key, keytxt))
			continue;
		p = wg_peer_find(t->dev, key);
		if (!p || wg_peer_get_endpoint(p, &ep))
			continue;	/* unknown now, or configured */
		colon = strrchr(host, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (host[0] == '[' && colon[-1] == ']') {
			colon[-1] = '\0';
			memmove(host, host + 1, strlen(host));
		}
		if (getaddrinfo(host, colon + 1, &hints, &res) || !res)
			continue;
		memset(&ep, 0, sizeof(ep));
		if (res->ai_addrlen <= sizeof(ep)) {
			memcpy(&ep.sa, res->ai_addr, res->ai_addrlen);
			wg_peer_set_endpoint(p, &ep);
			wg_peer_connect(p, loop_now());
			log_info("Dialling peer %s at its last known address %s:%s", keytxt,
				 host, colon + 1);
		}
		freeaddrinfo(res);
	}
	fclose(f);
}

/* Run due timers and name lookups, then arm the loop for the next one. */
static void tunnel_schedule(struct tunnel *t)
{
	uint64_t now = loop_now(), next;

	t->in_engine = true;
	tunnel_flush_ctl(t, now);
	for (size_t i = 0; i < t->n_peers; i++) {
		tunnel_resolve_collect(t, &t->peers[i], now);
		if (t->peers[i].resolve_at && t->peers[i].resolve_at <= now)
			tunnel_resolve(t, &t->peers[i], now);
	}
	next = wg_device_tick(t->dev, now);
	/* Timers may have produced control messages (events): send them too. */
	tunnel_flush_ctl(t, now);
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
 * The control messages' keys, from our private key, the peer's public key
 * and the preshared key; a peer kept over a reload keeps its challenges and
 * counters (its daemon did not restart).
 */
static void tunnel_peer_auth(struct tunnel *t, struct tunnel_peer *tp,
			     const struct tunnel_peer *old, const struct config_peer *cp)
{
	const uint8_t *psk = cp->has_preshared_key ? cp->preshared_key : NULL;
	char name[KEY_B64_LEN + 1];
	int ret;

	if (old && old->auth_ok) {
		tp->auth = old->auth;
		tp->ctl = old->ctl;
		tp->hello_at = old->hello_at;
		ret = ctlmsg_auth_keys(&tp->auth, t->cfg.private_key, cp->public_key, psk);
	} else {
		ret = ctlmsg_auth_init(&tp->auth, t->cfg.private_key, cp->public_key, psk);
	}
	tp->auth_ok = ret == 0;
	if (ret)
		log_warn("No control message keys for peer %s: %s; its control messages "
			 "are dropped", tunnel_key_name(cp->public_key, name), strerror(-ret));
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
		tunnel_peer_auth(t, tp, old, cp);
		if (tp->endpoint_name[0]) {
			/* A changed endpoint is looked up again; an unchanged one kept. */
			if (fresh || !old || strcmp(old->endpoint_name, tp->endpoint_name) || old->port != tp->port) {
				tunnel_resolve(t, tp, now);
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
		tunnel_state_load(t);
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

void tunnel_stats(const struct tunnel *t, struct ctlsock_snap *snap)
{
	uint8_t pub[WG_KEY_LEN];
	struct wg_peer *peer = NULL;
	struct wg_endpoint ep;

	snap->guest = t->role == TUNNEL_GUEST;
	snprintf(snap->ifname, sizeof(snap->ifname), "%s", t->ifname);
	wg_device_public_key(t->dev, pub);
	key_to_base64(snap->public_key, pub);
	snap->listen_port = t->cfg.listen_port;
	snprintf(snap->packet_io, sizeof(snap->packet_io), "%s", pktio_desc(&t->io));
	snap->crypto_threads = t->pool ? 1 + pool_workers(t->pool) : 0;
	for (unsigned int i = 0; i < snap->crypto_threads; i++)
		snap->crypto_jobs[i] = pool_jobs_done(t->pool, i);
	memcpy(snap->device_drops, wg_device_stats(t->dev)->drops, sizeof(snap->device_drops));
	memcpy(snap->pktio_drops, t->io.stats.drops, sizeof(snap->pktio_drops));
	snap->n_peers = 0;
	while ((peer = wg_peer_next(t->dev, peer)) && snap->n_peers < CONFIG_MAX_PEERS) {
		struct ctlsock_peer *p = &snap->peers[snap->n_peers++];

		p->id = peer;
		wg_peer_public_key(peer, pub);
		key_to_base64(p->key, pub);
		p->endpoint[0] = '\0';
		if (wg_peer_get_endpoint(peer, &ep))
			tunnel_ep_str(&ep, p->endpoint, sizeof(p->endpoint));
		p->st = *wg_peer_stats(peer);
	}
}
