/* hostdns.h - the host's side of container names: each guest's DNS server, believed as far as policy allows
 *
 * A guest announces where it serves DNS and for which domain, or that its
 * names are off (ctlmsg NAMES). hostdns judges that claim (accept_dns: the
 * guest's own tunnel address, the host's own domain) and points the host's
 * resolver (resolver.h) at one guest's server. See docs/names.md.
 */
#ifndef GANGWAY_HOSTDNS_H
#define GANGWAY_HOSTDNS_H

#include <stdbool.h>
#include <stdint.h>

#include "accept.h"
#include "ctlmsg.h"
#include "tunnel.h"

struct hostdns;
struct ctlsock_status;

/*
 * Start following the guests' DNS servers for tunnel t (Names = on): opens
 * the resolver and points it where the configuration says, until a guest
 * speaks. NULL when the resolver cannot be had (logged).
 */
struct hostdns *hostdns_start(struct tunnel *t);
/* Undo the resolver's configuration; NULL is fine. */
void hostdns_stop(struct hostdns *d);

/*
 * The guest pub announced m (a NAMES message that verified and is fresh).
 * Returns true when it differs from what that guest said last, which then
 * needs judging (hostdns_judge); a repeat changes nothing.
 */
bool hostdns_heard(struct hostdns *d, const uint8_t pub[WG_KEY_LEN], const struct ctlmsg *m);
/*
 * Judge what the guest pub (configured as cp) announced against the host
 * now (view; NULL: the host's routes could not be read, so nothing new is
 * believed) and the other peers' claims c, and point the resolver where
 * the result says. A claim refused whole changes nothing that was in
 * effect; one in effect that fails now (a route that appeared) is taken
 * back. Each refusal is logged once.
 */
void hostdns_judge(struct hostdns *d, const uint8_t pub[WG_KEY_LEN], const struct config_peer *cp,
		   const struct accept_host *view, const struct accept_claims *c);
/* Forget a guest whose peer a reload removed. */
void hostdns_forget(struct hostdns *d, const uint8_t pub[WG_KEY_LEN]);
/* Point the resolver again (after a reload changed the peers). */
void hostdns_refresh(struct hostdns *d);
/* Each configured guest's DNS server, and the resolver's line (control socket). */
void hostdns_status(const struct hostdns *d, struct ctlsock_status *s);

#endif
