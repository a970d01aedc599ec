/* fuzz_gso.c - libFuzzer harness: TUN superpackets split, IP packets merged */

/*
 * The low bit of the first byte picks the side:
 *   0  split: the next 10 bytes are a virtio-net header, the rest the
 *      packet. Every segment is written so that it ends where its buffer
 *      ends (ASan sees any write past it) and must be a packet of its own:
 *      IP lengths equal to its length, IPv4 header checksum and transport
 *      checksum right (csum.c), headers as the original's but for the
 *      fields segmentation rewrites, payloads in order and adding up to
 *      the original's, sequence numbers following them. A packet that is
 *      not segmented comes out unchanged but for the checksum it was asked
 *      to finish.
 *   1  merge: bits 1-3 are the offloads (GSO_OFFLOAD_*); bit 4 fixes each
 *      packet's IP, UDP lengths and bit 5 its checksums (so that the
 *      fuzzer gets past them); the rest is packets, each a 16-bit
 *      little-endian length and that many bytes. Every packet must be
 *      written exactly once; a superpacket must have consistent headers
 *      and cut by gso_split give back its packets (IPv4 ids of DF packets
 *      and the encoding of checksums aside); a packet marked DATA_VALID
 *      must have right checksums; the counters must add up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "csum.h"
#include "gso.h"

#define FZ_MAX_LEN	(65535 + 64)
#define FZ_PKTS		256
#define FZ_CANARY	256

static uint8_t *outbuf;		/* FZ_MAX_LEN bytes, from malloc: redzone at the end */
static struct gso_merge merger;
static uint8_t pool[FZ_PKTS][2048], orig[FZ_PKTS][2048];
static size_t pool_len[FZ_PKTS];
static unsigned int seen[FZ_PKTS];
static size_t n_pkts, n_writes;
static uint8_t super[70000], seg[70000];

static void fz_fail(void)
{
	__builtin_trap();
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int family_of(const uint8_t *p)
{
	return (p[0] >> 4) == 4 ? AF_INET : AF_INET6;
}

static const uint8_t *saddr(const uint8_t *p)
{
	return family_of(p) == AF_INET ? p + 12 : p + 8;
}

static const uint8_t *daddr(const uint8_t *p)
{
	return family_of(p) == AF_INET ? p + 16 : p + 24;
}

static bool ip_csum_ok(const uint8_t *p, size_t l3len)
{
	return family_of(p) != AF_INET || csum_fold(csum_partial(p, l3len, 0)) == 0xffff;
}

/* ---- split ---------------------------------------------------------------- */

/* Header bytes segmentation may rewrite, relative to the segment. */
static bool split_rewrites(const struct gso_split *s, size_t i)
{
	size_t t = i - s->l3len;

	if (i < s->l3len) {
		if (s->family == AF_INET)
			return (i >= 2 && i < 6) || i == 10 || i == 11;
		return i == 4 || i == 5;
	}
	if (s->proto == IPPROTO_TCP)
		return (t >= 4 && t < 8) || t == 13 || t == 16 || t == 17;
	return t >= 4 && t < 8;
}

static void check_split(const struct gso_hdr *h, const uint8_t *pkt, size_t len)
{
	struct gso_split s;
	size_t n, got, off = 0, k = 0, i, canary;
	uint8_t *out;

	if (gso_split_init(&s, h, pkt, len) < 0)
		return;
	if (s.hlen > len || (s.proto && (s.l3len < 20 || s.l3len >= s.hlen)))
		fz_fail();
	while ((n = gso_split_next_len(&s)) > 0) {
		if (n > FZ_MAX_LEN || k > 65536)
			fz_fail();
		out = outbuf + FZ_MAX_LEN - n;
		/* and nothing may be written just before it */
		canary = n + FZ_CANARY <= FZ_MAX_LEN ? FZ_CANARY : FZ_MAX_LEN - n;
		memset(out - canary, 0xa5, canary);
		got = gso_split_next(&s, out);
		if (got != n)
			fz_fail();
		for (i = 1; i <= canary; i++)
			if (out[-(ptrdiff_t)i] != 0xa5)
				fz_fail();
		if (!s.proto) {
			/* unchanged but for the checksum it finishes */
			for (i = 0; i < n; i++)
				if (out[i] != pkt[i] &&
				    !(h->flags & GSO_F_NEEDS_CSUM &&
				      i >= (size_t)h->csum_start + h->csum_offset &&
				      i < (size_t)h->csum_start + h->csum_offset + 2u))
					fz_fail();
			/*
			 * The field held a sum to fold in (the pseudo-header's):
			 * with it, the region must now sum to zero.
			 */
			if ((h->flags & GSO_F_NEEDS_CSUM) && !(h->csum_offset & 1) &&
			    csum_fold(csum_partial(pkt + h->csum_start + h->csum_offset, 2,
						   csum_partial(out + h->csum_start,
								n - h->csum_start, 0))) != 0xffff)
				fz_fail();
			if (gso_split_next_len(&s) || gso_split_next(&s, out))
				fz_fail();
			return;
		}
		/* a packet of its own */
		if (n > 65535 || n < s.hlen || n - s.hlen > s.gso_size)
			fz_fail();
		if (s.family == AF_INET ? be16(out + 2) != n : be16(out + 4) + 40u != n)
			fz_fail();
		if (!ip_csum_ok(out, s.l3len) ||
		    !csum_l4_valid(s.family, saddr(out), daddr(out), s.proto, out + s.l3len,
				   n - s.l3len))
			fz_fail();
		for (i = 0; i < s.hlen; i++)
			if (out[i] != pkt[i] && !split_rewrites(&s, i))
				fz_fail();
		if (memcmp(out + s.hlen, pkt + s.hlen + off, n - s.hlen))
			fz_fail();
		if (s.proto == IPPROTO_TCP &&
		    be32(out + s.l3len + 4) != be32(pkt + s.l3len + 4) + (uint32_t)off)
			fz_fail();
		if (s.proto == IPPROTO_UDP && be16(out + s.l3len + 4) != n - s.l3len)
			fz_fail();
		off += n - s.hlen;
		k++;
		/* a short segment is the last one */
		if (n - s.hlen < s.gso_size && gso_split_next_len(&s))
			fz_fail();
	}
	if (s.proto && (off != len - s.hlen || !k))
		fz_fail();
}

/* ---- merge ---------------------------------------------------------------- */

/* Which input packet does p point into? */
static size_t pkt_index(const void *p)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n_pkts; i++)
		if (b >= pool[i] && b < pool[i] + sizeof(pool[i]))
			return i;
	fz_fail();
	return 0;
}

static size_t l3len_of(const uint8_t *p)
{
	return family_of(p) == AF_INET ? (size_t)(p[0] & 15) * 4 : 40;
}

static uint8_t proto_of(const uint8_t *p)
{
	return family_of(p) == AF_INET ? p[9] : p[6];
}

static bool l4_ok(const uint8_t *p, size_t len)
{
	size_t l3 = l3len_of(p);

	return l3 <= len && ip_csum_ok(p, l3) &&
	       csum_l4_valid(family_of(p), saddr(p), daddr(p), proto_of(p), p + l3, len - l3);
}

/* A segment cut from a superpacket against the packet it was made of. */
static void check_resegment(const uint8_t *s, size_t n, size_t idx)
{
	const uint8_t *o = orig[idx];
	size_t l3 = l3len_of(o), i, ck;

	if (n != pool_len[idx] || !l4_ok(s, n))
		fz_fail();
	ck = l3 + (proto_of(o) == IPPROTO_TCP ? 16 : 6);
	for (i = 0; i < n; i++) {
		if (s[i] == o[i] || i == ck || i == ck + 1)
			continue;
		/* the urgent pointer means nothing without URG, which no merged packet has */
		if (proto_of(o) == IPPROTO_TCP && (i == l3 + 18 || i == l3 + 19))
			continue;
		if (family_of(o) == AF_INET && (i == 10 || i == 11))
			continue;
		if (family_of(o) == AF_INET && (o[6] & 0x40) && (i == 4 || i == 5))
			continue;
		fz_fail();
	}
}

static int fz_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct gso_hdr h;
	struct gso_split s;
	size_t len = 0, first, idx[GSO_MERGE_MAX_SEGS + 1] = { 0 }, k, got;
	int i;

	(void)ctx;
	if (iovcnt < 2 || iovcnt > GSO_MERGE_MAX_SEGS + 2 || iov[0].iov_len != GSO_HDR_LEN)
		fz_fail();
	gso_hdr_read(&h, iov[0].iov_base);
	for (i = 1; i < iovcnt; i++) {
		k = pkt_index(iov[i].iov_base);
		if (seen[k]++ || len + iov[i].iov_len > sizeof(super))
			fz_fail();
		idx[i - 1] = k;
		memcpy(super + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	first = idx[0];
	if (iov[1].iov_base != pool[first])
		fz_fail();
	n_writes++;
	if (h.gso_type == GSO_TYPE_NONE) {
		if (iovcnt != 2 || len != pool_len[first] || memcmp(super, orig[first], len))
			fz_fail();
		if (h.flags & ~GSO_F_DATA_VALID)
			fz_fail();
		if (h.flags && !(merger.offloads & GSO_OFFLOAD_VALID))
			fz_fail();
		if (h.flags && !l4_ok(super, len))
			fz_fail();
		return 0;
	}
	/* a superpacket: consistent, and cut again it gives back its packets */
	if (iovcnt < 3 || len > 65535 || h.flags != GSO_F_NEEDS_CSUM)
		fz_fail();
	if (h.gso_type == GSO_TYPE_UDP_L4 ? !(merger.offloads & GSO_OFFLOAD_UDP) :
					    !(merger.offloads & GSO_OFFLOAD_TCP))
		fz_fail();
	if (family_of(super) == AF_INET ? be16(super + 2) != len : be16(super + 4) + 40u != len)
		fz_fail();
	if (!ip_csum_ok(super, h.csum_start))
		fz_fail();
	if (gso_split_init(&s, &h, super, len) < 0 || s.hlen != h.hdr_len)
		fz_fail();
	k = 0;
	while ((got = gso_split_next(&s, seg)) > 0) {
		if (k >= (size_t)iovcnt - 1)
			fz_fail();
		check_resegment(seg, got, idx[k]);
		k++;
	}
	if (k != (size_t)iovcnt - 1)
		fz_fail();
	return 0;
}

/* Make lengths (and, with csum, checksums) right so packets can merge. */
static void fixup(uint8_t *p, size_t len, bool lengths, bool csum)
{
	size_t l3, ck;
	uint8_t proto;
	uint16_t c;

	if (len < 20 || ((p[0] >> 4) != 4 && (p[0] >> 4) != 6) ||
	    ((p[0] >> 4) == 6 && len < 40))
		return;
	l3 = l3len_of(p);
	if (l3 < 20 || l3 > len)
		return;
	proto = proto_of(p);
	if (lengths) {
		if (family_of(p) == AF_INET)
			put16(p + 2, len);
		else
			put16(p + 4, len - 40);
		if (proto == IPPROTO_UDP && l3 + 8 <= len)
			put16(p + l3 + 4, len - l3);
	}
	if (!csum)
		return;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		ck = l3 + (proto == IPPROTO_TCP ? 16 : 6);
		if (ck + 2 <= len) {
			p[ck] = p[ck + 1] = 0;
			c = csum_finish(csum_partial(p + l3, len - l3,
						     csum_pseudo(family_of(p), saddr(p), daddr(p),
								 proto, (uint32_t)(len - l3))));
			if (proto == IPPROTO_UDP && !c)
				c = 0xffff;
			csum_store(p + ck, c);
		}
	}
	if (family_of(p) == AF_INET)
		csum_ipv4_header(p, l3);
}

static void check_merge(uint8_t mode, const uint8_t *data, size_t size)
{
	size_t i, n;

	gso_merge_init(&merger, (mode >> 1) & 7, fz_write, NULL);
	n_pkts = n_writes = 0;
	while (size && n_pkts < FZ_PKTS) {
		n = size >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
		data += size >= 2 ? 2 : size;
		size -= size >= 2 ? 2 : size;
		if (n > size)
			n = size;
		if (n > sizeof(pool[0]))
			n = sizeof(pool[0]);
		memcpy(pool[n_pkts], data, n);
		fixup(pool[n_pkts], n, mode & 0x10, mode & 0x20);
		memcpy(orig[n_pkts], pool[n_pkts], n);
		pool_len[n_pkts] = n;
		seen[n_pkts] = 0;
		n_pkts++;
		data += n;
		size -= n;
	}
	for (i = 0; i < n_pkts; i++)
		if (gso_merge_add(&merger, pool[i], pool_len[i]))
			fz_fail();
	if (gso_merge_flush(&merger))
		fz_fail();
	for (i = 0; i < n_pkts; i++)
		if (seen[i] != 1)
			fz_fail();
	if (merger.stats.packets != n_pkts || merger.stats.writes != n_writes ||
	    merger.stats.merged != n_pkts - n_writes || merger.stats.errors)
		fz_fail();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gso_hdr h;
	uint8_t *pkt;

	if (!outbuf) {
		outbuf = malloc(FZ_MAX_LEN);
		if (!outbuf)
			abort();
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		check_merge(data[0], data + 1, size - 1);
		return 0;
	}
	if (size < 1 + GSO_HDR_LEN || size - 1 - GSO_HDR_LEN > FZ_MAX_LEN)
		return 0;
	gso_hdr_read(&h, data + 1);
	/* a copy of exactly the packet's size: reads past it are caught */
	size -= 1 + GSO_HDR_LEN;
	pkt = malloc(size ? size : 1);
	if (!pkt)
		abort();
	memcpy(pkt, data + 1 + GSO_HDR_LEN, size);
	check_split(&h, pkt, size);
	free(pkt);
	return 0;
}
