/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack info: not implemented yet\n");
	return 1;
}
