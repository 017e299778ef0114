/* SPDX-License-Identifier: MIT */
/* The cryptstack command line: one function per subcommand. */
#ifndef CS_CLI_H
#define CS_CLI_H

/* Each returns the process exit status (0 success). argv[0] is the
 * subcommand name. */
int cmd_init(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_recipients(int argc, char **argv);
int cmd_fsck(int argc, char **argv);

/* Directory holding the helper executables (cryptstack-frontend, -cryptod,
 * -keyd): the CLI's own directory if they are there, else the install
 * libexec directory. Returns a static string. */
const char *cli_helper_dir(void);

#endif
