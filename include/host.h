/* host.h - the host agent's control plane: accept guests' prefixes, route them */
#ifndef GANGWAY_HOST_H
#define GANGWAY_HOST_H

#include "loop.h"
#include "tunnel.h"

struct host;

struct host *host_start(struct tunnel *t, struct loop *loop);
/* The configuration changed: ask every guest for its set again (SYNC). */
void host_reload(struct host *h);
/* Remove the routes learnt from guests; NULL is fine. */
void host_stop(struct host *h);

struct ctlsock_status;
/* Report each guest's installed and refused prefixes (control socket). */
void host_status(const struct host *h, struct ctlsock_status *s);

#endif
