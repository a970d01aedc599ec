/* cmd_doctor.c - `gangway doctor [IP]`: walk the chain to a container, say where it breaks
 *
 * The command: its options, a NAME resolved to the IP to check, then the
 * checks of doctor.h in the order packets need them, and the verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd.h"
#include "config.h"
#include "doctor.h"

static const char cmd_doctor_usage[] =
	"Usage: gangway doctor [-c FILE | --socket PATH] [IP | NAME]\n\n"
	"Check every link between this machine and a container, in order, and say\n"
	"which one is broken and how to fix it: configuration, keys, the running\n"
	"daemon, the handshake, the route to IP (and any route shadowing it), and\n"
	"in the VM (-c /etc/gangway/gangwayd.conf) the firewall, forwarding,\n"
	"rp_filter and MTU. Given an IP (IPv4 or IPv6), a ping probe then tests\n"
	"the way. A NAME (such as web.gangway.internal) is first resolved through\n"
	"this machine's resolver, then its first address is diagnosed.\n"
	"Exit status 0 when healthy, 1 when not.\n\n"
	"  -c, --config FILE   configuration (default " CONFIG_HOST_PATH ",\n"
	"                      else gangwayd.conf)\n"
	"  -s, --socket PATH   the daemon's control socket (default from the config)\n"
	"  -h, --help          this help\n";

/*
 * A container's name instead of an IP: resolved as every program here
 * would (getaddrinfo), so a failure points at the resolver setup that
 * gangway up made (or logged), not at the tunnel. 0, or -1 said.
 */
static int cmd_doctor_resolve(const char *name, char *buf, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int ret = getaddrinfo(name, NULL, &hints, &res);

	if (ret || !res) {
		printf("FAIL %s does not resolve: %s\n"
		       "     Is gangway up running with Names on, and gangwayd serving the\n"
		       "     domain? Its log says how this host sends the domain to the guest\n"
		       "     ('gangway names' in the VM lists what is served).\n",
		       name, ret ? gai_strerror(ret) : "no address");
		return -1;
	}
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, buf, (socklen_t)size, NULL, 0,
			  NI_NUMERICHOST);
	freeaddrinfo(res);
	if (ret)
		return -1;
	printf("ok   %s resolves to %s\n", name, buf);
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct doctor d;
	const char *sock = NULL, *ipstr = NULL;
	char resolved[INET6_ADDRSTRLEN + 8];
	struct prefix ip;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(cmd_doctor_usage, stdout);
			return 0;
		default:
			fputs(cmd_doctor_usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		ipstr = argv[optind++];
	/* Not an address but a name: what it resolves to is the IP to check. */
	if (ipstr && optind == argc && prefix_parse(&ip, ipstr, true) && strchr(ipstr, '.') &&
	    !strchr(ipstr, '/')) {
		if (cmd_doctor_resolve(ipstr, resolved, sizeof(resolved)))
			return 1;
		ipstr = resolved;
	}
	if (optind != argc || (ipstr && (prefix_parse(&ip, ipstr, true) ||
					 ip.len != prefix_addr_len(ip.family) * 8))) {
		fprintf(stderr, "gangway doctor: '%s' is not an IP address\n%s",
			optind != argc ? argv[optind] : ipstr, cmd_doctor_usage);
		return 2;
	}
	if (!d.conf_path)
		d.conf_path = config_default_path();
	d.family = ipstr ? ip.family : 0;
	if (!doctor_check_config(&d) || !doctor_check_keys(&d) ||
	    !doctor_check_daemon(&d, sock))
		goto out;
	if (!doctor_check_handshakes(&d))
		goto out;
#ifdef __linux__
	if (d.guest) {
		doctor_fw_check(&d);
		doctor_net_check_sysctls(&d);
	}
#endif
	doctor_check_mtu(&d);
	if (ipstr && d.fails == 0 && doctor_check_route(&d, &ip, ipstr))
		doctor_probe(&d, &ip, ipstr);
out:
	if (d.fails)
		printf("\nNot healthy: %d problem(s); the first one above is where it stops.\n",
		       d.fails);
	else
		printf("\nHealthy%s%s.\n", ipstr ? ": the way to " : "", ipstr ? ipstr : "");
	config_free(&d.c);
	return d.fails ? 1 : 0;
}
