/* test_discover.c - bridge name matching, the view computation, rtnetlink events */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "discover.h"
#include "testhooks/discover_hooks.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Big structures live here, not on the stack. */
static struct discover_view view, view2;
static struct discover_bridge in[DISCOVER_MAX_BRIDGES + 4];

static struct prefix addr(const char *s)
{
	struct prefix p;

	if (prefix_parse_addr(&p, s))
		fail_msg("prefix_parse_addr(\"%s\") failed", s);
	return p;
}

static void bridge(struct discover_bridge *b, const char *name, int ifindex, bool up,
		   const char *a0, const char *a1, const char *a2)
{
	const char *as[] = { a0, a1, a2 };
	size_t i;

	memset(b, 0, sizeof(*b));
	snprintf(b->ifname, sizeof(b->ifname), "%s", name);
	b->ifindex = ifindex;
	b->up = up;
	for (i = 0; i < ARRAY_SIZE(as); i++)
		if (as[i])
			b->addrs[b->n_addrs++] = addr(as[i]);
}

static void patterns(struct config_patterns *l, const char *const *v, size_t n)
{
	size_t i;

	l->n = n;
	for (i = 0; i < n; i++)
		snprintf(l->v[i], IF_NAMESIZE, "%s", v[i]);
}

/* The prefixes of a view, as "p1 p2 ..." */
static const char *prefixes_str(const struct discover_view *v)
{
	static char out[4096];
	char buf[PREFIX_STRLEN];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < v->n_prefixes; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "",
					 prefix_format(&v->prefixes[i], buf, sizeof(buf)));
	return out;
}

static const char *addrs_str(const struct discover_bridge *b)
{
	static char out[1024];
	char buf[PREFIX_STRLEN];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < b->n_addrs; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "",
					 prefix_format(&b->addrs[i], buf, sizeof(buf)));
	return out;
}

static void test_match_default(void **state)
{
	struct config c;

	config_init(&c);
	assert_true(discover_view_match_ifname(&c, "docker0"));
	assert_true(discover_view_match_ifname(&c, "br-0123456789ab"));
	assert_true(discover_view_match_ifname(&c, "br-x"));
	assert_false(discover_view_match_ifname(&c, "docker1"));
	assert_false(discover_view_match_ifname(&c, "virbr0"));
	assert_false(discover_view_match_ifname(&c, "xbr-1"));
	assert_false(discover_view_match_ifname(&c, "br0"));
	assert_false(discover_view_match_ifname(&c, "Docker0"));
	assert_false(discover_view_match_ifname(&c, ""));
	assert_false(discover_view_match_ifname(&c, NULL));
	assert_false(discover_view_match_ifname(NULL, "docker0"));
	/* 16 characters cannot be an interface name. */
	assert_false(discover_view_match_ifname(&c, "br-0123456789abc"));
	assert_true(discover_view_match_ifname(&c, "br-0123456789ab"));
	config_free(&c);
}

static void test_match_patterns_and_exclusions(void **state)
{
	static const char *const br[] = { "docker?", "br-*", "lab[0-9]", "exact" };
	static const char *const ex[] = { "br-skip*", "docker9" };
	struct config c;

	config_init(&c);
	patterns(&c.bridges, br, ARRAY_SIZE(br));
	patterns(&c.exclude_interfaces, ex, ARRAY_SIZE(ex));
	assert_true(discover_view_match_ifname(&c, "docker0"));
	assert_true(discover_view_match_ifname(&c, "docker1"));
	assert_false(discover_view_match_ifname(&c, "docker9"));
	assert_false(discover_view_match_ifname(&c, "docker10"));
	assert_true(discover_view_match_ifname(&c, "br-keep"));
	assert_false(discover_view_match_ifname(&c, "br-skip"));
	assert_false(discover_view_match_ifname(&c, "br-skipped1"));
	assert_true(discover_view_match_ifname(&c, "lab7"));
	assert_false(discover_view_match_ifname(&c, "labx"));
	assert_true(discover_view_match_ifname(&c, "exact"));
	assert_false(discover_view_match_ifname(&c, "exactly"));

	/* An exclusion alone matches nothing; no patterns match nothing. */
	c.bridges.n = 0;
	assert_false(discover_view_match_ifname(&c, "docker0"));
	assert_false(discover_view_match_ifname(&c, "br-keep"));

	/* An entry without its terminator is skipped, not overread. */
	patterns(&c.bridges, br, 1);
	memset(c.bridges.v[0], 'a', IF_NAMESIZE);
	assert_false(discover_view_match_ifname(&c, "aaaaaaaaaaaaaaa"));
	/* A count past the array is clamped. */
	patterns(&c.bridges, br, ARRAY_SIZE(br));
	c.bridges.n = CONFIG_MAX_PATTERNS + 100;
	assert_true(discover_view_match_ifname(&c, "exact"));
	config_free(&c);
}

static void test_view_mask_sort(void **state)
{
	bridge(&in[0], "docker0", 3, false, "fd00:17::1/64", "172.17.0.1/16", NULL);
	bridge(&in[1], "br-b", 9, true, "10.1.2.3/24", "10.1.2.3/24", "2001:db8::5/48");
	bridge(&in[2], "br-a", 7, true, "10.0.0.1/8", "10.0.0.1/16", "10.1.2.200/24");

	discover_view_build(NULL, in, 3, &view);
	assert_int_equal(view.n_bridges, 3);
	/* Bridges by name, addresses sorted, host bits kept, no repeats. */
	assert_string_equal(view.bridges[0].ifname, "br-a");
	assert_int_equal(view.bridges[0].ifindex, 7);
	assert_true(view.bridges[0].up);
	assert_string_equal(addrs_str(&view.bridges[0]), "10.0.0.1/8 10.0.0.1/16 10.1.2.200/24");
	assert_string_equal(view.bridges[1].ifname, "br-b");
	assert_string_equal(addrs_str(&view.bridges[1]), "10.1.2.3/24 2001:db8::5/48");
	assert_string_equal(view.bridges[2].ifname, "docker0");
	assert_false(view.bridges[2].up);
	assert_string_equal(addrs_str(&view.bridges[2]), "172.17.0.1/16 fd00:17::1/64");

	/* IPv4 first; same address: shorter first; one 10.1.2.0/24. */
	assert_string_equal(prefixes_str(&view),
			    "10.0.0.0/8 10.0.0.0/16 10.1.2.0/24 172.17.0.0/16 "
			    "2001:db8::/48 fd00:17::/64");
}

static void test_view_order_independent(void **state)
{
	bridge(&in[0], "docker0", 3, true, "172.17.0.1/16", "fd00::1/64", NULL);
	bridge(&in[1], "br-x", 4, true, "172.18.0.1/16", NULL, NULL);
	discover_view_build(NULL, in, 2, &view);

	bridge(&in[0], "br-x", 4, true, "172.18.0.1/16", NULL, NULL);
	bridge(&in[1], "docker0", 3, true, "fd00::1/64", "172.17.0.1/16", NULL);
	/* Bytes past an IPv4 address must not matter. */
	memset(&in[0].addrs[0].addr.b[4], 0xee, 12);
	discover_view_build(NULL, in, 2, &view2);
	assert_true(discover_view_equal(&view, &view2));
	assert_true(discover_view_equal(&view2, &view));
}

static void test_view_equal_detects_changes(void **state)
{
	bridge(&in[0], "docker0", 3, true, "172.17.0.1/16", NULL, NULL);
	discover_view_build(NULL, in, 1, &view);

	in[0].up = false;
	discover_view_build(NULL, in, 1, &view2);
	assert_false(discover_view_equal(&view, &view2));

	bridge(&in[0], "docker0", 30, true, "172.17.0.1/16", NULL, NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_false(discover_view_equal(&view, &view2));	/* recreated */

	bridge(&in[0], "docker1", 3, true, "172.17.0.1/16", NULL, NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_false(discover_view_equal(&view, &view2));	/* renamed */

	/* Same prefix, another gateway: the view still differs. */
	bridge(&in[0], "docker0", 3, true, "172.17.0.2/16", NULL, NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_string_equal(prefixes_str(&view), prefixes_str(&view2));
	assert_false(discover_view_equal(&view, &view2));

	bridge(&in[0], "docker0", 3, true, "172.17.0.1/17", NULL, NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_false(discover_view_equal(&view, &view2));

	bridge(&in[0], "docker0", 3, true, "172.17.0.1/16", "10.0.0.1/8", NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_false(discover_view_equal(&view, &view2));

	discover_view_build(NULL, in, 0, &view2);
	assert_false(discover_view_equal(&view, &view2));
	assert_int_equal(view2.n_bridges, 0);
	assert_int_equal(view2.n_prefixes, 0);

	bridge(&in[0], "docker0", 3, true, "172.17.0.1/16", NULL, NULL);
	discover_view_build(NULL, in, 1, &view2);
	assert_true(discover_view_equal(&view, &view2));
}

static void test_view_exclude_include(void **state)
{
	struct prefix excl[] = {
		addr("172.16.0.0/12"),		/* holds 172.18/16 and 172.19/16 */
		addr("10.5.0.0/24"),		/* only part of 10.5/16: no effect */
		addr("fd00:1::/64"),		/* exactly one bridge network */
		addr("192.168.0.0/16"),		/* holds an inclusion: no effect */
	};
	struct prefix incl[] = {
		addr("192.168.7.9/24"),		/* host bits: masked */
		addr("10.5.0.0/16"),		/* a bridge's own: once */
		addr("fd00:1::/64"),		/* excluded, but included wins */
		addr("0.0.0.0/0"),
	};
	struct config c;

	config_init(&c);
	c.exclude_prefixes.v = excl;
	c.exclude_prefixes.n = ARRAY_SIZE(excl);
	bridge(&in[0], "br-a", 2, true, "172.18.0.1/16", "10.5.0.1/16", "fd00:2::1/64");
	bridge(&in[1], "br-b", 3, true, "172.19.0.1/16", "fd00:1::1/64", "172.20.5.1/24");
	bridge(&in[2], "docker0", 4, true, "172.17.0.1/16", "172.32.0.1/16", NULL);

	discover_view_build(&c, in, 3, &view);
	assert_string_equal(prefixes_str(&view), "10.5.0.0/16 172.32.0.0/16 fd00:2::/64");
	/* Exclusions hide networks, not the bridges or their addresses. */
	assert_int_equal(view.n_bridges, 3);
	assert_string_equal(addrs_str(&view.bridges[1]), "172.19.0.1/16 172.20.5.1/24 fd00:1::1/64");

	c.include_prefixes.v = incl;
	c.include_prefixes.n = ARRAY_SIZE(incl);
	discover_view_build(&c, in, 3, &view);
	assert_string_equal(prefixes_str(&view),
			    "0.0.0.0/0 10.5.0.0/16 172.32.0.0/16 192.168.7.0/24 "
			    "fd00:1::/64 fd00:2::/64");

	/* Inclusions alone, without any bridge. */
	c.exclude_prefixes.n = 0;
	discover_view_build(&c, in, 0, &view);
	assert_string_equal(prefixes_str(&view),
			    "0.0.0.0/0 10.5.0.0/16 192.168.7.0/24 fd00:1::/64");

	/* A NULL list with a count is treated as empty. */
	c.include_prefixes.v = NULL;
	c.exclude_prefixes.v = NULL;
	c.exclude_prefixes.n = 3;
	discover_view_build(&c, in, 1, &view);
	assert_string_equal(prefixes_str(&view), "10.5.0.0/16 172.18.0.0/16 fd00:2::/64");
}

static void test_view_skips_invalid(void **state)
{
	bridge(&in[0], "br-a", 2, true, "172.18.0.1/16", "10.0.0.1/8", "fd00::1/64");
	in[0].addrs[1].family = AF_UNIX;
	in[0].addrs[2].len = 129;
	/* An unterminated name is cut, not overread. */
	memset(in[0].ifname, 'x', IF_NAMESIZE);
	discover_view_build(NULL, in, 1, &view);
	assert_int_equal(view.n_bridges, 1);
	assert_int_equal(strlen(view.bridges[0].ifname), IF_NAMESIZE - 1);
	assert_string_equal(addrs_str(&view.bridges[0]), "172.18.0.1/16");
	assert_string_equal(prefixes_str(&view), "172.18.0.0/16");
}

static void test_view_limits(void **state)
{
	char name[IF_NAMESIZE], a[32];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(in); i++) {
		snprintf(name, sizeof(name), "br-%03zu", i);
		snprintf(a, sizeof(a), "10.%zu.0.1/16", i);
		bridge(&in[i], name, (int)i + 1, true, a, NULL, NULL);
	}
	discover_view_build(NULL, in, ARRAY_SIZE(in), &view);
	assert_int_equal(view.n_bridges, DISCOVER_MAX_BRIDGES);
	assert_int_equal(view.n_prefixes, DISCOVER_MAX_BRIDGES);
	assert_string_equal(view.bridges[DISCOVER_MAX_BRIDGES - 1].ifname, "br-063");

	/* A full bridge, and a count past the array that must be clamped. */
	for (j = 0; j < DISCOVER_MAX_ADDRS; j++) {
		in[0].addrs[j] = addr("fd00::1/64");
		in[0].addrs[j].addr.b[15] = (uint8_t)(j + 1);
	}
	in[0].n_addrs = DISCOVER_MAX_ADDRS + 50;
	discover_view_build(NULL, in, 1, &view);
	assert_int_equal(view.bridges[0].n_addrs, DISCOVER_MAX_ADDRS);
	assert_int_equal(view.n_prefixes, 1);
	assert_string_equal(prefixes_str(&view), "fd00::/64");
}

/* ---- rtnetlink messages through discover_feed ---- */

static union {
	struct nlmsghdr h;	/* for the alignment */
	uint8_t b[4096];
} nl;
static size_t nl_len;
static unsigned int changes;

static void on_change(void *ctx, const struct discover_view *v)
{
	(void)ctx;
	(void)v;
	changes++;
}

static struct nlmsghdr *nl_msg_start(uint16_t type, const void *body, size_t len)
{
	struct nlmsghdr *h = (void *)(nl.b + nl_len);	/* NLMSG_ALIGNed */

	assert_true(nl_len + NLMSG_SPACE(len) <= sizeof(nl.b));
	memset(h, 0, NLMSG_SPACE(len));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_MULTI;
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	if (len)
		memcpy(NLMSG_DATA(h), body, len);
	return h;
}

static void nl_attr(struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	struct rtattr *rta = (void *)((uint8_t *)h + NLMSG_ALIGN(h->nlmsg_len));

	assert_true(nl_len + NLMSG_ALIGN(h->nlmsg_len) + RTA_SPACE(len) <= sizeof(nl.b));
	memset(rta, 0, RTA_SPACE(len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = (uint32_t)(NLMSG_ALIGN(h->nlmsg_len) + RTA_LENGTH(len));
}

static void nl_msg_end(struct nlmsghdr *h)
{
	nl_len += NLMSG_ALIGN(h->nlmsg_len);
}

static void nl_link(uint16_t type, int index, const char *name, const char *kind)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = 1 };
	struct nlmsghdr *h = nl_msg_start(type, &ifi, sizeof(ifi));

	nl_attr(h, IFLA_IFNAME, name, strlen(name) + 1);
	if (kind) {
		uint8_t info[64];
		struct rtattr *k = (void *)info;

		k->rta_type = IFLA_INFO_KIND;
		k->rta_len = (unsigned short)RTA_LENGTH(strlen(kind) + 1);
		memcpy(RTA_DATA(k), kind, strlen(kind) + 1);
		nl_attr(h, IFLA_LINKINFO, info, RTA_ALIGN(k->rta_len));
	}
	nl_msg_end(h);
}

static void nl_addr(uint16_t type, int index, const char *a, uint8_t plen)
{
	struct ifaddrmsg ifa = { .ifa_prefixlen = plen, .ifa_index = (unsigned int)index };
	uint8_t raw[16];
	struct nlmsghdr *h;

	ifa.ifa_family = strchr(a, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(ifa.ifa_family, a, raw), 1);
	h = nl_msg_start(type, &ifa, sizeof(ifa));
	nl_attr(h, IFA_ADDRESS, raw, ifa.ifa_family == AF_INET ? 4 : 16);
	nl_attr(h, IFA_LOCAL, raw, ifa.ifa_family == AF_INET ? 4 : 16);
	nl_msg_end(h);
}

static int nl_feed(struct discover *d)
{
	int ret = discover_feed(d, nl.b, nl_len);

	nl_len = 0;
	assert_int_equal(discover_check(d), 0);
	return ret;
}

/*
 * The event path without sockets: links and addresses come and go, only
 * matching bridges count, and the answer says when a real discover would
 * dump again.
 */
static void test_feed_events(void **state)
{
	static const char *const br[] = { "docker0", "br-*" };
	struct config c;
	struct discover *d;
	const struct discover_view *v;

	(void)state;
	memset(&c, 0, sizeof(c));
	patterns(&c.bridges, br, ARRAY_SIZE(br));
	d = discover_new_detached(&c, on_change, NULL);
	assert_non_null(d);
	assert_int_equal(discover_fd(d), -1);
	assert_int_equal(discover_process(d), -ENOTCONN);
	v = discover_view(d);
	assert_int_equal(v->n_bridges, 0);

	/* a new bridge: its earlier addresses are unknown, so "dump again" */
	nl_link(RTM_NEWLINK, 3, "docker0", "bridge");
	nl_addr(RTM_NEWADDR, 3, "172.17.0.1", 16);
	nl_addr(RTM_NEWADDR, 3, "fe80::1", 64);
	nl_link(RTM_NEWLINK, 4, "veth0", "veth");
	nl_addr(RTM_NEWADDR, 4, "10.1.0.1", 24);
	assert_int_equal(nl_feed(d), 1);
	assert_int_equal(changes, 1);
	assert_int_equal(v->n_bridges, 1);
	assert_string_equal(addrs_str(&v->bridges[0]), "172.17.0.1/16");
	assert_string_equal(prefixes_str(v), "172.17.0.0/16");

	/* known bridge: no dump; the same address again changes nothing */
	nl_addr(RTM_NEWADDR, 3, "fd00:17::1", 64);
	nl_addr(RTM_NEWADDR, 3, "172.17.0.1", 16);
	assert_int_equal(nl_feed(d), 0);
	assert_int_equal(changes, 2);
	assert_string_equal(prefixes_str(v), "172.17.0.0/16 fd00:17::/64");
	nl_addr(RTM_NEWADDR, 3, "172.17.0.1", 16);
	assert_int_equal(nl_feed(d), 0);
	assert_int_equal(changes, 2);

	/* renamed away: gone; an overrun means events were lost */
	nl_link(RTM_NEWLINK, 3, "eth7", NULL);
	assert_int_equal(nl_feed(d), 0);
	assert_int_equal(v->n_bridges, 0);
	assert_int_equal(changes, 3);
	nl_msg_end(nl_msg_start(NLMSG_OVERRUN, NULL, 0));
	assert_int_equal(nl_feed(d), 1);

	/* a message cut short is skipped, the rest of the datagram too */
	nl_link(RTM_NEWLINK, 5, "br-x", "bridge");
	nl.h.nlmsg_len += 200;
	assert_true(nl_feed(d) >= 0);
	assert_int_equal(v->n_bridges, 0);
	assert_int_equal(discover_feed(d, nl.b, sizeof(nl.b) * 64), -EMSGSIZE);
	discover_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_default),
		cmocka_unit_test(test_match_patterns_and_exclusions),
		cmocka_unit_test(test_view_mask_sort),
		cmocka_unit_test(test_view_order_independent),
		cmocka_unit_test(test_view_equal_detects_changes),
		cmocka_unit_test(test_view_exclude_include),
		cmocka_unit_test(test_view_skips_invalid),
		cmocka_unit_test(test_view_limits),
		cmocka_unit_test(test_feed_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
