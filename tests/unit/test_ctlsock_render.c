/* test_ctlsock_render.c - the status replies: bounded buffer, prefixes, the three renderings */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctlsock_render.h"
#include "tunnel.h"

static void test_buf_bounded(void **state)
{
	char mem[16];
	struct ctlsock_buf b = { .p = mem, .cap = sizeof(mem) };

	(void)state;
	ctlsock_render_printf(&b, "%s", "0123456789");
	assert_int_equal(b.len, 10);
	assert_false(b.truncated);
	ctlsock_render_printf(&b, "%s", "abcdef");	/* 16 bytes + NUL: one too many */
	assert_true(b.truncated);
	assert_int_equal(b.len, 10);
	assert_string_equal(mem, "0123456789");
	ctlsock_render_printf(&b, "x");		/* stays truncated, no partial output */
	assert_string_equal(mem, "0123456789");
}

static void test_status_add_full(void **state)
{
	struct ctlsock_status *s = calloc(1, sizeof(*s));
	struct ctlsock_prefix p = { .state = CTLSOCK_P_ADVERTISED };

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < CTLSOCK_MAX_PREFIXES; i++)
		assert_int_equal(ctlsock_render_add_prefix(s, &p), 0);
	assert_int_equal(ctlsock_render_add_prefix(s, &p), -ENOSPC);
	assert_int_equal(s->n, CTLSOCK_MAX_PREFIXES);
	free(s);
}

/* A tunnel with an engine and one peer, enough for the renderers. */
static int fake_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)ctx; (void)to; (void)buf; (void)len;
	return 0;
}

static int fake_deliver(void *ctx, struct wg_peer *from, const uint8_t *pkt, size_t len)
{
	(void)ctx; (void)from; (void)pkt; (void)len;
	return 0;
}

struct fixture {
	struct tunnel t;
	struct ctlsock_snap snap;	/* the tunnel's part from tunnel_stats() */
	struct wg_peer *peer;
	char out[CTLSOCK_MAX_REPLY];
};

static int setup(void **state)
{
	static const struct wg_ops ops = { .send = fake_send, .deliver = fake_deliver };
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t priv[WG_KEY_LEN] = { 1 }, pub[WG_KEY_LEN] = { 9 };
	struct wg_endpoint ep = { 0 };

	if (!f)
		return -1;
	f->t.dev = wg_device_new(priv, &ops, f);
	if (!f->t.dev)
		return -1;
	f->t.role = TUNNEL_GUEST;
	strcpy(f->t.ifname, "gw0");
	f->t.cfg.listen_port = 51821;
	f->peer = wg_peer_new(f->t.dev, pub, NULL);
	if (!f->peer)
		return -1;
	ep.in.sin_family = AF_INET;
	ep.in.sin_port = htons(51820);
	ep.in.sin_addr.s_addr = htonl(0xc0a80101);
	wg_peer_set_endpoint(f->peer, &ep);
	f->snap.status.firewall = "nftables";
	f->snap.status.have_host_ctl = true;
	assert_int_equal(prefix_parse(&f->snap.status.host_ctl, "10.33.0.1/32", true), 0);
	f->snap.status.generation = 7;
	f->snap.status.acked = true;
	f->snap.status.n = 2;
	assert_int_equal(prefix_parse(&f->snap.status.v[0].p, "172.17.0.0/16", true), 0);
	assert_int_equal(prefix_parse(&f->snap.status.v[0].mapped, "10.217.0.0/16", true), 0);
	assert_int_equal(prefix_parse(&f->snap.status.v[1].p, "fd00:1::/64", true), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wg_device_free(f->t.dev);
	free(f);
	return 0;
}

static const char *render(struct fixture *f, enum ctlsock_req req)
{
	struct ctlsock_buf b = { .p = f->out, .cap = sizeof(f->out) };

	f->out[0] = '\0';
	tunnel_stats(&f->t, &f->snap);
	ctlsock_render(&b, req, &f->snap, 1000 * WG_NSEC);
	assert_false(b.truncated);
	assert_int_equal(strlen(f->out), b.len);
	return f->out;
}

static void test_render_text(void **state)
{
	struct fixture *f = *state;
	const char *out = render(f, CTLSOCK_REQ_STATUS);

	assert_non_null(strstr(out, "interface: gw0 (guest)\n"));
	assert_non_null(strstr(out, "  firewall: nftables\n"));
	assert_non_null(strstr(out, "  endpoint: 192.168.1.1:51820\n"));
	assert_non_null(strstr(out, "  latest handshake: never\n"));
	assert_non_null(strstr(out, "advertised to 10.33.0.1/32: generation 7, acknowledged\n"));
	assert_non_null(strstr(out, "  172.17.0.0/16 (the host reaches it as 10.217.0.0/16)\n"));
	assert_non_null(strstr(out, "  fd00:1::/64\n"));
}

static void test_render_json(void **state)
{
	struct fixture *f = *state;
	const char *out = render(f, CTLSOCK_REQ_STATUS_JSON);

	assert_true(out[0] == '{');
	assert_non_null(strstr(out, "\"schema\": 1, \"role\": \"guest\", \"interface\": \"gw0\""));
	assert_non_null(strstr(out, "\"firewall\": \"nftables\""));
	assert_non_null(strstr(out, "\"endpoint\": \"192.168.1.1:51820\""));
	assert_non_null(strstr(out, "\"last_handshake_age\": null"));
	assert_non_null(strstr(out, "\"bad-mac1\": 0"));
	assert_non_null(strstr(out, "\"generation\": 7, \"acknowledged\": true"));
	assert_non_null(strstr(out, "{\"prefix\": \"172.17.0.0/16\", \"state\": \"advertised\", "
				    "\"mapped\": \"10.217.0.0/16\"}"));
	/* Balanced braces and brackets (the integration test parses it for real). */
	int depth = 0;
	for (const char *p = out; *p; p++) {
		depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
}

/* The host: what a guest's firewall check found, as the guest said it. */
static void test_render_findings(void **state)
{
	static const struct ctlmsg_finding v[2] = {
		{ "Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -j DROP', "
		  "comes before the jump.", "delete that rule ('iptables-nft -D FORWARD 1')" },
		{ "a \"quoted\" \\ word", "" },
	};
	struct fixture *f = *state;
	const char *out;

	f->t.role = TUNNEL_HOST;
	f->snap.status.firewall = NULL;
	out = render(f, CTLSOCK_REQ_STATUS_JSON);
	assert_non_null(strstr(out, "\"guest_firewall\": null"));	/* said nothing yet */
	f->snap.status.findings[0] = (struct ctlsock_findings){ .peer = f->peer, .v = v, .n = 0 };
	f->snap.status.n_findings = 1;
	out = render(f, CTLSOCK_REQ_STATUS_JSON);
	assert_non_null(strstr(out, "\"guest_firewall\": []"));
	out = render(f, CTLSOCK_REQ_STATUS);
	assert_null(strstr(out, "guest firewall"));
	f->snap.status.findings[0].n = 2;
	out = render(f, CTLSOCK_REQ_STATUS);
	assert_non_null(strstr(out, "\n  guest firewall: Firewall (iptables-nft, IPv4): rule 1 "
				    "of FORWARD, '-A FORWARD -j DROP', comes before the jump. (fix: "
				    "delete that rule ('iptables-nft -D FORWARD 1'))\n"));
	assert_non_null(strstr(out, "\n  guest firewall: a \"quoted\" \\ word (fix: )\n"));
	out = render(f, CTLSOCK_REQ_STATUS_JSON);
	assert_non_null(strstr(out, "\"guest_firewall\": [{\"finding\": \"Firewall "
				    "(iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -j DROP', "
				    "comes before the jump.\", \"fix\": \"delete that rule "
				    "('iptables-nft -D FORWARD 1')\"}, {\"finding\": \"a \\\"quoted"
				    "\\\" \\\\ word\", \"fix\": \"\"}]"));
}

static void test_render_prom(void **state)
{
	struct fixture *f = *state;
	const char *out = render(f, CTLSOCK_REQ_PROMETHEUS);
	size_t drops = 0;

	assert_non_null(strstr(out, "gangway_info{interface=\"gw0\",role=\"guest\","
				    "firewall=\"nftables\"} 1\n"));
	assert_non_null(strstr(out, "# TYPE gangway_peer_rx_bytes_total counter\n"));
	assert_non_null(strstr(out, "gangway_prefixes{interface=\"gw0\",state=\"advertised\"} 2\n"));
	for (const char *p = out; (p = strstr(p, "\ngangway_peer_drops_total{")); p++)
		drops++;
	assert_int_equal(drops, WG_DROP_MAX);
	/* Every line is a comment or "name{labels} value". */
	for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
		assert_true(*p == '#' || !strncmp(p, "gangway_", 8));
		assert_non_null(strchr(p, '\n'));
	}
}

static void test_render_truncates(void **state)
{
	struct fixture *f = *state;
	struct ctlsock_buf b = { .p = f->out, .cap = 100 };

	tunnel_stats(&f->t, &f->snap);
	ctlsock_render(&b, CTLSOCK_REQ_PROMETHEUS, &f->snap, 0);
	assert_true(b.truncated);
	assert_true(b.len < 100);
	assert_int_equal(strlen(f->out), b.len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_status_add_full),
		cmocka_unit_test_setup_teardown(test_render_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_prom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_truncates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
