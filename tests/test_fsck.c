/* SPDX-License-Identifier: MIT */
/*
 * cryptstack fsck without a mount (no root, no FUSE): the real CLI and a
 * real keyd on volumes made by `cryptstack init`, with lower files placed
 * by hand (golden files of tests/golden, junk, empty files, side files).
 * Checks exit codes (0 clean, 1 corrupt, 2 operational, 3 repaired), the
 * report lines and --repair. The mounted cases (tampering with data
 * written through cryptod, crashes, ENOSPC...) are tests/reliability/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_main.h"

static char tmp[256];
static char out[65536];

/* Runs a shell command, output (stdout+stderr) in out; returns the exit
 * status or -1. */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define FSCK(vol, extra)                                                       \
	run("%s fsck --passfile %s/pass --no-progress " extra " %s/%s 2>&1",   \
	    CS_CLI, tmp, tmp, vol)

static int suite_init(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/cs-test-fsck.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	if (run("printf 'fsck test pass\\n' >%s/pass && printf 'wrong\\n' "
		">%s/wrong",
		tmp, tmp))
		return -1;
	/* Two template volumes: encrypted and plaintext names. */
	if (run("%s init --passfile %s/pass --kdf-memory 1M --kdf-time 1 "
		"--kdf-parallelism 1 %s/enc 2>&1",
		CS_CLI, tmp, tmp) ||
	    run("%s init --passfile %s/pass --kdf-memory 1M --kdf-time 1 "
		"--kdf-parallelism 1 --plaintext-names %s/plain 2>&1",
		CS_CLI, tmp, tmp)) {
		fprintf(stderr, "init failed: %s\n", out);
		return -1;
	}
	/* The root's directory id, as cryptod writes it on first use. */
	if (run("printf 'CSDI\\001\\000\\000\\000dir id for fsck!' "
		">%s/enc/.cs.dirid",
		tmp))
		return -1;
	return 0;
}

static int suite_clean(void)
{
	if (tmp[0])
		run("rm -rf %s", tmp);
	return 0;
}

/* A fresh copy of template t named n. */
static void fresh(const char *t, const char *n)
{
	CU_ASSERT_EQUAL_FATAL(
	    run("rm -rf %s/%s && cp -a %s/%s %s/%s", tmp, n, tmp, t, tmp, n),
	    0);
}

static void test_clean_volumes(void)
{
	CU_ASSERT_EQUAL(FSCK("enc", ""), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0 corrupt"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 directories"));
	CU_ASSERT_EQUAL(FSCK("plain", ""), 0);
	CU_ASSERT_EQUAL(FSCK("enc", "--repair"), 0);
}

static void test_operational_errors(void)
{
	/* not a volume, missing, wrong passphrase, usage */
	CU_ASSERT_EQUAL(run("mkdir -p %s/notvol && %s fsck --passfile %s/pass "
			    "%s/notvol 2>&1",
			    tmp, CS_CLI, tmp, tmp),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a cryptstack volume"));
	CU_ASSERT_EQUAL(
	    run("%s fsck --passfile %s/pass %s/missing 2>&1", CS_CLI, tmp, tmp),
	    2);
	CU_ASSERT_EQUAL(
	    run("%s fsck --passfile %s/wrong %s/enc 2>&1", CS_CLI, tmp, tmp),
	    2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "wrong passphrase"));
	CU_ASSERT_EQUAL(run("%s fsck 2>&1", CS_CLI), 2);
	CU_ASSERT_EQUAL(run("%s fsck --bogus %s/enc 2>&1", CS_CLI, tmp), 2);
	CU_ASSERT_EQUAL(run("%s fsck --help 2>&1", CS_CLI), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit status"));
}

static void test_foreign_entries(void)
{
	fresh("enc", "foreign");
	/* '.' is outside the name alphabet: foreign, ignored by the mount */
	CU_ASSERT_EQUAL(run("echo x >%s/foreign/notes.txt", tmp), 0);
	CU_ASSERT_EQUAL(FSCK("foreign", ""), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "FOREIGN"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 foreign"));
}

static void test_bad_name(void)
{
	fresh("enc", "badname");
	/* a string of the name alphabet of a possible length that does not
	 * decrypt under this directory's id */
	CU_ASSERT_EQUAL(run("cp %s/small-100.lower "
			    "%s/badname/AAAAAAAAAAAAAAAAAAAAAAAAAAA",
			    CS_GOLDEN_DIR, tmp),
			0);
	CU_ASSERT_EQUAL(FSCK("badname", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "name fails authentication"));
	/* not repairable: still 1 after --repair */
	CU_ASSERT_EQUAL(FSCK("badname", "--repair"), 1);
}

static void test_dirid(void)
{
	fresh("enc", "dirid");
	/* a fresh volume has no root id yet: fine while nothing is named */
	CU_ASSERT_EQUAL(run("rm -f %s/dirid/.cs.dirid", tmp), 0);
	CU_ASSERT_EQUAL(FSCK("dirid", ""), 0);
	CU_ASSERT_EQUAL(run("cp %s/small-100.lower "
			    "%s/dirid/AAAAAAAAAAAAAAAAAAAAAAAAAAA",
			    CS_GOLDEN_DIR, tmp),
			0);
	CU_ASSERT_EQUAL(FSCK("dirid", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "directory id file"));
	fresh("enc", "dirid2");
	CU_ASSERT_EQUAL(run("printf 'CSDI\\001\\000\\000\\000short' "
			    ">%s/dirid2/.cs.dirid",
			    tmp),
			0);
	CU_ASSERT_EQUAL(FSCK("dirid2", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
}

static void test_orphan_side_file(void)
{
	fresh("enc", "orphan");
	CU_ASSERT_EQUAL(run("printf 'CSLN' >%s/orphan/cs~"
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.name",
			    tmp),
			0);
	CU_ASSERT_EQUAL(FSCK("orphan", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "orphaned long-name side file"));
	CU_ASSERT_EQUAL(FSCK("orphan", "--repair"), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "REMOVED"));
	CU_ASSERT_EQUAL(FSCK("orphan", ""), 0);
}

static void test_lower_files(void)
{
	fresh("plain", "files");
	/* a valid file whose key packet is for another FEKEK (golden key) */
	CU_ASSERT_EQUAL(
	    run("cp %s/small-100.lower %s/files/golden", CS_GOLDEN_DIR, tmp),
	    0);
	CU_ASSERT_EQUAL(FSCK("files", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no key packet is for the given"));
	/* junk with no magic */
	fresh("plain", "junk");
	CU_ASSERT_EQUAL(run("head -c 9000 /dev/urandom >%s/junk/j", tmp), 0);
	CU_ASSERT_EQUAL(FSCK("junk", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad magic"));
	/* unknown version / required flag */
	fresh("plain", "ver");
	CU_ASSERT_EQUAL(
	    run("cp %s/small-100.lower %s/ver/v && printf '\\011' | "
		"dd of=%s/ver/v bs=1 seek=8 conv=notrunc "
		"status=none",
		CS_GOLDEN_DIR, tmp, tmp),
	    0);
	CU_ASSERT_EQUAL(FSCK("ver", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unsupported format version"));
	/* shorter than the header area */
	fresh("plain", "short");
	CU_ASSERT_EQUAL(run("head -c 700 %s/small-100.lower >%s/short/s",
			    CS_GOLDEN_DIR, tmp),
			0);
	CU_ASSERT_EQUAL(FSCK("short", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
}

static void test_empty_file_repair(void)
{
	fresh("plain", "empty");
	CU_ASSERT_EQUAL(run(": >%s/empty/zero", tmp), 0);
	CU_ASSERT_EQUAL(FSCK("empty", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "empty lower file"));
	CU_ASSERT_EQUAL(access("/dev/null", F_OK), 0);
	CU_ASSERT_EQUAL(FSCK("empty", "--repair"), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "REMOVED"));
	char p[512];
	snprintf(p, sizeof(p), "%s/empty/zero", tmp);
	CU_ASSERT_EQUAL(access(p, F_OK), -1);
	CU_ASSERT_EQUAL(FSCK("empty", ""), 0);
}

static void test_progress(void)
{
	CU_ASSERT_EQUAL(run("%s fsck --passfile %s/pass --progress %s/enc "
			    "2>&1 >/dev/null",
			    CS_CLI, tmp, tmp),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "100%"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "files"));
	CU_ASSERT_EQUAL(run("%s fsck --passfile %s/pass --no-progress %s/enc "
			    "2>&1 >/dev/null",
			    CS_CLI, tmp, tmp),
			0);
	CU_ASSERT_PTR_NULL(strchr(out, '\r')); /* no bar */
}

static void test_lock(void)
{
	/* a repairing fsck holds LOCK_EX on the lower directory */
	CU_ASSERT_EQUAL(run("(flock -x %s/enc sleep 2 >/dev/null 2>&1 &); "
			    "sleep 0.3; %s fsck --passfile %s/pass %s/enc 2>&1",
			    tmp, CS_CLI, tmp, tmp),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "locked by another fsck"));
	CU_ASSERT_EQUAL(run("(flock -s %s/enc sleep 2 >/dev/null 2>&1 &); "
			    "sleep 0.3; %s fsck --repair --passfile %s/pass "
			    "%s/enc 2>&1",
			    tmp, CS_CLI, tmp, tmp),
			2);
	CU_ASSERT_EQUAL(run("sleep 2; %s fsck --passfile %s/pass %s/enc 2>&1",
			    CS_CLI, tmp, tmp),
			0);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
	    {"clean volumes", test_clean_volumes},
	    {"operational errors (exit 2)", test_operational_errors},
	    {"foreign entries", test_foreign_entries},
	    {"name fails authentication", test_bad_name},
	    {"directory id files", test_dirid},
	    {"orphaned side file and --repair", test_orphan_side_file},
	    {"lower file headers and key packets", test_lower_files},
	    {"empty lower file and --repair", test_empty_file_repair},
	    {"progress output", test_progress},
	    {"lock against a concurrent fsck", test_lock},
	    {NULL, NULL},
	};
	if (access(CS_CLI, X_OK)) {
		printf("SKIP: %s not built\n", CS_CLI);
		return CS_TEST_SKIP;
	}
	return cs_add_suite("fsck", suite_init, suite_clean, tests);
}
