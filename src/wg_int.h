/* wg_int.h - the engine's internals, shared by its files
 *
 * Private to src/wg.c, src/wg_index.c, src/wg_keypair.c, src/wg_handshake.c,
 * src/wg_transport.c and src/wg_timers.c; every other module uses
 * include/wg.h. The state (device, peer, session, job) and the small
 * helpers every part uses live here. The helpers that run for each packet
 * (drop counters, the timer events, the index lookup, the session checks)
 * are static inline, so splitting the engine into files costs the data path
 * no call.
 */
#ifndef GANGWAY_WG_INT_H
#define GANGWAY_WG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "allowedips.h"
#include "cookie.h"
#include "noise.h"
#include "pool.h"
#include "replay.h"
#include "wg.h"

#define WG_NEVER		UINT64_MAX
#define WG_INDEX_BUCKETS	1024	/* power of two; random indices spread evenly */
/* Initiations from one peer closer than this are a flood (kernel: 50/s). */
#define WG_INITIATION_MIN_GAP	(WG_NSEC / 50)
#define WG_REJECT_AFTER_MESSAGES REPLAY_REJECT_AFTER_MESSAGES
#define WG_MAX_THREADS		(1 + POOL_MAX_WORKERS)
/* Transport messages sealed or opened together; a larger batch runs in parts. */
#define WG_BATCH		256

_Static_assert(WG_DATA_HDR_LEN == NOISE_DATA_HDR_LEN, "header sizes agree");
_Static_assert(WG_INITIATION_LEN == NOISE_INITIATION_LEN, "initiation size");
_Static_assert(WG_RESPONSE_LEN == NOISE_RESPONSE_LEN, "response size");
_Static_assert(WG_COOKIE_LEN == NOISE_COOKIE_LEN &&
	       WG_COOKIE_LEN == COOKIE_REPLY_LEN, "cookie reply size");
_Static_assert((WG_INDEX_BUCKETS & (WG_INDEX_BUCKETS - 1)) == 0, "mask");
_Static_assert(WG_BATCH <= POOL_MAX_JOBS, "a batch is shared whole");

enum wg_index_kind {
	WG_INDEX_HANDSHAKE = 1,
	WG_INDEX_KEYPAIR,
};

struct wg_keypair;

/* An entry of the receiver index table, embedded in a peer or a keypair. */
struct wg_index {
	struct wg_index *next;
	struct wg_peer *peer;
	struct wg_keypair *keypair;	/* NULL for a handshake */
	uint32_t id;
	uint8_t kind;
	bool linked;
};

struct wg_keypair {
	struct wg_index index;		/* index.id: our receiver index */
	uint32_t remote_index;
	bool in_use;
	bool initiator;
	bool send_valid;		/* false once exhausted or expired */
	uint64_t birth;
	uint64_t send_counter;		/* next nonce */
	/* keyed once, one pair per thread that seals and opens (pool.h):
	 * the only copy of the session keys */
	struct crypto_aead_ctx *send_aead[WG_MAX_THREADS];
	struct crypto_aead_ctx *recv_aead[WG_MAX_THREADS];
	struct replay_window replay;
};

/*
 * A transport message between its prepare and commit steps: everything
 * the seal or open needs, fixed on the event-loop thread, so that the
 * crypto itself can run on any thread.
 */
struct wg_job {
	uint8_t *buf;			/* the datagram (tx: the header's room) */
	size_t len;			/* tx: plaintext length; rx: datagram length */
	size_t padded;			/* tx: padded plaintext length */
	uint64_t counter;
	struct wg_peer *peer;
	struct wg_keypair *kp;
	const struct wg_endpoint *src;	/* rx */
	bool tx;
	int err;			/* the seal's or open's result */
};

struct wg_qslot {
	uint32_t off;			/* of the packet's headroom in the arena */
	uint32_t len;			/* inner packet length, 0 = keepalive */
};

struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *next;
	void *userdata;

	struct noise_remote remote;
	struct noise_handshake hs;
	struct wg_index hs_index;
	struct cookie_maker cookie;
	uint8_t latest_ts[NOISE_TAI64N_LEN];	/* greatest TAI64N seen */
	bool initiation_rx_ever;
	uint64_t last_initiation_rx;

	struct wg_keypair slots[3];
	struct wg_keypair *kp_prev, *kp_cur, *kp_next;

	struct wg_endpoint ep;
	bool has_ep;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	bool sent_handshake_ever;
	unsigned int keepalive_s;

	/* timers: deadlines in boottime ns, WG_NEVER when not armed */
	uint64_t t_retransmit, t_keepalive, t_new_hs, t_zero_keys, t_persistent;
	uint64_t handshake_started;	/* first initiation of this attempt */
	uint64_t handshake_allowed;	/* no initiation before: see wg_handshake_sent */

	/* packets waiting for a session, in arrival order */
	uint8_t *q_arena;		/* WG_QUEUE_BYTES */
	size_t q_used;
	unsigned int q_count;
	struct wg_qslot q[WG_QUEUE_PACKETS];

	struct wg_peer_stats stats;
};

struct wg_device {
	struct noise_local local;
	struct cookie_checker cookie;
	struct cookie_ratelimit ratelimit;
	struct wg_ops ops;
	void *ctx;
	struct wg_timers timers;
	unsigned int mtu;

	struct wg_peer *peers;
	struct allowedips table;
	struct wg_index *index[WG_INDEX_BUCKETS];
	struct crypto_aead_ctx *aead;	/* handshakes' crypto context */

	/* batches: transport messages sealed or opened by the pool's threads */
	struct pool *pool;		/* NULL: all on the caller's thread */
	unsigned int threads;		/* 1 + the pool's workers */
	struct wg_job jobs[WG_BATCH];
	unsigned int n_jobs;
	size_t job_bytes;		/* padded plaintext of the jobs */

	bool forced_load;
	uint64_t load_window, load_until;
	unsigned int load_count;
	bool load_window_set;

	bool wall_anchored;
	uint64_t wall_offset;		/* unix ns - boottime ns, mod 2^64 */
	uint64_t jitter_state;		/* never zero */

	struct wg_device_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

static inline void wg_dev_drop(struct wg_device *dev, enum wg_drop d)
{
	dev->stats.drops[d]++;
}

static inline void wg_peer_drop(struct wg_peer *peer, enum wg_drop d)
{
	peer->stats.drops[d]++;
}

static inline void wg_event(struct wg_peer *peer, enum wg_event ev)
{
	struct wg_device *dev = peer->dev;

	if (dev->ops.event)
		dev->ops.event(dev->ctx, peer, ev);
}

/* now >= birth + timeout, without overflow */
static inline bool wg_expired(uint64_t birth, uint64_t timeout, uint64_t now)
{
	return now >= birth && now - birth >= timeout;
}

static inline uint64_t wg_after(uint64_t now, uint64_t delay)
{
	return delay >= WG_NEVER - now ? WG_NEVER - 1 : now + delay;
}

/*
 * Up to a third of a second, as the kernel, so that two peers that time out
 * together do not retry in lockstep; at most Rekey-Timeout / 15 so that the
 * shortened timers of tests keep their proportions.
 */
static inline uint64_t wg_jitter(struct wg_device *dev)
{
	uint64_t max = dev->timers.rekey_timeout / 15, x = dev->jitter_state;

	if (max > WG_NSEC / 3)
		max = WG_NSEC / 3;
	/* xorshift64: timing noise, not a secret, and cheap on the data path */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	dev->jitter_state = x;
	return max ? x % (max + 1) : 0;
}

static inline void wg_send(struct wg_peer *peer, const uint8_t *buf, size_t len)
{
	struct wg_device *dev = peer->dev;

	if (!peer->has_ep) {
		wg_peer_drop(peer, WG_DROP_NO_ENDPOINT);
		return;
	}
	if (dev->ops.send)
		dev->ops.send(dev->ctx, &peer->ep, buf, len);
}

/* ---- receiver index table (wg_index.c) ----------------------------------- */

static inline struct wg_index **wg_index_bucket(struct wg_device *dev, uint32_t id)
{
	return &dev->index[id & (WG_INDEX_BUCKETS - 1)];
}

static inline struct wg_index *wg_index_find(struct wg_device *dev, uint32_t id)
{
	struct wg_index *e;

	for (e = *wg_index_bucket(dev, id); e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

void wg_index_unlink(struct wg_device *dev, struct wg_index *e);
void wg_index_link(struct wg_device *dev, struct wg_index *e, uint32_t id);
int wg_index_new_id(struct wg_device *dev, uint32_t *id);

/* ---- keypairs (wg_keypair.c) --------------------------------------------- */

void wg_keypair_clear(struct wg_device *dev, struct wg_keypair *kp);
void wg_keypair_clear_all(struct wg_peer *peer);
int wg_keypair_install(struct wg_peer *peer, const struct noise_keys *k, uint64_t now);

static inline bool wg_keypair_can_send(const struct wg_device *dev,
				       const struct wg_keypair *kp, uint64_t now)
{
	return kp && kp->send_valid &&
	       kp->send_counter < WG_REJECT_AFTER_MESSAGES &&
	       !wg_expired(kp->birth, dev->timers.reject_after_time, now);
}

/* ---- timer events (named after the events that arm them, as the kernel's) */

static inline void wg_timers_data_sent(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;

	if (peer->t_new_hs == WG_NEVER)
		peer->t_new_hs = wg_after(now, t->keepalive_timeout +
					  t->rekey_timeout + wg_jitter(peer->dev));
}

static inline void wg_timers_data_received(struct wg_peer *peer, uint64_t now)
{
	if (peer->t_keepalive == WG_NEVER)
		peer->t_keepalive = wg_after(now, peer->dev->timers.keepalive_timeout);
	else
		peer->need_another_keepalive = true;
}

static inline void wg_timers_any_sent(struct wg_peer *peer)
{
	peer->t_keepalive = WG_NEVER;
}

static inline void wg_timers_any_received(struct wg_peer *peer)
{
	peer->t_new_hs = WG_NEVER;
}

static inline void wg_timers_traversal(struct wg_peer *peer, uint64_t now)
{
	if (peer->keepalive_s)
		peer->t_persistent = wg_after(now, peer->keepalive_s * WG_NSEC);
}

static inline void wg_timers_handshake_complete(struct wg_peer *peer, uint64_t now)
{
	peer->t_retransmit = WG_NEVER;
	peer->sent_lastminute_handshake = false;
	peer->stats.last_handshake_ns = now;
	peer->stats.handshakes++;
}

static inline void wg_timers_session_derived(struct wg_peer *peer, uint64_t now)
{
	peer->t_zero_keys = wg_after(now, 3 * peer->dev->timers.reject_after_time);
}

/* ---- handshakes (wg_handshake.c) ----------------------------------------- */

void wg_handshake_clear(struct wg_peer *peer);
void wg_handshake_send_initiation(struct wg_peer *peer, uint64_t now, bool retry);
void wg_handshake_rx_initiation(struct wg_device *dev, const struct wg_endpoint *src,
				const uint8_t *msg, size_t len, uint64_t now);
void wg_handshake_rx_response(struct wg_device *dev, const struct wg_endpoint *src,
			      const uint8_t *msg, size_t len, uint64_t now);
void wg_handshake_rx_cookie(struct wg_device *dev, const uint8_t *msg, size_t len,
			    uint64_t now);

/* ---- transport messages (wg_transport.c) --------------------------------- */

void wg_transport_learn_endpoint(struct wg_peer *peer, const struct wg_endpoint *src);
void wg_transport_send_keepalive(struct wg_peer *peer, uint64_t now);
void wg_transport_queue_drop_all(struct wg_peer *peer);

#endif
