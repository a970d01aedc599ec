/* compat_macos.h - macOS declarations missing from the headers we compile against
 *
 * The cross compiler's macOS headers (Zig's, taken from the public SDK)
 * lack the utun control, the system-domain socket constants and the IPv6
 * alias request; Apple ships the first two only in private headers. Each
 * is written here from the layout in xnu's headers (the ABI ifconfig and
 * route are built against). The constants defer to system headers that
 * have them; the IPv6 alias request has names of its own, so it never
 * collides with one that declares it. The layouts are kernel ABI; the
 * ioctl number encodes the structure's size, so a mismatch would fail with
 * an error rather than be misread.
 */
#ifndef GANGWAY_COMPAT_MACOS_H
#define GANGWAY_COMPAT_MACOS_H

#include <stdint.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioccom.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* xnu bsd/sys/sys_domain.h: the protocol of PF_SYSTEM control sockets. */
#ifndef SYSPROTO_CONTROL
#define SYSPROTO_CONTROL	2	/* kernel control protocol */
#endif
#ifndef AF_SYS_CONTROL
#define AF_SYS_CONTROL		2	/* sockaddr_ctl.ss_sysaddr */
#endif

/*
 * xnu bsd/net/if_utun.h (not in the SDK): the name of utun's kernel
 * control, and the socket option that reads back the interface's name.
 */
#ifndef UTUN_CONTROL_NAME
#define UTUN_CONTROL_NAME	"com.apple.net.utun_control"
#endif
#ifndef UTUN_OPT_IFNAME
#define UTUN_OPT_IFNAME		2
#endif

/*
 * xnu bsd/netinet6/in6_var.h: the request of SIOCAIFADDR_IN6 (ifconfig's
 * "inet6 ... alias"), under our own names so that it never collides with a
 * system header that has it. The user-space layout uses the native time_t.
 */
struct compat_in6_addrlifetime {
	time_t ia6t_expire;		/* valid lifetime expiration time */
	time_t ia6t_preferred;		/* preferred lifetime expiration time */
	uint32_t ia6t_vltime;		/* valid lifetime, seconds */
	uint32_t ia6t_pltime;		/* preferred lifetime, seconds */
};

struct compat_in6_aliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr_in6 ifra_addr;
	struct sockaddr_in6 ifra_dstaddr;
	struct sockaddr_in6 ifra_prefixmask;
	int ifra_flags;
	struct compat_in6_addrlifetime ifra_lifetime;
};

#define COMPAT_SIOCAIFADDR_IN6		_IOW('i', 26, struct compat_in6_aliasreq)
#define COMPAT_IN6_IFF_NODAD		0x0020		/* no duplicate detection */
#define COMPAT_ND6_INFINITE_LIFETIME	0xffffffffu

/*
 * xnu bsd/sys/socket_private.h (not in the SDK): recvmsg_x and sendmsg_x
 * move several datagrams per system call. For recvmsg_x msg_datalen
 * receives each datagram's length; for sendmsg_x the iovecs give it and
 * msg_datalen must be 0, as must msg_flags on input. Our own name for the
 * layout; libSystem exports both functions (since macOS 10.11). They are
 * private: pktio_batch.c falls back to one call per packet when they fail.
 */
struct compat_msghdr_x {
	void *msg_name;
	socklen_t msg_namelen;
	struct iovec *msg_iov;
	int msg_iovlen;
	void *msg_control;
	socklen_t msg_controllen;
	int msg_flags;
	size_t msg_datalen;
};
ssize_t recvmsg_x(int s, const struct compat_msghdr_x *msgp, unsigned int cnt, int flags);
ssize_t sendmsg_x(int s, const struct compat_msghdr_x *msgp, unsigned int cnt, int flags);

#endif
