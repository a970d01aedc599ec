/* cmd_status.c - `gangway status`: ask a running daemon for its state */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctlsock.h"

static const char cmd_status_usage[] =
	"Usage: gangway status [-j | --prometheus] [-c FILE | --socket PATH]\n\n"
	"Show the tunnel's peers, traffic, drops and container prefixes, as told by\n"
	"the running daemon on its control socket (<StateDirectory>/<Interface>.sock).\n\n"
	"  -j, --json          JSON (schema in docs/debugging.md)\n"
	"  -p, --prometheus    Prometheus text exposition format\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      /etc/gangway/gangway.conf, else gangwayd.conf)\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *req = "status", *config = NULL, *sock = NULL;
	char path[512], *body = NULL;
	int ch, ret;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jpc:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			req = "status json";
			break;
		case 'p':
			req = "prometheus";
			break;
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(cmd_status_usage, stdout);
			return 0;
		default:
			fputs(cmd_status_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gangway status: unexpected argument '%s'\n%s", argv[optind],
			cmd_status_usage);
		return 2;
	}
	ret = ctlsock_client_path(sock, config, path, sizeof(path));
	if (ret) {
		fprintf(stderr, "gangway status: %s\n", ret == -EINVAL ? path : strerror(-ret));
		return 1;
	}
	ret = ctlsock_request(path, req, &body);
	if (ret == -EPROTO) {
		fprintf(stderr, "gangway status: the daemon answered: %s\n", body);
	} else if (ret) {
		fprintf(stderr, "gangway status: cannot reach the daemon at %s: %s%s\n", path,
			strerror(-ret),
			ret == -ENOENT || ret == -ECONNREFUSED ? " (is it running?)" :
			ret == -EACCES ? " (run as root)" : "");
	} else {
		fputs(body, stdout);
	}
	free(body);
	return ret ? 1 : 0;
}
