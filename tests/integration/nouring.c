/* SPDX-License-Identifier: MIT */
/*
 * cs_nouring CMD [ARGS...]: runs CMD with the io_uring system calls
 * answered EPERM, as Docker's default seccomp profile (since 25.0) and
 * kernel.io_uring_disabled=2 do. The filter is inherited by every process
 * CMD starts (tests/integration/nouring.sh).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: cs_nouring CMD [ARGS...]\n");
		return 2;
	}
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
	if (!c || seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM),
				   SCMP_SYS(io_uring_setup), 0) ||
	    seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_enter),
			     0) ||
	    seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM),
			     SCMP_SYS(io_uring_register), 0) ||
	    seccomp_load(c)) {
		fprintf(stderr, "cs_nouring: cannot load the filter\n");
		return 1;
	}
	seccomp_release(c);
	execvp(argv[1], argv + 1);
	perror("cs_nouring: exec");
	return 127;
}
