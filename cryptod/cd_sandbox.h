/* SPDX-License-Identifier: MIT */
/*
 * cryptod's confinement (docs/SANDBOX.md): the seccomp allowlist and
 * Landlock rule it enters once after setup, and the io_uring restriction
 * each worker ring gets while it is still disabled.
 */
#ifndef CD_SANDBOX_H
#define CD_SANDBOX_H

#include <stdbool.h>

struct io_uring;

/* Syscalls cryptod makes after setup beyond sandbox_base_syscalls
 * (NULL-terminated). io_uring_setup is absent: no new ring after setup. */
extern const char *const cd_sandbox_syscalls[];

/* Enters cryptod's sandbox: common/sandbox with cd_sandbox_syscalls,
 * io_uring_register allowed only for IORING_REGISTER_FILES_UPDATE, and
 * filesystem access confined beneath lower_fd (Landlock, where the kernel
 * has it; a log line where it does not). Returns 0 or -errno. */
int cd_sandbox_enter(int lower_fd);

/* --user UID:GID (started as root with -o user=NAME): becomes that user
 * keeping only CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER and CAP_FSETID (files
 * get the callers' owners and modes). spec NULL: no change. Call before
 * cd_sandbox_enter(). Returns 0, -EINVAL for a bad spec, or -errno. */
int cd_drop_user(const char *spec);

/* true once cd_drop_user() kept CAP_CHOWN: new nodes are given to their
 * callers as they are when cryptod runs as root. */
extern bool cd_chown_callers;

/* For a ring created with IORING_SETUP_R_DISABLED (buffers and the sparse
 * file table already registered): allows only the opcodes cryptod submits
 * (READ/WRITE(_FIXED), FSYNC, POLL_ADD, FUTEX_WAIT), no sqe flag but
 * IOSQE_FIXED_FILE, no register opcode but IORING_REGISTER_FILES_UPDATE;
 * then enables the ring. Returns 0 or -errno (-EBADFD: ring not disabled,
 * or already restricted). */
int cd_uring_restrict(struct io_uring *ring);

#endif
