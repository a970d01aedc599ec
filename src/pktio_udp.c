/* pktio_udp.c - the tunnel's UDP socket, the same on every system
 *
 * One socket serves both families where the system allows it: bound to the
 * IPv6 wildcard with IPV6_V6ONLY off, IPv4 peers appear v4-mapped. A VM
 * booted with IPv6 disabled gets an IPv4 socket instead. What differs by
 * system comes from two hooks of each implementation: pktio_udp_socket()
 * (socket flags, buffer sizes) and pktio_udp_bound() (offloads).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "pktio.h"

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
