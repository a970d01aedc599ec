/* tunnel.h - the running tunnel: engine, device, socket and their glue */
#ifndef GANGWAY_TUNNEL_H
#define GANGWAY_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "captap.h"
#include "config.h"
#include "ctlmsg.h"
#include "loop.h"
#include "pktio.h"
#include "platform.h"
#include "resolve.h"
#include "wg.h"

enum tunnel_role {
	TUNNEL_GUEST,	/* inside the VM: dials the host and keeps the mapping alive */
	TUNNEL_HOST,	/* on the host: waits for guests, routes their prefixes */
};

struct tunnel_peer {
	struct wg_peer *wg;
	char endpoint_name[CONFIG_HOST_LEN];	/* endpoint's host as configured, "" = learn it */
	uint16_t port;
	uint64_t resolve_at;		/* boottime ns of the next name lookup, 0 = none */
	struct resolve *lookup;		/* a name lookup under way, or NULL */
	struct ctlmsg_auth auth;	/* control messages' keys, challenges, counters */
	bool auth_ok;			/* keys derived (false: a low-order public key) */
	struct prefix ctl;		/* where its daemon speaks from, once it did */
	uint64_t hello_at;		/* boottime ns before which no HELLO goes out */
};

/*
 * A control message from the peer's daemon, sent from src: its tag verified
 * and it is fresh (ctlmsg.h); HELLOs included.
 */
typedef void (*tunnel_ctl_fn)(void *ctx, struct wg_peer *from, const struct prefix *src,
			      const struct ctlmsg *m);
typedef void (*tunnel_event_fn)(void *ctx, struct wg_peer *peer, enum wg_event ev);

/* The control plane's hooks (guest_linux.c, host.c); either may be NULL. */
struct tunnel_hooks {
	tunnel_ctl_fn on_ctl;
	tunnel_event_fn on_event;
};

#define TUNNEL_CTL_OUTBOX	8

/* Control messages wait here until the engine is not busy with a packet. */
struct tunnel_ctl_out {
	struct prefix dst;
	size_t len;
	uint8_t msg[CTLMSG_MAX_LEN];
};

/*
 * Defined here so the service can hold one by value; its fields are
 * tunnel.c's own: the control plane, the control socket and the tap reach
 * it through the functions below.
 */
struct tunnel {
	enum tunnel_role role;
	struct tunnel_hooks hooks;	/* tunnel_set_hooks() */
	void *hook_ctx;
	struct config cfg;
	struct loop *loop;
	struct wg_device *dev;
	struct captap *tap;		/* a capture is attached (tunnel_set_tap); NULL: none */
	struct platform *plat;		/* the OS side: device, addresses, routes */
	struct pktio io;
	struct pool *pool;		/* threads sharing the batches' AEAD work */
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct tunnel_peer *peers;	/* same order as cfg.peers */
	size_t n_peers;
	uint64_t deadline;		/* engine's next timer */
	/* one packet with room for the engine to encrypt in place */
	uint8_t buf[WG_MAX_DATAGRAM] __attribute__((aligned(64)));
	struct tunnel_ctl_out outbox[TUNNEL_CTL_OUTBOX];
	size_t n_out;
	bool in_engine;			/* inside an engine call: defer sends */
	uint8_t ctlbuf[WG_HEADROOM + 1280 + WG_TAILROOM] __attribute__((aligned(64)));
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
/*
 * Seal m for the peer whose daemon speaks at dst (a peer's tunnel address)
 * and queue it, sent from our own address of the same family through the
 * tunnel as soon as the engine is idle (safe to call from the
 * on_ctl/on_event hooks). 0 or -errno.
 */
int tunnel_send_ctl(struct tunnel *t, const struct prefix *dst, const struct ctlmsg *m);
/* Our first tunnel address of family, or NULL. */
const struct prefix *tunnel_own_addr(const struct tunnel *t, int family);
/* Remove routes the tunnel added, close the device and socket. */
void tunnel_stop(struct tunnel *t);

/*
 * The control plane attaches: hooks (copied) are called with ctx until
 * tunnel_unset_hooks(t, ctx). NULL hooks detach whoever is attached.
 */
void tunnel_set_hooks(struct tunnel *t, const struct tunnel_hooks *hooks, void *ctx);
/* Detach the hooks set with ctx; someone else's stay. */
void tunnel_unset_hooks(struct tunnel *t, void *ctx);
/* Show every inner packet to tap from now on (NULL: to nobody); see captap.h. */
void tunnel_set_tap(struct tunnel *t, struct captap *tap);

/* The running configuration (replaced in place on reload; the pointer stays). */
const struct config *tunnel_config(const struct tunnel *t);
/* The OS side: device, addresses, routes. */
struct platform *tunnel_platform(const struct tunnel *t);
/* The engine. */
struct wg_device *tunnel_device(const struct tunnel *t);
/* The tunnel device's name. */
const char *tunnel_ifname(const struct tunnel *t);

struct ctlsock_snap;
/* Fill the tunnel's part of a status snapshot (ctlsock_render.h). */
void tunnel_stats(const struct tunnel *t, struct ctlsock_snap *snap);

#endif
