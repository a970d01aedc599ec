/* ctlsock_render.h - the control socket's replies: text, JSON and Prometheus from one snapshot
 *
 * A status request is answered from a snapshot taken at once: the tunnel
 * fills its part (tunnel_stats), the control plane in use its own
 * (guest_status, host_status), the server the captures' counts; the
 * renderers read nothing else, so they know no daemon's internals and a
 * test can render any state it builds.
 */
#ifndef GANGWAY_CTLSOCK_RENDER_H
#define GANGWAY_CTLSOCK_RENDER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "captap.h"
#include "config.h"
#include "ctlmsg.h"
#include "ctlsock.h"
#include "key.h"
#include "names.h"
#include "pktio.h"
#include "pool.h"
#include "prefix.h"
#include "wg.h"

#define CTLSOCK_RENDER_ENDPOINT_LEN	(INET6_ADDRSTRLEN + 10)	/* "[addr]:port" */
#define CTLSOCK_RENDER_PKTIO_LEN	96
#define CTLSOCK_MAX_PREFIXES	1024

/* What a prefix is to the control plane that reports it. */
enum ctlsock_pstate {
	CTLSOCK_P_ADVERTISED,		/* guest: sent to the host */
	CTLSOCK_P_INSTALLED,		/* host: allowed and routed */
	CTLSOCK_P_REFUSED,		/* host: not routed, see reason */
};

struct ctlsock_prefix {
	struct prefix p;		/* as the guest advertised it */
	struct prefix mapped;		/* family 0 unless remapped: the host's prefix */
	const struct wg_peer *peer;	/* host: the guest it came from; NULL on guest */
	enum ctlsock_pstate state;
	const char *reason;		/* refused: why (ctlmsg_status_name) */
};

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

/* host: what a guest's firewall check found (FINDINGS), as the guest said it */
struct ctlsock_findings {
	const struct wg_peer *peer;
	const struct ctlmsg_finding *v;	/* printable ASCII only (ctlmsg_clean_text) */
	size_t n;			/* 0: nothing wrong */
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
	struct ctlsock_findings findings[CONFIG_MAX_PEERS];	/* host: guests heard from */
	size_t n_findings;
};

/* One peer as the engine counts it. */
struct ctlsock_peer {
	const struct wg_peer *id;	/* what ctlsock_prefix.peer names */
	char key[KEY_B64_LEN + 1];	/* its public key, base64 */
	char endpoint[CTLSOCK_RENDER_ENDPOINT_LEN];	/* "" without one */
	struct wg_peer_stats st;
};

/* Everything a status reply says, taken at one moment. */
struct ctlsock_snap {
	/* the tunnel's, filled by tunnel_stats() */
	bool guest;			/* the role: guest, else host */
	char ifname[IF_NAMESIZE];
	char public_key[KEY_B64_LEN + 1];
	uint16_t listen_port;
	char packet_io[CTLSOCK_RENDER_PKTIO_LEN];	/* pktio_desc() */
	unsigned int crypto_threads;	/* 0: no pool; else the loop's and the workers' */
	uint64_t crypto_jobs[1 + POOL_MAX_WORKERS];	/* packets each sealed or opened */
	uint64_t device_drops[WG_DROP_MAX];
	uint64_t pktio_drops[PKTIO_DROP_MAX];	/* the packet I/O's own, by reason */
	struct ctlsock_peer peers[CONFIG_MAX_PEERS];
	size_t n_peers;
	/* the captures', filled by the server */
	struct captap_stats capture;
	/* the control plane's */
	struct ctlsock_status status;
};

/* Append one prefix; -ENOSPC when full. */
int ctlsock_render_add_prefix(struct ctlsock_status *s, const struct ctlsock_prefix *p);

/* A reply under construction; bounded by CTLSOCK_MAX_REPLY. */
struct ctlsock_buf {
	char *p;
	size_t len, cap;
	bool truncated;
};
void ctlsock_render_printf(struct ctlsock_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write the reply body for req into b from the snapshot; now: boottime ns. */
void ctlsock_render(struct ctlsock_buf *b, enum ctlsock_req req, const struct ctlsock_snap *snap,
		    uint64_t now);

#endif
