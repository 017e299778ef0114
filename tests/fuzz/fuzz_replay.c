/* SPDX-License-Identifier: MIT */
/*
 * Runs a libFuzzer target over the files of the directories (or files)
 * given on the command line, without libFuzzer: the seed corpora are
 * regression tests in ordinary and sanitizer builds. Exit 1 if an input
 * could not be read or none was found.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, errs = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			errs++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			errs += run_file(argv[i]) != 0;
			files++;
			continue;
		}
		d = opendir(argv[i]);
		while (d && (e = readdir(d))) {
			char p[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
			errs += run_file(p) != 0;
			files++;
		}
		if (d)
			closedir(d);
	}
	printf("replayed %d inputs, %d errors\n", files, errs);
	return errs || files == 0 ? 1 : 0;
}
