/* pktio.c - plain packet I/O: one read or write system call per packet */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "pktio.h"

int pktio_tun_open(struct pktio *io, char *name, size_t namelen)
{
	struct ifreq ifr = { 0 };
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	snprintf(name, namelen, "%s", ifr.ifr_name);
	io->tun_fd = fd;
	return 0;
}

static int pktio_udp_bind(struct pktio *io, int family, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, off = 0, ret, bufsz = 4 << 20;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		/* One socket for both families: IPv4 peers appear v4-mapped. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
			goto fail;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	}
	/* Bursts from a fast sender must not overflow the default buffers. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto fail;
	io->udp_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	io->udp_fd = fd;
	io->udp_family = family;
	return 0;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int pktio_udp_open(struct pktio *io, uint16_t port)
{
	int ret = pktio_udp_bind(io, AF_INET6, port);

	/* A VM booted with IPv6 disabled still gets an IPv4 socket. */
	if (ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL)
		ret = pktio_udp_bind(io, AF_INET, port);
	return ret;
}

void pktio_close(struct pktio *io)
{
	if (io->tun_fd >= 0)
		close(io->tun_fd);
	if (io->udp_fd >= 0)
		close(io->udp_fd);
	io->tun_fd = io->udp_fd = -1;
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

static const uint8_t pktio_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static ssize_t pktio_plain_udp_recv(struct pktio *io, uint8_t *buf, size_t size,
				    struct wg_endpoint *from)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	ssize_t n;

	n = recvfrom(io->udp_fd, buf, size, MSG_TRUNC, (struct sockaddr *)&ss, &len);
	if (n < 0)
		return -errno;
	if ((size_t)n > size)
		return -EMSGSIZE;	/* truncated: not a datagram we could send */
	memset(from, 0, sizeof(*from));
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		/* The engine sees IPv4 peers as IPv4, whatever the socket. */
		if (!memcmp(s6->sin6_addr.s6_addr, pktio_v4mapped, 12)) {
			from->in.sin_family = AF_INET;
			from->in.sin_port = s6->sin6_port;
			memcpy(&from->in.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			from->in6 = *s6;
		}
	} else if (ss.ss_family == AF_INET) {
		from->in = *(const struct sockaddr_in *)&ss;
	} else {
		return -EAFNOSUPPORT;
	}
	return n;
}

static int pktio_plain_udp_send(struct pktio *io, const struct wg_endpoint *to,
				const uint8_t *buf, size_t len)
{
	struct sockaddr_in6 mapped;
	const struct sockaddr *sa = &to->sa;
	socklen_t salen;

	if (to->sa.sa_family == AF_INET && io->udp_family == AF_INET6) {
		memset(&mapped, 0, sizeof(mapped));
		mapped.sin6_family = AF_INET6;
		mapped.sin6_port = to->in.sin_port;
		memcpy(mapped.sin6_addr.s6_addr, pktio_v4mapped, 12);
		memcpy(mapped.sin6_addr.s6_addr + 12, &to->in.sin_addr, 4);
		sa = (const struct sockaddr *)&mapped;
		salen = sizeof(mapped);
	} else if (to->sa.sa_family == AF_INET) {
		salen = sizeof(to->in);
	} else if (to->sa.sa_family == AF_INET6 && io->udp_family == AF_INET6) {
		salen = sizeof(to->in6);
	} else {
		return -EAFNOSUPPORT;
	}
	if (sendto(io->udp_fd, buf, len, 0, sa, salen) < 0)
		return -errno;
	return 0;
}

const struct pktio_ops pktio_plain_ops = {
	.name = "plain",
	.tun_read = pktio_plain_tun_read,
	.tun_write = pktio_plain_tun_write,
	.udp_recv = pktio_plain_udp_recv,
	.udp_send = pktio_plain_udp_send,
};
