/* platform_macos.c - the tunnel's device and routes on macOS: utun, ioctls, PF_ROUTE
 *
 * Theory of operation: the device is a utun (pktio_macos.c creates it). A
 * utun is point-to-point, so an address gets no subnet route of its own:
 * like ifconfig's "inet A/N A alias" followed by "route add -net", each
 * address is set with its own address as the far end and its subnet is
 * routed through the device explicitly. Routes are messages on a PF_ROUTE
 * socket (rtmsg.c builds and parses them): an RTM_ADD or RTM_DELETE
 * carrying the destination, its netmask and, as gateway, the device's
 * link-level address, which makes it an interface route ("route add
 * -interface utunN"). write() returns the kernel's answer; nothing waits
 * for an echo. The table is read with the NET_RT_DUMP sysctl, a stream of
 * rt_msghdr each followed by its sockaddrs, every one padded to 4 bytes,
 * and local addresses with getifaddrs(). A second routing socket, read by
 * nobody but the change watch, tells the host agent when any of it changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sysctl.h>

#include "compat_macos.h"
#include "platform.h"
#include "rtmsg.h"


/*
 * rtmsg.c writes these layouts and constants by hand, from xnu's
 * bsd/net/route.h, bsd/net/if_dl.h and bsd/sys/socket.h: the SDK of each
 * architecture must agree.
 */
_Static_assert(sizeof(struct rt_msghdr) == RTMSG_HDR_LEN, "rt_msghdr size");
_Static_assert(offsetof(struct rt_msghdr, rtm_msglen) == RTMSG_OFF_MSGLEN, "rtm_msglen");
_Static_assert(offsetof(struct rt_msghdr, rtm_version) == RTMSG_OFF_VERSION, "rtm_version");
_Static_assert(offsetof(struct rt_msghdr, rtm_type) == RTMSG_OFF_TYPE, "rtm_type");
_Static_assert(offsetof(struct rt_msghdr, rtm_index) == RTMSG_OFF_INDEX, "rtm_index");
_Static_assert(offsetof(struct rt_msghdr, rtm_flags) == RTMSG_OFF_FLAGS, "rtm_flags");
_Static_assert(offsetof(struct rt_msghdr, rtm_addrs) == RTMSG_OFF_ADDRS, "rtm_addrs");
_Static_assert(offsetof(struct rt_msghdr, rtm_pid) == RTMSG_OFF_PID, "rtm_pid");
_Static_assert(offsetof(struct rt_msghdr, rtm_seq) == RTMSG_OFF_SEQ, "rtm_seq");
_Static_assert(offsetof(struct rt_msghdr, rtm_errno) == RTMSG_OFF_ERRNO, "rtm_errno");
_Static_assert(RTM_VERSION == RTMSG_VERSION && RTM_ADD == RTMSG_ADD &&
	       RTM_DELETE == RTMSG_DELETE && RTM_CHANGE == RTMSG_CHANGE &&
	       RTM_GET == RTMSG_GET && RTM_NEWADDR == RTMSG_NEWADDR &&
	       RTM_DELADDR == RTMSG_DELADDR && RTM_IFINFO == RTMSG_IFINFO, "RTM_*");
_Static_assert(RTF_UP == RTMSG_F_UP && RTF_GATEWAY == RTMSG_F_GATEWAY &&
	       RTF_HOST == RTMSG_F_HOST && RTF_LLINFO == RTMSG_F_LLINFO &&
	       RTF_STATIC == RTMSG_F_STATIC && RTF_WASCLONED == RTMSG_F_WASCLONED &&
	       RTF_LOCAL == RTMSG_F_LOCAL && RTF_BROADCAST == RTMSG_F_BROADCAST &&
	       RTF_MULTICAST == RTMSG_F_MULTICAST && RTF_IFSCOPE == RTMSG_F_IFSCOPE, "RTF_*");
_Static_assert(RTA_DST == RTMSG_A_DST && RTA_GATEWAY == RTMSG_A_GATEWAY &&
	       RTA_NETMASK == RTMSG_A_NETMASK && RTAX_MAX == RTMSG_AX_MAX, "RTA_*");
_Static_assert(AF_INET == RTMSG_AF_INET && AF_INET6 == RTMSG_AF_INET6 &&
	       AF_LINK == RTMSG_AF_LINK, "address families");
_Static_assert(sizeof(struct sockaddr_in) == RTMSG_SIN_LEN &&
	       offsetof(struct sockaddr_in, sin_addr) == 4, "sockaddr_in");
_Static_assert(sizeof(struct sockaddr_in6) == RTMSG_SIN6_LEN &&
	       offsetof(struct sockaddr_in6, sin6_addr) == 8, "sockaddr_in6");
_Static_assert(sizeof(struct sockaddr_dl) == RTMSG_SDL_LEN &&
	       offsetof(struct sockaddr_dl, sdl_index) == 2, "sockaddr_dl");
/*
 * The interface requests (xnu bsd/net/if.h, bsd/netinet6/in6_var.h) and
 * their ioctl numbers (bsd/sys/sockio.h: _IOW/_IOWR of group 'i', which
 * encode the request's size).
 */
_Static_assert(sizeof(struct ifaliasreq) == 64 && offsetof(struct ifaliasreq, ifra_addr) == 16 &&
	       offsetof(struct ifaliasreq, ifra_broadaddr) == 32 &&
	       offsetof(struct ifaliasreq, ifra_mask) == 48 && SIOCAIFADDR == 0x8040691a,
	       "ifaliasreq");
_Static_assert(sizeof(struct ifreq) == 32 && offsetof(struct ifreq, ifr_flags) == 16 &&
	       offsetof(struct ifreq, ifr_mtu) == 16 && SIOCSIFFLAGS == 0x80206910 &&
	       SIOCGIFFLAGS == 0xc0206911 && SIOCSIFMTU == 0x80206934, "ifreq");
_Static_assert(sizeof(struct compat_in6_aliasreq) == 128 &&
	       offsetof(struct compat_in6_aliasreq, ifra_flags) == 100 &&
	       offsetof(struct compat_in6_aliasreq, ifra_lifetime) == 104 &&
	       COMPAT_SIOCAIFADDR_IN6 == 0x8080691a, "in6_aliasreq");

struct platform {
	int inet_fd;			/* for interface ioctls */
	int inet6_fd;			/* IPv6 addresses; -1 without IPv6 */
	int seq;			/* of our routing messages */
	char ifname[IFNAMSIZ];
	int ifindex;
	uint8_t link[RTMSG_LINK_MAX];	/* the device's sockaddr_dl */
	size_t link_len;
	int watch_fd;			/* routing socket for changes, -1 = none */
};

static int platform_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0);

	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct platform *platform_open(void)
{
	struct platform *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->watch_fd = -1;
	p->inet_fd = platform_socket(AF_INET);
	if (p->inet_fd < 0) {
		err = errno;
		free(p);
		errno = err;
		return NULL;
	}
	p->inet6_fd = platform_socket(AF_INET6);
	return p;
}

void platform_close(struct platform *p)
{
	if (!p)
		return;
	close(p->inet_fd);
	if (p->inet6_fd >= 0)
		close(p->inet6_fd);
	if (p->watch_fd >= 0)
		close(p->watch_fd);
	free(p);
}

/* The device's link-level address, the gateway of interface routes. */
static void platform_find_link(struct platform *p)
{
	struct ifaddrs *ifa_list, *ifa;

	p->link_len = 0;
	if (getifaddrs(&ifa_list) == 0) {
		for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
			if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_LINK ||
			    strcmp(ifa->ifa_name, p->ifname))
				continue;
			if (ifa->ifa_addr->sa_len >= offsetof(struct sockaddr_dl, sdl_data) &&
			    ifa->ifa_addr->sa_len <= sizeof(p->link)) {
				memcpy(p->link, ifa->ifa_addr, ifa->ifa_addr->sa_len);
				p->link_len = ifa->ifa_addr->sa_len;
			}
			break;
		}
		freeifaddrs(ifa_list);
	}
	if (p->link_len)
		return;
	/* The index alone names the interface to the kernel. */
	rtmsg_link_by_index(p->link, (unsigned int)p->ifindex);
	p->link_len = RTMSG_SDL_LEN;
}

int platform_tun_open(struct platform *p, struct pktio *io, char *name, size_t namelen)
{
	unsigned int idx;
	int ret = pktio_tun_open(io, name, namelen);

	if (ret)
		return ret;
	snprintf(p->ifname, sizeof(p->ifname), "%s", name);
	idx = if_nametoindex(p->ifname);
	if (!idx)
		return -ENODEV;
	p->ifindex = (int)idx;
	platform_find_link(p);
	return 0;
}

int platform_ifindex(const struct platform *p)
{
	return p->ifindex;
}

static void platform_sin(struct sockaddr_in *sin, const void *addr)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_len = sizeof(*sin);
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
}

static void platform_sin6(struct sockaddr_in6 *sin6, const void *addr)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_len = sizeof(*sin6);
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
}

/* The netmask of a prefix length, as address bytes. */
static void platform_mask(uint8_t mask[16], unsigned int len)
{
	memset(mask, 0, 16);
	for (unsigned int i = 0; i < len / 8; i++)
		mask[i] = 0xff;
	if (len % 8)
		mask[len / 8] = (uint8_t)(0xff << (8 - len % 8));
}

static int platform_addr_v4(struct platform *p, const struct prefix *a)
{
	struct ifaliasreq ifra;
	struct sockaddr_in sin;
	uint8_t mask[16];

	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", p->ifname);
	platform_sin(&sin, a->addr.b);
	memcpy(&ifra.ifra_addr, &sin, sizeof(sin));
	/* Point-to-point: the far end is ourselves, as with ifconfig. */
	memcpy(&ifra.ifra_broadaddr, &sin, sizeof(sin));
	platform_mask(mask, a->len);
	platform_sin(&sin, mask);
	memcpy(&ifra.ifra_mask, &sin, sizeof(sin));
	if (ioctl(p->inet_fd, SIOCAIFADDR, &ifra) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int platform_addr_v6(struct platform *p, const struct prefix *a)
{
	struct compat_in6_aliasreq ifra;
	uint8_t mask[16];

	if (p->inet6_fd < 0)
		return -EAFNOSUPPORT;
	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", p->ifname);
	platform_sin6(&ifra.ifra_addr, a->addr.b);
	platform_mask(mask, a->len);
	platform_sin6(&ifra.ifra_prefixmask, mask);
	/* No duplicate detection on a tunnel: the address is usable at once. */
	ifra.ifra_flags = COMPAT_IN6_IFF_NODAD;
	ifra.ifra_lifetime.ia6t_vltime = COMPAT_ND6_INFINITE_LIFETIME;
	ifra.ifra_lifetime.ia6t_pltime = COMPAT_ND6_INFINITE_LIFETIME;
	if (ioctl(p->inet6_fd, COMPAT_SIOCAIFADDR_IN6, &ifra) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int platform_addr_add(struct platform *p, const struct prefix *a)
{
	struct prefix net = *a;
	int ret;

	if (a->family == AF_INET)
		ret = platform_addr_v4(p, a);
	else if (a->family == AF_INET6)
		ret = platform_addr_v6(p, a);
	else
		ret = -EAFNOSUPPORT;
	if (ret || a->len >= prefix_addr_len(a->family) * 8)
		return ret;
	/* The subnet, which Linux routes by itself. */
	prefix_mask(&net);
	ret = platform_route_add(p, &net);
	return ret == -EEXIST ? 0 : ret;
}

int platform_up(struct platform *p, unsigned int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(p->inet_fd, SIOCSIFMTU, &ifr) < 0)
			return -errno;
	}
	if (ioctl(p->inet_fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(p->inet_fd, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

/*
 * Send one routing message. The kernel's answer to a change is write()'s
 * own result; the echo it also broadcasts goes to every routing socket of a
 * matching protocol, and for an RTM_ADD only to those of protocol 0, so
 * waiting for it would stall (xnu bsd/net/rtsock.c, route_output and
 * raw_input). Like route(8) (network_cmds route.c: "Don't want to read
 * back our messages"), the socket is protocol 0 and shut for reading.
 */
static int platform_route_msg(struct platform *p, int type, const struct prefix *dst)
{
	int fd, ret;

	if (!p->ifindex || !p->link_len)
		return -ENODEV;
	fd = socket(PF_ROUTE, SOCK_RAW, 0);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || shutdown(fd, SHUT_RD) < 0)
		ret = -errno;
	else
		ret = rtmsg_send(fd, type, ++p->seq, (int)getpid(), dst, p->link, p->link_len);
	close(fd);
	return ret;
}

int platform_route_add(struct platform *p, const struct prefix *dst)
{
	return platform_route_msg(p, RTMSG_ADD, dst);
}

/* The routing table of a family (NET_RT_DUMP): *buf to free, or -errno. */
static int platform_rt_dump(int family, uint8_t **buf, size_t *len)
{
	int mib[6] = { CTL_NET, PF_ROUTE, 0, family, NET_RT_DUMP, 0 };
	int ret = 0;

	*buf = NULL;
	for (int tries = 0; tries < 4; tries++) {
		if (sysctl(mib, 6, NULL, len, NULL, 0) < 0)
			return -errno;
		*len += *len / 8 + 4096;	/* the table may grow between the calls */
		*buf = malloc(*len);
		if (!*buf)
			return -ENOMEM;
		if (sysctl(mib, 6, *buf, len, NULL, 0) == 0)
			return 0;
		ret = -errno;
		free(*buf);
		*buf = NULL;
		if (ret != -ENOMEM)
			return ret;
	}
	return ret;
}

/*
 * XNU deletes by destination and mask whatever the gateway (rtsock.c,
 * route_output's RTM_DELETE): delete only a route that is on our device,
 * never a VPN's or a LAN's that has taken the prefix since.
 */
int platform_route_del(struct platform *p, const struct prefix *dst)
{
	unsigned int ifindex = 0;
	uint8_t *buf;
	size_t len = 0;
	int ret = platform_rt_dump(dst->family, &buf, &len);

	if (ret)
		return ret;
	ret = rtmsg_dump_find(buf, len, dst, &ifindex);
	free(buf);
	if (ret == 0 || (int)ifindex != p->ifindex)
		return -ENOENT;
	return platform_route_msg(p, RTMSG_DELETE, dst);
}

/* Every route of a family that someone configured, into the host's view. */
static int platform_view_routes(int family, struct accept_host *v)
{
	const uint8_t *msg;
	uint8_t *buf;
	size_t len = 0, off = 0, msglen;
	int ret = platform_rt_dump(family, &buf, &len);

	if (ret)
		return ret;
	while (rtmsg_next(buf, len, &off, &msg, &msglen)) {
		struct prefix rp;
		unsigned int ifindex = 0;

		if (!rtmsg_parse_route(msg, msglen, family, &rp, &ifindex))
			continue;
		ret = accept_host_add_route(v, &rp, (int)ifindex, 0);
		if (ret)
			break;
	}
	free(buf);
	return ret;
}

int platform_host_view(struct platform *p, struct accept_host *v)
{
	struct ifaddrs *ifa_list, *ifa;
	int ret;

	(void)p;
	accept_host_clear(v);
	ret = platform_view_routes(AF_INET, v);
	if (!ret)
		ret = platform_view_routes(AF_INET6, v);
	if (ret)
		return ret;
	if (getifaddrs(&ifa_list) < 0)
		return -errno;
	for (ifa = ifa_list; ifa && !ret; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET)
			ret = accept_host_add_addr(v, AF_INET,
				&((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr);
		else if (ifa->ifa_addr->sa_family == AF_INET6)
			ret = accept_host_add_addr(v, AF_INET6,
				&((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifa_list);
	return ret;
}

/*
 * A routing socket hears every routing message of the system (RTM_ADD,
 * RTM_DELETE, RTM_NEWADDR, ..., and the neighbour entries that come and go
 * with the traffic): those that may change the host's view
 * (rtmsg_watch_relevant) have it read again, whatever route they name.
 * ENOBUFS means messages were lost, which counts as a change.
 */
int platform_watch_open(struct platform *p)
{
	int fd;

	if (p->watch_fd >= 0)
		return p->watch_fd;
	fd = socket(PF_ROUTE, SOCK_RAW, 0);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	p->watch_fd = fd;
	return fd;
}

int platform_watch_drain(struct platform *p)
{
	uint8_t buf[2048];
	int changed = 0;

	if (p->watch_fd < 0)
		return -EBADF;
	for (;;) {
		ssize_t n = read(p->watch_fd, buf, sizeof(buf));

		if (n > 0) {
			if (rtmsg_watch_relevant(buf, (size_t)n))
				changed = 1;
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			changed = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		return changed;
	}
}
