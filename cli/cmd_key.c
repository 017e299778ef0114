/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_key(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack key: not implemented yet\n");
	return 1;
}
