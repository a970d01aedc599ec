/* rtmsg.c - macOS routing-socket messages, built and parsed over bytes
 *
 * Theory of operation: see rtmsg.h. Fields are copied in the byte order of
 * the machine running this, which on a Mac is the kernel's; the Linux
 * machines that run the tests are little-endian like both Mac
 * architectures, so the vectors written from XNU's layout hold there too.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "bytes.h"
#include "rtmsg.h"

/* Where the address sits inside sockaddr_in and sockaddr_in6. */
#define RTMSG_SIN_ADDR_OFF	4
#define RTMSG_SIN6_ADDR_OFF	8

/* A sockaddr_in or sockaddr_in6 holding addr (alen bytes) at out. */
static size_t rtmsg_put_inet(uint8_t *out, int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		memset(out, 0, RTMSG_SIN_LEN);
		out[0] = RTMSG_SIN_LEN;
		out[1] = RTMSG_AF_INET;
		memcpy(out + RTMSG_SIN_ADDR_OFF, addr, 4);
		return RTMSG_SIN_LEN;
	}
	memset(out, 0, RTMSG_SIN6_LEN);
	out[0] = RTMSG_SIN6_LEN;
	out[1] = RTMSG_AF_INET6;
	memcpy(out + RTMSG_SIN6_ADDR_OFF, addr, 16);
	return RTMSG_SIN6_LEN;
}

int rtmsg_route(uint8_t *buf, size_t size, int type, int seq, int pid,
		const struct prefix *dst, const uint8_t *link, size_t link_len)
{
	size_t alen, off = RTMSG_HDR_LEN;
	uint8_t mask[16] = { 0 };
	bool host;
	int32_t flags, addrs;

	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EAFNOSUPPORT;
	alen = prefix_addr_len(dst->family);
	if ((type != RTMSG_ADD && type != RTMSG_DELETE) || dst->len > alen * 8 ||
	    link_len < 2 || link_len > RTMSG_LINK_MAX || link[0] != link_len ||
	    link[1] != RTMSG_AF_LINK)
		return -EINVAL;
	host = dst->len == alen * 8;
	if (size < RTMSG_MAX_LEN)
		return -EMSGSIZE;
	memset(buf, 0, RTMSG_MAX_LEN);
	flags = RTMSG_F_UP | RTMSG_F_STATIC | (host ? RTMSG_F_HOST : 0);
	addrs = RTMSG_A_DST | RTMSG_A_GATEWAY | (host ? 0 : RTMSG_A_NETMASK);
	buf[RTMSG_OFF_VERSION] = RTMSG_VERSION;
	buf[RTMSG_OFF_TYPE] = (uint8_t)type;
	bytes_store_host32(buf + RTMSG_OFF_FLAGS, (uint32_t)flags);
	bytes_store_host32(buf + RTMSG_OFF_ADDRS, (uint32_t)addrs);
	bytes_store_host32(buf + RTMSG_OFF_PID, (uint32_t)pid);
	bytes_store_host32(buf + RTMSG_OFF_SEQ, (uint32_t)seq);
	/* In RTA_* bit order: destination, gateway (the link), netmask. */
	off += rtmsg_sa_space(rtmsg_put_inet(buf + off, dst->family, dst->addr.b));
	memcpy(buf + off, link, link_len);
	off += rtmsg_sa_space(link_len);
	if (!host) {
		for (unsigned int i = 0; i < dst->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		off += rtmsg_sa_space(rtmsg_put_inet(buf + off, dst->family, mask));
	}
	bytes_store_host16(buf + RTMSG_OFF_MSGLEN, (uint16_t)off);
	return (int)off;
}

int rtmsg_send(int fd, int type, int seq, int pid, const struct prefix *dst,
	       const uint8_t *link, size_t link_len)
{
	uint8_t msg[RTMSG_MAX_LEN];
	int len = rtmsg_route(msg, sizeof(msg), type, seq, pid, dst, link, link_len);
	ssize_t n;

	if (len < 0)
		return len;
	do {
		n = write(fd, msg, (size_t)len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	return n == len ? 0 : -EIO;
}

void rtmsg_link_by_index(uint8_t out[RTMSG_SDL_LEN], unsigned int ifindex)
{
	memset(out, 0, RTMSG_SDL_LEN);
	out[0] = RTMSG_SDL_LEN;
	out[1] = RTMSG_AF_LINK;
	bytes_store_host16(out + 2, (uint16_t)ifindex);	/* sdl_index */
}

bool rtmsg_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg,
		size_t *msglen)
{
	size_t ml;

	if (*off > len || len - *off < 2)
		return false;
	ml = bytes_load_host16(buf + *off);
	if (ml < 2 || ml > len - *off)
		return false;
	*msg = buf + *off;
	*msglen = ml;
	*off += ml;
	return true;
}

/*
 * The prefix length of a netmask sockaddr of salen bytes whose address
 * starts at aoff: bytes past salen are zero. -1 if not contiguous.
 */
static int rtmsg_mask_len(const uint8_t *sa, size_t salen, size_t aoff, size_t alen)
{
	bool ended = false;
	int len = 0;

	for (size_t i = 0; i < alen; i++) {
		uint8_t b = aoff + i < salen ? sa[aoff + i] : 0;

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

/* Routes no view holds: neighbour entries, local, broadcast and multicast ones. */
#define RTMSG_F_NOT_CONFIGURED	(RTMSG_F_WASCLONED | RTMSG_F_LLINFO | RTMSG_F_LOCAL | \
				 RTMSG_F_BROADCAST | RTMSG_F_MULTICAST)

bool rtmsg_parse_route(const uint8_t *msg, size_t len, int family, struct prefix *rp,
		       unsigned int *ifindex)
{
	size_t off = RTMSG_HDR_LEN, mask_len = 0, alen, aoff;
	const uint8_t *mask = NULL;
	int32_t flags, addrs;
	uint8_t af;
	bool have_dst = false;
	int mlen;

	if (family == AF_INET) {
		alen = 4, aoff = RTMSG_SIN_ADDR_OFF, af = RTMSG_AF_INET;
	} else if (family == AF_INET6) {
		alen = 16, aoff = RTMSG_SIN6_ADDR_OFF, af = RTMSG_AF_INET6;
	} else {
		return false;
	}
	if (len < RTMSG_HDR_LEN || msg[RTMSG_OFF_VERSION] != RTMSG_VERSION)
		return false;
	flags = (int32_t)bytes_load_host32(msg + RTMSG_OFF_FLAGS);
	addrs = (int32_t)bytes_load_host32(msg + RTMSG_OFF_ADDRS);
	if ((flags & RTMSG_F_NOT_CONFIGURED) || !(flags & RTMSG_F_UP))
		return false;
	memset(rp, 0, sizeof(*rp));
	rp->family = family;
	for (int i = 0; i < RTMSG_AX_MAX; i++) {
		size_t salen, space;

		if (!(addrs & (1 << i)))
			continue;
		if (off >= len)
			return false;
		salen = msg[off];
		if (salen > len - off)
			return false;
		if (i == 0) {		/* RTAX_DST: sa_len, sa_family, the family's fields */
			if (salen < aoff + alen || msg[off + 1] != af)
				return false;
			memcpy(rp->addr.b, msg + off + aoff, alen);
			have_dst = true;
		} else if (i == 2) {	/* RTAX_NETMASK */
			mask = msg + off;
			mask_len = salen;
		}
		space = rtmsg_sa_space(salen);
		if (space > len - off)
			break;		/* the last one may lack its padding */
		off += space;
	}
	if (!have_dst)
		return false;
	/* Link-local and multicast destinations are never container networks. */
	if (family == AF_INET6 && ((rp->addr.b[0] == 0xfe && (rp->addr.b[1] & 0xc0) == 0x80) ||
				   rp->addr.b[0] == 0xff))
		return false;
	if (mask && !(flags & RTMSG_F_HOST)) {
		mlen = rtmsg_mask_len(mask, mask_len, aoff, alen);
		if (mlen < 0)
			return false;
		rp->len = (uint8_t)mlen;
	} else {
		rp->len = (uint8_t)(alen * 8);
	}
	prefix_mask(rp);
	*ifindex = bytes_load_host16(msg + RTMSG_OFF_INDEX);
	return true;
}

bool rtmsg_watch_relevant(const uint8_t *msg, size_t len)
{
	int32_t flags;

	if (len <= RTMSG_OFF_TYPE || msg[RTMSG_OFF_VERSION] != RTMSG_VERSION)
		return true;
	switch (msg[RTMSG_OFF_TYPE]) {
	case RTMSG_NEWADDR:
	case RTMSG_DELADDR:
	case RTMSG_IFINFO:
		return true;
	case RTMSG_ADD:
	case RTMSG_DELETE:
	case RTMSG_CHANGE:
		if (len < RTMSG_HDR_LEN)
			return true;
		flags = (int32_t)bytes_load_host32(msg + RTMSG_OFF_FLAGS);
		return !(flags & RTMSG_F_NOT_CONFIGURED);
	default:
		return false;	/* RTM_GET, RTM_MISS, RTM_RESOLVE, multicast, ... */
	}
}

int rtmsg_dump_find(const uint8_t *buf, size_t len, const struct prefix *dst,
		    unsigned int *ifindex)
{
	const uint8_t *msg;
	size_t off = 0, msglen;

	while (rtmsg_next(buf, len, &off, &msg, &msglen)) {
		struct prefix rp;
		unsigned int idx;

		if (rtmsg_parse_route(msg, msglen, dst->family, &rp, &idx) &&
		    prefix_equal(&rp, dst) &&
		    !(bytes_load_host32(msg + RTMSG_OFF_FLAGS) & RTMSG_F_IFSCOPE)) {
			*ifindex = idx;
			return 1;
		}
	}
	return 0;
}
