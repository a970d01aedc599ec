/* gangway.c - the user's CLI: a table of subcommands, nothing else */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int gangway_help(int argc, char **argv);
static int gangway_version(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} gangway_cmds[] = {
	{ "init", cmd_init, "write keys and a matched host/guest pair of configurations" },
	{ "up", cmd_up, "run the host agent: terminate the tunnel, route to containers" },
#ifdef __linux__	/* reads the VM's Docker networks through netlink */
	{ "config", cmd_config, "in the VM: print a wg-quick file for a stock WireGuard host" },
#endif
	{ "status", cmd_status, "show a running daemon's peers, traffic, drops and prefixes" },
	{ "names", cmd_names, "list the container names a running gangwayd serves" },
	{ "reload", cmd_reload, "have a running daemon re-read its configuration" },
	{ "doctor", cmd_doctor, "check each link to a container and say which one is broken" },
	{ "capture", cmd_capture, "capture the tunnel's packets (pcap or one line each)" },
	{ "genkey", cmd_genkey, "print a new private key" },
	{ "genpsk", cmd_genpsk, "print a new preshared key" },
	{ "pubkey", cmd_pubkey, "read a private key on stdin, print its public key" },
	{ "version", gangway_version, "print the version" },
	{ "help", gangway_help, "this help" },
};

static int gangway_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("gangway %s\n", GANGWAY_VERSION);
	return 0;
}

static int gangway_usage(FILE *f)
{
	fprintf(f, "Usage: gangway <command> [options]\n\n"
		"Reach containers inside a Docker VM from this machine.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(gangway_cmds) / sizeof(gangway_cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", gangway_cmds[i].name, gangway_cmds[i].help);
	fprintf(f, "\n'gangway <command> --help' describes a command.\n");
	return f == stdout ? 0 : 2;
}

static int gangway_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return gangway_usage(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return gangway_usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return gangway_usage(stdout);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return gangway_version(0, NULL);
	for (size_t i = 0; i < sizeof(gangway_cmds) / sizeof(gangway_cmds[0]); i++)
		if (!strcmp(argv[1], gangway_cmds[i].name))
			return gangway_cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gangway: unknown command '%s'\n\n", argv[1]);
	return gangway_usage(stderr);
}
