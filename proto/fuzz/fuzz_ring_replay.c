/* SPDX-License-Identifier: MIT */
/*
 * Replays every file of a corpus directory through fuzz_ring.c's
 * LLVMFuzzerTestOneInput (a unit test in every build; the fuzzer itself
 * needs CS_FUZZ=ON). Usage: fuzz-ring-replay DIR. Exit 0, or abort().
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int nfiles = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n < 0)
			continue;
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		nfiles++;
	}
	closedir(d);
	printf("replayed %d inputs\n", nfiles);
	return nfiles > 0 ? 0 : 1;
}
