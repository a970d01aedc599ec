/* cmd_reload.c - `gangway reload`: have the running daemon re-read its configuration */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "config.h"

static const char cmd_reload_usage[] =
	"Usage: gangway reload [-c FILE | -i IFNAME | --socket PATH]\n\n"
	"Have the running daemon re-read its configuration, as SIGHUP does. A file\n"
	"that does not parse, or changes what only a restart can\n"
	"(" CONFIG_RESTART_KEYS "),\n"
	"is refused with the reason; the daemon keeps running with the\n"
	"configuration it has. Exit status 0 when reloaded.\n\n"
	"  -c, --config FILE   the daemon's configuration (default\n"
	"                      " CONFIG_HOST_PATH ", else gangwayd.conf;\n"
	"                      where neither can be read, " CONFIG_DEFAULT_STATE_DIR "/gangway0.sock)\n"
	"  -i, --interface IFNAME  the socket of that interface under " CONFIG_DEFAULT_STATE_DIR "\n"
	"  -s, --socket PATH   the control socket itself\n"
	"  -h, --help          this help\n";

int cmd_reload(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "interface", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *sock = NULL;
	char ifsock[128];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:i:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'i':
			if (cmd_status_ifsock("reload", optarg, ifsock, sizeof(ifsock)))
				return 2;
			sock = ifsock;
			break;
		case 'h':
			fputs(cmd_reload_usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gangway reload: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	if (cmd_status_ask("reload", sock, config, "reload"))
		return 1;
	printf("The daemon reloaded its configuration.\n");
	return 0;
usage:
	fputs(cmd_reload_usage, stderr);
	return 2;
}
