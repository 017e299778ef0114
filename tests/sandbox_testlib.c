/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox_testlib.h"

int sbt_in_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

int sbt_tmpdir_setup(char *dir, size_t cap, const char *template)
{
	char p[160];
	snprintf(dir, cap, "%s", template);
	if (!mkdtemp(dir))
		return -1;
	snprintf(p, sizeof(p), "%s/inside", dir);
	int fd = open(p, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void sbt_tmpdir_teardown(const char *dir)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/inside", dir);
	unlink(p);
	rmdir(dir);
}

unsigned long long sbt_status_field(const char *path, const char *field,
				    int base, unsigned long long fallback)
{
	char line[256];
	unsigned long long v = fallback;
	size_t fl = strlen(field);
	FILE *f = fopen(path, "r");
	if (!f)
		return fallback;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl)) {
			v = strtoull(line + fl, NULL, base);
			break;
		}
	fclose(f);
	return v;
}
