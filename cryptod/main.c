/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "log.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_init("cryptod", LOG_LVL_INFO);
	log_warnx("not implemented yet");
	return 1;
}
