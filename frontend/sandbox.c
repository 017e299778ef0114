/* SPDX-License-Identifier: MIT */
/*
 * The frontend's seccomp allowlist: what its threads were seen to call
 * after the mount (strace -f of the integration suite) and what its exit
 * paths need. No Landlock: it opens nothing (openat is not allowed at
 * all), and a Landlock domain would forbid the root self-unmount
 * (umount2 is refused to any Landlock-restricted task).
 */
#include "fe_sandbox.h"
#include "sandbox.h"

const char *const fe_sandbox_syscalls[] = {
	/* /dev/fuse requests in, replies out (writev), signalfd reads */
	"read", "readv", "poll", "ppoll",
	/* fuse_session_unmount as root: lstat + access("/etc/mtab"), then
	 * umount2; as non-root libfuse would exec fusermount3, which is
	 * not allowed: the supervisor unmounts instead */
	"umount2", "newfstatat", "fstat", "access", "faccessat",
	"faccessat2",
	NULL,
};

int fe_sandbox_enter(void)
{
	const char *list[96];
	size_t n = 0;
	for (size_t i = 0; sandbox_base_syscalls[i] && n < 64; i++)
		list[n++] = sandbox_base_syscalls[i];
	for (size_t i = 0; fe_sandbox_syscalls[i] && n < 94; i++)
		list[n++] = fe_sandbox_syscalls[i];
	list[n] = NULL;
	struct sandbox_cfg cfg = { .name = "frontend", .allow = list,
				   .landlock_fd = -1 };
	return sandbox_enter(&cfg);
}
