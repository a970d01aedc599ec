/* gso.c - cut TUN superpackets into IP packets, and merge IP packets into superpackets */

/*
 * Theory of operation
 *
 * Splitting follows what the kernel's TCP and UDP segmentation does: every
 * segment gets a copy of the headers and gso_size bytes of payload (the
 * last one what is left); IPv4 ids count up from the original's, lengths
 * and the IPv4 header checksum are redone, TCP sequence numbers advance by
 * the payload before them, FIN and PSH stay only on the last segment and
 * CWR only on the first, and the transport checksum is computed in full,
 * because the packets leave through the tunnel to a peer that checks them.
 * The header's hdr_len is not trusted; csum_start and the headers
 * themselves say where the payload begins.
 *
 * Merging is receive offload in user space, done over one batch of
 * packets on their way to the device. A packet may join the newest
 * superpacket ("item") of its flow when nothing between them would be
 * reordered and the kernel could cut the result back into the very same
 * packets: same addresses, ports, TOS/traffic class, TTL/hop limit and DF;
 * IPv4 without options or fragmentation and consecutive ids unless DF is
 * set; TCP with only ACK (PSH allowed on the last segment), the same ack,
 * window and options, and the next sequence number; a payload no larger
 * than the first segment's, a shorter one ending the item. Only packets
 * whose checksums verify are merged: the kernel computes one new checksum
 * over the superpacket and would otherwise launder a corrupted segment.
 * The item's first packet keeps its place in the batch and carries the new
 * headers; the others are written from where they lie (writev), so merging
 * copies nothing.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bytes.h"
#include "csum.h"
#include "gso.h"

#define GSO_TCP_FIN	0x01
#define GSO_TCP_PSH	0x08
#define GSO_TCP_ACK	0x10
#define GSO_TCP_CWR	0x80
#define GSO_IP_DF	0x40		/* in the byte at offset 6 */
#define GSO_MAX_LEN	65535

enum gso_kind {
	GSO_KIND_NONE,
	GSO_KIND_TCP4,
	GSO_KIND_TCP6,
	GSO_KIND_UDP4,
	GSO_KIND_UDP6,
};

void gso_hdr_read(struct gso_hdr *h, const uint8_t *p)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = bytes_load_host16(p + 2);
	h->gso_size = bytes_load_host16(p + 4);
	h->csum_start = bytes_load_host16(p + 6);
	h->csum_offset = bytes_load_host16(p + 8);
}

void gso_hdr_write(const struct gso_hdr *h, uint8_t *p)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	bytes_store_host16(p + 2, h->hdr_len);
	bytes_store_host16(p + 4, h->gso_size);
	bytes_store_host16(p + 6, h->csum_start);
	bytes_store_host16(p + 8, h->csum_offset);
}

static const uint8_t *gso_saddr(const uint8_t *p, int family)
{
	return family == AF_INET ? p + 12 : p + 8;
}

static const uint8_t *gso_daddr(const uint8_t *p, int family)
{
	return family == AF_INET ? p + 16 : p + 24;
}

/* ---- splitting ------------------------------------------------------------ */

int gso_split_init(struct gso_split *s, const struct gso_hdr *h, const uint8_t *pkt,
		   size_t len)
{
	uint8_t type = h->gso_type & (uint8_t)~GSO_TYPE_ECN;
	size_t ihl, hlen;

	memset(s, 0, sizeof(*s));
	s->pkt = pkt;
	s->len = len;
	if (len < 20 || len > GSO_MAX_LEN + 40)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		s->family = AF_INET;
		break;
	case 6:
		if (len < 40)
			return -EINVAL;
		s->family = AF_INET6;
		break;
	default:
		return -EINVAL;
	}

	if (type == GSO_TYPE_NONE) {
		if (h->flags & GSO_F_NEEDS_CSUM) {
			/*
			 * Past the fixed IP header (csum_off 0 means "none"),
			 * and the field within the packet and 16-bit offsets.
			 */
			if (h->csum_start < (s->family == AF_INET ? 20 : 40) ||
			    h->csum_start >= len ||
			    (size_t)h->csum_start + h->csum_offset + 2 > len ||
			    (size_t)h->csum_start + h->csum_offset > UINT16_MAX)
				return -EINVAL;
			s->l3len = h->csum_start;
			s->csum_off = (uint16_t)(h->csum_start + h->csum_offset);
		}
		s->hlen = (uint16_t)(len > GSO_MAX_LEN ? GSO_MAX_LEN : len);
		return 0;
	}

	if (type == GSO_TYPE_TCPV4 && s->family == AF_INET)
		s->proto = IPPROTO_TCP;
	else if (type == GSO_TYPE_TCPV6 && s->family == AF_INET6)
		s->proto = IPPROTO_TCP;
	else if (type == GSO_TYPE_UDP_L4)
		s->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	s->l3len = h->csum_start;
	if (s->family == AF_INET) {
		ihl = (size_t)(pkt[0] & 15) * 4;
		if (ihl < 20 || s->l3len != ihl || pkt[9] != s->proto ||
		    (bytes_load_be16(pkt + 6) & 0x3fff))
			return -EINVAL;
	} else {
		/* extension headers are copied whole; csum_start says where they end */
		if (s->l3len < 40 || (s->l3len == 40 && pkt[6] != s->proto))
			return -EINVAL;
	}
	if (s->proto == IPPROTO_TCP) {
		if ((size_t)s->l3len + 20 > len || (pkt[s->l3len + 12] >> 4) < 5)
			return -EINVAL;
		hlen = s->l3len + (size_t)(pkt[s->l3len + 12] >> 4) * 4;
	} else {
		hlen = (size_t)s->l3len + 8;
	}
	/* in size_t: a csum_start near 64 KiB must not wrap hlen around */
	if (hlen > len || !h->gso_size || hlen + h->gso_size > GSO_MAX_LEN)
		return -EINVAL;
	s->hlen = (uint16_t)hlen;
	s->gso_size = h->gso_size;
	s->ecn = h->gso_type & GSO_TYPE_ECN;
	return 0;
}

size_t gso_split_next_len(const struct gso_split *s)
{
	size_t left;

	if (s->done)
		return 0;
	if (!s->proto)
		return s->len;
	left = s->len - s->hlen - s->off;
	return s->hlen + (left < s->gso_size ? left : s->gso_size);
}

size_t gso_split_next(struct gso_split *s, uint8_t *out)
{
	size_t n = gso_split_next_len(s), chunk, l4len;
	uint8_t *l4 = out + s->l3len;
	uint16_t c;
	uint64_t sum;
	bool last;

	if (!n)
		return 0;
	if (!s->proto) {
		memcpy(out, s->pkt, n);
		if (s->csum_off) {
			/* the field holds the pseudo-header sum: sum over it */
			c = csum_finish(csum_partial(out + s->l3len, n - s->l3len, 0));
			csum_store(out + s->csum_off, c ? c : 0xffff);
		}
		s->done = true;
		return n;
	}
	chunk = n - s->hlen;
	last = s->hlen + s->off + chunk == s->len;
	memcpy(out, s->pkt, s->hlen);
	memcpy(out + s->hlen, s->pkt + s->hlen + s->off, chunk);
	if (s->family == AF_INET) {
		bytes_store_be16(out + 2, (uint16_t)n);
		bytes_store_be16(out + 4, (uint16_t)(bytes_load_be16(s->pkt + 4) + s->seg));
		csum_ipv4_header(out, s->l3len);
	} else {
		bytes_store_be16(out + 4, (uint16_t)(n - 40));
	}
	l4len = n - s->l3len;
	if (s->proto == IPPROTO_TCP) {
		bytes_store_be32(l4 + 4, bytes_load_be32(s->pkt + s->l3len + 4) + s->off);
		if (!last)
			l4[13] &= (uint8_t)~(GSO_TCP_FIN | GSO_TCP_PSH);
		if (s->seg)
			l4[13] &= (uint8_t)~GSO_TCP_CWR;
		l4[16] = l4[17] = 0;
	} else {
		bytes_store_be16(l4 + 4, (uint16_t)l4len);
		l4[6] = l4[7] = 0;
	}
	sum = csum_pseudo(s->family, gso_saddr(out, s->family), gso_daddr(out, s->family),
			  s->proto, (uint32_t)l4len);
	c = csum_finish(csum_partial(l4, l4len, sum));
	if (s->proto == IPPROTO_UDP && !c)
		c = 0xffff;	/* zero would mean "no checksum" */
	csum_store(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), c);
	s->off += (uint32_t)chunk;
	s->seg++;
	if (last)
		s->done = true;
	return n;
}

/* ---- merging ---------------------------------------------------------------- */

struct gso_parsed {
	uint8_t kind;
	bool candidate;		/* may start or join a superpacket */
	bool valid;		/* checksum verified */
	uint16_t l3len, hlen;
	uint32_t payload;
};

/*
 * What a packet is, as far as merging cares. Anything unusual (IPv4
 * options, fragments, IPv6 extension headers, lengths that disagree) is
 * GSO_KIND_NONE or not a candidate, and goes to the device as it is.
 */
static void gso_parse(const struct gso_merge *m, const uint8_t *p, size_t len,
		      struct gso_parsed *o)
{
	uint8_t proto;
	size_t l3len;
	int family;

	memset(o, 0, sizeof(*o));
	if (len < 20 || len > GSO_MAX_LEN)
		return;
	if ((p[0] >> 4) == 4) {
		l3len = (size_t)(p[0] & 15) * 4;
		/* fragments, and the reserved flag: segments could not keep it */
		if (l3len < 20 || l3len > len || bytes_load_be16(p + 2) != len ||
		    (bytes_load_be16(p + 6) & (uint16_t)~(GSO_IP_DF << 8)))
			return;
		proto = p[9];
		family = AF_INET;
	} else if ((p[0] >> 4) == 6) {
		if (len < 40 || bytes_load_be16(p + 4) + 40u != len)
			return;
		l3len = 40;
		proto = p[6];
		family = AF_INET6;
	} else {
		return;
	}
	if (proto == IPPROTO_TCP) {
		if (l3len + 20 > len || (p[l3len + 12] >> 4) < 5 ||
		    l3len + (p[l3len + 12] >> 4) * 4u > len)
			return;
		o->kind = family == AF_INET ? GSO_KIND_TCP4 : GSO_KIND_TCP6;
		o->hlen = (uint16_t)(l3len + (p[l3len + 12] >> 4) * 4u);
		o->candidate = (m->offloads & GSO_OFFLOAD_TCP) &&
			       (p[l3len + 13] & (uint8_t)~GSO_TCP_PSH) == GSO_TCP_ACK;
	} else if (proto == IPPROTO_UDP) {
		if (l3len + 8 > len || bytes_load_be16(p + l3len + 4) != len - l3len)
			return;
		o->kind = family == AF_INET ? GSO_KIND_UDP4 : GSO_KIND_UDP6;
		o->hlen = (uint16_t)(l3len + 8);
		o->candidate = m->offloads & GSO_OFFLOAD_UDP;
	} else {
		return;
	}
	o->l3len = (uint16_t)l3len;
	o->payload = (uint32_t)(len - o->hlen);
	if (!o->payload || (family == AF_INET && l3len != 20))
		o->candidate = false;
	if (o->candidate || (m->offloads & GSO_OFFLOAD_VALID)) {
		o->valid = csum_l4_valid(family, gso_saddr(p, family), gso_daddr(p, family),
					 proto, p + l3len, len - l3len);
		if (o->valid && family == AF_INET)
			o->valid = csum_fold(csum_partial(p, l3len, 0)) == 0xffff;
		o->candidate &= o->valid;
	}
}

/* Same addresses and ports (the kinds already agree). */
static bool gso_same_flow(const struct gso_item *it, const uint8_t *q, const struct gso_parsed *o)
{
	const uint8_t *p = it->pkt;

	if (it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_UDP4) {
		if (memcmp(p + 12, q + 12, 8))
			return false;
	} else if (memcmp(p + 8, q + 8, 32)) {
		return false;
	}
	return !memcmp(p + it->l3len, q + o->l3len, 4);
}

static bool gso_can_append(const struct gso_item *it, const uint8_t *q,
			   const struct gso_parsed *o)
{
	const uint8_t *p = it->pkt, *pl4 = p + it->l3len, *ql4 = q + o->l3len;

	if (!it->open || !o->candidate || o->hlen != it->hlen ||
	    it->nseg >= GSO_MERGE_MAX_SEGS || o->payload > it->seg_size ||
	    (size_t)it->hlen + it->payload + o->payload > GSO_MAX_LEN)
		return false;
	if (it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_UDP4) {
		if (p[1] != q[1] || p[8] != q[8] || ((p[6] ^ q[6]) & GSO_IP_DF))
			return false;
		/* without DF the ids must be what segmentation will write */
		if (!(q[6] & GSO_IP_DF) && bytes_load_be16(q + 4) != it->next_id)
			return false;
	} else if (memcmp(p, q, 4) || p[7] != q[7]) {
		return false;
	}
	if (it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_TCP6) {
		if (bytes_load_be32(ql4 + 4) != it->next_seq ||
		    memcmp(pl4 + 8, ql4 + 8, 4) ||		/* ack */
		    pl4[12] != ql4[12] ||			/* data offset */
		    memcmp(pl4 + 14, ql4 + 14, 2) ||		/* window */
		    memcmp(pl4 + 20, ql4 + 20, it->hlen - it->l3len - 20u))	/* options */
			return false;
	}
	return true;
}

void gso_merge_init(struct gso_merge *m, unsigned int offloads, gso_write_fn write,
		    void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->offloads = offloads;
	m->write = write;
	m->ctx = ctx;
}

int gso_merge_add(struct gso_merge *m, uint8_t *pkt, size_t len)
{
	struct gso_parsed o;
	struct gso_item *it;
	struct gso_seg *sg;
	size_t i, stop;
	int ret = 0;

	if (m->n_items >= GSO_MERGE_PACKETS || m->n_segs >= GSO_MERGE_PACKETS)
		ret = gso_merge_flush(m);
	m->stats.packets++;
	gso_parse(m, pkt, len, &o);
	if (o.kind != GSO_KIND_NONE) {
		stop = m->n_items > GSO_MERGE_LOOKBACK ? m->n_items - GSO_MERGE_LOOKBACK : 0;
		for (i = m->n_items; i-- > stop;) {
			it = &m->items[i];
			if (it->kind != o.kind || !gso_same_flow(it, pkt, &o))
				continue;
			/* only the flow's newest item: anything else would reorder */
			if (!gso_can_append(it, pkt, &o))
				break;
			sg = &m->segs[m->n_segs];
			sg->p = pkt + o.hlen;
			sg->len = o.payload;
			sg->next = -1;
			if (it->last >= 0)
				m->segs[it->last].next = (int32_t)m->n_segs;
			else
				it->first = (int32_t)m->n_segs;
			it->last = (int32_t)m->n_segs++;
			it->payload += o.payload;
			it->nseg++;
			it->next_seq += o.payload;
			it->next_id = (uint16_t)(bytes_load_be16(pkt + 4) + 1);
			if (o.payload < it->seg_size)
				it->open = false;
			if ((it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_TCP6) &&
			    (pkt[o.l3len + 13] & GSO_TCP_PSH)) {
				it->psh = true;
				it->open = false;
			}
			m->stats.merged++;
			return ret;
		}
	}
	it = &m->items[m->n_items++];
	memset(it, 0, sizeof(*it));
	it->pkt = pkt;
	it->len = (uint32_t)len;
	it->kind = o.kind;
	it->l3len = o.l3len;
	it->hlen = o.hlen;
	it->payload = o.payload;
	it->seg_size = (uint16_t)o.payload;
	it->nseg = 1;
	it->first = it->last = -1;
	it->valid = o.valid;
	it->open = o.candidate;
	if (o.kind == GSO_KIND_TCP4 || o.kind == GSO_KIND_TCP6) {
		it->next_seq = bytes_load_be32(pkt + o.l3len + 4) + o.payload;
		if (pkt[o.l3len + 13] & GSO_TCP_PSH)
			it->open = false;
	}
	if (o.kind == GSO_KIND_TCP4 || o.kind == GSO_KIND_UDP4)
		it->next_id = (uint16_t)(bytes_load_be16(pkt + 4) + 1);
	return ret;
}

/* Give the item's first packet the headers of the whole superpacket. */
static void gso_item_finish(const struct gso_item *it, struct gso_hdr *h)
{
	uint8_t *p = it->pkt, *l4 = p + it->l3len;
	size_t total = (size_t)it->hlen + it->payload, l4len = total - it->l3len;
	bool v4 = it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_UDP4;
	bool tcp = it->kind == GSO_KIND_TCP4 || it->kind == GSO_KIND_TCP6;
	uint64_t sum;

	if (v4) {
		bytes_store_be16(p + 2, (uint16_t)total);
		csum_ipv4_header(p, it->l3len);
	} else {
		bytes_store_be16(p + 4, (uint16_t)(total - 40));
	}
	if (!tcp)
		bytes_store_be16(l4 + 4, (uint16_t)l4len);
	else if (it->psh)
		l4[13] |= GSO_TCP_PSH;
	/* NEEDS_CSUM: the field holds the pseudo-header sum, the kernel adds the rest */
	sum = csum_pseudo(v4 ? AF_INET : AF_INET6, gso_saddr(p, v4 ? AF_INET : AF_INET6),
			  gso_daddr(p, v4 ? AF_INET : AF_INET6),
			  tcp ? IPPROTO_TCP : IPPROTO_UDP, (uint32_t)l4len);
	csum_store(l4 + (tcp ? 16 : 6), csum_fold(sum));
	h->flags = GSO_F_NEEDS_CSUM;
	h->gso_type = it->kind == GSO_KIND_TCP4 ? GSO_TYPE_TCPV4 :
		      it->kind == GSO_KIND_TCP6 ? GSO_TYPE_TCPV6 : GSO_TYPE_UDP_L4;
	h->hdr_len = it->hlen;
	h->gso_size = it->seg_size;
	h->csum_start = it->l3len;
	h->csum_offset = tcp ? 16 : 6;
}

int gso_merge_flush(struct gso_merge *m)
{
	struct gso_hdr h;
	int ret = 0, err, n;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct gso_item *it = &m->items[i];

		memset(&h, 0, sizeof(h));
		if (it->nseg > 1)
			gso_item_finish(it, &h);
		else if (it->valid && (m->offloads & GSO_OFFLOAD_VALID))
			h.flags = GSO_F_DATA_VALID;
		gso_hdr_write(&h, m->hdr);
		m->iov[0].iov_base = m->hdr;
		m->iov[0].iov_len = GSO_HDR_LEN;
		m->iov[1].iov_base = it->pkt;
		m->iov[1].iov_len = it->len;
		n = 2;
		for (int32_t s = it->first; s >= 0; s = m->segs[s].next) {
			m->iov[n].iov_base = m->segs[s].p;
			m->iov[n++].iov_len = m->segs[s].len;
		}
		err = m->write(m->ctx, m->iov, n);
		m->stats.writes++;
		if (err < 0) {
			m->stats.errors++;
			if (!ret)
				ret = err;
		}
	}
	m->n_items = 0;
	m->n_segs = 0;
	return ret;
}
