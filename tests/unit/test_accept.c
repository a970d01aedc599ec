/* test_accept.c - the accept policy: which advertised prefixes the host routes */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "accept.h"

#define OWN	7	/* gangway's device */
#define LAN	2
#define VPN	9

static struct prefix P(const char *s)
{
	struct prefix p;

	if (prefix_parse(&p, s, false))
		fail_msg("bad prefix %s", s);
	return p;
}

static void add_route(struct accept_host *h, const char *dst, int ifindex, uint32_t table)
{
	struct prefix p = P(dst);

	assert_int_equal(accept_host_add_route(h, &p, ifindex, table), 0);
}

static void add_addr(struct accept_host *h, const char *a)
{
	struct prefix p = P(a);

	assert_int_equal(accept_host_add_addr(h, p.family, p.addr.b), 0);
}

/*
 * A laptop: LAN 192.0.2.0/24 (router .1, itself .2) with the default route
 * through it, Docker's own 172.17.0.0/16, a VPN's 172.16.0.0/12 in policy
 * table 100 and its 10.8.0.0/16 in main, a blackhole, and gangway's own
 * routes (tunnel subnet, a guest's network) through its device.
 */
static struct accept_host host;
static struct config_prefixes tunnel;
static struct prefix tunnel_v[1];
static struct prefix others_v[4];
static struct accept_claims claims;

static int setup(void **state)
{
	(void)state;
	memset(&host, 0, sizeof(host));
	add_route(&host, "0.0.0.0/0", LAN, 254);
	add_route(&host, "192.0.2.0/24", LAN, 254);
	add_route(&host, "172.17.0.0/16", 3, 254);
	add_route(&host, "172.16.0.0/12", VPN, 100);
	add_route(&host, "10.8.0.0/16", VPN, 254);
	add_route(&host, "10.99.0.0/16", 0, 254);
	add_route(&host, "::/0", LAN, 254);
	add_route(&host, "0.0.0.0/1", VPN, 254);	/* redirect-gateway def1 */
	add_route(&host, "128.0.0.0/1", VPN, 254);
	add_route(&host, "::/1", VPN, 254);
	add_route(&host, "64.0.0.0/2", VPN, 254);	/* not a half: counts */
	add_route(&host, "fd42::/64", LAN, 254);
	add_route(&host, "10.33.0.0/24", OWN, 254);
	add_route(&host, "10.44.0.0/16", OWN, 254);
	add_addr(&host, "192.0.2.2");
	add_addr(&host, "127.0.0.1");
	add_addr(&host, "10.50.0.9");	/* an address without a route of its own here */
	add_addr(&host, "10.33.0.1");
	tunnel_v[0] = P("10.33.0.1/24");
	tunnel_v[0].addr.b[3] = 1;	/* host bits kept, as Address = gives them */
	tunnel.v = tunnel_v;
	tunnel.n = 1;
	others_v[0] = P("10.33.0.3/32");	/* guest B's tunnel address */
	others_v[1] = P("10.210.0.0/24");	/* guest B's configured network */
	others_v[2] = P("10.44.0.0/16");	/* guest B's accepted network */
	others_v[3] = P("0.0.0.0/0");		/* a peer with a wide AllowedIPs */
	claims = (struct accept_claims){ .own_ifindex = OWN, .tunnel_addrs = &tunnel,
					 .others = others_v, .n_others = 4 };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	accept_host_free(&host);
	return 0;
}

static enum ctlmsg_status judge(const struct config_peer *cp, const char *adv,
				struct accept_why *why)
{
	struct prefix p = P(adv);

	return accept_judge(&host, &claims, cp, &p, &p, why);
}

static void expect(const struct config_peer *cp, const char *adv, enum ctlmsg_status st,
		   enum accept_what what, const char *hit)
{
	struct accept_why why;
	char buf[PREFIX_STRLEN];
	enum ctlmsg_status got = judge(cp, adv, &why);

	if (got != st || why.what != what)
		fail_msg("%s: status %d why %d, wanted %d/%d", adv, got, why.what, st, what);
	if (hit && strcmp(prefix_format(&why.hit, buf, sizeof(buf)), hit))
		fail_msg("%s: hit %s, wanted %s", adv, buf, hit);
}

/* The LAN: inside it, around it, its router and the host itself. */
static void test_lan(void **state)
{
	static struct config_peer wide;
	struct prefix v[] = { P("192.0.0.0/8"), P("10.0.0.0/8"), P("172.16.0.0/12") };

	(void)state;
	wide.accept_prefixes.v = v;
	wide.accept_prefixes.n = 3;
	wide.has_accept_prefixes = true;
	expect(&wide, "192.0.2.0/25", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "192.0.2.0/24");
	expect(&wide, "192.0.2.1/32", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "192.0.2.0/24");
	expect(&wide, "192.0.2.2/32", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "192.0.2.0/24");
	expect(&wide, "192.0.2.0/24", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "192.0.2.0/24");
	expect(&wide, "192.0.0.0/16", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "192.0.2.0/24");
	expect(&wide, "192.0.3.0/24", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
}

/* Policy tables count, broader routes count, blackholes count. */
static void test_routes_any_table_either_direction(void **state)
{
	(void)state;
	expect(NULL, "172.20.0.0/16", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "172.16.0.0/12");
	expect(NULL, "172.17.0.0/16", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "172.17.0.0/16");
	expect(NULL, "172.31.0.0/16", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "172.16.0.0/12");
	expect(NULL, "10.8.1.0/24", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "10.8.0.0/16");
	expect(NULL, "10.0.0.0/12", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "10.8.0.0/16");
	expect(NULL, "10.99.3.0/24", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "10.99.0.0/16");
	expect(NULL, "fd42::/48", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "fd42::/64");
	expect(NULL, "fd43::/64", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	/* the default route and its halves never refuse; gangway's own routes never do */
	expect(NULL, "10.200.0.0/16", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	expect(NULL, "fd43::/64", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
}

/* Anything shorter than a half of the default route counts as any route. */
static void test_wide_routes(void **state)
{
	static struct config_peer wide;
	struct prefix v[] = { P("64.0.0.0/2") };

	(void)state;
	wide.accept_prefixes.v = v;
	wide.accept_prefixes.n = 1;
	wide.has_accept_prefixes = true;
	expect(&wide, "100.64.0.0/10", CTLMSG_ST_SHADOWED, ACCEPT_ROUTE, "64.0.0.0/2");
}

static void test_local_addresses(void **state)
{
	struct accept_why why;
	char buf[128];

	(void)state;
	expect(NULL, "10.50.0.0/24", CTLMSG_ST_SHADOWED, ACCEPT_LOCAL, "10.50.0.9/32");
	expect(NULL, "10.50.0.9/32", CTLMSG_ST_SHADOWED, ACCEPT_LOCAL, "10.50.0.9/32");
	expect(NULL, "10.50.1.0/24", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	judge(NULL, "10.50.0.0/16", &why);
	assert_string_equal(accept_why_format(&why, buf, sizeof(buf)),
			    "holds the host's address 10.50.0.9/32");
}

/* The tunnel's subnet and what other peers hold are theirs, not this guest's. */
static void test_tunnel_and_other_peers(void **state)
{
	(void)state;
	claims.n_others = 3;
	expect(NULL, "10.33.0.0/24", CTLMSG_ST_SHADOWED, ACCEPT_LOCAL, "10.33.0.1/32");
	expect(NULL, "10.33.0.3/32", CTLMSG_ST_CONFLICT, ACCEPT_TUNNEL, "10.33.0.0/24");
	expect(NULL, "10.33.0.128/25", CTLMSG_ST_CONFLICT, ACCEPT_TUNNEL, "10.33.0.0/24");
	expect(NULL, "10.210.0.0/25", CTLMSG_ST_CONFLICT, ACCEPT_PEER, "10.210.0.0/24");
	expect(NULL, "10.210.0.0/16", CTLMSG_ST_CONFLICT, ACCEPT_PEER, "10.210.0.0/24");
	expect(NULL, "10.44.0.0/16", CTLMSG_ST_CONFLICT, ACCEPT_PEER, "10.44.0.0/16");
	expect(NULL, "10.44.9.0/24", CTLMSG_ST_CONFLICT, ACCEPT_PEER, "10.44.0.0/16");
	/* a peer's wide AllowedIPs (0.0.0.0/0) is not a claim on every prefix */
	claims.n_others = 4;
	expect(NULL, "10.211.0.0/24", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
}

/* AcceptPrefixes, whatever AllowedIPs say; default the private ranges. */
static void test_accept_prefixes(void **state)
{
	static struct config_peer cp, none;
	struct prefix allowed[] = { P("0.0.0.0/0") };
	struct prefix acc[] = { P("10.220.0.0/16") };
	struct accept_why why;
	struct prefix adv = P("10.220.7.0/24"), route = P("10.217.7.0/24");

	(void)state;
	cp.allowed_ips.v = allowed;
	cp.allowed_ips.n = 1;
	expect(&cp, "0.0.0.0/1", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, "0.0.0.0/1");
	expect(&cp, "128.0.0.0/1", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "198.51.100.7/32", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "0.0.0.0/0", CTLMSG_ST_NOT_ALLOWED, ACCEPT_DEFAULT, NULL);
	expect(&cp, "::/0", CTLMSG_ST_NOT_ALLOWED, ACCEPT_DEFAULT, NULL);
	expect(&cp, "2001:db8::/32", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "10.0.0.0/7", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "10.220.0.0/16", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	expect(&cp, "fd17::/48", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	cp.accept_prefixes.v = acc;
	cp.accept_prefixes.n = 1;
	cp.has_accept_prefixes = true;
	expect(&cp, "10.220.0.0/16", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	expect(&cp, "10.220.5.0/24", CTLMSG_ST_INSTALLED, ACCEPT_OK, NULL);
	expect(&cp, "10.211.0.0/24", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "10.0.0.0/8", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	expect(&cp, "fd17::/48", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	/* "none": nothing is learnt */
	none.has_accept_prefixes = true;
	expect(&none, "10.220.0.0/16", CTLMSG_ST_NOT_ALLOWED, ACCEPT_OUTSIDE, NULL);
	/* A remap: the advertised prefix is what AcceptPrefixes bounds, the
	 * routed one what must not collide. */
	assert_int_equal(accept_judge(&host, &claims, &cp, &adv, &route, &why),
			 CTLMSG_ST_INSTALLED);
	route = P("10.8.7.0/24");
	assert_int_equal(accept_judge(&host, &claims, &cp, &adv, &route, &why),
			 CTLMSG_ST_SHADOWED);
}

static void dns(const struct config_peer *cp, const char *addr, enum accept_what what,
		const char *hit)
{
	struct accept_why why;
	struct prefix a;
	char buf[PREFIX_STRLEN];
	enum accept_what got;

	assert_int_equal(prefix_parse_addr(&a, addr), 0);
	got = accept_dns(&host, &claims, cp, &a, &why);
	if (got != what || why.what != what)
		fail_msg("DNS at %s: %d (why %d), wanted %d", addr, got, why.what, what);
	if (hit && strcmp(prefix_format(&why.hit, buf, sizeof(buf)), hit))
		fail_msg("DNS at %s: hit %s, wanted %s", addr, buf, hit);
}

/*
 * A guest's DNS server: its own tunnel address, by the peer's configured
 * AllowedIPs, and nothing the host has or reaches another way. The peer
 * here is configured loosely (its tunnel subnet, the LAN, a VPN's range
 * and everything else), so that the other rules are what refuse.
 */
static void test_dns_address(void **state)
{
	static struct config_peer cp, tight;
	struct prefix allowed[] = { P("10.33.0.0/24"), P("192.0.2.0/24"), P("10.8.0.0/16"),
				    P("10.44.0.0/16"), P("0.0.0.0/0"), P("fd00:33::/64") };
	struct prefix own[] = { P("10.33.0.2/32"), P("10.44.0.0/16") };
	struct accept_why why;
	struct prefix a;
	char buf[128];

	(void)state;
	cp.allowed_ips.v = allowed;
	cp.allowed_ips.n = 6;
	claims.n_others = 4;
	dns(&cp, "10.33.0.2", ACCEPT_OK, NULL);
	dns(&cp, "fd00:33::2", ACCEPT_OK, NULL);
	dns(&cp, "203.0.113.9", ACCEPT_OK, NULL);	/* under the default route: no other way */
	/* the LAN's router, the host itself, a VPN's network, a blackhole */
	dns(&cp, "192.0.2.1", ACCEPT_ROUTE, "192.0.2.0/24");
	dns(&cp, "192.0.2.2", ACCEPT_LOCAL, "192.0.2.2/32");
	dns(&cp, "10.8.0.53", ACCEPT_ROUTE, "10.8.0.0/16");
	dns(&cp, "172.20.0.1", ACCEPT_ROUTE, "172.16.0.0/12");
	dns(&cp, "10.99.0.1", ACCEPT_ROUTE, "10.99.0.0/16");
	/* the host's own tunnel address, and one without a route */
	dns(&cp, "10.33.0.1", ACCEPT_LOCAL, "10.33.0.1/32");
	dns(&cp, "10.50.0.9", ACCEPT_LOCAL, "10.50.0.9/32");
	/* another guest's tunnel address and network, inside this one's AllowedIPs */
	dns(&cp, "10.33.0.3", ACCEPT_PEER, "10.33.0.3/32");
	dns(&cp, "10.44.1.1", ACCEPT_PEER, "10.44.0.0/16");
	/* no server has these */
	dns(&cp, "127.0.0.1", ACCEPT_NOT_UNICAST, "127.0.0.1/32");
	dns(&cp, "0.0.0.0", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "224.0.0.251", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "255.255.255.255", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "169.254.1.1", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "::1", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "::", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "ff02::fb", ACCEPT_NOT_UNICAST, NULL);
	dns(&cp, "fe80::1", ACCEPT_NOT_UNICAST, NULL);
	/* Only the configured AllowedIPs count: not a prefix, not nothing. */
	tight.allowed_ips.v = own;
	tight.allowed_ips.n = 1;
	dns(&tight, "10.33.0.2", ACCEPT_OK, NULL);
	dns(&tight, "10.33.0.4", ACCEPT_NOT_OWN, "10.33.0.4/32");
	dns(&tight, "fd00:33::2", ACCEPT_NOT_OWN, NULL);
	dns(&tight, "192.0.2.1", ACCEPT_NOT_OWN, NULL);
	dns(NULL, "10.33.0.2", ACCEPT_NOT_OWN, NULL);
	/* an address, never a prefix */
	a = P("10.33.0.0/24");
	cp.allowed_ips.n = 1;
	assert_int_equal(accept_dns(&host, &claims, &cp, &a, &why), ACCEPT_NOT_UNICAST);
	assert_int_equal(prefix_parse_addr(&a, "192.0.2.1"), 0);
	cp.allowed_ips = (struct config_prefixes){ .v = allowed, .n = 6 };
	accept_dns(&host, &claims, &cp, &a, &why);
	accept_why_format(&why, buf, sizeof(buf));
	assert_non_null(strstr(buf, "overlaps the host's route 192.0.2.0/24 dev "));
	accept_dns(&host, &claims, &tight, &a, &why);
	assert_string_equal(accept_why_format(&why, buf, sizeof(buf)),
			    "192.0.2.1/32 is outside the peer's AllowedIPs");
}

static void test_dns_domain(void **state)
{
	(void)state;
	assert_true(accept_dns_domain("gangway.internal", "gangway.internal"));
	assert_false(accept_dns_domain("gangway.internal", "example.com"));
	assert_false(accept_dns_domain("gangway.internal", "internal"));
	assert_false(accept_dns_domain("gangway.internal", "x.gangway.internal"));
	assert_false(accept_dns_domain("gangway.internal", "gangway.internal.evil"));
	assert_false(accept_dns_domain("gangway.internal", ""));
	assert_true(accept_dns_domain("corp.example", "corp.example"));
}

static void test_snapshot_limits(void **state)
{
	struct accept_host h = { 0 };
	struct prefix p = P("10.0.0.0/8");
	uint8_t a[16] = { 0 };

	(void)state;
	for (size_t i = 0; i < ACCEPT_MAX_ROUTES; i++)
		assert_int_equal(accept_host_add_route(&h, &p, 1, 254), 0);
	assert_int_equal(accept_host_add_route(&h, &p, 1, 254), -E2BIG);
	assert_int_equal(h.n_routes, ACCEPT_MAX_ROUTES);
	for (size_t i = 0; i < ACCEPT_MAX_ADDRS; i++)
		assert_int_equal(accept_host_add_addr(&h, AF_INET6, a), 0);
	assert_int_equal(accept_host_add_addr(&h, AF_INET6, a), -E2BIG);
	assert_int_equal(accept_host_add_addr(&h, 12345, a), -EAFNOSUPPORT);
	accept_host_clear(&h);
	assert_int_equal(h.n_routes + h.n_addrs, 0);
	accept_host_free(&h);
	assert_null(h.routes);
}

/* A refusal is reported when it is new, not again while it repeats. */
static void test_reported_once(void **state)
{
	static struct accept_reported prev, cur;
	struct prefix a = P("10.1.0.0/16"), b = P("10.2.0.0/16");

	(void)state;
	assert_false(accept_reported_has(&prev, &a, CTLMSG_ST_SHADOWED));
	assert_true(accept_reported_add(&prev, &a, CTLMSG_ST_SHADOWED));
	assert_true(accept_reported_has(&prev, &a, CTLMSG_ST_SHADOWED));
	/* the same prefix refused for another reason is a change */
	assert_false(accept_reported_has(&prev, &a, CTLMSG_ST_CONFLICT));
	assert_false(accept_reported_has(&prev, &b, CTLMSG_ST_SHADOWED));
	for (size_t i = 0; i < CTLMSG_MAX_PREFIXES; i++)
		assert_true(accept_reported_add(&cur, &b, CTLMSG_ST_CONFLICT));
	assert_false(accept_reported_add(&cur, &a, CTLMSG_ST_CONFLICT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes_any_table_either_direction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wide_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tunnel_and_other_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_address, setup, teardown),
		cmocka_unit_test(test_dns_domain),
		cmocka_unit_test(test_snapshot_limits),
		cmocka_unit_test(test_reported_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
