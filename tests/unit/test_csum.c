/* test_csum.c - the fast Internet checksum against a plain reference */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "csum.h"
#include "testutil.h"

static uint16_t ref_finish(uint32_t sum)
{
	return (uint16_t)~ref_fold(sum);
}

static uint16_t ref_checksum(const uint8_t *p, size_t len)
{
	return ref_finish(ref_sum(p, len, 0));
}

/* The field value csum.c produces, read back as the wire's big-endian number. */
static uint16_t wire16(uint16_t stored)
{
	uint8_t b[2];

	csum_store(b, stored);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: these bytes sum to ddf2 */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t out[2];

	(void)state;
	csum_store(out, csum_fold(csum_partial(b, sizeof(b), 0)));
	assert_int_equal(out[0], 0xdd);
	assert_int_equal(out[1], 0xf2);
	assert_int_equal(wire16(csum_finish(csum_partial(b, sizeof(b), 0))), 0x220d);
}

static void test_ipv4_header(void **state)
{
	/* a real header (192.168.0.1 -> 192.168.0.199, UDP) with checksum b861 */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)state;
	csum_ipv4_header(h, sizeof(h));
	assert_int_equal(h[10], 0xb8);
	assert_int_equal(h[11], 0x61);
	/* a correct header sums to all ones */
	assert_int_equal(csum_fold(csum_partial(h, sizeof(h), 0)), 0xffff);
	h[8]--;
	assert_int_not_equal(csum_fold(csum_partial(h, sizeof(h), 0)), 0xffff);
}

/* Every length 0..300 and a few big ones, at every alignment, random data. */
static void test_random_vs_reference(void **state)
{
	static uint8_t buf[70000 + 8];
	static const size_t big[] = { 1400, 1420, 1448, 4095, 4096, 65535, 70000 };
	size_t len, off, i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	for (off = 0; off < 8; off++) {
		for (len = 0; len <= 300; len++)
			assert_int_equal(wire16(csum_finish(csum_partial(buf + off, len, 0))),
					 ref_checksum(buf + off, len));
		for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
			assert_int_equal(wire16(csum_finish(csum_partial(buf + off, big[i], 0))),
					 ref_checksum(buf + off, big[i]));
	}
}

/* Carries: all-ones data pushes every chain to its limit. */
static void test_all_ones(void **state)
{
	static uint8_t buf[65536];
	size_t len;

	(void)state;
	memset(buf, 0xff, sizeof(buf));
	for (len = 0; len <= sizeof(buf); len += len < 256 ? 1 : 4093)
		assert_int_equal(wire16(csum_finish(csum_partial(buf, len, 0))),
				 ref_checksum(buf, len));
	buf[100] = 0xfe;
	assert_int_equal(wire16(csum_finish(csum_partial(buf, 1000, 0))),
			 ref_checksum(buf, 1000));
}

/* Summing in even-sized pieces, and adding partial sums, changes nothing. */
static void test_pieces_and_add(void **state)
{
	uint8_t buf[3000];
	uint64_t a, b, whole;
	size_t cut, i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	whole = csum_partial(buf, sizeof(buf), 0);
	for (cut = 0; cut <= sizeof(buf); cut += 2) {
		a = csum_partial(buf, cut, 0);
		b = csum_partial(buf + cut, sizeof(buf) - cut, a);
		assert_int_equal(csum_fold(b), csum_fold(whole));
		b = csum_partial(buf + cut, sizeof(buf) - cut, 0);
		assert_int_equal(csum_fold(csum_add(a, b)), csum_fold(whole));
	}
	/* adding a large partial sum from the caller carries correctly */
	a = csum_partial(buf, 100, 0xffffffffffffffffULL);
	assert_int_equal(wire16(csum_finish(a)),
			 ref_finish(ref_sum(buf, 100, 0xffff)));
}

/* Pseudo-header sums against the reference, IPv4 and IPv6, TCP and UDP. */
static void test_pseudo_and_l4(void **state)
{
	uint8_t s4[4] = { 10, 1, 2, 3 }, d4[4] = { 172, 17, 0, 2 };
	uint8_t s6[16], d6[16], ph[40], seg[1500];
	uint16_t field;
	uint32_t sum;
	size_t i, l4len = sizeof(seg);

	(void)state;
	for (i = 0; i < 16; i++) {
		s6[i] = (uint8_t)rng();
		d6[i] = (uint8_t)rng();
	}
	for (i = 0; i < sizeof(seg); i++)
		seg[i] = (uint8_t)rng();

	/* IPv4 TCP: pseudo = saddr, daddr, 0, proto, length */
	seg[16] = seg[17] = 0;
	memcpy(ph, s4, 4);
	memcpy(ph + 4, d4, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	sum = ref_sum(ph, 12, 0);
	field = ref_finish(ref_sum(seg, l4len, sum));
	assert_int_equal(wire16(csum_finish(csum_partial(seg, l4len,
			 csum_pseudo(AF_INET, s4, d4, IPPROTO_TCP, (uint32_t)l4len)))), field);
	seg[16] = (uint8_t)(field >> 8);
	seg[17] = (uint8_t)field;
	assert_true(csum_l4_valid(AF_INET, s4, d4, IPPROTO_TCP, seg, l4len));
	seg[700] ^= 0x10;
	assert_false(csum_l4_valid(AF_INET, s4, d4, IPPROTO_TCP, seg, l4len));
	seg[700] ^= 0x10;
	assert_false(csum_l4_valid(AF_INET, d4, s4, IPPROTO_UDP, seg, l4len));

	/* IPv6 UDP: pseudo = saddr, daddr, 32-bit length, 3 zero bytes, proto */
	l4len = 999;
	seg[4] = (uint8_t)(l4len >> 8);
	seg[5] = (uint8_t)l4len;
	seg[6] = seg[7] = 0;
	memcpy(ph, s6, 16);
	memcpy(ph + 16, d6, 16);
	ph[32] = ph[33] = 0;
	ph[34] = (uint8_t)(l4len >> 8);
	ph[35] = (uint8_t)l4len;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = IPPROTO_UDP;
	sum = ref_sum(ph, 40, 0);
	field = ref_finish(ref_sum(seg, l4len, sum));
	assert_int_equal(wire16(csum_finish(csum_partial(seg, l4len,
			 csum_pseudo(AF_INET6, s6, d6, IPPROTO_UDP, (uint32_t)l4len)))), field);
	if (field == 0)
		field = 0xffff;
	seg[6] = (uint8_t)(field >> 8);
	seg[7] = (uint8_t)field;
	assert_true(csum_l4_valid(AF_INET6, s6, d6, IPPROTO_UDP, seg, l4len));
	s6[15] ^= 1;
	assert_false(csum_l4_valid(AF_INET6, s6, d6, IPPROTO_UDP, seg, l4len));
	s6[15] ^= 1;
	/* a UDP checksum of zero ("none") never counts as verified */
	seg[6] = seg[7] = 0;
	assert_false(csum_l4_valid(AF_INET6, s6, d6, IPPROTO_UDP, seg, l4len));
	assert_false(csum_l4_valid(AF_INET, s4, d4, IPPROTO_UDP, seg, l4len));
	assert_false(csum_l4_valid(AF_INET, s4, d4, IPPROTO_UDP, seg, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_all_ones),
		cmocka_unit_test(test_pieces_and_add),
		cmocka_unit_test(test_pseudo_and_l4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
