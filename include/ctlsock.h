/* ctlsock.h - each daemon's local control socket: status, JSON, Prometheus metrics
 *
 * Protocol (docs/debugging.md): a client connects to the unix stream socket
 * <StateDirectory>/<Interface>.sock (mode 0600, root only; 0660 and its
 * members too with [Gangway] ControlGroup), writes one
 * request line of at most CTLSOCK_MAX_REQ bytes ending in '\n' (or closes
 * its writing side), and reads the reply to end of file. The reply's first
 * line is "ok" or "error <reason>"; the body follows. One request per
 * connection. After "capture"'s "ok" the body is a pcap stream that lasts
 * until the client closes the connection (captap.h).
 */
#ifndef GANGWAY_CTLSOCK_H
#define GANGWAY_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "names.h"
#include "prefix.h"
#include "tunnel.h"

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

/* What a prefix is to the control plane that reports it. */
enum ctlsock_pstate {
	CTLSOCK_P_ADVERTISED,		/* guest: sent to the host */
	CTLSOCK_P_INSTALLED,		/* host: allowed and routed */
	CTLSOCK_P_REFUSED,		/* host: not routed, see reason */
};

struct ctlsock_prefix {
	struct prefix p;		/* as the guest advertised it */
	struct prefix mapped;		/* family 0 unless remapped: the host's prefix */
	struct wg_peer *peer;		/* host: the guest it came from; NULL on guest */
	enum ctlsock_pstate state;
	const char *reason;		/* refused: why (ctlmsg_status_name) */
};

#define CTLSOCK_MAX_PREFIXES	1024

/* host: a guest's DNS server as the host believes it (hostdns.c) */
struct ctlsock_dns {
	struct wg_peer *peer;
	const char *source;		/* "announced", "AllowedIPs" (said nothing yet), "off" */
	struct prefix addrs[CTLMSG_MAX_DNS];	/* the addresses believed */
	size_t n;
	const char *domain;
	bool in_use;			/* the host's resolver sends the domain there */
	const char *refused;		/* why its last claim was refused, in part or whole; or NULL */
};

/* The control plane's state, filled by guest_status() / host_status(). */
struct ctlsock_status {
	const char *firewall;		/* guest: mechanism name; NULL on the host */
	bool have_host_ctl;		/* guest: where adverts go */
	struct prefix host_ctl;
	uint32_t generation;		/* guest: sequence of the current advert */
	bool acked;			/* guest: the host acknowledged it */
	struct ctlsock_prefix v[CTLSOCK_MAX_PREFIXES];
	size_t n;
	struct names *names;		/* guest: container names; NULL when off */
	const char *names_engine;	/* guest: the engine client's state */
	uint64_t dns_queries;		/* guest: questions the DNS server answered */
	const char *resolver;		/* host: how the names' domain is resolved */
	struct ctlsock_dns dns[CONFIG_MAX_PEERS];	/* host: each guest's DNS server */
	size_t n_dns;
};

/* Append one prefix; -ENOSPC when full. */
int ctlsock_status_add(struct ctlsock_status *s, const struct ctlsock_prefix *p);

/* Fill s (zeroed by the caller) with the control plane's state. */
typedef void (*ctlsock_status_fn)(void *ctx, struct ctlsock_status *s);

/* A reply under construction; bounded by CTLSOCK_MAX_REPLY. */
struct ctlsock_buf {
	char *p;
	size_t len, cap;
	bool truncated;
};
void ctlsock_printf(struct ctlsock_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Write the reply body for req into b (tunnel and control plane state). */
void ctlsock_render(struct ctlsock_buf *b, enum ctlsock_req req, const struct tunnel *t,
		    const struct ctlsock_status *s, uint64_t now);

struct ctlsock;

/*
 * Serve the control socket of tunnel t (path from t->cfg) in loop. fn is
 * asked for the control plane's state on each status request. NULL + errno.
 */
struct ctlsock *ctlsock_start(struct tunnel *t, struct loop *loop, ctlsock_status_fn fn,
			      void *ctx);
/* Close every connection and remove the socket; NULL is fine. */
void ctlsock_stop(struct ctlsock *c);

/*
 * Re-read the configuration as SIGHUP does: 0, or -errno with one line
 * saying why in err (the running configuration stays).
 */
typedef int (*ctlsock_reload_fn)(void *ctx, char *err, size_t errlen);
/* Serve "reload" requests with fn; without it they are answered with an error. */
void ctlsock_set_reload(struct ctlsock *c, ctlsock_reload_fn fn, void *ctx);

/*
 * Client side: send request (one line, no '\n') to the socket at path and
 * read the whole reply into a malloc'd, NUL-terminated *body (the part after
 * the "ok" line), waiting at most CTLSOCK_CLIENT_TIMEOUT seconds for it
 * (-ETIMEDOUT). Returns 0; -errno when the socket cannot be reached;
 * -EPROTO with the daemon's "error ..." line in *body.
 */
int ctlsock_request(const char *path, const char *request, char **body);
/*
 * The socket path for --socket PATH or the configuration file (NULL: the
 * default file, or where that cannot be read, the default socket).
 */
int ctlsock_client_path(const char *sock, const char *config, char *buf, size_t size);
/* <default StateDirectory>/IFNAME.sock (NULL: the default interface). */
int ctlsock_default_path(const char *ifname, char *buf, size_t size);

#endif
