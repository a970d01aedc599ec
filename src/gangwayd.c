/* gangwayd.c - the guest daemon: runs inside the VM that hosts Docker */
#include "service.h"

static const char gangwayd_usage[] =
	"Usage: gangwayd [-c FILE] [--check] [-v] [--wait-config]\n"
	"\n"
	"The gangway guest daemon. Runs in the foreground inside the VM that\n"
	"hosts Docker, dials the host's gangway agent and carries its traffic\n"
	"to the containers.\n"
	"\n"
	"  -c, --config FILE   configuration (default /etc/gangway/gangwayd.conf)\n"
	"  -n, --check         check the configuration and exit\n"
	"  -v, --verbose       log debug messages\n"
	"  -w, --wait-config   on a configuration error, exit only once the file\n"
	"                      changes (for a supervisor that restarts at once)\n"
	"  -h, --help          this help\n"
	"  -V, --version       print the version\n"
	"\n"
	"Signals: SIGHUP reloads the configuration, SIGINT/SIGTERM stop.\n";

int main(int argc, char **argv)
{
	struct service_opts o = {
		.prog = "gangwayd",
		.config_path = CONFIG_GUEST_PATH,
		.role = TUNNEL_GUEST,
	};
	int ret;

	ret = service_parse_args(&o, argc, argv, gangwayd_usage);
	if (ret)
		return ret == 1 ? 0 : ret;
	return service_main(&o);
}
