/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack keygen: not implemented yet\n");
	return 1;
}
