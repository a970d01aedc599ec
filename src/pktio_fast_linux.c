/* pktio_fast_linux.c - fast packet I/O on Linux: TUN offloads, UDP GSO and GRO, batches */

/*
 * Theory of operation
 *
 * Device to socket. tun_read_batch reads the device until it has a batch
 * or nothing waits. Every packet, a 64 KiB TSO/USO superpacket or a plain
 * one, is cut by gso.c straight into the transmit arena: each segment in a
 * slot exactly as long as the datagram the engine will make of it (header,
 * padded packet, tag), slot after slot. The engine seals each in place and
 * hands the datagram to udp_send, which does not send: consecutive slots
 * of equal length for the same endpoint form a group (a shorter one may
 * end it), and udp_flush sends all groups with one sendmmsg, each group as
 * one UDP GSO send (a UDP_SEGMENT control message). A 64 KiB superpacket
 * thus costs one read, one copy, its seals, and a share of one sendmmsg.
 *
 * Socket to device. udp_recv_batch takes a batch of messages with one
 * recvmmsg; under UDP GRO one message holds many datagrams of one sender
 * (their size comes in a control message), cut apart here. The engine
 * decrypts each in place and delivers the inner packet to tun_write, which
 * hands it to gso.c's merger; tun_flush writes each merged superpacket with
 * one writev.
 *
 * Fallbacks. A feature is used only if the kernel accepted it when the
 * descriptors were opened (pktio_linux.c). Without GSO every datagram has its
 * own message in the sendmmsg; without GRO every message holds one
 * datagram; without virtio-net headers the device gets plain packets one
 * write each. A GSO send that fails with EIO (no checksum offload on the
 * way out) turns GSO off for good and goes again without it.
 *
 * Everything is allocated once, in pktio_fast_init(); the arenas are
 * reused batch after batch.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "crypto.h"
#include "gso.h"
#include "pktio.h"


#define PKTIO_TX_ARENA		(512 * 1024)
#define PKTIO_TX_FLUSH_AT	(128 * 1024)	/* send before reading more */
#define PKTIO_TX_PKTS		128		/* packets per tun_read_batch */
#define PKTIO_TX_GROUPS		256		/* messages per sendmmsg */
#define PKTIO_GSO_SEGS		64		/* the kernel's UDP_MAX_SEGMENTS */
#define PKTIO_GSO_BYTES		65000		/* below 64 KiB with IP and UDP headers */
#define PKTIO_READ_BUF		(GSO_HDR_LEN + 65535 + 64)
#define PKTIO_RX_ARENA		(8 * 65536)
#define PKTIO_RX_GRO_MSG	65536		/* a GRO message is at most 64 KiB */
#define PKTIO_RX_MSGS		64
#define PKTIO_RX_DGRAMS		1024
#define PKTIO_SEND_WAIT_MS	5		/* socket buffer full: wait this long, once */

_Static_assert(PKTIO_RX_ARENA / PKTIO_RX_GRO_MSG <= PKTIO_RX_MSGS, "rx messages");
_Static_assert(PKTIO_TX_ARENA > PKTIO_TX_FLUSH_AT + 2 * 65536, "tx arena");

/* Datagrams to one endpoint, back to back in the arena, all seg bytes but the last. */
struct pktio_group {
	struct wg_endpoint to;
	uint8_t *base;
	uint32_t len;
	uint16_t seg;
	uint16_t count;
	bool closed;		/* a shorter datagram ended it */
};

union pktio_scmsg {
	struct cmsghdr h;
	uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
};

union pktio_rcmsg {
	struct cmsghdr h;
	uint8_t buf[CMSG_SPACE(sizeof(int))];
};

struct pktio_fast {
	/* device -> engine */
	struct gso_split split;
	bool splitting;
	uint8_t *tx;
	size_t tx_used;
	struct wg_packet pkts[PKTIO_TX_PKTS];
	/* engine -> socket */
	size_t n_groups;
	struct pktio_group groups[PKTIO_TX_GROUPS];
	struct mmsghdr smsg[PKTIO_TX_GROUPS];
	struct iovec siov[PKTIO_TX_GROUPS];
	struct wg_endpoint sname[PKTIO_TX_GROUPS];
	union pktio_scmsg scmsg[PKTIO_TX_GROUPS];
	uint16_t smap[PKTIO_TX_GROUPS];	/* message -> group */
	/* socket -> engine */
	uint8_t *rx;
	size_t rx_msg_size;
	unsigned int rx_msgs;	/* 0: not laid out yet */
	struct mmsghdr rmsg[PKTIO_RX_MSGS];
	struct iovec riov[PKTIO_RX_MSGS];
	struct sockaddr_storage rname[PKTIO_RX_MSGS];
	union pktio_rcmsg rcmsg[PKTIO_RX_MSGS];
	struct wg_datagram dgrams[PKTIO_RX_DGRAMS];
	/* engine -> device */
	struct gso_merge merge;
	uint8_t rbuf[PKTIO_READ_BUF] __attribute__((aligned(64)));
};

static int pktio_tun_writev(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct pktio *io = ctx;
	ssize_t n;

	io->stats.tun_writes++;
	n = writev(io->tun_fd, iov, iovcnt);
	if (n < 0) {
		io->stats.drops[PKTIO_DROP_DEVICE_OUT]++;
		return -errno;
	}
	return 0;
}

int pktio_fast_init(struct pktio *io)
{
	struct pktio_fast *f;
	unsigned int offl = GSO_OFFLOAD_VALID;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->tx = malloc(PKTIO_TX_ARENA);
	f->rx = malloc(PKTIO_RX_ARENA);
	if (!f->tx || !f->rx) {
		free(f->tx);
		free(f->rx);
		free(f);
		return -ENOMEM;
	}
	if (io->features & PKTIO_F_TSO)
		offl |= GSO_OFFLOAD_TCP;
	if (io->features & PKTIO_F_USO)
		offl |= GSO_OFFLOAD_UDP;
	gso_merge_init(&f->merge, offl, pktio_tun_writev, io);
	io->priv = f;
	return 0;
}

void pktio_fast_free(struct pktio *io)
{
	struct pktio_fast *f = io->priv;

	if (!f || io->ops != &pktio_fast_ops)
		return;
	/* decrypted packets and sealed ones' plaintext went through these */
	crypto_wipe(f->tx, PKTIO_TX_ARENA);
	crypto_wipe(f->rx, PKTIO_RX_ARENA);
	free(f->tx);
	free(f->rx);
	crypto_wipe(f, sizeof(*f));
	free(f);
	io->priv = NULL;
}

/* ---- engine -> socket ------------------------------------------------------- */

/* Message i of the sendmmsg for group g, GSO or not. */
static int pktio_fill_msg(struct pktio *io, struct pktio_fast *f, size_t i,
			  const struct pktio_group *g, uint8_t *base, uint32_t len, bool gso)
{
	struct msghdr *mh = &f->smsg[i].msg_hdr;
	socklen_t salen;
	int ret;

	ret = pktio_ep_to_sockaddr(io, &g->to, &f->sname[i], &salen);
	if (ret)
		return ret;
	memset(mh, 0, sizeof(*mh));
	f->siov[i].iov_base = base;
	f->siov[i].iov_len = len;
	mh->msg_name = &f->sname[i];
	mh->msg_namelen = salen;
	mh->msg_iov = &f->siov[i];
	mh->msg_iovlen = 1;
	if (gso) {
		struct cmsghdr *c = &f->scmsg[i].h;
		uint16_t seg = g->seg;

		mh->msg_control = f->scmsg[i].buf;
		mh->msg_controllen = sizeof(f->scmsg[i].buf);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
	return 0;
}

/* Wait a little for room in the socket buffer; false if none came. */
static bool pktio_wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, PKTIO_SEND_WAIT_MS) == 1;
}

/*
 * A GSO message the kernel refused because its segments do not fit the
 * route's MTU (a path MTU below the tunnel's): send the segments one by
 * one, which the kernel fragments, rather than drop them all.
 */
static void pktio_send_split(struct pktio *io, const struct msghdr *gmh)
{
	const struct cmsghdr *c = (const struct cmsghdr *)gmh->msg_control;
	uint8_t *base = gmh->msg_iov[0].iov_base;
	size_t len = gmh->msg_iov[0].iov_len, off;
	struct iovec iov;
	struct msghdr mh = {
		.msg_name = gmh->msg_name,
		.msg_namelen = gmh->msg_namelen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	uint16_t seg;

	memcpy(&seg, CMSG_DATA(c), sizeof(seg));
	if (!seg)
		seg = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
	for (off = 0; off < len; off += seg) {
		iov.iov_base = base + off;
		iov.iov_len = len - off < seg ? len - off : seg;
		io->stats.udp_sends++;
		if (sendmsg(io->udp_fd, &mh, 0) < 0)
			io->stats.drops[PKTIO_DROP_SEND]++;
	}
}

/*
 * Send messages [0, n) built by pktio_send_groups(). Returns the index of
 * a message that failed with EIO under GSO, or n.
 */
static size_t pktio_sendmmsg(struct pktio *io, struct pktio_fast *f, size_t n)
{
	bool waited = false;
	size_t done = 0;
	int r;

	while (done < n) {
		io->stats.udp_sends++;
		r = sendmmsg(io->udp_fd, f->smsg + done, (unsigned int)(n - done), 0);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && !waited) {
			waited = true;
			if (pktio_wait_writable(io->udp_fd))
				continue;
		}
		if (r < 0 && errno == EIO && f->smsg[done].msg_hdr.msg_controllen)
			return done;
		if (r < 0 && (errno == EINVAL || errno == EMSGSIZE) &&
		    f->smsg[done].msg_hdr.msg_controllen) {
			pktio_send_split(io, &f->smsg[done].msg_hdr);
			done++;
			continue;
		}
		/* this one cannot go (socket full, an ICMP error pending...): drop it */
		io->stats.drops[PKTIO_DROP_SEND]++;
		done++;
	}
	return n;
}

/*
 * Send groups [from, to): one message per group under GSO, else one per
 * datagram, PKTIO_TX_GROUPS messages per sendmmsg. Returns to, or the group
 * whose GSO send failed with EIO (it and those after it are unsent).
 */
static size_t pktio_send_groups(struct pktio *io, struct pktio_fast *f, size_t from,
				size_t to)
{
	bool gso = io->features & PKTIO_F_UDP_GSO;
	size_t i = from, n, stop;
	uint32_t off = 0, len;
	uint8_t *base;

	while (i < to) {
		for (n = 0; i < to && n < PKTIO_TX_GROUPS;) {
			const struct pktio_group *g = &f->groups[i];

			f->smap[n] = (uint16_t)i;
			if (gso || g->count == 1) {
				base = g->base;
				len = g->len;
				i++;
			} else {
				base = g->base + off;
				len = g->len - off < g->seg ? g->len - off : g->seg;
				off += len;
				if (off >= g->len) {
					off = 0;
					i++;
				}
			}
			if (pktio_fill_msg(io, f, n, g, base, len, gso && g->count > 1) == 0)
				n++;
			else
				io->stats.drops[PKTIO_DROP_SEND]++;
		}
		stop = pktio_sendmmsg(io, f, n);
		if (stop < n)
			return f->smap[stop];
	}
	return to;
}

/* Send every group; the arena is left alone. */
static void pktio_send_all(struct pktio *io, struct pktio_fast *f)
{
	size_t i = 0;

	while (i < f->n_groups) {
		i = pktio_send_groups(io, f, i, f->n_groups);
		if (i < f->n_groups)
			/* EIO: the route's device cannot checksum for us; never again */
			io->features &= ~(unsigned int)PKTIO_F_UDP_GSO;
	}
	f->n_groups = 0;
}

static void pktio_fast_udp_flush(struct pktio *io)
{
	struct pktio_fast *f = io->priv;

	pktio_send_all(io, f);
	f->tx_used = 0;
}

static int pktio_fast_udp_send(struct pktio *io, const struct wg_endpoint *to,
			       const uint8_t *buf, size_t len)
{
	struct pktio_fast *f = io->priv;
	struct pktio_group *g;
	uint8_t *p;

	if (buf < f->tx || buf >= f->tx + PKTIO_TX_ARENA ||
	    len > PKTIO_TX_ARENA - (size_t)(buf - f->tx) || len > UINT16_MAX) {
		/* not from a batch (handshakes, keepalives, queued packets): now, in order */
		if (f->n_groups)
			pktio_send_all(io, f);
		io->stats.udp_sends++;
		return pktio_plain_ops.udp_send(io, to, buf, len);
	}
	p = f->tx + (buf - f->tx);	/* ours, and writable */
	g = f->n_groups ? &f->groups[f->n_groups - 1] : NULL;
	if (g && (io->features & PKTIO_F_UDP_GSO) && !g->closed &&
	    g->count < PKTIO_GSO_SEGS && p == g->base + g->len && len <= g->seg &&
	    g->len + len <= PKTIO_GSO_BYTES && wg_endpoint_equal(&g->to, to)) {
		g->len += (uint32_t)len;
		g->count++;
		g->closed = len < g->seg;
		return 0;
	}
	if (f->n_groups == PKTIO_TX_GROUPS)
		pktio_send_all(io, f);	/* the arena's later slots are still in use */
	g = &f->groups[f->n_groups++];
	g->to = *to;
	g->base = p;
	g->len = (uint32_t)len;
	g->seg = (uint16_t)len;
	g->count = 1;
	g->closed = false;
	return 0;
}

/* ---- device -> engine --------------------------------------------------------- */

static int pktio_fast_tun_read_batch(struct pktio *io, struct wg_packet **pkts)
{
	struct pktio_fast *f = io->priv;
	struct gso_hdr h;
	size_t n = 0, seglen, need, hl = io->features & PKTIO_F_VNET ? GSO_HDR_LEN : 0;
	uint8_t *data;
	ssize_t r;

	/* everything handed out before has been through the engine by now */
	if (f->tx_used >= PKTIO_TX_FLUSH_AT)
		pktio_fast_udp_flush(io);
	while (n < PKTIO_TX_PKTS) {
		if (!f->splitting) {
			io->stats.tun_reads++;
			r = read(io->tun_fd, f->rbuf, sizeof(f->rbuf));
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR || n)
					break;
				return -errno;
			}
			memset(&h, 0, sizeof(h));
			if ((size_t)r < hl + 1) {
				io->stats.drops[PKTIO_DROP_DEVICE_IN]++;
				continue;
			}
			if (hl)
				gso_hdr_read(&h, f->rbuf);
			if (gso_split_init(&f->split, &h, f->rbuf + hl, (size_t)r - hl) < 0) {
				io->stats.drops[PKTIO_DROP_DEVICE_IN]++;
				continue;
			}
			io->stats.tun_packets_in++;
			f->splitting = true;
		}
		seglen = gso_split_next_len(&f->split);
		if (!seglen) {
			f->splitting = false;
			continue;
		}
		need = wg_datagram_len(io->mtu, seglen);
		if (f->tx_used + need + WG_TAILROOM > PKTIO_TX_ARENA) {
			if (n)
				break;
			pktio_fast_udp_flush(io);
		}
		data = f->tx + f->tx_used + WG_HEADROOM;
		gso_split_next(&f->split, data);
		f->pkts[n].data = data;
		f->pkts[n++].len = seglen;
		f->tx_used += need;
	}
	*pkts = f->pkts;
	return n ? (int)n : -EAGAIN;
}

/* ---- socket -> engine --------------------------------------------------------- */

/* GRO messages need 64 KiB each; single datagrams only what the MTU allows. */
static void pktio_rx_layout(struct pktio *io, struct pktio_fast *f)
{
	size_t size = PKTIO_RX_GRO_MSG;

	if (!(io->features & PKTIO_F_UDP_GRO) && io->mtu) {
		size = (wg_datagram_len(io->mtu, io->mtu) + 64 + 63) & ~(size_t)63;
		if (size < 2048)
			size = 2048;
		if (size > PKTIO_RX_GRO_MSG)
			size = PKTIO_RX_GRO_MSG;
	}
	f->rx_msg_size = size;
	f->rx_msgs = (unsigned int)(PKTIO_RX_ARENA / size);
	if (f->rx_msgs > PKTIO_RX_MSGS)
		f->rx_msgs = PKTIO_RX_MSGS;
	for (unsigned int i = 0; i < f->rx_msgs; i++) {
		f->riov[i].iov_base = f->rx + i * size;
		f->riov[i].iov_len = size;
	}
}

static int pktio_fast_udp_recv_batch(struct pktio *io, struct wg_datagram **dgrams)
{
	struct pktio_fast *f = io->priv;
	struct wg_endpoint from;
	size_t n = 0, len, seg;
	struct cmsghdr *c;
	int r, gro;

	if (!f->rx_msgs)
		pktio_rx_layout(io, f);
	for (unsigned int i = 0; i < f->rx_msgs; i++) {
		struct msghdr *mh = &f->rmsg[i].msg_hdr;

		mh->msg_name = &f->rname[i];
		mh->msg_namelen = sizeof(f->rname[i]);
		mh->msg_iov = &f->riov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = f->rcmsg[i].buf;
		mh->msg_controllen = sizeof(f->rcmsg[i].buf);
		mh->msg_flags = 0;
	}
	io->stats.udp_recvs++;
	r = recvmmsg(io->udp_fd, f->rmsg, f->rx_msgs, MSG_DONTWAIT, NULL);
	if (r < 0)
		return -errno;
	for (int i = 0; i < r; i++) {
		struct msghdr *mh = &f->rmsg[i].msg_hdr;
		uint8_t *base = f->riov[i].iov_base;

		len = f->rmsg[i].msg_len;
		if ((mh->msg_flags & MSG_TRUNC) || pktio_ep_from_sockaddr(&from, &f->rname[i])) {
			io->stats.drops[PKTIO_DROP_SOCKET_IN]++;	/* nothing a peer could have sent */
			continue;
		}
		seg = len;
		for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(gro))) {
				memcpy(&gro, CMSG_DATA(c), sizeof(gro));
				if (gro > 0 && (size_t)gro < len)
					seg = (size_t)gro;
			}
		}
		for (size_t off = 0; off < len; off += seg) {
			struct wg_datagram *d;

			if (n == PKTIO_RX_DGRAMS) {
				io->stats.drops[PKTIO_DROP_OVERFLOW]++;
				continue;
			}
			d = &f->dgrams[n++];
			d->data = base + off;
			d->len = len - off < seg ? len - off : seg;
			d->from = from;
		}
	}
	io->stats.udp_datagrams_in += n;
	*dgrams = f->dgrams;
	return (int)n;
}

/* ---- engine -> device --------------------------------------------------------- */

static ssize_t pktio_fast_tun_write(struct pktio *io, const uint8_t *pkt, size_t len)
{
	struct pktio_fast *f = io->priv;
	uint8_t hdr[GSO_HDR_LEN] = { 0 };
	struct iovec iov[2];
	int ret;

	if (!(io->features & PKTIO_F_VNET)) {
		ssize_t n;

		io->stats.tun_writes++;
		n = write(io->tun_fd, pkt, len);
		return n < 0 ? -errno : n;
	}
	if (pkt >= f->rx && pkt < f->rx + PKTIO_RX_ARENA &&
	    len <= PKTIO_RX_ARENA - (size_t)(pkt - f->rx)) {
		ret = gso_merge_add(&f->merge, f->rx + (pkt - f->rx), len);
		return ret < 0 ? ret : (ssize_t)len;
	}
	/* not from a batch: after what is held, so nothing is reordered */
	gso_merge_flush(&f->merge);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)pkt;
	iov[1].iov_len = len;
	ret = pktio_tun_writev(io, iov, 2);
	return ret < 0 ? ret : (ssize_t)len;
}

static void pktio_fast_tun_flush(struct pktio *io)
{
	struct pktio_fast *f = io->priv;

	if (io->features & PKTIO_F_VNET)
		gso_merge_flush(&f->merge);
}

const struct pktio_ops pktio_fast_ops = {
	.name = "fast",
	.tun_write = pktio_fast_tun_write,
	.udp_send = pktio_fast_udp_send,
	.tun_read_batch = pktio_fast_tun_read_batch,
	.udp_recv_batch = pktio_fast_udp_recv_batch,
	.tun_flush = pktio_fast_tun_flush,
	.udp_flush = pktio_fast_udp_flush,
};
