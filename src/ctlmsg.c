/* ctlmsg.c - encode, decode and wrap gangway's in-tunnel control messages
 *
 * Wire format (all integers big endian):
 *   header   "GWY1" | type u8 | flags u8 (0) | count u16 | seq u32
 *   ADVERTISE: count x { family u8 (4|6) | length u8 | address (4|16 bytes) }
 *   ACK:       count x { status u8 | family u8 | length u8 | address
 *                        [ | family u8 | length u8 | address ] }
 *              the bracketed host-side prefix follows status 4 (remapped) only
 *   SYNC:      count = 0, nothing follows
 * A message is exactly as long as its entries say; addresses carry no host
 * bits. Anything else is malformed and dropped whole.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "csum.h"
#include "ctlmsg.h"

_Static_assert(CTLMSG_MAX_LEN + 48 <= 1280, "a control message must fit a 1280-byte packet");
_Static_assert(CTLMSG_HDR_LEN + CTLMSG_MAX_PREFIXES * 19 <= CTLMSG_MAX_LEN,
	       "a full ADVERTISE, and an ACK without remaps, must fit");

static int ctlmsg_put_prefix(uint8_t *buf, size_t *off, size_t size, const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);

	if (!alen || *off + 2 + alen > size)
		return -EMSGSIZE;
	buf[(*off)++] = p->family == AF_INET ? 4 : 6;
	buf[(*off)++] = p->len;
	memcpy(buf + *off, p->addr.b, alen);
	*off += alen;
	return 0;
}

/* One canonical prefix (no host bits) at *off; -EBADMSG otherwise. */
static int ctlmsg_get_prefix(const uint8_t *buf, size_t *off, size_t len, struct prefix *p)
{
	struct prefix canon;
	size_t alen;

	memset(p, 0, sizeof(*p));
	if (*off + 2 > len)
		return -EBADMSG;
	if (buf[*off] == 4)
		p->family = AF_INET;
	else if (buf[*off] == 6)
		p->family = AF_INET6;
	else
		return -EBADMSG;
	alen = prefix_addr_len(p->family);
	p->len = buf[*off + 1];
	*off += 2;
	if (p->len > alen * 8 || *off + alen > len)
		return -EBADMSG;
	memcpy(p->addr.b, buf + *off, alen);
	*off += alen;
	canon = *p;
	prefix_mask(&canon);
	if (memcmp(canon.addr.b, p->addr.b, alen))
		return -EBADMSG;	/* host bits set */
	return 0;
}

static const char *const ctlmsg_status_names[CTLMSG_ST_MAX] = {
	[CTLMSG_ST_INSTALLED] = "installed",
	[CTLMSG_ST_NOT_ALLOWED] = "not allowed",
	[CTLMSG_ST_CONFLICT] = "conflict",
	[CTLMSG_ST_SHADOWED] = "shadowed by a host route",
	[CTLMSG_ST_REMAPPED] = "remapped",
};

const char *ctlmsg_status_name(enum ctlmsg_status s)
{
	return (unsigned int)s < CTLMSG_ST_MAX ? ctlmsg_status_names[s] : "unknown";
}

int ctlmsg_encode(const struct ctlmsg *m, uint8_t *buf, size_t size)
{
	size_t off = CTLMSG_HDR_LEN;

	if (m->n > CTLMSG_MAX_PREFIXES || size < CTLMSG_HDR_LEN ||
	    (m->type == CTLMSG_SYNC && m->n))
		return -EMSGSIZE;
	memcpy(buf, CTLMSG_MAGIC, 4);
	buf[4] = (uint8_t)m->type;
	buf[5] = 0;
	buf[6] = (uint8_t)(m->n >> 8);
	buf[7] = (uint8_t)m->n;
	buf[8] = (uint8_t)(m->seq >> 24);
	buf[9] = (uint8_t)(m->seq >> 16);
	buf[10] = (uint8_t)(m->seq >> 8);
	buf[11] = (uint8_t)m->seq;
	for (size_t i = 0; i < m->n; i++) {
		if (m->type == CTLMSG_ACK) {
			if (off >= size || m->status[i] >= CTLMSG_ST_MAX)
				return -EMSGSIZE;
			buf[off++] = m->status[i];
		}
		if (ctlmsg_put_prefix(buf, &off, size, &m->prefixes[i]))
			return -EMSGSIZE;
		if (m->type == CTLMSG_ACK && m->status[i] == CTLMSG_ST_REMAPPED &&
		    ctlmsg_put_prefix(buf, &off, size, &m->mapped[i]))
			return -EMSGSIZE;
	}
	if (off > CTLMSG_MAX_LEN)
		return -EMSGSIZE;
	return (int)off;
}

int ctlmsg_decode(struct ctlmsg *m, const uint8_t *buf, size_t len)
{
	size_t off = CTLMSG_HDR_LEN, n;

	if (len < CTLMSG_HDR_LEN || len > CTLMSG_MAX_LEN || memcmp(buf, CTLMSG_MAGIC, 4) ||
	    buf[5] != 0)
		return -EBADMSG;
	if (buf[4] < CTLMSG_ADVERTISE || buf[4] > CTLMSG_SYNC)
		return -EBADMSG;
	m->type = (enum ctlmsg_type)buf[4];
	n = (size_t)buf[6] << 8 | buf[7];
	m->seq = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
		 (uint32_t)buf[10] << 8 | buf[11];
	if (n > CTLMSG_MAX_PREFIXES || (m->type == CTLMSG_SYNC && n))
		return -EBADMSG;
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		m->status[i] = 0;
		if (m->type == CTLMSG_ACK) {
			if (off >= len || buf[off] >= CTLMSG_ST_MAX)
				return -EBADMSG;
			m->status[i] = buf[off++];
		}
		if (ctlmsg_get_prefix(buf, &off, len, &m->prefixes[i]))
			return -EBADMSG;
		memset(&m->mapped[i], 0, sizeof(m->mapped[i]));
		if (m->status[i] == CTLMSG_ST_REMAPPED &&
		    (ctlmsg_get_prefix(buf, &off, len, &m->mapped[i]) ||
		     m->mapped[i].family != m->prefixes[i].family ||
		     m->mapped[i].len != m->prefixes[i].len))
			return -EBADMSG;
	}
	return off == len ? 0 : -EBADMSG;
}

int ctlmsg_wrap(uint8_t *pkt, size_t size, const struct prefix *src,
		const struct prefix *dst, const uint8_t *payload, size_t len)
{
	size_t alen = prefix_addr_len(src->family), iphl, udplen = 8 + len;
	uint8_t *udp;
	uint16_t csum;

	if (!alen || src->family != dst->family)
		return -EINVAL;
	iphl = src->family == AF_INET ? 20 : 40;
	if (iphl + udplen > size || iphl + udplen > 65535)
		return -EMSGSIZE;
	memset(pkt, 0, iphl + 8);
	if (src->family == AF_INET) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((iphl + udplen) >> 8);
		pkt[3] = (uint8_t)(iphl + udplen);
		pkt[6] = 0x40;			/* DF */
		pkt[8] = 64;			/* TTL */
		pkt[9] = 17;			/* UDP */
		memcpy(pkt + 12, src->addr.b, 4);
		memcpy(pkt + 16, dst->addr.b, 4);
		csum_ipv4_header(pkt, 20);
	} else {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(udplen >> 8);
		pkt[5] = (uint8_t)udplen;
		pkt[6] = 17;
		pkt[7] = 64;
		memcpy(pkt + 8, src->addr.b, 16);
		memcpy(pkt + 24, dst->addr.b, 16);
	}
	udp = pkt + iphl;
	udp[0] = (uint8_t)(CTLMSG_PORT >> 8);
	udp[1] = (uint8_t)CTLMSG_PORT;
	udp[2] = (uint8_t)(CTLMSG_PORT >> 8);
	udp[3] = (uint8_t)CTLMSG_PORT;
	udp[4] = (uint8_t)(udplen >> 8);
	udp[5] = (uint8_t)udplen;
	memcpy(udp + 8, payload, len);
	csum = csum_finish(csum_partial(udp, udplen, csum_pseudo(src->family, src->addr.b,
								  dst->addr.b, IPPROTO_UDP,
								  (uint32_t)udplen)));
	if (csum == 0)
		csum = 0xffff;			/* 0 means "no checksum" */
	csum_store(udp + 6, csum);
	return (int)(iphl + udplen);
}

int ctlmsg_unwrap(const uint8_t *pkt, size_t len, struct prefix *srcp, struct prefix *dst,
		  const uint8_t **payload)
{
	const uint8_t *udp, *src;
	size_t iphl, alen, udplen;

	if (len < 20)
		return -1;
	memset(dst, 0, sizeof(*dst));
	memset(srcp, 0, sizeof(*srcp));
	if ((pkt[0] >> 4) == 4) {
		iphl = (size_t)(pkt[0] & 15) * 4;
		if (iphl < 20 || len < iphl + 8 || pkt[9] != 17)
			return -1;
		if (((size_t)pkt[2] << 8 | pkt[3]) != len)
			return -1;
		if ((pkt[6] & 0x3f) || pkt[7])
			return -1;		/* fragments are never control */
		dst->family = AF_INET;
		alen = 4;
		src = pkt + 12;
		memcpy(dst->addr.b, pkt + 16, 4);
	} else if ((pkt[0] >> 4) == 6) {
		iphl = 40;
		if (len < iphl + 8 || pkt[6] != 17 || ((size_t)pkt[4] << 8 | pkt[5]) + 40 != len)
			return -1;
		dst->family = AF_INET6;
		alen = 16;
		src = pkt + 8;
		memcpy(dst->addr.b, pkt + 24, 16);
	} else {
		return -1;
	}
	dst->len = (uint8_t)(alen * 8);
	srcp->family = dst->family;
	srcp->len = dst->len;
	memcpy(srcp->addr.b, src, alen);
	udp = pkt + iphl;
	if (((unsigned int)udp[2] << 8 | udp[3]) != CTLMSG_PORT)
		return -1;
	udplen = (size_t)udp[4] << 8 | udp[5];
	if (udplen < 8 || udplen != len - iphl)
		return -1;
	/* A zero (absent) checksum is refused: control messages always carry one. */
	if (!csum_l4_valid(dst->family, src, dst->addr.b, IPPROTO_UDP, udp, udplen))
		return -1;
	*payload = udp + 8;
	return (int)(udplen - 8);
}
