/* cmd_up.c - gangway up: the host agent in the foreground */
#include "cmd.h"
#include "config.h"
#include "service.h"

static const char cmd_up_usage[] =
	"Usage: gangway up [-c FILE] [--check] [-v] [--wait-config]\n"
	"\n"
	"Run the host end of the tunnel in the foreground: wait for guests and\n"
	"route their container networks through the tunnel device.\n"
	"\n"
	"  -c, --config FILE   configuration (default " CONFIG_HOST_PATH ")\n"
	"  -n, --check         check the configuration and exit\n"
	"  -v, --verbose       log debug messages\n"
	"  -w, --wait-config   on a configuration error, exit only once the file\n"
	"                      changes (for a supervisor that restarts at once)\n"
	"\n"
	"Signals: SIGHUP reloads the configuration, SIGINT/SIGTERM stop.\n";

int cmd_up(int argc, char **argv)
{
	struct service_opts o = {
		.prog = "gangway",
		.config_path = CONFIG_HOST_PATH,
		.role = TUNNEL_HOST,
	};
	int ret = service_parse_args(&o, argc, argv, cmd_up_usage);

	if (ret)
		return ret == 1 ? 0 : ret;
	return service_main(&o);
}
