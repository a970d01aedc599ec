/* test_gso.c - superpackets cut into packets and packets merged back, checked byte for byte */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "gso.h"
#include "testutil.h"

#define TCP_FIN	0x01
#define TCP_SYN	0x02
#define TCP_PSH	0x08
#define TCP_ACK	0x10
#define TCP_CWR	0x80

/* ---- a reference checksum and packet builder, independent of csum.c ---- */


static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* Pseudo-header sum of the packet at p (IPv4 or IPv6 without extensions). */
static uint32_t ref_pseudo(const uint8_t *p, uint8_t proto, size_t l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if ((p[0] >> 4) == 4) {
		memcpy(ph, p + 12, 8);
		ph[9] = proto;
		put16(ph + 10, (uint32_t)l4len);
		return ref_sum(ph, 12, 0);
	}
	memcpy(ph, p + 8, 32);
	put32(ph + 32, (uint32_t)l4len);
	ph[39] = proto;
	return ref_sum(ph, 40, 0);
}

static size_t l3len_of(const uint8_t *p)
{
	return (p[0] >> 4) == 4 ? (size_t)(p[0] & 15) * 4 : 40;
}

/* Is the transport checksum of this whole packet right? */
static bool ref_l4_ok(const uint8_t *p, size_t len)
{
	size_t l3 = l3len_of(p);
	uint8_t proto = (p[0] >> 4) == 4 ? p[9] : p[6];

	return ref_fold(ref_sum(p + l3, len - l3, ref_pseudo(p, proto, len - l3))) == 0xffff;
}

/* Recompute the transport checksum after a test changed a header. */
static void fix_l4(uint8_t *p, size_t len)
{
	size_t l3 = l3len_of(p);
	uint8_t proto = (p[0] >> 4) == 4 ? p[9] : p[6];
	size_t off = l3 + (proto == IPPROTO_TCP ? 16 : 6);

	p[off] = p[off + 1] = 0;
	put16(p + off, (uint16_t)~ref_fold(ref_sum(p + l3, len - l3,
						    ref_pseudo(p, proto, len - l3))));
}

static bool ref_ip_ok(const uint8_t *p)
{
	if ((p[0] >> 4) != 4)
		return true;
	return ref_fold(ref_sum(p, l3len_of(p), 0)) == 0xffff;
}

struct pkt_spec {
	int family;
	uint8_t proto;
	uint8_t flags;		/* TCP */
	uint32_t seq, ack;
	uint16_t id;
	bool df;
	uint8_t tos, ttl;
	uint16_t window;
	size_t optlen;		/* TCP options, a multiple of 4 */
	uint8_t opt_fill;
	uint16_t sport, dport;
	uint8_t src_last;	/* last byte of the source address */
};

static struct pkt_spec spec_default(int family, uint8_t proto)
{
	struct pkt_spec s = {
		.family = family, .proto = proto, .flags = TCP_ACK, .seq = 0xfffff000u,
		.ack = 77777, .id = 0xfffe, .df = true, .tos = 0, .ttl = 64,
		.window = 500, .optlen = 12, .opt_fill = 1, .sport = 40000, .dport = 5201,
		.src_last = 1,
	};
	return s;
}

/* Build one packet with payload pl (n bytes) and correct checksums; returns its length. */
static size_t build(uint8_t *out, const struct pkt_spec *s, const uint8_t *pl, size_t n)
{
	size_t l3 = s->family == AF_INET ? 20 : 40;
	size_t l4h = s->proto == IPPROTO_TCP ? 20 + s->optlen : 8;
	size_t len = l3 + l4h + n;
	uint8_t *l4 = out + l3;

	memset(out, 0, l3 + l4h);
	if (s->family == AF_INET) {
		out[0] = 0x45;
		out[1] = s->tos;
		put16(out + 2, (uint32_t)len);
		put16(out + 4, s->id);
		out[6] = s->df ? 0x40 : 0;
		out[8] = s->ttl;
		out[9] = s->proto;
		out[12] = 10; out[13] = 9; out[14] = 8; out[15] = s->src_last;
		out[16] = 172; out[17] = 17; out[18] = 0; out[19] = 2;
		put16(out + 10, (uint16_t)~ref_fold(ref_sum(out, 20, 0)));
	} else {
		out[0] = 0x60 | (s->tos >> 4);
		out[1] = (uint8_t)(s->tos << 4) | 0x0a;
		out[2] = 0xbc;
		out[3] = 0xde;
		put16(out + 4, (uint32_t)(len - 40));
		out[6] = s->proto;
		out[7] = s->ttl;
		out[8] = 0xfd;
		out[23] = s->src_last;
		out[24] = 0xfd;
		out[25] = 0x01;
		out[39] = 2;
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(((20 + s->optlen) / 4) << 4);
		l4[13] = s->flags;
		put16(l4 + 14, s->window);
		for (size_t i = 0; i < s->optlen; i++)
			l4[20 + i] = (uint8_t)(s->opt_fill + i);
	} else {
		put16(l4 + 4, (uint32_t)(l4h + n));
	}
	memcpy(out + l3 + l4h, pl, n);
	{
		uint16_t c = (uint16_t)~ref_fold(ref_sum(l4, len - l3,
					ref_pseudo(out, s->proto, len - l3)));
		if (s->proto == IPPROTO_UDP && !c)
			c = 0xffff;
		put16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), c);
	}
	return len;
}

/* ---- capturing what gso_merge writes ---------------------------------- */

#define CAP_MAX	64
static struct {
	struct gso_hdr h;
	uint8_t buf[70000];
	size_t len;
} cap[CAP_MAX];
static size_t n_cap;
static bool cap_count_only;	/* keep only the number of writes */

static int cap_write(void *ctx, const struct iovec *iov, int n)
{
	(void)ctx;
	if (cap_count_only)
		return 0;
	assert_true(n_cap < CAP_MAX);
	assert_int_equal(iov[0].iov_len, GSO_HDR_LEN);
	gso_hdr_read(&cap[n_cap].h, iov[0].iov_base);
	cap[n_cap].len = 0;
	for (int i = 1; i < n; i++) {
		assert_true(cap[n_cap].len + iov[i].iov_len <= sizeof(cap[0].buf));
		memcpy(cap[n_cap].buf + cap[n_cap].len, iov[i].iov_base, iov[i].iov_len);
		cap[n_cap].len += iov[i].iov_len;
	}
	n_cap++;
	return 0;
}

static struct gso_merge merger;

static void merge_start(unsigned int offloads)
{
	n_cap = 0;
	gso_merge_init(&merger, offloads, cap_write, NULL);
}

/* Packets to merge live here: the merger keeps pointers until the flush. */
static uint8_t pool[128][1600];
static size_t pool_len[128];

/* ---- splitting ------------------------------------------------------------ */

static uint8_t super[70000];
static uint8_t seg[70000];

/* Split a superpacket built from spec with total payload n; check every segment. */
static void split_and_check(const struct pkt_spec *sp, size_t n, uint16_t gso_size, bool ecn)
{
	static uint8_t pl[66000];
	struct pkt_spec s = *sp;
	struct gso_split sx;
	struct gso_hdr h = { 0 };
	size_t len, l3, hlen, off = 0, k = 0, got;

	for (size_t i = 0; i < n; i++)
		pl[i] = (uint8_t)rng();
	len = build(super, &s, pl, n);
	l3 = s.family == AF_INET ? 20 : 40;
	hlen = l3 + (s.proto == IPPROTO_TCP ? 20 + s.optlen : 8);
	/* what a TUN read hands over: partial checksum, possibly bogus hdr_len */
	h.flags = GSO_F_NEEDS_CSUM;
	h.gso_type = s.proto == IPPROTO_UDP ? GSO_TYPE_UDP_L4 :
		     s.family == AF_INET ? GSO_TYPE_TCPV4 : GSO_TYPE_TCPV6;
	if (ecn)
		h.gso_type |= GSO_TYPE_ECN;
	h.hdr_len = 1;
	h.gso_size = gso_size;
	h.csum_start = (uint16_t)l3;
	h.csum_offset = s.proto == IPPROTO_TCP ? 16 : 6;
	assert_int_equal(gso_split_init(&sx, &h, super, len), 0);
	while ((got = gso_split_next_len(&sx)) > 0) {
		size_t chunk = n - off < gso_size ? n - off : gso_size;
		bool last = off + chunk == n;
		uint8_t want[2000];
		struct pkt_spec ws = s;

		assert_int_equal(got, hlen + chunk);
		assert_int_equal(gso_split_next(&sx, seg), got);
		/* the segment must be exactly what a sender would have built */
		ws.seq = s.seq + (uint32_t)off;
		ws.id = (uint16_t)(s.id + k);
		if (!last)
			ws.flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (k)
			ws.flags &= (uint8_t)~TCP_CWR;
		assert_int_equal(build(want, &ws, pl + off, chunk), got);
		assert_memory_equal(seg, want, got);
		assert_true(ref_ip_ok(seg));
		assert_true(ref_l4_ok(seg, got));
		off += chunk;
		k++;
	}
	assert_int_equal(off, n);
	assert_int_equal(k, n ? (n + gso_size - 1) / gso_size : 1);
	assert_int_equal(gso_split_next(&sx, seg), 0);
}

static void test_split_tcp4(void **state)
{
	struct pkt_spec s = spec_default(AF_INET, IPPROTO_TCP);

	(void)state;
	s.flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
	split_and_check(&s, 65000, 1448, true);	/* seq and id wrap on the way */
	split_and_check(&s, 4344, 1448, false);	/* exact multiple: last is full */
	split_and_check(&s, 100, 1448, false);	/* one short segment */
	s.optlen = 0;
	s.df = false;
	split_and_check(&s, 3000, 536, false);
	s.optlen = 40;
	split_and_check(&s, 5001, 1000, false);
}

static void test_split_tcp6(void **state)
{
	struct pkt_spec s = spec_default(AF_INET6, IPPROTO_TCP);

	(void)state;
	s.flags = TCP_ACK | TCP_PSH;
	s.tos = 0xb8;
	split_and_check(&s, 60000, 1428, false);
	split_and_check(&s, 1, 1428, false);
}

static void test_split_udp(void **state)
{
	struct pkt_spec s4 = spec_default(AF_INET, IPPROTO_UDP);
	struct pkt_spec s6 = spec_default(AF_INET6, IPPROTO_UDP);

	(void)state;
	split_and_check(&s4, 64000, 1200, false);
	split_and_check(&s4, 2400, 1200, false);
	split_and_check(&s6, 10001, 1000, false);
	split_and_check(&s6, 64, 64, false);
}

/* GSO_TYPE_NONE + NEEDS_CSUM: one packet, checksum finished; without: untouched. */
static void test_split_needs_csum(void **state)
{
	struct pkt_spec s = spec_default(AF_INET6, IPPROTO_UDP);
	uint8_t pl[300], want[400], out[400];
	struct gso_split sx;
	struct gso_hdr h = { 0 };
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)rng();
	len = build(want, &s, pl, sizeof(pl));
	memcpy(super, want, len);
	/* the kernel leaves the pseudo-header sum in the field */
	put16(super + 40 + 6, ref_fold(ref_pseudo(super, IPPROTO_UDP, len - 40)));
	h.flags = GSO_F_NEEDS_CSUM;
	h.csum_start = 40;
	h.csum_offset = 6;
	assert_int_equal(gso_split_init(&sx, &h, super, len), 0);
	assert_int_equal(gso_split_next_len(&sx), len);
	assert_int_equal(gso_split_next(&sx, out), len);
	assert_memory_equal(out, want, len);
	assert_int_equal(gso_split_next_len(&sx), 0);

	memset(&h, 0, sizeof(h));
	super[50] ^= 1;		/* no offload: passed on as it is, even if wrong */
	assert_int_equal(gso_split_init(&sx, &h, super, len), 0);
	assert_int_equal(gso_split_next(&sx, out), len);
	assert_memory_equal(out, super, len);
}

static void test_split_rejects(void **state)
{
	struct pkt_spec s = spec_default(AF_INET, IPPROTO_TCP);
	uint8_t pl[3000] = { 0 };
	struct gso_split sx;
	struct gso_hdr h = { .flags = GSO_F_NEEDS_CSUM, .gso_type = GSO_TYPE_TCPV4,
			     .gso_size = 1000, .csum_start = 20, .csum_offset = 16 };
	struct gso_hdr b;
	size_t len = build(super, &s, pl, sizeof(pl));

	(void)state;
	assert_int_equal(gso_split_init(&sx, &h, super, len), 0);
	b = h; b.gso_size = 0;
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	b = h; b.csum_start = 24;		/* transport header not where IHL says */
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	b = h; b.gso_type = GSO_TYPE_TCPV6;	/* IPv4 packet */
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	b = h; b.gso_type = 3;			/* UFO: never asked for */
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	b = h; b.gso_type = GSO_TYPE_UDP_L4;	/* protocol field says TCP */
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	b = h; b.gso_size = 65535;
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	assert_int_equal(gso_split_init(&sx, &h, super, 30), -EINVAL);	/* TCP header cut */
	assert_int_equal(gso_split_init(&sx, &h, super, 10), -EINVAL);
	b = h; b.gso_type = GSO_TYPE_NONE; b.csum_offset = 5000;
	assert_int_equal(gso_split_init(&sx, &b, super, len), -EINVAL);
	super[0] = 0x55;
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
	super[0] = 0x45;
	super[6] = 0x20;			/* a fragment cannot be a superpacket */
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
	super[6] = 0x40;
	super[32] = 0x40;			/* data offset 4: below the minimum */
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
}

/*
 * Offsets near 64 KiB in the header must not wrap the 16-bit header length
 * or checksum offset around (found by tests/fuzz/fuzz_gso.c): a csum_start
 * past the packet once gave hlen 2 and segments written far beyond their
 * buffer. And a checksum to finish inside the IP header is refused, not
 * skipped (offset 0 used to read as "no checksum").
 */
static void test_split_offsets_wrap(void **state)
{
	struct gso_split sx;
	struct gso_hdr h = { .flags = GSO_F_NEEDS_CSUM, .gso_type = GSO_TYPE_UDP_L4,
			     .gso_size = 10, .csum_start = 65530, .csum_offset = 6 };
	struct pkt_spec s = spec_default(AF_INET6, IPPROTO_UDP);
	uint8_t pl[60] = { 0 };
	size_t len = build(super, &s, pl, sizeof(pl));

	(void)state;
	/* UDP: csum_start + 8 wrapped to 2 */
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
	/* TCP: csum_start + a 60-byte header wrapped to 39 */
	memset(super, 0, 65575);
	super[0] = 0x60;
	super[6] = IPPROTO_TCP;
	super[65515 + 12] = 0xf0;
	h.gso_type = GSO_TYPE_TCPV6;
	h.gso_size = 1;
	h.csum_start = 65515;
	h.csum_offset = 16;
	assert_int_equal(gso_split_init(&sx, &h, super, 65575), -EINVAL);
	/* no GSO, NEEDS_CSUM: the field's offset would wrap to 24 */
	h.gso_type = GSO_TYPE_NONE;
	h.csum_start = 65500;
	h.csum_offset = 60;
	assert_int_equal(gso_split_init(&sx, &h, super, 65575), -EINVAL);
	/* ...or lie inside the IP header */
	len = build(super, &s, pl, sizeof(pl));
	h.csum_start = 0;
	h.csum_offset = 0;
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
	h.csum_start = 20;
	h.csum_offset = 6;
	assert_int_equal(gso_split_init(&sx, &h, super, len), -EINVAL);
	h.csum_start = 40;
	assert_int_equal(gso_split_init(&sx, &h, super, len), 0);
}

/* ---- merging ---------------------------------------------------------------- */

/* n segments of one flow as a sender would send them (payload sizes in sizes[]). */
static size_t make_flow(size_t first, const struct pkt_spec *sp, const size_t *sizes, size_t n,
			uint8_t last_flags)
{
	struct pkt_spec s = *sp;
	uint8_t pl[1600];

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			pl[j] = (uint8_t)rng();
		if (i == n - 1)
			s.flags = last_flags;
		pool_len[first + i] = build(pool[first + i], &s, pl, sizes[i]);
		s.seq += (uint32_t)sizes[i];
		s.id++;
	}
	return n;
}

/* The captured superpacket k, cut again, must give back pool[first..first+n). */
static void check_resplit(size_t k, size_t first, size_t n, const uint8_t orig[][1600],
			  const size_t *orig_len)
{
	struct gso_split sx;
	size_t i = 0, got;
	uint8_t *p = cap[k].buf;
	size_t l3 = l3len_of(p), l4len = cap[k].len - l3;
	uint8_t proto = (p[0] >> 4) == 4 ? p[9] : p[6];

	if (n == 1) {
		assert_int_equal(cap[k].h.gso_type, GSO_TYPE_NONE);
		assert_int_equal(cap[k].len, orig_len[first]);
		assert_memory_equal(cap[k].buf, orig[first], cap[k].len);
		return;
	}
	assert_int_equal(cap[k].h.flags, GSO_F_NEEDS_CSUM);
	assert_int_equal(cap[k].h.csum_start, l3);
	assert_int_equal(cap[k].h.csum_offset, proto == IPPROTO_TCP ? 16 : 6);
	/* the checksum field holds the (uncomplemented) pseudo-header sum */
	assert_int_equal(be16(p + l3 + cap[k].h.csum_offset),
			 ref_fold(ref_pseudo(p, proto, l4len)));
	assert_true(ref_ip_ok(p));
	if ((p[0] >> 4) == 4)
		assert_int_equal(be16(p + 2), cap[k].len);
	else
		assert_int_equal(be16(p + 4), cap[k].len - 40);
	assert_int_equal(gso_split_init(&sx, &cap[k].h, p, cap[k].len), 0);
	assert_int_equal(sx.hlen, cap[k].h.hdr_len);
	while ((got = gso_split_next(&sx, seg)) > 0) {
		assert_true(i < n);
		assert_int_equal(got, orig_len[first + i]);
		assert_memory_equal(seg, orig[first + i], got);
		i++;
	}
	assert_int_equal(i, n);
}

static uint8_t orig[128][1600];
static size_t orig_len[128];

static void feed(size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		memcpy(orig[i], pool[i], pool_len[i]);
		orig_len[i] = pool_len[i];
		assert_int_equal(gso_merge_add(&merger, pool[i], pool_len[i]), 0);
	}
}

static void test_merge_tcp(void **state)
{
	static const size_t full[] = { 1388, 1388, 1388, 1388, 1388, 1388, 1388, 1388, 700 };
	struct pkt_spec s4 = spec_default(AF_INET, IPPROTO_TCP);
	struct pkt_spec s6 = spec_default(AF_INET6, IPPROTO_TCP);

	(void)state;
	/* IPv4 with timestamps, PSH on the short last one; seq wraps */
	merge_start(GSO_OFFLOAD_TCP | GSO_OFFLOAD_VALID);
	make_flow(0, &s4, full, 9, TCP_ACK | TCP_PSH);
	feed(0, 9);
	assert_int_equal(gso_merge_flush(&merger), 0);
	assert_int_equal(n_cap, 1);
	assert_int_equal(cap[0].h.gso_type, GSO_TYPE_TCPV4);
	assert_int_equal(cap[0].h.gso_size, 1388);
	assert_int_equal(cap[0].h.hdr_len, 20 + 32);
	assert_true(cap[0].buf[20 + 13] & TCP_PSH);
	check_resplit(0, 0, 9, orig, orig_len);
	assert_int_equal(merger.stats.merged, 8);

	/* IPv6, no options, all full */
	merge_start(GSO_OFFLOAD_TCP);
	s6.optlen = 0;
	make_flow(0, &s6, full, 8, TCP_ACK);
	feed(0, 8);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 1);
	assert_int_equal(cap[0].h.gso_type, GSO_TYPE_TCPV6);
	assert_int_equal(cap[0].h.hdr_len, 60);
	check_resplit(0, 0, 8, orig, orig_len);
}

/* PSH ends a superpacket, a short segment too, FIN is never merged. */
static void test_merge_tcp_boundaries(void **state)
{
	static const size_t sz[] = { 1000, 1000, 1000, 1000, 500, 1000, 1000 };
	struct pkt_spec s = spec_default(AF_INET, IPPROTO_TCP);

	(void)state;
	merge_start(GSO_OFFLOAD_TCP);
	make_flow(0, &s, sz, 7, TCP_ACK | TCP_FIN);
	pool[1][20 + 13] |= TCP_PSH;	/* PSH on the 2nd */
	fix_l4(pool[1], pool_len[1]);
	feed(0, 7);
	gso_merge_flush(&merger);
	/* {0,1 PSH} {2,3,4 short} {5} {6 FIN} */
	assert_int_equal(n_cap, 4);
	check_resplit(0, 0, 2, orig, orig_len);
	check_resplit(1, 2, 3, orig, orig_len);
	check_resplit(2, 5, 1, orig, orig_len);
	check_resplit(3, 6, 1, orig, orig_len);
}

/* A segment whose checksum is wrong goes alone, unmarked, and nothing jumps it. */
static void test_merge_bad_checksum(void **state)
{
	static const size_t sz[] = { 1000, 1000, 1000, 1000, 1000, 1000 };
	struct pkt_spec s = spec_default(AF_INET6, IPPROTO_TCP);

	(void)state;
	merge_start(GSO_OFFLOAD_TCP | GSO_OFFLOAD_VALID);
	make_flow(0, &s, sz, 6, TCP_ACK);
	pool[2][40 + 32 + 500] ^= 0x01;	/* payload corrupted in flight */
	feed(0, 6);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 3);
	check_resplit(0, 0, 2, orig, orig_len);
	check_resplit(1, 2, 1, orig, orig_len);
	assert_int_equal(cap[1].h.flags, 0);	/* not claimed valid */
	check_resplit(2, 3, 3, orig, orig_len);

	/* a bad IPv4 header checksum keeps a packet out too */
	merge_start(GSO_OFFLOAD_TCP | GSO_OFFLOAD_VALID);
	s = spec_default(AF_INET, IPPROTO_TCP);
	make_flow(0, &s, sz, 3, TCP_ACK);
	pool[1][10] ^= 0x01;		/* header checksum wrong */
	feed(0, 3);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 3);
	assert_int_equal(cap[1].h.flags, 0);
	assert_int_equal(cap[0].h.flags, GSO_F_DATA_VALID);
}

/* Anything that differs between segments prevents the merge. */
static void test_merge_mismatches(void **state)
{
	static const size_t sz[] = { 1000, 1000 };
	struct pkt_spec a = spec_default(AF_INET, IPPROTO_TCP), b;
	int cases = 0;

	(void)state;
	for (int c = 0; c < 9; c++) {
		merge_start(GSO_OFFLOAD_TCP);
		b = a;
		b.seq += 1000;
		b.id++;
		switch (c) {
		case 0: b.ack++; break;
		case 1: b.window++; break;
		case 2: b.opt_fill++; break;			/* options differ */
		case 3: b.seq++; break;				/* gap */
		case 4: b.ttl--; break;
		case 5: b.tos = 4; break;
		case 6: b.df = false; a.df = false; b.id += 5; break;	/* ids jump without DF */
		case 7: b.sport++; break;			/* another flow */
		case 8: b.optlen = 0; break;
		}
		pool_len[0] = build(pool[0], &a, pool[2], sz[0]);
		pool_len[1] = build(pool[1], &b, pool[2], sz[1]);
		feed(0, 2);
		gso_merge_flush(&merger);
		assert_int_equal(n_cap, 2);
		check_resplit(0, 0, 1, orig, orig_len);
		check_resplit(1, 1, 1, orig, orig_len);
		a = spec_default(AF_INET, IPPROTO_TCP);
		cases++;
	}
	assert_int_equal(cases, 9);

	/* with DF set, ids may be anything (RFC 6864) */
	merge_start(GSO_OFFLOAD_TCP);
	b = a;
	b.seq += 1000;
	b.id = 3;
	pool_len[0] = build(pool[0], &a, pool[2], 1000);
	pool_len[1] = build(pool[1], &b, pool[2], 1000);
	feed(0, 2);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 1);
	assert_int_equal(cap[0].len, pool_len[0] + 1000);

	/* a bigger segment after a smaller first one cannot join */
	merge_start(GSO_OFFLOAD_TCP);
	b = a;
	b.seq += 500;
	pool_len[0] = build(pool[0], &a, pool[2], 500);
	pool_len[1] = build(pool[1], &b, pool[2], 501);
	feed(0, 2);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 2);
}

/*
 * The reserved IPv4 flag bit (0x8000 of the fragment field) on one packet
 * of a flow: merging would give it to every segment or to none, so such a
 * packet goes out alone, as the kernel's GRO does (found by
 * tests/fuzz/fuzz_gso.c: cut again, the superpacket lost the bit).
 */
static void test_merge_reserved_flag(void **state)
{
	struct pkt_spec a, b;

	(void)state;
	for (int c = 0; c < 4; c++) {
		a = spec_default(AF_INET, c < 2 ? IPPROTO_TCP : IPPROTO_UDP);
		a.df = c & 1;
		b = a;
		b.seq += 1000;
		b.id++;
		merge_start(GSO_OFFLOAD_TCP | GSO_OFFLOAD_UDP);
		pool_len[0] = build(pool[0], &a, pool[2], 1000);
		pool_len[1] = build(pool[1], &b, pool[2], 1000);
		pool[c & 1][6] |= 0x80;
		put16(pool[c & 1] + 10, 0);
		put16(pool[c & 1] + 10, (uint16_t)~ref_fold(ref_sum(pool[c & 1], 20, 0)));
		feed(0, 2);
		gso_merge_flush(&merger);
		assert_int_equal(n_cap, 2);
		check_resplit(0, 0, 1, orig, orig_len);
		check_resplit(1, 1, 1, orig, orig_len);
	}
}

/* Two flows interleaved: each merges with itself, order within a flow kept. */
static void test_merge_interleaved(void **state)
{
	static const size_t sz[] = { 1200, 1200, 1200, 1200 };
	struct pkt_spec a = spec_default(AF_INET, IPPROTO_TCP);
	struct pkt_spec b = spec_default(AF_INET, IPPROTO_TCP);
	uint8_t tmp[8][1600];
	size_t tmp_len[8];

	(void)state;
	b.src_last = 9;
	make_flow(0, &a, sz, 4, TCP_ACK);
	make_flow(4, &b, sz, 4, TCP_ACK);
	/* a0 b0 a1 b1 ... */
	for (int i = 0; i < 4; i++) {
		memcpy(tmp[2 * i], pool[i], pool_len[i]);
		tmp_len[2 * i] = pool_len[i];
		memcpy(tmp[2 * i + 1], pool[4 + i], pool_len[4 + i]);
		tmp_len[2 * i + 1] = pool_len[4 + i];
	}
	for (int i = 0; i < 8; i++) {
		memcpy(pool[i], tmp[i], tmp_len[i]);
		pool_len[i] = tmp_len[i];
	}
	merge_start(GSO_OFFLOAD_TCP);
	feed(0, 8);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 2);
	for (int i = 0; i < 4; i++) {
		memcpy(tmp[i], orig[2 * i], orig_len[2 * i]);
		tmp_len[i] = orig_len[2 * i];
		memcpy(tmp[4 + i], orig[2 * i + 1], orig_len[2 * i + 1]);
		tmp_len[4 + i] = orig_len[2 * i + 1];
	}
	check_resplit(0, 0, 4, (const uint8_t (*)[1600])tmp, tmp_len);
	check_resplit(1, 4, 4, (const uint8_t (*)[1600])tmp, tmp_len);
}

static void test_merge_udp(void **state)
{
	static const size_t sz[] = { 64, 64, 64, 64, 64, 30, 64, 64 };
	struct pkt_spec s4 = spec_default(AF_INET, IPPROTO_UDP);
	struct pkt_spec s6 = spec_default(AF_INET6, IPPROTO_UDP);

	(void)state;
	merge_start(GSO_OFFLOAD_TCP | GSO_OFFLOAD_UDP);
	make_flow(0, &s4, sz, 8, 0);
	feed(0, 8);
	gso_merge_flush(&merger);
	/* the short sixth ends the first superpacket */
	assert_int_equal(n_cap, 2);
	assert_int_equal(cap[0].h.gso_type, GSO_TYPE_UDP_L4);
	assert_int_equal(cap[0].h.gso_size, 64);
	assert_int_equal(be16(cap[0].buf + 20 + 4), 8 + 5 * 64 + 30);
	check_resplit(0, 0, 6, orig, orig_len);
	check_resplit(1, 6, 2, orig, orig_len);

	merge_start(GSO_OFFLOAD_UDP);
	make_flow(0, &s6, sz, 5, 0);
	feed(0, 5);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 1);
	check_resplit(0, 0, 5, orig, orig_len);

	/* without UDP offload (kernel < 6.2) nothing is merged */
	merge_start(GSO_OFFLOAD_TCP);
	make_flow(0, &s6, sz, 5, 0);
	feed(0, 5);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 5);
	for (int i = 0; i < 5; i++)
		check_resplit((size_t)i, (size_t)i, 1, orig, orig_len);

	/* a UDP checksum of zero (none) is not merged */
	merge_start(GSO_OFFLOAD_UDP);
	make_flow(0, &s4, sz, 3, 0);
	pool[1][26] = pool[1][27] = 0;
	feed(0, 3);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 3);
}

/* Offloads off: every packet goes as it came; SYN, ICMP and fragments always do. */
static void test_merge_passthrough(void **state)
{
	static const size_t sz[] = { 1000, 1000, 1000 };
	struct pkt_spec s = spec_default(AF_INET, IPPROTO_TCP);

	(void)state;
	merge_start(0);
	make_flow(0, &s, sz, 3, TCP_ACK);
	feed(0, 3);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 3);
	for (int i = 0; i < 3; i++) {
		check_resplit((size_t)i, (size_t)i, 1, orig, orig_len);
		assert_int_equal(cap[i].h.flags, 0);
	}

	merge_start(GSO_OFFLOAD_TCP);
	s.flags = TCP_SYN | TCP_ACK;
	make_flow(0, &s, sz, 3, TCP_SYN | TCP_ACK);
	s = spec_default(AF_INET, IPPROTO_ICMP);
	pool_len[3] = build(pool[3], &s, pool[9], 56);
	memcpy(pool[4], pool[3], pool_len[3]);
	pool_len[4] = pool_len[3];
	pool[4][6] = 0x20;		/* more fragments */
	feed(0, 5);
	gso_merge_flush(&merger);
	assert_int_equal(n_cap, 5);
	assert_int_equal(merger.stats.merged, 0);
	assert_int_equal(merger.stats.writes, 5);
}

/* More packets than one batch holds: the merger flushes by itself, nothing lost. */
static void test_merge_full_batch(void **state)
{
	struct pkt_spec s = spec_default(AF_INET, IPPROTO_ICMP);
	static uint8_t many[GSO_MERGE_PACKETS + 10][100];
	size_t len;

	(void)state;
	merge_start(GSO_OFFLOAD_TCP);
	cap_count_only = true;
	len = build(many[0], &s, pool[9], 40);
	for (size_t i = 0; i < GSO_MERGE_PACKETS + 10; i++) {
		memcpy(many[i], many[0], len);
		assert_int_equal(gso_merge_add(&merger, many[i], len), 0);
		/* the batch was written out when it filled up */
		if (i == GSO_MERGE_PACKETS)
			assert_int_equal(merger.stats.writes, GSO_MERGE_PACKETS);
	}
	gso_merge_flush(&merger);
	cap_count_only = false;
	assert_int_equal(merger.stats.writes, GSO_MERGE_PACKETS + 10);
}

/*
 * Garbage and mutated packets: nothing may be read or written out of
 * bounds (the ASan build runs this), no segment may be longer than a
 * packet can be, and whatever the merger writes must be every byte it was
 * given, once.
 */
static size_t written_bytes;

static int count_write(void *ctx, const struct iovec *iov, int n)
{
	(void)ctx;
	for (int i = 1; i < n; i++)
		written_bytes += iov[i].iov_len;
	return 0;
}

static void test_random_input(void **state)
{
	static uint8_t pkts[64][1600], out[70000];
	struct pkt_spec sp;
	struct gso_split sx;
	struct gso_hdr h;
	size_t lens[64], given, i, k, n;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		/* split: a valid superpacket with random damage, or noise */
		sp = spec_default(rng() & 1 ? AF_INET : AF_INET6,
				  rng() & 1 ? IPPROTO_TCP : IPPROTO_UDP);
		sp.optlen = (rng() % 11) * 4;
		n = rng() % 3000;
		for (i = 0; i < n; i++)
			seg[i] = (uint8_t)rng();
		n = build(super, &sp, seg, n);
		for (k = rng() % 4; k-- > 0;)
			super[rng() % n] = (uint8_t)rng();
		if (!(rng() % 8))
			n = rng() % (n + 1);
		h.flags = (uint8_t)rng();
		h.gso_type = (uint8_t)(rng() % 8);
		if (rng() & 1)
			h.gso_type = sp.proto == IPPROTO_UDP ? GSO_TYPE_UDP_L4 :
				     sp.family == AF_INET ? GSO_TYPE_TCPV4 : GSO_TYPE_TCPV6;
		h.hdr_len = (uint16_t)rng();
		h.gso_size = (uint16_t)(rng() & 1 ? rng() % 1500 : rng());
		h.csum_start = (uint16_t)(rng() & 1 ? (sp.family == AF_INET ? 20 : 40) : rng() % 200);
		h.csum_offset = (uint16_t)(rng() % 32);
		if (gso_split_init(&sx, &h, super, n) == 0) {
			size_t segs = 0, l;

			while ((l = gso_split_next_len(&sx)) > 0 && segs < 70000) {
				assert_true(l <= 65535 + 40);
				assert_int_equal(gso_split_next(&sx, out), l);
				segs++;
			}
			assert_true(segs < 70000);
		}

		/* merge: a flow of valid segments, some damaged, some noise */
		gso_merge_init(&merger, GSO_OFFLOAD_TCP | GSO_OFFLOAD_UDP | GSO_OFFLOAD_VALID,
			       count_write, NULL);
		written_bytes = 0;
		given = 0;
		sp = spec_default(rng() & 1 ? AF_INET : AF_INET6,
				  rng() & 1 ? IPPROTO_TCP : IPPROTO_UDP);
		n = 1 + rng() % 64;
		for (i = 0; i < n; i++) {
			size_t pl = rng() & 1 ? 1000 : rng() % 1400;

			sp.flags = rng() % 8 ? TCP_ACK : (uint8_t)rng();
			lens[i] = build(pkts[i], &sp, seg, pl);
			sp.seq += (uint32_t)pl;
			sp.id++;
			if (!(rng() % 6))
				pkts[i][rng() % lens[i]] = (uint8_t)rng();
			if (!(rng() % 10))
				lens[i] = rng() % (lens[i] + 1);
			given += lens[i];
			gso_merge_add(&merger, pkts[i], lens[i]);
		}
		gso_merge_flush(&merger);
		/* merged packets lose their own headers: never more bytes than given */
		assert_true(written_bytes <= given);
		if (!merger.stats.merged)
			assert_int_equal(written_bytes, given);
		assert_int_equal(merger.stats.packets, n);
		assert_int_equal(merger.stats.writes + merger.stats.merged, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_tcp4),
		cmocka_unit_test(test_split_tcp6),
		cmocka_unit_test(test_split_udp),
		cmocka_unit_test(test_split_needs_csum),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test(test_split_offsets_wrap),
		cmocka_unit_test(test_merge_tcp),
		cmocka_unit_test(test_merge_tcp_boundaries),
		cmocka_unit_test(test_merge_bad_checksum),
		cmocka_unit_test(test_merge_mismatches),
		cmocka_unit_test(test_merge_reserved_flag),
		cmocka_unit_test(test_merge_interleaved),
		cmocka_unit_test(test_merge_udp),
		cmocka_unit_test(test_merge_passthrough),
		cmocka_unit_test(test_merge_full_batch),
		cmocka_unit_test(test_random_input),
	};

	rng_seed(7);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
