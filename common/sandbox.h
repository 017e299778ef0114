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
#include <stdint.h>

/* A syscall allowed only when argument arg (0..5) equals value: e.g.
 * io_uring_register with arg 1 == IORING_REGISTER_FILES_UPDATE. Several
 * rules for one syscall allow each of their values. */
struct sandbox_rule {
	const char *name;
	unsigned arg;
	uint64_t value;
};

struct sandbox_cfg {
	const char *name;         /* process name, for log lines */
	const char *const *allow; /* syscall names allowed (NULL-terminated) */
	/* Syscalls allowed with one argument pinned (name == NULL ends the
	 * array; NULL: none). A name also in allow is allowed outright. */
	const struct sandbox_rule *allow_arg;
	/* Landlock: if landlock_fd >= 0, filesystem access is confined to
	 * the tree beneath it (read/write/create/remove, no execute). If
	 * landlock_fd == -2, all filesystem access is denied. -1: no
	 * Landlock. */
	int landlock_fd;
	int allow_exec_fs;        /* keep LANDLOCK_ACCESS_FS_EXECUTE beneath */
};

/* Enters the sandbox described by cfg; returns 0 or -errno (nothing is
 * half-applied on error except steps that only reduce privileges). Landlock
 * is skipped with a log line when the kernel lacks it. The seccomp filter
 * is synchronized to every thread of the process (TSYNC), so threads
 * started before the call are confined too. */
int sandbox_enter(const struct sandbox_cfg *cfg);

/* Started as root: becomes uid/gid (supplementary groups dropped) while
 * keeping exactly the capabilities in keep_caps (bit n = capability n,
 * e.g. 1ULL << CAP_CHOWN) as permitted and effective; every other
 * capability leaves the bounding set, ambient and inheritable sets are
 * emptied. Call before sandbox_enter(). Not root: returns 0 without change
 * (nothing to drop). Returns 0 or -errno; on error the process may be left
 * half-dropped and must exit. */
int sandbox_drop_user(unsigned uid, unsigned gid, uint64_t keep_caps);

/* Parses "UID:GID" (decimal, uid not 0) into *uid and *gid: the --user
 * argument the supervisor passes to cryptod and keyd. Returns 0 or
 * -EINVAL. */
int sandbox_parse_user(const char *spec, unsigned *uid, unsigned *gid);

/* Returns the Landlock ABI version the kernel supports, or 0. */
int sandbox_landlock_abi(void);

/* Syscalls glibc itself needs in any process (exit, memory, futex, rseq,
 * signals, clock, getrandom...): append to a process's own list. In any
 * list, tgkill is allowed only towards the calling process and prlimit64
 * only for pid 0 (the caller). */
extern const char *const sandbox_base_syscalls[];

#endif
