/* test_resolve.c - background name lookups: results, and lookups abandoned mid-way */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "resolve.h"

/* Poll r as the event loop does, for at most 10 s; false if it never ended. */
static bool wait_done(struct resolve *r, int *ret, struct addrinfo **res)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		if (resolve_done(r, ret, res))
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* The first IPv4 address of a list, copied (ai_addr is only a struct sockaddr's). */
static bool first_v4(const struct addrinfo *res, struct sockaddr_in *sin)
{
	for (; res; res = res->ai_next)
		if (res->ai_family == AF_INET && res->ai_addrlen >= sizeof(*sin)) {
			memcpy(sin, res->ai_addr, sizeof(*sin));
			return true;
		}
	return false;
}

static void test_numeric(void **state)
{
	struct addrinfo *res = NULL;
	struct sockaddr_in sin;
	struct resolve *r;
	int ret = -1;

	(void)state;
	r = resolve_start("192.0.2.7", 51820, AF_INET);
	assert_non_null(r);
	assert_true(wait_done(r, &ret, &res));
	assert_int_equal(ret, 0);
	assert_true(first_v4(res, &sin));
	assert_int_equal(ntohl(sin.sin_addr.s_addr), 0xc0000207);
	assert_int_equal(ntohs(sin.sin_port), 51820);
	assert_int_equal(res->ai_socktype, SOCK_DGRAM);
	freeaddrinfo(res);
	resolve_free(r);
}

/* A name from /etc/hosts, IPv4 only when asked for AF_INET. */
static void test_name_from_hosts(void **state)
{
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_in sin;
	struct resolve *r;
	int ret = -1;

	(void)state;
	r = resolve_start("localhost", 4242, AF_INET);
	assert_non_null(r);
	assert_true(wait_done(r, &ret, &res));
	assert_int_equal(ret, 0);
	for (ai = res; ai; ai = ai->ai_next)
		assert_int_equal(ai->ai_family, AF_INET);
	assert_true(first_v4(res, &sin));
	assert_int_equal(ntohl(sin.sin_addr.s_addr) >> 24, 127);
	assert_int_equal(ntohs(sin.sin_port), 4242);
	freeaddrinfo(res);
	resolve_free(r);
}

/* Many at once: each ends with its own answer. */
static void test_many(void **state)
{
	struct resolve *r[16];
	char host[32];

	(void)state;
	for (int i = 0; i < 16; i++) {
		snprintf(host, sizeof(host), "198.51.100.%d", i + 1);
		r[i] = resolve_start(host, (uint16_t)(1000 + i), AF_UNSPEC);
		assert_non_null(r[i]);
	}
	for (int i = 0; i < 16; i++) {
		struct addrinfo *res = NULL;
		struct sockaddr_in sin;
		int ret = -1;

		assert_true(wait_done(r[i], &ret, &res));
		assert_int_equal(ret, 0);
		assert_true(first_v4(res, &sin));
		assert_int_equal(ntohl(sin.sin_addr.s_addr), 0xc6336401u + (uint32_t)i);
		assert_int_equal(ntohs(sin.sin_port), 1000 + i);
		freeaddrinfo(res);
		resolve_free(r[i]);
	}
}

/*
 * Lookups freed while they run, right after they end, and after their
 * answer was taken: each is freed exactly once, by whichever side comes
 * last (ASan and LeakSanitizer in `make check` see a double free, a use
 * after free or a leak).
 */
static void test_abandoned(void **state)
{
	struct timespec ms = { 0, 1000000 };
	struct resolve *r[64];

	(void)state;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 64; i++) {
			r[i] = resolve_start(i & 1 ? "localhost" : "203.0.113.9", 53, AF_UNSPEC);
			assert_non_null(r[i]);
			if (i % 3 == 0)
				resolve_free(r[i]);	/* at once: most still run */
		}
		nanosleep(&ms, NULL);
		for (int i = 0; i < 64; i++)
			if (i % 3 == 1)
				resolve_free(r[i]);	/* some ended, some not */
		for (int i = 0; i < 64; i++) {
			struct addrinfo *res = NULL;
			int ret;

			if (i % 3 != 2)
				continue;
			assert_true(wait_done(r[i], &ret, &res));
			assert_int_equal(ret, 0);
			freeaddrinfo(res);
			resolve_free(r[i]);
		}
	}
	/* let the abandoned ones end and free themselves before exit */
	for (int i = 0; i < 500; i++)
		nanosleep(&ms, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_name_from_hosts),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_abandoned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
