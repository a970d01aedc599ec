/* ctlsock_srv.h - the daemons' control socket server: connections, access, captures */
#ifndef GANGWAY_CTLSOCK_SRV_H
#define GANGWAY_CTLSOCK_SRV_H

#include <stddef.h>

#include "captap.h"
#include "config.h"
#include "ctlsock_render.h"
#include "loop.h"

/* What the server asks of the daemon that runs it. */
struct ctlsock_srv_ops {
	/*
	 * Fill snap (zeroed; its capture counts are the server's) for a
	 * status request.
	 */
	void (*status)(void *ctx, struct ctlsock_snap *snap);
	/*
	 * Re-read the configuration as SIGHUP does: 0, or -errno with one
	 * line saying why in err (the running configuration stays). NULL:
	 * "reload" requests are answered with an error.
	 */
	int (*reload)(void *ctx, char *err, size_t errlen);
	/* Where the capture tap is published (captap_new); NULL: no captures. */
	captap_publish_fn publish_tap;
};

struct ctlsock_srv;

/*
 * Serve the control socket of configuration cfg (path, state directory,
 * ControlGroup; read at start) in loop, answering through ops with ctx.
 * NULL + errno.
 */
struct ctlsock_srv *ctlsock_srv_start(const struct config *cfg, struct loop *loop,
				      const struct ctlsock_srv_ops *ops, void *ctx);
/* Close every connection and remove the socket; NULL is fine. */
void ctlsock_srv_stop(struct ctlsock_srv *c);

#endif
