/* wg.c - the WireGuard protocol engine: the device, its peers and their configuration */

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
 * The engine is in six files, one concern each, sharing their state
 * through src/wg_int.h: this one (the device and its peers: creating,
 * configuring, reading and freeing them), wg_index.c (the receiver index
 * table), wg_keypair.c (sessions), wg_handshake.c (handshake messages
 * and cookies), wg_transport.c (transport messages, the queue, the
 * datagram dispatch and the batches) and wg_timers.c (the peer timers).
 *
 * Time: `now` is CLOCK_BOOTTIME in ns from the caller. The TAI64N timestamp
 * is the wall clock read once (at the first initiation) plus the boottime
 * elapsed since, so it follows the caller's clock (fake ones included) and
 * never goes backwards within the life of the device.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "allowedips.h"
#include "cookie.h"
#include "noise.h"
#include "pool.h"
#include "wg.h"
#include "wg_int.h"

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
	[WG_DROP_CTL_RATE] = "control-rate-limited",
};

const char *wg_drop_name(enum wg_drop d)
{
	if ((unsigned int)d >= WG_DROP_MAX || !wg_drop_names[d])
		return "unknown";
	return wg_drop_names[d];
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
	wg_keypair_clear_all(peer);
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
	wg_handshake_send_initiation(peer, now, false);
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

