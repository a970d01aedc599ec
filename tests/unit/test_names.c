/* test_names.c - the container name table: names, Compose and user names, order, limits */
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

#include "names.h"

static struct names_container mk(const char *id, const char *name, const char *a1,
				 const char *a2)
{
	struct names_container c = { 0 };

	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	if (a1)
		assert_int_equal(prefix_parse(&c.addrs[c.n_addrs++], a1, true), 0);
	if (a2)
		assert_int_equal(prefix_parse(&c.addrs[c.n_addrs++], a2, true), 0);
	return c;
}

static void expect_addr(const struct prefix *p, const char *want)
{
	char buf[PREFIX_STRLEN];

	assert_string_equal(prefix_format(p, buf, sizeof(buf)), want);
}

static void test_name_and_families(void **state)
{
	struct names *n = names_new("Gangway.Internal");
	struct names_container c = mk("aa", "Web", "172.17.0.2", "fd00::2");
	struct prefix out[8];

	assert_non_null(n);
	assert_int_equal(names_put(n, &c), 0);
	assert_int_equal(names_lookup(n, "web.gangway.internal", AF_INET, out, 8), 1);
	expect_addr(&out[0], "172.17.0.2/32");
	assert_int_equal(names_lookup(n, "WEB.gangway.INTERNAL", AF_INET6, out, 8), 1);
	expect_addr(&out[0], "fd00::2/128");
	assert_int_equal(names_lookup(n, "web.gangway.internal", 0, out, 8), 2);
	assert_int_equal(names_lookup(n, "db.gangway.internal", AF_INET, out, 8), -ENOENT);
	/* The domain alone is no container. */
	assert_int_equal(names_lookup(n, "gangway.internal", AF_INET, out, 8), -ENOENT);
	assert_int_equal(names_count(n), 1);
	names_free(n);
}

static void test_compose_and_user_names(void **state)
{
	struct names *n = names_new("gangway.internal");
	struct names_container c = mk("bb", "proj-web-1", "10.1.0.5", NULL);
	struct prefix out[8];
	char buf[NAMES_NAME_LEN + 1];

	snprintf(c.service, sizeof(c.service), "web");
	snprintf(c.project, sizeof(c.project), "proj");
	snprintf(c.extra[c.n_extra++], sizeof(c.extra[0]), "api");
	snprintf(c.extra[c.n_extra++], sizeof(c.extra[0]), "Admin.Gangway.Internal");
	snprintf(c.extra[c.n_extra++], sizeof(c.extra[0]), "bad name!");
	snprintf(c.extra[c.n_extra++], sizeof(c.extra[0]), "api");	/* twice */
	assert_int_equal(names_put(n, &c), 0);
	assert_int_equal(names_lookup(n, "proj-web-1.gangway.internal", AF_INET, out, 8), 1);
	assert_int_equal(names_lookup(n, "web.proj.gangway.internal", AF_INET, out, 8), 1);
	assert_int_equal(names_lookup(n, "api.gangway.internal", AF_INET, out, 8), 1);
	assert_int_equal(names_lookup(n, "admin.gangway.internal", AF_INET, out, 8), 1);
	assert_int_equal(names_lookup(n, "admin.gangway.internal.gangway.internal", AF_INET,
				      out, 8), -ENOENT);
	assert_int_equal(names_count(n), 4);
	/* PTR: the container's own name. */
	assert_int_equal(names_reverse(n, &out[0], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "proj-web-1.gangway.internal");
	/* Exists, but no IPv6 address: NODATA, not NXDOMAIN. */
	assert_int_equal(names_lookup(n, "api.gangway.internal", AF_INET6, out, 8), 0);
	names_free(n);
}

static void test_replicas_and_preferred(void **state)
{
	struct names *n = names_new("gangway.internal");
	struct names_container a = mk("r1", "p-web-1", "172.17.0.2", "10.9.0.2");
	struct names_container b = mk("r2", "p-web-2", "172.17.0.3", NULL);
	struct prefix pref, out[8];

	snprintf(a.service, sizeof(a.service), "web");
	snprintf(a.project, sizeof(a.project), "p");
	snprintf(b.service, sizeof(b.service), "web");
	snprintf(b.project, sizeof(b.project), "p");
	assert_int_equal(names_put(n, &a), 0);
	assert_int_equal(names_put(n, &b), 0);
	assert_int_equal(names_lookup(n, "web.p.gangway.internal", AF_INET, out, 8), 3);
	/* The network the host reaches comes first. */
	assert_int_equal(prefix_parse(&pref, "10.9.0.0/24", true), 0);
	assert_int_equal(names_set_preferred(n, &pref, 1), 0);
	assert_int_equal(names_lookup(n, "p-web-1.gangway.internal", AF_INET, out, 8), 2);
	expect_addr(&out[0], "10.9.0.2/32");
	expect_addr(&out[1], "172.17.0.2/32");
	/* max bounds what is written. */
	assert_int_equal(names_lookup(n, "web.p.gangway.internal", AF_INET, out, 1), 1);
	expect_addr(&out[0], "10.9.0.2/32");
	assert_int_equal(names_count(n), 3);
	names_free(n);
}

static void test_remove_rename_sweep(void **state)
{
	struct names *n = names_new("gangway.internal");
	struct names_container a = mk("id1", "web", "172.17.0.2", NULL);
	struct names_container b = mk("id2", "db", "172.17.0.3", NULL);
	struct prefix out[8];

	assert_int_equal(names_put(n, &a), 0);
	assert_int_equal(names_put(n, &b), 0);
	/* A rename is a put with the same id. */
	snprintf(a.name, sizeof(a.name), "www");
	assert_int_equal(names_put(n, &a), 0);
	assert_int_equal(names_containers(n), 2);
	assert_int_equal(names_lookup(n, "web.gangway.internal", 0, out, 8), -ENOENT);
	assert_int_equal(names_lookup(n, "www.gangway.internal", 0, out, 8), 1);
	assert_int_equal(names_remove(n, "id2"), 0);
	assert_int_equal(names_remove(n, "id2"), -ENOENT);
	assert_int_equal(names_lookup(n, "db.gangway.internal", 0, out, 8), -ENOENT);
	assert_int_equal(names_reverse(n, &b.addrs[0], (char[64]){ 0 }, 64), -ENOENT);
	/* Resync: only what was put again survives. */
	assert_int_equal(names_put(n, &b), 0);
	names_mark(n);
	assert_int_equal(names_put(n, &b), 0);
	assert_int_equal(names_sweep(n), 1);
	assert_int_equal(names_lookup(n, "www.gangway.internal", 0, out, 8), -ENOENT);
	assert_int_equal(names_lookup(n, "db.gangway.internal", 0, out, 8), 1);
	names_free(n);
}

static void test_limits(void **state)
{
	struct names *n = names_new("gangway.internal");
	struct names_container c = mk("x", "c", "10.0.0.1", NULL);
	struct prefix out[8];
	char id[32];

	for (int i = 0; i < NAMES_MAX_CONTAINERS; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		snprintf(c.id, sizeof(c.id), "%s", id);
		snprintf(c.name, sizeof(c.name), "c%d", i);
		c.addrs[0].addr.v4.s_addr = (uint32_t)i;
		assert_int_equal(names_put(n, &c), 0);
	}
	snprintf(c.id, sizeof(c.id), "one-too-many");
	assert_int_equal(names_put(n, &c), -ENOSPC);
	assert_int_equal(names_count(n), NAMES_MAX_CONTAINERS);
	assert_int_equal(names_lookup(n, "c4095.gangway.internal", AF_INET, out, 8), 1);
	/* Names too long for DNS are not served; the container still is held. */
	memset(c.name, 'a', NAMES_NAME_LEN);
	c.name[NAMES_NAME_LEN] = '\0';
	snprintf(c.id, sizeof(c.id), "id0");
	assert_int_equal(names_put(n, &c), 0);
	assert_int_equal(names_count(n), NAMES_MAX_CONTAINERS - 1);
	/* Unterminated or empty ids are refused. */
	memset(c.id, 'f', sizeof(c.id));
	assert_int_equal(names_put(n, &c), -EINVAL);
	c.id[0] = '\0';
	assert_int_equal(names_put(n, &c), -EINVAL);
	names_free(n);
	assert_null(names_new(""));
}

static void count_cb(void *ctx, const char *name, const struct prefix *addr)
{
	(*(int *)ctx)++;
	assert_non_null(strstr(name, ".gangway.internal"));
}

static void test_foreach(void **state)
{
	struct names *n = names_new("gangway.internal");
	struct names_container a = mk("id1", "web", "172.17.0.2", "fd00::2");
	int calls = 0;

	snprintf(a.extra[a.n_extra++], sizeof(a.extra[0]), "w2");
	assert_int_equal(names_put(n, &a), 0);
	names_foreach(n, count_cb, &calls);
	assert_int_equal(calls, 4);		/* 2 names x 2 addresses */
	names_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_and_families),
		cmocka_unit_test(test_compose_and_user_names),
		cmocka_unit_test(test_replicas_and_preferred),
		cmocka_unit_test(test_remove_rename_sweep),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_foreach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
