/* SPDX-License-Identifier: MIT */
/*
 * cryptod's seccomp allowlist and Landlock rule. The list is what cryptod
 * was seen to call after setup (strace -f of the integration suite: POSIX
 * checks, tar, git, sqlite3, fio, rsync) plus the calls its code makes on
 * error paths; docs/SANDBOX.md keeps the method. Lower data I/O does not
 * show up here: it goes through io_uring (see uring_restrict.c).
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <unistd.h>

#include "cd_sandbox.h"
#include "sandbox.h"

const char *const cd_sandbox_syscalls[] = {
	/* the worker rings (setup and register are gone after setup) */
	"io_uring_enter",
	/* metadata beneath the lower directory, all *at() or fd based;
	 * regular files are reopened through /proc/self/fd/N (open, chmod,
	 * linkat, the path xattr calls), which Landlock resolves to the
	 * lower file itself */
	"openat", "openat2", "newfstatat", "fstat", "readlinkat", "mkdirat",
	"mknodat", "symlinkat", "unlinkat", "renameat", "renameat2", "linkat",
	"fchownat", "fchown", "fchmodat", "fchmod", "chmod", "utimensat",
	"getdents64", "lseek", "dup", "fcntl", "fstatfs", "fallocate",
	"ftruncate", "fsync", "fdatasync", "read", "pread64",
	/* readahead hint for the records digest of a cold file (fileio.c) */
	"fadvise64",
	/* lower writes as plain syscalls where io_uring would punt every
	 * one to a kernel thread (tmpfs; cryptod/uring.c) */
	"pwrite64",
	"setxattr", "getxattr", "listxattr", "removexattr",
	/* keyd service socket (send/recv) */
	"sendto", "recvfrom",
	/* liveness check of the frontend's peer fd (ring_peer_dead) */
	"poll", "ppoll",
	/* FEKs in locked memory, worker threads (clone3 gets ENOSYS) */
	"mlock", "munlock", "clone", "set_tid_address",
	NULL,
};

/* Only file table updates (open/close of lower files); buffers, new
 * restrictions, eventfds, personalities, ... are refused. */
static const struct sandbox_rule cd_rules[] = {
	{ "io_uring_register", 1, IORING_REGISTER_FILES_UPDATE },
	{ NULL, 0, 0 },
};

int cd_sandbox_enter(int lower_fd)
{
	const char *list[128];
	size_t n = 0;
	for (size_t i = 0; sandbox_base_syscalls[i] && n < 64; i++)
		list[n++] = sandbox_base_syscalls[i];
	for (size_t i = 0; cd_sandbox_syscalls[i] && n < 126; i++)
		list[n++] = cd_sandbox_syscalls[i];
	list[n] = NULL;
	struct sandbox_cfg cfg = {
		.name = "cryptod",
		.allow = list,
		.allow_arg = cd_rules,
		.landlock_fd = lower_fd < 0 ? -2 : lower_fd,
	};
	return sandbox_enter(&cfg);
}

bool cd_chown_callers;

int cd_drop_user(const char *spec)
{
	unsigned uid, gid;
	if (!spec)
		return 0;
	if (sandbox_parse_user(spec, &uid, &gid) < 0)
		return -EINVAL;
	bool was_root = geteuid() == 0; /* else nothing to drop, no chown */
	/* chown to the caller (CAP_CHOWN), callers' modes that lock the
	 * owner out (CAP_DAC_OVERRIDE), chmod/utimens/xattrs of files owned
	 * by others (CAP_FOWNER), keeping setgid bits (CAP_FSETID) */
	int rc = sandbox_drop_user(uid, gid,
				   1ULL << CAP_CHOWN | 1ULL << CAP_DAC_OVERRIDE |
					   1ULL << CAP_FOWNER |
					   1ULL << CAP_FSETID);
	if (rc == 0 && was_root && geteuid() == uid)
		cd_chown_callers = true;
	return rc;
}
