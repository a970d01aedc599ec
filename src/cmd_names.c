/* cmd_names.c - `gangway names`: the container names a running gangwayd serves */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctlsock_client.h"

static const char cmd_names_usage[] =
	"Usage: gangway names [-c FILE | --socket PATH]\n\n"
	"List every container name the running gangwayd serves, one \"NAME ADDRESS\"\n"
	"line per address (the networks the host reaches first), as told on its\n"
	"control socket. Names live in the VM's daemon; the host agent has none.\n\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      " CONFIG_HOST_PATH ", else gangwayd.conf)\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

int cmd_names(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *sock = NULL;
	char path[512], *body = NULL, *line, *save = NULL;
	int ch, ret;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(cmd_names_usage, stdout);
			return 0;
		default:
			fputs(cmd_names_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gangway names: unexpected argument '%s'\n", argv[optind]);
		fputs(cmd_names_usage, stderr);
		return 2;
	}
	ret = ctlsock_client_path(sock, config, path, sizeof(path));
	if (ret) {
		fprintf(stderr, "gangway names: %s\n", ret == -EINVAL ? path : strerror(-ret));
		return 1;
	}
	ret = ctlsock_client_request(path, "names", &body);
	if (ret) {
		fprintf(stderr, "gangway names: %s at %s: %s\n",
			ret == -EPROTO ? "the daemon answered" : "cannot reach the daemon", path,
			ret == -EPROTO ? body : strerror(-ret));
		free(body);
		return 1;
	}
	if (!body[0]) {
		printf("No names served (Names = off, no running containers, or not gangwayd).\n");
		free(body);
		return 0;
	}
	for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		printf("%-40s %s\n", line, sp + 1);
	}
	free(body);
	return 0;
}
