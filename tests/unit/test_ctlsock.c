/* test_ctlsock.c - control socket protocol: request parsing, limits, socket paths */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctlsock.h"

static int parse(const char *s, enum ctlsock_req *r)
{
	return ctlsock_parse(s, strlen(s), r);
}

static void test_parse_ok(void **state)
{
	enum ctlsock_req r;

	(void)state;
	assert_int_equal(parse("status", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_STATUS);
	assert_int_equal(parse("status json", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_STATUS_JSON);
	assert_int_equal(parse("prometheus", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_PROMETHEUS);
	assert_int_equal(parse("ping\r", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_PING);
	assert_int_equal(parse("reload", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_RELOAD);
	assert_int_equal(parse("names", &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_NAMES);
	assert_int_equal(parse("names json", &r), -EINVAL);
	/* Only the request's own bytes count: a longer buffer is cut by len. */
	assert_int_equal(ctlsock_parse("status json", 6, &r), 0);
	assert_int_equal(r, CTLSOCK_REQ_STATUS);
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", "\r", "Status", "status ", " status", "status  json", "status jsonx",
		"statu", "status\tjson", "prometheus\r\r", "\x7f", "stat\xc3\xa9",
		"capture now", "Capture", "reload now", "Reload",
	};
	enum ctlsock_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &r), -EINVAL);
	/* An embedded NUL is not the end of the request. */
	assert_int_equal(ctlsock_parse("status\0json", 11, &r), -EINVAL);
	assert_int_equal(ctlsock_parse("ping\0", 5, &r), -EINVAL);
}

static void test_parse_size(void **state)
{
	static char big[CTLSOCK_MAX_REQ + 1];
	enum ctlsock_req r;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(ctlsock_parse(big, CTLSOCK_MAX_REQ - 1, &r), -EINVAL);
	assert_int_equal(ctlsock_parse(big, CTLSOCK_MAX_REQ, &r), -E2BIG);
	assert_int_equal(ctlsock_parse(big, sizeof(big), &r), -E2BIG);
	assert_int_equal(ctlsock_parse(big, SIZE_MAX, &r), -E2BIG);
}

static void test_path(void **state)
{
	struct config c;
	char buf[512];

	(void)state;
	memset(&c, 0, sizeof(c));
	strcpy(c.state_dir, "/run/gangway");
	strcpy(c.ifname, "gangway0");
	assert_int_equal(ctlsock_path(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/gangway/gangway0.sock");
	assert_int_equal(ctlsock_path(&c, buf, 10), -ENAMETOOLONG);
	/* Longer than a unix socket address holds (108 bytes on Linux). */
	memset(c.state_dir, 'd', 200);
	c.state_dir[0] = '/';
	c.state_dir[200] = '\0';
	assert_int_equal(ctlsock_path(&c, buf, sizeof(buf)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
