/* SPDX-License-Identifier: MIT */
#ifndef CS_PROTO_H
#define CS_PROTO_H

#include <stdint.h>

/* Returns the ring protocol version this build speaks (CS_PROTO_VERSION). */
uint32_t proto_version(void);

#endif
