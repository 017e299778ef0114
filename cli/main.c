/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "util.h"

#ifndef CS_LIBEXECDIR
#define CS_LIBEXECDIR "/usr/local/libexec/cryptstack"
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "init", cmd_init, "init [--passfile FILE|--extpass CMD] [options] LOWER" },
	{ "mount", cmd_mount, "mount [--passfile FILE] [-f] [-o OPTS] LOWER MOUNTPOINT" },
	{ "umount", cmd_umount, "umount MOUNTPOINT" },
	{ "passwd", cmd_passwd, "passwd [--slot N] LOWER" },
	{ "keygen", cmd_keygen, "keygen PRIVATE.pem PUBLIC.pem" },
	{ "key", cmd_key, "key add|remove ... LOWER" },
	{ "info", cmd_info, "info LOWER" },
	{ "recipients", cmd_recipients, "recipients add|remove ... PATH..." },
	{ "fsck", cmd_fsck, "fsck [--repair] LOWER" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cryptstack COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

const char *cli_helper_dir(void)
{
	static char dir[PATH_MAX];
	char self[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(probe, sizeof(probe), "%s/cryptstack-cryptod",
				 self);
			if (access(probe, X_OK) == 0) {
				snprintf(dir, sizeof(dir), "%s", self);
				return dir;
			}
		}
	}
	snprintf(dir, sizeof(dir), "%s", CS_LIBEXECDIR);
	return dir;
}

int main(int argc, char **argv)
{
	log_init("cryptstack", LOG_LVL_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("cryptstack %s\n", CS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cryptstack: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
