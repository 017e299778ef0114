/* SPDX-License-Identifier: MIT */
/*
 * cryptstack umount MOUNTPOINT
 *
 * Unmounts (umount2 as root, fusermount3 -u otherwise), then waits until
 * the mount's supervisor, which exits after keyd, cryptod and the frontend
 * are gone, has exited (its pid file, docs/PROCESSES.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "supervisor.h"
#include "util.h"

#define UMOUNT_WAIT_MS 30000

/* The supervisor pid from the pid file, if it still names a running
 * cryptstack process; else 0. */
static pid_t read_pid(const char *pidfile)
{
	char buf[32], path[64], comm[32];
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read_full(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	if (strncmp(comm, "cryptstack", 10))
		return 0;
	return (pid_t)pid;
}

/* Waits up to ms for pid (not our child) to exit; 0 or -ETIMEDOUT. */
static int wait_gone(pid_t pid, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		do {
			n = poll(&p, 1, ms);
		} while (n < 0 && errno == EINTR);
		close(pfd);
		return n > 0 ? 0 : -ETIMEDOUT;
	}
	for (int waited = 0; waited < ms; waited += 20) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static int unmount(const char *mnt)
{
	if (geteuid() == 0) {
		if (umount2(mnt, 0) == 0)
			return 0;
		int e = errno;
		if (e == EBUSY)
			fprintf(stderr, "cryptstack: %s is busy (files open or "
					"a process inside it)\n", mnt);
		else if (e == EINVAL)
			fprintf(stderr, "cryptstack: %s is not mounted\n", mnt);
		else
			fprintf(stderr, "cryptstack: umount %s: %s\n", mnt,
				strerror(e));
		return -e;
	}
	return sup_fusermount(mnt, 0);
}

int cmd_umount(int argc, char **argv)
{
	char mnt[PATH_MAX], pidfile[PATH_MAX];
	pid_t pid;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: cryptstack umount MOUNTPOINT\n");
		return 2;
	}
	r = sup_canon(argv[1], mnt, sizeof(mnt));
	if (r < 0) {
		fprintf(stderr, "cryptstack: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	r = sup_run_path(mnt, ".pid", 0, pidfile, sizeof(pidfile));
	pid = r == 0 ? read_pid(pidfile) : 0;

	r = unmount(mnt);
	if (r < 0 && !(r == -EINVAL && pid > 0))
		return 1;
	if (pid > 0 && wait_gone(pid, UMOUNT_WAIT_MS) < 0) {
		fprintf(stderr, "cryptstack: %s is unmounted but its processes "
				"(supervisor pid %d) are still running after "
				"%d s\n", mnt, (int)pid, UMOUNT_WAIT_MS / 1000);
		return 1;
	}
	return 0;
}
