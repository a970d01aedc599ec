/* ctlsock.h - the control socket's protocol: requests, limits and where the socket is
 *
 * Protocol (docs/debugging.md): a client connects to the unix stream socket
 * <StateDirectory>/<Interface>.sock (mode 0600, root only; 0660 and its
 * members too with [Gangway] ControlGroup), writes one
 * request line of at most CTLSOCK_MAX_REQ bytes ending in '\n' (or closes
 * its writing side), and reads the reply to end of file. The reply's first
 * line is "ok" or "error <reason>"; the body follows. One request per
 * connection. After "capture"'s "ok" the body is a pcap stream that lasts
 * until the client closes the connection (captap.h).
 *
 * Both sides share this file: the daemons serve the socket (ctlsock_srv.h)
 * and answer from a snapshot (ctlsock_render.h), the CLI asks
 * (ctlsock_client.h).
 */
#ifndef GANGWAY_CTLSOCK_H
#define GANGWAY_CTLSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CTLSOCK_MAX_REQ		4096		/* bytes of one request, '\n' included */
#define CTLSOCK_MAX_REPLY	(256 * 1024)
#define CTLSOCK_MAX_CLIENTS	4		/* connections being read at once */
#define CTLSOCK_CLIENT_TIMEOUT	5		/* s a client waits for a reply */
#define CTLSOCK_SCHEMA		1		/* "schema" of the JSON status */

enum ctlsock_req {
	CTLSOCK_REQ_STATUS,		/* "status": text for people */
	CTLSOCK_REQ_STATUS_JSON,	/* "status json" */
	CTLSOCK_REQ_PROMETHEUS,		/* "prometheus": text exposition format */
	CTLSOCK_REQ_PING,		/* "ping": "ok" and nothing else */
	CTLSOCK_REQ_RELOAD,		/* "reload": as SIGHUP; "ok" or "error <why>" */
	CTLSOCK_REQ_CAPTURE,		/* "capture ...": "ok", then pcap until the client closes */
	CTLSOCK_REQ_NAMES,		/* "names": one "name address" line each (guest) */
};

/*
 * Parse one request (len bytes, without its '\n'). Returns 0, -EINVAL for
 * anything malformed (unknown words, control bytes, NUL) or -E2BIG when
 * longer than CTLSOCK_MAX_REQ - 1.
 */
int ctlsock_parse(const char *buf, size_t len, enum ctlsock_req *req);

/*
 * The arguments of a capture request (the whole line, as ctlsock_parse
 * takes it): "capture [snaplen N] [filter EXPR...]", words separated by
 * one space, N in 1..CAPTAP_SNAPLEN_MAX, EXPR the rest of the line (tcpdump
 * syntax, compiled by the daemon). 0, -EINVAL or -E2BIG.
 */
struct ctlsock_capture {
	uint32_t snaplen;		/* 0: not given */
	char filter[CTLSOCK_MAX_REQ];	/* "": everything */
};
int ctlsock_parse_capture(const char *buf, size_t len, struct ctlsock_capture *cap);

/* The socket's path for a configuration; -ENAMETOOLONG if it does not fit. */
int ctlsock_path(const struct config *c, char *buf, size_t size);
/* <default StateDirectory>/IFNAME.sock (NULL: the default interface). */
int ctlsock_default_path(const char *ifname, char *buf, size_t size);

/*
 * Write all of p to the stream socket fd, best effort: with a send timeout
 * set, a peer that does not read within it loses the rest.
 */
void ctlsock_send(int fd, const char *p, size_t len);

#endif
