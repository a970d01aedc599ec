/* pktio_macos.c - packet I/O on macOS: a utun device and a UDP socket
 *
 * The macOS side of pktio.h (pktio_linux.c is Linux's). A utun device is a
 * kernel control socket: connecting a PF_SYSTEM socket to utun's control
 * creates the interface, closing it destroys the interface with its
 * addresses and routes. Each packet read or written carries a 4-byte
 * header first, the address family in network byte order; readv/writev
 * keep the caller's buffer as plain IP packets, so the engine and its
 * headroom never see the header.
 *
 * Batches (pktio_batch.c): recvmsg_x and sendmsg_x move up to a batch of
 * packets per system call on the utun socket and on the UDP socket, with
 * the same 4-byte header as one iovec of each message. Where the kernel
 * refuses them, pktio_batch.c goes on with one readv/writev/recvmsg/sendto
 * per packet (the single calls below), as does PacketIO = plain.
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
/* struct msghdr_x as xnu bsd/sys/socket_private.h lays it out (LP64). */
_Static_assert(sizeof(struct compat_msghdr_x) == 56 &&
	       offsetof(struct compat_msghdr_x, msg_iov) == 16 &&
	       offsetof(struct compat_msghdr_x, msg_iovlen) == 24 &&
	       offsetof(struct compat_msghdr_x, msg_control) == 32 &&
	       offsetof(struct compat_msghdr_x, msg_flags) == 44 &&
	       offsetof(struct compat_msghdr_x, msg_datalen) == 48, "msghdr_x");

#define PKTIO_UTUN_HDR	4

static const struct pktio_many pktio_x;

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
	ret = pktio_batch_init(io, &pktio_plain_ops,
			       io->mode && !strcmp(io->mode, "plain") ? NULL : &pktio_x);
	if (ret) {
		close(fd);
		return ret;
	}
	snprintf(name, namelen, "%s", ifname);
	io->tun_fd = fd;
	io->ops = &pktio_batch_ops;
	snprintf(io->desc, sizeof(io->desc), "%s",
		 io->mode && !strcmp(io->mode, "plain") ? "utun plain" :
		 "utun batch (recvmsg_x, sendmsg_x)");
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
	pktio_batch_free(io);
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

/* ---- many packets per system call: recvmsg_x, sendmsg_x ----------------------- */

/* The family header utun wants before a packet the engine delivered. */
static uint32_t pktio_utun_af(const uint8_t *pkt, size_t len)
{
	return htonl(len && (pkt[0] >> 4) == 6 ? AF_INET6 : AF_INET);
}

static int pktio_x_tun_recv(struct pktio *io, struct pktio_msg *m, unsigned int n)
{
	struct compat_msghdr_x mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX][2];
	uint32_t af[PKTIO_BATCH_MAX];
	ssize_t r;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (unsigned int i = 0; i < n; i++) {
		iov[i][0] = (struct iovec){ .iov_base = &af[i], .iov_len = sizeof(af[i]) };
		iov[i][1] = (struct iovec){ .iov_base = m[i].data, .iov_len = m[i].len };
		mh[i].msg_iov = iov[i];
		mh[i].msg_iovlen = 2;
	}
	r = recvmsg_x(io->tun_fd, mh, n, MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	for (ssize_t i = 0; i < r; i++) {
		size_t got = mh[i].msg_datalen;

		m[i].len = got <= PKTIO_UTUN_HDR || (mh[i].msg_flags & MSG_TRUNC) ?
			   0 : got - PKTIO_UTUN_HDR;
	}
	return (int)r;
}

static int pktio_x_tun_send(struct pktio *io, const struct pktio_msg *m, unsigned int n)
{
	struct compat_msghdr_x mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX][2];
	uint32_t af[PKTIO_BATCH_MAX];
	ssize_t r;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (unsigned int i = 0; i < n; i++) {
		af[i] = pktio_utun_af(m[i].data, m[i].len);
		iov[i][0] = (struct iovec){ .iov_base = &af[i], .iov_len = sizeof(af[i]) };
		iov[i][1] = (struct iovec){ .iov_base = m[i].data, .iov_len = m[i].len };
		mh[i].msg_iov = iov[i];
		mh[i].msg_iovlen = 2;
	}
	r = sendmsg_x(io->tun_fd, mh, n, MSG_DONTWAIT);
	return r < 0 ? -errno : (int)r;
}

static int pktio_x_udp_recv(struct pktio *io, struct pktio_msg *m, unsigned int n)
{
	struct compat_msghdr_x mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX];
	struct sockaddr_storage ss[PKTIO_BATCH_MAX];
	ssize_t r;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (unsigned int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = m[i].data, .iov_len = m[i].len };
		mh[i].msg_name = &ss[i];
		mh[i].msg_namelen = sizeof(ss[i]);
		mh[i].msg_iov = &iov[i];
		mh[i].msg_iovlen = 1;
	}
	r = recvmsg_x(io->udp_fd, mh, n, MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	for (ssize_t i = 0; i < r; i++) {
		m[i].len = mh[i].msg_datalen;
		if ((mh[i].msg_flags & MSG_TRUNC) || pktio_ep_from_sockaddr(&m[i].ep, &ss[i]))
			m[i].len = 0;	/* nothing a peer could have sent */
	}
	return (int)r;
}

static int pktio_x_udp_send(struct pktio *io, const struct pktio_msg *m, unsigned int n)
{
	struct compat_msghdr_x mh[PKTIO_BATCH_MAX];
	struct iovec iov[PKTIO_BATCH_MAX];
	struct wg_endpoint sa[PKTIO_BATCH_MAX];
	socklen_t salen;
	unsigned int i;
	ssize_t r;
	int ret = 0;

	if (n > PKTIO_BATCH_MAX)
		n = PKTIO_BATCH_MAX;
	memset(mh, 0, n * sizeof(mh[0]));
	for (i = 0; i < n; i++) {
		ret = pktio_ep_to_sockaddr(io, &m[i].ep, &sa[i], &salen);
		if (ret)
			break;		/* send those before it; it fails alone next */
		iov[i] = (struct iovec){ .iov_base = m[i].data, .iov_len = m[i].len };
		mh[i].msg_name = &sa[i];
		mh[i].msg_namelen = salen;
		mh[i].msg_iov = &iov[i];
		mh[i].msg_iovlen = 1;
	}
	if (!i)
		return ret == -EINVAL ? -EAFNOSUPPORT : ret;	/* this message, not the call */
	r = sendmsg_x(io->udp_fd, mh, i, MSG_DONTWAIT);
	return r < 0 ? -errno : (int)r;
}

static const struct pktio_many pktio_x = {
	.tun_recv = pktio_x_tun_recv,
	.tun_send = pktio_x_tun_send,
	.udp_recv = pktio_x_udp_recv,
	.udp_send = pktio_x_udp_send,
};
