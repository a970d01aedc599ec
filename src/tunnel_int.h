/* tunnel_int.h - the tunnel runtime's internals, shared by its files
 *
 * Private to src/tunnel.c, src/tunnel_endpoint.c, src/tunnel_ctl.c and
 * src/tunnel_stats.c; every other module uses include/tunnel.h (which
 * also holds struct tunnel, read by all four).
 */
#ifndef GANGWAY_TUNNEL_INT_H
#define GANGWAY_TUNNEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"
#include "key.h"
#include "prefix.h"
#include "tunnel.h"
#include "wg.h"

#define TUNNEL_RESOLVE_RETRY	(5 * WG_NSEC)
#define TUNNEL_RESOLVE_POLL	(WG_NSEC / 20)	/* while a lookup runs */

/* tunnel.c: names for the log, the peer list, the loop's timer */
const char *tunnel_key_name(const uint8_t key[WG_KEY_LEN], char buf[KEY_B64_LEN + 1]);
const char *tunnel_peer_name(const struct wg_peer *p, char buf[KEY_B64_LEN + 1]);
const char *tunnel_ep_str(const struct wg_endpoint *ep, char *buf, size_t size);
struct tunnel_peer *tunnel_peer_of(struct tunnel *t, struct wg_peer *wp);
void tunnel_schedule(struct tunnel *t);

/* tunnel_endpoint.c: endpoint names looked up, guests' endpoints remembered */
void tunnel_endpoint_resolve(struct tunnel *t, struct tunnel_peer *tp, uint64_t now);
void tunnel_endpoint_collect(struct tunnel *t, struct tunnel_peer *tp, uint64_t now);
void tunnel_endpoint_save(struct tunnel *t);
void tunnel_endpoint_load(struct tunnel *t);

/* tunnel_ctl.c: control messages between the daemons */
bool tunnel_ctl_is_own_addr(const struct tunnel *t, const struct prefix *a);
struct tunnel_peer *tunnel_ctl_peer(struct tunnel *t, const struct prefix *a);
struct tunnel_peer *tunnel_ctl_allowed_peer(struct tunnel *t, const struct prefix *a);
void tunnel_ctl_in(struct tunnel *t, struct wg_peer *from, const struct prefix *src,
		   const uint8_t *msg, size_t len);
void tunnel_ctl_flush(struct tunnel *t, uint64_t now);
void tunnel_ctl_auth(struct tunnel *t, struct tunnel_peer *tp,
		     const struct tunnel_peer *old, const struct config_peer *cp);

#endif
