/* tunnel_endpoint.c - where the peers are: endpoint names looked up, endpoints remembered */

/*
 * Theory of operation: a configured endpoint may be a name; it is looked
 * up without blocking the loop, again after a handshake times out (the
 * host may have moved), and retried while it fails. The host, which
 * learns its guests' endpoints only from their packets, writes them to
 * the state directory so that it can dial them again after a restart.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "statedir.h"
#include "tunnel.h"
#include "tunnel_int.h"

/*
 * Endpoint names are looked up in the background (resolve.c): the loop
 * goes on with every other peer, the control socket and the timers while a
 * name server takes its time. tunnel_schedule() starts due lookups and
 * collects ended ones, polling every TUNNEL_RESOLVE_POLL while any runs.
 * A numeric endpoint needs no lookup and is set at once.
 */
static void tunnel_endpoint_resolved(struct tunnel *t, struct tunnel_peer *tp, int ret,
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
void tunnel_endpoint_resolve(struct tunnel *t, struct tunnel_peer *tp, uint64_t now)
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
		tunnel_endpoint_resolved(t, tp, ret, res, now);
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
void tunnel_endpoint_collect(struct tunnel *t, struct tunnel_peer *tp, uint64_t now)
{
	struct addrinfo *res;
	int ret;

	if (!tp->lookup || !resolve_done(tp->lookup, &ret, &res))
		return;
	resolve_free(tp->lookup);
	tp->lookup = NULL;
	tunnel_endpoint_resolved(t, tp, ret, res, now);
	if (!ret && t->role == TUNNEL_GUEST)
		wg_peer_connect(tp->wg, now);
}

/*
 * The host learns guests' endpoints only from their packets. It writes them
 * down, so that after a restart (crash, upgrade) it can dial the guests at
 * once instead of waiting for them to notice the lost session.
 */
static void tunnel_endpoint_state_path(const struct tunnel *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.endpoints", t->cfg.state_dir, t->cfg.ifname);
}

void tunnel_endpoint_save(struct tunnel *t)
{
	char path[320], tmp[336], key[KEY_B64_LEN + 1], ep[80], err[CONFIG_ERR_LEN];
	struct wg_endpoint e;
	FILE *f;
	int fd;

	tunnel_endpoint_state_path(t, path, sizeof(path));
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

void tunnel_endpoint_load(struct tunnel *t)
{
	char path[320], line[256], keytxt[64], host[80], *colon, err[CONFIG_ERR_LEN];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	uint8_t key[WG_KEY_LEN];
	FILE *f;
	int fd;

	tunnel_endpoint_state_path(t, path, sizeof(path));
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
