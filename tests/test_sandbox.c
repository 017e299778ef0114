/* SPDX-License-Identifier: MIT */
/* common/sandbox: each case forks a child that enters a sandbox and then
 * tries something; the parent checks the child was killed or refused. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_main.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_testlib.h"

static char tmpdir[64];

/* Base syscalls plus extra, in a static NULL-terminated list. */
static const char *const *with(const char *const *extra)
{
	static const char *list[128];
	size_t n = 0;
	for (const char *const *s = sandbox_base_syscalls; *s; s++)
		list[n++] = *s;
	for (const char *const *s = extra; *s; s++)
		list[n++] = *s;
	list[n] = NULL;
	return list;
}


static int child_socket(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	return s >= 0 ? 0 : 11; /* reaching here at all is a failure */
}

static void test_forbidden_syscall_kills(void)
{
	int st = sbt_in_child(child_socket);
	CU_ASSERT(WIFSIGNALED(st));
	if (WIFSIGNALED(st))
		CU_ASSERT_EQUAL(WTERMSIG(st), SIGSYS);
}

static int child_exec(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	char *argv[] = { "/bin/true", NULL };
	execv("/bin/true", argv);
	return 11;
}

static void test_exec_kills(void)
{
	int st = sbt_in_child(child_exec);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

static int child_landlock(void)
{
	static const char *const extra[] = { "openat", "read", "fstat",
					     "newfstatat", "lseek", NULL };
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 10;
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = dfd };
	if (sandbox_enter(&c) != 0)
		return 11;
	int fd = openat(dfd, "inside", O_RDONLY);
	if (fd < 0)
		return 12;
	close(fd);
	fd = open("/etc/passwd", O_RDONLY);
	if (fd >= 0)
		return 13;
	if (errno != EACCES)
		return 14;
	/* ".." from the allowed directory is outside too. */
	fd = openat(dfd, "../", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		int f2 = openat(fd, "x-not-there", O_RDONLY);
		(void)f2;
		int g = openat(fd, ".", O_RDONLY);
		if (g >= 0)
			return 15;
	}
	return 0;
}

static void test_landlock_confines(void)
{
	if (sandbox_landlock_abi() <= 0) {
		printf("Landlock unsupported by this kernel: case skipped\n");
		return;
	}
	int st = sbt_in_child(child_landlock);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

static void *thread_fn(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static int child_threads(void)
{
	static const char *const extra[] = { "clone", "prctl", NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 11;
	int v = 0;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_fn, &v) != 0)
		return 12;
	pthread_join(t, NULL);
	return v == 42 ? 0 : 13;
}

static void test_threads_work_clone3_enosys(void)
{
	int st = sbt_in_child(child_threads);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

static const struct sandbox_rule dup0_only[] = {
	{ "dup", 0, 0 },
	{ NULL, 0, 0 },
};

static int child_arg_rule(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .allow_arg = dup0_only, .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	if (dup(0) < 0)
		return 11;
	return dup(1) >= 0 ? 12 : 13; /* other argument: kill */
}

static int child_arg_rule_and_allow(void)
{
	static const char *const extra[] = { "dup", NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .allow_arg = dup0_only, .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	return dup(0) >= 0 && dup(1) >= 0 ? 0 : 11;
}

static void test_arg_rules(void)
{
	int st = sbt_in_child(child_arg_rule);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sbt_in_child(child_arg_rule_and_allow);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int sibling_pid;

static int child_signal_other(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	/* own process: allowed (SIGURG is ignored by default) */
	if (syscall(SYS_tgkill, getpid(), gettid(), SIGURG) != 0)
		return 11;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 12;
	/* another process of the same uid: kill */
	syscall(SYS_tgkill, sibling_pid, sibling_pid, SIGTERM);
	return 13;
}

static int child_prlimit_other(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	struct rlimit rl = { 0, 0 };
	prlimit(sibling_pid, RLIMIT_NOFILE, &rl, NULL);
	return 11;
}

static int child_affinity_other(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	cpu_set_t set;
	if (sandbox_enter(&c) != 0)
		return 10;
	/* this thread: allowed */
	if (sched_getaffinity(0, sizeof(set), &set) != 0 ||
	    sched_setaffinity(0, sizeof(set), &set) != 0)
		return 11;
	/* another process: kill */
	sched_setaffinity(sibling_pid, sizeof(set), &set);
	return 12;
}

static int child_abort(void)
{
	static const char *const extra[] = { NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	if (sandbox_enter(&c) != 0)
		return 10;
	abort();
}

static void test_signals_and_limits_only_self(void)
{
	fflush(NULL);
	pid_t sib = fork();
	if (sib == 0) {
		pause();
		_exit(0);
	}
	sibling_pid = sib;
	int st = sbt_in_child(child_signal_other);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sbt_in_child(child_prlimit_other);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sbt_in_child(child_affinity_other);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sbt_in_child(child_abort);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	/* the sibling survived */
	CU_ASSERT_EQUAL(waitpid(sib, &st, WNOHANG), 0);
	kill(sib, SIGKILL);
	waitpid(sib, &st, 0);
}

static int child_bad_name(void)
{
	static const char *const extra[] = { "no_such_syscall_xyz", NULL };
	struct sandbox_cfg c = { .name = "t", .allow = with(extra),
				 .landlock_fd = -1 };
	return sandbox_enter(&c) == -EINVAL ? 0 : 1;
}

static void test_unknown_syscall_name_refused(void)
{
	int st = sbt_in_child(child_bad_name);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Capability bits from /proc/self/status ("CapEff:", "CapBnd:", ...). */
static unsigned long long cap_field(const char *field)
{
	return sbt_status_field("/proc/self/status", field, 16, ~0ULL);
}

static int child_drop_user(void)
{
	char own[128], other[128];
	snprintf(own, sizeof(own), "%s/inside", tmpdir);
	snprintf(other, sizeof(other), "%s/rootonly", tmpdir);
	int fd = open(other, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || chown(own, 0, 0) < 0)
		return 10;
	close(fd);
	if (chmod(tmpdir, 0755) < 0)
		return 10;
	/* CAP_CHOWN kept, everything else (DAC_OVERRIDE, SETUID...) gone */
	if (sandbox_drop_user(65534, 65534, 1ULL << CAP_CHOWN) != 0)
		return 11;
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		return 12;
	if (cap_field("CapEff:") != 1ULL << CAP_CHOWN ||
	    cap_field("CapPrm:") != 1ULL << CAP_CHOWN ||
	    cap_field("CapBnd:") != 1ULL << CAP_CHOWN ||
	    cap_field("CapInh:") != 0 || cap_field("CapAmb:") != 0)
		return 13;
	if (chown(own, 1234, 1234) != 0) /* CAP_CHOWN works */
		return 14;
	if (open(other, O_RDONLY) >= 0 || errno != EACCES) /* no override */
		return 15;
	if (setuid(0) == 0 || setresuid(0, 0, 0) == 0) /* no way back */
		return 16;
	if (chown(own, 0, 0) != 0)
		return 17;
	unlink(other); /* fails without DAC_OVERRIDE: parent cleans up */
	return 0;
}

static void test_drop_user_keeps_only_named_caps(void)
{
	if (geteuid() != 0) {
		printf("not root: case skipped\n");
		return;
	}
	int st = sbt_in_child(child_drop_user);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	char other[128];
	snprintf(other, sizeof(other), "%s/rootonly", tmpdir);
	unlink(other);
}

static int child_drop_unprivileged(void)
{
	/* not root: nothing to drop, nothing changes */
	if (setresuid(65534, 65534, 65534) != 0)
		return 10;
	return sandbox_drop_user(1, 1, 0) == 0 && getuid() == 65534 ? 0 : 1;
}

static void test_drop_user_noop_unprivileged(void)
{
	if (geteuid() != 0)
		return;
	int st = sbt_in_child(child_drop_unprivileged);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup(void)
{
	return sbt_tmpdir_setup(tmpdir, sizeof(tmpdir), "/tmp/cs-sandbox.XXXXXX");
}

static int teardown(void)
{
	sbt_tmpdir_teardown(tmpdir);
	return 0;
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "forbidden_syscall_kills", test_forbidden_syscall_kills },
		{ "exec_kills", test_exec_kills },
		{ "landlock_confines", test_landlock_confines },
		{ "threads_work_clone3_enosys",
		  test_threads_work_clone3_enosys },
		{ "unknown_syscall_name_refused",
		  test_unknown_syscall_name_refused },
		{ "arg_rules", test_arg_rules },
		{ "signals_and_limits_only_self",
		  test_signals_and_limits_only_self },
		{ "drop_user_keeps_only_named_caps",
		  test_drop_user_keeps_only_named_caps },
		{ "drop_user_noop_unprivileged",
		  test_drop_user_noop_unprivileged },
		{ NULL, NULL },
	};
	log_init("test_sandbox", LOG_LVL_WARN);
	return cs_add_suite("sandbox", setup, teardown, tests);
}
