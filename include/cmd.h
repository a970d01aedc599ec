/* cmd.h - subcommands of the gangway CLI, one file each (src/cmd_*.c) */
#ifndef GANGWAY_CMD_H
#define GANGWAY_CMD_H

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

#endif
