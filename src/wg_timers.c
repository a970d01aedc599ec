/* wg_timers.c - the engine's peer timers: retransmits, keepalives, rekeys and key expiry */

/*
 * Theory of operation
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
 * The events that arm the timers (wg_timers_data_sent and the others) run
 * for each packet and are inline in wg_int.h; this file holds the defaults
 * and what runs when a deadline passes.
 */
#include <stdint.h>

#include "wg.h"
#include "wg_int.h"

void wg_timers_default(struct wg_timers *t)
{
	t->rekey_after_time = 120 * WG_NSEC;
	t->reject_after_time = 180 * WG_NSEC;
	t->rekey_attempt_time = 90 * WG_NSEC;
	t->rekey_timeout = 5 * WG_NSEC;
	t->keepalive_timeout = 10 * WG_NSEC;
	t->rekey_after_messages = 1ULL << 60;
}

static void wg_timers_retransmit_expired(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;

	if (wg_expired(peer->handshake_started, t->rekey_attempt_time, now)) {
		peer->t_keepalive = WG_NEVER;
		wg_transport_queue_drop_all(peer);
		if (peer->t_zero_keys == WG_NEVER)
			peer->t_zero_keys = wg_after(now, 3 * t->reject_after_time);
		wg_event(peer, WG_EV_HANDSHAKE_TIMEOUT);
		return;
	}
	wg_handshake_send_initiation(peer, now, true);
}

static uint64_t wg_timers_peer_tick(struct wg_peer *peer, uint64_t now)
{
	uint64_t next;

	if (peer->t_retransmit <= now) {
		peer->t_retransmit = WG_NEVER;
		wg_timers_retransmit_expired(peer, now);
	}
	if (peer->t_keepalive <= now) {
		peer->t_keepalive = WG_NEVER;
		wg_transport_send_keepalive(peer, now);
		if (peer->need_another_keepalive) {
			peer->need_another_keepalive = false;
			peer->t_keepalive = wg_after(now, peer->dev->timers.keepalive_timeout);
		}
	}
	if (peer->t_new_hs <= now) {
		peer->t_new_hs = WG_NEVER;
		wg_handshake_send_initiation(peer, now, false);
	}
	if (peer->t_zero_keys <= now) {
		peer->t_zero_keys = WG_NEVER;
		wg_handshake_clear(peer);
		wg_keypair_clear_all(peer);
		wg_event(peer, WG_EV_SESSION_EXPIRED);
	}
	if (peer->t_persistent <= now) {
		peer->t_persistent = WG_NEVER;
		if (peer->keepalive_s)
			wg_transport_send_keepalive(peer, now);
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
		t = wg_timers_peer_tick(peer, now);
		if (t < next)
			next = t;
	}
	return next;
}
