/* SPDX-License-Identifier: MIT */
/*
 * Process confinement, entered once after setup (privileges only shrink):
 * no_new_privs, not dumpable, no core dumps, an allowlist seccomp filter
 * whose default action kills the process, and optionally Landlock rules
 * that confine filesystem access beneath one directory.
 */
#ifndef CS_SANDBOX_H
#define CS_SANDBOX_H

#include <stddef.h>

struct sandbox_cfg {
	const char *name;         /* process name, for log lines */
	const char *const *allow; /* syscall names allowed (NULL-terminated) */
	/* Landlock: if landlock_fd >= 0, filesystem access is confined to
	 * the tree beneath it (read/write/create/remove, no execute). If
	 * landlock_fd == -2, all filesystem access is denied. -1: no
	 * Landlock. */
	int landlock_fd;
	int allow_exec_fs;        /* keep LANDLOCK_ACCESS_FS_EXECUTE beneath */
};

/* Enters the sandbox described by cfg; returns 0 or -errno (nothing is
 * half-applied on error except steps that only reduce privileges). Landlock
 * is skipped with a log line when the kernel lacks it. */
int sandbox_enter(const struct sandbox_cfg *cfg);

/* Returns the Landlock ABI version the kernel supports, or 0. */
int sandbox_landlock_abi(void);

/* Syscalls glibc itself needs in any process (exit, memory, futex, rseq,
 * signals, clock, getrandom...): append to a process's own list. */
extern const char *const sandbox_base_syscalls[];

#endif
