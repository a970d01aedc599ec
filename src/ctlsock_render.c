/* ctlsock_render.c - the status replies: text, JSON and Prometheus from one snapshot
 *
 * Every renderer reads the snapshot alone (ctlsock_render.h), never the
 * tunnel, and writes into a bounded buffer that marks itself truncated
 * rather than overflow: a reply is whole or says it is not.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctlsock_render.h"

int ctlsock_render_add_prefix(struct ctlsock_status *s, const struct ctlsock_prefix *p)
{
	if (s->n >= CTLSOCK_MAX_PREFIXES)
		return -ENOSPC;
	s->v[s->n++] = *p;
	return 0;
}

void ctlsock_render_printf(struct ctlsock_buf *b, const char *fmt, ...)
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

static const char *ctlsock_render_pstate(enum ctlsock_pstate s)
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
static double ctlsock_render_age(uint64_t ns, uint64_t now)
{
	if (!ns)
		return -1;
	return ns > now ? 0 : (double)(now - ns) / 1e9;
}

static const char *ctlsock_render_role(const struct ctlsock_snap *snap)
{
	return snap->guest ? "guest" : "host";
}

/* The host's view of a peer's DNS server, or NULL. */
static const struct ctlsock_dns *ctlsock_render_dns_of(const struct ctlsock_status *s,
						       const struct wg_peer *peer)
{
	for (size_t i = 0; i < s->n_dns; i++)
		if (s->dns[i].peer == peer)
			return &s->dns[i];
	return NULL;
}

/* The host's record of what a peer's firewall check found, or NULL. */
static const struct ctlsock_findings *ctlsock_render_findings_of(const struct ctlsock_status *s,
								 const struct wg_peer *peer)
{
	for (size_t i = 0; i < s->n_findings; i++)
		if (s->findings[i].peer == peer)
			return &s->findings[i];
	return NULL;
}

/* An address without its "/32". */
static const char *ctlsock_render_addr(const struct prefix *a, char *buf, size_t size)
{
	char *slash;

	prefix_format(a, buf, size);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	return buf;
}

static void ctlsock_render_text_dns(struct ctlsock_buf *b, const struct ctlsock_dns *d)
{
	char ab[PREFIX_STRLEN];

	if (!strcmp(d->source, "off")) {
		ctlsock_render_printf(b, "  dns: off (the guest serves no names)\n");
	} else if (!d->n) {
		ctlsock_render_printf(b, "  dns: none for %s (%s)\n", d->domain, d->source);
	} else {
		ctlsock_render_printf(b, "  dns:");
		for (size_t i = 0; i < d->n; i++)
			ctlsock_render_printf(b, "%s %s", i ? "," : "",
					      ctlsock_render_addr(&d->addrs[i], ab, sizeof(ab)));
		ctlsock_render_printf(b, " for %s (%s%s)\n", d->domain,
				      !strcmp(d->source, "announced") ? "announced by the guest" :
				      "from AllowedIPs: the guest said nothing yet",
				      d->in_use ? ", in use" : "");
	}
	if (d->refused)
		ctlsock_render_printf(b, "  dns refused: %s\n", d->refused);
}

static void ctlsock_render_text(struct ctlsock_buf *b, const struct ctlsock_snap *snap,
				uint64_t now)
{
	const struct ctlsock_status *s = &snap->status;
	char pb[PREFIX_STRLEN], mb[PREFIX_STRLEN];

	ctlsock_render_printf(b, "interface: %s (%s)\n  public key: %s\n  listening port: %u\n",
			      snap->ifname, ctlsock_render_role(snap), snap->public_key,
			      snap->listen_port);
	if (s->firewall)
		ctlsock_render_printf(b, "  firewall: %s\n", s->firewall);
	if (s->names)
		ctlsock_render_printf(b, "  names: %zu served under %s (%zu containers), "
				      "engine %s, %llu DNS queries\n", names_count(s->names),
				      names_domain(s->names), names_containers(s->names),
				      s->names_engine ? s->names_engine : "?",
				      (unsigned long long)s->dns_queries);
	if (s->resolver)
		ctlsock_render_printf(b, "  names: %s\n", s->resolver);
	ctlsock_render_printf(b, "  packet I/O: %s\n", snap->packet_io);
	if (snap->crypto_threads) {
		ctlsock_render_printf(b, "  crypto threads: %u, packets sealed or opened by each:",
				      snap->crypto_threads);
		for (unsigned int i = 0; i < snap->crypto_threads; i++)
			ctlsock_render_printf(b, " %llu", (unsigned long long)snap->crypto_jobs[i]);
		ctlsock_render_printf(b, "\n");
	}
	for (int d = 0; d < WG_DROP_MAX; d++)
		if (snap->device_drops[d])
			ctlsock_render_printf(b, "  dropped (no peer) %s: %llu\n", wg_drop_name(d),
					      (unsigned long long)snap->device_drops[d]);
	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		if (snap->pktio_drops[d])
			ctlsock_render_printf(b, "  dropped (packet I/O) %s: %llu\n",
					      pktio_drop_name((enum pktio_drop)d),
					      (unsigned long long)snap->pktio_drops[d]);
	if (snap->capture.overflow)
		ctlsock_render_printf(b, "  dropped (capture) capture-overflow: %llu\n",
				      (unsigned long long)snap->capture.overflow);
	if (snap->capture.clients || snap->capture.packets)
		ctlsock_render_printf(b, "  captures: %u attached, %llu packets captured\n",
				      snap->capture.clients,
				      (unsigned long long)snap->capture.packets);
	for (size_t k = 0; k < snap->n_peers; k++) {
		const struct ctlsock_peer *peer = &snap->peers[k];
		const struct wg_peer_stats *st = &peer->st;
		double age = ctlsock_render_age(st->last_handshake_ns, now);

		ctlsock_render_printf(b, "\npeer: %s\n  endpoint: %s\n", peer->key,
				      peer->endpoint[0] ? peer->endpoint : "(none)");
		if (age < 0)
			ctlsock_render_printf(b, "  latest handshake: never\n");
		else
			ctlsock_render_printf(b, "  latest handshake: %.0f seconds ago\n", age);
		ctlsock_render_printf(b, "  transfer: %llu B (%llu packets) received, "
				      "%llu B (%llu packets) sent\n",
				      (unsigned long long)st->rx_bytes,
				      (unsigned long long)st->rx_packets,
				      (unsigned long long)st->tx_bytes,
				      (unsigned long long)st->tx_packets);
		for (int d = 0; d < WG_DROP_MAX; d++)
			if (st->drops[d])
				ctlsock_render_printf(b, "  dropped %s: %llu\n", wg_drop_name(d),
						      (unsigned long long)st->drops[d]);
		for (size_t i = 0; i < s->n; i++) {
			const struct ctlsock_prefix *p = &s->v[i];

			if (p->peer != peer->id)
				continue;
			ctlsock_render_printf(b, "  prefix %s %s",
					      prefix_format(&p->p, pb, sizeof(pb)),
					      ctlsock_render_pstate(p->state));
			if (p->mapped.family)
				ctlsock_render_printf(b, " as %s",
						      prefix_format(&p->mapped, mb, sizeof(mb)));
			if (p->reason)
				ctlsock_render_printf(b, " (%s)", p->reason);
			ctlsock_render_printf(b, "\n");
		}
		if (ctlsock_render_dns_of(s, peer->id))
			ctlsock_render_text_dns(b, ctlsock_render_dns_of(s, peer->id));
		/* The guest's word, one line each (gangway doctor reads these). */
		if (ctlsock_render_findings_of(s, peer->id)) {
			const struct ctlsock_findings *f = ctlsock_render_findings_of(s, peer->id);

			for (size_t i = 0; i < f->n; i++)
				ctlsock_render_printf(b, "  guest firewall: %s (fix: %s)\n",
						      f->v[i].text, f->v[i].fix);
		}
	}
	if (!snap->guest)
		return;
	ctlsock_render_printf(b, "\nadvertised to %s: generation %u, %s\n",
			      s->have_host_ctl ? prefix_format(&s->host_ctl, pb, sizeof(pb)) :
			      "(nobody)", s->generation,
			      s->acked ? "acknowledged" : "not acknowledged yet");
	for (size_t i = 0; i < s->n; i++) {
		ctlsock_render_printf(b, "  %s", prefix_format(&s->v[i].p, pb, sizeof(pb)));
		if (s->v[i].mapped.family)
			ctlsock_render_printf(b, " (the host reaches it as %s)",
					      prefix_format(&s->v[i].mapped, mb, sizeof(mb)));
		ctlsock_render_printf(b, "\n");
	}
}

/* capture: the tap's capture-overflow count, for the device's drops; else NULL. */
static void ctlsock_render_json_drops(struct ctlsock_buf *b, const uint64_t *drops,
				      const uint64_t *capture)
{
	ctlsock_render_printf(b, "{");
	for (int d = 0; d < WG_DROP_MAX; d++)
		ctlsock_render_printf(b, "%s\"%s\": %llu", d ? ", " : "", wg_drop_name(d),
				      (unsigned long long)drops[d]);
	if (capture)
		ctlsock_render_printf(b, ", \"capture-overflow\": %llu",
				      (unsigned long long)*capture);
	ctlsock_render_printf(b, "}");
}

static void ctlsock_render_json_prefix(struct ctlsock_buf *b, const struct ctlsock_prefix *p)
{
	char pb[PREFIX_STRLEN];

	ctlsock_render_printf(b, "{\"prefix\": \"%s\", \"state\": \"%s\"",
			      prefix_format(&p->p, pb, sizeof(pb)),
			      ctlsock_render_pstate(p->state));
	if (p->mapped.family)
		ctlsock_render_printf(b, ", \"mapped\": \"%s\"",
				      prefix_format(&p->mapped, pb, sizeof(pb)));
	if (p->reason)
		ctlsock_render_printf(b, ", \"reason\": \"%s\"", p->reason);
	ctlsock_render_printf(b, "}");
}

/*
 * Every other string we print is base64, an address or a fixed name: no
 * escaping needed.
 */
/* A string that may hold anything printable (a refusal's reason names interfaces). */
static void ctlsock_render_json_str(struct ctlsock_buf *b, const char *str)
{
	ctlsock_render_printf(b, "\"");
	for (const char *c = str; *c; c++) {
		if (*c == '"' || *c == '\\')
			ctlsock_render_printf(b, "\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			ctlsock_render_printf(b, "\\u%04x", (unsigned int)(unsigned char)*c);
		else
			ctlsock_render_printf(b, "%c", *c);
	}
	ctlsock_render_printf(b, "\"");
}

static void ctlsock_render_json_dns(struct ctlsock_buf *b, const struct ctlsock_dns *d)
{
	char ab[PREFIX_STRLEN];

	if (!d) {
		ctlsock_render_printf(b, ", \"dns\": null");
		return;
	}
	ctlsock_render_printf(b, ", \"dns\": {\"source\": \"%s\", \"addresses\": [", d->source);
	for (size_t i = 0; i < d->n; i++)
		ctlsock_render_printf(b, "%s\"%s\"", i ? ", " : "",
				      ctlsock_render_addr(&d->addrs[i], ab, sizeof(ab)));
	ctlsock_render_printf(b, "], \"domain\": \"%s\", \"in_use\": %s, \"refused\": ",
			      d->domain, d->in_use ? "true" : "false");
	if (d->refused)
		ctlsock_render_json_str(b, d->refused);
	else
		ctlsock_render_printf(b, "null");
	ctlsock_render_printf(b, "}");
}

/* null: the guest said nothing yet; []: nothing wrong. */
static void ctlsock_render_json_findings(struct ctlsock_buf *b, const struct ctlsock_findings *f)
{
	if (!f) {
		ctlsock_render_printf(b, ", \"guest_firewall\": null");
		return;
	}
	ctlsock_render_printf(b, ", \"guest_firewall\": [");
	for (size_t i = 0; i < f->n; i++) {
		ctlsock_render_printf(b, "%s{\"finding\": ", i ? ", " : "");
		ctlsock_render_json_str(b, f->v[i].text);
		ctlsock_render_printf(b, ", \"fix\": ");
		ctlsock_render_json_str(b, f->v[i].fix);
		ctlsock_render_printf(b, "}");
	}
	ctlsock_render_printf(b, "]");
}

static void ctlsock_render_json(struct ctlsock_buf *b, const struct ctlsock_snap *snap,
				uint64_t now)
{
	const struct ctlsock_status *s = &snap->status;
	char pb[PREFIX_STRLEN];

	ctlsock_render_printf(b, "{\"schema\": %d, \"role\": \"%s\", \"interface\": \"%s\", "
			      "\"public_key\": \"%s\", \"listen_port\": %u, ",
			      CTLSOCK_SCHEMA, ctlsock_render_role(snap), snap->ifname,
			      snap->public_key, snap->listen_port);
	if (s->firewall)
		ctlsock_render_printf(b, "\"firewall\": \"%s\", ", s->firewall);
	else
		ctlsock_render_printf(b, "\"firewall\": null, ");
	if (s->names)
		ctlsock_render_printf(b, "\"names\": {\"served\": %zu, \"containers\": %zu, "
				      "\"domain\": \"%s\", \"engine\": \"%s\", "
				      "\"dns_queries\": %llu}, ",
				      names_count(s->names), names_containers(s->names),
				      names_domain(s->names),
				      s->names_engine ? s->names_engine : "",
				      (unsigned long long)s->dns_queries);
	else
		ctlsock_render_printf(b, "\"names\": null, ");
	if (s->resolver)
		ctlsock_render_printf(b, "\"resolver\": \"%s\", ", s->resolver);
	ctlsock_render_printf(b, "\"device_drops\": ");
	ctlsock_render_json_drops(b, snap->device_drops, &snap->capture.overflow);
	ctlsock_render_printf(b, ", \"pktio_drops\": {");
	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		ctlsock_render_printf(b, "%s\"%s\": %llu", d ? ", " : "",
				      pktio_drop_name((enum pktio_drop)d),
				      (unsigned long long)snap->pktio_drops[d]);
	ctlsock_render_printf(b, "}");
	ctlsock_render_printf(b, ", \"capture\": {\"clients\": %u, \"packets\": %llu}",
			      snap->capture.clients, (unsigned long long)snap->capture.packets);
	/* packets each crypto thread ran in batches shared with workers, the event loop's first */
	ctlsock_render_printf(b, ", \"crypto_threads\": [");
	for (unsigned int i = 0; i < snap->crypto_threads; i++)
		ctlsock_render_printf(b, "%s%llu", i ? ", " : "",
				      (unsigned long long)snap->crypto_jobs[i]);
	ctlsock_render_printf(b, "]");
	ctlsock_render_printf(b, ", \"peers\": [");
	for (size_t k = 0; k < snap->n_peers; k++) {
		const struct ctlsock_peer *peer = &snap->peers[k];
		const struct wg_peer_stats *st = &peer->st;
		double age = ctlsock_render_age(st->last_handshake_ns, now);
		bool pfirst = true;

		ctlsock_render_printf(b, "%s\n  {\"public_key\": \"%s\", ", k ? "," : "", peer->key);
		if (peer->endpoint[0])
			ctlsock_render_printf(b, "\"endpoint\": \"%s\", ", peer->endpoint);
		else
			ctlsock_render_printf(b, "\"endpoint\": null, ");
		if (age < 0)
			ctlsock_render_printf(b, "\"last_handshake_age\": null, ");
		else
			ctlsock_render_printf(b, "\"last_handshake_age\": %.3f, ", age);
		ctlsock_render_printf(b, "\"handshakes\": %llu, \"rx_bytes\": %llu, "
				      "\"tx_bytes\": %llu, \"rx_packets\": %llu, "
				      "\"tx_packets\": %llu, \"drops\": ",
				      (unsigned long long)st->handshakes,
				      (unsigned long long)st->rx_bytes,
				      (unsigned long long)st->tx_bytes,
				      (unsigned long long)st->rx_packets,
				      (unsigned long long)st->tx_packets);
		ctlsock_render_json_drops(b, st->drops, NULL);
		ctlsock_render_printf(b, ", \"prefixes\": [");
		for (size_t i = 0; i < s->n; i++) {
			if (s->v[i].peer != peer->id)
				continue;
			ctlsock_render_printf(b, "%s", pfirst ? "" : ", ");
			ctlsock_render_json_prefix(b, &s->v[i]);
			pfirst = false;
		}
		ctlsock_render_printf(b, "]");
		if (!snap->guest) {
			ctlsock_render_json_dns(b, ctlsock_render_dns_of(s, peer->id));
			ctlsock_render_json_findings(b, ctlsock_render_findings_of(s, peer->id));
		}
		ctlsock_render_printf(b, "}");
	}
	ctlsock_render_printf(b, "]");
	if (snap->guest) {
		ctlsock_render_printf(b, ",\n \"advertisement\": {\"to\": ");
		if (s->have_host_ctl)
			ctlsock_render_printf(b, "\"%s\"",
					      prefix_format(&s->host_ctl, pb, sizeof(pb)));
		else
			ctlsock_render_printf(b, "null");
		ctlsock_render_printf(b, ", \"generation\": %u, \"acknowledged\": %s, "
				      "\"prefixes\": [", s->generation, s->acked ? "true" : "false");
		for (size_t i = 0; i < s->n; i++) {
			ctlsock_render_printf(b, "%s", i ? ", " : "");
			ctlsock_render_json_prefix(b, &s->v[i]);
		}
		ctlsock_render_printf(b, "]}");
	}
	ctlsock_render_printf(b, "}\n");
}

static void ctlsock_render_prom(struct ctlsock_buf *b, const struct ctlsock_snap *snap,
				uint64_t now)
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
	const struct ctlsock_status *s = &snap->status;
	const char *ifn = snap->ifname;
	size_t counts[3] = { 0 };

	ctlsock_render_printf(b, "# HELP gangway_info The daemon's role and firewall mechanism\n"
			      "# TYPE gangway_info gauge\n"
			      "gangway_info{interface=\"%s\",role=\"%s\",firewall=\"%s\"} 1\n",
			      ifn, ctlsock_render_role(snap), s->firewall ? s->firewall : "");
	if (s->names)
		ctlsock_render_printf(b, "# HELP gangway_names Container names served\n"
				      "# TYPE gangway_names gauge\n"
				      "gangway_names{interface=\"%s\"} %zu\n"
				      "# HELP gangway_dns_queries_total DNS questions answered\n"
				      "# TYPE gangway_dns_queries_total counter\n"
				      "gangway_dns_queries_total{interface=\"%s\"} %llu\n", ifn,
				      names_count(s->names), ifn,
				      (unsigned long long)s->dns_queries);
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		ctlsock_render_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help,
				      m[k].name, m[k].type);
		for (size_t j = 0; j < snap->n_peers; j++) {
			const struct wg_peer_stats *st = &snap->peers[j].st;
			uint64_t v[] = { st->rx_bytes, st->tx_bytes, st->rx_packets,
					 st->tx_packets, st->handshakes };

			ctlsock_render_printf(b, "%s{interface=\"%s\",peer=\"%s\"} ", m[k].name, ifn,
					      snap->peers[j].key);
			if (k < sizeof(v) / sizeof(v[0]))
				ctlsock_render_printf(b, "%llu\n", (unsigned long long)v[k]);
			else
				ctlsock_render_printf(b, "%.3f\n",
						      ctlsock_render_age(st->last_handshake_ns, now));
		}
	}
	ctlsock_render_printf(b, "# HELP gangway_peer_info A peer's endpoint (\"\" while unknown)\n"
			      "# TYPE gangway_peer_info gauge\n");
	for (size_t j = 0; j < snap->n_peers; j++)
		ctlsock_render_printf(b, "gangway_peer_info{interface=\"%s\",peer=\"%s\","
				      "endpoint=\"%s\"} 1\n", ifn, snap->peers[j].key,
				      snap->peers[j].endpoint);
	ctlsock_render_printf(b, "# HELP gangway_peer_drops_total Datagrams and packets dropped, "
			      "by reason\n# TYPE gangway_peer_drops_total counter\n");
	for (size_t j = 0; j < snap->n_peers; j++)
		for (int d = 0; d < WG_DROP_MAX; d++)
			ctlsock_render_printf(b, "gangway_peer_drops_total{interface=\"%s\","
					      "peer=\"%s\",reason=\"%s\"} %llu\n", ifn,
					      snap->peers[j].key, wg_drop_name(d),
					      (unsigned long long)snap->peers[j].st.drops[d]);
	ctlsock_render_printf(b, "# HELP gangway_device_drops_total Drops not attributable to a "
			      "peer\n# TYPE gangway_device_drops_total counter\n");
	for (int d = 0; d < WG_DROP_MAX; d++)
		ctlsock_render_printf(b, "gangway_device_drops_total{interface=\"%s\","
				      "reason=\"%s\"} %llu\n", ifn, wg_drop_name(d),
				      (unsigned long long)snap->device_drops[d]);
	ctlsock_render_printf(b, "gangway_device_drops_total{interface=\"%s\","
			      "reason=\"capture-overflow\"} %llu\n", ifn,
			      (unsigned long long)snap->capture.overflow);
	ctlsock_render_printf(b, "# HELP gangway_pktio_drops_total Packets the packet I/O "
			      "dropped itself, by reason\n"
			      "# TYPE gangway_pktio_drops_total counter\n");
	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		ctlsock_render_printf(b, "gangway_pktio_drops_total{interface=\"%s\","
				      "reason=\"%s\"} %llu\n", ifn,
				      pktio_drop_name((enum pktio_drop)d),
				      (unsigned long long)snap->pktio_drops[d]);
	ctlsock_render_printf(b, "# HELP gangway_capture_packets_total Packets handed to captures\n"
			      "# TYPE gangway_capture_packets_total counter\n"
			      "gangway_capture_packets_total{interface=\"%s\"} %llu\n"
			      "# HELP gangway_captures Captures attached\n"
			      "# TYPE gangway_captures gauge\n"
			      "gangway_captures{interface=\"%s\"} %u\n",
			      ifn, (unsigned long long)snap->capture.packets, ifn,
			      snap->capture.clients);
	for (size_t i = 0; i < s->n; i++)
		counts[s->v[i].state]++;
	ctlsock_render_printf(b, "# HELP gangway_prefixes Container prefixes by state\n"
			      "# TYPE gangway_prefixes gauge\n");
	for (int st = 0; st < 3; st++)
		ctlsock_render_printf(b, "gangway_prefixes{interface=\"%s\",state=\"%s\"} %zu\n",
				      ifn, ctlsock_render_pstate(st), counts[st]);
}

static void ctlsock_render_name(void *ctx, const char *name, const struct prefix *addr)
{
	char buf[PREFIX_STRLEN], *slash;

	if (!addr) {
		ctlsock_render_printf(ctx, "%s -\n", name);
		return;
	}
	prefix_format(addr, buf, sizeof(buf));
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	ctlsock_render_printf(ctx, "%s %s\n", name, buf);
}

void ctlsock_render(struct ctlsock_buf *b, enum ctlsock_req req, const struct ctlsock_snap *snap,
		    uint64_t now)
{
	switch (req) {
	case CTLSOCK_REQ_STATUS:
		ctlsock_render_text(b, snap, now);
		break;
	case CTLSOCK_REQ_STATUS_JSON:
		ctlsock_render_json(b, snap, now);
		break;
	case CTLSOCK_REQ_PROMETHEUS:
		ctlsock_render_prom(b, snap, now);
		break;
	case CTLSOCK_REQ_NAMES:
		if (snap->status.names)
			names_foreach(snap->status.names, ctlsock_render_name, b);
		break;
	case CTLSOCK_REQ_PING:
	case CTLSOCK_REQ_RELOAD:
	case CTLSOCK_REQ_CAPTURE:
		break;
	}
}
