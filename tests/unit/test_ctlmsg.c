/* test_ctlmsg.c - control messages: round trips, every malformation, IP/UDP wrapping */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "ctlmsg.h"

static struct prefix pf(const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(&p, s, true), 0);
	return p;
}

static void test_roundtrip(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ADVERTISE;
	m.seq = 0xdeadbeef;
	m.prefixes[0] = pf("172.17.0.0/16");
	m.prefixes[1] = pf("fd00:1::/64");
	m.prefixes[2] = pf("0.0.0.0/0");
	m.n = 3;
	n = ctlmsg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 6 + 18 + 6);
	assert_memory_equal(buf, "GWY1\x01\x00\x00\x03\xde\xad\xbe\xef\x04\x10\xac\x11\x00\x00", 18);
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_ADVERTISE);
	assert_int_equal(d.seq, 0xdeadbeef);
	assert_int_equal(d.n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(prefix_equal(&d.prefixes[i], &m.prefixes[i]));

	m.type = CTLMSG_ACK;
	m.status[0] = CTLMSG_ST_INSTALLED;
	m.status[1] = CTLMSG_ST_CONFLICT;
	m.status[2] = CTLMSG_ST_NOT_ALLOWED;
	n = ctlmsg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 7 + 19 + 7);
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.status[1], CTLMSG_ST_CONFLICT);
	assert_int_equal(d.status[2], CTLMSG_ST_NOT_ALLOWED);

	m.type = CTLMSG_SYNC;
	m.n = 0;
	n = ctlmsg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN);
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_SYNC);
	/* A full message fits the documented maximum. */
	m.type = CTLMSG_ACK;
	m.n = CTLMSG_MAX_PREFIXES;
	for (size_t i = 0; i < m.n; i++)
		m.prefixes[i] = pf("fd00::/8");
	assert_int_equal(ctlmsg_encode(&m, buf, sizeof(buf)), CTLMSG_HDR_LEN + CTLMSG_MAX_PREFIXES * 19);
	/* Remapped entries carry the host's prefix too; too many do not fit. */
	for (size_t i = 0; i < m.n; i++) {
		m.status[i] = CTLMSG_ST_REMAPPED;
		m.mapped[i] = pf("fe00::/8");
	}
	assert_int_equal(ctlmsg_encode(&m, buf, sizeof(buf)), -EMSGSIZE);
	m.n = CTLMSG_MAX_PREFIXES + 1;
	assert_int_equal(ctlmsg_encode(&m, buf, sizeof(buf)), -EMSGSIZE);
}

static void test_remapped_ack(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ACK;
	m.seq = 9;
	m.n = 2;
	m.prefixes[0] = pf("172.17.0.0/16");
	m.status[0] = CTLMSG_ST_REMAPPED;
	m.mapped[0] = pf("10.217.0.0/16");
	m.prefixes[1] = pf("172.18.0.0/16");
	m.status[1] = CTLMSG_ST_INSTALLED;
	n = ctlmsg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 7 + 6 + 7);
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.status[0], CTLMSG_ST_REMAPPED);
	assert_true(prefix_equal(&d.mapped[0], &m.mapped[0]));
	assert_int_equal(d.status[1], CTLMSG_ST_INSTALLED);
	/* A mapped prefix of another length or family is malformed. */
	buf[CTLMSG_HDR_LEN + 7 + 1] = 24;
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), -EBADMSG);
	buf[CTLMSG_HDR_LEN + 7 + 1] = 16;
	buf[CTLMSG_HDR_LEN + 7] = 6;
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n), -EBADMSG);
	/* Truncated inside the mapped prefix. */
	assert_int_equal(ctlmsg_decode(&d, buf, (size_t)n - 10), -EBADMSG);
}

static void test_malformed(void **state)
{
	static struct ctlmsg d;
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "", 0 },
		{ "GWY1\x01\x00\x00\x00\x00\x00\x00", 11 },			/* short header */
		{ "GWY2\x01\x00\x00\x00\x00\x00\x00\x00", 12 },			/* magic */
		{ "GWY1\x04\x00\x00\x00\x00\x00\x00\x00", 12 },			/* type */
		{ "GWY1\x00\x00\x00\x00\x00\x00\x00\x00", 12 },			/* type 0 */
		{ "GWY1\x01\x01\x00\x00\x00\x00\x00\x00", 12 },			/* flags */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00", 12 },			/* missing entry */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x04\x08\x0a", 15 },	/* short address */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x05\x08\x0a\x00\x00\x00", 18 },	/* family */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x04\x21\x0a\x00\x00\x00", 18 },	/* /33 */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x04\x08\x0a\x01\x00\x00", 18 },	/* host bits */
		{ "GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x04\x08\x0a\x00\x00\x00\x00", 19 },	/* trailing */
		{ "GWY1\x02\x00\x00\x01\x00\x00\x00\x00\x09\x04\x08\x0a\x00\x00\x00", 19 },	/* status */
		{ "GWY1\x03\x00\x00\x01\x00\x00\x00\x00\x04\x08\x0a\x00\x00\x00", 18 },	/* sync + entry */
		{ "GWY1\x01\x00\x00\x41\x00\x00\x00\x00", 12 },			/* 65 entries */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ctlmsg_decode(&d, (const uint8_t *)bad[i].bytes, bad[i].len) != -EBADMSG)
			fail_msg("malformed case %zu accepted", i);
	/* ...while the same entry, well formed, passes. */
	assert_int_equal(ctlmsg_decode(&d, (const uint8_t *)
		"GWY1\x01\x00\x00\x01\x00\x00\x00\x00\x04\x08\x0a\x00\x00\x00", 18), 0);
}

/* Independent checksum: 32-bit accumulation over 16-bit words, folded at the end. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t start)
{
	uint64_t sum = start;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += ((uint32_t)p[i] << 8) + p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

static void test_wrap_v4(void **state)
{
	uint8_t pkt[1280];
	const uint8_t msg[] = "hello control";
	struct prefix src = pf("10.33.0.2"), dst = pf("10.33.0.1"), gs, gd;
	const uint8_t *payload;
	uint32_t pseudo;
	int n;

	(void)state;
	n = ctlmsg_wrap(pkt, sizeof(pkt), &src, &dst, msg, sizeof(msg));
	assert_int_equal(n, 20 + 8 + (int)sizeof(msg));
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(ref_csum(pkt, 20, 0), 0xffff);		/* header checksum */
	pseudo = ((10 << 8) + 33) * 2 + 2 + 1 + 17 + (8 + sizeof(msg));
	assert_int_equal(ref_csum(pkt + 20, 8 + sizeof(msg), pseudo), 0xffff);
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), (int)sizeof(msg));
	assert_memory_equal(payload, msg, sizeof(msg));
	assert_true(prefix_equal(&gs, &src));
	assert_true(prefix_equal(&gd, &dst));
	/* One flipped bit anywhere in the datagram fails the checksum. */
	pkt[30] ^= 4;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
	pkt[30] ^= 4;
	/* Wrong port, truncation, lying lengths. */
	pkt[23] ^= 1;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
	pkt[23] ^= 1;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n - 1, &gs, &gd, &payload), -1);
	assert_int_equal(ctlmsg_unwrap(pkt, 27, &gs, &gd, &payload), -1);
	pkt[9] = 6;	/* TCP */
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
}

static void test_wrap_v6(void **state)
{
	uint8_t pkt[1280];
	const uint8_t msg[] = "v6";
	struct prefix src = pf("fd33::2"), dst = pf("fd33::1"), v4 = pf("10.0.0.1"), gs, gd;
	const uint8_t *payload;
	int n;

	(void)state;
	n = ctlmsg_wrap(pkt, sizeof(pkt), &src, &dst, msg, sizeof(msg));
	assert_int_equal(n, 40 + 8 + (int)sizeof(msg));
	assert_int_equal(pkt[0] >> 4, 6);
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), (int)sizeof(msg));
	assert_true(prefix_equal(&gd, &dst));
	assert_int_equal(ctlmsg_wrap(pkt, sizeof(pkt), &src, &v4, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(ctlmsg_wrap(pkt, 40, &src, &dst, msg, sizeof(msg)), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_remapped_ack),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_wrap_v4),
		cmocka_unit_test(test_wrap_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
