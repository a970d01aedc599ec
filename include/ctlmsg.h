/* ctlmsg.h - gangway's control messages, carried inside the tunnel
 *
 * A control message is the payload of a UDP datagram between the guest's
 * and the host's tunnel addresses, port CTLMSG_PORT, sent through the
 * WireGuard session itself: the peer is authenticated by the session the
 * datagram arrived on, never by anything in the message. See
 * docs/protocol.md.
 */
#ifndef GANGWAY_CTLMSG_H
#define GANGWAY_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define CTLMSG_PORT		51899
#define CTLMSG_MAGIC		"GWY1"
#define CTLMSG_HDR_LEN		12
/* one message fits one inner packet of the smallest tunnel MTU (1280) */
#define CTLMSG_MAX_PREFIXES	64
/* largest payload: what fits one inner packet of 1280 bytes */
#define CTLMSG_MAX_LEN		1232

enum ctlmsg_type {
	CTLMSG_ADVERTISE = 1,	/* guest -> host: the full set of its prefixes */
	CTLMSG_ACK = 2,		/* host -> guest: what became of each prefix */
	CTLMSG_SYNC = 3,	/* host -> guest: send your full set again */
};

/* What the host did with an advertised prefix. */
enum ctlmsg_status {
	CTLMSG_ST_INSTALLED = 0,
	CTLMSG_ST_NOT_ALLOWED = 1,	/* outside the accepted ranges */
	CTLMSG_ST_CONFLICT = 2,		/* another guest holds it */
	CTLMSG_ST_SHADOWED = 3,		/* a more specific host route overlaps */
	CTLMSG_ST_REMAPPED = 4,		/* installed under another host prefix */
	CTLMSG_ST_MAX
};

struct ctlmsg {
	enum ctlmsg_type type;
	uint32_t seq;			/* generation of the guest's set */
	size_t n;
	struct prefix prefixes[CTLMSG_MAX_PREFIXES];
	uint8_t status[CTLMSG_MAX_PREFIXES];	/* ACK only */
	struct prefix mapped[CTLMSG_MAX_PREFIXES];	/* ACK, REMAPPED: the host's prefix */
};

/* Serialise m into buf; returns the length or -EMSGSIZE. */
int ctlmsg_encode(const struct ctlmsg *m, uint8_t *buf, size_t size);
/* Parse len bytes; 0 or -EBADMSG (any malformation). */
int ctlmsg_decode(struct ctlmsg *m, const uint8_t *buf, size_t len);
const char *ctlmsg_status_name(enum ctlmsg_status s);

/*
 * Wrap a payload in IPv4/UDP or IPv6/UDP from src to dst (same family) with
 * correct checksums. Returns the packet length or -EMSGSIZE.
 */
int ctlmsg_wrap(uint8_t *pkt, size_t size, const struct prefix *src,
		const struct prefix *dst, const uint8_t *payload, size_t len);
/*
 * If pkt is a UDP datagram to port CTLMSG_PORT, point *payload at its data
 * and return its length (checks lengths and the UDP checksum); else -1.
 * src and dst receive the addresses (full-length prefixes).
 */
int ctlmsg_unwrap(const uint8_t *pkt, size_t len, struct prefix *src, struct prefix *dst,
		  const uint8_t **payload);

#endif
