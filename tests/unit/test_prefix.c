/* test_prefix.c - prefix parsing, printing and set relations */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "prefix.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct prefix parse_ok(const char *s, bool strict)
{
	struct prefix p;
	int ret = prefix_parse(&p, s, strict);

	if (ret)
		fail_msg("prefix_parse(\"%s\", %d) = %d", s, strict, ret);
	return p;
}

static void expect_format(const struct prefix *p, const char *want)
{
	char buf[PREFIX_STRLEN];

	assert_string_equal(prefix_format(p, buf, sizeof(buf)), want);
}

static void test_parse_good(void **state)
{
	static const struct {
		const char *in;
		int family;
		unsigned int len;
		const char *out;
	} cases[] = {
		{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0/8" },
		{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0/0" },
		{ "192.168.1.7/32", AF_INET, 32, "192.168.1.7/32" },
		{ "192.168.1.7", AF_INET, 32, "192.168.1.7/32" },
		{ "255.255.255.255/32", AF_INET, 32, "255.255.255.255/32" },
		{ "172.16.0.0/12", AF_INET, 12, "172.16.0.0/12" },
		{ "128.0.0.0/1", AF_INET, 1, "128.0.0.0/1" },
		{ "fd00::/8", AF_INET6, 8, "fd00::/8" },
		{ "::/0", AF_INET6, 0, "::/0" },
		{ "::", AF_INET6, 128, "::/128" },
		{ "::1", AF_INET6, 128, "::1/128" },
		{ "FD00:0:0:0:0:0:0:1/128", AF_INET6, 128, "fd00::1/128" },
		{ "2001:db8::/32", AF_INET6, 32, "2001:db8::/32" },
		{ "2001:db8::/127", AF_INET6, 127, "2001:db8::/127" },
		{ "::ffff:10.1.2.3", AF_INET6, 128, "::ffff:10.1.2.3/128" },
		{ "::ffff:10.0.0.0/104", AF_INET6, 104, "::ffff:10.0.0.0/104" },
		/* 45 characters, the longest IPv6 text, plus "/128" */
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
		  AF_INET6, 128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prefix p = parse_ok(cases[i].in, true);

		assert_int_equal(p.family, cases[i].family);
		assert_int_equal(p.len, cases[i].len);
		expect_format(&p, cases[i].out);
	}
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0//8", "10.0.0.0/8/8",
		"10.0.0.0/33", "10.0.0.0/99", "10.0.0.0/100", "10.0.0.0/255",
		"10.0.0.0/256", "10.0.0.0/4294967304", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/x8", "10.0.0.0/ 8",
		"10.0.0.0/8 ", "10.0.0.0 /8", " 10.0.0.0/8", "10.0.0.0/8\n",
		"10.0.0.0/08", "10.0.0.0/008", "10.0.0.0/0x8", "10.0.0.0/8.0",
		"x10.0.0.0/8", "10.0.0.0x/8", "10.0.0/8", "10.0.0.0.0/8",
		"10.0.0.256/32", "010.0.0.0/8", "10.0.0.-1", "10..0.0",
		"10.0.0.0/1e1", "fd00::/129", "fd00::/200", "fd00::/1000",
		"::/-0", "fd00:::/8", "fd00::1::2", "fd00::/", "fe80::1%eth0",
		"fe80::1%eth0/64", "[fd00::1]", "12345::/16", "fd00::g",
		"localhost", "0", "1", "::ffff:10.1.2/128",
		"10.0.0.0/8\x01", "not an address at all",
		/* longer than PREFIX_STRLEN */
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/128",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/0128",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128000000",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct prefix p;

		memset(&p, 0xa5, sizeof(p));
		if (prefix_parse(&p, bad[i], false) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		if (prefix_parse(&p, bad[i], true) != -EINVAL)
			fail_msg("strict accepted \"%s\"", bad[i]);
		if (prefix_parse_addr(&p, bad[i]) != -EINVAL)
			fail_msg("parse_addr accepted \"%s\"", bad[i]);
		/* A failed parse leaves the output alone. */
		assert_int_equal(p.len, 0xa5);
	}
	{
		struct prefix p;

		assert_int_equal(prefix_parse(&p, NULL, false), -EINVAL);
	}
}

static void test_parse_very_long(void **state)
{
	char buf[4096];
	struct prefix p;

	(void)state;
	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(prefix_parse(&p, buf, false), -EINVAL);
	/* A valid prefix drowned in trailing zeros of its length. */
	memset(buf, '0', sizeof(buf) - 1);
	memcpy(buf, "10.0.0.0/8", 10);
	assert_int_equal(prefix_parse(&p, buf, false), -EINVAL);
}

static void test_parse_boundaries(void **state)
{
	struct prefix p;
	char s[64];
	unsigned int len;

	(void)state;
	for (len = 0; len <= 32; len++) {
		snprintf(s, sizeof(s), "0.0.0.0/%u", len);
		assert_int_equal(prefix_parse(&p, s, true), 0);
		assert_int_equal(p.len, len);
	}
	for (len = 0; len <= 128; len++) {
		snprintf(s, sizeof(s), "::/%u", len);
		assert_int_equal(prefix_parse(&p, s, true), 0);
		assert_int_equal(p.len, len);
	}
	assert_int_equal(prefix_parse(&p, "0.0.0.0/33", false), -EINVAL);
	assert_int_equal(prefix_parse(&p, "::/129", false), -EINVAL);
	/* The v6 limit does not leak into v4 or the other way round. */
	assert_int_equal(prefix_parse(&p, "1.2.3.4/128", false), -EINVAL);
	assert_int_equal(prefix_parse(&p, "::1/32", false), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(p.family, AF_INET6);
}

static void test_parse_host_bits(void **state)
{
	static const struct {
		const char *in;
		const char *masked;
	} cases[] = {
		{ "10.1.2.3/8", "10.0.0.0/8" },
		{ "10.0.0.1/31", "10.0.0.0/31" },
		{ "255.255.255.255/0", "0.0.0.0/0" },
		{ "192.168.255.255/17", "192.168.128.0/17" },
		{ "fd00::1/8", "fd00::/8" },
		{ "fd12:3456::1/127", "fd12:3456::/127" },
		{ "ffff::/1", "8000::/1" },
		{ "2001:db8:ffff::/33", "2001:db8:8000::/33" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prefix p;

		if (prefix_parse(&p, cases[i].in, true) != -EINVAL)
			fail_msg("strict accepted host bits in %s", cases[i].in);
		p = parse_ok(cases[i].in, false);
		expect_format(&p, cases[i].masked);
		assert_int_equal(prefix_parse_addr(&p, cases[i].in), 0);
		expect_format(&p, cases[i].in);
	}
	/* The last bit inside the prefix is not a host bit. */
	parse_ok("10.0.0.1/32", true);
	parse_ok("10.128.0.0/9", true);
	parse_ok("::1/128", true);
	parse_ok("8000::/1", true);
}

static void test_format(void **state)
{
	struct prefix p;
	char small[6];
	char buf[PREFIX_STRLEN];

	(void)state;
	p = parse_ok("192.168.100.200/24", false);
	/* Truncated output is still a terminated string. */
	memset(small, 'x', sizeof(small));
	assert_ptr_equal(prefix_format(&p, small, sizeof(small)), small);
	assert_string_equal(small, "192.1");

	memset(&p, 0, sizeof(p));
	p.family = AF_UNIX;
	assert_string_equal(prefix_format(&p, buf, sizeof(buf)), "?");
	p.family = AF_INET;
	p.len = 33;
	assert_string_equal(prefix_format(&p, buf, sizeof(buf)), "?");
}

static void test_mask(void **state)
{
	struct prefix p;
	uint8_t want[16];
	unsigned int len, i;

	(void)state;
	for (len = 0; len <= 128; len++) {
		assert_int_equal(prefix_parse_addr(&p,
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0);
		p.len = (uint8_t)len;
		prefix_mask(&p);
		memset(want, 0, sizeof(want));
		for (i = 0; i < len; i++)
			want[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		assert_memory_equal(p.addr.b, want, 16);
	}
	for (len = 0; len <= 32; len++) {
		assert_int_equal(prefix_parse_addr(&p, "255.255.255.255"), 0);
		p.len = (uint8_t)len;
		prefix_mask(&p);
		memset(want, 0, sizeof(want));
		for (i = 0; i < len; i++)
			want[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		assert_memory_equal(p.addr.b, want, 4);
	}
}

static void test_contains_addr(void **state)
{
	static const struct {
		const char *prefix;
		const char *addr;
		bool in;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0", true },
		{ "10.0.0.0/8", "10.255.255.255", true },
		{ "10.0.0.0/8", "11.0.0.0", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "0.0.0.0/0", "1.2.3.4", true },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "1.2.3.4/32", "1.2.3.4", true },
		{ "1.2.3.4/32", "1.2.3.5", false },
		{ "192.168.1.128/25", "192.168.1.127", false },
		{ "192.168.1.128/25", "192.168.1.128", true },
		{ "192.168.1.128/25", "192.168.1.255", true },
		{ "::/0", "::", true },
		{ "::/0", "ffff::1", true },
		{ "fd00::/8", "fd12::1", true },
		{ "fd00::/8", "fe00::1", false },
		{ "fd00::1/128", "fd00::1", true },
		{ "fd00::1/128", "fd00::", false },
		{ "fd00::/127", "fd00::1", true },
		{ "fd00::/127", "fd00::2", false },
		/* A v4-mapped address is an IPv6 address like any other. */
		{ "::ffff:0.0.0.0/96", "::ffff:10.0.0.1", true },
		{ "::/96", "::ffff:10.0.0.1", false },
	};
	struct prefix p, a;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = parse_ok(cases[i].prefix, true);
		a = parse_ok(cases[i].addr, true);
		assert_int_equal(p.family, a.family);
		if (prefix_contains_addr(&p, a.family, a.addr.b) != cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].addr,
				 cases[i].prefix, cases[i].in);
	}
	/* Family must match, even for the default route. */
	p = parse_ok("0.0.0.0/0", true);
	a = parse_ok("::", true);
	assert_false(prefix_contains_addr(&p, AF_INET6, a.addr.b));
	p = parse_ok("::/0", true);
	a = parse_ok("0.0.0.0", true);
	assert_false(prefix_contains_addr(&p, AF_INET, a.addr.b));
	assert_false(prefix_contains_addr(&p, AF_INET6, NULL));
	/* v4 10.0.0.1 is not in v6 ::ffff:10.0.0.0/104 and vice versa. */
	p = parse_ok("::ffff:10.0.0.0/104", true);
	a = parse_ok("10.0.0.1", true);
	assert_false(prefix_contains_addr(&p, AF_INET, a.addr.b));
	p = parse_ok("10.0.0.0/8", true);
	a = parse_ok("::ffff:10.0.0.1", true);
	assert_false(prefix_contains_addr(&p, AF_INET6, a.addr.b));
}

/* contains(a, b), contains(b, a), overlaps, equal */
static void test_relations(void **state)
{
	static const struct {
		const char *a, *b;
		bool a_in_b, b_in_a, overlap, equal;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8", true, true, true, true },
		{ "10.0.0.0/8", "10.1.0.0/16", false, true, true, false },
		{ "10.1.0.0/16", "10.0.0.0/8", true, false, true, false },
		{ "10.0.0.0/8", "11.0.0.0/8", false, false, false, false },
		{ "10.0.0.0/8", "11.0.0.0/16", false, false, false, false },
		{ "10.0.0.0/7", "11.0.0.0/8", false, true, true, false },
		{ "10.0.0.0/7", "10.0.0.0/8", false, true, true, false },
		{ "10.0.0.0/8", "10.0.0.0/7", true, false, true, false },
		{ "0.0.0.0/0", "1.2.3.4/32", false, true, true, false },
		{ "0.0.0.0/0", "0.0.0.0/0", true, true, true, true },
		{ "1.2.3.4/32", "1.2.3.4/32", true, true, true, true },
		{ "1.2.3.4/32", "1.2.3.5/32", false, false, false, false },
		{ "1.2.3.4/31", "1.2.3.5/32", false, true, true, false },
		{ "128.0.0.0/1", "0.0.0.0/1", false, false, false, false },
		{ "::/0", "fd00::/8", false, true, true, false },
		{ "fc00::/7", "fd00::/8", false, true, true, false },
		{ "fd00::/8", "fc00::/8", false, false, false, false },
		{ "fd00::/8", "fd00::/8", true, true, true, true },
		{ "fd00::1/128", "fd00::/127", true, false, true, false },
		{ "fd00::2/128", "fd00::/127", false, false, false, false },
		{ "2001:db8::/32", "2001:db8:8000::/33", false, true, true,
		  false },
		/* different families never relate */
		{ "0.0.0.0/0", "::/0", false, false, false, false },
		{ "10.0.0.0/8", "::ffff:10.0.0.0/104", false, false, false,
		  false },
	};
	struct prefix a, b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		a = parse_ok(cases[i].a, true);
		b = parse_ok(cases[i].b, true);
		if (prefix_contains(&b, &a) != cases[i].a_in_b ||
		    prefix_contains(&a, &b) != cases[i].b_in_a ||
		    prefix_overlaps(&a, &b) != cases[i].overlap ||
		    prefix_overlaps(&b, &a) != cases[i].overlap ||
		    prefix_equal(&a, &b) != cases[i].equal ||
		    prefix_equal(&b, &a) != cases[i].equal)
			fail_msg("relations of %s and %s wrong", cases[i].a,
				 cases[i].b);
	}
}

/* Comparisons go by the set of addresses, so host bits do not matter. */
/* prefix_cmp: a total order, IPv4 before IPv6, then bytes, then length. */
static void test_cmp(void **state)
{
	static const char *const sorted[] = {
		"10.0.0.0/8", "10.0.0.0/16", "10.0.0.1/32", "172.17.0.0/16",
		"192.168.1.0/24", "::/0", "fd00::/8", "fd00::1/128",
	};
	const size_t n = ARRAY_SIZE(sorted);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct prefix a = parse_ok(sorted[i], false);

		assert_int_equal(prefix_cmp(&a, &a), 0);
		for (size_t j = i + 1; j < n; j++) {
			struct prefix b = parse_ok(sorted[j], false);

			if (prefix_cmp(&a, &b) >= 0 || prefix_cmp(&b, &a) <= 0)
				fail_msg("%s should sort before %s", sorted[i], sorted[j]);
		}
	}
}

static void test_relations_ignore_host_bits(void **state)
{
	struct prefix a, b;

	(void)state;
	assert_int_equal(prefix_parse_addr(&a, "10.1.2.3/8"), 0);
	b = parse_ok("10.0.0.0/8", true);
	assert_true(prefix_equal(&a, &b));
	assert_true(prefix_contains(&a, &b));
	assert_true(prefix_contains(&b, &a));
	assert_int_equal(prefix_parse_addr(&b, "10.200.0.1/16"), 0);
	assert_true(prefix_contains(&a, &b));
	assert_false(prefix_contains(&b, &a));
	assert_true(prefix_overlaps(&a, &b));
	/* Invalid structures never match anything. */
	a.len = 33;
	assert_false(prefix_equal(&a, &a));
	assert_false(prefix_contains(&a, &b));
	assert_false(prefix_overlaps(&a, &b));
	assert_false(prefix_contains_addr(&a, AF_INET, b.addr.b));
	a.len = 8;
	a.family = AF_UNIX;
	assert_false(prefix_equal(&a, &a));
}

static void test_is_private(void **state)
{
	static const struct {
		const char *p;
		bool priv;
	} cases[] = {
		{ "10.0.0.0/8", true },
		{ "10.255.255.255", true },
		{ "10.0.0.0/7", false },
		{ "11.0.0.0", false },
		{ "9.255.255.255", false },
		{ "172.16.0.0/12", true },
		{ "172.31.255.255", true },
		{ "172.32.0.0", false },
		{ "172.15.255.255", false },
		{ "172.0.0.0/11", false },
		{ "172.16.0.0/13", true },
		{ "192.168.0.0/16", true },
		{ "192.168.77.0/24", true },
		{ "192.169.0.0", false },
		{ "192.167.255.255", false },
		{ "192.168.0.0/15", false },
		{ "0.0.0.0/0", false },
		{ "100.64.0.1", false },
		{ "127.0.0.1", false },
		{ "8.8.8.8", false },
		{ "fc00::/7", true },
		{ "fd00::/8", true },
		{ "fc00::1", true },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "fe00::", false },
		{ "fe80::1", false },
		{ "fb00::/8", false },
		{ "fc00::/6", false },
		{ "::/0", false },
		{ "::1", false },
		{ "2001:db8::1", false },
		/* v4-mapped private addresses are IPv6, not private */
		{ "::ffff:10.0.0.1", false },
		{ "::ffff:192.168.1.1", false },
	};
	struct prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = parse_ok(cases[i].p, true);
		if (prefix_is_private(&p) != cases[i].priv)
			fail_msg("is_private(%s) != %d", cases[i].p,
				 cases[i].priv);
	}
}

static void test_addr_len(void **state)
{
	(void)state;
	assert_int_equal(prefix_addr_len(AF_INET), 4);
	assert_int_equal(prefix_addr_len(AF_INET6), 16);
	assert_int_equal(prefix_addr_len(AF_UNSPEC), 0);
	assert_int_equal(prefix_addr_len(AF_UNIX), 0);
	assert_int_equal(prefix_addr_len(-1), 0);
}

/* Every printed prefix parses back to itself. */
static void test_roundtrip(void **state)
{
	char buf[PREFIX_STRLEN];
	struct prefix p, q;
	unsigned int seed = 12345, i, j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		memset(&p, 0, sizeof(p));
		p.family = (i & 1) ? AF_INET6 : AF_INET;
		for (j = 0; j < 16; j++) {
			seed = seed * 1103515245u + 12345u;
			p.addr.b[j] = (uint8_t)(seed >> 16);
		}
		if (p.family == AF_INET)
			memset(p.addr.b + 4, 0, 12);
		seed = seed * 1103515245u + 12345u;
		p.len = (uint8_t)((seed >> 16) %
				  (prefix_addr_len(p.family) * 8 + 1));
		prefix_mask(&p);
		prefix_format(&p, buf, sizeof(buf));
		if (prefix_parse(&q, buf, true))
			fail_msg("cannot parse back %s", buf);
		assert_int_equal(q.family, p.family);
		assert_int_equal(q.len, p.len);
		assert_memory_equal(q.addr.b, p.addr.b, 16);
		assert_true(prefix_equal(&p, &q));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_very_long),
		cmocka_unit_test(test_parse_boundaries),
		cmocka_unit_test(test_parse_host_bits),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_contains_addr),
		cmocka_unit_test(test_relations),
		cmocka_unit_test(test_relations_ignore_host_bits),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_is_private),
		cmocka_unit_test(test_addr_len),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
