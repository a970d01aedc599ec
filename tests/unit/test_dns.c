/* test_dns.c - the DNS answers for container names: A/AAAA/PTR, NXDOMAIN, REFUSED, limits */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns.h"

/*
 * Every allocation of the process is counted (ldns's too, in its shared
 * library), so the test can state what one query costs. Sanitizer builds
 * bring their own allocator, which must not be bypassed: there the count
 * is not taken (the normal build takes it).
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#if !defined(COUNT_ALLOCS) && defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif
static unsigned long allocs;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	allocs++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	allocs++;
	return __libc_realloc(p, n);
}
#endif

static struct names *tbl;
static struct dns_answerer *ans;
static uint8_t out[DNS_MAX_REPLY];

static int setup(void **state)
{
	struct names_container c = { .id = "a1", .name = "web", .n_addrs = 2 };
	struct names_container big = { .id = "b1", .name = "big", .n_addrs = NAMES_MAX_ADDRS };

	tbl = names_new("gangway.internal");
	assert_non_null(tbl);
	assert_int_equal(prefix_parse(&c.addrs[0], "172.17.0.2", true), 0);
	assert_int_equal(prefix_parse(&c.addrs[1], "fd00:e6::2", true), 0);
	assert_int_equal(names_put(tbl, &c), 0);
	/* 8 containers x 8 IPv6 addresses under one name: 64 records, too many for 512. */
	for (int i = 0; i < 8; i++) {
		snprintf(big.id, sizeof(big.id), "b%d", i);
		for (int j = 0; j < NAMES_MAX_ADDRS; j++) {
			char a[64];

			snprintf(a, sizeof(a), "fd00:%d::%d", i + 1, j + 1);
			assert_int_equal(prefix_parse(&big.addrs[j], a, true), 0);
		}
		assert_int_equal(names_put(tbl, &big), 0);
	}
	ans = dns_answerer_new(tbl);
	assert_non_null(ans);
	return 0;
}

static int teardown(void **state)
{
	dns_answerer_free(ans);
	names_free(tbl);
	return 0;
}

/* Ask name/type (built by ldns), parse the reply with ldns. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, bool edns, size_t max_udp)
{
	ldns_pkt *q = NULL, *r = NULL;
	uint8_t *wire = NULL;
	size_t len;
	int n;

	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 0x4242);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, 4096);
	assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
	n = dns_answer(ans, wire, len, out, sizeof(out), max_udp);
	assert_true(n > 0);
	assert_int_equal(ldns_wire2pkt(&r, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 0x4242);
	assert_true(ldns_pkt_qr(r));
	if (max_udp && !edns)
		assert_true(n <= DNS_UDP_DEFAULT);
	free(wire);
	ldns_pkt_free(q);
	return r;
}

static void expect_rdata(const ldns_pkt *r, size_t i, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), i), 0));

	assert_string_equal(s, want);
	free(s);
}

static void test_a_aaaa(void **state)
{
	ldns_pkt *r = ask("web.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);

	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(r));
	assert_int_equal(ldns_pkt_ancount(r), 1);
	expect_rdata(r, 0, "172.17.0.2");
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), NAMES_TTL);
	ldns_pkt_free(r);
	r = ask("WEB.Gangway.Internal.", LDNS_RR_TYPE_AAAA, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	expect_rdata(r, 0, "fd00:e6::2");
	ldns_pkt_free(r);
}

static void test_nxdomain_nodata_refused(void **state)
{
	ldns_pkt *r = ask("nope.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);

	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 1);	/* the SOA, for negative caching */
	ldns_pkt_free(r);
	r = ask("web.gangway.internal.", LDNS_RR_TYPE_MX, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	r = ask("example.com.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(r));
	ldns_pkt_free(r);
	/* A name that merely ends like the domain is not in it. */
	r = ask("xgangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
	r = ask("gangway.internal.", LDNS_RR_TYPE_SOA, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
}

static void test_ptr(void **state)
{
	ldns_pkt *r = ask("2.0.17.172.in-addr.arpa.", LDNS_RR_TYPE_PTR, false, DNS_UDP_MAX);

	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	expect_rdata(r, 0, "web.gangway.internal.");
	ldns_pkt_free(r);
	r = ask("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.e.0.0.0.0.d.f.ip6.arpa.",
		LDNS_RR_TYPE_PTR, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	expect_rdata(r, 0, "web.gangway.internal.");
	ldns_pkt_free(r);
	/* Not a container's address: not ours to answer. */
	r = ask("3.0.17.172.in-addr.arpa.", LDNS_RR_TYPE_PTR, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
	r = ask("999.0.17.172.in-addr.arpa.", LDNS_RR_TYPE_PTR, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
}

static void test_truncation(void **state)
{
	/* 32 AAAA records: over 512 without EDNS (TC, nothing), within EDNS's 1232 or TCP. */
	ldns_pkt *r = ask("big.gangway.internal.", LDNS_RR_TYPE_AAAA, false, DNS_UDP_MAX);

	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	r = ask("big.gangway.internal.", LDNS_RR_TYPE_AAAA, true, DNS_UDP_MAX);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), DNS_MAX_ANSWERS);
	assert_int_equal(ldns_pkt_edns_udp_size(r), DNS_UDP_MAX);
	ldns_pkt_free(r);
	r = ask("big.gangway.internal.", LDNS_RR_TYPE_AAAA, false, 0);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), DNS_MAX_ANSWERS);
	ldns_pkt_free(r);
}

static void test_garbage(void **state)
{
	uint8_t q[600];
	ldns_pkt *r = NULL;
	int n;

	/* Too short, or a response: nothing. */
	memset(q, 0, sizeof(q));
	assert_int_equal(dns_answer(ans, q, 5, out, sizeof(out), DNS_UDP_MAX), -1);
	q[2] = 0x80;
	assert_int_equal(dns_answer(ans, q, 12, out, sizeof(out), DNS_UDP_MAX), -1);
	/* A header claiming a question that is not there: FORMERR, same id. */
	memset(q, 0, sizeof(q));
	q[0] = 0x12;
	q[1] = 0x34;
	q[5] = 1;
	n = dns_answer(ans, q, 12, out, sizeof(out), DNS_UDP_MAX);
	assert_true(n > 0);
	assert_int_equal(ldns_wire2pkt(&r, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_id(r), 0x1234);
	ldns_pkt_free(r);
	/* Random bytes: an answer or nothing, never a crash (the fuzzer does more). */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand() % (int)sizeof(q));

		for (size_t j = 0; j < len; j++)
			q[j] = (uint8_t)rand();
		q[2] &= 0x7f;
		n = dns_answer(ans, q, len, out, DNS_UDP_MAX, DNS_UDP_MAX);
		assert_true(n == -1 || (n >= 12 && n <= DNS_UDP_MAX));
	}
	assert_true(dns_answerer_stats(ans)->malformed > 0);
}

/* Answers are cached: a change to the table must show at once. */
static void test_cache_follows_table(void **state)
{
	struct names_container c = { .id = "a1", .name = "web", .n_addrs = 1 };
	ldns_pkt *r = ask("web.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);

	expect_rdata(r, 0, "172.17.0.2");
	ldns_pkt_free(r);
	r = ask("web.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);	/* a hit */
	expect_rdata(r, 0, "172.17.0.2");
	ldns_pkt_free(r);
	assert_int_equal(prefix_parse(&c.addrs[0], "172.17.0.9", true), 0);
	assert_int_equal(names_put(tbl, &c), 0);
	r = ask("web.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);
	expect_rdata(r, 0, "172.17.0.9");
	ldns_pkt_free(r);
	assert_int_equal(names_remove(tbl, "a1"), 0);
	r = ask("web.gangway.internal.", LDNS_RR_TYPE_A, false, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
	/* Put back as setup made it, for the tests after this one. */
	c.n_addrs = 2;
	assert_int_equal(prefix_parse(&c.addrs[0], "172.17.0.2", true), 0);
	assert_int_equal(prefix_parse(&c.addrs[1], "fd00:e6::2", true), 0);
	assert_int_equal(names_put(tbl, &c), 0);
}

/* A cached answer carries each query's own id and RD bit, and its question's case. */
static void test_cache_id_rd_case(void **state)
{
	const char *names[] = { "WeB.gangway.internal.", "WeB.gangway.internal.", "web.gangway.internal." };

	for (int i = 0; i < 3; i++) {
		ldns_pkt *q = NULL, *r = NULL;
		uint8_t *wire = NULL;
		char *qn;
		size_t len;
		int n;

		assert_int_equal(ldns_pkt_query_new_frm_str(&q, names[i], LDNS_RR_TYPE_A,
							    LDNS_RR_CLASS_IN, i == 1 ? 0 : LDNS_RD),
				 LDNS_STATUS_OK);
		ldns_pkt_set_id(q, (uint16_t)(0x1000 + i));
		assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
		n = dns_answer(ans, wire, len, out, sizeof(out), DNS_UDP_MAX);
		assert_true(n > 0);
		assert_int_equal(ldns_wire2pkt(&r, out, (size_t)n), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_id(r), 0x1000 + i);
		assert_int_equal(ldns_pkt_rd(r), i != 1);
		qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
		assert_string_equal(qn, names[i]);
		expect_rdata(r, 0, "172.17.0.2");
		free(qn);
		free(wire);
		ldns_pkt_free(q);
		ldns_pkt_free(r);
	}
}

static void test_allocations(void **state)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len;
	unsigned long before;
	const int rounds = 1000;

	assert_int_equal(ldns_pkt_query_new_frm_str(&q, "web.gangway.internal.", LDNS_RR_TYPE_A,
						    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
	before = allocs;
	for (int i = 0; i < rounds; i++)
		assert_true(dns_answer(ans, wire, len, out, sizeof(out), DNS_UDP_MAX) > 0);
	if (!COUNT_ALLOCS) {
		print_message("allocations not counted under a sanitizer's allocator\n");
		free(wire);
		ldns_pkt_free(q);
		return;
	}
	print_message("allocations per A query answered: %.1f (parsing; all freed)\n",
		      (double)(allocs - before) / rounds);
	/* ldns_wire2pkt's objects (the answer is cached); a regression shows. */
	assert_true(allocs - before <= (unsigned long)rounds * 12);
	free(wire);
	ldns_pkt_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_aaaa),
		cmocka_unit_test(test_nxdomain_nodata_refused),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_cache_follows_table),
		cmocka_unit_test(test_cache_id_rd_case),
		cmocka_unit_test(test_allocations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
