/* guest.h - gangwayd's control plane: discovery, firewall, advertisement */
#ifndef GANGWAY_GUEST_H
#define GANGWAY_GUEST_H

#include "loop.h"
#include "tunnel.h"

struct guest;

/* Start on a running tunnel (uses t->cfg); NULL on failure (logged). */
struct guest *guest_start(struct tunnel *t, struct loop *loop);
/* Remove the firewall rules and stop watching; NULL is fine. */
void guest_stop(struct guest *g);

struct ctlsock_status;
/* Report what is advertised and the firewall in use (control socket). */
void guest_status(const struct guest *g, struct ctlsock_status *s);

#endif
