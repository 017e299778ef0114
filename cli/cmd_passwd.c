/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_passwd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack passwd: not implemented yet\n");
	return 1;
}
