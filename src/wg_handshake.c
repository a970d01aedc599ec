/* wg_handshake.c - the engine's handshakes: initiations, responses and cookie replies */

/*
 * Theory of operation
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
 * The load estimate (wg_device_under_load) lives here: handshake messages
 * are what it counts and what it protects.
 */
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "wg.h"
#include "wg_int.h"

void wg_handshake_clear(struct wg_peer *peer)
{
	wg_index_unlink(peer->dev, &peer->hs_index);
	noise_handshake_clear(&peer->hs);
}

/* ---- sending ------------------------------------------------------------- */

static void wg_handshake_timestamp(struct wg_device *dev, uint8_t ts[NOISE_TAI64N_LEN],
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
 * wg_handshake_send_initiation() - send a handshake initiation to a peer
 * @peer:  the peer
 * @now:   boottime ns
 * @retry: called by the retransmit timer (else: a fresh attempt may start)
 *
 * At most one initiation (or response) per Rekey-Timeout, whatever asks;
 * one asked for too early goes out when the retransmit timer fires. Each
 * initiation has a fresh ephemeral key and a fresh index.
 */
void wg_handshake_send_initiation(struct wg_peer *peer, uint64_t now, bool retry)
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
	wg_handshake_timestamp(dev, ts, now);
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
static void wg_handshake_send_response(struct wg_peer *peer, uint64_t now)
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

/* ---- receiving ----------------------------------------------------------- */

static void wg_handshake_load_note(struct wg_device *dev, uint64_t now)
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
	wg_handshake_load_note(dev, now);
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
struct wg_handshake_lookup {
	struct wg_device *dev;
	struct wg_peer *peer;
};

static const struct noise_remote *wg_handshake_lookup_remote(void *arg,
							     const uint8_t pub[NOISE_KEY_LEN])
{
	struct wg_handshake_lookup *l = arg;

	l->peer = wg_peer_find(l->dev, pub);
	return l->peer ? &l->peer->remote : NULL;
}

void wg_handshake_rx_initiation(struct wg_device *dev, const struct wg_endpoint *src,
				const uint8_t *msg, size_t len, uint64_t now)
{
	struct wg_handshake_lookup lk = { .dev = dev, .peer = NULL };
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
				     wg_handshake_lookup_remote, &lk, &r, ts) < 0 || !lk.peer) {
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

	wg_transport_learn_endpoint(peer, src);
	wg_handshake_send_response(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);
out:
	crypto_wipe(&hs, sizeof(hs));
}

void wg_handshake_rx_response(struct wg_device *dev, const struct wg_endpoint *src,
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
	wg_transport_learn_endpoint(peer, src);
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
	wg_transport_send_keepalive(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);
}

void wg_handshake_rx_cookie(struct wg_device *dev, const uint8_t *msg, size_t len,
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
