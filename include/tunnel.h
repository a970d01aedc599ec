/* tunnel.h - the running tunnel: engine, device, socket and their glue */
#ifndef GANGWAY_TUNNEL_H
#define GANGWAY_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "netif.h"
#include "pktio.h"
#include "wg.h"

enum tunnel_role {
	TUNNEL_GUEST,	/* inside the VM: dials the host and keeps the mapping alive */
	TUNNEL_HOST,	/* on the host: waits for guests, routes their prefixes */
};

struct tunnel_peer {
	struct wg_peer *wg;
	char host[CONFIG_HOST_LEN];	/* endpoint as configured, "" = learn it */
	uint16_t port;
	uint64_t resolve_at;		/* boottime ns of the next name lookup, 0 = none */
};

struct tunnel {
	enum tunnel_role role;
	struct config cfg;
	struct loop *loop;
	struct wg_device *dev;
	struct netif *nl;
	struct pktio io;
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct tunnel_peer *peers;	/* same order as cfg.peers */
	size_t n_peers;
	uint64_t deadline;		/* engine's next timer */
	/* one packet with room for the engine to encrypt in place */
	uint8_t buf[WG_MAX_DATAGRAM] __attribute__((aligned(64)));
};

/*
 * Bring the tunnel up from a parsed configuration (taken over by t): create
 * the device, address it, open the socket, add the peers, register with the
 * loop. Returns 0 or -errno (logged).
 */
int tunnel_start(struct tunnel *t, struct loop *loop, struct config *cfg,
		 enum tunnel_role role);
/* Apply a newly parsed configuration (taken over on success). */
int tunnel_reload(struct tunnel *t, struct config *cfg);
/* Remove routes the tunnel added, close the device and socket. */
void tunnel_stop(struct tunnel *t);

#endif
