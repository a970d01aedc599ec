/* pktio_linux.c - packet I/O on Linux: the opening of the TUN device and UDP
 * socket for every mode, the plain single calls (one read or write system
 * call per packet), and recvmmsg/sendmmsg for the batch mode
 * (pktio_batch.c); the fast mode is pktio_fast_linux.c */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "pktio.h"

/* Debian 12's headers predate UDP segmentation offload on TUN (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6	0x40
#endif

#define PKTIO_SOCKBUF	(8 << 20)

static const struct pktio_many pktio_mmsg;
/*
 * The device's queue towards us without segmentation offload, in packets.
 * A TUN device drops what arrives while its queue (txqueuelen, 500 by
 * default) is full, and a TCP sender is not held back by it: the skb is
 * orphaned when queued, so TCP's small-queue limit never applies and one
 * stream's window (up to tcp_wmem's 4 MiB) lands in the queue at once.
 * With TSO an entry is a superpacket of up to 64 KiB and 500 are plenty;
 * with one packet per entry 4096 hold a stream's window (5.8 MB at 1420,
 * less than 500 superpackets may), or the stream loses packets and
 * retransmits them all the time.
 */
#define PKTIO_TXQLEN_NO_TSO	4096

/* What a mode asks for; -1 for an unknown mode. */
static int pktio_mode_features(const char *mode)
{
	if (!mode || !*mode || !strcmp(mode, "fast"))
		return PKTIO_F_ALL;
	if (!strcmp(mode, "batch"))
		return PKTIO_F_MMSG;
	if (!strcmp(mode, "plain"))
		return 0;
	return -1;
}

/*
 * Ask for the offloads, the most first: TSO with USO (Linux >= 6.2, USO4
 * and USO6 only together), TSO alone, then none (the virtio-net header
 * stays, checksums come complete). The kernel refuses what it lacks with
 * EINVAL.
 */
static unsigned int pktio_tun_offloads(int fd, unsigned int want)
{
	const unsigned long tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	if ((want & PKTIO_F_USO) &&
	    ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0)
		return PKTIO_F_TSO | PKTIO_F_USO;
	if ((want & PKTIO_F_TSO) && ioctl(fd, TUNSETOFFLOAD, tso) == 0)
		return PKTIO_F_TSO;
	ioctl(fd, TUNSETOFFLOAD, 0UL);
	return 0;
}

/* A longer device queue (SIOCSIFTXQLEN, on any socket); failure only costs drops. */
static void pktio_tun_txqlen(const char *name, int qlen)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFTXQLEN, &ifr) == 0 && ifr.ifr_qlen < qlen) {
		ifr.ifr_qlen = qlen;
		ioctl(s, SIOCSIFTXQLEN, &ifr);
	}
	close(s);
}

static void pktio_describe(struct pktio *io)
{
	unsigned int f = io->features;

	if (io->ops == &pktio_batch_ops) {
		/* "plain" when every packet has its own system call */
		snprintf(io->desc, sizeof(io->desc), "%s",
			 f & PKTIO_F_MMSG ? "batch (TUN, UDP mmsg)" : "plain");
		return;
	}
	if (io->ops != &pktio_fast_ops) {
		snprintf(io->desc, sizeof(io->desc), "%s", io->ops->name);
		return;
	}
	snprintf(io->desc, sizeof(io->desc), "%s (TUN%s%s%s, UDP%s%s%s)",
		 f & PKTIO_F_VNET ? "fast" : "batch",
		 f & PKTIO_F_VNET ? " vnet" : "", f & PKTIO_F_TSO ? " TSO" : "",
		 f & PKTIO_F_USO ? " USO" : "", f & PKTIO_F_MMSG ? " mmsg" : "",
		 f & PKTIO_F_UDP_GSO ? " GSO" : "", f & PKTIO_F_UDP_GRO ? " GRO" : "");
}

int pktio_tun_open(struct pktio *io, char *name, size_t namelen)
{
	struct ifreq ifr = { 0 };
	int fd, ret, want = pktio_mode_features(io->mode);

	if (want < 0)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (want & PKTIO_F_VNET)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (!(want & PKTIO_F_VNET))
			goto fail;
		/* no virtio-net headers on this TUN: batches without offloads */
		want &= ~(PKTIO_F_VNET | PKTIO_F_TSO | PKTIO_F_USO);
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0)
			goto fail;
	}
	snprintf(name, namelen, "%s", ifr.ifr_name);
	io->tun_fd = fd;
	io->features = (unsigned int)want & (PKTIO_F_MMSG | PKTIO_F_VNET);
	if (want & PKTIO_F_VNET)
		io->features |= pktio_tun_offloads(fd, (unsigned int)want);
	if (!(io->features & PKTIO_F_TSO))
		pktio_tun_txqlen(ifr.ifr_name, PKTIO_TXQLEN_NO_TSO);
	if (want & PKTIO_F_VNET) {
		ret = pktio_fast_init(io);
		if (ret)
			goto fail_ret;
		io->ops = &pktio_fast_ops;
	} else if ((want & ~PKTIO_F_MMSG) == 0) {
		/* batch and plain: the shared batches, mmsg on the socket for batch */
		ret = pktio_batch_init(io, &pktio_plain_ops, want ? &pktio_mmsg : NULL);
		if (ret)
			goto fail_ret;
		io->ops = &pktio_batch_ops;
	} else {
		/* the fast mode on a TUN without virtio-net headers: its batches, no offloads */
		ret = pktio_fast_init(io);
		if (ret)
			goto fail_ret;
		io->ops = &pktio_fast_ops;
	}
	pktio_describe(io);
	return 0;
fail_ret:
	close(fd);
	io->tun_fd = -1;
	return ret;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int pktio_udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int bufsz = PKTIO_SOCKBUF;

	if (fd < 0)
		return -errno;
	/*
	 * Bursts from a fast sender must not overflow the default buffers;
	 * the FORCE variants (CAP_NET_ADMIN, which we have) pass rmem_max.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	return fd;
}

/* UDP GRO on sockets had fixes up to 5.12 (frag lists, forwarding): not before. */
static bool pktio_kernel_has_good_gro(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 12);
}

/* Segmentation on send and coalescing on receive, each where the kernel has it. */
static void pktio_udp_offloads(struct pktio *io, unsigned int want)
{
	int one = 1, zero = 0;

	if ((want & PKTIO_F_UDP_GSO) &&
	    setsockopt(io->udp_fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0)
		io->features |= PKTIO_F_UDP_GSO;
	if ((want & PKTIO_F_UDP_GRO) && pktio_kernel_has_good_gro() &&
	    setsockopt(io->udp_fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0)
		io->features |= PKTIO_F_UDP_GRO;
}

void pktio_udp_bound(struct pktio *io)
{
	int want = pktio_mode_features(io->mode);

	if (io->ops == &pktio_fast_ops && want > 0) {
		pktio_udp_offloads(io, (unsigned int)want);
		pktio_describe(io);
	}
}

void pktio_close(struct pktio *io)
{
	if (io->tun_fd >= 0)
		close(io->tun_fd);
	if (io->udp_fd >= 0)
		close(io->udp_fd);
	io->tun_fd = io->udp_fd = -1;
	pktio_fast_free(io);
	pktio_batch_free(io);
}

/*
 * recvmmsg and sendmmsg for the batch mode, over the arrays pktio_batch.c
 * hands them (a TUN descriptor is no socket: it keeps one read and one
 * write per packet). A truncated datagram or an unusable source comes
 * back with len 0, dropped by the caller.
 */
static int pktio_mmsg_udp_recv(struct pktio *io, struct pktio_msg *m, unsigned int n)
{
	struct mmsghdr mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX];
	struct sockaddr_storage ss[PKTIO_BATCH_MAX];
	int r;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_base = m[i].data;
		iov[i].iov_len = m[i].len;
		mh[i].msg_hdr.msg_name = &ss[i];
		mh[i].msg_hdr.msg_namelen = sizeof(ss[i]);
		mh[i].msg_hdr.msg_iov = &iov[i];
		mh[i].msg_hdr.msg_iovlen = 1;
	}
	r = recvmmsg(io->udp_fd, mh, n, MSG_DONTWAIT, NULL);
	if (r < 0)
		return -errno;
	for (int i = 0; i < r; i++) {
		m[i].len = mh[i].msg_len;
		if ((mh[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    pktio_ep_from_sockaddr(&m[i].ep, &ss[i]))
			m[i].len = 0;
	}
	return r;
}

static int pktio_mmsg_udp_send(struct pktio *io, const struct pktio_msg *m, unsigned int n)
{
	struct mmsghdr mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX];
	struct wg_endpoint sa[PKTIO_BATCH_MAX];
	socklen_t salen;
	unsigned int i;
	int r = 0;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (i = 0; i < n; i++) {
		r = pktio_ep_to_sockaddr(io, &m[i].ep, &sa[i], &salen);
		if (r)
			break;		/* send those before it; it fails alone next */
		iov[i].iov_base = m[i].data;
		iov[i].iov_len = m[i].len;
		mh[i].msg_hdr.msg_name = &sa[i];
		mh[i].msg_hdr.msg_namelen = salen;
		mh[i].msg_hdr.msg_iov = &iov[i];
		mh[i].msg_hdr.msg_iovlen = 1;
	}
	if (!i)
		return r == -EINVAL ? -EAFNOSUPPORT : r;	/* this message, not the call */
	r = sendmmsg(io->udp_fd, mh, i, 0);
	return r < 0 ? -errno : r;
}

static const struct pktio_many pktio_mmsg = {
	.udp_recv = pktio_mmsg_udp_recv,
	.udp_send = pktio_mmsg_udp_send,
};

static ssize_t pktio_plain_tun_read(struct pktio *io, uint8_t *buf, size_t size)
{
	ssize_t n = read(io->tun_fd, buf, size);

	return n < 0 ? -errno : n;
}

static ssize_t pktio_plain_tun_write(struct pktio *io, const uint8_t *pkt, size_t len)
{
	ssize_t n = write(io->tun_fd, pkt, len);

	return n < 0 ? -errno : n;
}

const struct pktio_ops pktio_plain_ops = {
	.name = "plain",
	.tun_read = pktio_plain_tun_read,
	.tun_write = pktio_plain_tun_write,
	.udp_recv = pktio_udp_recv,
	.udp_send = pktio_udp_send,
};
