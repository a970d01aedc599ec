/* pktio_macos.c - packet I/O on macOS: a utun device and a UDP socket
 *
 * The macOS side of pktio.h (pktio_linux.c is Linux's). A utun device is a
 * kernel control socket: connecting a PF_SYSTEM socket to utun's control
 * creates the interface, closing it destroys the interface with its
 * addresses and routes. Each packet read or written carries a 4-byte
 * header first, the address family in network byte order; readv/writev
 * keep the caller's buffer as plain IP packets, so the engine and its
 * headroom never see the header. One system call per packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "compat_macos.h"
#include "pktio.h"

/* The utun control's layouts, from xnu bsd/sys/kern_control.h. */
_Static_assert(sizeof(struct ctl_info) == 100 && offsetof(struct ctl_info, ctl_name) == 4 &&
	       CTLIOCGINFO == 0xc0644e03, "ctl_info");
_Static_assert(sizeof(struct sockaddr_ctl) == 32 && offsetof(struct sockaddr_ctl, sc_id) == 4 &&
	       offsetof(struct sockaddr_ctl, sc_unit) == 8, "sockaddr_ctl");

#define PKTIO_UTUN_HDR	4

/* Non-blocking and closed on exec: macOS's socket() takes no such flags. */
static int pktio_fd_setup(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/*
 * Create a utun device. macOS names them itself ("utunN"): a name of that
 * form asks for that unit, any other name for the next free one; name
 * receives the interface's real name. io->ops becomes utun's.
 */
int pktio_tun_open(struct pktio *io, char *name, size_t namelen)
{
	struct ctl_info info;
	struct sockaddr_ctl sc;
	char ifname[IFNAMSIZ] = "";
	socklen_t len = sizeof(ifname);
	unsigned int unit = 0;
	char tail;
	int fd, ret;

	if (sscanf(name, "utun%u%c", &unit, &tail) == 1 && unit < 0xffff)
		unit++;		/* sc_unit counts from 1; 0 picks a free one */
	else
		unit = 0;
	fd = socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	snprintf(info.ctl_name, sizeof(info.ctl_name), "%s", UTUN_CONTROL_NAME);
	if (ioctl(fd, CTLIOCGINFO, &info) < 0)
		goto fail;
	memset(&sc, 0, sizeof(sc));
	sc.sc_len = sizeof(sc);
	sc.sc_family = AF_SYSTEM;
	sc.ss_sysaddr = AF_SYS_CONTROL;
	sc.sc_id = info.ctl_id;
	sc.sc_unit = unit;
	if (connect(fd, (struct sockaddr *)&sc, sizeof(sc)) < 0)
		goto fail;
	if (getsockopt(fd, SYSPROTO_CONTROL, UTUN_OPT_IFNAME, ifname, &len) < 0)
		goto fail;
	ifname[sizeof(ifname) - 1] = '\0';
	ret = pktio_fd_setup(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	snprintf(name, namelen, "%s", ifname);
	io->tun_fd = fd;
	io->ops = &pktio_plain_ops;	/* the one implementation here */
	return 0;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int pktio_udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0), ret, bufsz = 4 << 20;

	if (fd < 0)
		return -errno;
	ret = pktio_fd_setup(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	/* Bursts from a fast sender must not overflow the default buffers. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	return fd;
}

/* No offloads on utun: nothing to add once bound. */
void pktio_udp_bound(struct pktio *io)
{
	(void)io;
}

void pktio_close(struct pktio *io)
{
	if (io->tun_fd >= 0)
		close(io->tun_fd);
	if (io->udp_fd >= 0)
		close(io->udp_fd);
	io->tun_fd = io->udp_fd = -1;
}

static ssize_t pktio_utun_read(struct pktio *io, uint8_t *buf, size_t size)
{
	uint32_t af;
	struct iovec iov[2] = {
		{ .iov_base = &af, .iov_len = sizeof(af) },
		{ .iov_base = buf, .iov_len = size },
	};
	ssize_t n = readv(io->tun_fd, iov, 2);

	if (n < 0)
		return -errno;
	if (n < PKTIO_UTUN_HDR)
		return -EBADMSG;	/* utun never sends less than its header */
	return n - PKTIO_UTUN_HDR;
}

static ssize_t pktio_utun_write(struct pktio *io, const uint8_t *pkt, size_t len)
{
	uint32_t af;
	struct iovec iov[2];
	ssize_t n;

	if (!len)
		return -EINVAL;
	/* The engine delivers only checked IPv4 and IPv6 packets. */
	af = htonl((pkt[0] >> 4) == 6 ? AF_INET6 : AF_INET);
	iov[0] = (struct iovec){ .iov_base = &af, .iov_len = sizeof(af) };
	iov[1] = (struct iovec){ .iov_base = (void *)pkt, .iov_len = len };
	n = writev(io->tun_fd, iov, 2);
	if (n < 0)
		return -errno;
	return n < PKTIO_UTUN_HDR ? 0 : n - PKTIO_UTUN_HDR;
}

/* macOS's plain ops: the same contract as Linux's, utun's framing inside. */
const struct pktio_ops pktio_plain_ops = {
	.name = "utun",
	.tun_read = pktio_utun_read,
	.tun_write = pktio_utun_write,
	.udp_recv = pktio_udp_recv,
	.udp_send = pktio_udp_send,
};
