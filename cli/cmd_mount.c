/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_mount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack mount: not implemented yet\n");
	return 1;
}
