/* platform_macos.c - the tunnel's device and routes on macOS: utun, ioctls, PF_ROUTE
 *
 * Theory of operation: the device is a utun (pktio_macos.c creates it). A
 * utun is point-to-point, so an address gets no subnet route of its own:
 * like ifconfig's "inet A/N A alias" followed by "route add -net", each
 * address is set with its own address as the far end and its subnet is
 * routed through the device explicitly. Routes are messages on a PF_ROUTE
 * socket: an RTM_ADD or RTM_DELETE carrying the destination, its netmask
 * and, as gateway, the device's link-level address, which makes it an
 * interface route ("route add -interface utunN"). The kernel echoes each
 * message to every routing socket, ours included, with rtm_errno set; we
 * match ours by pid and sequence number. The table is read with the
 * NET_RT_DUMP sysctl, a stream of rt_msghdr each followed by its
 * sockaddrs, every one padded to 4 bytes, and local addresses with
 * getifaddrs(). A second routing socket, read by nobody but the change
 * watch, tells the host agent when any of it changes.
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
#include <sys/time.h>

#include "compat_macos.h"
#include "platform.h"

/* Routing messages pad every sockaddr to 4 bytes; an empty one takes 4. */
#define PLATFORM_SA_SPACE(len)	((len) > 0 ? (((size_t)(len) + 3) & ~(size_t)3) : 4)
#define PLATFORM_LINK_MAX	128
#define PLATFORM_RT_TIMEOUT_MS	1000
#define PLATFORM_RT_MAX_OTHERS	1024	/* messages read while waiting for ours */

struct platform {
	int inet_fd;			/* for interface ioctls */
	int inet6_fd;			/* IPv6 addresses; -1 without IPv6 */
	int seq;			/* of our routing messages */
	char ifname[IFNAMSIZ];
	int ifindex;
	uint8_t link[PLATFORM_LINK_MAX];	/* the device's sockaddr_dl */
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
	struct sockaddr_dl sdl;

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
	memset(&sdl, 0, sizeof(sdl));
	sdl.sdl_len = sizeof(sdl);
	sdl.sdl_family = AF_LINK;
	sdl.sdl_index = (unsigned short)p->ifindex;
	memcpy(p->link, &sdl, sizeof(sdl));
	p->link_len = sizeof(sdl);
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

struct platform_rtmsg {
	struct rt_msghdr hdr;
	uint8_t space[3 * PLATFORM_LINK_MAX];
};

static size_t platform_put_sa(uint8_t *at, const void *sa, size_t len)
{
	memcpy(at, sa, len);
	return PLATFORM_SA_SPACE(len);
}

/*
 * Wait for the kernel's echo of our message; its rtm_errno is the answer.
 * Other processes' routing messages pass by meanwhile: a bounded number.
 */
static int platform_rt_reply(int fd, int type, int seq)
{
	struct platform_rtmsg reply;
	struct rt_msghdr hdr;
	pid_t pid = getpid();
	ssize_t n;

	for (int i = 0; i < PLATFORM_RT_MAX_OTHERS; i++) {
		n = read(fd, &reply, sizeof(reply));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The change was accepted when write() succeeded. */
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		if ((size_t)n < sizeof(hdr))
			continue;
		memcpy(&hdr, &reply, sizeof(hdr));
		if (hdr.rtm_version != RTM_VERSION || hdr.rtm_type != type ||
		    hdr.rtm_pid != pid || hdr.rtm_seq != seq)
			continue;
		return hdr.rtm_errno ? -hdr.rtm_errno : 0;
	}
	return 0;	/* the change was accepted when write() succeeded */
}

static int platform_route_msg(struct platform *p, int type, const struct prefix *dst)
{
	struct platform_rtmsg m;
	struct timeval tv = { .tv_sec = PLATFORM_RT_TIMEOUT_MS / 1000,
			      .tv_usec = PLATFORM_RT_TIMEOUT_MS % 1000 * 1000 };
	bool host = dst->len >= prefix_addr_len(dst->family) * 8;
	size_t off = 0;
	uint8_t mask[16];
	int fd, ret;

	if (!p->ifindex || !p->link_len)
		return -ENODEV;
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(&m, 0, sizeof(m));
	m.hdr.rtm_version = RTM_VERSION;
	m.hdr.rtm_type = (u_char)type;
	m.hdr.rtm_flags = RTF_UP | RTF_STATIC | (host ? RTF_HOST : 0);
	m.hdr.rtm_addrs = RTA_DST | RTA_GATEWAY | (host ? 0 : RTA_NETMASK);
	m.hdr.rtm_pid = getpid();
	m.hdr.rtm_seq = ++p->seq;
	/* In RTA_* bit order: destination, gateway, netmask. */
	platform_mask(mask, dst->len);
	if (dst->family == AF_INET) {
		struct sockaddr_in sin;

		platform_sin(&sin, dst->addr.b);
		off += platform_put_sa(m.space + off, &sin, sizeof(sin));
		off += platform_put_sa(m.space + off, p->link, p->link_len);
		if (!host) {
			platform_sin(&sin, mask);
			off += platform_put_sa(m.space + off, &sin, sizeof(sin));
		}
	} else {
		struct sockaddr_in6 sin6;

		platform_sin6(&sin6, dst->addr.b);
		off += platform_put_sa(m.space + off, &sin6, sizeof(sin6));
		off += platform_put_sa(m.space + off, p->link, p->link_len);
		if (!host) {
			platform_sin6(&sin6, mask);
			off += platform_put_sa(m.space + off, &sin6, sizeof(sin6));
		}
	}
	m.hdr.rtm_msglen = (u_short)(sizeof(m.hdr) + off);

	fd = socket(PF_ROUTE, SOCK_RAW, dst->family);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, &m, m.hdr.rtm_msglen) < 0) {
		ret = -errno;
		goto out;
	}
	ret = platform_rt_reply(fd, type, m.hdr.rtm_seq);
out:
	close(fd);
	/* Deleting what is not there: the same answer as Linux's. */
	return ret == -ESRCH ? -ENOENT : ret;
}

int platform_route_add(struct platform *p, const struct prefix *dst)
{
	return platform_route_msg(p, RTM_ADD, dst);
}

int platform_route_del(struct platform *p, const struct prefix *dst)
{
	return platform_route_msg(p, RTM_DELETE, dst);
}

/* Where a family's address sits inside its sockaddr. */
static size_t platform_sa_addr_off(int family)
{
	return family == AF_INET ? offsetof(struct sockaddr_in, sin_addr)
				 : offsetof(struct sockaddr_in6, sin6_addr);
}

/*
 * The prefix length of a routing-message netmask: the kernel trims its
 * trailing zero bytes (sa_len may end inside, or before, the address) and
 * its family is not to be trusted. -1 if the mask is not contiguous.
 */
static int platform_mask_len(const uint8_t *sa, size_t salen, int family)
{
	size_t off = platform_sa_addr_off(family), alen = prefix_addr_len(family);
	int len = 0;
	bool ended = false;

	for (size_t i = 0; i < alen; i++) {
		uint8_t b = off + i < salen ? sa[off + i] : 0;

		for (int bit = 7; bit >= 0; bit--) {
			if (b & (1u << bit)) {
				if (ended)
					return -1;
				len++;
			} else {
				ended = true;
			}
		}
	}
	return len;
}

/*
 * One message of the dump: the route's destination prefix, if it is a
 * route of the family that someone configured (not a cloned neighbour
 * entry, a local address, broadcast or multicast). Every length comes from
 * the kernel's buffer and is checked against it.
 */
static bool platform_rt_parse(const uint8_t *msg, size_t len, int family,
			      struct prefix *rp, unsigned int *ifindex)
{
	const int skip = RTF_WASCLONED | RTF_LLINFO | RTF_LOCAL | RTF_BROADCAST |
			 RTF_MULTICAST;
	size_t off = sizeof(struct rt_msghdr), alen = prefix_addr_len(family);
	size_t aoff = platform_sa_addr_off(family);
	const uint8_t *mask = NULL;
	size_t mask_len = 0;
	struct rt_msghdr hdr;
	bool have_dst = false;
	int mlen;

	if (len < sizeof(hdr))
		return false;
	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.rtm_version != RTM_VERSION || (hdr.rtm_flags & skip) ||
	    !(hdr.rtm_flags & RTF_UP))
		return false;
	memset(rp, 0, sizeof(*rp));
	rp->family = family;
	for (int i = 0; i < RTAX_MAX; i++) {
		size_t salen, space;

		if (!(hdr.rtm_addrs & (1 << i)))
			continue;
		if (off >= len)
			return false;
		salen = msg[off];
		space = PLATFORM_SA_SPACE(salen);
		if (salen > len - off)
			return false;
		if (i == RTAX_DST) {
			/* sa_len, sa_family, then the family's fields */
			if (salen < aoff + alen || msg[off + 1] != family)
				return false;
			memcpy(rp->addr.b, msg + off + aoff, alen);
			have_dst = true;
		} else if (i == RTAX_NETMASK) {
			mask = msg + off;
			mask_len = salen;
		}
		if (space > len - off)
			break;		/* the last one may lack its padding */
		off += space;
	}
	if (!have_dst)
		return false;
	/* Link-local and multicast destinations are never container networks. */
	if (family == AF_INET6 && (IN6_IS_ADDR_LINKLOCAL(&rp->addr.v6) ||
				   IN6_IS_ADDR_MULTICAST(&rp->addr.v6)))
		return false;
	if (mask && !(hdr.rtm_flags & RTF_HOST)) {
		mlen = platform_mask_len(mask, mask_len, family);
		if (mlen < 0)
			return false;
		rp->len = (uint8_t)mlen;
	} else {
		rp->len = (uint8_t)(alen * 8);
	}
	prefix_mask(rp);
	*ifindex = hdr.rtm_index;
	return true;
}

/* The kernel's routing table of family, malloc'd into *out; 0 or -errno. */
static int platform_rt_dump(int family, uint8_t **out, size_t *outlen)
{
	int mib[6] = { CTL_NET, PF_ROUTE, 0, family, NET_RT_DUMP, 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = 0;

	for (int tries = 0; tries < 4 && !buf; tries++) {
		if (sysctl(mib, 6, NULL, &len, NULL, 0) < 0)
			return -errno;
		len += len / 8 + 4096;	/* the table may grow between the calls */
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		if (sysctl(mib, 6, buf, &len, NULL, 0) == 0)
			break;
		ret = -errno;
		free(buf);
		buf = NULL;
		if (ret != -ENOMEM)
			return ret;
	}
	if (!buf)
		return ret;
	*out = buf;
	*outlen = len;
	return 0;
}

static int platform_view_routes(int family, struct accept_host *v)
{
	uint8_t *buf = NULL;
	size_t len = 0, off, msglen;
	int ret = platform_rt_dump(family, &buf, &len);

	if (ret)
		return ret;
	for (off = 0; off + sizeof(u_short) <= len; off += msglen) {
		struct prefix rp;
		unsigned int ifindex = 0;
		u_short ml;

		memcpy(&ml, buf + off, sizeof(ml));
		msglen = ml;
		if (msglen < sizeof(u_short) || msglen > len - off)
			break;		/* a malformed dump ends here */
		if (!platform_rt_parse(buf + off, msglen, family, &rp, &ifindex))
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
 * A routing socket hears every route and address change of the system
 * (RTM_ADD, RTM_DELETE, RTM_NEWADDR, ...): what changed is not parsed, the
 * view is read again. ENOBUFS means messages were lost, which is the same.
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

		if (n > 0 || (n < 0 && errno == ENOBUFS)) {
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
