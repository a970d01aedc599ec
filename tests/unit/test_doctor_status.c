/* test_doctor_status.c - the daemon's status text, read into the doctor's struct */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doctor.h"

#define K1	"Vxbc2S3pVI4Fu6xLZtM+0Fob8tU3EEH5kUsNS2ICnB0="
#define K2	"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

/* As ctlsock renders it for a guest with two peers. */
static const char prom[] =
	"# HELP gangway_info The daemon's role and firewall mechanism\n"
	"# TYPE gangway_info gauge\n"
	"gangway_info{interface=\"gwg108\",role=\"guest\",firewall=\"iptables-nft\"} 1\n"
	"# TYPE gangway_peer_rx_packets_total counter\n"
	"gangway_peer_rx_packets_total{interface=\"gwg108\",peer=\"" K1 "\"} 12\n"
	"gangway_peer_rx_packets_total{interface=\"gwg108\",peer=\"" K2 "\"} 30\n"
	"gangway_peer_tx_packets_total{interface=\"gwg108\",peer=\"" K1 "\"} 7\n"
	"gangway_peer_tx_packets_total{interface=\"gwg108\",peer=\"" K2 "\"} 1\n"
	"gangway_peer_last_handshake_age_seconds{interface=\"gwg108\",peer=\"" K1 "\"} 12.500\n"
	"gangway_peer_last_handshake_age_seconds{interface=\"gwg108\",peer=\"" K2 "\"} -1.000\n"
	"gangway_peer_info{interface=\"gwg108\",peer=\"" K1 "\",endpoint=\"10.0.2.2:51820\"} 1\n"
	"gangway_peer_info{interface=\"gwg108\",peer=\"" K2 "\",endpoint=\"\"} 1\n"
	"gangway_peer_drops_total{interface=\"gwg108\",peer=\"" K1 "\",reason=\"bad-mac1\"} 9\n"
	"gangway_device_drops_total{interface=\"gwg108\",reason=\"bad-mac1\"} 3\n"
	"gangway_device_drops_total{interface=\"gwg108\",reason=\"handshake\"} 4\n"
	"gangway_device_drops_total{interface=\"gwg108\",reason=\"capture-overflow\"} 0\n";

static void test_guest(void **state)
{
	static struct doctor_status st;

	(void)state;
	assert_int_equal(doctor_status_parse(prom, &st), 0);
	assert_true(st.has_info);
	assert_true(st.guest);
	assert_string_equal(st.interface, "gwg108");
	assert_true(st.has_firewall);
	assert_string_equal(st.firewall, "iptables-nft");
	assert_true(st.bad_mac1 == 3);		/* the device's, not the peer's 9 */
	assert_true(st.bad_handshake == 4);
	assert_int_equal(st.n_peers, 2);
	assert_string_equal(st.peers[0].key, K1);
	assert_true(st.peers[0].has_age && st.peers[0].age == 12.5);
	assert_string_equal(st.peers[0].endpoint, "10.0.2.2:51820");
	assert_true(st.peers[0].rx_packets == 12 && st.peers[0].tx_packets == 7);
	assert_string_equal(st.peers[1].key, K2);
	assert_true(st.peers[1].age == -1);
	assert_string_equal(st.peers[1].endpoint, "");
	assert_true(st.peers[1].rx_packets == 30 && st.peers[1].tx_packets == 1);
}

/* A host: no firewall label value, the IPv6 endpoint in brackets. */
static void test_host(void **state)
{
	static const char text[] =
		"gangway_info{interface=\"utun7\",role=\"host\",firewall=\"\"} 1\n"
		"gangway_peer_info{interface=\"utun7\",peer=\"" K1 "\",endpoint=\"[fd00::2]:51820\"} 1\n";
	static struct doctor_status st;

	(void)state;
	assert_int_equal(doctor_status_parse(text, &st), 0);
	assert_false(st.guest);
	assert_true(st.has_firewall);
	assert_string_equal(st.firewall, "");
	assert_int_equal(st.n_peers, 1);
	assert_false(st.peers[0].has_age);
	assert_true(st.peers[0].age == -1);
	assert_string_equal(st.peers[0].endpoint, "[fd00::2]:51820");
}

/*
 * Bad lines are skipped whole: a label's value never reads as a name or a
 * label, escapes are honoured, overlong text does not overflow.
 */
static void test_bad_lines(void **state)
{
	static char text[4096];
	static struct doctor_status st;
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "gangway_info{interface=\"x\",note=\"role=\\\"guest\\\"\",role=\"host\"} 1\n"
		 "gangway_device_drops_total{reason=\"bad-mac1\" 5\n"
		 "gangway_device_drops_total{reason=\"handshake\"} five\n"
		 "gangway_device_drops_total{reason=\"%s\"} 6\n"
		 "gangway_peer_info{peer=\"%s\",endpoint=\"1.2.3.4:5\"} 1\n"
		 "gangway_peer_info{peer=\"" K1 "\",endpoint=\"unterminated} 1\n"
		 "{peer=\"" K1 "\"} 1\n"
		 "gangway_peer_tx_packets_total{peer=\"" K2 "\"}\n"
		 "gangway_peer_rx_packets_total{peer=\"" K2 "\"} 2 1700000000000\n",
		 big, big);
	assert_int_equal(doctor_status_parse(text, &st), 0);
	assert_true(st.has_info);
	assert_false(st.guest);
	assert_string_equal(st.interface, "x");
	assert_true(st.bad_mac1 == 0);
	assert_true(st.bad_handshake == 0);
	/* Only the sample with a value (and a timestamp) made it. */
	assert_int_equal(st.n_peers, 1);
	assert_string_equal(st.peers[0].key, K2);
	assert_true(st.peers[0].rx_packets == 2 && st.peers[0].tx_packets == 0);

	assert_int_equal(doctor_status_parse("", &st), -EINVAL);
	assert_int_equal(doctor_status_parse("# only a comment\n\n", &st), -EINVAL);
	assert_false(st.has_info);
}

/* The host's status lines of what a guest's firewall check found. */
static void test_finding(void **state)
{
	static char text[DOCTOR_FINDING_TEXT], fix[DOCTOR_FINDING_TEXT];
	static const char line[] = "  guest firewall: Firewall (iptables-nft, IPv4): rule 1 "
		"of FORWARD, '-A FORWARD -d 172.18.0.0/16 -j DROP', comes before the jump "
		"(fix: delete that rule ('iptables-nft -D FORWARD 1') or put it below)";
	static const char odd[] = "  guest firewall: says (fix: this) twice (fix: that)";
	static const char esc[] = "  guest firewall: red \x1b[31m\x9b (fix: bell\x07)";
	char big[2000];

	(void)state;
	assert_true(doctor_status_finding(line, strlen(line), text, fix));
	assert_string_equal(text, "Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A "
			    "FORWARD -d 172.18.0.0/16 -j DROP', comes before the jump");
	assert_string_equal(fix, "delete that rule ('iptables-nft -D FORWARD 1') or put it "
			    "below");
	/* The last " (fix: " splits: the fix is always last. */
	assert_true(doctor_status_finding(odd, strlen(odd), text, fix));
	assert_string_equal(text, "says (fix: this) twice");
	assert_string_equal(fix, "that");
	/* Whatever a daemon printed, nothing but printable ASCII comes out. */
	assert_true(doctor_status_finding(esc, strlen(esc), text, fix));
	assert_string_equal(text, "red ?[31m?");
	assert_string_equal(fix, "bell?");
	/* Long lines are cut to the room there is. */
	memcpy(big, "  guest firewall: ", 18);
	memset(big + 18, 'x', sizeof(big) - 18);
	memcpy(big + sizeof(big) - 9, " (fix: y)", 9);
	assert_true(doctor_status_finding(big, sizeof(big), text, fix));
	assert_int_equal(strlen(text), DOCTOR_FINDING_TEXT - 1);
	assert_string_equal(fix, "y");
	/* Anything else is no finding. */
	assert_false(doctor_status_finding(line, strlen(line) - 1, text, fix));
	assert_false(doctor_status_finding(line + 1, strlen(line) - 1, text, fix));
	assert_false(doctor_status_finding("  guest firewall: no fix", 24, text, fix));
	assert_false(doctor_status_finding("  guest firewall:  (fix: f)", 27, text, fix));
	assert_false(doctor_status_finding("  dns: none (fix: f)", 20, text, fix));
	assert_false(doctor_status_finding("", 0, text, fix));
}

static void collect(void *ctx, const char *text, const char *fix)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "[%s|%s]", text, fix);
}

/* The host's doctor shows the findings of the guest that routes the IP probed. */
static void test_findings_of_guest(void **state)
{
	static const char body[] =
		"interface: gwh1 (host)\n"
		"  guest firewall: not in a peer (fix: x)\n"
		"\npeer: " K1 "\n"
		"  prefix 10.1.0.0/24 installed\n"
		"  prefix 10.9.0.0/24 refused (conflict)\n"
		"  guest firewall: one (fix: f1)\n"
		"\npeer: " K2 "\n"
		"  prefix 172.17.0.0/16 installed as 10.217.0.0/16\n"
		"  prefix fd00:2::/64 installed\n"
		"  guest firewall: two (fix: f2)\n"
		"  guest firewall: three (fix: )\n";
	char out[512];
	struct prefix ip;

	(void)state;
	out[0] = '\0';
	assert_int_equal(prefix_parse(&ip, "10.1.0.7", false), 0);
	assert_int_equal(doctor_status_findings(body, &ip, collect, out), 1);
	assert_string_equal(out, "[one|f1]");
	out[0] = '\0';
	assert_int_equal(prefix_parse(&ip, "10.217.3.4", false), 0);	/* the host's side of a remap */
	assert_int_equal(doctor_status_findings(body, &ip, collect, out), 2);
	assert_string_equal(out, "[two|f2][three|]");
	out[0] = '\0';
	assert_int_equal(prefix_parse(&ip, "fd00:2::5", false), 0);
	assert_int_equal(doctor_status_findings(body, &ip, collect, out), 2);
	/* Routed by no advertised prefix (a refused one does not count): everyone's. */
	out[0] = '\0';
	assert_int_equal(prefix_parse(&ip, "10.9.0.1", false), 0);
	assert_int_equal(doctor_status_findings(body, &ip, collect, out), 4);
	assert_string_equal(out, "[not in a peer|x][one|f1][two|f2][three|]");
	out[0] = '\0';
	assert_int_equal(doctor_status_findings(body, NULL, collect, out), 4);
	assert_int_equal(doctor_status_findings("", &ip, collect, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_finding),
		cmocka_unit_test(test_findings_of_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
