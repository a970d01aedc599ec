/* test_config.c - the configuration parser: good files and every kind of bad line */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "config.h"

#define K1 "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define K2 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define K3 "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

static struct config cfg;
static char err[CONFIG_ERR_LEN];

static int parse(const char *text)
{
	config_free(&cfg);
	return config_parse(&cfg, "t.conf", text, strlen(text), err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

static void test_full_file(void **state)
{
	char buf[PREFIX_STRLEN];

	(void)state;
	assert_int_equal(parse(
		"# a guest\n"
		"[Interface]\n"
		"PrivateKey = " K1 "\n"
		"Address = 10.33.0.2/24, fd33::2/64\n"
		"ListenPort = 51820\n"
		"MTU = 1380\n"
		"\n"
		"[Peer]   # the host\n"
		"PublicKey=" K2 "\n"
		"PresharedKey = " K3 "\n"
		"Endpoint = host.docker.internal:3333\n"
		"AllowedIPs = 10.33.0.1/32,fd33::1/128 , 0.0.0.0/0\n"
		"PersistentKeepalive = 25\n"
		"[Peer]\n"
		"publickey = " K3 "\n"
		"endpoint = [fd00::1]:51820\r\n"
		"AllowedIPs = 172.17.1.9/16\n"
		"[Gangway]\n"
		"Interface = gw-test0\n"
		"LogLevel = debug\n"
		"PacketIO = Batch\n"
		"CryptoWorkers = 2\n"), 0);
	assert_true(cfg.has_private_key);
	assert_int_equal(cfg.addresses.n, 2);
	/* Interface addresses keep their host bits. */
	assert_string_equal(prefix_format(&cfg.addresses.v[0], buf, sizeof(buf)), "10.33.0.2/24");
	assert_string_equal(prefix_format(&cfg.addresses.v[1], buf, sizeof(buf)), "fd33::2/64");
	assert_int_equal(cfg.listen_port, 51820);
	assert_int_equal(cfg.mtu, 1380);
	assert_int_equal(cfg.n_peers, 2);
	assert_true(cfg.peers[0].has_preshared_key);
	assert_string_equal(cfg.peers[0].endpoint_host, "host.docker.internal");
	assert_int_equal(cfg.peers[0].endpoint_port, 3333);
	assert_int_equal(cfg.peers[0].allowed_ips.n, 3);
	assert_string_equal(prefix_format(&cfg.peers[0].allowed_ips.v[2], buf, sizeof(buf)),
			    "0.0.0.0/0");
	assert_int_equal(cfg.peers[0].persistent_keepalive, 25);
	assert_int_equal(cfg.peers[0].line, 8);
	assert_string_equal(cfg.peers[1].endpoint_host, "fd00::1");
	/* AllowedIPs lose host bits, as wg(8) does. */
	assert_string_equal(prefix_format(&cfg.peers[1].allowed_ips.v[0], buf, sizeof(buf)),
			    "172.17.0.0/16");
	assert_false(cfg.peers[1].has_preshared_key);
	assert_string_equal(cfg.ifname, "gw-test0");
	assert_string_equal(cfg.packet_io, "batch");
	assert_int_equal(cfg.crypto_workers, 2);
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n"), 0);
	assert_string_equal(cfg.ifname, CONFIG_DEFAULT_IFNAME);
	assert_int_equal(cfg.mtu, CONFIG_DEFAULT_MTU);
	assert_int_equal(cfg.listen_port, 0);
	assert_int_equal(cfg.n_peers, 0);
	assert_false(cfg.has_log_level);
	assert_string_equal(cfg.packet_io, "");
	assert_int_equal(cfg.crypto_workers, -1);	/* auto */
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Gangway]\nCryptoWorkers = Auto\n"), 0);
	assert_int_equal(cfg.crypto_workers, -1);
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Gangway]\nCryptoWorkers = 0\n"), 0);
	assert_int_equal(cfg.crypto_workers, 0);
}

/*
 * Each key CONFIG_RESTART_KEYS lists (the help's and the refusal's text),
 * changed alone, is the one config_restart_change names; the list holds
 * nothing else; other changes may be reloaded.
 */
static void test_restart_keys(void **state)
{
#define RK_BASE "[Interface]\nPrivateKey = " K1 "\nAddress = 10.33.0.2/24\n"
	static const struct {
		const char *key, *text;
	} v[] = {
		{ "PrivateKey", "[Interface]\nPrivateKey = " K2 "\nAddress = 10.33.0.2/24\n" },
		{ "ListenPort", RK_BASE "ListenPort = 51821\n" },
		{ "MTU", RK_BASE "MTU = 1300\n" },
		{ "Interface", RK_BASE "[Gangway]\nInterface = gwx0\n" },
		{ "PacketIO", RK_BASE "[Gangway]\nPacketIO = plain\n" },
		{ "CryptoWorkers", RK_BASE "[Gangway]\nCryptoWorkers = 1\n" },
	};
	char list[] = CONFIG_RESTART_KEYS, *save = NULL;
	struct config running;
	size_t listed = 0;

	(void)state;
	assert_int_equal(config_parse(&running, "r.conf", RK_BASE, strlen(RK_BASE), err,
				      sizeof(err)), 0);
	assert_int_equal(parse(RK_BASE), 0);
	assert_null(config_restart_change(&running, &cfg));
	assert_int_equal(parse(RK_BASE "[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.33.0.1/32\n"),
			 0);
	assert_null(config_restart_change(&running, &cfg));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(parse(v[i].text), 0);
		assert_non_null(config_restart_change(&running, &cfg));
		assert_string_equal(config_restart_change(&running, &cfg), v[i].key);
	}
	/* "A, B, ... and Z": every word but "and" is a key the loop above changed. */
	for (char *w = strtok_r(list, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
		bool found = false;

		if (!strcmp(w, "and"))
			continue;
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			found |= !strcmp(w, v[i].key);
		assert_true(found);
		listed++;
	}
	assert_int_equal(listed, sizeof(v) / sizeof(v[0]));
	config_free(&running);
#undef RK_BASE
}

struct bad_case {
	const char *text;
	const char *expect;	/* substring of the error, including the line */
};

static const struct bad_case bad_cases[] = {
	{ "PrivateKey = " K1 "\n", "t.conf:1: 'PrivateKey' outside of any section" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Wat]\n", "t.conf:3: unknown section [Wat]" },
	{ "[Interface\n", "t.conf:1: malformed section header" },
	{ "[Interface] x\n", "t.conf:1: malformed section header" },
	{ "[Interface]\nPrivateKey = " K1 "\nFoo = 1\n", "t.conf:3: unknown key 'Foo' in [Interface]" },
	{ "[Interface]\nPrivateKey = " K1 "\njust words\n", "t.conf:3: expected 'Key = Value'" },
	{ "[Interface]\nPrivateKey = " K1 "\n= 5\n", "t.conf:3: missing key" },
	{ "[Interface]\nPrivateKey =\n", "t.conf:2: 'PrivateKey' has an empty value" },
	{ "[Interface]\nPrivateKey = abc\n", "t.conf:2: PrivateKey: not a base64-encoded 32-byte key" },
	{ "[Interface]\nPrivateKey = " K1 "x\n", "t.conf:2: PrivateKey: not a base64" },
	{ "[Interface]\nPrivateKey = " K1 "\nPrivateKey = " K2 "\n", "t.conf:3: 'PrivateKey' given twice" },
	{ "[Interface]\nPrivateKey = " K1 "\nListenPort = 65536\n", "t.conf:3: ListenPort: '65536' is not a port" },
	{ "[Interface]\nPrivateKey = " K1 "\nListenPort = -1\n", "t.conf:3: ListenPort" },
	{ "[Interface]\nPrivateKey = " K1 "\nListenPort = 12ab\n", "t.conf:3: ListenPort" },
	{ "[Interface]\nPrivateKey = " K1 "\nMTU = 576\n", "t.conf:3: MTU: '576' is not an MTU" },
	{ "[Interface]\nPrivateKey = " K1 "\nAddress = 10.0.0.300/24\n", "t.conf:3: Address: '10.0.0.300/24' is not an IP" },
	{ "[Interface]\nPrivateKey = " K1 "\nAddress = 10.0.0.1/24,,\n", "t.conf:3: Address" },
	{ "[Interface]\nPrivateKey = " K1 "\nEndpoint = 1.2.3.4:5\n", "t.conf:3: 'Endpoint' does not belong in [Interface]" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Interface]\n", "t.conf:3: [Interface] appears twice" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nEndpoint = 1.2.3.4:5\n", "t.conf:3: [Peer] has no PublicKey" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\n[Peer]\nPublicKey = " K2 "\n",
	  "t.conf:5: [Peer] repeats the PublicKey of the peer at line 3" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nEndpoint = 1.2.3.4\n", "t.conf:5: Endpoint" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nEndpoint = fd00::1:51820\n", "t.conf:5: Endpoint" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nEndpoint = h:0\n", "t.conf:5: Endpoint" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nEndpoint = a b:1\n", "t.conf:5: Endpoint" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.0/33\n", "t.conf:5: AllowedIPs" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = 70000\n", "t.conf:5: PersistentKeepalive" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAcceptPrefixes = 10.0.0.0/33\n",
	  "t.conf:5: AcceptPrefixes: '10.0.0.0/33' is not an IP prefix" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAcceptPrefixes = 10.0.0.0/8,\n",
	  "t.conf:5: AcceptPrefixes: empty list element" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAcceptPrefixes = 10.0.0.0/8, 0.0.0.0/0\n",
	  "t.conf:5: AcceptPrefixes: a default route (/0) would let the guest route every destination" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAcceptPrefixes = ::/0\n",
	  "t.conf:5: AcceptPrefixes: a default route" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\nAcceptPrefixes = none\nAcceptPrefixes = none\n",
	  "t.conf:6: 'AcceptPrefixes' given twice" },
	{ "[Interface]\nPrivateKey = " K1 "\nAcceptPrefixes = 10.0.0.0/8\n",
	  "t.conf:3: 'AcceptPrefixes' does not belong in [Interface] (it goes in [Peer])" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nInterface = a/b\n", "t.conf:4: Interface" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nInterface = abcdefghijklmnop\n", "t.conf:4: Interface" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nLogLevel = loud\n", "t.conf:4: LogLevel" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nPacketIO = turbo\n",
	  "t.conf:4: PacketIO: 'turbo' is not one of fast, batch, plain" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nCryptoWorkers = 4\n",
	  "t.conf:4: CryptoWorkers: '4' is not auto or a number of threads (0-3)" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nCryptoWorkers = -1\n",
	  "t.conf:4: CryptoWorkers: '-1' is not auto or a number of threads (0-3)" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nCryptoWorkers = many\n",
	  "t.conf:4: CryptoWorkers: 'many' is not auto or a number of threads (0-3)" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\n[Gangway]\n", "t.conf:4: [Gangway] appears twice" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nControlGroup = no-such-group-gw\n",
	  "t.conf:4: ControlGroup: no group 'no-such-group-gw'" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nControlGroup = a b\n",
	  "t.conf:4: ControlGroup: 'a b' is not a group name" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nControlGroup = ../x\n",
	  "t.conf:4: ControlGroup: '../x' is not a group name" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nControlGroup = "
	  "abcdefghijabcdefghijabcdefghijabc\n", "t.conf:4: ControlGroup: longer than 32" },
	{ "[Interface]\nPrivateKey = " K1 "\n[Gangway]\nControlGroup = root\nControlGroup = root\n",
	  "t.conf:5: 'ControlGroup' given twice" },
	{ "[Interface]\nPrivateKey = " K1 "\nControlGroup = root\n",
	  "t.conf:3: 'ControlGroup' does not belong in [Interface] (it goes in [Gangway])" },
	{ "[Peer]\nPublicKey = " K2 "\n", "t.conf: no [Interface] section" },
	{ "[Interface]\nAddress = 10.0.0.1/24\n", "t.conf: [Interface] has no PrivateKey" },
	{ "", "t.conf: no [Interface] section" },
};

static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		int ret = parse(bad_cases[i].text);

		if (ret != -EINVAL || !strstr(err, bad_cases[i].expect))
			fail_msg("case %zu: ret %d, error \"%s\", wanted \"%s\"", i, ret, err,
				 bad_cases[i].expect);
	}
}

/* AcceptPrefixes: unset means the private ranges, "none" means nothing. */
static void test_accept_prefixes(void **state)
{
	char buf[PREFIX_STRLEN];

	(void)state;
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\n"
			       "AllowedIPs = 0.0.0.0/0\n"), 0);
	assert_false(cfg.peers[0].has_accept_prefixes);
	assert_int_equal(cfg.peers[0].accept_prefixes.n, 0);
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\n"
			       "AcceptPrefixes = 10.217.0.0/16, fd17::/48\n"), 0);
	assert_true(cfg.peers[0].has_accept_prefixes);
	assert_int_equal(cfg.peers[0].accept_prefixes.n, 2);
	assert_string_equal(prefix_format(&cfg.peers[0].accept_prefixes.v[0], buf, sizeof(buf)),
			    "10.217.0.0/16");
	assert_string_equal(prefix_format(&cfg.peers[0].accept_prefixes.v[1], buf, sizeof(buf)),
			    "fd17::/48");
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Peer]\nPublicKey = " K2 "\n"
			       "AcceptPrefixes = None\n"), 0);
	assert_true(cfg.peers[0].has_accept_prefixes);
	assert_int_equal(cfg.peers[0].accept_prefixes.n, 0);
}

/* ControlGroup: resolved to its gid when the file is read; root-only by default. */
static void test_control_group(void **state)
{
	struct group *gr = getgrgid(getegid());
	char text[256];

	(void)state;
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n"), 0);
	assert_string_equal(cfg.control_group, "");
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Gangway]\n"
			       "controlgroup = root\n"), 0);
	assert_string_equal(cfg.control_group, "root");
	assert_int_equal(cfg.control_gid, 0);
	/* Any group this system has, with its own gid. */
	assert_non_null(gr);
	snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Gangway]\n"
		 "ControlGroup = %s\n", K1, gr->gr_name);
	assert_int_equal(parse(text), 0);
	assert_string_equal(cfg.control_group, gr->gr_name);
	assert_int_equal(cfg.control_gid, (uint32_t)gr->gr_gid);
	/* config_free() resets it: a reload without the key is root-only again. */
	config_free(&cfg);
	assert_string_equal(cfg.control_group, "");
}

/* Names, DockerSocket, Domain: defaults, values, and what is refused. */
static void test_names_keys(void **state)
{
	static const struct { const char *line, *expect; } bad[] = {
		{ "Names = maybe", "is not on or off" },
		{ "DockerSocket = run/docker.sock", "is not an absolute path" },
		{ "Domain = internal", "top-level domain" },
		{ "Domain = a..b", "is not a domain name" },
		{ "Domain = -a.internal", "is not a domain name" },
		{ "Domain = a-.internal", "is not a domain name" },
		{ "Domain = web_1.internal", "is not a domain name" },
		{ "Domain = a.b c", "is not a domain name" },
	};
	char text[512];

	(void)state;
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n"), 0);
	assert_true(cfg.names);
	assert_string_equal(cfg.docker_socket, "/var/run/docker.sock");
	assert_string_equal(cfg.domain, "gangway.internal");
	assert_int_equal(parse("[Interface]\nPrivateKey = " K1 "\n[Gangway]\nNames = off\n"
			       "DockerSocket = /run/user/1000/docker.sock\n"
			       "Domain = Docker.Example.Internal.\n"), 0);
	assert_false(cfg.names);
	assert_string_equal(cfg.docker_socket, "/run/user/1000/docker.sock");
	assert_string_equal(cfg.domain, "docker.example.internal");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Gangway]\n%s\n", K1,
			 bad[i].line);
		if (parse(text) != -EINVAL || !strstr(err, bad[i].expect))
			fail_msg("'%s': error \"%s\", wanted \"%s\"", bad[i].line, err,
				 bad[i].expect);
	}
}

static void test_long_line_and_nul(void **state)
{
	char *text = malloc(CONFIG_MAX_LINE + 64);

	(void)state;
	assert_non_null(text);
	strcpy(text, "[Interface]\n# ");
	memset(text + strlen(text), 'x', CONFIG_MAX_LINE);
	text[14 + CONFIG_MAX_LINE] = '\0';
	assert_int_equal(parse(text), -EINVAL);
	assert_non_null(strstr(err, "t.conf:2: line longer than"));
	free(text);

	static const char with_nul[] = "[Interface]\nPrivate\0Key = x\n";
	config_free(&cfg);
	assert_int_equal(config_parse(&cfg, "t.conf", with_nul, sizeof(with_nul) - 1, err,
				      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:2: contains a NUL byte"));
}

static void test_endpoint_split(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(config_parse_endpoint("192.0.2.1:51820", host, sizeof(host), &port), 0);
	assert_string_equal(host, "192.0.2.1");
	assert_int_equal(port, 51820);
	assert_int_equal(config_parse_endpoint("[fe80::1%eth0]:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 1);
	assert_int_equal(config_parse_endpoint("[::1]51820", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(config_parse_endpoint(":80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(config_parse_endpoint("h:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(config_parse_endpoint("h:+80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(config_parse_endpoint("averyveryverylonghostnamethatdoesnotfitinsixtyfourbytesofbuffer.example:1",
					       host, sizeof(host), &port), -EINVAL);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/gangway-test-config-XXXXXX";
	const char *text = "[Interface]\nPrivateKey = " K1 "\nListenPort = 7\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_free(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.listen_port, 7);
	unlink(path);
	config_free(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(config_load(&cfg, "/tmp", err, sizeof(err)), -EINVAL);
}

/* 0600, or 0640 with the group of the daemon's account: private; else not. */
static void test_mode_private(void **state)
{
	const struct passwd *pw = getpwnam("nobody");
	struct config c;
	struct stat st;

	(void)state;
	assert_non_null(pw);
	config_init(&c);
	snprintf(c.user, sizeof(c.user), "%s", "nobody");
	memset(&st, 0, sizeof(st));
	st.st_gid = pw->pw_gid;
	st.st_mode = S_IFREG | 0600;
	assert_true(config_mode_private(&c, &st));
	st.st_mode = S_IFREG | 0640;
	assert_true(config_mode_private(&c, &st));
	st.st_mode = S_IFREG | 0660;		/* the group may write it */
	assert_false(config_mode_private(&c, &st));
	st.st_mode = S_IFREG | 0644;		/* everyone reads it */
	assert_false(config_mode_private(&c, &st));
	st.st_mode = S_IFREG | 0604;
	assert_false(config_mode_private(&c, &st));
	st.st_mode = S_IFREG | 0640;
	st.st_gid = pw->pw_gid + 1;		/* another group */
	assert_false(config_mode_private(&c, &st));
	st.st_gid = pw->pw_gid;
	snprintf(c.user, sizeof(c.user), "%s", "root");	/* no unprivileged account */
	assert_false(config_mode_private(&c, &st));
	snprintf(c.user, sizeof(c.user), "%s", "no-such-account-here");
	assert_false(config_mode_private(&c, &st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_full_file, teardown),
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_bad_lines, teardown),
		cmocka_unit_test_teardown(test_control_group, teardown),
		cmocka_unit_test_teardown(test_accept_prefixes, teardown),
		cmocka_unit_test_teardown(test_names_keys, teardown),
		cmocka_unit_test_teardown(test_long_line_and_nul, teardown),
		cmocka_unit_test(test_endpoint_split),
		cmocka_unit_test_teardown(test_restart_keys, teardown),
		cmocka_unit_test_teardown(test_load_file, teardown),
		cmocka_unit_test(test_mode_private),
	};

	log_init("test_config", LOG_LVL_ERR);
	config_init(&cfg);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
