/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for test_cryptod's rename_writer_race (not a test by
 * itself): renameat2() of the process it is loaded into spins for
 * CS_TEST_RENAME_STALL_MS before the real call, so the test can act (a
 * write, a SIGKILL) while a rename sits between its first slot write and
 * the lower rename. Spins on clock_gettime (vDSO): cryptod's seccomp
 * allowlist has no sleep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int renameat2(int olddirfd, const char *oldpath, int newdirfd,
	      const char *newpath, unsigned int flags);

int renameat2(int olddirfd, const char *oldpath, int newdirfd,
	      const char *newpath, unsigned int flags)
{
	const char *ms = getenv("CS_TEST_RENAME_STALL_MS");
	if (ms) {
		struct timespec a, b;
		long wait = atol(ms);
		clock_gettime(CLOCK_MONOTONIC, &a);
		do
			clock_gettime(CLOCK_MONOTONIC, &b);
		while ((b.tv_sec - a.tv_sec) * 1000 +
			   (b.tv_nsec - a.tv_nsec) / 1000000 <
		       wait);
	}
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath,
			    flags);
}
