/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack init: not implemented yet\n");
	return 1;
}
