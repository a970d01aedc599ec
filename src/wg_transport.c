/* wg_transport.c - the engine's data path: transport messages, queue, dispatch, batches */

/*
 * Theory of operation
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
 * Every datagram enters here (wg_device_rx dispatches on its type), so the
 * per-packet chain (prepare, seal or open, commit) stays in this one file,
 * and the helpers it shares with the rest of the engine are inline in
 * wg_int.h.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "allowedips.h"
#include "bytes.h"
#include "crypto.h"
#include "noise.h"
#include "pool.h"
#include "replay.h"
#include "wg.h"
#include "wg_int.h"

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

/* ---- sending --------------------------------------------------------------- */

/* Padded length: a multiple of 16, but not beyond the MTU (kernel's rule). */
static size_t wg_transport_padded_len(size_t len, unsigned int mtu)
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

size_t wg_datagram_len(unsigned int mtu, size_t len)
{
	return WG_DATA_HDR_LEN + wg_transport_padded_len(len, mtu > WG_MAX_PACKET ? WG_MAX_PACKET : mtu) +
	       CRYPTO_TAG_LEN;
}

/* ---- transport messages: prepare, seal or open, commit ------------------- */

/* The crypto of one job, on any thread: the job's own buffer and that thread's context. */
static void wg_transport_job_crypt(struct wg_job *j, unsigned int thread)
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

static void wg_transport_job_crypt_batch(void *arg, unsigned int i, unsigned int thread)
{
	struct wg_device *dev = arg;

	wg_transport_job_crypt(&dev->jobs[i], thread);
}

/* Sending, before the seal: the session's next counter (nonce) and the padding. */
static void wg_transport_tx_prepare(struct wg_job *j, struct wg_peer *peer, struct wg_keypair *kp,
				    uint8_t *pkt, size_t len)
{
	j->tx = true;
	j->buf = pkt - WG_HEADROOM;
	j->len = len;
	j->padded = wg_transport_padded_len(len, peer->dev->mtu);
	j->counter = kp->send_counter++;
	j->peer = peer;
	j->kp = kp;
	j->src = NULL;
	j->err = 0;
}

/* Sending, after the seal. */
static int wg_transport_tx_commit(struct wg_job *j)
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
static int wg_transport_seal_and_send(struct wg_peer *peer, struct wg_keypair *kp,
				      uint8_t *pkt, size_t len)
{
	struct wg_job j;

	wg_transport_tx_prepare(&j, peer, kp, pkt, len);
	wg_transport_job_crypt(&j, 0);
	return wg_transport_tx_commit(&j);
}

static void wg_transport_queue_reset(struct wg_peer *peer)
{
	peer->q_count = 0;
	peer->q_used = 0;
}

static int wg_transport_queue_add(struct wg_peer *peer, const uint8_t *pkt, size_t len)
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
static void wg_transport_keep_key_fresh_tx(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;
	struct wg_keypair *kp = peer->kp_cur;

	if (kp && kp->send_valid &&
	    (kp->send_counter > t->rekey_after_messages ||
	     (kp->initiator && wg_expired(kp->birth, t->rekey_after_time, now))))
		wg_handshake_send_initiation(peer, now, false);
}

/*
 * After sending data and keepalives: the kernel's order of timer events,
 * then perhaps a rekey.
 */
static void wg_transport_after_send(struct wg_peer *peer, bool data, uint64_t now)
{
	wg_timers_traversal(peer, now);
	wg_timers_any_sent(peer);
	if (data)
		wg_timers_data_sent(peer, now);
	wg_transport_keep_key_fresh_tx(peer, now);
}

/**
 * wg_transport_queue_flush() - send what waits in the queue, or ask for a session
 * @peer: the peer
 * @now:  boottime ns
 *
 * Packets leave in order with the current session. When there is none, or
 * it may not send any more, they stay queued and a handshake is started.
 */
static void wg_transport_queue_flush(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct wg_keypair *kp = peer->kp_cur;
	bool sent = false, data = false;
	unsigned int i;

	for (i = 0; i < peer->q_count; i++) {
		struct wg_qslot *s = &peer->q[i];

		if (!wg_keypair_can_send(dev, kp, now))
			break;
		if (wg_transport_seal_and_send(peer, kp, peer->q_arena + s->off + WG_HEADROOM,
					       s->len) < 0)
			continue;
		sent = true;
		data |= s->len > 0;
	}
	if (i == peer->q_count) {
		wg_transport_queue_reset(peer);
	} else {
		memmove(peer->q, peer->q + i, (peer->q_count - i) * sizeof(peer->q[0]));
		peer->q_count -= i;
	}
	if (sent)
		wg_transport_after_send(peer, data, now);
	if (peer->q_count) {
		/* whatever is wrong with the session, a new one fixes it */
		if (kp && kp->send_valid)
			kp->send_valid = false;
		wg_handshake_send_initiation(peer, now, false);
	}
}

void wg_transport_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	if (!peer->q_count && wg_transport_queue_add(peer, NULL, 0) < 0)
		return;
	wg_transport_queue_flush(peer, now);
}

void wg_transport_queue_drop_all(struct wg_peer *peer)
{
	unsigned int i;

	for (i = 0; i < peer->q_count; i++)
		if (peer->q[i].len)
			wg_peer_drop(peer, WG_DROP_TIMEOUT);
	wg_transport_queue_reset(peer);
}

/*
 * Inner IP header: the source (rx) or destination (tx) address, and the
 * packet's own length. Received packets are checked strictly (the length
 * fields strip the padding); packets to send only need a destination.
 */
static int wg_transport_inner_parse(const uint8_t *p, size_t len, bool rx, int *family,
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
static bool wg_transport_is_loop(const struct wg_peer *peer, const uint8_t *pkt, size_t len,
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
static int wg_transport_tx_route(struct wg_device *dev, const uint8_t *pkt, size_t len,
				 struct wg_peer **out)
{
	const uint8_t *dst;
	struct wg_peer *peer;
	size_t iplen;
	int family;

	if (len > WG_MAX_PACKET ||
	    wg_transport_inner_parse(pkt, len, false, &family, &dst, &iplen) < 0) {
		wg_dev_drop(dev, WG_DROP_BAD_INNER);
		return -EINVAL;
	}
	peer = allowedips_lookup(&dev->table, family, dst);
	if (!peer) {
		wg_dev_drop(dev, WG_DROP_NO_PEER);
		return -EHOSTUNREACH;
	}
	if (wg_transport_is_loop(peer, pkt, len, family)) {
		wg_peer_drop(peer, WG_DROP_LOOP);
		return -ELOOP;
	}
	*out = peer;
	return 0;
}

/* No session can send it now: queue the packet and ask for one. */
static int wg_transport_tx_queue(struct wg_peer *peer, const uint8_t *pkt, size_t len, uint64_t now)
{
	if (wg_transport_queue_add(peer, pkt, len) < 0) {
		wg_peer_drop(peer, WG_DROP_QUEUE_FULL);
		wg_transport_queue_flush(peer, now);
		return -ENOBUFS;
	}
	wg_transport_queue_flush(peer, now);
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

	err = wg_transport_tx_route(dev, pkt, len, &peer);
	if (err < 0)
		return err;
	kp = peer->kp_cur;
	if (!peer->q_count && wg_keypair_can_send(dev, kp, now)) {
		if (wg_transport_seal_and_send(peer, kp, pkt, len) < 0)
			return -EIO;
		wg_transport_after_send(peer, len > 0, now);
		return 0;
	}
	return wg_transport_tx_queue(peer, pkt, len, now);
}

/* ---- receiving ------------------------------------------------------------ */

void wg_transport_learn_endpoint(struct wg_peer *peer, const struct wg_endpoint *src)
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

/* The kernel's keep_key_fresh on receipt: rekey shortly before Reject-After-Time. */
static void wg_transport_keep_key_fresh_rx(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers *t = &peer->dev->timers;
	struct wg_keypair *kp = peer->kp_cur;
	uint64_t margin = t->keepalive_timeout + t->rekey_timeout;
	uint64_t age = t->reject_after_time > margin ? t->reject_after_time - margin : 0;

	if (peer->sent_lastminute_handshake)
		return;
	if (kp && kp->send_valid && kp->initiator && wg_expired(kp->birth, age, now)) {
		peer->sent_lastminute_handshake = true;
		wg_handshake_send_initiation(peer, now, false);
	}
}

/* The first packet under "next" proves the initiator has the session. */
static void wg_transport_confirm_next(struct wg_peer *peer, uint64_t now)
{
	wg_keypair_clear(peer->dev, peer->kp_prev);
	peer->kp_prev = peer->kp_cur;
	peer->kp_cur = peer->kp_next;
	peer->kp_next = NULL;
	wg_timers_handshake_complete(peer, now);
	wg_event(peer, WG_EV_HANDSHAKE_DONE);
	if (peer->q_count)
		wg_transport_queue_flush(peer, now);
}

/*
 * Receiving, before the open: the session named by the receiver index,
 * still young enough, and a counter the replay window has not seen. false:
 * dropped (and counted).
 */
static bool wg_transport_rx_prepare(struct wg_device *dev, struct wg_job *j,
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
static void wg_transport_rx_commit(struct wg_device *dev, struct wg_job *j, uint64_t now)
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
	wg_transport_learn_endpoint(peer, j->src);
	if (kp == peer->kp_next)
		wg_transport_confirm_next(peer, now);
	wg_transport_keep_key_fresh_rx(peer, now);
	wg_timers_any_received(peer);
	wg_timers_traversal(peer, now);

	p = j->buf + WG_DATA_HDR_LEN;
	plen = j->len - WG_DATA_MIN_LEN;
	if (!plen)
		return;		/* keepalive */
	wg_timers_data_received(peer, now);

	if (wg_transport_inner_parse(p, plen, true, &family, &saddr, &iplen) < 0) {
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

static void wg_transport_rx_data(struct wg_device *dev, const struct wg_endpoint *src,
				 uint8_t *buf, size_t len, uint64_t now)
{
	struct wg_job j;

	if (!wg_transport_rx_prepare(dev, &j, src, buf, len, now))
		return;
	wg_transport_job_crypt(&j, 0);
	wg_transport_rx_commit(dev, &j, now);
}

/*
 * Seal or open the jobs collected so far, on the pool's threads when there
 * are enough of them, then commit each in arrival order on this thread.
 * Nothing between a job's prepare and its commit changes a session: every
 * input that could (handshake messages, packets that must be queued) runs
 * this first.
 */
static void wg_transport_jobs_run(struct wg_device *dev, uint64_t now)
{
	unsigned int n = dev->n_jobs;

	if (!n)
		return;
	if (dev->threads > 1 && n >= WG_PARALLEL_MIN_PACKETS &&
	    dev->job_bytes >= WG_PARALLEL_MIN_BYTES)
		pool_run(dev->pool, wg_transport_job_crypt_batch, dev, n);
	else
		for (unsigned int i = 0; i < n; i++)
			wg_transport_job_crypt(&dev->jobs[i], 0);
	dev->n_jobs = 0;
	dev->job_bytes = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct wg_job *j = &dev->jobs[i];

		if (!j->tx)
			wg_transport_rx_commit(dev, j, now);
		else if (!wg_transport_tx_commit(j))
			wg_transport_after_send(j->peer, j->len > 0, now);
	}
}

void wg_device_tx_batch(struct wg_device *dev, struct wg_packet *pkts, size_t n,
			uint64_t now)
{
	struct wg_peer *peer;
	struct wg_keypair *kp;

	for (size_t i = 0; i < n; i++) {
		if (wg_transport_tx_route(dev, pkts[i].data, pkts[i].len, &peer) < 0)
			continue;
		kp = peer->kp_cur;
		if (!peer->q_count && wg_keypair_can_send(dev, kp, now)) {
			wg_transport_tx_prepare(&dev->jobs[dev->n_jobs], peer, kp, pkts[i].data,
						pkts[i].len);
			dev->job_bytes += dev->jobs[dev->n_jobs++].padded;
			if (dev->n_jobs == WG_BATCH)
				wg_transport_jobs_run(dev, now);
			continue;
		}
		/* what came before leaves first */
		wg_transport_jobs_run(dev, now);
		wg_transport_tx_queue(peer, pkts[i].data, pkts[i].len, now);
	}
	wg_transport_jobs_run(dev, now);
}

void wg_device_rx_batch(struct wg_device *dev, struct wg_datagram *d, size_t n,
			uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		sa_family_t af = d[i].from.sa.sa_family;

		if (d[i].len >= 4 && bytes_load_le32(d[i].data) == WG_MSG_DATA &&
		    (af == AF_INET || af == AF_INET6)) {
			if (!wg_transport_rx_prepare(dev, &dev->jobs[dev->n_jobs], &d[i].from, d[i].data,
						     d[i].len, now))
				continue;
			dev->job_bytes += d[i].len - WG_DATA_MIN_LEN;
			if (++dev->n_jobs == WG_BATCH)
				wg_transport_jobs_run(dev, now);
			continue;
		}
		/* handshakes may change sessions: what came before goes first */
		wg_transport_jobs_run(dev, now);
		wg_device_rx(dev, &d[i].from, d[i].data, d[i].len, now);
	}
	wg_transport_jobs_run(dev, now);
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
		wg_handshake_rx_initiation(dev, src, buf, len, now);
		break;
	case WG_MSG_RESPONSE:
		wg_handshake_rx_response(dev, src, buf, len, now);
		break;
	case WG_MSG_COOKIE:
		wg_handshake_rx_cookie(dev, buf, len, now);
		break;
	case WG_MSG_DATA:
		wg_transport_rx_data(dev, src, buf, len, now);
		break;
	default:
		wg_dev_drop(dev, WG_DROP_BAD_TYPE);
		break;
	}
}
