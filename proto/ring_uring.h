/* SPDX-License-Identifier: MIT */
/*
 * Waiting for ring work through io_uring (cryptod only: needs liburing).
 *
 * A cryptod worker sleeps in one io_uring_wait_cqe() for both its lower I/O
 * completions and new submissions:
 *
 *	uint32_t *addr, val;
 *	if (ring_sq_prepare_sleep(r, i, &addr, &val) == 0) {
 *		sqe = io_uring_get_sqe(&uring);
 *		ring_prep_futex_wait(sqe, addr, val);
 *		io_uring_sqe_set_data64(sqe, MY_DOORBELL_TAG);
 *		io_uring_submit_and_wait(&uring, 1);
 *		... on the doorbell CQE (res 0 = woken, -EAGAIN = the word
 *		    changed before the kernel slept: both mean "look again"):
 *		ring_sq_wake_done(r, i);
 *	}
 *	n = ring_sq_pop(r, i, ...);
 *
 * Keep at most one doorbell FUTEX_WAIT in flight per ring and call
 * ring_sq_wake_done() when its CQE arrives. IORING_OP_FUTEX_WAIT needs
 * kernel 6.7+; an older kernel completes it with -EINVAL (fall back to
 * ring_sq_wait()). liburing 2.3 has no io_uring_prep_futex_wait(), hence
 * this helper, which fills the fields io_uring/futex.c (io_futex_prep)
 * reads: addr = futex, addr2 = expected value, addr3 = bitset mask,
 * fd = FUTEX2_* flags; len, op_flags (futex_flags), buf_index and
 * file_index must be 0.
 */
#ifndef CS_PROTO_RING_URING_H
#define CS_PROTO_RING_URING_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <liburing.h>

#ifndef RING_IORING_OP_FUTEX_WAIT
#define RING_IORING_OP_FUTEX_WAIT 51 /* enum io_uring_op, kernel 6.7 */
#endif
#define RING_FUTEX2_SIZE_U32  0x02u /* FUTEX2_SIZE_U32 */
#define RING_FUTEX_BITSET_ANY 0xffffffffu

/* Prepares sqe as a shared (non-private) 32-bit FUTEX_WAIT on *addr while
 * it holds val. Clears the whole sqe (user_data too: set it afterwards).
 * Returns 0, or -EINVAL for a NULL sqe (io_uring_get_sqe() found the
 * submission queue full). */
static inline int ring_prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *addr,
				       uint32_t val)
{
	if (!sqe)
		return -EINVAL;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = RING_IORING_OP_FUTEX_WAIT;
	sqe->fd = (int32_t)RING_FUTEX2_SIZE_U32; /* not FUTEX2_PRIVATE */
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->addr2 = val;
	sqe->addr3 = RING_FUTEX_BITSET_ANY;
	return 0;
}

#endif
