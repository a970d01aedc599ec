/* cmd_status.c - `gangway status`: the running daemon's state, asked on its control socket */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctlsock_client.h"

static const char cmd_status_usage[] =
	"Usage: gangway status [-j | --prometheus] [-c FILE | -i IFNAME | --socket PATH]\n\n"
	"Show the tunnel's peers, traffic, drops and container prefixes, as told by\n"
	"the running daemon on its control socket (<StateDirectory>/<Interface>.sock).\n\n"
	"  -j, --json          JSON (schema in docs/debugging.md)\n"
	"  -p, --prometheus    Prometheus text exposition format\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      " CONFIG_HOST_PATH ", else gangwayd.conf;\n"
	"                      where neither can be read, " CONFIG_DEFAULT_STATE_DIR "/gangway0.sock)\n"
	"  -i, --interface IFNAME  the socket of that interface under " CONFIG_DEFAULT_STATE_DIR "\n"
	"                      (no configuration read: for ControlGroup members)\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

int cmd_status_ask(const char *prog, const char *sock, const char *config,
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

int cmd_status_ifsock(const char *prog, const char *ifname, char *buf, size_t size)
{
	if (!*ifname || strchr(ifname, '/') || ctlsock_default_path(ifname, buf, size)) {
		fprintf(stderr, "gangway %s: '%s' is not an interface name\n", prog, ifname);
		return -EINVAL;
	}
	return 0;
}

int cmd_status(int argc, char **argv)
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
	const char *req = "status", *config = NULL, *sock = NULL;
	char ifsock[128];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jpc:i:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
		case 'p':
			req = ch == 'j' ? "status json" : "prometheus";
			break;
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'i':
			if (cmd_status_ifsock("status", optarg, ifsock, sizeof(ifsock)))
				return 2;
			sock = ifsock;
			break;
		case 'h':
			fputs(cmd_status_usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gangway status: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	return cmd_status_ask("status", sock, config, req) ? 1 : 0;
usage:
	fputs(cmd_status_usage, stderr);
	return 2;
}
