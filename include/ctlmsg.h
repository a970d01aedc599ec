/* ctlmsg.h - gangway's control messages, carried inside the tunnel
 *
 * A control message is the payload of a UDP datagram between the guest's
 * and the host's tunnel addresses, port CTLMSG_PORT, sent through the
 * WireGuard session itself. The session says which peer's side it came
 * from, but not that gangway's daemon wrote it (a container in the VM, a
 * process on the host could send into the tunnel too): every message
 * carries a MAC keyed from the two daemons' static keys and a challenge
 * and counter that make it fresh. See docs/protocol.md.
 */
#ifndef GANGWAY_CTLMSG_H
#define GANGWAY_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define CTLMSG_PORT		51899
#define CTLMSG_MAGIC		"GWY2"
#define CTLMSG_HDR_LEN		44
#define CTLMSG_TAG_LEN		16
#define CTLMSG_KEY_LEN		32
/* one message fits one inner packet of the smallest tunnel MTU (1280) */
#define CTLMSG_MAX_PREFIXES	60
/* largest payload: what fits one inner packet of 1280 bytes */
#define CTLMSG_MAX_LEN		1232
/* NAMES: the DNS server's addresses (one per family) and its domain's length */
#define CTLMSG_MAX_DNS		2
#define CTLMSG_DOMAIN_MAX	127
/*
 * FINDINGS: what the guest's own check of its firewall found wrong, each a
 * sentence and its fix in printable ASCII; at most this many and this long,
 * and the whole message within CTLMSG_MAX_LEN (ctlmsg_finding_len).
 */
#define CTLMSG_MAX_FINDINGS	4
#define CTLMSG_FINDING_TEXT_MAX	400
#define CTLMSG_FINDING_FIX_MAX	300

enum ctlmsg_type {
	CTLMSG_ADVERTISE = 1,	/* guest -> host: the full set of its prefixes */
	CTLMSG_ACK = 2,		/* host -> guest: what became of each prefix */
	CTLMSG_SYNC = 3,	/* host -> guest: send your full set again */
	CTLMSG_HELLO = 4,	/* either way: "here is my challenge", nothing else */
	CTLMSG_NAMES = 5,	/* guest -> host: its DNS server and domain, or "names off" */
	CTLMSG_FINDINGS = 6,	/* guest -> host: what is wrong with its firewall, or nothing */
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

/* One FINDINGS entry: printable ASCII, text never empty. */
struct ctlmsg_finding {
	char text[CTLMSG_FINDING_TEXT_MAX + 1];
	char fix[CTLMSG_FINDING_FIX_MAX + 1];
};

struct ctlmsg {
	enum ctlmsg_type type;
	uint32_t seq;			/* generation of the guest's set */
	uint64_t life;			/* the sender's, drawn at its start, never 0 */
	uint64_t nonce;			/* the sender's challenge, never 0 */
	uint64_t echo;			/* the receiver's challenge as the sender knows it */
	uint64_t ctr;			/* the sender's counter, strictly increasing */
	size_t n;
	/* NAMES: the DNS server's addresses (full length, n <= CTLMSG_MAX_DNS); none: off */
	struct prefix prefixes[CTLMSG_MAX_PREFIXES];
	uint8_t status[CTLMSG_MAX_PREFIXES];	/* ACK only */
	struct prefix mapped[CTLMSG_MAX_PREFIXES];	/* ACK, REMAPPED: the host's prefix */
	char domain[CTLMSG_DOMAIN_MAX + 1];	/* NAMES: lower case; "" when names are off */
	/* FINDINGS: n entries (n <= CTLMSG_MAX_FINDINGS); none: nothing wrong */
	struct ctlmsg_finding findings[CTLMSG_MAX_FINDINGS];
};

/* Serialise m into buf with its tag under key; returns the length or -EMSGSIZE. */
int ctlmsg_encode(const struct ctlmsg *m, const uint8_t key[CTLMSG_KEY_LEN], uint8_t *buf,
		  size_t size);
/*
 * Parse len bytes and check the tag under key: 0, -EBADMSG (any
 * malformation; the tag is not looked at) or -EPERM (well formed, wrong tag).
 */
int ctlmsg_decode(struct ctlmsg *m, const uint8_t key[CTLMSG_KEY_LEN], const uint8_t *buf,
		  size_t len);
const char *ctlmsg_status_name(enum ctlmsg_status s);

/*
 * An ACK's room for its entries: a message is at most CTLMSG_MAX_LEN
 * bytes. Each entry takes ctlmsg_ack_entry_len(p, mapped) (mapped NULL
 * unless REMAPPED). An ACK of a whole advertisement always fits without
 * remaps; the remaps' second prefixes are what may not.
 */
#define CTLMSG_BODY_MAX		(CTLMSG_MAX_LEN - CTLMSG_HDR_LEN - CTLMSG_TAG_LEN)
size_t ctlmsg_ack_entry_len(const struct prefix *p, const struct prefix *mapped);
/* The bytes one FINDINGS entry takes (the sender adds entries while they fit). */
size_t ctlmsg_finding_len(const struct ctlmsg_finding *f);

/*
 * Copy what a peer said (len bytes at src, or up to its NUL) into dst for
 * people to read: printable ASCII kept, every other byte a '?', cut to
 * size - 1 bytes. So nothing a peer writes can move a terminal's cursor,
 * colour it, or end a line of the status early. Returns dst's length.
 */
size_t ctlmsg_clean_text(char *dst, size_t size, const char *src, size_t len);

/*
 * The remaps an ACK of adv asks the guest to make: the REMAPPED entries
 * whose guest prefix adv lists, in order, into guest[] and host[] (room for
 * CTLMSG_MAX_PREFIXES each). An entry for anything else is not the host's
 * to ask for: it is left out and counted in *ignored. Returns the count.
 */
size_t ctlmsg_ack_remaps(const struct ctlmsg *ack, const struct ctlmsg *adv,
			 struct prefix *guest, struct prefix *host, size_t *ignored);

/*
 * One peer's authentication state, on each side. Keys: KDF1 of the static
 * X25519 of the two daemons' keys, the preshared key (zero when none) and
 * the sending side's public key, one key per direction.
 *
 * Freshness: each side draws a random life at its start and a random
 * challenge, and sends both in every message; the other side echoes the
 * challenge. A message is accepted when its tag verifies, its life is the
 * one the receiver knows, it echoes the receiver's current challenge and
 * its counter is above every counter accepted in that life. A new life (the
 * peer restarted, or a message from before its restart replayed) is not
 * accepted: the receiver notes it and draws a new challenge, which nothing
 * made before can echo, and answers with a HELLO. A message that merely
 * echoes an old challenge is answered with a HELLO too, unless it is one.
 * The sender's challenge is learnt from every message whose tag verifies.
 */
struct ctlmsg_auth {
	uint8_t tx_key[CTLMSG_KEY_LEN];
	uint8_t rx_key[CTLMSG_KEY_LEN];
	uint64_t life;			/* ours, never 0 */
	uint64_t nonce;			/* our challenge, never 0 */
	uint64_t peer_life;		/* the peer's as last seen, 0: none yet */
	uint64_t peer_nonce;		/* the peer's challenge as last seen */
	uint64_t tx_ctr;		/* last counter sent */
	uint64_t rx_ctr;		/* highest accepted in peer_life */
};

/* Fresh state: keys (ctlmsg_auth_keys), a new life and challenge. 0 or -errno. */
int ctlmsg_auth_init(struct ctlmsg_auth *a, const uint8_t priv[CTLMSG_KEY_LEN],
		     const uint8_t peer_pub[CTLMSG_KEY_LEN], const uint8_t *psk);
/* Derive the keys again (a reload may change the preshared key); the rest stays. */
int ctlmsg_auth_keys(struct ctlmsg_auth *a, const uint8_t priv[CTLMSG_KEY_LEN],
		     const uint8_t peer_pub[CTLMSG_KEY_LEN], const uint8_t *psk);
/* Erase the keys. */
void ctlmsg_auth_wipe(struct ctlmsg_auth *a);
/* Fill in m's challenge, echo and next counter, and encode it under tx_key. */
int ctlmsg_seal(struct ctlmsg_auth *a, const struct ctlmsg *m, uint8_t *buf, size_t size);
/*
 * Decode and authenticate a message from the peer: 0 (accepted), -EBADMSG
 * (malformed), -EPERM (wrong tag), -ECONNRESET (a new life: answer with a
 * HELLO), -ESTALE (an old challenge: answer with a HELLO unless m->type is
 * one) or -EALREADY (a replay). Only 0 leaves m's entries usable.
 */
int ctlmsg_open(struct ctlmsg_auth *a, struct ctlmsg *m, const uint8_t *buf, size_t len);

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
/*
 * Is pkt (an IP packet) UDP to port CTLMSG_PORT, whatever its checksum or
 * length? Then dst receives the destination address. Packets from a TUN
 * device that look like this, to a control address, are dropped: only the
 * daemons speak there, and never through the device.
 */
bool ctlmsg_is_control(const uint8_t *pkt, size_t len, struct prefix *dst);

#endif
