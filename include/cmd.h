/* cmd.h - subcommands of the gangway CLI, one file each (src/cmd_*.c) */
#ifndef GANGWAY_CMD_H
#define GANGWAY_CMD_H

#include <stddef.h>

/* Each returns the process exit status; argv[0] is the subcommand name. */
int cmd_up(int argc, char **argv);
int cmd_genkey(int argc, char **argv);
int cmd_genpsk(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_names(int argc, char **argv);

/*
 * Shared by the commands that ask a running daemon (cmd_status.c): send req
 * to the socket named by sock or config (prog names the command in
 * messages), the reply's body to stdout, errors to stderr; 0 or 1.
 */
int cmd_status_ask(const char *prog, const char *sock, const char *config, const char *req);
/* -i IFNAME: its default socket path into buf; -EINVAL (said on stderr) if not a name. */
int cmd_status_ifsock(const char *prog, const char *ifname, char *buf, size_t size);

#endif
