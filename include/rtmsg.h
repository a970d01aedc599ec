/* rtmsg.h - macOS routing-socket messages (XNU's PF_ROUTE), as plain bytes
 *
 * macOS changes and reads its routing table with messages whose layout is
 * kernel ABI (xnu bsd/net/route.h): a 92-byte struct rt_msghdr, then the
 * sockaddrs its rtm_addrs bits name, in RTA_* bit order, each padded to a
 * multiple of 4 bytes (an empty one still takes 4). The values are in the
 * Mac's byte order, which is little-endian on both of its architectures.
 *
 * These functions build and parse such messages over byte buffers with no
 * system header of macOS, so that Linux tests check them against vectors
 * written from XNU's layout, and a fuzzer feeds them anything.
 * platform_macos.c sends and reads them, and checks at compile time, for
 * each architecture, that the SDK's layout and constants are these.
 */
#ifndef GANGWAY_RTMSG_H
#define GANGWAY_RTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define RTMSG_HDR_LEN		92	/* sizeof(struct rt_msghdr) */
#define RTMSG_VERSION		5	/* RTM_VERSION */

/* Offsets inside struct rt_msghdr. */
#define RTMSG_OFF_MSGLEN	0	/* u_short */
#define RTMSG_OFF_VERSION	2	/* u_char */
#define RTMSG_OFF_TYPE		3	/* u_char */
#define RTMSG_OFF_INDEX		4	/* u_short */
#define RTMSG_OFF_FLAGS		8	/* int */
#define RTMSG_OFF_ADDRS		12	/* int */
#define RTMSG_OFF_PID		16	/* pid_t */
#define RTMSG_OFF_SEQ		20	/* int */
#define RTMSG_OFF_ERRNO		24	/* int */

/* Message types (RTM_*). */
#define RTMSG_ADD		0x1
#define RTMSG_DELETE		0x2
#define RTMSG_CHANGE		0x3
#define RTMSG_GET		0x4
#define RTMSG_NEWADDR		0xc
#define RTMSG_DELADDR		0xd
#define RTMSG_IFINFO		0xe

/* Route flags (RTF_*). */
#define RTMSG_F_UP		0x1
#define RTMSG_F_GATEWAY		0x2
#define RTMSG_F_HOST		0x4
#define RTMSG_F_LLINFO		0x400
#define RTMSG_F_STATIC		0x800
#define RTMSG_F_WASCLONED	0x20000
#define RTMSG_F_LOCAL		0x200000
#define RTMSG_F_BROADCAST	0x400000
#define RTMSG_F_MULTICAST	0x800000
#define RTMSG_F_IFSCOPE		0x1000000

/* Address bits (RTA_*) and their count (RTAX_MAX). */
#define RTMSG_A_DST		0x1
#define RTMSG_A_GATEWAY		0x2
#define RTMSG_A_NETMASK		0x4
#define RTMSG_AX_MAX		8

/* The Mac's address families, which are not Linux's for IPv6. */
#define RTMSG_AF_INET		2
#define RTMSG_AF_LINK		18
#define RTMSG_AF_INET6		30

#define RTMSG_SIN_LEN		16	/* sizeof(struct sockaddr_in) */
#define RTMSG_SIN6_LEN		28	/* sizeof(struct sockaddr_in6) */
#define RTMSG_SDL_LEN		20	/* sizeof(struct sockaddr_dl) */
#define RTMSG_LINK_MAX		128	/* a link address we keep for routes */
/* The largest message built here: header, destination, link, netmask. */
#define RTMSG_MAX_LEN		(RTMSG_HDR_LEN + 2 * RTMSG_SIN6_LEN + RTMSG_LINK_MAX)

/* The room a sockaddr of sa_len len takes in a message. */
static inline size_t rtmsg_sa_space(size_t len)
{
	return len > 0 ? (len + 3) & ~(size_t)3 : 4;
}

/*
 * Build an RTM_ADD or RTM_DELETE (type) for an interface route to dst
 * through the interface whose link-level address (a sockaddr_dl of
 * link_len bytes, as the kernel reports it) is link: the "route add -net
 * DST -interface utunN" message. A full-length dst is a host route.
 * Returns the message's length, -EAFNOSUPPORT, -EINVAL or -EMSGSIZE.
 */
int rtmsg_route(uint8_t *buf, size_t size, int type, int seq, int pid,
		const struct prefix *dst, const uint8_t *link, size_t link_len);

/*
 * Build that message and write it to fd, a routing socket: write()'s result
 * is the kernel's answer, and nothing is read back (the kernel's echo of an
 * RTM_ADD reaches only protocol-0 sockets, and ours reads nothing).
 * 0, or -errno (-ENOENT for a route that is not there, as on Linux).
 */
int rtmsg_send(int fd, int type, int seq, int pid, const struct prefix *dst,
	       const uint8_t *link, size_t link_len);

/* A sockaddr_dl naming interface ifindex alone (20 bytes into out). */
void rtmsg_link_by_index(uint8_t out[RTMSG_SDL_LEN], unsigned int ifindex);

/*
 * Step through a sysctl(NET_RT_DUMP) buffer: the message at *off, whose
 * length is checked against the buffer. Returns true and advances *off,
 * or false at the end or at a malformed length (the rest is ignored).
 */
bool rtmsg_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg,
		size_t *msglen);

/*
 * One message of a dump or of the routing socket: if it is a usable route
 * of family (AF_INET or AF_INET6 of the system compiling this) that
 * someone configured (not a cloned neighbour entry, a local address,
 * broadcast or multicast, nor link-local), fill rp with its destination
 * prefix and *ifindex with its interface, and return true. The kernel trims
 * a netmask's trailing zero bytes and leaves its family unset; a
 * non-contiguous mask is refused. Every length is checked against len.
 */
bool rtmsg_parse_route(const uint8_t *msg, size_t len, int family, struct prefix *rp,
		       unsigned int *ifindex);

/*
 * Whether a message heard on a routing socket may change the host's view:
 * an address or interface change, or a route added, deleted or changed
 * that rtmsg_parse_route() would read. Every socket hears every message of
 * the system, most of them neighbour entries that come and go with the
 * traffic (RTF_LLINFO, RTF_WASCLONED) and RTM_GETs others ask: those are
 * not the host's routes, and reading the table again for each would cost
 * a dump per connection. A message too short or of another version to
 * tell counts as a change.
 */
bool rtmsg_watch_relevant(const uint8_t *msg, size_t len);

/*
 * Look through a dump for the route of exactly dst that an RTM_DELETE of
 * dst (with no interface scope) would remove: 1 with its interface in
 * *ifindex, 0 if there is none. Routes scoped to an interface
 * (RTF_IFSCOPE, as configd adds for each one) are keyed apart from it by
 * XNU and are passed over, whichever comes first in the dump.
 */
int rtmsg_dump_find(const uint8_t *buf, size_t len, const struct prefix *dst,
		    unsigned int *ifindex);

#endif
