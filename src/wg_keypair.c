/* wg_keypair.c - the engine's sessions: the previous, current and next keypairs of a peer */

/*
 * Theory of operation
 *
 * Sessions (whitepaper 6.3). Each peer has three keypair slots: previous,
 * current and next. The initiator installs its new session as current as
 * soon as the response checks out. The responder cannot know its response
 * arrived, so its session waits as "next" until the first data packet (or
 * keepalive) sealed with it confirms it; only then does it become current.
 * Old sessions stay as "previous" so packets in flight still decrypt.
 *
 * A session's AEAD contexts are its only copy of the keys; clearing the
 * session frees them, which erases them.
 */
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "noise.h"
#include "replay.h"
#include "wg.h"
#include "wg_int.h"

static void wg_keypair_aead_free(struct crypto_aead_ctx *ctx[WG_MAX_THREADS])
{
	for (unsigned int i = 0; i < WG_MAX_THREADS; i++) {
		crypto_aead_ctx_free(ctx[i]);
		ctx[i] = NULL;
	}
}

void wg_keypair_clear(struct wg_device *dev, struct wg_keypair *kp)
{
	if (!kp)
		return;
	wg_index_unlink(dev, &kp->index);
	/* freeing a keyed context erases its key */
	wg_keypair_aead_free(kp->send_aead);
	wg_keypair_aead_free(kp->recv_aead);
	kp->in_use = false;
	kp->send_valid = false;
	kp->send_counter = 0;
}

void wg_keypair_clear_all(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	wg_keypair_clear(dev, peer->kp_prev);
	wg_keypair_clear(dev, peer->kp_cur);
	wg_keypair_clear(dev, peer->kp_next);
	peer->kp_prev = peer->kp_cur = peer->kp_next = NULL;
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
int wg_keypair_install(struct wg_peer *peer, const struct noise_keys *k,
		       uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct crypto_aead_ctx *send[WG_MAX_THREADS] = { 0 }, *recv[WG_MAX_THREADS] = { 0 };
	struct wg_keypair *kp;

	for (unsigned int i = 0; i < dev->threads; i++) {
		send[i] = crypto_aead_ctx_new_keyed(k->send);
		recv[i] = crypto_aead_ctx_new_keyed(k->recv);
		if (!send[i] || !recv[i]) {
			wg_keypair_aead_free(send);
			wg_keypair_aead_free(recv);
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
		wg_keypair_aead_free(send);
		wg_keypair_aead_free(recv);
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
