/* SPDX-License-Identifier: MIT */
/* Helpers shared by the sandbox test suites (test_sandbox*.c). */
#ifndef CS_SANDBOX_TESTLIB_H
#define CS_SANDBOX_TESTLIB_H

#include <stddef.h>

/* Runs fn in a forked child and returns its wait status. */
int sbt_in_child(int (*fn)(void));
/* Creates a fresh directory from template (e.g. "/tmp/cs-x.XXXXXX", copied
 * into dir of cap bytes) holding an empty file "inside"; 0 or -1. */
int sbt_tmpdir_setup(char *dir, size_t cap, const char *template);
/* Removes dir/inside and dir. */
void sbt_tmpdir_teardown(const char *dir);
/* Value of the first line of a /proc status file starting with field,
 * parsed in base (10 or 16); fallback when absent or unreadable. */
unsigned long long sbt_status_field(const char *path, const char *field,
				    int base, unsigned long long fallback);

#endif
