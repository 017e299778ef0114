/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Debian 12's headers predate Landlock ABI 3 (Linux 6.2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

const char *const sandbox_base_syscalls[] = {
	"exit", "exit_group", "brk", "mmap", "munmap", "mremap", "mprotect",
	"madvise", "futex", "rseq", "set_robust_list", "get_robust_list",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"getrandom", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"restart_syscall",
	"write", "writev", "close", "tgkill", "prlimit64", "membarrier",
	NULL,
};

/* Highest capability number this kernel knows (CAP_LAST_CAP of the
 * running kernel, which may be newer than our headers). */
static int cap_last(void)
{
	char b[16];
	int last = CAP_LAST_CAP;
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof(b) - 1);
		if (n > 0) {
			b[n] = '\0';
			int v = atoi(b);
			if (v > 0 && v < 64)
				last = v;
		}
		close(fd);
	}
	return last;
}

int sandbox_drop_user(unsigned uid, unsigned gid, uint64_t keep_caps)
{
	if (geteuid() != 0 || uid == 0)
		return 0;
	/* Bounding set first: dropping needs CAP_SETPCAP, gone after the
	 * uid change. */
	int last = cap_last();
	for (int c = 0; c <= last; c++) {
		if (keep_caps & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return -errno;
	/* Keep the permitted set across setresuid (it would be cleared),
	 * then trim it to keep_caps with capset. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return -errno;
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return -errno;
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep_caps;
	data[1].effective = data[1].permitted = (uint32_t)(keep_caps >> 32);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -errno;
	log_debug("running as uid %u gid %u, capabilities %#llx", uid, gid,
		  (unsigned long long)keep_caps);
	return 0;
}

int sandbox_parse_user(const char *spec, unsigned *uid, unsigned *gid)
{
	unsigned u, g;
	char end;
	if (!spec || sscanf(spec, "%u:%u%c", &u, &g, &end) != 2 || u == 0 ||
	    u == (unsigned)-1 || g == (unsigned)-1)
		return -EINVAL;
	*uid = u;
	*gid = g;
	return 0;
}

int sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t landlock_fs_all(int abi)
{
	uint64_t all = LANDLOCK_ACCESS_FS_EXECUTE |
		       LANDLOCK_ACCESS_FS_WRITE_FILE |
		       LANDLOCK_ACCESS_FS_READ_FILE |
		       LANDLOCK_ACCESS_FS_READ_DIR |
		       LANDLOCK_ACCESS_FS_REMOVE_DIR |
		       LANDLOCK_ACCESS_FS_REMOVE_FILE |
		       LANDLOCK_ACCESS_FS_MAKE_CHAR |
		       LANDLOCK_ACCESS_FS_MAKE_DIR |
		       LANDLOCK_ACCESS_FS_MAKE_REG |
		       LANDLOCK_ACCESS_FS_MAKE_SOCK |
		       LANDLOCK_ACCESS_FS_MAKE_FIFO |
		       LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		       LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return all;
}

static int landlock_apply(const struct sandbox_cfg *cfg)
{
	int abi = sandbox_landlock_abi();
	int rfd = -1, ret = 0;
	if (abi <= 0) {
		log_warnx("%s: Landlock not supported by this kernel; "
			  "filesystem access is not confined", cfg->name);
		return 0;
	}
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = landlock_fs_all(abi),
	};
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
			   0);
	if (rfd < 0) {
		ret = -errno;
		goto out;
	}
	if (cfg->landlock_fd >= 0) {
		uint64_t allowed = attr.handled_access_fs &
				   ~(uint64_t)LANDLOCK_ACCESS_FS_MAKE_CHAR &
				   ~(uint64_t)LANDLOCK_ACCESS_FS_MAKE_BLOCK;
		if (!cfg->allow_exec_fs)
			allowed &= ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE;
		struct landlock_path_beneath_attr pb = {
			.allowed_access = allowed,
			.parent_fd = cfg->landlock_fd,
		};
		if (syscall(SYS_landlock_add_rule, rfd,
			    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
			ret = -errno;
			goto out;
		}
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) != 0)
		ret = -errno;
out:
	if (rfd >= 0)
		close(rfd);
	return ret;
}

/* Allows syscall nr only when argument arg equals value. (The SCMP_CMP
 * macros leave datum_b to an implicit zero, which clang warns about.) */
static int allow_eq(scmp_filter_ctx ctx, int nr, unsigned arg,
		    scmp_datum_t value)
{
	struct scmp_arg_cmp c = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0,
	};
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &c);
}

static int seccomp_apply(const struct sandbox_cfg *cfg)
{
	int ret = 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* glibc's pthread_create tries clone3 first and falls back to clone
	 * on ENOSYS; clone3's flags live in memory seccomp cannot inspect, so
	 * answer ENOSYS rather than allow it. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
			       seccomp_syscall_resolve_name("clone3"), 0);
	if (ret < 0)
		goto out;
	/* Threads that already run (libfuse workers, ...) get the same
	 * filter; without TSYNC only the calling thread would. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret < 0)
		goto out;
	for (const struct sandbox_rule *r = cfg->allow_arg; r && r->name;
	     r++) {
		int nr = seccomp_syscall_resolve_name(r->name);
		if (nr == __NR_SCMP_ERROR || r->arg > 5 ||
		    !strcmp(r->name, "clone3")) {
			log_warnx("%s: bad sandbox rule for %s", cfg->name,
				  r->name);
			ret = -EINVAL;
			goto out;
		}
		ret = allow_eq(ctx, nr, r->arg, (scmp_datum_t)r->value);
		if (ret < 0 && ret != -EEXIST)
			goto out;
		ret = 0;
	}
	for (const char *const *s = cfg->allow; s && *s; s++) {
		if (!strcmp(*s, "clone3"))
			continue;
		int nr = seccomp_syscall_resolve_name(*s);
		if (nr == __NR_SCMP_ERROR) {
			log_warnx("%s: unknown syscall %s in sandbox list",
				  cfg->name, *s);
			ret = -EINVAL;
			goto out;
		}
		if (!strcmp(*s, "tgkill")) {
			/* abort()/raise() signal this process only, never a
			 * sibling of the same uid (no fork after entry, so
			 * the tgid is fixed) */
			ret = allow_eq(ctx, nr, 0, (scmp_datum_t)getpid());
		} else if (!strcmp(*s, "prlimit64") ||
			   !strcmp(*s, "sched_setaffinity")) {
			/* getrlimit/setrlimit and CPU pinning of this
			 * process or thread only (pid 0), never another
			 * process's */
			ret = allow_eq(ctx, nr, 0, 0);
		} else {
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		}
		if (ret < 0 && ret != -EEXIST)
			goto out;
		ret = 0;
	}
	ret = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return ret;
}

int sandbox_enter(const struct sandbox_cfg *cfg)
{
	int ret;
	struct rlimit nocore = { 0, 0 };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -errno;
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		return -errno;
	if (cfg->landlock_fd != -1) {
		ret = landlock_apply(cfg);
		if (ret < 0) {
			log_warnx("%s: Landlock: %s", cfg->name, strerror(-ret));
			return ret;
		}
	}
	if (cfg->allow || cfg->allow_arg) {
		ret = seccomp_apply(cfg);
		if (ret < 0) {
			log_warnx("%s: seccomp: %s", cfg->name, strerror(-ret));
			return ret;
		}
	}
	log_debug("%s: sandbox entered", cfg->name);
	return 0;
}
