/* SPDX-License-Identifier: MIT */
/* Start-up handshake between the supervisor and each child process
 * (docs/PROCESSES.md). */
#ifndef CS_SUPERVISE_H
#define CS_SUPERVISE_H

#include <stdint.h>

struct cs_ready {
	int32_t status; /* 0 ready, or -errno */
	uint32_t pid;
	char msg[248];  /* NUL-terminated error text, "" when ready */
};
_Static_assert(sizeof(struct cs_ready) == 256, "cs_ready size");

#endif
