/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli.h"

int cmd_recipients(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cryptstack recipients: not implemented yet\n");
	return 1;
}
