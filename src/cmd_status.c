/* cmd_status.c - `gangway status` and `gangway reload`: requests to a running daemon */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctlsock_client.h"

static const char cmd_status_usage[] =
	"Usage: gangway status [-j | --prometheus] [-c FILE | -i IFNAME | --socket PATH]\n\n"
	"Show the tunnel's peers, traffic, drops and container prefixes, as told by\n"
	"the running daemon on its control socket (<StateDirectory>/<Interface>.sock).\n\n"
	"  -j, --json          JSON (schema in docs/debugging.md)\n"
	"  -p, --prometheus    Prometheus text exposition format\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      /etc/gangway/gangway.conf, else gangwayd.conf;\n"
	"                      where neither can be read, /run/gangway/gangway0.sock)\n"
	"  -i, --interface IFNAME  the socket of that interface under /run/gangway\n"
	"                      (no configuration read: for ControlGroup members)\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

static const char cmd_reload_usage[] =
	"Usage: gangway reload [-c FILE | -i IFNAME | --socket PATH]\n\n"
	"Have the running daemon re-read its configuration, as SIGHUP does. A file\n"
	"that does not parse, or changes what only a restart can\n"
	"(" CONFIG_RESTART_KEYS "),\n"
	"is refused with the reason; the daemon keeps running with the\n"
	"configuration it has. Exit status 0 when reloaded.\n\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      /etc/gangway/gangway.conf, else gangwayd.conf;\n"
	"                      where neither can be read, /run/gangway/gangway0.sock)\n"
	"  -i, --interface IFNAME  the socket of that interface under /run/gangway\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

/* Send req to the daemon named by sock/config; the reply's body to stdout. */
static int cmd_status_ask(const char *prog, const char *sock, const char *config,
			  const char *req)
{
	char path[512], *body = NULL;
	int ret;

	ret = ctlsock_client_path(sock, config, path, sizeof(path));
	if (ret) {
		fprintf(stderr, "gangway %s: %s\n", prog, ret == -EINVAL ? path : strerror(-ret));
		return 1;
	}
	ret = ctlsock_client_request(path, req, &body);
	if (ret == -EPROTO) {
		fprintf(stderr, "gangway %s: the daemon answered: %s\n", prog, body);
	} else if (ret) {
		fprintf(stderr, "gangway %s: cannot reach the daemon at %s: %s%s\n", prog, path,
			strerror(-ret),
			ret == -ENOENT || ret == -ECONNREFUSED ? " (is it running?)" :
			ret == -EACCES ? " (run as root, or as a member of its ControlGroup)" :
			ret == -ETIMEDOUT ? " (it did not answer: stopped, or stuck?)" : "");
	} else {
		fputs(body, stdout);
	}
	free(body);
	return ret ? 1 : 0;
}

/* Both commands: the same options, but only status has output formats. */
static int cmd_status_main(int argc, char **argv, bool reload)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "interface", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = reload ? cmd_reload_usage : cmd_status_usage;
	const char *prog = reload ? "reload" : "status";
	const char *req = prog, *config = NULL, *sock = NULL;
	char ifsock[128];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, reload ? "c:i:s:h" : "jpc:i:s:h", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'j':
		case 'p':
			if (reload)
				goto usage;
			req = ch == 'j' ? "status json" : "prometheus";
			break;
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'i':
			if (!*optarg || strchr(optarg, '/') ||
			    ctlsock_default_path(optarg, ifsock, sizeof(ifsock))) {
				fprintf(stderr, "gangway %s: '%s' is not an interface name\n",
					prog, optarg);
				return 2;
			}
			sock = ifsock;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gangway %s: unexpected argument '%s'\n", prog, argv[optind]);
		goto usage;
	}
	if (cmd_status_ask(prog, sock, config, req))
		return 1;
	if (reload)
		printf("The daemon reloaded its configuration.\n");
	return 0;
usage:
	fputs(usage, stderr);
	return 2;
}

int cmd_reload(int argc, char **argv)
{
	return cmd_status_main(argc, argv, true);
}

int cmd_status(int argc, char **argv)
{
	return cmd_status_main(argc, argv, false);
}
