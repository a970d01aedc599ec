/* test_docker_api.c - what the engine client reads from the engine's JSON */
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
#include <json-c/json.h>

#include "docker_api.h"

static int parse(const char *json, struct names_container *c)
{
	struct json_object *o = json_tokener_parse(json);
	int ret;

	ret = docker_api_parse_container(o, c);
	json_object_put(o);
	return ret;
}

static void expect_addr(const struct prefix *p, const char *want)
{
	char buf[PREFIX_STRLEN];

	assert_string_equal(prefix_format(p, buf, sizeof(buf)), want);
}

/* A /containers/json element as Docker 20.10 writes it (trimmed). */
static void test_list_element(void **state)
{
	struct names_container c;

	assert_int_equal(parse("{\"Id\":\"abc123\",\"Names\":[\"/proj-web-1\"],"
			       "\"State\":\"running\",\"Labels\":{"
			       "\"com.docker.compose.service\":\"web\","
			       "\"com.docker.compose.project\":\"proj\","
			       "\"dev.gangway.domains\":\" api , admin.gangway.internal,,\"},"
			       "\"NetworkSettings\":{\"Networks\":{"
			       "\"bridge\":{\"IPAddress\":\"172.17.0.2\",\"GlobalIPv6Address\":\"\"},"
			       "\"net6\":{\"IPAddress\":\"172.19.0.3\","
			       "\"GlobalIPv6Address\":\"fd00:e6::3\"}}}}", &c), 1);
	assert_string_equal(c.id, "abc123");
	assert_string_equal(c.name, "proj-web-1");
	assert_string_equal(c.service, "web");
	assert_string_equal(c.project, "proj");
	assert_int_equal(c.n_extra, 2);
	assert_string_equal(c.extra[0], "api");
	assert_string_equal(c.extra[1], "admin.gangway.internal");
	assert_int_equal(c.n_addrs, 3);
	expect_addr(&c.addrs[0], "172.17.0.2/32");
	expect_addr(&c.addrs[1], "172.19.0.3/32");
	expect_addr(&c.addrs[2], "fd00:e6::3/128");
}

/* /containers/{id}/json: Name, State object, Config.Labels. */
static void test_inspect(void **state)
{
	struct names_container c;

	assert_int_equal(parse("{\"Id\":\"def\",\"Name\":\"/db\",\"State\":{\"Running\":true},"
			       "\"Config\":{\"Labels\":{\"dev.gangway.domains\":\"pg\"}},"
			       "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":\"10.0.0.9\"}}}}",
			       &c), 1);
	assert_string_equal(c.name, "db");
	assert_int_equal(c.n_extra, 1);
	assert_int_equal(c.n_addrs, 1);
	assert_int_equal(parse("{\"Id\":\"def\",\"Name\":\"/db\",\"State\":{\"Running\":false}}",
			       &c), 0);
}

static void test_hostile(void **state)
{
	struct names_container c;
	char *big;
	size_t n = 100000;

	/* Not objects, wrong types, missing ids: never a crash, never running. */
	assert_int_equal(parse("[]", &c), -EINVAL);
	assert_int_equal(docker_api_parse_container(NULL, &c), -EINVAL);
	assert_int_equal(parse("{\"Names\":[\"/x\"]}", &c), 0);
	assert_int_equal(parse("{\"Id\":5}", &c), 0);
	assert_int_equal(parse("{\"Id\":\"a\",\"Names\":[7],\"Labels\":[],"
			       "\"NetworkSettings\":{\"Networks\":{\"x\":5,\"y\":{\"IPAddress\":"
			       "\"1.2.3.4/8\"},\"z\":{\"IPAddress\":\"300.1.1.1\"}}}}", &c), 1);
	assert_int_equal(c.n_addrs, 0);
	assert_string_equal(c.name, "");
	/* Over-long strings are left out, not truncated into something else. */
	big = malloc(n + 64);
	assert_non_null(big);
	memset(big, 'a', n + 64);
	memcpy(big, "{\"Id\":\"", 7);
	memcpy(big + n, "\",\"Name\":\"/q\"}", 15);
	assert_int_equal(parse(big, &c), 0);
	free(big);
	/* At most NAMES_MAX_ADDRS addresses and NAMES_MAX_EXTRA names. */
	assert_int_equal(parse("{\"Id\":\"a\",\"Labels\":{\"dev.gangway.domains\":"
			       "\"a,b,c,d,e,f,g,h,i,j,k\"},\"NetworkSettings\":{\"Networks\":{"
			       "\"1\":{\"IPAddress\":\"10.0.0.1\"},\"2\":{\"IPAddress\":\"10.0.0.2\"},"
			       "\"3\":{\"IPAddress\":\"10.0.0.3\"},\"4\":{\"IPAddress\":\"10.0.0.4\"},"
			       "\"5\":{\"IPAddress\":\"10.0.0.5\"},\"6\":{\"IPAddress\":\"10.0.0.6\"},"
			       "\"7\":{\"IPAddress\":\"10.0.0.7\"},\"8\":{\"IPAddress\":\"10.0.0.8\"},"
			       "\"9\":{\"IPAddress\":\"10.0.0.9\"}}}}", &c), 1);
	assert_int_equal(c.n_addrs, NAMES_MAX_ADDRS);
	assert_int_equal(c.n_extra, NAMES_MAX_EXTRA);
}

static void test_version(void **state)
{
	char v[16];
	const char *b;

	b = "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), 0);
	assert_string_equal(v, "1.41");
	/* Newer than we know: ours, which the engine still speaks. */
	b = "{\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"1.44\"}";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), 0);
	assert_string_equal(v, DOCKER_API_MAX_VERSION);
	b = "{\"ApiVersion\":\"1.9\"}";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), -EINVAL);
	b = "{\"ApiVersion\":\"x1.41\"}";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), -EINVAL);
	b = "{\"ApiVersion\":141}";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), -EINVAL);
	b = "not json";
	assert_int_equal(docker_api_parse_version(b, strlen(b), v, sizeof(v)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_element),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
