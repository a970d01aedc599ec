/* wg.h - the WireGuard protocol engine: peers, handshakes, keys, timers
 *
 * The engine knows nothing of sockets, devices or clocks. The caller feeds
 * it datagrams from the network (wg_device_rx), IP packets from the tunnel
 * device (wg_device_tx) and the time (CLOCK_BOOTTIME in nanoseconds,
 * wg_device_tick); the engine answers through the callbacks in struct
 * wg_ops. This keeps it unit-testable with a fake clock and fuzzable.
 */
#ifndef GANGWAY_WG_H
#define GANGWAY_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "crypto.h"
#include "prefix.h"

#define WG_KEY_LEN		CRYPTO_KEY_LEN
#define WG_MSG_INITIATION	1
#define WG_MSG_RESPONSE		2
#define WG_MSG_COOKIE		3
#define WG_MSG_DATA		4
#define WG_INITIATION_LEN	148
#define WG_RESPONSE_LEN		92
#define WG_COOKIE_LEN		64
#define WG_DATA_HDR_LEN		16
#define WG_DATA_MIN_LEN		(WG_DATA_HDR_LEN + CRYPTO_TAG_LEN)

/*
 * Buffers handed to wg_device_tx() have WG_HEADROOM writable bytes before
 * the packet and WG_TAILROOM after it, so encryption happens in place.
 */
#define WG_HEADROOM		WG_DATA_HDR_LEN
#define WG_TAILROOM		(15 + CRYPTO_TAG_LEN)
/* Largest datagram the engine emits or accepts for an MTU of 65535. */
#define WG_MAX_PACKET		65535
#define WG_MAX_DATAGRAM		(WG_HEADROOM + WG_MAX_PACKET + WG_TAILROOM)

#define WG_NSEC			1000000000ULL

struct wg_device;
struct wg_peer;

struct wg_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
};

/* Same family, address, port (and IPv6 scope): the same peer address. */
bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);

/* Protocol timers (whitepaper 6.1), in nanoseconds; tests may shorten them. */
struct wg_timers {
	uint64_t rekey_after_time;	/* 120 s */
	uint64_t reject_after_time;	/* 180 s */
	uint64_t rekey_attempt_time;	/* 90 s */
	uint64_t rekey_timeout;		/* 5 s */
	uint64_t keepalive_timeout;	/* 10 s */
	uint64_t rekey_after_messages;	/* 2^60 */
};
void wg_timers_default(struct wg_timers *t);

enum wg_drop {
	WG_DROP_BAD_SIZE,	/* datagram too short/long for its type */
	WG_DROP_BAD_TYPE,
	WG_DROP_BAD_MAC1,
	WG_DROP_BAD_MAC2,	/* under load without a valid cookie */
	WG_DROP_HANDSHAKE,	/* handshake failed to decrypt or replayed */
	WG_DROP_RATELIMIT,
	WG_DROP_NO_KEYPAIR,	/* unknown receiver index */
	WG_DROP_BAD_TAG,	/* transport AEAD failed */
	WG_DROP_REPLAY,
	WG_DROP_NOT_ALLOWED,	/* inner source outside the peer's allowed IPs */
	WG_DROP_BAD_INNER,	/* inner packet malformed */
	WG_DROP_NO_PEER,	/* no peer's allowed IPs hold the destination */
	WG_DROP_NO_ENDPOINT,
	WG_DROP_QUEUE_FULL,
	WG_DROP_TIMEOUT,	/* queued packet dropped: the handshake gave up */
	WG_DROP_LOOP,		/* our own datagram routed back into the tunnel */
	/* counted by the glue (tunnel.c) through wg_count_drop(): */
	WG_DROP_CTL_DEVICE,	/* a control message read from the tunnel device */
	WG_DROP_CTL_AUTH,	/* a control message malformed or with a wrong tag */
	WG_DROP_CTL_STALE,	/* a control message not (yet) fresh: a restart, answered */
	WG_DROP_CTL_REPLAY,	/* a control message seen before */
	WG_DROP_CTL_RATE,	/* a control message past its guest's rate limit (host.c) */
	WG_DROP_MAX
};
const char *wg_drop_name(enum wg_drop d);
/* Count a drop the caller made, on peer, or on the device when peer is NULL. */
void wg_count_drop(struct wg_device *dev, struct wg_peer *peer, enum wg_drop d);

enum wg_event {
	WG_EV_HANDSHAKE_DONE,	/* a new session is in use */
	WG_EV_ENDPOINT_CHANGED,	/* learnt from an authenticated packet */
	WG_EV_HANDSHAKE_TIMEOUT,/* Rekey-Attempt-Time passed without answer:
				 * the glue may re-resolve the endpoint name */
	WG_EV_SESSION_EXPIRED,	/* all keys erased */
};

/*
 * The callbacks run inside wg_device_rx/tx/tick. They may call the getters
 * and wg_peer_set_endpoint(), but must not feed packets back into the same
 * device, remove peers or free it (queue the work and do it afterwards).
 */
struct wg_ops {
	/* Send one datagram; the engine does not keep buf. */
	int (*send)(void *ctx, const struct wg_endpoint *to,
		    const uint8_t *buf, size_t len);
	/* Deliver one decrypted, allowed IP packet to the tunnel device. */
	int (*deliver)(void *ctx, struct wg_peer *from,
		       const uint8_t *pkt, size_t len);
	/* Optional. */
	void (*event)(void *ctx, struct wg_peer *peer, enum wg_event ev);
};

struct wg_peer_stats {
	uint64_t rx_bytes, tx_bytes;	/* inner packet bytes */
	uint64_t rx_packets, tx_packets;
	uint64_t last_handshake_ns;	/* boottime of last completed handshake, 0 = never */
	uint64_t last_rx_ns;		/* boottime of the last authenticated data or keepalive */
	uint64_t handshakes;		/* completed */
	uint64_t drops[WG_DROP_MAX];
};

/*
 * A drop is counted on the peer once the datagram names one of its receiver
 * indices or its static key has been decrypted; before that on the device.
 */
struct wg_device_stats {
	uint64_t drops[WG_DROP_MAX];	/* drops not attributable to a peer */
};

/* One of a peer's three sessions (whitepaper 6.3); see wg_peer_keypairs(). */
struct wg_keypair_info {
	bool present;
	bool initiator;			/* we sent the initiation */
	uint32_t local_index;		/* receiver index of its data packets */
	uint32_t remote_index;
	uint64_t birth_ns;		/* boottime the keys were derived */
	uint64_t send_counter;		/* next counter to use */
};

struct wg_peer_keypairs {
	struct wg_keypair_info previous, current, next;
};

struct wg_device *wg_device_new(const uint8_t private_key[WG_KEY_LEN],
				const struct wg_ops *ops, void *ctx);
void wg_device_free(struct wg_device *dev);
void wg_device_set_timers(struct wg_device *dev, const struct wg_timers *t);
void wg_device_public_key(const struct wg_device *dev, uint8_t out[WG_KEY_LEN]);

/* psk may be NULL. Returns NULL on error (errno set: EEXIST, ENOMEM, EINVAL). */
struct wg_peer *wg_peer_new(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN],
			    const uint8_t *psk);
void wg_peer_remove(struct wg_peer *peer);
struct wg_peer *wg_peer_find(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep);
/* false when the peer has no endpoint yet */
bool wg_peer_get_endpoint(const struct wg_peer *peer, struct wg_endpoint *ep);
/*
 * Persistent keepalive, seconds; 0 disables. Turning it on (with an
 * endpoint known) sends a keepalive at the next tick, which starts the
 * handshake if there is no session yet.
 */
void wg_peer_set_keepalive(struct wg_peer *peer, unsigned int seconds);
int wg_peer_allow(struct wg_peer *peer, const struct prefix *p);
int wg_peer_disallow(struct wg_peer *peer, const struct prefix *p);
void wg_peer_clear_allowed(struct wg_peer *peer);
void wg_peer_public_key(const struct wg_peer *peer, uint8_t out[WG_KEY_LEN]);
const struct wg_peer_stats *wg_peer_stats(const struct wg_peer *peer);
void wg_peer_set_userdata(struct wg_peer *peer, void *data);
void *wg_peer_userdata(const struct wg_peer *peer);
/* Iterate: pass NULL to get the first peer. */
struct wg_peer *wg_peer_next(struct wg_device *dev, struct wg_peer *prev);
/* Start a handshake now if none is in flight (the dialling side calls it at start). */
void wg_peer_connect(struct wg_peer *peer, uint64_t now);
const struct wg_device_stats *wg_device_stats(const struct wg_device *dev);

/*
 * A datagram arrived from src. buf is modified in place (decryption). Never
 * answers a datagram that fails mac1 or the AEAD.
 */
void wg_device_rx(struct wg_device *dev, const struct wg_endpoint *src,
		  uint8_t *buf, size_t len, uint64_t now);

/*
 * An IP packet arrived from the tunnel device. pkt has WG_HEADROOM bytes
 * before it and WG_TAILROOM after it that the engine may overwrite. Returns
 * 0 when sent or queued until a handshake completes, or a negative errno
 * (-EHOSTUNREACH: no peer for the destination; -EINVAL: not IPv4/IPv6;
 * -ENOBUFS: the peer's queue is full).
 */
int wg_device_tx(struct wg_device *dev, uint8_t *pkt, size_t len, uint64_t now);

/*
 * Batches. The same as wg_device_tx() on each packet, or wg_device_rx() on
 * each datagram, in order, but the transport messages' AEAD work is done
 * together and, with a pool (wg_device_set_pool), shared among its
 * threads. Outputs (sends, deliveries, events) happen on the calling
 * thread, in the order the inputs came. Packets and datagrams stay the
 * caller's, modified in place, as for the single calls.
 */
struct wg_packet {
	uint8_t *data;		/* WG_HEADROOM before it, WG_TAILROOM after it */
	size_t len;
};

struct wg_datagram {
	uint8_t *data;
	size_t len;
	struct wg_endpoint from;
};

void wg_device_tx_batch(struct wg_device *dev, struct wg_packet *pkts, size_t n,
			uint64_t now);
void wg_device_rx_batch(struct wg_device *dev, struct wg_datagram *d, size_t n,
			uint64_t now);

/*
 * Worker threads for the batches' AEAD work; the pool stays the caller's
 * and must outlive the device. Each session then holds a keyed context
 * pair per thread. Only before the first peer is added: -EBUSY after.
 */
struct pool;
int wg_device_set_pool(struct wg_device *dev, struct pool *pool);
/*
 * A batch goes to the pool only with at least this many transport messages
 * and this many bytes of (padded) plaintext among them: below that, waking
 * a worker and moving the packets' cache lines between cores costs more
 * than the work shared (64-byte packets stay on the caller's thread).
 */
#define WG_PARALLEL_MIN_PACKETS	4
#define WG_PARALLEL_MIN_BYTES	8192

/*
 * Run expired timers; returns the next deadline (boottime ns), or
 * UINT64_MAX when nothing is scheduled. Call it again at that time, and
 * after every rx/tx call (they may schedule earlier deadlines).
 *
 * The handshake's TAI64N timestamp is the wall clock read at the first
 * initiation plus the boottime elapsed since, so it follows `now`.
 */
uint64_t wg_device_tick(struct wg_device *dev, uint64_t now);

/*
 * Under load: mac2 cookies are demanded from initiators. true forces it;
 * false returns to the engine's own measure (more than WG_LOAD_THRESHOLD
 * handshake messages with a valid mac1 within one second puts the device
 * under load for the following second).
 */
#define WG_LOAD_THRESHOLD	128
void wg_device_set_under_load(struct wg_device *dev, bool under_load);
bool wg_device_under_load(const struct wg_device *dev, uint64_t now);

/*
 * Inner packets are zero-padded to a multiple of 16 bytes, but never beyond
 * the tunnel MTU (default 1420); 0 means unknown (always pad).
 */
#define WG_DEFAULT_MTU		1420
void wg_device_set_mtu(struct wg_device *dev, unsigned int mtu);
/*
 * Length of the transport message wg_device_tx() makes of a len-byte
 * packet under that MTU (as wg_device_set_mtu's): header, padded packet, tag.
 * Packet I/O lays batches out with it, so that sealed datagrams of equal
 * size lie back to back.
 */
size_t wg_datagram_len(unsigned int mtu, size_t len);

/* A snapshot of the peer's previous/current/next sessions. */
void wg_peer_keypairs(const struct wg_peer *peer, struct wg_peer_keypairs *out);

/* Packets held per peer while a handshake is under way. */
#define WG_QUEUE_PACKETS	128
#define WG_QUEUE_BYTES		((size_t)WG_QUEUE_PACKETS * 1536)

#endif
