/* pktio_linux.c - plain packet I/O on Linux (one read or write system call per
 * packet), and the opening of the TUN device and UDP socket for both it and
 * the fast implementation (pktio_fast_linux.c) */
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
/*
 * The device's queue towards us without segmentation offload, in packets.
 * A TUN device drops what arrives while its queue (txqueuelen, 500 by
 * default) is full, and a TCP sender is not held back by it: the skb is
 * orphaned when queued, so TCP's small-queue limit never applies and one
 * stream's window (up to tcp_wmem's 4 MiB) lands in the queue at once.
 * With TSO an entry is a superpacket of up to 64 KiB and 500 are plenty;
 * one packet per entry needs 4096 for about as many bytes (5.8 MB at
 * 1420), or the stream loses packets and retransmits them all the time.
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
	if (want) {
		ret = pktio_fast_init(io);
		if (ret)
			return ret;
		io->ops = &pktio_fast_ops;
	} else {
		io->ops = &pktio_plain_ops;
	}
	pktio_describe(io);
	return 0;
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
}

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
