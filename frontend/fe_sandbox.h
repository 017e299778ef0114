/* SPDX-License-Identifier: MIT */
/* The frontend's confinement (docs/SANDBOX.md). */
#ifndef FE_SANDBOX_H
#define FE_SANDBOX_H

/* Syscalls the frontend makes after mounting beyond sandbox_base_syscalls
 * (NULL-terminated): /dev/fuse and signalfd I/O, polls, and the root
 * self-unmount (umount2 after libfuse's lstat/access of /etc/mtab). */
extern const char *const fe_sandbox_syscalls[];

/* Enters the frontend's sandbox (all threads, including ones already
 * running): no open of any path, no socket, no exec, no new thread or
 * process. Returns 0 or -errno. */
int fe_sandbox_enter(void);

#endif
