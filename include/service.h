/* service.h - run a tunnel in the foreground: config, signals, reload, stop */
#ifndef GANGWAY_SERVICE_H
#define GANGWAY_SERVICE_H

#include <stdbool.h>

#include "tunnel.h"

struct service_opts {
	const char *prog;		/* for messages */
	const char *config_path;
	enum tunnel_role role;
	bool check_only;		/* validate the config and exit */
	bool verbose;
	/*
	 * On a configuration error, wait until the file changes before
	 * exiting: a supervisor that restarts at once (launchd) then runs
	 * the new file, instead of logging the same error every few seconds.
	 */
	bool wait_config;
};

/* Returns the process exit status. */
int service_main(const struct service_opts *o);
/* Parse the options both programs share; returns 0, or 1/2 to exit with. */
int service_parse_args(struct service_opts *o, int argc, char **argv,
		       const char *usage);

#endif
