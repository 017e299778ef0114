/* SPDX-License-Identifier: MIT */
/*
 * The per-process sandboxes as the binaries enter them: frontend/sandbox.c
 * (fe_sandbox_enter), cryptod/sandbox.c (cd_sandbox_enter) and
 * cryptod/uring_restrict.c (cd_uring_restrict) are compiled into this test.
 * Each case forks a child that enters one and then tries something the
 * process must not do; the parent checks that the child was killed
 * (SIGSYS) or refused. A case fails if the forbidden action succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cd_sandbox.h"
#include "cunit_main.h"
#include "fe_sandbox.h"
#include "log.h"
#include "ring_uring.h"
#include "sandbox.h"
#include "sandbox_testlib.h"

static char tmpdir[64];

/* Exit codes of the children: 0 = what the test expects happened;
 * 100+ = a setup step failed; anything else = a named failure. */
#define C_SETUP 100


static int killed_by_sigsys(int st)
{
	if (WIFEXITED(st))
		printf("\n  child exited %d instead of SIGSYS\n",
		       WEXITSTATUS(st));
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

static int exited_ok(int st)
{
	if (WIFSIGNALED(st))
		printf("\n  child killed by signal %d\n", WTERMSIG(st));
	else if (WEXITSTATUS(st))
		printf("\n  child exited %d\n", WEXITSTATUS(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- frontend ------------------------------------------------------- */

static int fe_open_path(void)
{
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	int fd = open("/etc/hostname", O_RDONLY);
	return fd >= 0 ? 1 : 2;
}

static int fe_socket(void)
{
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 1 : 2;
}

static int fe_exec(void)
{
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	char *argv[] = { "/bin/true", NULL };
	execv("/bin/true", argv);
	return 1;
}

static int fe_fork(void)
{
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	/* glibc's fork is clone(SIGCHLD): no new process either. */
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return p > 0 ? 1 : 2;
}

static int fe_io_uring(void)
{
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long fd = syscall(__NR_io_uring_setup, 4, &p);
	return fd >= 0 ? 1 : 2;
}

static int gate[2];
static volatile int thread_result = -1;

/* Started before the sandbox, acts after it: libfuse's worker threads. */
static void *late_socket(void *arg)
{
	(void)arg;
	char c;
	if (read(gate[0], &c, 1) != 1)
		return NULL;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	thread_result = s >= 0 ? 1 : 2;
	return NULL;
}

static int fe_thread_before_entry(void)
{
	pthread_t t;
	if (pipe(gate) < 0 || pthread_create(&t, NULL, late_socket, NULL))
		return C_SETUP;
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	if (write(gate[1], "x", 1) != 1)
		return C_SETUP + 1;
	pthread_join(t, NULL);
	return thread_result == -1 ? C_SETUP + 2 : 3;
}

/* What the frontend does do keeps working: pipe-like read/writev, poll,
 * futex wake, its memory, log lines. */
static int fe_allowed(void)
{
	int p[2];
	if (pipe(p) < 0)
		return C_SETUP;
	if (fe_sandbox_enter() != 0)
		return C_SETUP;
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };
	if (writev(p[1], iov, 2) != 4)
		return 1;
	char b[8];
	if (read(p[0], b, sizeof(b)) != 4 || memcmp(b, "abcd", 4))
		return 2;
	void *m = malloc(1 << 20);
	if (!m)
		return 3;
	free(m);
	log_debug("a log line under the sandbox");
	return 0;
}

static void test_fe_open_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_open_path)));
}

static void test_fe_socket_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_socket)));
}

static void test_fe_exec_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_exec)));
}

static void test_fe_fork_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_fork)));
}

static void test_fe_io_uring_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_io_uring)));
}

static void test_fe_threads_started_before(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(fe_thread_before_entry)));
}

static void test_fe_allowed(void)
{
	CU_ASSERT(exited_ok(sbt_in_child(fe_allowed)));
}

/* ---- cryptod -------------------------------------------------------- */

static int lower_fd(void)
{
	return open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Inside the lower directory: allowed. Outside: EACCES (Landlock), not a
 * kill (openat itself is allowed). */
static int cd_files(void)
{
	int dfd = lower_fd();
	int abi = sandbox_landlock_abi();
	if (dfd < 0)
		return C_SETUP;
	if (cd_sandbox_enter(dfd) != 0)
		return C_SETUP + 1;
	int fd = openat(dfd, "inside", O_RDWR);
	if (fd < 0)
		return 1;
	if (write(fd, "x", 1) != 1)
		return 2;
	close(fd);
	fd = openat(dfd, "newfile", O_CREAT | O_RDWR | O_EXCL, 0600);
	if (fd < 0)
		return 3;
	close(fd);
	if (unlinkat(dfd, "newfile", 0) < 0)
		return 4;
	/* the /proc/self/fd reopen cryptod uses for regular files */
	fd = openat(dfd, "inside", O_RDONLY);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int fd2 = open(p, O_RDWR);
	if (fd2 < 0)
		return 5;
	/* the records digest's readahead hint (fileio.c dig_prefetch) */
	if (posix_fadvise(fd2, 0, 4096, POSIX_FADV_WILLNEED) != 0)
		return 9;
	close(fd2);
	close(fd);
	if (abi <= 0)
		return 0; /* nothing more to check without Landlock */
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 6;
	fd = openat(dfd, "..", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		int g = openat(fd, ".", O_RDONLY | O_DIRECTORY);
		if (g >= 0)
			return 7;
	}
	fd = open("/tmp/cs-sandbox-escape", O_CREAT | O_WRONLY, 0600);
	if (fd >= 0) {
		unlink("/tmp/cs-sandbox-escape");
		return 8;
	}
	return 0;
}

static int cd_enter_plain(void)
{
	int dfd = lower_fd();
	if (dfd < 0)
		return -1;
	return cd_sandbox_enter(dfd);
}

static int cd_socket(void)
{
	if (cd_enter_plain() != 0)
		return C_SETUP;
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 1 : 2;
}

static int cd_exec(void)
{
	if (cd_enter_plain() != 0)
		return C_SETUP;
	char *argv[] = { "/bin/true", NULL };
	execv("/bin/true", argv);
	return 1;
}

static int cd_new_ring(void)
{
	if (cd_enter_plain() != 0)
		return C_SETUP;
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);
	return rc == 0 ? 1 : 2;
}

/* A ring as cryptod sets it up: disabled, a buffer and a sparse file
 * table registered, then restricted and enabled. */
static int make_ring(struct io_uring *ring, void *buf, size_t len)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	int rc = io_uring_queue_init_params(8, ring, &p);
	if (rc < 0)
		return rc;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	rc = io_uring_register_buffers(ring, &iov, 1);
	if (rc < 0)
		return rc;
	rc = io_uring_register_files_sparse(ring, 64);
	if (rc < 0)
		return rc;
	return cd_uring_restrict(ring);
}

static int cd_register_forbidden(void)
{
	static char buf[4096];
	struct io_uring ring;
	if (make_ring(&ring, buf, sizeof(buf)) < 0)
		return C_SETUP;
	if (cd_enter_plain() != 0)
		return C_SETUP + 1;
	/* allowed: a file table update */
	int dfd = lower_fd();
	if (io_uring_register_files_update(&ring, (unsigned)dfd, &dfd, 1) != 1)
		return 1;
	/* not allowed: registering buffers (kill) */
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	io_uring_register_buffers(&ring, &iov, 1);
	return 2;
}

static int submit_one(struct io_uring *ring, struct io_uring_sqe *sqe_in,
		      int *res)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	*sqe = *sqe_in;
	int rc = io_uring_submit(ring);
	if (rc < 0)
		return rc;
	struct io_uring_cqe *cqe;
	rc = io_uring_wait_cqe(ring, &cqe);
	if (rc < 0)
		return rc;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* The restricted ring does what cryptod needs and refuses the rest, with
 * and without the seccomp filter. */
static int cd_ring_ops(void)
{
	static char buf[8192] __attribute__((aligned(4096)));
	static char plain[16];
	struct io_uring ring;
	struct io_uring_sqe sqe;
	int res;
	int p[2];
	int dfd = lower_fd();
	if (dfd < 0 || pipe(p) < 0 || make_ring(&ring, buf, sizeof(buf)) < 0)
		return C_SETUP;
	/* a second restriction is refused: the ring is already enabled */
	if (cd_uring_restrict(&ring) >= 0)
		return 1;
	if (cd_sandbox_enter(dfd) != 0)
		return C_SETUP + 1;
	int fd = openat(dfd, "inside", O_RDWR);
	if (fd < 0)
		return C_SETUP + 2;

	/* allowed: WRITE_FIXED, READ through a fixed file, FSYNC, POLL_ADD */
	memcpy(buf, "hello", 5);
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_write_fixed(&sqe, fd, buf, 5, 0, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != 5)
		return 2;
	if (io_uring_register_files_update(&ring, (unsigned)fd, &fd, 1) != 1)
		return 3;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_read(&sqe, fd, plain, 5, 0);
	sqe.flags |= IOSQE_FIXED_FILE;
	if (submit_one(&ring, &sqe, &res) < 0 || res != 5 ||
	    memcmp(plain, "hello", 5))
		return 4;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_fsync(&sqe, fd, IORING_FSYNC_DATASYNC);
	if (submit_one(&ring, &sqe, &res) < 0 || res != 0)
		return 5;
	if (write(p[1], "x", 1) != 1)
		return C_SETUP + 3;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_poll_add(&sqe, p[0], POLLIN);
	if (submit_one(&ring, &sqe, &res) < 0 || !(res & POLLIN))
		return 6;

	/* refused: OPENAT (a path outside the lower directory, which
	 * Landlock would refuse too, and one inside it) */
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_openat(&sqe, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 7;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_openat(&sqe, dfd, "inside", O_RDONLY, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 8;
	/* refused: socket-ish and splice-ish opcodes */
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_socket(&sqe, AF_INET, SOCK_STREAM, 0, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 9;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_readv(&sqe, fd, &(struct iovec){ plain, 5 }, 1, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 10;
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_splice(&sqe, fd, 0, p[1], -1, 5, 0);
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 11;
	/* refused: an allowed opcode with a forbidden flag (link, async) */
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_read(&sqe, fd, plain, 5, 0);
	sqe.flags |= IOSQE_ASYNC;
	if (submit_one(&ring, &sqe, &res) < 0 || res != -EACCES)
		return 12;
	return 0;
}

/* Register opcodes other than FILES_UPDATE are refused by the ring itself
 * (before any seccomp filter: the restriction alone). */
static int cd_ring_register_refused(void)
{
	static char buf[4096];
	struct io_uring ring;
	if (make_ring(&ring, buf, sizeof(buf)) < 0)
		return C_SETUP;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	io_uring_unregister_buffers(&ring);
	int rc = io_uring_register_buffers(&ring, &iov, 1);
	if (rc != -EACCES)
		return 1;
	int efd = eventfd(0, 0);
	if (io_uring_register_eventfd(&ring, efd) != -EACCES)
		return 2;
	return 0;
}

static void *thread_fn(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static int cd_threads(void)
{
	if (cd_enter_plain() != 0)
		return C_SETUP;
	int v = 0;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_fn, &v) != 0)
		return 1;
	pthread_join(t, NULL);
	return v == 42 ? 0 : 2;
}

static void test_cd_files_confined(void)
{
	if (sandbox_landlock_abi() <= 0)
		printf("\n  Landlock unsupported: only the inside half runs\n");
	CU_ASSERT(exited_ok(sbt_in_child(cd_files)));
}

static void test_cd_socket_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(cd_socket)));
}

static void test_cd_exec_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(cd_exec)));
}

static void test_cd_new_ring_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(cd_new_ring)));
}

static void test_cd_register_killed(void)
{
	CU_ASSERT(killed_by_sigsys(sbt_in_child(cd_register_forbidden)));
}

static void test_cd_ring_ops(void)
{
	CU_ASSERT(exited_ok(sbt_in_child(cd_ring_ops)));
}

static void test_cd_ring_register_refused(void)
{
	CU_ASSERT(exited_ok(sbt_in_child(cd_ring_register_refused)));
}

static void test_cd_threads(void)
{
	CU_ASSERT(exited_ok(sbt_in_child(cd_threads)));
}

static void test_cd_restrict_enabled_ring(void)
{
	/* A ring created enabled cannot be restricted: the call fails and
	 * cryptod refuses to start rather than run an open ring. */
	struct io_uring ring;
	CU_ASSERT_EQUAL_FATAL(io_uring_queue_init(4, &ring, 0), 0);
	CU_ASSERT(cd_uring_restrict(&ring) < 0);
	io_uring_queue_exit(&ring);
}

static int setup(void)
{
	return sbt_tmpdir_setup(tmpdir, sizeof(tmpdir), "/tmp/cs-sbprocs.XXXXXX");
}

static int teardown(void)
{
	sbt_tmpdir_teardown(tmpdir);
	return 0;
}

int cs_register_suites(void)
{
	static const struct cs_test fe_tests[] = {
		{ "open_path_killed", test_fe_open_killed },
		{ "socket_killed", test_fe_socket_killed },
		{ "exec_killed", test_fe_exec_killed },
		{ "fork_killed", test_fe_fork_killed },
		{ "io_uring_setup_killed", test_fe_io_uring_killed },
		{ "thread_started_before_entry_confined",
		  test_fe_threads_started_before },
		{ "allowed_calls_work", test_fe_allowed },
		{ NULL, NULL },
	};
	static const struct cs_test cd_tests[] = {
		{ "files_confined_to_lower", test_cd_files_confined },
		{ "socket_killed", test_cd_socket_killed },
		{ "exec_killed", test_cd_exec_killed },
		{ "new_io_uring_killed", test_cd_new_ring_killed },
		{ "register_other_than_files_update_killed",
		  test_cd_register_killed },
		{ "ring_allows_needed_refuses_other_opcodes",
		  test_cd_ring_ops },
		{ "ring_refuses_other_register_ops",
		  test_cd_ring_register_refused },
		{ "threads_work", test_cd_threads },
		{ "restrict_refuses_enabled_ring",
		  test_cd_restrict_enabled_ring },
		{ NULL, NULL },
	};
	/* Registered buffers count against RLIMIT_MEMLOCK. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	struct io_uring probe;
	if (io_uring_queue_init(2, &probe, 0) < 0) {
		printf("io_uring unavailable here: suite skipped\n");
		return CS_TEST_SKIP;
	}
	io_uring_queue_exit(&probe);
	log_init("test_sandbox_procs", LOG_LVL_WARN);
	if (cs_add_suite("frontend_sandbox", setup, teardown, fe_tests) < 0)
		return -1;
	return cs_add_suite("cryptod_sandbox", setup, teardown, cd_tests);
}
