/* ctlsock_client.h - the CLI's side of the control socket: find it, ask, read the reply */
#ifndef GANGWAY_CTLSOCK_CLIENT_H
#define GANGWAY_CTLSOCK_CLIENT_H

#include <stddef.h>

#include "ctlsock.h"

/*
 * Send request (one line, no '\n') to the socket at path and read the
 * whole reply into a malloc'd, NUL-terminated *body (the part after the
 * "ok" line), waiting at most CTLSOCK_CLIENT_TIMEOUT seconds for it
 * (-ETIMEDOUT). Returns 0; -errno when the socket cannot be reached;
 * -EPROTO with the daemon's "error ..." line in *body.
 */
int ctlsock_client_request(const char *path, const char *request, char **body);
/*
 * The socket path for --socket PATH or the configuration file (NULL: the
 * default file, or where that cannot be read, the default socket). -EINVAL
 * with the configuration's error in buf.
 */
int ctlsock_client_path(const char *sock, const char *config, char *buf, size_t size);

#endif
