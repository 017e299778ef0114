/* SPDX-License-Identifier: MIT */
/*
 * io_uring restriction of a worker ring. seccomp cannot see what a ring
 * executes, so the ring itself is limited (IORING_REGISTER_RESTRICTIONS,
 * only possible while the ring is disabled) to the opcodes cryptod/uring.c
 * and worker.c submit. Opcodes such as OPENAT, CONNECT, SEND or SPLICE are
 * refused with -EACCES in the completion.
 */
#include <errno.h>
#include <liburing.h>
#include <string.h>

#include "cd_sandbox.h"
#include "ring_uring.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int cd_uring_restrict(struct io_uring *ring)
{
	static const uint8_t ops[] = {
		IORING_OP_READ, IORING_OP_WRITE, IORING_OP_READ_FIXED,
		IORING_OP_WRITE_FIXED, IORING_OP_FSYNC, IORING_OP_POLL_ADD,
		RING_IORING_OP_FUTEX_WAIT,
	};
	struct io_uring_restriction res[ARRAY_LEN(ops) + 2];
	unsigned n = 0;
	int rc;

	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < ARRAY_LEN(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	/* Fixed files (slot == fd) yes; links, drains, async punts, buffer
	 * selection no. */
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	/* Lower files are (un)registered while cryptod serves. */
	res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[n++].register_op = IORING_REGISTER_FILES_UPDATE;

	/* liburing 2.3 (Debian 12) declares io_uring_register_restrictions()
	 * and io_uring_enable_rings() but does not export them: raw calls. */
	rc = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS,
			       res, n);
	if (rc < 0)
		return rc;
	return io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
}
