/* ctlsock.c - the daemons' local control socket: status as text, JSON and Prometheus
 *
 * Theory of operation: a listening unix socket, mode 0600, in the loop. A
 * connection is accepted non-blocking and read as the loop reports data,
 * never blocking the packet path; at most CTLSOCK_MAX_CLIENTS are read at
 * once, and one that has not sent its request within CTLSOCK_TIMEOUT is
 * dropped at the next accept. Peers other than root (SO_PEERCRED) are
 * answered with an error, unless ControlGroup names a group they are in:
 * then the socket is 0660 with that group, and the peer's uid must be 0,
 * its gid the group's, or its passwd entry a member (getgrouplist). The
 * file mode is the first wall, the credentials check the second. The
 * reply is built whole in memory (bounded) and
 * written with a short send timeout: a client that does not read loses
 * its reply, the daemon loses at most that timeout. A capture request is
 * different: its connection is handed to the tap (captap.c), which streams
 * pcap on it without ever waiting, until the client closes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock.h"
#include "key.h"
#include "log.h"
#include "pool.h"
#include "statedir.h"

#define CTLSOCK_TIMEOUT		(2 * WG_NSEC)

struct ctlsock_client {
	int fd;				/* -1 = free */
	uint64_t since;
	size_t len;
	char req[CTLSOCK_MAX_REQ];
};

struct ctlsock {
	struct tunnel *t;
	struct loop *loop;
	ctlsock_status_fn fn;
	void *ctx;
	ctlsock_reload_fn reload;
	void *reload_ctx;
	bool have_group;		/* ControlGroup: its members may connect */
	gid_t gid;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctlsock_client clients[CTLSOCK_MAX_CLIENTS];
	struct captap *tap;		/* capture requests; NULL where not built in */
};

/*
 * "capture [snaplen N] [filter EXPR...]" (buf checked for bytes already,
 * len without the CR); cap may be NULL to only check it.
 */
static int ctlsock_capture_args(const char *buf, size_t len, struct ctlsock_capture *cap)
{
	static const char word[] = "capture", snap[] = "snaplen ", filt[] = "filter ";
	uint32_t snaplen = 0;
	size_t i = sizeof(word) - 1, digits = 0;

	if (len < i || memcmp(buf, word, i))
		return -EINVAL;
	if (cap) {
		cap->snaplen = 0;
		cap->filter[0] = '\0';
	}
	if (i == len)
		return 0;
	if (buf[i++] != ' ')
		return -EINVAL;
	if (len - i >= sizeof(snap) - 1 && !memcmp(buf + i, snap, sizeof(snap) - 1)) {
		for (i += sizeof(snap) - 1; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
			snaplen = snaplen * 10 + (uint32_t)(buf[i] - '0');
			if (snaplen > CAPTAP_SNAPLEN_MAX || ++digits > 7)
				return -EINVAL;
		}
		if (!digits || !snaplen)
			return -EINVAL;
		if (cap)
			cap->snaplen = snaplen;
		if (i == len)
			return 0;
		if (buf[i++] != ' ')
			return -EINVAL;
	}
	/* The filter is the rest of the line, at least one byte. */
	if (len - i < sizeof(filt) || memcmp(buf + i, filt, sizeof(filt) - 1))
		return -EINVAL;
	i += sizeof(filt) - 1;
	if (cap) {
		memcpy(cap->filter, buf + i, len - i);
		cap->filter[len - i] = '\0';
	}
	return 0;
}

int ctlsock_parse(const char *buf, size_t len, enum ctlsock_req *req)
{
	static const struct {
		const char *text;
		enum ctlsock_req req;
	} reqs[] = {
		{ "status", CTLSOCK_REQ_STATUS },
		{ "status json", CTLSOCK_REQ_STATUS_JSON },
		{ "prometheus", CTLSOCK_REQ_PROMETHEUS },
		{ "ping", CTLSOCK_REQ_PING },
		{ "reload", CTLSOCK_REQ_RELOAD },
		{ "names", CTLSOCK_REQ_NAMES },
	};

	if (len > CTLSOCK_MAX_REQ - 1)
		return -E2BIG;
	/* Tolerate a CR (a request typed through socat or nc -C). */
	if (len && buf[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			return -EINVAL;
	if (len >= 7 && !memcmp(buf, "capture", 7) && (len == 7 || buf[7] == ' ')) {
		if (ctlsock_capture_args(buf, len, NULL))
			return -EINVAL;
		*req = CTLSOCK_REQ_CAPTURE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (strlen(reqs[i].text) == len && !memcmp(reqs[i].text, buf, len)) {
			*req = reqs[i].req;
			return 0;
		}
	}
	return -EINVAL;
}

int ctlsock_parse_capture(const char *buf, size_t len, struct ctlsock_capture *cap)
{
	enum ctlsock_req req;
	int ret = ctlsock_parse(buf, len, &req);

	if (ret)
		return ret;
	if (req != CTLSOCK_REQ_CAPTURE)
		return -EINVAL;
	if (buf[len - 1] == '\r')	/* len > 0: it parsed */
		len--;
	return ctlsock_capture_args(buf, len, cap);
}

int ctlsock_path(const struct config *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.sock", c->state_dir, c->ifname);

	if (n < 0 || (size_t)n >= size ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int ctlsock_status_add(struct ctlsock_status *s, const struct ctlsock_prefix *p)
{
	if (s->n >= CTLSOCK_MAX_PREFIXES)
		return -ENOSPC;
	s->v[s->n++] = *p;
	return 0;
}

void ctlsock_printf(struct ctlsock_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->truncated = true;
		b->p[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

/* "addr:port" / "[addr]:port", or "" without an endpoint. */
static void ctlsock_fmt_endpoint(const struct wg_peer *peer, char *buf, size_t size)
{
	struct wg_endpoint ep;
	char a[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (!wg_peer_get_endpoint(peer, &ep))
		return;
	if (ep.sa.sa_family == AF_INET && inet_ntop(AF_INET, &ep.in.sin_addr, a, sizeof(a)))
		snprintf(buf, size, "%s:%u", a, ntohs(ep.in.sin_port));
	else if (ep.sa.sa_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &ep.in6.sin6_addr, a, sizeof(a)))
		snprintf(buf, size, "[%s]:%u", a, ntohs(ep.in6.sin6_port));
}

static void ctlsock_peer_key(const struct wg_peer *peer, char out[KEY_B64_LEN + 1])
{
	uint8_t pub[WG_KEY_LEN];

	wg_peer_public_key(peer, pub);
	key_to_base64(out, pub);
}

static const char *ctlsock_pstate_name(enum ctlsock_pstate s)
{
	switch (s) {
	case CTLSOCK_P_ADVERTISED:
		return "advertised";
	case CTLSOCK_P_INSTALLED:
		return "installed";
	case CTLSOCK_P_REFUSED:
		return "refused";
	}
	return "unknown";
}

/* Seconds since ns (boottime), or -1 for never. */
static double ctlsock_age(uint64_t ns, uint64_t now)
{
	if (!ns)
		return -1;
	return ns > now ? 0 : (double)(now - ns) / 1e9;
}

static void ctlsock_render_text(struct ctlsock_buf *b, const struct tunnel *t,
				const struct ctlsock_status *s, uint64_t now)
{
	const struct wg_device_stats *ds = wg_device_stats(t->dev);
	char key[KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10];
	char pb[PREFIX_STRLEN], mb[PREFIX_STRLEN];
	uint8_t pub[WG_KEY_LEN];
	struct wg_peer *peer = NULL;

	wg_device_public_key(t->dev, pub);
	key_to_base64(key, pub);
	ctlsock_printf(b, "interface: %s (%s)\n  public key: %s\n  listening port: %u\n",
		       t->ifname, t->role == TUNNEL_GUEST ? "guest" : "host", key,
		       t->cfg.listen_port);
	if (s->firewall)
		ctlsock_printf(b, "  firewall: %s\n", s->firewall);
	if (s->names)
		ctlsock_printf(b, "  names: %zu served under %s (%zu containers), engine %s, "
			       "%llu DNS queries\n", names_count(s->names), names_domain(s->names),
			       names_containers(s->names), s->names_engine ? s->names_engine : "?",
			       (unsigned long long)s->dns_queries);
	if (s->resolver)
		ctlsock_printf(b, "  names: %s\n", s->resolver);
	ctlsock_printf(b, "  packet I/O: %s\n", pktio_desc(&t->io));
	if (t->pool) {
		ctlsock_printf(b, "  crypto threads: %u, packets sealed or opened by each:",
			       1 + pool_workers(t->pool));
		for (unsigned int i = 0; i <= pool_workers(t->pool); i++)
			ctlsock_printf(b, " %llu", pool_jobs_done(t->pool, i));
		ctlsock_printf(b, "\n");
	}
	for (int d = 0; d < WG_DROP_MAX; d++)
		if (ds->drops[d])
			ctlsock_printf(b, "  dropped (no peer) %s: %llu\n", wg_drop_name(d),
				       (unsigned long long)ds->drops[d]);
	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		if (t->io.stats.drops[d])
			ctlsock_printf(b, "  dropped (packet I/O) %s: %llu\n",
				       pktio_drop_name((enum pktio_drop)d),
				       (unsigned long long)t->io.stats.drops[d]);
	if (t->tap_stats.overflow)
		ctlsock_printf(b, "  dropped (capture) capture-overflow: %llu\n",
			       (unsigned long long)t->tap_stats.overflow);
	if (t->tap_stats.clients || t->tap_stats.packets)
		ctlsock_printf(b, "  captures: %u attached, %llu packets captured\n",
			       t->tap_stats.clients, (unsigned long long)t->tap_stats.packets);
	while ((peer = wg_peer_next(t->dev, peer))) {
		const struct wg_peer_stats *st = wg_peer_stats(peer);
		double age = ctlsock_age(st->last_handshake_ns, now);

		ctlsock_peer_key(peer, key);
		ctlsock_fmt_endpoint(peer, ep, sizeof(ep));
		ctlsock_printf(b, "\npeer: %s\n  endpoint: %s\n", key, ep[0] ? ep : "(none)");
		if (age < 0)
			ctlsock_printf(b, "  latest handshake: never\n");
		else
			ctlsock_printf(b, "  latest handshake: %.0f seconds ago\n", age);
		ctlsock_printf(b, "  transfer: %llu B (%llu packets) received, "
			       "%llu B (%llu packets) sent\n",
			       (unsigned long long)st->rx_bytes, (unsigned long long)st->rx_packets,
			       (unsigned long long)st->tx_bytes, (unsigned long long)st->tx_packets);
		for (int d = 0; d < WG_DROP_MAX; d++)
			if (st->drops[d])
				ctlsock_printf(b, "  dropped %s: %llu\n", wg_drop_name(d),
					       (unsigned long long)st->drops[d]);
		for (size_t i = 0; i < s->n; i++) {
			const struct ctlsock_prefix *p = &s->v[i];

			if (p->peer != peer)
				continue;
			ctlsock_printf(b, "  prefix %s %s", prefix_format(&p->p, pb, sizeof(pb)),
				       ctlsock_pstate_name(p->state));
			if (p->mapped.family)
				ctlsock_printf(b, " as %s",
					       prefix_format(&p->mapped, mb, sizeof(mb)));
			if (p->reason)
				ctlsock_printf(b, " (%s)", p->reason);
			ctlsock_printf(b, "\n");
		}
	}
	if (t->role != TUNNEL_GUEST)
		return;
	ctlsock_printf(b, "\nadvertised to %s: generation %u, %s\n",
		       s->have_host_ctl ? prefix_format(&s->host_ctl, pb, sizeof(pb)) : "(nobody)",
		       s->generation, s->acked ? "acknowledged" : "not acknowledged yet");
	for (size_t i = 0; i < s->n; i++) {
		ctlsock_printf(b, "  %s", prefix_format(&s->v[i].p, pb, sizeof(pb)));
		if (s->v[i].mapped.family)
			ctlsock_printf(b, " (the host reaches it as %s)",
				       prefix_format(&s->v[i].mapped, mb, sizeof(mb)));
		ctlsock_printf(b, "\n");
	}
}

/* capture: the tap's capture-overflow count, for the device's drops; else NULL. */
static void ctlsock_json_drops(struct ctlsock_buf *b, const uint64_t *drops,
			       const uint64_t *capture)
{
	ctlsock_printf(b, "{");
	for (int d = 0; d < WG_DROP_MAX; d++)
		ctlsock_printf(b, "%s\"%s\": %llu", d ? ", " : "", wg_drop_name(d),
			       (unsigned long long)drops[d]);
	if (capture)
		ctlsock_printf(b, ", \"capture-overflow\": %llu", (unsigned long long)*capture);
	ctlsock_printf(b, "}");
}

static void ctlsock_json_prefix(struct ctlsock_buf *b, const struct ctlsock_prefix *p)
{
	char pb[PREFIX_STRLEN];

	ctlsock_printf(b, "{\"prefix\": \"%s\", \"state\": \"%s\"",
		       prefix_format(&p->p, pb, sizeof(pb)), ctlsock_pstate_name(p->state));
	if (p->mapped.family)
		ctlsock_printf(b, ", \"mapped\": \"%s\"", prefix_format(&p->mapped, pb, sizeof(pb)));
	if (p->reason)
		ctlsock_printf(b, ", \"reason\": \"%s\"", p->reason);
	ctlsock_printf(b, "}");
}

/* Every string we print is base64, an address or a fixed name: no escaping needed. */
static void ctlsock_render_json(struct ctlsock_buf *b, const struct tunnel *t,
				const struct ctlsock_status *s, uint64_t now)
{
	char key[KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 10], pb[PREFIX_STRLEN];
	uint8_t pub[WG_KEY_LEN];
	struct wg_peer *peer = NULL;
	bool first = true;

	wg_device_public_key(t->dev, pub);
	key_to_base64(key, pub);
	ctlsock_printf(b, "{\"schema\": %d, \"role\": \"%s\", \"interface\": \"%s\", "
		       "\"public_key\": \"%s\", \"listen_port\": %u, ",
		       CTLSOCK_SCHEMA, t->role == TUNNEL_GUEST ? "guest" : "host", t->ifname, key,
		       t->cfg.listen_port);
	if (s->firewall)
		ctlsock_printf(b, "\"firewall\": \"%s\", ", s->firewall);
	else
		ctlsock_printf(b, "\"firewall\": null, ");
	if (s->names)
		ctlsock_printf(b, "\"names\": {\"served\": %zu, \"containers\": %zu, "
			       "\"domain\": \"%s\", \"engine\": \"%s\", \"dns_queries\": %llu}, ",
			       names_count(s->names), names_containers(s->names),
			       names_domain(s->names), s->names_engine ? s->names_engine : "",
			       (unsigned long long)s->dns_queries);
	else
		ctlsock_printf(b, "\"names\": null, ");
	if (s->resolver)
		ctlsock_printf(b, "\"resolver\": \"%s\", ", s->resolver);
	ctlsock_printf(b, "\"device_drops\": ");
	ctlsock_json_drops(b, wg_device_stats(t->dev)->drops, &t->tap_stats.overflow);
	ctlsock_printf(b, ", \"pktio_drops\": {");
	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		ctlsock_printf(b, "%s\"%s\": %llu", d ? ", " : "", pktio_drop_name((enum pktio_drop)d),
			       (unsigned long long)t->io.stats.drops[d]);
	ctlsock_printf(b, "}");
	ctlsock_printf(b, ", \"capture\": {\"clients\": %u, \"packets\": %llu}",
		       t->tap_stats.clients, (unsigned long long)t->tap_stats.packets);
	/* packets each crypto thread ran in batches shared with workers, the event loop's first */
	ctlsock_printf(b, ", \"crypto_threads\": [");
	for (unsigned int i = 0; t->pool && i <= pool_workers(t->pool); i++)
		ctlsock_printf(b, "%s%llu", i ? ", " : "", pool_jobs_done(t->pool, i));
	ctlsock_printf(b, "]");
	ctlsock_printf(b, ", \"peers\": [");
	while ((peer = wg_peer_next(t->dev, peer))) {
		const struct wg_peer_stats *st = wg_peer_stats(peer);
		double age = ctlsock_age(st->last_handshake_ns, now);
		bool pfirst = true;

		ctlsock_peer_key(peer, key);
		ctlsock_fmt_endpoint(peer, ep, sizeof(ep));
		ctlsock_printf(b, "%s\n  {\"public_key\": \"%s\", ", first ? "" : ",", key);
		first = false;
		if (ep[0])
			ctlsock_printf(b, "\"endpoint\": \"%s\", ", ep);
		else
			ctlsock_printf(b, "\"endpoint\": null, ");
		if (age < 0)
			ctlsock_printf(b, "\"last_handshake_age\": null, ");
		else
			ctlsock_printf(b, "\"last_handshake_age\": %.3f, ", age);
		ctlsock_printf(b, "\"handshakes\": %llu, \"rx_bytes\": %llu, \"tx_bytes\": %llu, "
			       "\"rx_packets\": %llu, \"tx_packets\": %llu, \"drops\": ",
			       (unsigned long long)st->handshakes,
			       (unsigned long long)st->rx_bytes, (unsigned long long)st->tx_bytes,
			       (unsigned long long)st->rx_packets,
			       (unsigned long long)st->tx_packets);
		ctlsock_json_drops(b, st->drops, NULL);
		ctlsock_printf(b, ", \"prefixes\": [");
		for (size_t i = 0; i < s->n; i++) {
			if (s->v[i].peer != peer)
				continue;
			ctlsock_printf(b, "%s", pfirst ? "" : ", ");
			ctlsock_json_prefix(b, &s->v[i]);
			pfirst = false;
		}
		ctlsock_printf(b, "]}");
	}
	ctlsock_printf(b, "]");
	if (t->role == TUNNEL_GUEST) {
		ctlsock_printf(b, ",\n \"advertisement\": {\"to\": ");
		if (s->have_host_ctl)
			ctlsock_printf(b, "\"%s\"", prefix_format(&s->host_ctl, pb, sizeof(pb)));
		else
			ctlsock_printf(b, "null");
		ctlsock_printf(b, ", \"generation\": %u, \"acknowledged\": %s, \"prefixes\": [",
			       s->generation, s->acked ? "true" : "false");
		for (size_t i = 0; i < s->n; i++) {
			ctlsock_printf(b, "%s", i ? ", " : "");
			ctlsock_json_prefix(b, &s->v[i]);
		}
		ctlsock_printf(b, "]}");
	}
	ctlsock_printf(b, "}\n");
}

static void ctlsock_render_prom(struct ctlsock_buf *b, const struct tunnel *t,
				const struct ctlsock_status *s, uint64_t now)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "gangway_peer_rx_bytes_total", "counter", "Inner bytes received from the peer" },
		{ "gangway_peer_tx_bytes_total", "counter", "Inner bytes sent to the peer" },
		{ "gangway_peer_rx_packets_total", "counter", "Packets received from the peer" },
		{ "gangway_peer_tx_packets_total", "counter", "Packets sent to the peer" },
		{ "gangway_peer_handshakes_total", "counter", "Completed handshakes" },
		{ "gangway_peer_last_handshake_age_seconds", "gauge",
		  "Seconds since the last handshake (-1: never)" },
	};
	const char *ifn = t->ifname;
	char key[KEY_B64_LEN + 1];
	struct wg_peer *peer;
	size_t counts[3] = { 0 };

	ctlsock_printf(b, "# HELP gangway_info The daemon's role and firewall mechanism\n"
		       "# TYPE gangway_info gauge\n"
		       "gangway_info{interface=\"%s\",role=\"%s\",firewall=\"%s\"} 1\n", ifn,
		       t->role == TUNNEL_GUEST ? "guest" : "host",
		       s->firewall ? s->firewall : "");
	if (s->names)
		ctlsock_printf(b, "# HELP gangway_names Container names served\n"
			       "# TYPE gangway_names gauge\ngangway_names{interface=\"%s\"} %zu\n"
			       "# HELP gangway_dns_queries_total DNS questions answered\n"
			       "# TYPE gangway_dns_queries_total counter\n"
			       "gangway_dns_queries_total{interface=\"%s\"} %llu\n", ifn,
			       names_count(s->names), ifn, (unsigned long long)s->dns_queries);
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		ctlsock_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help,
			       m[k].name, m[k].type);
		for (peer = wg_peer_next(t->dev, NULL); peer; peer = wg_peer_next(t->dev, peer)) {
			const struct wg_peer_stats *st = wg_peer_stats(peer);
			uint64_t v[] = { st->rx_bytes, st->tx_bytes, st->rx_packets,
					 st->tx_packets, st->handshakes };

			ctlsock_peer_key(peer, key);
			ctlsock_printf(b, "%s{interface=\"%s\",peer=\"%s\"} ", m[k].name, ifn, key);
			if (k < sizeof(v) / sizeof(v[0]))
				ctlsock_printf(b, "%llu\n", (unsigned long long)v[k]);
			else
				ctlsock_printf(b, "%.3f\n", ctlsock_age(st->last_handshake_ns, now));
		}
	}
	ctlsock_printf(b, "# HELP gangway_peer_info A peer's endpoint (\"\" while unknown)\n"
		       "# TYPE gangway_peer_info gauge\n");
	for (peer = wg_peer_next(t->dev, NULL); peer; peer = wg_peer_next(t->dev, peer)) {
		char ep[INET6_ADDRSTRLEN + 10];

		ctlsock_peer_key(peer, key);
		ctlsock_fmt_endpoint(peer, ep, sizeof(ep));
		ctlsock_printf(b, "gangway_peer_info{interface=\"%s\",peer=\"%s\",endpoint=\"%s\"} 1\n",
			       ifn, key, ep);
	}
	ctlsock_printf(b, "# HELP gangway_peer_drops_total Datagrams and packets dropped, by reason\n"
		       "# TYPE gangway_peer_drops_total counter\n");
	for (peer = wg_peer_next(t->dev, NULL); peer; peer = wg_peer_next(t->dev, peer)) {
		const struct wg_peer_stats *st = wg_peer_stats(peer);

		ctlsock_peer_key(peer, key);
		for (int d = 0; d < WG_DROP_MAX; d++)
			ctlsock_printf(b, "gangway_peer_drops_total{interface=\"%s\",peer=\"%s\","
				       "reason=\"%s\"} %llu\n", ifn, key, wg_drop_name(d),
				       (unsigned long long)st->drops[d]);
	}
	ctlsock_printf(b, "# HELP gangway_device_drops_total Drops not attributable to a peer\n"
		       "# TYPE gangway_device_drops_total counter\n");
	for (int d = 0; d < WG_DROP_MAX; d++)
		ctlsock_printf(b, "gangway_device_drops_total{interface=\"%s\",reason=\"%s\"} %llu\n",
			       ifn, wg_drop_name(d),
			       (unsigned long long)wg_device_stats(t->dev)->drops[d]);
	ctlsock_printf(b, "gangway_device_drops_total{interface=\"%s\",reason=\"capture-overflow\"} "
		       "%llu\n", ifn, (unsigned long long)t->tap_stats.overflow);
	ctlsock_printf(b, "# HELP gangway_capture_packets_total Packets handed to captures\n"
		       "# TYPE gangway_capture_packets_total counter\n"
		       "gangway_capture_packets_total{interface=\"%s\"} %llu\n"
		       "# HELP gangway_captures Captures attached\n"
		       "# TYPE gangway_captures gauge\n"
		       "gangway_captures{interface=\"%s\"} %u\n",
		       ifn, (unsigned long long)t->tap_stats.packets, ifn, t->tap_stats.clients);
	for (size_t i = 0; i < s->n; i++)
		counts[s->v[i].state]++;
	ctlsock_printf(b, "# HELP gangway_prefixes Container prefixes by state\n"
		       "# TYPE gangway_prefixes gauge\n");
	for (int st = 0; st < 3; st++)
		ctlsock_printf(b, "gangway_prefixes{interface=\"%s\",state=\"%s\"} %zu\n", ifn,
			       ctlsock_pstate_name(st), counts[st]);
}

static void ctlsock_render_name(void *ctx, const char *name, const struct prefix *addr)
{
	char buf[PREFIX_STRLEN], *slash;

	if (!addr) {
		ctlsock_printf(ctx, "%s -\n", name);
		return;
	}
	prefix_format(addr, buf, sizeof(buf));
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	ctlsock_printf(ctx, "%s %s\n", name, buf);
}

void ctlsock_render(struct ctlsock_buf *b, enum ctlsock_req req, const struct tunnel *t,
		    const struct ctlsock_status *s, uint64_t now)
{
	switch (req) {
	case CTLSOCK_REQ_STATUS:
		ctlsock_render_text(b, t, s, now);
		break;
	case CTLSOCK_REQ_STATUS_JSON:
		ctlsock_render_json(b, t, s, now);
		break;
	case CTLSOCK_REQ_PROMETHEUS:
		ctlsock_render_prom(b, t, s, now);
		break;
	case CTLSOCK_REQ_NAMES:
		if (s->names)
			names_foreach(s->names, ctlsock_render_name, b);
		break;
	case CTLSOCK_REQ_PING:
	case CTLSOCK_REQ_RELOAD:
	case CTLSOCK_REQ_CAPTURE:
		break;
	}
}

static void ctlsock_drop(struct ctlsock *c, struct ctlsock_client *cl)
{
	loop_del_fd(c->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

/* Best effort: a client that does not read within the timeout loses the rest. */
static void ctlsock_send(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

#define CTLSOCK_MAX_GROUPS	256	/* of one user, for the membership check */

/* Is the user uid (primary group gid) a member of group, by the group database? */
static bool ctlsock_user_in_group(uid_t uid, gid_t gid, gid_t group)
{
	struct passwd *pw;
	int n = CTLSOCK_MAX_GROUPS;
#ifdef __APPLE__
	int groups[CTLSOCK_MAX_GROUPS];		/* macOS declares them int */

	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, (int)gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if ((gid_t)groups[i] == group)
			return true;
#else
	gid_t groups[CTLSOCK_MAX_GROUPS];

	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return true;
#endif
	return false;
}

/* Root, or with ControlGroup a member of it (primary or supplementary). */
static bool ctlsock_peer_allowed(const struct ctlsock *c, int fd)
{
	uid_t uid;
	gid_t gid;
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t l = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || l != sizeof(cr))
		return false;
	uid = cr.uid;
	gid = cr.gid;
#else
	if (getpeereid(fd, &uid, &gid) < 0)
		return false;
#endif
	if (uid == 0)
		return true;
	if (!c->have_group)
		return false;
	return gid == c->gid || ctlsock_user_in_group(uid, gid, c->gid);
}

void ctlsock_set_reload(struct ctlsock *c, ctlsock_reload_fn fn, void *ctx)
{
	if (!c)
		return;
	c->reload = fn;
	c->reload_ctx = ctx;
}

/* "ok", or "error <why>" on one line (the reason's own line breaks become spaces). */
static void ctlsock_answer_reload(struct ctlsock *c, int fd)
{
	char err[CONFIG_ERR_LEN] = "", line[CONFIG_ERR_LEN + 16];
	int n;

	if (!c->reload) {
		ctlsock_send(fd, "error reload is not supported here\n", 35);
		return;
	}
	if (c->reload(c->reload_ctx, err, sizeof(err)) == 0) {
		ctlsock_send(fd, "ok\n", 3);
		return;
	}
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
	n = snprintf(line, sizeof(line), "error %s\n", err[0] ? err : "reload failed");
	if (n > 0)
		ctlsock_send(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Captures show traffic itself: root's alone, whatever ControlGroup allows. */
static bool ctlsock_peer_root(int fd)
{
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && l == sizeof(cr) &&
	       cr.uid == 0;
#else
	uid_t uid;
	gid_t gid;

	return getpeereid(fd, &uid, &gid) == 0 && uid == 0;
#endif
}

/*
 * Hand the connection to the tap (captap.c), which answers "ok" and streams
 * pcap until the client closes it; or answer "error <why>" and close.
 */
static void ctlsock_capture(struct ctlsock *c, struct ctlsock_client *cl, size_t len)
{
	struct ctlsock_capture *cap = calloc(1, sizeof(*cap));
	char err[CAPTAP_ERR_LEN] = "", line[CAPTAP_ERR_LEN + 32];
	int n, ret = -ENOMEM;

	/* The tap watches the descriptor itself from now on, whatever comes. */
	loop_del_fd(c->loop, cl->fd);
	if (!ctlsock_peer_root(cl->fd))
		ret = -EPERM;
	else if (cap && (ret = ctlsock_parse_capture(cl->req, len, cap)) == 0)
		ret = captap_attach(c->tap, cl->fd,
				    cap->snaplen ? cap->snaplen : CAPTAP_SNAPLEN_MAX, cap->filter,
				    "ok\n", 3, err, sizeof(err));
	if (ret == 0) {
		free(cap);
		cl->fd = -1;
		cl->len = 0;
		return;
	}
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
	if (ret == -EINVAL && cap && cap->filter[0] && err[0])
		n = snprintf(line, sizeof(line), "error bad filter: %s\n", err);
	else if (ret == -EBUSY)
		n = snprintf(line, sizeof(line), "error too many captures (%d at most)\n",
			     CAPTAP_MAX_CLIENTS);
	else if (ret == -EPERM)
		n = snprintf(line, sizeof(line), "error permission denied\n");
	else if (ret == -EOPNOTSUPP)
		n = snprintf(line, sizeof(line), "error capture is not available here\n");
	else
		n = snprintf(line, sizeof(line), "error %s\n", err[0] ? err : strerror(-ret));
	free(cap);
	if (n > 0)
		ctlsock_send(cl->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	ctlsock_drop(c, cl);
}

static void ctlsock_answer(struct ctlsock *c, struct ctlsock_client *cl, size_t len)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct ctlsock_status *s = NULL;
	struct ctlsock_buf b = { 0 };
	enum ctlsock_req req;
	int flags, ret;

	/* The reply is written blocking, with a bound on how long. */
	flags = fcntl(cl->fd, F_GETFL);
	if (flags >= 0)
		fcntl(cl->fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = ctlsock_parse(cl->req, len, &req);
	if (ret == -E2BIG) {
		ctlsock_send(cl->fd, "error request too long\n", 23);
		goto out;
	}
	if (ret) {
		ctlsock_send(cl->fd, "error malformed request\n", 24);
		goto out;
	}
	if (req == CTLSOCK_REQ_CAPTURE) {
		ctlsock_capture(c, cl, len);	/* keeps or drops the connection */
		return;
	}
	if (req == CTLSOCK_REQ_RELOAD) {
		ctlsock_answer_reload(c, cl->fd);
		goto out;
	}
	b.cap = CTLSOCK_MAX_REPLY;
	b.p = malloc(b.cap);
	s = calloc(1, sizeof(*s));
	if (!b.p || !s) {
		ctlsock_send(cl->fd, "error out of memory\n", 20);
		goto out;
	}
	b.p[0] = '\0';
	ctlsock_printf(&b, "ok\n");
	if (c->fn && req != CTLSOCK_REQ_PING)
		c->fn(c->ctx, s);
	ctlsock_render(&b, req, c->t, s, loop_now());
	if (b.truncated)
		log_warn("Control socket: reply longer than %d bytes, truncated",
			 CTLSOCK_MAX_REPLY);
	ctlsock_send(cl->fd, b.p, b.len);
out:
	free(s);
	free(b.p);
	ctlsock_drop(c, cl);
}

static void ctlsock_on_client(void *ctx, int fd, uint32_t events)
{
	struct ctlsock *c = ctx;
	struct ctlsock_client *cl = NULL;
	char *nl;
	ssize_t n;

	(void)events;
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		if (c->clients[i].fd == fd)
			cl = &c->clients[i];
	if (!cl)
		return;
	n = recv(fd, cl->req + cl->len, sizeof(cl->req) - cl->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		ctlsock_drop(c, cl);
		return;
	}
	if (n == 0) {
		/* End of file ends the request, too (printf status | socat). */
		if (cl->len)
			ctlsock_answer(c, cl, cl->len);
		else
			ctlsock_drop(c, cl);
		return;
	}
	nl = memchr(cl->req + cl->len, '\n', (size_t)n);
	cl->len += (size_t)n;
	if (nl) {
		ctlsock_answer(c, cl, (size_t)(nl - cl->req));
		return;
	}
	if (cl->len == sizeof(cl->req))
		ctlsock_answer(c, cl, cl->len);	/* -E2BIG: an error reply */
}

static void ctlsock_on_accept(void *ctx, int fd, uint32_t events)
{
	struct ctlsock *c = ctx;
	struct ctlsock_client *cl = NULL;
	uint64_t now = loop_now();
	int cfd;

	(void)events;
	cfd = accept(fd, NULL, NULL);
	if (cfd < 0)
		return;
	/* accept4() is Linux's; macOS's host agent serves this socket too. */
	if (fcntl(cfd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK) < 0) {
		close(cfd);
		return;
	}
	if (!ctlsock_peer_allowed(c, cfd)) {
		ctlsock_send(cfd, "error permission denied\n", 24);
		close(cfd);
		return;
	}
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct ctlsock_client *o = &c->clients[i];

		if (o->fd >= 0 && now - o->since > CTLSOCK_TIMEOUT)
			ctlsock_drop(c, o);
		if (o->fd < 0 && !cl)
			cl = o;
	}
	if (!cl || loop_add_fd(c->loop, cfd, LOOP_IN, ctlsock_on_client, c) < 0) {
		ctlsock_send(cfd, "error busy\n", 11);
		close(cfd);
		return;
	}
	cl->fd = cfd;
	cl->since = now;
	cl->len = 0;
}

/*
 * ControlGroup: the socket becomes 0660 with the group (it was created 0600,
 * so it never was wider than that), and a state directory only root may
 * enter lets the group search it too. A directory someone opened already
 * (/run, a RuntimeDirectory with its own mode) is left as it is.
 */
static int ctlsock_open_to_group(struct ctlsock *c, const char *dir, const char *group)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!(st.st_mode & 0011) &&
	    (chown(dir, (uid_t)-1, c->gid) < 0 || chmod(dir, (st.st_mode & 07777) | 0010) < 0))
		return -errno;
	if (chown(c->path, (uid_t)-1, c->gid) < 0 || chmod(c->path, 0660) < 0)
		return -errno;
	log_info("Control socket open to the members of group %s", group);
	return 0;
}

struct ctlsock *ctlsock_start(struct tunnel *t, struct loop *loop, ctlsock_status_fn fn,
			      void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctlsock *c = calloc(1, sizeof(*c));
	char err_text[CONFIG_ERR_LEN];
	mode_t old;
	int ret, err;

	if (!c)
		return NULL;
	c->t = t;
	c->loop = loop;
	c->fn = fn;
	c->ctx = ctx;
	c->fd = -1;
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	ret = ctlsock_path(&t->cfg, c->path, sizeof(c->path));
	if (ret)
		goto fail;
	ret = statedir_prepare(&t->cfg, err_text, sizeof(err_text));
	if (ret) {
		log_err("%s", err_text);
		goto fail;
	}
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0 || fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	/* A socket left by a killed daemon; a live one would be ours to replace too. */
	unlink(c->path);
	old = umask(0177);	/* created 0600: never a window with wider access */
	ret = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	umask(old);
	if (ret < 0) {
		ret = -err;
		goto fail;
	}
	if (t->cfg.control_group[0]) {
		c->have_group = true;
		c->gid = (gid_t)t->cfg.control_gid;
		ret = ctlsock_open_to_group(c, t->cfg.state_dir, t->cfg.control_group);
		if (ret < 0)
			goto fail;
	}
	if (listen(c->fd, 8) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = loop_add_fd(loop, c->fd, LOOP_IN, ctlsock_on_accept, c);
	if (ret < 0)
		goto fail;
	/* Without it (no libpcap here) capture requests get an error. */
	c->tap = captap_new(loop, &t->tap, &t->tap_stats);
	log_info("Control socket at %s", c->path);
	return c;
fail:
	log_err("Failed to open the control socket %s: %s", c->path, strerror(-ret));
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	free(c);
	errno = -ret;
	return NULL;
}

void ctlsock_stop(struct ctlsock *c)
{
	if (!c)
		return;
	captap_free(c->tap);
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			ctlsock_drop(c, &c->clients[i]);
	loop_del_fd(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}

int ctlsock_request(const char *path, const char *request, char **body)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tmo = { .tv_sec = CTLSOCK_CLIENT_TIMEOUT };
	size_t len = 0, cap = CTLSOCK_MAX_REPLY + 64, rl = strlen(request);
	char *buf = NULL, *nl;
	int fd, ret;

	*body = NULL;
	if (strlen(path) >= sizeof(sun.sun_path) || rl >= CTLSOCK_MAX_REQ)
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto out;
	}
	/* A daemon that is stopped or wedged must not hang the command. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) < 0) {
		ret = -errno;
		goto out;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ctlsock_send(fd, request, rl);
	ctlsock_send(fd, "\n", 1);
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/*
		 * A daemon that refuses us closes before reading our request:
		 * the reset comes after its answer, which is what counts.
		 */
		if (n < 0 && errno == ECONNRESET && len)
			break;
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	buf[len] = '\0';
	nl = strchr(buf, '\n');
	if (!nl) {
		ret = -EPROTO;
		snprintf(buf, cap, "error truncated reply");
		*body = buf;
		buf = NULL;
		goto out;
	}
	if (strncmp(buf, "ok\n", 3)) {
		*nl = '\0';
		ret = -EPROTO;
		*body = buf;
		buf = NULL;
		goto out;
	}
	memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
	*body = buf;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int ctlsock_default_path(const char *ifname, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.sock", CONFIG_DEFAULT_STATE_DIR,
			 ifname ? ifname : CONFIG_DEFAULT_IFNAME);

	if (n < 0 || (size_t)n >= size ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int ctlsock_client_path(const char *sock, const char *config, char *buf, size_t size)
{
	char err[CONFIG_ERR_LEN];
	struct config c;
	int ret;

	if (sock) {
		if ((size_t)snprintf(buf, size, "%s", sock) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	/* Default: the host agent's file, else the guest daemon's (in the VM). */
	if (!config) {
		config = config_default_path();
		/*
		 * A ControlGroup member cannot read root's 0600 file, and a
		 * system may have none (a container): the default socket.
		 */
		if (access(config, R_OK) < 0)
			return ctlsock_default_path(NULL, buf, size);
	}
	ret = config_load(&c, config, err, sizeof(err));
	if (ret) {
		snprintf(buf, size, "%s", err);
		config_free(&c);
		return ret < 0 ? ret : -EINVAL;
	}
	ret = ctlsock_path(&c, buf, size);
	config_free(&c);
	return ret;
}
