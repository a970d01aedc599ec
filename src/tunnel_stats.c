/* tunnel_stats.c - the tunnel's part of a status snapshot */

/*
 * Theory of operation: the control socket renders status from a
 * snapshot (struct ctlsock_snap, ctlsock_render.h), never from the tunnel
 * itself; this file copies the tunnel's part into it: the interface,
 * the packet I/O, the crypto threads, the drop counters and each peer.
 */
#include <stdio.h>
#include <string.h>

#include "ctlsock_render.h"
#include "key.h"
#include "pool.h"
#include "tunnel.h"
#include "tunnel_int.h"

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

