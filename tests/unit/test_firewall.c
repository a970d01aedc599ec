/* test_firewall.c - the firewall's pure parts: plan, rule text, save parsing */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "../../src/firewall_int.h"
#include "log.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct prefix pfx(const char *s)
{
	struct prefix p;

	if (prefix_parse_addr(&p, s))
		fail_msg("prefix_parse_addr(\"%s\")", s);
	return p;
}

static void fmt_eq(const struct prefix *p, const char *want)
{
	char buf[PREFIX_STRLEN];

	assert_string_equal(prefix_format(p, buf, sizeof(buf)), want);
}

/* A view as discovery builds it: bridges and their masked networks. */
static void view_bridge(struct discover_view *v, const char *name, const char *const *addrs,
			size_t n)
{
	struct discover_bridge *b = &v->bridges[v->n_bridges++];
	size_t i;

	memset(b, 0, sizeof(*b));
	snprintf(b->ifname, sizeof(b->ifname), "%s", name);
	for (i = 0; i < n; i++) {
		struct prefix net;

		b->addrs[b->n_addrs++] = pfx(addrs[i]);
		net = pfx(addrs[i]);
		prefix_mask(&net);
		if (net.family == AF_INET6 && net.addr.b[0] == 0xfe)
			continue;	/* discovery does not advertise link-local */
		v->prefixes[v->n_prefixes++] = net;
	}
}

static struct discover_view *view_docker(void)
{
	static const char *const d0[] = { "172.17.0.1/16", "fd00:d0::1/64", "fe80::42:1/64" };
	static const char *const b1[] = { "10.64.128.1/24" };
	struct discover_view *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	view_bridge(v, "docker0", d0, ARRAY_SIZE(d0));
	view_bridge(v, "br-3cdb1cb92a36", b1, ARRAY_SIZE(b1));
	return v;
}

/* ------------------------------------------------------------ names */

static void test_ifname(void **state)
{
	char c[FIREWALL_COMMENT_LEN];

	(void)state;
	assert_true(firewall_ifname_ok("docker0"));
	assert_true(firewall_ifname_ok("br-3cdb1cb92a36"));
	assert_true(firewall_ifname_ok("gwtun64"));
	assert_true(firewall_ifname_ok("a.b_c-d"));
	assert_false(firewall_ifname_ok(""));
	assert_false(firewall_ifname_ok(NULL));
	assert_false(firewall_ifname_ok("."));
	assert_false(firewall_ifname_ok(".."));
	assert_false(firewall_ifname_ok("0123456789abcdef"));	/* 16 > 15 */
	assert_false(firewall_ifname_ok("eth+"));		/* iptables wildcard */
	assert_false(firewall_ifname_ok("a b"));
	assert_false(firewall_ifname_ok("a\"b"));
	assert_false(firewall_ifname_ok("a/b"));
	assert_int_equal(firewall_comment("gwtun64", c, sizeof(c)), 0);
	assert_string_equal(c, "gangway:gwtun64");
	assert_int_equal(firewall_comment("0123456789abcde", c, sizeof(c)), 0);
	assert_string_equal(c, "gangway:0123456789abcde");
	assert_int_equal(firewall_comment("bad name", c, sizeof(c)), -EINVAL);
	assert_int_equal(firewall_comment("gwtun64", c, 8), -ENOSPC);
}

/* ------------------------------------------------------------ plan */

static void test_plan_docker(void **state)
{
	struct prefix src[2] = { pfx("10.201.5.1/32"), pfx("fd00:5::1/128") };
	struct firewall_opts o = { .tun_ifname = "gwtun5", .sources = src, .n_sources = 2 };
	struct discover_view *v = view_docker();
	struct firewall_opening op[16];
	int n;

	(void)state;
	n = firewall_plan(&o, v, op, ARRAY_SIZE(op));
	/* docker0 v4 and v6 (link-local skipped), br-... v4. */
	assert_int_equal(n, 3);
	assert_string_equal(op[0].bridge, "docker0");
	fmt_eq(&op[0].src, "10.201.5.1/32");
	fmt_eq(&op[0].dst, "172.17.0.0/16");
	fmt_eq(&op[0].gw, "172.17.0.1/16");
	assert_string_equal(op[1].bridge, "docker0");
	fmt_eq(&op[1].src, "fd00:5::1/128");
	fmt_eq(&op[1].dst, "fd00:d0::/64");
	fmt_eq(&op[1].gw, "fd00:d0::1/64");
	assert_string_equal(op[2].bridge, "br-3cdb1cb92a36");
	fmt_eq(&op[2].dst, "10.64.128.0/24");
	fmt_eq(&op[2].gw, "10.64.128.1/24");

	/* Too small an output: an error, not a partial plan. */
	assert_int_equal(firewall_plan(&o, v, op, 2), -E2BIG);
	/* Only an IPv4 source: no IPv6 opening. */
	o.n_sources = 1;
	assert_int_equal(firewall_plan(&o, v, op, ARRAY_SIZE(op)), 2);
	free(v);
}

static void test_plan_no_sources(void **state)
{
	struct firewall_opts o = { .tun_ifname = "gwtun5" };
	struct discover_view *v = view_docker();
	struct firewall_opening op[4];

	(void)state;
	assert_int_equal(firewall_plan(&o, v, op, ARRAY_SIZE(op)), 0);
	o.n_sources = 3;	/* a count without an array: still nothing */
	assert_int_equal(firewall_plan(&o, v, op, ARRAY_SIZE(op)), 0);
	assert_int_equal(firewall_plan(NULL, v, op, ARRAY_SIZE(op)), -EINVAL);
	assert_int_equal(firewall_plan(&o, NULL, op, ARRAY_SIZE(op)), -EINVAL);
	free(v);
}

static void test_plan_prefixes(void **state)
{
	static const char *const b0[] = { "10.64.0.1/16" };
	static const char *const b1[] = { "10.65.0.1/24" };
	static const char *const b2[] = { "10.66.0.1/32" };
	static const char *const b3[] = { "10.67.0.1/24" };
	struct prefix src[2] = { pfx("10.201.5.0/24"), pfx("10.201.5.1/32") };
	struct firewall_opts o = { .tun_ifname = "gwtun5", .sources = src, .n_sources = 2 };
	struct discover_view *v = calloc(1, sizeof(*v));
	struct firewall_opening op[16];
	int n;

	(void)state;
	assert_non_null(v);
	view_bridge(v, "br-a", b0, 1);
	view_bridge(v, "br-b", b1, 1);
	view_bridge(v, "br-c", b2, 1);		/* no network: nothing */
	view_bridge(v, "bad name", b3, 1);	/* unusable name: skipped */
	/* Discovery excluded part of br-a and advertised only a /24 of it;
	 * br-b is covered by an IncludePrefixes 10.0.0.0/8. */
	v->n_prefixes = 0;
	v->prefixes[v->n_prefixes++] = pfx("10.64.7.0/24");
	v->prefixes[v->n_prefixes++] = pfx("10.0.0.0/8");
	v->prefixes[v->n_prefixes++] = pfx("10.67.0.0/24");

	n = firewall_plan(&o, v, op, ARRAY_SIZE(op));
	/* br-a: 10.64.7.0/24 (inside it) and 10.64.0.0/16 (the /8 covers
	 * it); br-b: 10.65.0.0/24; two sources each. */
	assert_int_equal(n, 6);
	assert_string_equal(op[0].bridge, "br-a");
	fmt_eq(&op[0].dst, "10.64.7.0/24");
	fmt_eq(&op[0].src, "10.201.5.0/24");
	fmt_eq(&op[1].src, "10.201.5.1/32");
	fmt_eq(&op[2].dst, "10.64.0.0/16");
	assert_string_equal(op[4].bridge, "br-b");
	fmt_eq(&op[4].dst, "10.65.0.0/24");
	fmt_eq(&op[4].gw, "10.65.0.1/24");

	/* The same source twice: one opening. */
	src[1] = src[0];
	assert_int_equal(firewall_plan(&o, v, op, ARRAY_SIZE(op)), 3);

	/* Garbage counts are clamped, never read past the arrays. */
	v->n_bridges = 1000;
	v->bridges[0].n_addrs = 1000;
	n = firewall_plan(&o, v, op, ARRAY_SIZE(op));
	assert_true(n >= 0);
	free(v);
}

/* ------------------------------------------------------------ rule text */

static struct firewall_opening opening(const char *src, const char *dst, const char *gw,
				       const char *bridge)
{
	struct firewall_opening o;

	memset(&o, 0, sizeof(o));
	o.src = pfx(src);
	o.dst = pfx(dst);
	o.gw = pfx(gw);
	snprintf(o.bridge, sizeof(o.bridge), "%s", bridge);
	return o;
}

static void test_expect_format(void **state)
{
	struct firewall_opening op[3] = {
		opening("10.201.5.1/32", "172.17.0.0/16", "172.17.0.1/16", "docker0"),
		opening("fd00:5::1/128", "fd00:d0::/64", "fd00:d0::1/64", "docker0"),
		opening("10.201.5.1/32", "10.64.128.0/24", "10.64.128.1/24", "br-x"),
	};
	struct firewall_ipt_rule r[8];
	char buf[512];
	int n;

	(void)state;
	n = firewall_ipt_text_expect("gwtun5", op, 3, AF_INET, FIREWALL_IPT_USER, r, ARRAY_SIZE(r));
	assert_int_equal(n, 4);
	assert_true(firewall_ipt_text_format(&r[0], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");
	assert_true(firewall_ipt_text_format(&r[1], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-s 10.201.5.1/32 -d 10.64.128.0/24 -i gwtun5 -o br-x "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");
	assert_true(firewall_ipt_text_format(&r[2], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");
	assert_true(firewall_ipt_text_format(&r[3], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-i br-x -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");

	n = firewall_ipt_text_expect("gwtun5", op, 3, AF_INET, FIREWALL_IPT_RAW, r, ARRAY_SIZE(r));
	assert_int_equal(n, 2);
	assert_true(firewall_ipt_text_format(&r[0], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");

	n = firewall_ipt_text_expect("gwtun5", op, 3, AF_INET6, FIREWALL_IPT_USER, r, ARRAY_SIZE(r));
	assert_int_equal(n, 2);
	assert_true(firewall_ipt_text_format(&r[0], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-s fd00:5::1/128 -d fd00:d0::/64 -i gwtun5 -o docker0 "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");

	assert_int_equal(firewall_ipt_text_expect("gwtun5", op, 3, AF_INET, FIREWALL_IPT_USER, r, 3),
			 -E2BIG);
	assert_int_equal(firewall_ipt_text_expect("bad name", op, 3, AF_INET, FIREWALL_IPT_USER, r, 8),
			 -EINVAL);
	assert_int_equal(firewall_ipt_text_format(&r[0], buf, 20), -ENOSPC);
}

static int parse_str(const char *s, struct firewall_ipt_rule *r)
{
	return firewall_ipt_text_parse(s, strlen(s), r);
}

static void test_parse(void **state)
{
	struct firewall_opening op = opening("10.201.5.1/32", "172.17.0.0/16", "172.17.0.1/16",
					     "docker0");
	struct firewall_ipt_rule want[4], got;
	char buf[512];
	int i, n;

	(void)state;
	/* What we write reads back as the same rule. */
	n = firewall_ipt_text_expect("gwtun5", &op, 1, AF_INET, FIREWALL_IPT_USER, want, 4);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_true(firewall_ipt_text_format(&want[i], buf, sizeof(buf)) > 0);
		assert_int_equal(parse_str(buf, &got), 0);
		assert_true(firewall_ipt_text_rule_equal(&got, &want[i]));
	}
	/* Option order does not matter; values are compared as prefixes. */
	assert_int_equal(parse_str("-i gwtun5 -o docker0 -d 172.17.0.0/16 -s 10.201.5.1 "
				   "-m comment --comment gangway:gwtun5 -j ACCEPT", &got), 0);
	assert_true(firewall_ipt_text_rule_equal(&got, &want[0]));

	/* A negation, another target or match: not what we wrote. */
	assert_int_equal(parse_str("-s 10.201.5.1/32 -d 172.17.0.0/16 ! -i gwtun5 -o docker0 "
				   "-m comment --comment \"gangway:gwtun5\" -j ACCEPT", &got), 0);
	assert_true(got.other);
	assert_false(firewall_ipt_text_rule_equal(&got, &want[0]));
	assert_int_equal(parse_str("-s 10.201.5.1/32 -j DROP", &got), 0);
	assert_true(got.other);
	assert_int_equal(parse_str("-p tcp -m tcp --dport 80 -j ACCEPT", &got), 0);
	assert_true(got.other);
	assert_int_equal(parse_str("-m conntrack --ctstate NEW -j ACCEPT", &got), 0);
	assert_true(got.other);

	/* Quoting as iptables-save writes it. */
	assert_int_equal(parse_str("-m comment --comment \"a \\\"b\\\" c\" -j ACCEPT", &got), 0);
	assert_string_equal(got.comment, "a \"b\" c");

	/* A peer with AllowedIPs 0.0.0.0/0: iptables-save prints no -s. */
	op = opening("0.0.0.0/0", "172.17.0.0/16", "172.17.0.1/16", "docker0");
	n = firewall_ipt_text_expect("gwtun5", &op, 1, AF_INET, FIREWALL_IPT_USER, want, 4);
	assert_int_equal(n, 2);
	assert_true(firewall_ipt_text_format(&want[0], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-d 172.17.0.0/16 -i gwtun5 -o docker0 "
			    "-m comment --comment \"gangway:gwtun5\" -j ACCEPT");
	assert_int_equal(parse_str(buf, &got), 0);
	assert_true(firewall_ipt_text_rule_equal(&got, &want[0]));

	/* Broken text: an error, never a crash. */
	assert_int_equal(parse_str("-m comment --comment \"open", &got), -EINVAL);
	assert_int_equal(parse_str("-s", &got), -EINVAL);
	assert_int_equal(parse_str("-s 10.0.0.300/8", &got), -EINVAL);
	assert_int_equal(parse_str("-i 0123456789abcdefgh", &got), -EINVAL);
	assert_int_equal(parse_str("", &got), 0);
	assert_int_equal(firewall_ipt_text_parse("-s 10.0.0.1 -j ACCEPT", 5, &got), -EINVAL);
}

/* ------------------------------------------------------------ save output */

/* Docker 28.2's rules as the reference lists them, ours put in front. */
static const char save_ok[] =
	"# Generated by iptables-nft-save v1.8.9 (nf_tables)\n"
	"*raw\n"
	":PREROUTING ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	"-A PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
	"-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\n"
	"COMMIT\n"
	"*nat\n"
	":POSTROUTING ACCEPT [0:0]\n"
	"-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"
	"-A POSTROUTING -s 10.201.5.1/32 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
	"COMMIT\n"
	"*filter\n"
	":INPUT ACCEPT [0:0]\n"
	":FORWARD DROP [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	":DOCKER - [0:0]\n"
	":DOCKER-BRIDGE - [0:0]\n"
	":DOCKER-CT - [0:0]\n"
	":DOCKER-FORWARD - [0:0]\n"
	":DOCKER-USER - [0:0]\n"
	"-A FORWARD -j DOCKER-USER\n"
	"-A FORWARD -j DOCKER-FORWARD\n"
	"-A DOCKER ! -i docker0 -o docker0 -j DROP\n"
	"-A DOCKER-BRIDGE -o docker0 -j DOCKER\n"
	"-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	"-A DOCKER-FORWARD -j DOCKER-CT\n"
	"-A DOCKER-FORWARD -j DOCKER-BRIDGE\n"
	"-A DOCKER-FORWARD -i docker0 -j ACCEPT\n"
	"-A DOCKER-USER -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
	"-A DOCKER-USER -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
	"-A DOCKER-USER -s 10.9.9.9/32 -m comment --comment \"gangway:gwtun6\" -j ACCEPT\n"
	"-A DOCKER-USER -j RETURN\n"
	"COMMIT\n";

struct want {
	struct firewall_ipt_rule user[4], raw[4];
	size_t n_user, n_raw;
};

static void want_docker0(struct want *w)
{
	struct firewall_opening op = opening("10.201.5.1/32", "172.17.0.0/16", "172.17.0.1/16",
					     "docker0");
	int n;

	n = firewall_ipt_text_expect("gwtun5", &op, 1, AF_INET, FIREWALL_IPT_USER, w->user, 4);
	assert_int_equal(n, 2);
	w->n_user = (size_t)n;
	n = firewall_ipt_text_expect("gwtun5", &op, 1, AF_INET, FIREWALL_IPT_RAW, w->raw, 4);
	assert_int_equal(n, 1);
	w->n_raw = (size_t)n;
}

static void scan_str(const char *text, struct firewall_ipt_scan *s)
{
	assert_int_equal(firewall_ipt_text_scan(text, strlen(text), "gangway:gwtun5", s), 0);
}

static void test_scan_in_place(void **state)
{
	struct firewall_ipt_scan s;
	struct want w;

	(void)state;
	want_docker0(&w);
	scan_str(save_ok, &s);
	assert_true(s.has_filter);
	assert_true(s.has_raw);
	assert_true(s.has_user);
	/* Ours in filter and raw; not gwtun6's, and nat is not read. */
	assert_int_equal(s.n_found, 3);
	assert_true(s.found[0].raw);
	assert_string_equal(s.found[0].chain, "PREROUTING");
	assert_int_equal(s.found[0].pos, 1);
	assert_string_equal(s.found[1].chain, "DOCKER-USER");
	assert_int_equal(s.found[1].pos, 1);
	assert_int_equal(s.found[2].pos, 2);
	assert_true(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user));
	assert_true(firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.raw, w.n_raw));
	/* Fewer or other rules wanted (the view changed): not in place. */
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, 1));
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.user, 1));
	firewall_ipt_text_scan_free(&s);
}

/* Replace the first occurrence of from with to in a copy of text. */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	assert_non_null(at);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void test_scan_broken(void **state)
{
	static const char drop28[] = "-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\n";
	static const char ours_raw[] =
		"-A PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n";
	static const char ours_user1[] =
		"-A DOCKER-USER -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n";
	struct firewall_ipt_scan s;
	struct want w;
	char *t, *u;

	(void)state;
	want_docker0(&w);

	/* Docker inserted its drop in front of ours. */
	u = edit(save_ok, ours_raw, "");
	t = edit(u, drop28, "-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\n"
		 "-A PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n");
	scan_str(t, &s);
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.raw, w.n_raw));
	assert_true(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user));
	firewall_ipt_text_scan_free(&s);
	free(t);

	/* Gone (chain flushed). */
	scan_str(u, &s);
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.raw, w.n_raw));
	assert_true(firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.raw, 0));
	firewall_ipt_text_scan_free(&s);
	free(u);

	/* Twice (an earlier run was killed): not in place. */
	t = edit(save_ok, ours_user1, "-A DOCKER-USER -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		 "-A DOCKER-USER -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n");
	scan_str(t, &s);
	assert_int_equal(s.n_found, 4);
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user));
	firewall_ipt_text_scan_free(&s);
	free(t);

	/* Ours, edited by someone: same comment, other content. */
	t = edit(save_ok, "-d 172.17.0.0/16 -i gwtun5 -o docker0", "-d 172.17.0.0/24 -i gwtun5 -o docker0");
	scan_str(t, &s);
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user));
	firewall_ipt_text_scan_free(&s);
	free(t);

	/* A Docker 20.10 dump: no raw table; DOCKER-USER ends in RETURN. */
	scan_str("*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n", &s);
	assert_false(s.has_raw);
	assert_true(s.has_user);
	assert_int_equal(s.n_found, 0);
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user));
	firewall_ipt_text_scan_free(&s);

	/* No Docker, junk, truncation: scanned without error or crash. */
	scan_str("", &s);
	assert_false(s.has_filter);
	firewall_ipt_text_scan_free(&s);
	scan_str("*filter\n-A\n-A \n-A DOCKER-USER\n-A DOCKER-USER -m comment --comment \"gangway:gwtun5\n", &s);
	assert_int_equal(s.n_found, 0);
	assert_false(s.has_user);
	firewall_ipt_text_scan_free(&s);
	assert_int_equal(firewall_ipt_text_scan(save_ok, 100, "gangway:gwtun5", &s), 0);
	firewall_ipt_text_scan_free(&s);
}

static void test_script(void **state)
{
	static const char moved[] =
		"*raw\n"
		"-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\n"
		"-A PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n"
		"*filter\n"
		":DOCKER-USER - [0:0]\n"
		"-A DOCKER-USER -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-A DOCKER-USER -s 10.9.9.9/32 -m comment --comment \"gangway:gwtun6\" -j ACCEPT\n"
		"-A FORWARD -s 10.201.5.1/32 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n";
	struct proc_buf out = { 0 };
	struct firewall_ipt_scan s;
	struct want w;
	const struct firewall_ipt_rule *want[FIREWALL_IPT_NCHAINS] = { NULL };
	size_t n_want[FIREWALL_IPT_NCHAINS] = { 0 }, inserted;
	bool fix[FIREWALL_IPT_NCHAINS] = { false };

	(void)state;
	want_docker0(&w);
	want[FIREWALL_IPT_USER] = w.user;
	want[FIREWALL_IPT_RAW] = w.raw;
	n_want[FIREWALL_IPT_USER] = w.n_user;
	n_want[FIREWALL_IPT_RAW] = w.n_raw;
	scan_str(moved, &s);
	assert_int_equal(s.n_found, 3);
	fix[FIREWALL_IPT_USER] = !firewall_ipt_text_in_place(&s, FIREWALL_IPT_USER, w.user, w.n_user);
	fix[FIREWALL_IPT_RAW] = !firewall_ipt_text_in_place(&s, FIREWALL_IPT_RAW, w.raw, w.n_raw);
	/* Our stray rule in FORWARD is not where a family with DOCKER-USER
	 * wants any: that chain needs fixing too. */
	fix[FIREWALL_IPT_FORWARD] = !firewall_ipt_text_in_place(&s, FIREWALL_IPT_FORWARD, NULL, 0);
	assert_true(fix[FIREWALL_IPT_USER]);
	assert_true(fix[FIREWALL_IPT_RAW]);
	assert_true(fix[FIREWALL_IPT_FORWARD]);
	fix[FIREWALL_IPT_FORWARD] = false;

	/* Repair: delete ours by their text, insert at 1..n; the stray one
	 * of ours in FORWARD and gwtun6's stay for the purge / their owner. */
	assert_int_equal(firewall_ipt_text_script(&s, moved, fix, false, want, n_want, &out,
						  &inserted), 0);
	assert_int_equal(inserted, 3);
	assert_non_null(out.p);
	assert_string_equal(out.p,
		"*filter\n"
		"-D DOCKER-USER -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-I DOCKER-USER 1 -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-I DOCKER-USER 2 -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n"
		"*raw\n"
		"-D PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-I PREROUTING 1 -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n");

	/* Purge: every one of ours, in any chain, nothing inserted. */
	out.len = 0;
	memset(fix, 0, sizeof(fix));
	assert_int_equal(firewall_ipt_text_script(&s, moved, fix, true, want, n_want, &out, &inserted), 0);
	assert_int_equal(inserted, 0);
	assert_string_equal(out.p,
		"*filter\n"
		"-D DOCKER-USER -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-D FORWARD -s 10.201.5.1/32 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n"
		"*raw\n"
		"-D PREROUTING -s 10.201.5.1/32 -d 172.17.0.0/16 -i gwtun5 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n");

	/* Nothing to do: empty input for restore. */
	out.len = 0;
	out.p[0] = '\0';
	assert_int_equal(firewall_ipt_text_script(&s, moved, fix, false, want, n_want, &out,
						  &inserted), 0);
	assert_int_equal(out.len, 0);
	firewall_ipt_text_scan_free(&s);
	proc_buf_free(&out);
}

/* Docker 20.10's IPv6 filter table: no DOCKER-USER, FORWARD policy DROP. */
static void test_forward_fallback(void **state)
{
	static const char v6_2010[] =
		"*filter\n"
		":INPUT ACCEPT [0:0]\n"
		":FORWARD DROP [0:0]\n"
		":OUTPUT ACCEPT [0:0]\n"
		":DOCKER - [0:0]\n"
		":DOCKER-ISOLATION-STAGE-1 - [0:0]\n"
		"-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n"
		"-A FORWARD -s fd00:5::1/128 -d fd00:d0::/64 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
		"-A FORWARD -o docker0 -j DOCKER\n"
		"COMMIT\n";
	struct firewall_opening op = opening("fd00:5::1/128", "fd00:d0::/64", "fd00:d0::1/64",
					     "docker0");
	struct firewall_ipt_rule fwd[4];
	const struct firewall_ipt_rule *want[FIREWALL_IPT_NCHAINS] = { NULL };
	size_t n_want[FIREWALL_IPT_NCHAINS] = { 0 }, inserted;
	bool fix[FIREWALL_IPT_NCHAINS] = { false };
	struct proc_buf out = { 0 };
	struct firewall_ipt_scan s;
	int n;

	(void)state;
	scan_str(v6_2010, &s);
	assert_false(s.has_user);
	assert_true(s.has_docker);
	assert_int_equal(s.n_found, 1);
	assert_string_equal(s.found[0].chain, "FORWARD");
	assert_int_equal(s.found[0].pos, 2);
	n = firewall_ipt_text_expect("gwtun5", &op, 1, AF_INET6, FIREWALL_IPT_FORWARD, fwd, 4);
	assert_int_equal(n, 2);
	/* Behind Docker's jump (restarted dockerd put it first): fix. */
	assert_false(firewall_ipt_text_in_place(&s, FIREWALL_IPT_FORWARD, fwd, (size_t)n));
	want[FIREWALL_IPT_FORWARD] = fwd;
	n_want[FIREWALL_IPT_FORWARD] = (size_t)n;
	fix[FIREWALL_IPT_FORWARD] = true;
	assert_int_equal(firewall_ipt_text_script(&s, v6_2010, fix, false, want, n_want, &out,
						  &inserted), 0);
	assert_int_equal(inserted, 2);
	assert_string_equal(out.p,
		"*filter\n"
		"-D FORWARD -s fd00:5::1/128 -d fd00:d0::/64 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-I FORWARD 1 -s fd00:5::1/128 -d fd00:d0::/64 -i gwtun5 -o docker0 -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"-I FORWARD 2 -i docker0 -o gwtun5 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"gangway:gwtun5\" -j ACCEPT\n"
		"COMMIT\n");
	firewall_ipt_text_scan_free(&s);
	proc_buf_free(&out);
}

static void test_buf(void **state)
{
	struct proc_buf b = { 0 };
	char big[10000];
	int i;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(proc_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(proc_buf_printf(&b, "%d:%s\n", i, big), 0);
	assert_int_equal(b.len, 5 * (2 + sizeof(big)));
	assert_int_equal(b.p[b.len], '\0');
	assert_int_equal(memcmp(b.p + 2 + sizeof(big), "1:xx", 4), 0);
	proc_buf_free(&b);
	assert_null(b.p);
}

static void test_mech_name(void **state)
{
	(void)state;
	assert_string_equal(firewall_mech_name(FIREWALL_NONE), "none");
	assert_string_equal(firewall_mech_name(FIREWALL_IPTABLES_NFT), "iptables-nft");
	assert_string_equal(firewall_mech_name(FIREWALL_IPTABLES_LEGACY), "iptables-legacy");
	assert_string_equal(firewall_mech_name(FIREWALL_NFTABLES), "nftables");
	assert_string_equal(firewall_mech_name((enum firewall_mech)42), "?");
}

/* Bad input to the API itself: errors, no crash, nothing touched. */
static void test_api_bad_input(void **state)
{
	struct firewall_opts o = { .tun_ifname = "bad name" };

	(void)state;
	assert_null(firewall_new(NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(firewall_new(&o));
	assert_int_equal(errno, EINVAL);
	o.tun_ifname = "gwtun5";
	o.n_sources = 2;	/* a count without sources */
	assert_null(firewall_new(&o));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(firewall_apply(NULL, NULL), -EINVAL);
	assert_int_equal(firewall_check(NULL), 0);
	assert_int_equal(firewall_event_fd(NULL), -1);
	assert_false(firewall_event_process(NULL));
	assert_int_equal(firewall_mechanism(NULL), FIREWALL_NONE);
	firewall_remove(NULL);
	firewall_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ifname),
		cmocka_unit_test(test_plan_docker),
		cmocka_unit_test(test_plan_no_sources),
		cmocka_unit_test(test_plan_prefixes),
		cmocka_unit_test(test_expect_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_scan_in_place),
		cmocka_unit_test(test_scan_broken),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_forward_fallback),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_mech_name),
		cmocka_unit_test(test_api_bad_input),
	};

	log_init("test_firewall", LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
