/* pktio_udp.c - the tunnel's UDP socket, the same on every system
 *
 * One socket serves both families where the system allows it: bound to the
 * IPv6 wildcard with IPV6_V6ONLY off, IPv4 peers appear v4-mapped. A VM
 * booted with IPv6 disabled gets an IPv4 socket instead; the engine sees
 * IPv4 peers as IPv4 either way (pktio_ep_from/to_sockaddr). What differs by
 * system comes from two hooks of each implementation: pktio_udp_socket()
 * (socket flags, buffer sizes) and pktio_udp_bound() (offloads).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "pktio.h"

static const uint8_t pktio_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int pktio_ep_from_sockaddr(struct wg_endpoint *ep, const struct sockaddr_storage *ss)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		/* The engine sees IPv4 peers as IPv4, whatever the socket. */
		if (!memcmp(s6->sin6_addr.s6_addr, pktio_v4mapped, 12)) {
#ifdef __APPLE__
			ep->in.sin_len = sizeof(ep->in);
#endif
			ep->in.sin_family = AF_INET;
			ep->in.sin_port = s6->sin6_port;
			memcpy(&ep->in.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->in6 = *s6;
		}
	} else if (ss->ss_family == AF_INET) {
		ep->in = *(const struct sockaddr_in *)ss;
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int pktio_ep_to_sockaddr(const struct pktio *io, const struct wg_endpoint *to,
			 struct wg_endpoint *sa, socklen_t *salen)
{
	if (to->sa.sa_family == AF_INET && io->udp_family == AF_INET6) {
		memset(sa, 0, sizeof(*sa));
#ifdef __APPLE__
		sa->in6.sin6_len = sizeof(sa->in6);
#endif
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_port = to->in.sin_port;
		memcpy(sa->in6.sin6_addr.s6_addr, pktio_v4mapped, 12);
		memcpy(sa->in6.sin6_addr.s6_addr + 12, &to->in.sin_addr, 4);
		*salen = sizeof(sa->in6);
	} else if (to->sa.sa_family == AF_INET) {
		sa->in = to->in;
#ifdef __APPLE__
		sa->in.sin_len = sizeof(sa->in);	/* configured endpoints may lack it */
#endif
		*salen = sizeof(sa->in);
	} else if (to->sa.sa_family == AF_INET6 && io->udp_family == AF_INET6) {
		sa->in6 = to->in6;
#ifdef __APPLE__
		sa->in6.sin6_len = sizeof(sa->in6);
#endif
		*salen = sizeof(sa->in6);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/*
 * One datagram each way, for the plain implementations (the fast one
 * batches): a truncated datagram is refused, not a peer's.
 */
ssize_t pktio_udp_recv(struct pktio *io, uint8_t *buf, size_t size,
		       struct wg_endpoint *from)
{
	struct sockaddr_storage ss;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = {
		.msg_name = &ss,
		.msg_namelen = sizeof(ss),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;
	int ret;

	n = recvmsg(io->udp_fd, &mh, 0);
	if (n < 0)
		return -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;	/* truncated: not a datagram we could send */
	ret = pktio_ep_from_sockaddr(from, &ss);
	return ret ? ret : n;
}

int pktio_udp_send(struct pktio *io, const struct wg_endpoint *to,
		   const uint8_t *buf, size_t len)
{
	struct wg_endpoint sa;
	socklen_t salen;
	int ret = pktio_ep_to_sockaddr(io, to, &sa, &salen);

	if (ret)
		return ret;
	if (sendto(io->udp_fd, buf, len, 0, &sa.sa, salen) < 0)
		return -errno;
	return 0;
}

const char *pktio_drop_name(enum pktio_drop d)
{
	static const char *const names[PKTIO_DROP_MAX] = {
		[PKTIO_DROP_DEVICE_IN] = "device-malformed",
		[PKTIO_DROP_SOCKET_IN] = "datagram-malformed",
		[PKTIO_DROP_SEND] = "send-failed",
		[PKTIO_DROP_DEVICE_OUT] = "device-write-failed",
		[PKTIO_DROP_OVERFLOW] = "batch-overflow",
	};

	return (unsigned int)d < PKTIO_DROP_MAX ? names[d] : "unknown";
}

static int pktio_udp_bind(struct pktio *io, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, ret;

	fd = pktio_udp_socket(family);
	if (fd < 0)
		return fd;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
			goto fail;
#ifdef __APPLE__
		s6->sin6_len = sizeof(*s6);
#endif
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

#ifdef __APPLE__
		s4->sin_len = sizeof(*s4);
#endif
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	}
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

	if (ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL || ret == -EPROTONOSUPPORT)
		ret = pktio_udp_bind(io, AF_INET, port);
	if (ret)
		return ret;
	pktio_udp_bound(io);
	return 0;
}
