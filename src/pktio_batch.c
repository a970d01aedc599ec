/* pktio_batch.c - batches of plain packets, over whatever system call moves them */

/*
 * Theory of operation
 *
 * Without offloads a packet is a packet: what a batch can save is system
 * calls and wake-ups, and what it enables is handing the engine many
 * packets at once (wg_device_tx_batch, wg_device_rx_batch), whose seals
 * and opens the crypto workers can share. This file is that batching for
 * every system: it fills the batch calls of pktio.h with fixed slots and
 * leaves the moving of packets to two sets of functions.
 *
 * The "many" calls (struct pktio_many) move up to n packets in one system
 * call: recvmmsg/sendmmsg on Linux's UDP socket, recvmsg_x/sendmsg_x on
 * macOS's utun device and UDP socket. Any of them may be missing (NULL),
 * and one the kernel refuses (ENOSYS, EINVAL, EOPNOTSUPP: an old kernel,
 * a socket type without list support) is dropped for good; the same
 * packets then go through the single calls, the plain ops of the system
 * (one read, write, recvmsg or sendto per packet). With no many calls at
 * all this is the plain path, one system call per packet, and still hands
 * the engine whole batches.
 *
 * Device to socket. tun_read_batch reads packets into the transmit slots
 * (each with the engine's headroom and tailroom) until PKTIO_BATCH_MAX or
 * nothing waits; a packet alone is handed on at once, nothing waits for a
 * batch to fill. The engine seals each in place; udp_send of a datagram in
 * a slot only records it, and udp_flush sends what was recorded with the
 * fewest calls. The next tun_read_batch flushes first, as the slots are
 * reused.
 *
 * Socket to device: the same, the other way. udp_recv_batch fills the
 * receive slots, the engine opens each in place and tun_write records the
 * inner packet; tun_flush writes them.
 *
 * Anything from elsewhere (handshakes, keepalives, queued packets) is sent
 * or written at once, after what is recorded, so nothing is reordered.
 * Two arenas, allocated once; no allocation per packet.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pktio.h"

#define PKTIO_BATCH_ARENA	(1024 * 1024)	/* per direction, at most */

enum pktio_dir { PKTIO_TUN, PKTIO_UDP };

struct pktio_batch {
	const struct pktio_ops *one;	/* the single calls */
	struct pktio_many many;		/* NULL once refused */
	size_t slot, tx_room, rx_room;
	unsigned int slots;
	uint8_t *tx, *rx;
	struct wg_packet pkts[PKTIO_BATCH_MAX];
	struct wg_datagram dgrams[PKTIO_BATCH_MAX];
	struct pktio_msg msg[PKTIO_BATCH_MAX];		/* receiving */
	struct pktio_msg sends[PKTIO_BATCH_MAX];	/* held for udp_flush */
	struct pktio_msg writes[PKTIO_BATCH_MAX];	/* held for tun_flush */
	unsigned int n_sends, n_writes;
};

/* The kernel has no such call for this descriptor: never again. */
static bool pktio_batch_refused(int err)
{
	return err == -ENOSYS || err == -EINVAL || err == -EOPNOTSUPP
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
	       || err == -ENOTSUP
#endif
		;
}

int pktio_batch_init(struct pktio *io, const struct pktio_ops *one,
		     const struct pktio_many *many)
{
	unsigned int mtu = io->mtu ? io->mtu : WG_DEFAULT_MTU;
	struct pktio_batch *b;
	size_t dgram;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->one = one;
	if (many)
		b->many = *many;
	/*
	 * A slot holds the largest packet the device passes (its MTU) with
	 * the engine's headroom and tailroom, or the largest datagram a peer
	 * with the same MTU sends; a longer datagram is refused as truncated.
	 */
	dgram = wg_datagram_len(mtu, mtu);
	b->tx_room = mtu;
	b->rx_room = dgram + 64;
	b->slot = WG_HEADROOM + (b->tx_room + 1 > b->rx_room ? b->tx_room + 1 : b->rx_room) +
		  WG_TAILROOM;
	b->slot = (b->slot + 63) & ~(size_t)63;
	b->slots = (unsigned int)(PKTIO_BATCH_ARENA / b->slot);
	if (b->slots > PKTIO_BATCH_MAX)
		b->slots = PKTIO_BATCH_MAX;
	if (!b->slots)
		b->slots = 1;
	b->tx = malloc(b->slots * b->slot);
	b->rx = malloc(b->slots * b->slot);
	if (!b->tx || !b->rx) {
		free(b->tx);
		free(b->rx);
		free(b);
		return -ENOMEM;
	}
	io->priv = b;
	return 0;
}

void pktio_batch_free(struct pktio *io)
{
	struct pktio_batch *b = io->priv;

	if (!b || io->ops != &pktio_batch_ops)
		return;
	/* plaintext went through both */
	crypto_wipe(b->tx, b->slots * b->slot);
	crypto_wipe(b->rx, b->slots * b->slot);
	free(b->tx);
	free(b->rx);
	crypto_wipe(b, sizeof(*b));
	free(b);
	io->priv = NULL;
}

bool pktio_batch_uses_many(const struct pktio *io, unsigned int which)
{
	const struct pktio_batch *b = io->priv;

	if (!b || io->ops != &pktio_batch_ops)
		return false;
	switch (which) {
	case PKTIO_MANY_TUN_RECV: return b->many.tun_recv;
	case PKTIO_MANY_TUN_SEND: return b->many.tun_send;
	case PKTIO_MANY_UDP_RECV: return b->many.udp_recv;
	case PKTIO_MANY_UDP_SEND: return b->many.udp_send;
	}
	return false;
}

/* One packet through the single call; length or -errno. */
static ssize_t pktio_batch_recv_one(struct pktio *io, struct pktio_batch *b,
				    enum pktio_dir d, struct pktio_msg *m)
{
	if (d == PKTIO_TUN) {
		io->stats.tun_reads++;
		return b->one->tun_read(io, m->data, m->len);
	}
	io->stats.udp_recvs++;
	return b->one->udp_recv(io, m->data, m->len, &m->ep);
}

/*
 * Fill msg[0, n) from the device or the socket: with one many call when
 * there is one, else single calls until none waits. The count (> 0), or
 * -EAGAIN, or the -errno of a first packet that failed.
 */
static int pktio_batch_recv(struct pktio *io, struct pktio_batch *b, enum pktio_dir d,
			    unsigned int n)
{
	int (**many)(struct pktio *, struct pktio_msg *, unsigned int) =
		d == PKTIO_TUN ? &b->many.tun_recv : &b->many.udp_recv;
	unsigned int got = 0;
	ssize_t r;
	int c;

	if (*many) {
		if (d == PKTIO_TUN)
			io->stats.tun_reads++;
		else
			io->stats.udp_recvs++;
		c = (*many)(io, b->msg, n);
		if (c > 0 && (unsigned int)c > n)
			c = -EIO;	/* more than asked: trust none of it */
		if (!pktio_batch_refused(c))
			return c ? c : -EAGAIN;
		*many = NULL;
	}
	/* bounded, so a flood of bad datagrams cannot hold the loop here */
	for (unsigned int tries = 0; got < n && tries < 2 * n; tries++) {
		r = pktio_batch_recv_one(io, b, d, &b->msg[got]);
		if (r == -EAGAIN || r == -EINTR)
			break;
		if (r == -EMSGSIZE || r == -EAFNOSUPPORT || r == -EBADMSG) {
			/* nothing a peer or the device should send */
			io->stats.drops[d == PKTIO_TUN ? PKTIO_DROP_DEVICE_IN : PKTIO_DROP_SOCKET_IN]++;
			continue;
		}
		if (r < 0) {
			if (got)
				break;
			return (int)r;
		}
		b->msg[got++].len = (size_t)r;
	}
	return got ? (int)got : -EAGAIN;
}

/* Send or write m[0, n): many calls while they take packets, single ones after. */
static void pktio_batch_send(struct pktio *io, struct pktio_batch *b, enum pktio_dir d,
			     struct pktio_msg *m, unsigned int n)
{
	int (**many)(struct pktio *, const struct pktio_msg *, unsigned int) =
		d == PKTIO_TUN ? &b->many.tun_send : &b->many.udp_send;
	unsigned int done = 0;
	ssize_t r;
	int c;

	while (done < n) {
		if (*many) {
			if (d == PKTIO_TUN)
				io->stats.tun_writes++;
			else
				io->stats.udp_sends++;
			c = (*many)(io, m + done, n - done);
			if (c > 0) {
				done += (unsigned int)c > n - done ? n - done : (unsigned int)c;
				continue;
			}
			if (c == -EINTR)
				continue;
			if (pktio_batch_refused(c)) {
				*many = NULL;
				continue;
			}
			/* this one cannot go (no room, an ICMP error pending...): drop it */
			io->stats.drops[d == PKTIO_TUN ? PKTIO_DROP_DEVICE_OUT : PKTIO_DROP_SEND]++;
			done++;
			continue;
		}
		if (d == PKTIO_TUN) {
			io->stats.tun_writes++;
			r = b->one->tun_write(io, m[done].data, m[done].len);
		} else {
			io->stats.udp_sends++;
			r = b->one->udp_send(io, &m[done].ep, m[done].data, m[done].len);
		}
		if (r < 0)
			io->stats.drops[d == PKTIO_TUN ? PKTIO_DROP_DEVICE_OUT : PKTIO_DROP_SEND]++;
		done++;
	}
}

static void pktio_batch_udp_flush(struct pktio *io)
{
	struct pktio_batch *b = io->priv;

	pktio_batch_send(io, b, PKTIO_UDP, b->sends, b->n_sends);
	b->n_sends = 0;
}

static void pktio_batch_tun_flush(struct pktio *io)
{
	struct pktio_batch *b = io->priv;

	pktio_batch_send(io, b, PKTIO_TUN, b->writes, b->n_writes);
	b->n_writes = 0;
}

/* Whether [p, p + len) lies inside one slot of arena. */
static bool pktio_batch_in_slot(const struct pktio_batch *b, const uint8_t *arena,
				const uint8_t *p, size_t len)
{
	size_t off;

	if (p < arena || p >= arena + b->slots * b->slot)
		return false;
	off = (size_t)(p - arena) % b->slot;
	return len <= b->slot - off;
}

static int pktio_batch_tun_read_batch(struct pktio *io, struct wg_packet **pkts)
{
	struct pktio_batch *b = io->priv;
	unsigned int k = 0;
	int n;

	/* the slots are about to be reused */
	if (b->n_sends)
		pktio_batch_udp_flush(io);
	/* one byte more than a packet may have: a longer one (the device's MTU
	 * raised behind our back) shows, cut short, as too long, not as a packet */
	for (unsigned int i = 0; i < b->slots; i++) {
		b->msg[i].data = b->tx + i * b->slot + WG_HEADROOM;
		b->msg[i].len = b->tx_room + 1;
	}
	n = pktio_batch_recv(io, b, PKTIO_TUN, b->slots);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!b->msg[i].len || b->msg[i].len > b->tx_room) {
			io->stats.drops[PKTIO_DROP_DEVICE_IN]++;
			continue;
		}
		b->pkts[k].data = b->msg[i].data;
		b->pkts[k++].len = b->msg[i].len;
	}
	io->stats.tun_packets_in += k;
	*pkts = b->pkts;
	return k ? (int)k : -EAGAIN;
}

static int pktio_batch_udp_recv_batch(struct pktio *io, struct wg_datagram **dgrams)
{
	struct pktio_batch *b = io->priv;
	unsigned int k = 0;
	int n;

	if (b->n_writes)
		pktio_batch_tun_flush(io);
	for (unsigned int i = 0; i < b->slots; i++) {
		b->msg[i].data = b->rx + i * b->slot;
		b->msg[i].len = b->rx_room;
	}
	n = pktio_batch_recv(io, b, PKTIO_UDP, b->slots);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!b->msg[i].len || b->msg[i].len > b->rx_room) {
			/* truncated, or from nowhere we can answer */
			io->stats.drops[PKTIO_DROP_SOCKET_IN]++;
			continue;
		}
		b->dgrams[k].data = b->msg[i].data;
		b->dgrams[k].len = b->msg[i].len;
		b->dgrams[k++].from = b->msg[i].ep;
	}
	io->stats.udp_datagrams_in += k;
	*dgrams = b->dgrams;
	return (int)k;
}

static int pktio_batch_udp_send(struct pktio *io, const struct wg_endpoint *to,
				const uint8_t *buf, size_t len)
{
	struct pktio_batch *b = io->priv;
	struct pktio_msg *m;
	int ret;

	if (!pktio_batch_in_slot(b, b->tx, buf, len)) {
		/* not from a batch: now, after what is held */
		if (b->n_sends)
			pktio_batch_udp_flush(io);
		io->stats.udp_sends++;
		ret = b->one->udp_send(io, to, buf, len);
		if (ret < 0)
			io->stats.drops[PKTIO_DROP_SEND]++;
		return ret;
	}
	if (b->n_sends == PKTIO_BATCH_MAX)
		pktio_batch_udp_flush(io);
	m = &b->sends[b->n_sends++];
	m->data = b->tx + (buf - b->tx);	/* ours, and writable */
	m->len = len;
	m->ep = *to;
	return 0;
}

static ssize_t pktio_batch_tun_write(struct pktio *io, const uint8_t *pkt, size_t len)
{
	struct pktio_batch *b = io->priv;
	struct pktio_msg *m;
	ssize_t ret;

	if (!pktio_batch_in_slot(b, b->rx, pkt, len)) {
		if (b->n_writes)
			pktio_batch_tun_flush(io);
		io->stats.tun_writes++;
		ret = b->one->tun_write(io, pkt, len);
		if (ret < 0)
			io->stats.drops[PKTIO_DROP_DEVICE_OUT]++;
		return ret;
	}
	if (b->n_writes == PKTIO_BATCH_MAX)
		pktio_batch_tun_flush(io);
	m = &b->writes[b->n_writes++];
	m->data = b->rx + (pkt - b->rx);
	m->len = len;
	return (ssize_t)len;
}

const struct pktio_ops pktio_batch_ops = {
	.name = "batch",
	.tun_write = pktio_batch_tun_write,
	.udp_send = pktio_batch_udp_send,
	.tun_read_batch = pktio_batch_tun_read_batch,
	.udp_recv_batch = pktio_batch_udp_recv_batch,
	.tun_flush = pktio_batch_tun_flush,
	.udp_flush = pktio_batch_udp_flush,
};
