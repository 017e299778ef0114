/* SPDX-License-Identifier: MIT */
/*
 * Small-file storm for bench/fsbench: creates N files of 100 bytes in DIR,
 * stats each, unlinks each. Prints one machine-readable line:
 *   fsops n=N create_s=.. stat_s=.. unlink_s=..
 * fsops --rtt DIR N: one request round trip to the filesystem daemon,
 * N times (getxattr of a missing user.* attribute of DIR: no kernel cache
 * answers it), then prints the mean and the distribution of single round
 * trips (microseconds):
 *   fsops rtt n=N us=<mean> p10=.. p50=.. p90=.. p99=.. max=..
 * The round trip on a 2-vCPU VM is bimodal (a wake-up of a halted vCPU
 * costs tens of microseconds), so the percentiles say more than the mean.
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The q-th quantile (0..1) of n sorted samples, in microseconds. */
static double quantile_us(const uint32_t *v, long n, double q)
{
	long i = (long)(q * (double)(n - 1) + 0.5);
	return v[i] / 1e3;
}

/* --rtt: round trips of a request every FUSE daemon answers itself. */
static int rtt(const char *dir, long n)
{
	uint32_t *lat = malloc((size_t)n * sizeof(*lat));
	char v[8];
	int ret = 1;

	if (!lat) {
		perror("malloc");
		return 1;
	}
	uint64_t t0 = now_ns(), prev = t0;
	for (long i = 0; i < n; i++) {
		if (getxattr(dir, "user.fsops-rtt", v, sizeof(v)) >= 0 ||
		    (errno != ENODATA && errno != ENOTSUP)) {
			perror("getxattr");
			goto out;
		}
		uint64_t t = now_ns();
		lat[i] = t - prev > UINT32_MAX ? UINT32_MAX
					       : (uint32_t)(t - prev);
		prev = t;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u32);
	printf("fsops rtt n=%ld us=%.2f p10=%.1f p50=%.1f p90=%.1f p99=%.1f "
	       "max=%.1f\n",
	       n, (prev - t0) / 1e3 / (double)n, quantile_us(lat, n, 0.10),
	       quantile_us(lat, n, 0.50), quantile_us(lat, n, 0.90),
	       quantile_us(lat, n, 0.99), lat[n - 1] / 1e3);
	ret = 0;
out:
	free(lat);
	return ret;
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
