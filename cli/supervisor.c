/* SPDX-License-Identifier: MIT */
/*
 * The mount supervisor: docs/PROCESSES.md is the contract, docs/MOUNT.md
 * the user's view.
 *
 * Daemon mode: `cryptstack mount` forks at once; the child (the future
 * supervisor) does everything, the terminal prompt included, and reports
 * "ready" or an error message through a pipe; the parent prints it and
 * exits 0 or 1. So `mount` returns only when the file system answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "keyd_client.h"
#include "log.h"
#include "ring.h"
#include "scratch.h"
#include "supervise.h"
#include "supervisor.h"
#include "util.h"

#define SUP_READY_TIMEOUT_MS 120000 /* cryptod/frontend start-up */
#define SUP_SLOTS_DEFAULT 16u       /* per ring pair: 16 MiB of slab */
#define SUP_WORKERS_MAX 8u

/* Status report from the daemon child to the waiting `mount` parent. */
struct sup_status {
	int32_t status;
	char msg[508];
};

enum { CH_KEYD, CH_CRYPTOD, CH_FRONTEND, CH__N };
static const char *const ch_name[CH__N] = { "keyd", "cryptod", "frontend" };

struct sup {
	struct sup_opts *o;
	int status_fd;        /* pipe to the parent, -1 once reported */
	int quiet;            /* the parent prints start-up errors */
	pid_t pid[CH__N];     /* 0 once reaped */
	int ctl[CH__N];       /* our end of each child's ctl socket */
	char pidfile[PATH_MAX];
};

static void report(struct sup *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Tells the user (the waiting parent, or our stderr in the foreground)
 * how start-up went. Only the first report counts. */
static void report(struct sup *s, int status, const char *fmt, ...)
{
	struct sup_status st;
	va_list ap;

	memset(&st, 0, sizeof(st));
	st.status = status;
	va_start(ap, fmt);
	vsnprintf(st.msg, sizeof(st.msg), fmt, ap);
	va_end(ap);
	if (status < 0 && !(s->quiet && s->status_fd >= 0))
		log_warnx("%s", st.msg);
	else if (status >= 0 && st.msg[0])
		log_info("%s", st.msg);
	if (s->status_fd >= 0) {
		(void)write_full(s->status_fd, &st, sizeof(st));
		close(s->status_fd);
		s->status_fd = -1;
	}
}

static uint64_t fnv1a(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ull;
	}
	return h;
}

int sup_run_path(const char *mnt, const char *ext, int create, char *buf,
		 size_t len)
{
	char dir[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(dir, sizeof(dir), "/run/cryptstack");
	else if (xdg && *xdg == '/')
		n = snprintf(dir, sizeof(dir), "%s/cryptstack", xdg);
	else
		n = snprintf(dir, sizeof(dir), "/tmp/cryptstack-%u",
			     (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* The directory holds the pid file that umount signals and the
	 * log: in a shared /tmp it must be our own, not a planted one. */
	struct stat st;
	if (lstat(dir, &st) == 0 &&
	    (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	     (st.st_mode & 077))) {
		fprintf(stderr, "cryptstack: %s is not a private directory of "
			"this user (mode 0700, owner uid %u)\n", dir,
			(unsigned)geteuid());
		return -EPERM;
	}
	n = snprintf(buf, len, "%s/%016llx%s", dir,
		     (unsigned long long)fnv1a(mnt), ext);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int sup_canon(const char *path, char *out, size_t len)
{
	char tmp[PATH_MAX * 2];
	char *parts[PATH_MAX / 2];
	size_t np = 0, o = 0;

	if (!path || !*path)
		return -ENOENT;
	if (realpath(path, tmp)) {
		if (strlen(tmp) >= len)
			return -ENAMETOOLONG;
		strcpy(out, tmp);
		return 0;
	}
	if (path[0] == '/') {
		if (strlen(path) >= sizeof(tmp))
			return -ENAMETOOLONG;
		strcpy(tmp, path);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path) >=
		    sizeof(tmp))
			return -ENAMETOOLONG;
	}
	for (char *save = NULL, *t = strtok_r(tmp, "/", &save); t;
	     t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (np)
				np--;
			continue;
		}
		if (np == sizeof(parts) / sizeof(parts[0]))
			return -ENAMETOOLONG;
		parts[np++] = t;
	}
	if (np == 0) {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(out, "/");
		return 0;
	}
	for (size_t i = 0; i < np; i++) {
		size_t l = strlen(parts[i]);
		if (o + 1 + l + 1 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, parts[i], l);
		o += l;
	}
	out[o] = '\0';
	return 0;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

int sup_is_mountpoint(const char *path, char *fstype, size_t fslen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint opts... - type src */
		char *save = NULL, *mp = NULL, *t;
		int i = 0;
		for (t = strtok_r(line, " ", &save); t && i < 4;
		     t = strtok_r(NULL, " ", &save))
			i++;
		mp = t;
		if (!mp)
			continue;
		unescape(mp);
		if (strcmp(mp, path))
			continue;
		found = 1;
		if (fstype && fslen) {
			fstype[0] = '\0';
			while ((t = strtok_r(NULL, " ", &save)))
				if (!strcmp(t, "-"))
					break;
			t = strtok_r(NULL, " ", &save);
			if (t)
				snprintf(fstype, fslen, "%s", t);
		}
		/* keep going: the last (top) mount on path wins */
	}
	free(line);
	fclose(f);
	return found;
}

/* Moves fds[i] to fd number 3 + i in a child about to exec, clearing
 * close-on-exec, and closes every other fd above 2. */
static void child_fds(const int *fds, int n)
{
	int tmp[8];
	for (int i = 0; i < n; i++) {
		tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
		if (tmp[i] < 0)
			_exit(127);
	}
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			_exit(127);
	if (syscall(SYS_close_range, 3 + n, ~0u, 0) < 0)
		for (int fd = 3 + n; fd < 1024; fd++)
			close(fd);
}

/* Forks and execs helper prog with argv; fds[i] becomes fd 3 + i. */
static pid_t spawn(const char *prog, char *const argv[], const int *fds,
		   int n)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", cli_helper_dir(),
			     prog) >= sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, X_OK) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Own process group: a terminal's ^C reaches the supervisor
		 * only, which then shuts the mount down in order. */
		setpgid(0, 0);
		child_fds(fds, n);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

/* How a reaped child ended, for log lines. */
static void describe(int wstatus, char *buf, size_t len)
{
	if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d (%s)",
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else if (WIFEXITED(wstatus))
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(wstatus));
	else
		snprintf(buf, len, "ended (status 0x%x)", wstatus);
}

/* Waits for one cs_ready on ctl from child c. Returns 0, or -errno with
 * the child's message (or why it is missing) in msg. */
static int wait_ready(struct sup *s, int c, char *msg, size_t len)
{
	struct cs_ready r;
	struct pollfd p = { .fd = s->ctl[c], .events = POLLIN };
	int n;

	for (;;) {
		n = poll(&p, 1, SUP_READY_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n == 0) {
		snprintf(msg, len, "%s did not become ready in %d s",
			 ch_name[c], SUP_READY_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	ssize_t got;
	do {
		got = recv(s->ctl[c], &r, sizeof(r), 0);
	} while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof(r)) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		if (r.status >= 0)
			return 0;
		snprintf(msg, len, "%s: %s", ch_name[c],
			 r.msg[0] ? r.msg : strerror(-r.status));
		return r.status < 0 && r.status > -4096 ? r.status : -EIO;
	}
	/* Hung up without a message: it died. */
	int ws = 0;
	char how[96] = "ended";
	if (s->pid[c] > 0 && waitpid(s->pid[c], &ws, 0) == s->pid[c]) {
		s->pid[c] = 0;
		describe(ws, how, sizeof(how));
	}
	snprintf(msg, len, "%s %s during start-up", ch_name[c], how);
	return -EIO;
}

/* Unmounts mnt: umount2 as root, else fusermount3 -u. lazy: detach. */
static int do_unmount(const char *mnt, int lazy)
{
	if (geteuid() == 0) {
		if (umount2(mnt, lazy ? MNT_DETACH : 0) == 0)
			return 0;
		return -errno;
	}
	return sup_fusermount(mnt, lazy);
}

int sup_fusermount(const char *mnt, int lazy)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (lazy) {
			int nul = open("/dev/null", O_RDWR);
			if (nul >= 0)
				dup2(nul, 2);
			execlp("fusermount3", "fusermount3", "-u", "-z", "-q",
			       mnt, (char *)NULL);
		} else {
			execlp("fusermount3", "fusermount3", "-u", mnt,
			       (char *)NULL);
			fprintf(stderr, "cryptstack: fusermount3: %s\n",
				strerror(errno));
		}
		_exit(127);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) ? 0 : -EBUSY;
}

static void kill_children(struct sup *s, int sig)
{
	for (int c = 0; c < CH__N; c++)
		if (s->pid[c] > 0)
			kill(s->pid[c], sig);
}

static int children_left(const struct sup *s)
{
	int n = 0;
	for (int c = 0; c < CH__N; c++)
		n += s->pid[c] > 0;
	return n;
}

/* Reaps whatever ended; logs each. Returns the mask of children reaped. */
static unsigned reap(struct sup *s)
{
	unsigned mask = 0;
	for (;;) {
		int ws;
		pid_t pid = waitpid(-1, &ws, WNOHANG);
		if (pid <= 0)
			break;
		for (int c = 0; c < CH__N; c++) {
			if (s->pid[c] != pid)
				continue;
			char how[96];
			describe(ws, how, sizeof(how));
			s->pid[c] = 0;
			mask |= 1u << c;
			if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
				log_info("%s (pid %d) %s", ch_name[c], pid,
					 how);
			else
				log_warnx("%s (pid %d) %s%s", ch_name[c], pid,
					  how,
					  c == CH_CRYPTOD ?
					  "; the mount answers EIO until "
					  "`cryptstack umount`" :
					  c == CH_KEYD ?
					  "; opening files fails until "
					  "`cryptstack umount`" : "");
		}
	}
	return mask;
}

/* After start-up: watch the children until all are gone. SIGTERM/SIGINT/
 * SIGHUP ask the frontend to unmount; a frontend that dies while the
 * mount is still there gets the mount detached (else it would be a dead
 * ENOTCONN mount). */
static int supervise(struct sup *s, int sfd)
{
	time_t frontend_gone = 0;
	int stopping = 0;

	while (children_left(s)) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		int n = poll(&p, 1, 1000);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		if (n > 0 && (p.revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				/* reaped below */
			} else if (s->pid[CH_FRONTEND] > 0) {
				log_info("signal %u: unmounting %s",
					 si.ssi_signo, s->o->mnt);
				kill(s->pid[CH_FRONTEND], SIGTERM);
				stopping = 1;
			} else {
				kill_children(s, SIGTERM);
			}
		}
		unsigned gone = reap(s);
		if (gone & (1u << CH_FRONTEND)) {
			frontend_gone = time(NULL);
			char fstype[64];
			if (sup_is_mountpoint(s->o->mnt, fstype,
					      sizeof(fstype)) == 1 &&
			    !strcmp(fstype, "fuse.cryptstack")) {
				log_warnx("frontend gone with %s still "
					  "mounted: detaching it", s->o->mnt);
				(void)do_unmount(s->o->mnt, 1);
			}
		}
		/* cryptod and keyd end by themselves once the frontend is
		 * gone (peer hang-ups); give them a few seconds. */
		if (frontend_gone && children_left(s) &&
		    time(NULL) - frontend_gone > 5) {
			log_warnx("helpers still running 5 s after the "
				  "frontend ended: terminating them");
			kill_children(s, time(NULL) - frontend_gone > 8 ?
						 SIGKILL : SIGTERM);
		}
	}
	(void)stopping;
	return 0;
}

/* Redirects stdin to /dev/null and stdout/stderr to the log file (which
 * the helpers inherit). */
static void daemon_stdio(struct sup *s)
{
	char path[PATH_MAX];
	const char *log = s->o->logfile;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fd = -1;

	if (!log && sup_run_path(s->o->mnt, ".log", 1, path, sizeof(path)) == 0)
		log = path;
	if (log)
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = nul;
	if (nul >= 0)
		dup2(nul, 0);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (fd >= 0 && fd != nul)
		close(fd);
	if (nul >= 0)
		close(nul);
}

static int write_pidfile(struct sup *s)
{
	char tmp[PATH_MAX + 8], line[32];
	int r = sup_run_path(s->o->mnt, ".pid", 1, s->pidfile,
			     sizeof(s->pidfile));
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->pidfile);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	r = write_full(fd, line, (size_t)n);
	close(fd);
	if (r == 0 && rename(tmp, s->pidfile) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		s->pidfile[0] = '\0';
	}
	return r;
}

static unsigned auto_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > (long)SUP_WORKERS_MAX)
		n = SUP_WORKERS_MAX;
	return (unsigned)n;
}

static unsigned pow2_at_least(unsigned v)
{
	unsigned p = 2;
	while (p < v && p < 65536)
		p <<= 1;
	return p;
}

/* Escapes ',' and '\' for a libfuse -o value. */
static void opt_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in && o + 2 < len; in++) {
		if (*in == ',' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
}

/* The whole start-up, then supervision. Runs in the daemon child or in
 * the foreground process. Returns the exit status. */
static int sup_main(struct sup *s)
{
	struct sup_opts *o = s->o;
	struct ring_region *region = NULL;
	struct cli_unlock u;
	int lower_fd = -1, svc_fd = -1, L[2] = { -1, -1 }, sfd = -1;
	int cd_ctl[2] = { -1, -1 }, fe_ctl[2] = { -1, -1 };
	char err[512], fdbuf[6][16];
	int ret = 1, r, scratch_made = 0;

	memset(&u, 0, sizeof(u));
	for (int c = 0; c < CH__N; c++) {
		s->pid[c] = 0;
		s->ctl[c] = -1;
	}

	/* Step 1: the lower directory, opened before anything covers it
	 * (layover mounts). */
	lower_fd = open(o->lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lower_fd < 0) {
		report(s, -errno, "lower directory %s: %s", o->lower,
		       strerror(errno));
		goto out;
	}

	/* Step 2: keyd, unlocked. */
	struct cli_pass_src src = { .passfile = o->passfile,
				    .extpass = o->extpass };
	if (o->scratch) {
		/* Here, after the daemon fork: secmem pages are wiped in a
		 * forked child. */
		char *sp;
		size_t sl;
		if (scratch_create(o->lower, &sp, &sl) < 0) {
			report(s, -EINVAL, "no scratch volume in %s", o->lower);
			goto out;
		}
		scratch_made = 1;
		r = cli_unlock_add_secret(&u, sp, sl);
		scratch_forget(sp, sl);
	} else if (o->keyfile) {
		r = cli_unlock_add_privkey(&u, o->keyfile, &src);
	} else {
		r = cli_unlock_add_pass(&u, &src, "Passphrase: ");
	}
	for (unsigned i = 0; r >= 0 && i < o->nmore; i++) {
		struct cli_pass_src more = { .passfile = o->more_pass[i] };
		r = cli_unlock_add_pass(&u, &more, "Passphrase: ");
	}
	if (r < 0) {
		report(s, r, "no passphrase: %s", strerror(-r));
		goto out;
	}
	/* From here on the terminal is no longer needed: detach before any
	 * helper inherits our stdio (a caller capturing mount's output
	 * through a pipe must see EOF when mount returns). */
	if (!o->foreground) {
		setsid();
		daemon_stdio(s);
		s->quiet = 0; /* errors go to the log as well from now on */
	}
	err[0] = '\0';
	if (o->run_as)
		cli_keyd_set_user(o->run_uid, o->run_gid);
	r = cli_keyd_start(lower_fd, &u, &svc_fd, &s->pid[CH_KEYD], err,
			   sizeof(err));
	cli_unlock_clear(&u);
	if (r < 0) {
		report(s, r, "%s", err[0] ? err : strerror(-r));
		goto out;
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		report(s, -errno, "signalfd: %s", strerror(errno));
		goto out;
	}

	/* Step 3: the shared region and the liveness pair. */
	unsigned nr = o->workers ? o->workers : auto_workers();
	unsigned per = o->slots ? o->slots : SUP_SLOTS_DEFAULT;
	struct ring_params rp = {
		.nrings = nr,
		.entries = pow2_at_least(per * 4 < 64 ? 64 : per * 4),
		.nslots = nr * per,
		.slot_size = CS_SLOT_SIZE_DEFAULT,
	};
	r = ring_region_create(&region, &rp);
	if (r < 0) {
		report(s, r, "shared region (%u rings, %u slots): %s", nr,
		       rp.nslots, strerror(-r));
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, L) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cd_ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fe_ctl) < 0) {
		report(s, -errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	s->ctl[CH_CRYPTOD] = cd_ctl[0];
	s->ctl[CH_FRONTEND] = fe_ctl[0];

	/* Step 4: cryptod, fds 3.. in the order of its command line. */
	{
		int fds[5] = { lower_fd, ring_region_fd(region), svc_fd,
			       cd_ctl[1], L[0] };
		char wbuf[16], ubuf[32];
		for (int i = 0; i < 5; i++)
			snprintf(fdbuf[i], sizeof(fdbuf[i]), "%d", 3 + i);
		snprintf(wbuf, sizeof(wbuf), "%u", nr);
		char *argv[24];
		int a = 0;
		argv[a++] = "cryptstack-cryptod";
		argv[a++] = "--lower-fd";
		argv[a++] = fdbuf[0];
		argv[a++] = "--region-fd";
		argv[a++] = fdbuf[1];
		argv[a++] = "--keyd-fd";
		argv[a++] = fdbuf[2];
		argv[a++] = "--ctl-fd";
		argv[a++] = fdbuf[3];
		argv[a++] = "--peer-fd";
		argv[a++] = fdbuf[4];
		argv[a++] = "--workers";
		argv[a++] = wbuf;
		if (o->run_as) {
			snprintf(ubuf, sizeof(ubuf), "%u:%u", o->run_uid,
				 o->run_gid);
			argv[a++] = "--user";
			argv[a++] = ubuf;
		}
		if (o->sandbox_off)
			argv[a++] = "--sandbox=off";
		if (o->encrypted_view)
			argv[a++] = "--encrypted-view";
		if (o->backend) {
			argv[a++] = "--backend";
			argv[a++] = (char *)o->backend;
		}
		if (o->fekcache) {
			argv[a++] = "--fek-cache";
			argv[a++] = (char *)o->fekcache;
		}
		if (o->debug)
			argv[a++] = "-d";
		argv[a] = NULL;
		pid_t pid = spawn("cryptstack-cryptod", argv, fds, 5);
		if (pid < 0) {
			report(s, (int)pid, "cannot start %s/cryptstack-cryptod: %s",
			       cli_helper_dir(), strerror((int)-pid));
			goto out;
		}
		s->pid[CH_CRYPTOD] = pid;
	}
	/* Only cryptod talks to keyd, and only cryptod holds L[0]. */
	close(svc_fd);
	svc_fd = -1;
	close(L[0]);
	L[0] = -1;
	close(cd_ctl[1]);
	cd_ctl[1] = -1;
	r = wait_ready(s, CH_CRYPTOD, err, sizeof(err));
	if (r < 0) {
		report(s, r, "%s", err);
		goto out;
	}

	/* Step 5: the frontend. */
	{
		static char fsname[PATH_MAX * 2], opts[PATH_MAX * 2 + 4200];
		opt_escape(o->lower, fsname, sizeof(fsname));
		int n = snprintf(opts, sizeof(opts),
				 "fsname=cryptstack:%s%s%s%s%s", fsname,
				 o->shared_lower ? ",shared_lower" : "",
				 o->encrypted_view ? ",encrypted_view" : "",
				 o->fuse_opts[0] ? "," : "", o->fuse_opts);
		if (n < 0 || (size_t)n >= sizeof(opts)) {
			report(s, -E2BIG, "mount options too long");
			goto out;
		}
		int fds[3] = { ring_region_fd(region), fe_ctl[1], L[1] };
		char tbuf[16];
		snprintf(tbuf, sizeof(tbuf), "%u", nr);
		char *argv[16];
		int a = 0;
		argv[a++] = "cryptstack-frontend";
		argv[a++] = "--region-fd";
		argv[a++] = "3";
		argv[a++] = "--ctl-fd";
		argv[a++] = "4";
		argv[a++] = "--peer-fd";
		argv[a++] = "5";
		argv[a++] = "--mountpoint";
		argv[a++] = o->mnt;
		argv[a++] = "--threads";
		argv[a++] = tbuf;
		argv[a++] = "-o";
		argv[a++] = opts;
		if (o->sandbox_off)
			argv[a++] = "--sandbox=off";
		if (o->debug)
			argv[a++] = "-d";
		argv[a] = NULL;
		pid_t pid = spawn("cryptstack-frontend", argv, fds, 3);
		if (pid < 0) {
			report(s, (int)pid,
			       "cannot start %s/cryptstack-frontend: %s",
			       cli_helper_dir(), strerror((int)-pid));
			goto out;
		}
		s->pid[CH_FRONTEND] = pid;
	}
	close(L[1]);
	L[1] = -1;
	close(fe_ctl[1]);
	fe_ctl[1] = -1;
	close(lower_fd);
	lower_fd = -1;
	ring_region_destroy(region);
	region = NULL;
	r = wait_ready(s, CH_FRONTEND, err, sizeof(err));
	if (r < 0) {
		report(s, r, "%s", err);
		goto out;
	}

	/* Step 6: ready. */
	if (write_pidfile(s) < 0)
		log_warnx("cannot write the pid file: `cryptstack umount` "
			  "will not wait for this mount's processes");
	report(s, 0, "%s mounted on %s", o->lower, o->mnt);
	if (!o->foreground && chdir("/") < 0)
		log_warn("chdir /");
	supervise(s, sfd);
	ret = 0;
out:
	if (ret != 0 && children_left(s)) {
		/* Start-up failed: stop whatever runs, keyd and cryptod end
		 * when their peers close. */
		if (s->pid[CH_FRONTEND] > 0)
			kill(s->pid[CH_FRONTEND], SIGTERM);
		if (lower_fd >= 0)
			close(lower_fd);
		lower_fd = -1;
		if (svc_fd >= 0)
			close(svc_fd);
		svc_fd = -1;
		for (int i = 0; i < 2; i++) {
			if (L[i] >= 0)
				close(L[i]);
			L[i] = -1;
		}
		if (s->pid[CH_CRYPTOD] > 0)
			kill(s->pid[CH_CRYPTOD], SIGTERM);
		for (int i = 0; i < 50 && children_left(s); i++) {
			reap(s);
			usleep(100000);
		}
		kill_children(s, SIGKILL);
		while (children_left(s) && waitpid(-1, NULL, 0) > 0)
			reap(s);
	}
	cli_unlock_clear(&u);
	if (s->pidfile[0])
		unlink(s->pidfile);
	for (int c = 0; c < CH__N; c++)
		if (s->ctl[c] >= 0)
			close(s->ctl[c]);
	if (region)
		ring_region_destroy(region);
	if (lower_fd >= 0)
		close(lower_fd);
	if (svc_fd >= 0)
		close(svc_fd);
	for (int i = 0; i < 2; i++) {
		if (L[i] >= 0)
			close(L[i]);
		if (cd_ctl[i] >= 0 && i == 1)
			close(cd_ctl[i]);
		if (fe_ctl[i] >= 0 && i == 1)
			close(fe_ctl[i]);
	}
	if (sfd >= 0)
		close(sfd);
	if (scratch_made) {
		/* The key died with keyd: reclaim the space. */
		r = scratch_wipe(o->lower);
		if (r < 0)
			log_warnx("scratch volume %s: not all removed (%s)",
				  o->lower, strerror(-r));
	}
	if (s->status_fd >= 0)
		report(s, -EIO, "mount failed");
	return ret;
}

int sup_run(struct sup_opts *o)
{
	struct sup s;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.status_fd = -1;

	/* The run directory (pid file, log) must be ours before anything
	 * starts: a planted one is refused with its reason. */
	char probe[PATH_MAX];
	if (sup_run_path(o->mnt, ".pid", 1, probe, sizeof(probe)) < 0) {
		fprintf(stderr, "cryptstack: no private run directory for the "
				"pid file; not mounting\n");
		return 1;
	}
	if (o->foreground)
		return sup_main(&s);

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "cryptstack: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cryptstack: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(p[0]);
		s.status_fd = p[1];
		s.quiet = 1;
		log_init("cryptstack", o->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		_exit(sup_main(&s));
	}
	close(p[1]);
	struct sup_status st;
	ssize_t n = read_full(p[0], &st, sizeof(st));
	close(p[0]);
	if (n != (ssize_t)sizeof(st)) {
		int ws;
		waitpid(pid, &ws, 0);
		fprintf(stderr, "cryptstack: mount failed (the supervisor "
				"ended without a word)\n");
		return 1;
	}
	st.msg[sizeof(st.msg) - 1] = '\0';
	if (st.status < 0) {
		/* The child has cleaned up and exits: reap it. */
		waitpid(pid, NULL, 0);
		fprintf(stderr, "cryptstack: %s\n", st.msg);
		return 1;
	}
	return 0;
}
