/* SPDX-License-Identifier: MIT */
/*
 * Small-file storm for bench/fsbench: creates N files of 100 bytes in DIR,
 * stats each, unlinks each. Prints one machine-readable line:
 *   fsops n=N create_s=.. stat_s=.. unlink_s=..
 * fsops --rtt DIR N: one request round trip to the filesystem daemon,
 * N times (getxattr of a missing user.* attribute of DIR: no kernel cache
 * answers it), then prints
 *   fsops rtt n=N us=<mean microseconds per round trip>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"

/* --rtt: round trips of a request every FUSE daemon answers itself. */
static int rtt(const char *dir, long n)
{
	char v[8];
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (getxattr(dir, "user.fsops-rtt", v, sizeof(v)) >= 0 ||
		    (errno != ENODATA && errno != ENOTSUP)) {
			perror("getxattr");
			return 1;
		}
	}
	uint64_t t1 = now_ns();
	printf("fsops rtt n=%ld us=%.2f\n", n, (t1 - t0) / 1e3 / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--rtt")) {
		long n = strtol(argv[3], NULL, 10);
		if (n <= 0 || n > 100000000) {
			fprintf(stderr, "fsops: bad N\n");
			return 2;
		}
		return rtt(argv[2], n);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: fsops DIR N | fsops --rtt DIR N\n");
		return 2;
	}
	const char *dir = argv[1];
	long n = strtol(argv[2], NULL, 10);
	if (n <= 0 || n > 10000000) {
		fprintf(stderr, "fsops: bad N\n");
		return 2;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		perror(dir);
		return 1;
	}
	char name[64], data[100];
	memset(data, 'x', sizeof(data));
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07ld", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write_full(fd, data, sizeof(data)) != 0) {
			perror("create");
			return 1;
		}
		close(fd);
	}
	uint64_t t1 = now_ns();
	struct stat st;
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07ld", i);
		if (fstatat(dfd, name, &st, 0) != 0 || st.st_size != 100) {
			fprintf(stderr, "stat %s: %s\n", name, strerror(errno));
			return 1;
		}
	}
	uint64_t t2 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07ld", i);
		if (unlinkat(dfd, name, 0) != 0) {
			perror("unlink");
			return 1;
		}
	}
	uint64_t t3 = now_ns();
	close(dfd);
	printf("fsops n=%ld create_s=%.4f stat_s=%.4f unlink_s=%.4f\n", n,
	       (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
	return 0;
}
