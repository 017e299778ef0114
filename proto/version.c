/* SPDX-License-Identifier: MIT */
#include "keymsg.h"
#include "wire.h"

#include "proto.h"

uint32_t proto_version(void)
{
	return CS_PROTO_VERSION;
}
