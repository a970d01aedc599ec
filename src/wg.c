/* wg.c - the WireGuard protocol engine: peers, handshakes, keys, timers */

/*
 * Theory of operation
 *
 * The engine is a state machine driven by three inputs: datagrams from the
 * network (wg_device_rx), IP packets from the tunnel (wg_device_tx) and the
 * time (wg_device_tick, and the `now` every call carries). Its outputs are
 * the callbacks of struct wg_ops. It owns no socket, thread or clock (a
 * caller may lend it a pool of threads for the AEAD work), so the
 * tests run whole conversations in memory with a fake clock.
 *
 * Handshakes (noise.c, cookie.c). A handshake message is size-checked, then
 * its mac1 is verified before any Diffie-Hellman. When the device is under
 * load, a message without a valid mac2 only earns a cookie reply, and one
 * with a valid mac2 must still pass a per-source token bucket. Anything that
 * fails these checks or the handshake's AEADs is dropped without a word and
 * changes nothing but a drop counter: silence to strangers. A responder
 * refuses an initiation whose TAI64N timestamp is not greater than the last
 * one the peer sent, or that comes less than 20 ms after the previous one.
 *
 * Sessions (whitepaper 6.3). Each peer has three keypair slots: previous,
 * current and next. The initiator installs its new session as current as
 * soon as the response checks out. The responder cannot know its response
 * arrived, so its session waits as "next" until the first data packet (or
 * keepalive) sealed with it confirms it; only then does it become current.
 * Old sessions stay as "previous" so packets in flight still decrypt.
 *
 * Indices. Every handshake in flight and every session has a random 32-bit
 * receiver index, unique in the device, kept in an intrusive hash table
 * (the entries live inside the peer, so there is no allocation and at most
 * four entries per peer). The handshake's index becomes its session's.
 *
 * Data path. wg_device_tx picks the peer whose allowed IPs hold the
 * destination, pads the packet to 16 bytes (never beyond the MTU) and seals
 * it in place in the caller's head- and tailroom with the session's send
 * context. Each session holds two AEAD contexts keyed once when it is
 * installed (crypto_aead_ctx_new_keyed), so a packet costs only a nonce
 * and no key set-up; the session keeps no other copy of its keys, and
 * freeing the contexts when the session is cleared erases them. Handshake
 * messages use the device's one context, keyed per call. Without a usable
 * session the packet is copied into the peer's fixed queue (allocated with
 * the peer) and a handshake starts; the queue is flushed when the session
 * comes up. wg_device_rx checks the counter against the replay window
 * before decrypting, marks it only after the tag verifies, then accepts the
 * inner packet only if its source lies in the sending peer's allowed IPs.
 * Only then is the peer's endpoint updated from the datagram's source
 * (roaming). No allocation per packet.
 *
 * Batches (wg_device_tx_batch, wg_device_rx_batch). Each transport message
 * goes through three steps: prepare (peer, session, counter, padding on
 * sending; receiver index, age and replay check on receiving), the seal or
 * open, and commit (send and timers; replay window, endpoint, allowed IPs
 * and delivery). A batch prepares its messages in order, then seals or
 * opens them all, shared with the threads of a pool (pool.h) when one was
 * lent and the batch is large enough (WG_PARALLEL_MIN_*), then commits them in
 * order, so outputs leave exactly as the single calls would send them. The
 * prepare and commit steps, and all engine state, stay on the caller's
 * thread: a pool thread touches only its job's buffer and its own AEAD
 * context (each session holds one keyed pair per thread). Every input that
 * can change a session - a handshake message, a packet that must wait in
 * the queue - first runs the jobs collected so far, so nothing changes a
 * session between a job's prepare and its commit except an earlier
 * commit; commit therefore checks the session is still in use.
 *
 * Timers (whitepaper 6, and the kernel's timers.c). Each peer keeps five
 * deadlines (UINT64_MAX = not armed):
 *   retransmit  Rekey-Timeout (+ up to 333 ms of jitter, less for short
 *               Rekey-Timeouts) after an initiation: send a new one with a fresh
 *               ephemeral, until Rekey-Attempt-Time since the first, then
 *               give up (drop the queue, WG_EV_HANDSHAKE_TIMEOUT);
 *   keepalive   Keepalive-Timeout after receiving data when we have sent
 *               nothing back since;
 *   new_hs      Keepalive-Timeout + Rekey-Timeout after sending data with
 *               no authenticated packet received since: start a handshake;
 *   zero_keys   3 x Reject-After-Time after the last session was derived:
 *               erase every key (WG_EV_SESSION_EXPIRED);
 *   persistent  the persistent keepalive interval after any authenticated
 *               packet either way.
 * Rekeying: the initiator of the current session starts a new handshake
 * when sending after Rekey-After-Time, or when receiving after
 * Reject-After-Time - Keepalive-Timeout - Rekey-Timeout; either side does
 * after Rekey-After-Messages. A session never sends at or past
 * Reject-After-Messages nor after Reject-After-Time. Initiations are sent
 * at most once per Rekey-Timeout, whatever asks for them.
 *
 * Time: `now` is CLOCK_BOOTTIME in ns from the caller. The TAI64N timestamp
 * is the wall clock read once (at the first initiation) plus the boottime
 * elapsed since, so it follows the caller's clock (fake ones included) and
 * never goes backwards within the life of the device.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "allowedips.h"
#include "bytes.h"
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

static void wg_peer_destroy(struct wg_peer *peer);

static const char *const wg_drop_names[WG_DROP_MAX] = {
	[WG_DROP_BAD_SIZE] = "bad-size",
	[WG_DROP_BAD_TYPE] = "bad-type",
	[WG_DROP_BAD_MAC1] = "bad-mac1",
	[WG_DROP_BAD_MAC2] = "bad-mac2",
	[WG_DROP_HANDSHAKE] = "handshake",
	[WG_DROP_RATELIMIT] = "ratelimit",
	[WG_DROP_NO_KEYPAIR] = "no-keypair",
	[WG_DROP_BAD_TAG] = "bad-tag",
	[WG_DROP_REPLAY] = "replay",
	[WG_DROP_NOT_ALLOWED] = "not-allowed",
	[WG_DROP_BAD_INNER] = "bad-inner",
	[WG_DROP_NO_PEER] = "no-peer",
	[WG_DROP_NO_ENDPOINT] = "no-endpoint",
	[WG_DROP_QUEUE_FULL] = "queue-full",
	[WG_DROP_TIMEOUT] = "handshake-timeout",
	[WG_DROP_LOOP] = "routing-loop",
	[WG_DROP_CTL_DEVICE] = "control-from-device",
	[WG_DROP_CTL_AUTH] = "control-auth",
	[WG_DROP_CTL_STALE] = "control-stale",
	[WG_DROP_CTL_REPLAY] = "control-replay",
};

const char *wg_drop_name(enum wg_drop d)
{
	if ((unsigned int)d >= WG_DROP_MAX || !wg_drop_names[d])
		return "unknown";
	return wg_drop_names[d];
}

void wg_timers_default(struct wg_timers *t)
{
	t->rekey_after_time = 120 * WG_NSEC;
	t->reject_after_time = 180 * WG_NSEC;
	t->rekey_attempt_time = 90 * WG_NSEC;
	t->rekey_timeout = 5 * WG_NSEC;
	t->keepalive_timeout = 10 * WG_NSEC;
	t->rekey_after_messages = 1ULL << 60;
}

/* ---- small helpers ------------------------------------------------------ */

static void wg_dev_drop(struct wg_device *dev, enum wg_drop d)
{
	dev->stats.drops[d]++;
}

static void wg_peer_drop(struct wg_peer *peer, enum wg_drop d)
{
	peer->stats.drops[d]++;
}

void wg_count_drop(struct wg_device *dev, struct wg_peer *peer, enum wg_drop d)
{
	if ((unsigned int)d >= WG_DROP_MAX)
		return;
	if (peer)
		wg_peer_drop(peer, d);
	else
		wg_dev_drop(dev, d);
}

static void wg_event(struct wg_peer *peer, enum wg_event ev)
{
	struct wg_device *dev = peer->dev;

	if (dev->ops.event)
		dev->ops.event(dev->ctx, peer, ev);
}

/* now >= birth + timeout, without overflow */
static bool wg_expired(uint64_t birth, uint64_t timeout, uint64_t now)
{
	return now >= birth && now - birth >= timeout;
}

static uint64_t wg_after(uint64_t now, uint64_t delay)
{
	return delay >= WG_NEVER - now ? WG_NEVER - 1 : now + delay;
}

/*
 * Up to a third of a second, as the kernel, so that two peers that time out
 * together do not retry in lockstep; at most Rekey-Timeout / 15 so that the
 * shortened timers of tests keep their proportions.
 */
static uint64_t wg_jitter(struct wg_device *dev)
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

bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
		       sizeof(a->in6.sin6_addr));
}

static void wg_send(struct wg_peer *peer, const uint8_t *buf, size_t len)
{
	struct wg_device *dev = peer->dev;

	if (!peer->has_ep) {
		wg_peer_drop(peer, WG_DROP_NO_ENDPOINT);
		return;
	}
	if (dev->ops.send)
		dev->ops.send(dev->ctx, &peer->ep, buf, len);
}

/* ---- receiver index table ------------------------------------------------ */

static struct wg_index **wg_index_bucket(struct wg_device *dev, uint32_t id)
{
	return &dev->index[id & (WG_INDEX_BUCKETS - 1)];
}

static struct wg_index *wg_index_find(struct wg_device *dev, uint32_t id)
{
	struct wg_index *e;

	for (e = *wg_index_bucket(dev, id); e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

static void wg_index_unlink(struct wg_device *dev, struct wg_index *e)
{
	struct wg_index **pp;

	if (!e->linked)
		return;
	for (pp = wg_index_bucket(dev, e->id); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->linked = false;
}

static void wg_index_link(struct wg_device *dev, struct wg_index *e, uint32_t id)
{
	struct wg_index **b = wg_index_bucket(dev, id);

	e->id = id;
	e->next = *b;
	*b = e;
	e->linked = true;
}

/* A random index not in use. */
static int wg_index_new_id(struct wg_device *dev, uint32_t *id)
{
	int err, tries;

	for (tries = 0; tries < 64; tries++) {
		err = crypto_random(id, sizeof(*id));
		if (err < 0)
			return err;
		if (!wg_index_find(dev, *id))
			return 0;
	}
	return -EAGAIN;
}

/* ---- keypairs ------------------------------------------------------------ */

static void wg_aead_free(struct crypto_aead_ctx *ctx[WG_MAX_THREADS])
{
	for (unsigned int i = 0; i < WG_MAX_THREADS; i++) {
		crypto_aead_ctx_free(ctx[i]);
		ctx[i] = NULL;
	}
}

static void wg_keypair_clear(struct wg_device *dev, struct wg_keypair *kp)
{
	if (!kp)
		return;
	wg_index_unlink(dev, &kp->index);
	/* freeing a keyed context erases its key */
	wg_aead_free(kp->send_aead);
	wg_aead_free(kp->recv_aead);
	kp->in_use = false;
	kp->send_valid = false;
	kp->send_counter = 0;
}

static void wg_keypairs_clear(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	wg_keypair_clear(dev, peer->kp_prev);
	wg_keypair_clear(dev, peer->kp_cur);
	wg_keypair_clear(dev, peer->kp_next);
	peer->kp_prev = peer->kp_cur = peer->kp_next = NULL;
}

static void wg_handshake_clear(struct wg_peer *peer)
{
	wg_index_unlink(peer->dev, &peer->hs_index);
	noise_handshake_clear(&peer->hs);
}

static struct wg_keypair *wg_keypair_free_slot(struct wg_peer *peer)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct wg_keypair *kp = &peer->slots[i];

		if (kp != peer->kp_prev && kp != peer->kp_cur && kp != peer->kp_next)
			return kp;
	}
	return NULL;	/* cannot happen: callers free a slot first */
}

/*
 * Install a freshly derived session (the kernel's add_new_keypair). The
 * initiator uses it at once; the responder parks it in "next" and drops
 * "previous", since it cannot tell which of its sessions the initiator
 * still has until a packet confirms the new one. The session's AEAD
 * contexts are made (and keyed) first, so a failed allocation changes
 * nothing: -ENOMEM, and the handshake counts as failed.
 */
static int wg_keypair_install(struct wg_peer *peer, const struct noise_keys *k,
			      uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct crypto_aead_ctx *send[WG_MAX_THREADS] = { 0 }, *recv[WG_MAX_THREADS] = { 0 };
	struct wg_keypair *kp;

	for (unsigned int i = 0; i < dev->threads; i++) {
		send[i] = crypto_aead_ctx_new_keyed(k->send);
		recv[i] = crypto_aead_ctx_new_keyed(k->recv);
		if (!send[i] || !recv[i]) {
			wg_aead_free(send);
			wg_aead_free(recv);
			return -ENOMEM;
		}
	}
	if (k->initiator) {
		if (peer->kp_next) {
			wg_keypair_clear(dev, peer->kp_prev);
			wg_keypair_clear(dev, peer->kp_cur);
			peer->kp_prev = peer->kp_next;
			peer->kp_next = NULL;
		} else {
			wg_keypair_clear(dev, peer->kp_prev);
			peer->kp_prev = peer->kp_cur;
		}
		peer->kp_cur = NULL;
	} else {
		wg_keypair_clear(dev, peer->kp_next);
		wg_keypair_clear(dev, peer->kp_prev);
		peer->kp_next = NULL;
		peer->kp_prev = NULL;
	}

	kp = wg_keypair_free_slot(peer);
	if (!kp) {
		wg_aead_free(send);
		wg_aead_free(recv);
		return -ENOSPC;
	}
	memcpy(kp->send_aead, send, sizeof(send));
	memcpy(kp->recv_aead, recv, sizeof(recv));
	kp->remote_index = k->remote_index;
	kp->initiator = k->initiator;
	kp->birth = now;
	kp->send_counter = 0;
	kp->send_valid = true;
	kp->in_use = true;
	replay_init(&kp->replay);
	kp->index.peer = peer;
	kp->index.keypair = kp;
	kp->index.kind = WG_INDEX_KEYPAIR;
	wg_index_link(dev, &kp->index, k->local_index);

	if (k->initiator)
		peer->kp_cur = kp;
	else
		peer->kp_next = kp;
	return 0;
}

static bool wg_keypair_can_send(const struct wg_device *dev,
				const struct wg_keypair *kp, uint64_t now)
{
	return kp && kp->send_valid &&
	       kp->send_counter < WG_REJECT_AFTER_MESSAGES &&
	       !wg_expired(kp->birth, dev->timers.reject_after_time, now);
}

/* ---- timers (named after the events that arm them, as the kernel's) ----- */

static void wg_timers_data_sent(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;

	if (peer->t_new_hs == WG_NEVER)
		peer->t_new_hs = wg_after(now, t->keepalive_timeout +
					  t->rekey_timeout + wg_jitter(peer->dev));
}

static void wg_timers_data_received(struct wg_peer *peer, uint64_t now)
{
	if (peer->t_keepalive == WG_NEVER)
		peer->t_keepalive = wg_after(now, peer->dev->timers.keepalive_timeout);
	else
		peer->need_another_keepalive = true;
}

static void wg_timers_any_sent(struct wg_peer *peer)
{
	peer->t_keepalive = WG_NEVER;
}

static void wg_timers_any_received(struct wg_peer *peer)
{
	peer->t_new_hs = WG_NEVER;
}

static void wg_timers_traversal(struct wg_peer *peer, uint64_t now)
{
	if (peer->keepalive_s)
		peer->t_persistent = wg_after(now, peer->keepalive_s * WG_NSEC);
}

static void wg_timers_handshake_complete(struct wg_peer *peer, uint64_t now)
{
	peer->t_retransmit = WG_NEVER;
	peer->sent_lastminute_handshake = false;
	peer->stats.last_handshake_ns = now;
	peer->stats.handshakes++;
}

static void wg_timers_session_derived(struct wg_peer *peer, uint64_t now)
{
	peer->t_zero_keys = wg_after(now, 3 * peer->dev->timers.reject_after_time);
}

/* ---- handshake: sending --------------------------------------------------- */

static void wg_timestamp(struct wg_device *dev, uint8_t ts[NOISE_TAI64N_LEN],
			 uint64_t now)
{
	if (!dev->wall_anchored) {
		struct timespec tv;

		clock_gettime(CLOCK_REALTIME, &tv);
		dev->wall_offset = (uint64_t)tv.tv_sec * WG_NSEC +
				   (uint64_t)tv.tv_nsec - now;
		dev->wall_anchored = true;
	}
	noise_tai64n(ts, now + dev->wall_offset);
}

/*
 * At most one handshake message (initiation or response) per Rekey-Timeout
 * to a peer, plus a jitter drawn each time, as retransmits have. The
 * jitter matters when two peers' initiations cross: each consumes the
 * other's (which replaces its own handshake) and answers it, neither
 * answer then completes anything, and both may initiate again one
 * Rekey-Timeout after their answers. Traffic waiting on both sides asks for
 * that at once, so without a jitter the two would cross again, in
 * lockstep, as long as the traffic lasts.
 */
static void wg_handshake_sent(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;

	peer->handshake_allowed = wg_after(now, dev->timers.rekey_timeout + wg_jitter(dev));
	peer->sent_handshake_ever = true;
}

/**
 * wg_send_initiation() - send a handshake initiation to a peer
 * @peer:  the peer
 * @now:   boottime ns
 * @retry: called by the retransmit timer (else: a fresh attempt may start)
 *
 * At most one initiation (or response) per Rekey-Timeout, whatever asks;
 * one asked for too early goes out when the retransmit timer fires. Each
 * initiation has a fresh ephemeral key and a fresh index.
 */
static void wg_send_initiation(struct wg_peer *peer, uint64_t now, bool retry)
{
	struct wg_device *dev = peer->dev;
	uint8_t msg[NOISE_INITIATION_LEN], e[NOISE_KEY_LEN], ts[NOISE_TAI64N_LEN];
	uint32_t id;

	if (!retry && peer->t_retransmit == WG_NEVER)
		peer->handshake_started = now;		/* a new attempt */
	if (peer->sent_handshake_ever && now < peer->handshake_allowed) {
		/* too early: the initiation is put off until allowed, not lost */
		if (peer->t_retransmit > peer->handshake_allowed)
			peer->t_retransmit = peer->handshake_allowed;
		return;
	}
	wg_handshake_sent(peer, now);

	wg_handshake_clear(peer);
	if (wg_index_new_id(dev, &id) < 0 || crypto_x25519_genkey(e) < 0)
		goto out;
	wg_timestamp(dev, ts, now);
	if (noise_create_initiation(&peer->hs, msg, &dev->local, &peer->remote,
				    dev->aead, id, e, ts) < 0)
		goto out;
	peer->hs_index.peer = peer;
	peer->hs_index.keypair = NULL;
	peer->hs_index.kind = WG_INDEX_HANDSHAKE;
	wg_index_link(dev, &peer->hs_index, id);
	if (cookie_add_macs(&peer->cookie, msg, sizeof(msg), now) < 0)
		goto out;

	wg_timers_traversal(peer, now);
	wg_timers_any_sent(peer);
	wg_send(peer, msg, sizeof(msg));
out:
	/* retried even if this one could not be built or sent */
	peer->t_retransmit = wg_after(now, dev->timers.rekey_timeout + wg_jitter(dev));
	crypto_wipe(e, sizeof(e));
}

/* Answer a consumed initiation; the new session waits in "next". */
static void wg_send_response(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	uint8_t msg[NOISE_RESPONSE_LEN], e[NOISE_KEY_LEN];
	struct noise_keys k;
	uint32_t id;
	int err;

	wg_handshake_sent(peer, now);
	if (wg_index_new_id(dev, &id) < 0 || crypto_x25519_genkey(e) < 0)
		goto fail;
	if (noise_create_response(&peer->hs, msg, &peer->remote, dev->aead,
				  id, e) < 0)
		goto fail;
	if (noise_derive_keys(&k, &peer->hs) < 0)
		goto fail;
	err = wg_keypair_install(peer, &k, now);
	crypto_wipe(&k, sizeof(k));
	if (err < 0)
		goto fail;
	wg_timers_session_derived(peer, now);
	if (cookie_add_macs(&peer->cookie, msg, sizeof(msg), now) < 0)
		goto out;
	wg_timers_traversal(peer, now);
	wg_timers_any_sent(peer);
	wg_send(peer, msg, sizeof(msg));
	goto out;
fail:
	wg_handshake_clear(peer);
out:
	crypto_wipe(e, sizeof(e));
}

/* ---- data: sending -------------------------------------------------------- */

/* Padded length: a multiple of 16, but not beyond the MTU (kernel's rule). */
static size_t wg_padded_len(size_t len, unsigned int mtu)
{
	size_t last = len, padded;

	if (mtu && last > mtu)
		last %= mtu;
	padded = (last + 15) & ~(size_t)15;
	if (mtu && padded > mtu)
		padded = mtu;
	if (padded < last)
		padded = last;
	return len + (padded - last);
}

/* ---- transport messages: prepare, seal or open, commit ------------------- */

/* The crypto of one job, on any thread: the job's own buffer and that thread's context. */
static void wg_job_crypt(struct wg_job *j, unsigned int thread)
{
	struct wg_keypair *kp = j->kp;

	/* key NULL: the session's contexts hold it */
	if (j->tx)
		j->err = noise_data_seal(kp->send_aead[thread], NULL, kp->remote_index,
					 j->counter, j->buf, j->len, j->padded);
	else
		j->err = noise_data_open(kp->recv_aead[thread], NULL, j->counter,
					 j->buf, j->len);
}

static void wg_job_crypt_batch(void *arg, unsigned int i, unsigned int thread)
{
	struct wg_device *dev = arg;

	wg_job_crypt(&dev->jobs[i], thread);
}

/* Sending, before the seal: the session's next counter (nonce) and the padding. */
static void wg_tx_prepare(struct wg_job *j, struct wg_peer *peer, struct wg_keypair *kp,
			  uint8_t *pkt, size_t len)
{
	j->tx = true;
	j->buf = pkt - WG_HEADROOM;
	j->len = len;
	j->padded = wg_padded_len(len, peer->dev->mtu);
	j->counter = kp->send_counter++;
	j->peer = peer;
	j->kp = kp;
	j->src = NULL;
	j->err = 0;
}

/* Sending, after the seal. */
static int wg_tx_commit(struct wg_job *j)
{
	struct wg_peer *peer = j->peer;

	if (j->err < 0)
		return j->err;
	wg_send(peer, j->buf, WG_DATA_HDR_LEN + j->padded + CRYPTO_TAG_LEN);
	if (j->len) {
		peer->stats.tx_packets++;
		peer->stats.tx_bytes += j->len;
	}
	return 0;
}

/* pkt has WG_HEADROOM before and WG_TAILROOM after it. */
static int wg_seal_and_send(struct wg_peer *peer, struct wg_keypair *kp,
			    uint8_t *pkt, size_t len)
{
	struct wg_job j;

	wg_tx_prepare(&j, peer, kp, pkt, len);
	wg_job_crypt(&j, 0);
	return wg_tx_commit(&j);
}

static void wg_queue_reset(struct wg_peer *peer)
{
	peer->q_count = 0;
	peer->q_used = 0;
}

static int wg_queue_add(struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	size_t need = (WG_HEADROOM + len + WG_TAILROOM + 7) & ~(size_t)7;
	struct wg_qslot *s;

	if (peer->q_count >= WG_QUEUE_PACKETS ||
	    need > WG_QUEUE_BYTES - peer->q_used)
		return -ENOBUFS;
	s = &peer->q[peer->q_count++];
	s->off = (uint32_t)peer->q_used;
	s->len = (uint32_t)len;
	if (len)
		memcpy(peer->q_arena + s->off + WG_HEADROOM, pkt, len);
	peer->q_used += need;
	return 0;
}

/* Rekey before the session wears out (the kernel's keep_key_fresh, on sending). */
static void wg_keep_key_fresh_tx(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;
	struct wg_keypair *kp = peer->kp_cur;

	if (kp && kp->send_valid &&
	    (kp->send_counter > t->rekey_after_messages ||
	     (kp->initiator && wg_expired(kp->birth, t->rekey_after_time, now))))
		wg_send_initiation(peer, now, false);
}

/*
 * After sending data and keepalives: the kernel's order of timer events,
 * then perhaps a rekey.
 */
static void wg_after_send(struct wg_peer *peer, bool data, uint64_t now)
{
	wg_timers_traversal(peer, now);
	wg_timers_any_sent(peer);
	if (data)
		wg_timers_data_sent(peer, now);
	wg_keep_key_fresh_tx(peer, now);
}

/**
 * wg_queue_flush() - send what waits in the queue, or ask for a session
 * @peer: the peer
 * @now:  boottime ns
 *
 * Packets leave in order with the current session. When there is none, or
 * it may not send any more, they stay queued and a handshake is started.
 */
static void wg_queue_flush(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct wg_keypair *kp = peer->kp_cur;
	bool sent = false, data = false;
	unsigned int i;

	for (i = 0; i < peer->q_count; i++) {
		struct wg_qslot *s = &peer->q[i];

		if (!wg_keypair_can_send(dev, kp, now))
			break;
		if (wg_seal_and_send(peer, kp, peer->q_arena + s->off + WG_HEADROOM,
				     s->len) < 0)
			continue;
		sent = true;
		data |= s->len > 0;
	}
	if (i == peer->q_count) {
		wg_queue_reset(peer);
	} else {
		memmove(peer->q, peer->q + i, (peer->q_count - i) * sizeof(peer->q[0]));
		peer->q_count -= i;
	}
	if (sent)
		wg_after_send(peer, data, now);
	if (peer->q_count) {
		/* whatever is wrong with the session, a new one fixes it */
		if (kp && kp->send_valid)
			kp->send_valid = false;
		wg_send_initiation(peer, now, false);
	}
}

static void wg_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	if (!peer->q_count && wg_queue_add(peer, NULL, 0) < 0)
		return;
	wg_queue_flush(peer, now);
}

static void wg_queue_drop_all(struct wg_peer *peer)
{
	unsigned int i;

	for (i = 0; i < peer->q_count; i++)
		if (peer->q[i].len)
			wg_peer_drop(peer, WG_DROP_TIMEOUT);
	wg_queue_reset(peer);
}

/*
 * Inner IP header: the source (rx) or destination (tx) address, and the
 * packet's own length. Received packets are checked strictly (the length
 * fields strip the padding); packets to send only need a destination.
 */
static int wg_inner_parse(const uint8_t *p, size_t len, bool rx, int *family,
			  const uint8_t **addr, size_t *iplen)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		size_t tot = bytes_load_be16(p + 2), ihl = (size_t)(p[0] & 15) * 4;

		if (rx && (ihl < 20 || tot < ihl || tot > len))
			return -EINVAL;
		*family = AF_INET;
		*addr = p + (rx ? 12 : 16);
		*iplen = rx ? tot : len;
		return 0;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		size_t tot = 40 + (size_t)bytes_load_be16(p + 4);

		if (rx && tot > len)
			return -EINVAL;
		*family = AF_INET6;
		*addr = p + (rx ? 8 : 24);
		*iplen = rx ? tot : len;
		return 0;
	}
	return -EINVAL;
}

/*
 * A UDP packet to the peer's own endpoint coming out of the tunnel device
 * is one of our datagrams that a route sent back into the tunnel: sealing
 * it again would loop forever, each pass adding a layer. Drop it, as the
 * kernel's WireGuard does when the route to the endpoint is its device.
 */
static bool wg_is_loop(const struct wg_peer *peer, const uint8_t *pkt, size_t len,
		       int family)
{
	const uint8_t *udp;
	size_t hl;

	if (!peer->has_ep || peer->ep.sa.sa_family != family)
		return false;
	if (family == AF_INET) {
		hl = (size_t)(pkt[0] & 15) * 4;
		if (pkt[9] != 17 || len < hl + 8 || (bytes_load_be16(pkt + 6) & 0x1fff) ||
		    memcmp(pkt + 16, &peer->ep.in.sin_addr, 4))
			return false;
		udp = pkt + hl;
		return !memcmp(udp + 2, &peer->ep.in.sin_port, 2);
	}
	if (pkt[6] != 17 || len < 48 || memcmp(pkt + 24, &peer->ep.in6.sin6_addr, 16))
		return false;
	udp = pkt + 40;
	return !memcmp(udp + 2, &peer->ep.in6.sin6_port, 2);
}

/* The peer for a packet from the tunnel; a negative errno (counted) if none. */
static int wg_tx_route(struct wg_device *dev, const uint8_t *pkt, size_t len,
		       struct wg_peer **out)
{
	const uint8_t *dst;
	struct wg_peer *peer;
	size_t iplen;
	int family;

	if (len > WG_MAX_PACKET ||
	    wg_inner_parse(pkt, len, false, &family, &dst, &iplen) < 0) {
		wg_dev_drop(dev, WG_DROP_BAD_INNER);
		return -EINVAL;
	}
	peer = allowedips_lookup(&dev->table, family, dst);
	if (!peer) {
		wg_dev_drop(dev, WG_DROP_NO_PEER);
		return -EHOSTUNREACH;
	}
	if (wg_is_loop(peer, pkt, len, family)) {
		wg_peer_drop(peer, WG_DROP_LOOP);
		return -ELOOP;
	}
	*out = peer;
	return 0;
}

/* No session can send it now: queue the packet and ask for one. */
static int wg_tx_queue(struct wg_peer *peer, const uint8_t *pkt, size_t len, uint64_t now)
{
	if (wg_queue_add(peer, pkt, len) < 0) {
		wg_peer_drop(peer, WG_DROP_QUEUE_FULL);
		wg_queue_flush(peer, now);
		return -ENOBUFS;
	}
	wg_queue_flush(peer, now);
	return 0;
}

/**
 * wg_device_tx() - encrypt and send one IP packet from the tunnel
 *
 * See wg.h. The fast path seals in place in the caller's buffer; only
 * packets that must wait for a handshake are copied.
 */
int wg_device_tx(struct wg_device *dev, uint8_t *pkt, size_t len, uint64_t now)
{
	struct wg_peer *peer;
	struct wg_keypair *kp;
	int err;

	err = wg_tx_route(dev, pkt, len, &peer);
	if (err < 0)
		return err;
	kp = peer->kp_cur;
	if (!peer->q_count && wg_keypair_can_send(dev, kp, now)) {
		if (wg_seal_and_send(peer, kp, pkt, len) < 0)
			return -EIO;
		wg_after_send(peer, len > 0, now);
		return 0;
	}
	return wg_tx_queue(peer, pkt, len, now);
}

/* ---- receiving ------------------------------------------------------------ */

static void wg_learn_endpoint(struct wg_peer *peer, const struct wg_endpoint *src)
{
	if (peer->has_ep && wg_endpoint_equal(&peer->ep, src))
		return;
	memset(&peer->ep, 0, sizeof(peer->ep));
	if (src->sa.sa_family == AF_INET)
		peer->ep.in = src->in;
	else
		peer->ep.in6 = src->in6;
	peer->has_ep = true;
	wg_event(peer, WG_EV_ENDPOINT_CHANGED);
}

static void wg_load_note(struct wg_device *dev, uint64_t now)
{
	if (!dev->load_window_set || !wg_expired(dev->load_window, 0, now) ||
	    wg_expired(dev->load_window, WG_NSEC, now)) {
		dev->load_window = now;
		dev->load_window_set = true;
		dev->load_count = 0;
	}
	if (++dev->load_count > WG_LOAD_THRESHOLD)
		dev->load_until = wg_after(now, WG_NSEC);
}

bool wg_device_under_load(const struct wg_device *dev, uint64_t now)
{
	return dev->forced_load || now < dev->load_until;
}

/**
 * wg_handshake_admit() - the checks before a handshake message costs a DH
 *
 * mac1 first (silently dropped when wrong). Under load, a message without a
 * valid mac2 is answered with a cookie reply and dropped, and one with it
 * must pass the per-source rate limiter.
 */
static bool wg_handshake_admit(struct wg_device *dev,
			       const struct wg_endpoint *src,
			       const uint8_t *msg, size_t len, uint64_t now)
{
	bool load = wg_device_under_load(dev, now);
	enum cookie_mac_state st;
	uint8_t reply[COOKIE_REPLY_LEN], nonce[CRYPTO_XNONCE_LEN];

	st = cookie_validate(&dev->cookie, msg, len, &src->sa, load, now);
	if (st == COOKIE_BAD_MAC1) {
		wg_dev_drop(dev, WG_DROP_BAD_MAC1);
		return false;
	}
	wg_load_note(dev, now);
	if (!load)
		return true;
	if (st != COOKIE_MAC2_OK) {
		wg_dev_drop(dev, WG_DROP_BAD_MAC2);
		if (crypto_random(nonce, sizeof(nonce)) == 0 &&
		    cookie_create_reply(&dev->cookie, reply, msg, len, &src->sa,
					now, nonce) == 0 && dev->ops.send)
			dev->ops.send(dev->ctx, src, reply, sizeof(reply));
		return false;
	}
	if (!cookie_ratelimit_allow(&dev->ratelimit, &src->sa, now)) {
		wg_dev_drop(dev, WG_DROP_RATELIMIT);
		return false;
	}
	return true;
}

/* noise_consume_initiation() asks for the peer by static key; remember it. */
struct wg_lookup {
	struct wg_device *dev;
	struct wg_peer *peer;
};

static const struct noise_remote *wg_lookup_remote(void *arg,
						   const uint8_t pub[NOISE_KEY_LEN])
{
	struct wg_lookup *l = arg;

	l->peer = wg_peer_find(l->dev, pub);
	return l->peer ? &l->peer->remote : NULL;
}

static void wg_rx_initiation(struct wg_device *dev, const struct wg_endpoint *src,
			     const uint8_t *msg, size_t len, uint64_t now)
{
	struct wg_lookup lk = { .dev = dev, .peer = NULL };
	const struct noise_remote *r;
	uint8_t ts[NOISE_TAI64N_LEN];
	struct noise_handshake hs;
	struct wg_peer *peer;

	if (len != NOISE_INITIATION_LEN) {
		wg_dev_drop(dev, WG_DROP_BAD_SIZE);
		return;
	}
	if (!wg_handshake_admit(dev, src, msg, len, now))
		return;
	if (noise_consume_initiation(&hs, msg, &dev->local, dev->aead,
				     wg_lookup_remote, &lk, &r, ts) < 0 || !lk.peer) {
		wg_dev_drop(dev, WG_DROP_HANDSHAKE);
		return;
	}
	peer = lk.peer;
	/* TAI64N is big endian: bytewise order is time order */
	if (memcmp(ts, peer->latest_ts, sizeof(ts)) <= 0 ||
	    (peer->initiation_rx_ever &&
	     !wg_expired(peer->last_initiation_rx, WG_INITIATION_MIN_GAP, now))) {
		wg_peer_drop(peer, WG_DROP_HANDSHAKE);
		goto out;
	}
	wg_handshake_clear(peer);
	peer->hs = hs;
	memcpy(peer->latest_ts, ts, sizeof(ts));
	peer->last_initiation_rx = now;
	peer->initiation_rx_ever = true;

	wg_learn_endpoint(peer, src);
	wg_send_response(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);
out:
	crypto_wipe(&hs, sizeof(hs));
}

static void wg_rx_response(struct wg_device *dev, const struct wg_endpoint *src,
			   const uint8_t *msg, size_t len, uint64_t now)
{
	struct noise_handshake hs;
	struct noise_keys k;
	struct wg_index *e;
	struct wg_peer *peer;
	int err;

	if (len != NOISE_RESPONSE_LEN) {
		wg_dev_drop(dev, WG_DROP_BAD_SIZE);
		return;
	}
	if (!wg_handshake_admit(dev, src, msg, len, now))
		return;
	e = wg_index_find(dev, bytes_load_le32(msg + NOISE_RESP_OFF_RECEIVER));
	if (!e || e->kind != WG_INDEX_HANDSHAKE) {
		wg_dev_drop(dev, WG_DROP_NO_KEYPAIR);
		return;
	}
	peer = e->peer;
	if (noise_consume_response(&hs, &peer->hs, msg, &dev->local,
				   &peer->remote, dev->aead) < 0) {
		wg_peer_drop(peer, WG_DROP_HANDSHAKE);
		return;
	}
	wg_handshake_clear(peer);
	if (noise_derive_keys(&k, &hs) < 0) {
		wg_peer_drop(peer, WG_DROP_HANDSHAKE);
		return;
	}
	wg_learn_endpoint(peer, src);
	err = wg_keypair_install(peer, &k, now);
	crypto_wipe(&k, sizeof(k));
	if (err < 0) {
		wg_peer_drop(peer, WG_DROP_HANDSHAKE);
		return;
	}
	wg_timers_session_derived(peer, now);
	wg_timers_handshake_complete(peer, now);
	wg_event(peer, WG_EV_HANDSHAKE_DONE);
	/* the queue if anything waits, else a keepalive confirms the session */
	wg_send_keepalive(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);
}

static void wg_rx_cookie(struct wg_device *dev, const uint8_t *msg, size_t len,
			 uint64_t now)
{
	struct wg_index *e;

	if (len != NOISE_COOKIE_LEN) {
		wg_dev_drop(dev, WG_DROP_BAD_SIZE);
		return;
	}
	e = wg_index_find(dev, bytes_load_le32(msg + NOISE_COOKIE_OFF_RECEIVER));
	if (!e) {
		wg_dev_drop(dev, WG_DROP_NO_KEYPAIR);
		return;
	}
	if (cookie_consume_reply(&e->peer->cookie, msg, now) < 0)
		wg_peer_drop(e->peer, WG_DROP_HANDSHAKE);
}

/* The kernel's keep_key_fresh on receipt: rekey shortly before Reject-After-Time. */
static void wg_keep_key_fresh_rx(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;
	struct wg_keypair *kp = peer->kp_cur;
	uint64_t margin = t->keepalive_timeout + t->rekey_timeout;
	uint64_t age = t->reject_after_time > margin ? t->reject_after_time - margin : 0;

	if (peer->sent_lastminute_handshake)
		return;
	if (kp && kp->send_valid && kp->initiator && wg_expired(kp->birth, age, now)) {
		peer->sent_lastminute_handshake = true;
		wg_send_initiation(peer, now, false);
	}
}

/* The first packet under "next" proves the initiator has the session. */
static void wg_confirm_next(struct wg_peer *peer, uint64_t now)
{
	wg_keypair_clear(peer->dev, peer->kp_prev);
	peer->kp_prev = peer->kp_cur;
	peer->kp_cur = peer->kp_next;
	peer->kp_next = NULL;
	wg_timers_handshake_complete(peer, now);
	wg_event(peer, WG_EV_HANDSHAKE_DONE);
	if (peer->q_count)
		wg_queue_flush(peer, now);
}

/*
 * Receiving, before the open: the session named by the receiver index,
 * still young enough, and a counter the replay window has not seen. false:
 * dropped (and counted).
 */
static bool wg_rx_prepare(struct wg_device *dev, struct wg_job *j,
			  const struct wg_endpoint *src, uint8_t *buf, size_t len,
			  uint64_t now)
{
	struct wg_keypair *kp;
	struct wg_index *e;
	uint64_t counter;

	if (len < WG_DATA_MIN_LEN || len > WG_MAX_DATAGRAM) {
		wg_dev_drop(dev, WG_DROP_BAD_SIZE);
		return false;
	}
	e = wg_index_find(dev, bytes_load_le32(buf + NOISE_DATA_OFF_RECEIVER));
	if (!e || e->kind != WG_INDEX_KEYPAIR) {
		wg_dev_drop(dev, WG_DROP_NO_KEYPAIR);
		return false;
	}
	kp = e->keypair;
	if (wg_expired(kp->birth, dev->timers.reject_after_time, now)) {
		wg_peer_drop(e->peer, WG_DROP_NO_KEYPAIR);
		return false;
	}
	counter = bytes_load_le64(buf + NOISE_DATA_OFF_COUNTER);
	if (!replay_check(&kp->replay, counter)) {
		wg_peer_drop(e->peer, WG_DROP_REPLAY);
		return false;
	}
	j->tx = false;
	j->buf = buf;
	j->len = len;
	j->padded = 0;
	j->counter = counter;
	j->peer = e->peer;
	j->kp = kp;
	j->src = src;
	j->err = 0;
	return true;
}

/*
 * Receiving, after the open. In a batch, a packet before this one may have
 * retired its session (a confirmed "next" clears "previous"): the session
 * must still be in use, as the index lookup would have required.
 */
static void wg_rx_commit(struct wg_device *dev, struct wg_job *j, uint64_t now)
{
	struct wg_keypair *kp = j->kp;
	struct wg_peer *peer = j->peer;
	const uint8_t *saddr;
	size_t plen, iplen;
	uint8_t *p;
	int family;

	if (!kp->in_use) {
		crypto_wipe(j->buf, j->len);
		wg_peer_drop(peer, WG_DROP_NO_KEYPAIR);
		return;
	}
	if (j->err < 0) {
		wg_peer_drop(peer, WG_DROP_BAD_TAG);
		return;
	}
	if (!replay_update(&kp->replay, j->counter)) {
		wg_peer_drop(peer, WG_DROP_REPLAY);
		return;
	}

	/* authenticated from here on */
	peer->stats.last_rx_ns = now;
	wg_learn_endpoint(peer, j->src);
	if (kp == peer->kp_next)
		wg_confirm_next(peer, now);
	wg_keep_key_fresh_rx(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);

	p = j->buf + WG_DATA_HDR_LEN;
	plen = j->len - WG_DATA_MIN_LEN;
	if (!plen)
		return;		/* keepalive */
	wg_timers_data_received(peer, now);

	if (wg_inner_parse(p, plen, true, &family, &saddr, &iplen) < 0) {
		wg_peer_drop(peer, WG_DROP_BAD_INNER);
		return;
	}
	if (allowedips_lookup(&dev->table, family, saddr) != peer) {
		wg_peer_drop(peer, WG_DROP_NOT_ALLOWED);
		return;
	}
	peer->stats.rx_packets++;
	peer->stats.rx_bytes += iplen;
	if (dev->ops.deliver)
		dev->ops.deliver(dev->ctx, peer, p, iplen);
}

static void wg_rx_data(struct wg_device *dev, const struct wg_endpoint *src,
		       uint8_t *buf, size_t len, uint64_t now)
{
	struct wg_job j;

	if (!wg_rx_prepare(dev, &j, src, buf, len, now))
		return;
	wg_job_crypt(&j, 0);
	wg_rx_commit(dev, &j, now);
}

/*
 * Seal or open the jobs collected so far, on the pool's threads when there
 * are enough of them, then commit each in arrival order on this thread.
 * Nothing between a job's prepare and its commit changes a session: every
 * input that could (handshake messages, packets that must be queued) runs
 * this first.
 */
static void wg_jobs_run(struct wg_device *dev, uint64_t now)
{
	unsigned int n = dev->n_jobs;

	if (!n)
		return;
	if (dev->threads > 1 && n >= WG_PARALLEL_MIN_PACKETS &&
	    dev->job_bytes >= WG_PARALLEL_MIN_BYTES)
		pool_run(dev->pool, wg_job_crypt_batch, dev, n);
	else
		for (unsigned int i = 0; i < n; i++)
			wg_job_crypt(&dev->jobs[i], 0);
	dev->n_jobs = 0;
	dev->job_bytes = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct wg_job *j = &dev->jobs[i];

		if (!j->tx)
			wg_rx_commit(dev, j, now);
		else if (!wg_tx_commit(j))
			wg_after_send(j->peer, j->len > 0, now);
	}
}

void wg_device_tx_batch(struct wg_device *dev, struct wg_packet *pkts, size_t n,
			uint64_t now)
{
	struct wg_peer *peer;
	struct wg_keypair *kp;

	for (size_t i = 0; i < n; i++) {
		if (wg_tx_route(dev, pkts[i].data, pkts[i].len, &peer) < 0)
			continue;
		kp = peer->kp_cur;
		if (!peer->q_count && wg_keypair_can_send(dev, kp, now)) {
			wg_tx_prepare(&dev->jobs[dev->n_jobs], peer, kp, pkts[i].data,
				      pkts[i].len);
			dev->job_bytes += dev->jobs[dev->n_jobs++].padded;
			if (dev->n_jobs == WG_BATCH)
				wg_jobs_run(dev, now);
			continue;
		}
		/* what came before leaves first */
		wg_jobs_run(dev, now);
		wg_tx_queue(peer, pkts[i].data, pkts[i].len, now);
	}
	wg_jobs_run(dev, now);
}

void wg_device_rx_batch(struct wg_device *dev, struct wg_datagram *d, size_t n,
			uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		sa_family_t af = d[i].from.sa.sa_family;

		if (d[i].len >= 4 && bytes_load_le32(d[i].data) == WG_MSG_DATA &&
		    (af == AF_INET || af == AF_INET6)) {
			if (!wg_rx_prepare(dev, &dev->jobs[dev->n_jobs], &d[i].from, d[i].data,
					   d[i].len, now))
				continue;
			dev->job_bytes += d[i].len - WG_DATA_MIN_LEN;
			if (++dev->n_jobs == WG_BATCH)
				wg_jobs_run(dev, now);
			continue;
		}
		/* handshakes may change sessions: what came before goes first */
		wg_jobs_run(dev, now);
		wg_device_rx(dev, &d[i].from, d[i].data, d[i].len, now);
	}
	wg_jobs_run(dev, now);
}

/**
 * wg_device_rx() - one datagram from the network
 * @dev: the device
 * @src: where it came from (AF_INET or AF_INET6)
 * @buf: the datagram, decrypted in place
 * @len: its length
 * @now: boottime ns
 *
 * Dispatch on the 32-bit type word (the three reserved bytes must be zero).
 * Every path that rejects a datagram only counts it.
 */
void wg_device_rx(struct wg_device *dev, const struct wg_endpoint *src,
		  uint8_t *buf, size_t len, uint64_t now)
{
	if (len < 4) {
		wg_dev_drop(dev, WG_DROP_BAD_SIZE);
		return;
	}
	if (src->sa.sa_family != AF_INET && src->sa.sa_family != AF_INET6) {
		wg_dev_drop(dev, WG_DROP_BAD_TYPE);
		return;
	}
	/* the three reserved bytes must be zero: compare the whole word */
	switch (bytes_load_le32(buf)) {
	case WG_MSG_INITIATION:
		wg_rx_initiation(dev, src, buf, len, now);
		break;
	case WG_MSG_RESPONSE:
		wg_rx_response(dev, src, buf, len, now);
		break;
	case WG_MSG_COOKIE:
		wg_rx_cookie(dev, buf, len, now);
		break;
	case WG_MSG_DATA:
		wg_rx_data(dev, src, buf, len, now);
		break;
	default:
		wg_dev_drop(dev, WG_DROP_BAD_TYPE);
		break;
	}
}

/* ---- timers --------------------------------------------------------------- */

static void wg_retransmit_expired(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;

	if (wg_expired(peer->handshake_started, t->rekey_attempt_time, now)) {
		peer->t_keepalive = WG_NEVER;
		wg_queue_drop_all(peer);
		if (peer->t_zero_keys == WG_NEVER)
			peer->t_zero_keys = wg_after(now, 3 * t->reject_after_time);
		wg_event(peer, WG_EV_HANDSHAKE_TIMEOUT);
		return;
	}
	wg_send_initiation(peer, now, true);
}

static uint64_t wg_peer_tick(struct wg_peer *peer, uint64_t now)
{
	uint64_t next;

	if (peer->t_retransmit <= now) {
		peer->t_retransmit = WG_NEVER;
		wg_retransmit_expired(peer, now);
	}
	if (peer->t_keepalive <= now) {
		peer->t_keepalive = WG_NEVER;
		wg_send_keepalive(peer, now);
		if (peer->need_another_keepalive) {
			peer->need_another_keepalive = false;
			peer->t_keepalive = wg_after(now, peer->dev->timers.keepalive_timeout);
		}
	}
	if (peer->t_new_hs <= now) {
		peer->t_new_hs = WG_NEVER;
		wg_send_initiation(peer, now, false);
	}
	if (peer->t_zero_keys <= now) {
		peer->t_zero_keys = WG_NEVER;
		wg_handshake_clear(peer);
		wg_keypairs_clear(peer);
		wg_event(peer, WG_EV_SESSION_EXPIRED);
	}
	if (peer->t_persistent <= now) {
		peer->t_persistent = WG_NEVER;
		if (peer->keepalive_s)
			wg_send_keepalive(peer, now);
	}

	next = peer->t_retransmit;
	if (peer->t_keepalive < next)
		next = peer->t_keepalive;
	if (peer->t_new_hs < next)
		next = peer->t_new_hs;
	if (peer->t_zero_keys < next)
		next = peer->t_zero_keys;
	if (peer->t_persistent < next)
		next = peer->t_persistent;
	return next;
}

/**
 * wg_device_tick() - run every expired peer timer
 * @dev: the device
 * @now: boottime ns
 *
 * Return: the earliest deadline still armed, UINT64_MAX if none. Peers are
 * few, so a scan beats keeping a timer heap in step.
 */
uint64_t wg_device_tick(struct wg_device *dev, uint64_t now)
{
	uint64_t next = WG_NEVER, t;
	struct wg_peer *peer;

	for (peer = dev->peers; peer; peer = peer->next) {
		t = wg_peer_tick(peer, now);
		if (t < next)
			next = t;
	}
	return next;
}

/* ---- configuration -------------------------------------------------------- */

/**
 * wg_device_new() - a device with a static private key and no peers
 * @private_key: X25519 private key (clamped or not: X25519 clamps)
 * @ops:         callbacks, copied
 * @ctx:         passed to every callback
 *
 * Everything the data path needs (the AEAD context, the rate limiter's
 * table) is allocated here. Return: the device, or NULL with errno set.
 */
struct wg_device *wg_device_new(const uint8_t private_key[WG_KEY_LEN],
				const struct wg_ops *ops, void *ctx)
{
	struct wg_device *dev;
	int err;

	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		errno = ENOMEM;
		return NULL;
	}
	err = noise_local_init(&dev->local, private_key);
	if (err < 0)
		goto fail;
	cookie_checker_init(&dev->cookie, dev->local.pub);
	err = cookie_ratelimit_init(&dev->ratelimit);
	if (err < 0)
		goto fail;
	err = crypto_random(&dev->jitter_state, sizeof(dev->jitter_state));
	if (err < 0)
		goto fail;
	dev->jitter_state |= 1;
	err = -ENOMEM;
	dev->aead = crypto_aead_ctx_new();
	if (!dev->aead)
		goto fail;
	allowedips_init(&dev->table);
	if (ops)
		dev->ops = *ops;
	dev->ctx = ctx;
	dev->mtu = WG_DEFAULT_MTU;
	dev->threads = 1;
	wg_timers_default(&dev->timers);
	return dev;
fail:
	cookie_ratelimit_free(&dev->ratelimit);
	crypto_wipe(dev, sizeof(*dev));
	free(dev);
	errno = -err;
	return NULL;
}

void wg_device_free(struct wg_device *dev)
{
	struct wg_peer *peer, *next;

	if (!dev)
		return;
	for (peer = dev->peers; peer; peer = next) {
		next = peer->next;
		wg_peer_destroy(peer);
	}
	dev->peers = NULL;
	allowedips_free(&dev->table);
	crypto_aead_ctx_free(dev->aead);
	cookie_ratelimit_free(&dev->ratelimit);
	cookie_checker_wipe(&dev->cookie);
	crypto_wipe(dev, sizeof(*dev));
	free(dev);
}

/* Takes effect for timers armed from now on. */
void wg_device_set_timers(struct wg_device *dev, const struct wg_timers *t)
{
	dev->timers = *t;
}

/* The tunnel MTU bounds the padding of inner packets (whitepaper 5.4.6). */
int wg_device_set_pool(struct wg_device *dev, struct pool *pool)
{
	if (dev->peers)
		return -EBUSY;
	dev->pool = pool;
	dev->threads = 1 + pool_workers(pool);
	return 0;
}

void wg_device_set_mtu(struct wg_device *dev, unsigned int mtu)
{
	dev->mtu = mtu > WG_MAX_PACKET ? WG_MAX_PACKET : mtu;
}

size_t wg_datagram_len(unsigned int mtu, size_t len)
{
	return WG_DATA_HDR_LEN + wg_padded_len(len, mtu > WG_MAX_PACKET ? WG_MAX_PACKET : mtu) +
	       CRYPTO_TAG_LEN;
}

void wg_device_set_under_load(struct wg_device *dev, bool under_load)
{
	dev->forced_load = under_load;
	if (!under_load)
		dev->load_until = 0;
}

void wg_device_public_key(const struct wg_device *dev, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, dev->local.pub, WG_KEY_LEN);
}

const struct wg_device_stats *wg_device_stats(const struct wg_device *dev)
{
	return &dev->stats;
}

/**
 * wg_peer_new() - add a peer
 * @dev:        the device
 * @public_key: the peer's static public key
 * @psk:        pre-shared key, or NULL
 *
 * The static-static DH is computed here, once. The peer's packet queue
 * (WG_QUEUE_BYTES) is allocated here too, so queueing never allocates.
 * Return: the peer, or NULL with errno EEXIST (already a peer), EINVAL (our
 * own key, or a low-order key no handshake can use) or ENOMEM.
 */
struct wg_peer *wg_peer_new(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN],
			    const uint8_t *psk)
{
	struct wg_peer *peer, **pp;

	if (wg_peer_find(dev, public_key)) {
		errno = EEXIST;
		return NULL;
	}
	if (!memcmp(public_key, dev->local.pub, WG_KEY_LEN)) {
		errno = EINVAL;
		return NULL;
	}
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		goto nomem;
	peer->q_arena = malloc(WG_QUEUE_BYTES);
	if (!peer->q_arena)
		goto nomem;
	if (noise_remote_init(&peer->remote, &dev->local, public_key, psk) < 0) {
		free(peer->q_arena);
		crypto_wipe(peer, sizeof(*peer));
		free(peer);
		errno = EINVAL;
		return NULL;
	}
	peer->dev = dev;
	cookie_maker_init(&peer->cookie, public_key);
	peer->t_retransmit = peer->t_keepalive = peer->t_new_hs = WG_NEVER;
	peer->t_zero_keys = peer->t_persistent = WG_NEVER;
	for (pp = &dev->peers; *pp; pp = &(*pp)->next)
		;
	*pp = peer;
	return peer;
nomem:
	if (peer)
		free(peer->q_arena);
	free(peer);
	errno = ENOMEM;
	return NULL;
}

/* Everything of a peer but its place in the device's list. */
static void wg_peer_destroy(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	allowedips_remove_owner(&dev->table, peer);
	wg_handshake_clear(peer);
	wg_keypairs_clear(peer);
	cookie_maker_wipe(&peer->cookie);
	crypto_wipe(peer->q_arena, WG_QUEUE_BYTES);
	free(peer->q_arena);
	crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

/* Forget a peer: its routes, indices, keys (wiped) and queue. */
void wg_peer_remove(struct wg_peer *peer)
{
	struct wg_peer **pp;

	for (pp = &peer->dev->peers; *pp; pp = &(*pp)->next) {
		if (*pp == peer) {
			*pp = peer->next;
			break;
		}
	}
	wg_peer_destroy(peer);
}

struct wg_peer *wg_peer_find(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer *peer;

	/* public keys are not secret: a plain comparison is fine */
	for (peer = dev->peers; peer; peer = peer->next)
		if (!memcmp(peer->remote.pub, public_key, WG_KEY_LEN))
			return peer;
	return NULL;
}

struct wg_peer *wg_peer_next(struct wg_device *dev, struct wg_peer *prev)
{
	return prev ? prev->next : dev->peers;
}

/* Configured endpoint; authenticated packets from elsewhere replace it later. */
void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	if (ep->sa.sa_family != AF_INET && ep->sa.sa_family != AF_INET6)
		return;
	memset(&peer->ep, 0, sizeof(peer->ep));
	if (ep->sa.sa_family == AF_INET)
		peer->ep.in = ep->in;
	else
		peer->ep.in6 = ep->in6;
	peer->has_ep = true;
	/* a persistent keepalive can start now that it has somewhere to go */
	if (peer->keepalive_s && peer->t_persistent == WG_NEVER)
		peer->t_persistent = 0;
}

bool wg_peer_get_endpoint(const struct wg_peer *peer, struct wg_endpoint *ep)
{
	if (!peer->has_ep)
		return false;
	*ep = peer->ep;
	return true;
}

/* Turning it on sends a keepalive at the next tick, as the kernel does. */
void wg_peer_set_keepalive(struct wg_peer *peer, unsigned int seconds)
{
	bool changed = seconds != peer->keepalive_s;

	peer->keepalive_s = seconds;
	if (!seconds)
		peer->t_persistent = WG_NEVER;
	else if (changed && peer->has_ep)
		peer->t_persistent = 0;
}

int wg_peer_allow(struct wg_peer *peer, const struct prefix *p)
{
	return allowedips_insert(&peer->dev->table, p, peer);
}

int wg_peer_disallow(struct wg_peer *peer, const struct prefix *p)
{
	return allowedips_remove(&peer->dev->table, p, peer);
}

void wg_peer_clear_allowed(struct wg_peer *peer)
{
	allowedips_remove_owner(&peer->dev->table, peer);
}

void wg_peer_public_key(const struct wg_peer *peer, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, peer->remote.pub, WG_KEY_LEN);
}

const struct wg_peer_stats *wg_peer_stats(const struct wg_peer *peer)
{
	return &peer->stats;
}

void wg_peer_set_userdata(struct wg_peer *peer, void *data)
{
	peer->userdata = data;
}

void *wg_peer_userdata(const struct wg_peer *peer)
{
	return peer->userdata;
}

void wg_peer_connect(struct wg_peer *peer, uint64_t now)
{
	if (peer->t_retransmit != WG_NEVER)
		return;		/* one is in flight */
	wg_send_initiation(peer, now, false);
}

static void wg_keypair_info(const struct wg_keypair *kp, struct wg_keypair_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!kp)
		return;
	out->present = true;
	out->initiator = kp->initiator;
	out->local_index = kp->index.id;
	out->remote_index = kp->remote_index;
	out->birth_ns = kp->birth;
	out->send_counter = kp->send_counter;
}

void wg_peer_keypairs(const struct wg_peer *peer, struct wg_peer_keypairs *out)
{
	wg_keypair_info(peer->kp_prev, &out->previous);
	wg_keypair_info(peer->kp_cur, &out->current);
	wg_keypair_info(peer->kp_next, &out->next);
}

#ifdef GANGWAY_TEST_HOOKS
#include "testhooks/wg_hooks.h"

int wg_peer_test_set_send_counter(struct wg_peer *peer, uint64_t counter)
{
	if (!peer->kp_cur)
		return -ENOENT;
	peer->kp_cur->send_counter = counter;
	return 0;
}
#endif
