/* tunnel_ctl.c - control messages between the daemons, over the tunnel */

/*
 * Theory of operation: the daemons talk over the tunnel in control
 * messages (ctlmsg.c) sealed with keys of their own, derived per peer
 * from the WireGuard keys. Messages to send wait in the tunnel's outbox
 * until the loop runs the engine (tunnel_ctl_flush), so a hook may send
 * from inside an engine callback; received ones are taken out of the
 * delivered packets (tunnel_deliver, tunnel.c), opened and handed to the
 * control plane's hook. Packets from the device to the control port are
 * dropped in tunnel.c (tunnel_tun_forged), which asks this file whose
 * addresses they name.
 */
#include <errno.h>
#include <string.h>

#include "captap.h"
#include "ctlmsg.h"
#include "log.h"
#include "tunnel.h"
#include "tunnel_int.h"

const struct prefix *tunnel_own_addr(const struct tunnel *t, int family)
{
	for (size_t i = 0; i < t->cfg.addresses.n; i++)
		if (t->cfg.addresses.v[i].family == family)
			return &t->cfg.addresses.v[i];
	return NULL;
}

bool tunnel_ctl_is_own_addr(const struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->cfg.addresses.n; i++) {
		const struct prefix *o = &t->cfg.addresses.v[i];

		if (o->family == a->family &&
		    !memcmp(o->addr.b, a->addr.b, prefix_addr_len(a->family)))
			return true;
	}
	return false;
}

/*
 * Where a peer's daemon speaks: the address its control messages came
 * from, or a single-address entry of its configured AllowedIPs.
 */
struct tunnel_peer *tunnel_ctl_peer(struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].ctl.family && prefix_equal(&t->peers[i].ctl, a))
			return &t->peers[i];
	for (size_t i = 0; i < t->n_peers && i < t->cfg.n_peers; i++) {
		const struct config_prefixes *l = &t->cfg.peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++)
			if (prefix_equal(&l->v[j], a))
				return &t->peers[i];
	}
	return NULL;
}

/* The peer whose configured AllowedIPs hold address a (its daemon may be there). */
struct tunnel_peer *tunnel_ctl_allowed_peer(struct tunnel *t, const struct prefix *a)
{
	for (size_t i = 0; i < t->n_peers && i < t->cfg.n_peers; i++) {
		const struct config_prefixes *l = &t->cfg.peers[i].allowed_ips;

		for (size_t j = 0; j < l->n; j++)
			if (prefix_contains(&l->v[j], a))
				return &t->peers[i];
	}
	return NULL;
}


static int tunnel_ctl_queue(struct tunnel *t, struct tunnel_peer *tp, const struct prefix *dst,
			    const struct ctlmsg *m)
{
	struct tunnel_ctl_out *o;
	int n;

	if (!tunnel_own_addr(t, dst->family))
		return -EADDRNOTAVAIL;
	if (!tp->auth_ok)
		return -EPERM;	/* no keys for this peer: nothing to seal with */
	if (t->n_out >= TUNNEL_CTL_OUTBOX)
		return -ENOBUFS;
	o = &t->outbox[t->n_out];
	n = ctlmsg_seal(&tp->auth, m, o->msg, sizeof(o->msg));
	if (n < 0)
		return n;
	t->n_out++;
	o->dst = *dst;
	o->len = (size_t)n;
	if (!t->in_engine)
		tunnel_schedule(t);
	return 0;
}

int tunnel_send_ctl(struct tunnel *t, const struct prefix *dst, const struct ctlmsg *m)
{
	struct tunnel_peer *tp = tunnel_ctl_peer(t, dst);

	return tp ? tunnel_ctl_queue(t, tp, dst, m) : -EHOSTUNREACH;
}

/*
 * A control message for us: the peer's daemon's only if its tag verifies
 * and it is fresh; anything else is counted and dropped without a word,
 * except that a well-made message that is merely not fresh (a restart) is
 * answered with a HELLO carrying our challenge, at most ten a second.
 * Nothing else ever answers, so two daemons cannot keep each other busy.
 */
void tunnel_ctl_in(struct tunnel *t, struct wg_peer *from, const struct prefix *src,
		   const uint8_t *msg, size_t len)
{
	static const struct ctlmsg hello = { .type = CTLMSG_HELLO };
	static struct ctlmsg m;		/* large: not on the stack */
	struct tunnel_peer *tp = tunnel_peer_of(t, from);
	uint64_t now;
	int ret;

	if (!tp || !tp->auth_ok) {
		wg_count_drop(t->dev, from, WG_DROP_CTL_AUTH);
		return;
	}
	ret = ctlmsg_open(&tp->auth, &m, msg, len);
	switch (ret) {
	case 0:
		tp->ctl = *src;
		t->hooks.on_ctl(t->hook_ctx, from, src, &m);
		break;
	case -ECONNRESET:
	case -ESTALE:
		wg_count_drop(t->dev, from, WG_DROP_CTL_STALE);
		now = loop_now();
		if ((ret == -ECONNRESET || m.type != CTLMSG_HELLO) && now >= tp->hello_at) {
			tp->hello_at = now + WG_NSEC / 10;
			tunnel_ctl_queue(t, tp, src, &hello);
		}
		break;
	case -EALREADY:
		wg_count_drop(t->dev, from, WG_DROP_CTL_REPLAY);
		break;
	default:
		wg_count_drop(t->dev, from, WG_DROP_CTL_AUTH);
		break;
	}
}

void tunnel_ctl_flush(struct tunnel *t, uint64_t now)
{
	uint8_t *pkt = t->ctlbuf + WG_HEADROOM;
	int n;

	for (size_t i = 0; i < t->n_out; i++) {
		const struct tunnel_ctl_out *o = &t->outbox[i];

		n = ctlmsg_wrap(pkt, 1280, tunnel_own_addr(t, o->dst.family), &o->dst,
				o->msg, o->len);
		if (n > 0) {
			captap_hook(t->tap, pkt, (size_t)n);
			wg_device_tx(t->dev, pkt, (size_t)n, now);
		}
	}
	t->n_out = 0;
}

/*
 * The control messages' keys, from our private key, the peer's public key
 * and the preshared key; a peer kept over a reload keeps its challenges and
 * counters (its daemon did not restart).
 */
void tunnel_ctl_auth(struct tunnel *t, struct tunnel_peer *tp,
		     const struct tunnel_peer *old, const struct config_peer *cp)
{
	const uint8_t *psk = cp->has_preshared_key ? cp->preshared_key : NULL;
	char name[KEY_B64_LEN + 1];
	int ret;

	if (old && old->auth_ok) {
		tp->auth = old->auth;
		tp->ctl = old->ctl;
		tp->hello_at = old->hello_at;
		ret = ctlmsg_auth_keys(&tp->auth, t->cfg.private_key, cp->public_key, psk);
	} else {
		ret = ctlmsg_auth_init(&tp->auth, t->cfg.private_key, cp->public_key, psk);
	}
	tp->auth_ok = ret == 0;
	if (ret)
		log_warn("No control message keys for peer %s: %s; its control messages "
			 "are dropped", tunnel_key_name(cp->public_key, name), strerror(-ret));
}
