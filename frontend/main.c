/* SPDX-License-Identifier: MIT */
/*
 * cryptstack-frontend --region-fd N --ctl-fd N --peer-fd N
 *                     --mountpoint PATH [-o fuse_opts] [--threads N] [-d]
 *
 * Started by the supervisor (docs/PROCESSES.md). Attaches the shared
 * region, mounts, starts one receive thread and one completion thread per
 * ring pair, reports cs_ready on --ctl-fd, then serves until the file
 * system is unmounted or SIGTERM/SIGINT/SIGHUP arrives (then it unmounts).
 * CS_FRONTEND_SPIN_US in the environment sets the receive threads' poll
 * window (microseconds, 0: off; frontend.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fe_sandbox.h"
#include "frontend.h"
#include "log.h"
#include "sandbox.h"
#include "supervise.h"
#include "util.h"

struct fe_ctx fe = { .peer_fd = -1, .stop_fd = -1 };

#define FE_TIMEOUT_OWNED 3600.0
#define FE_TIMEOUT_SHARED 1.0
/* Receive-thread poll windows (docs/PERFORMANCE.md, "Wake-ups on this
 * machine"): for the completion of a request it just handed to cryptod,
 * and for the next request on /dev/fuse after it answered one itself. */
#define FE_SPIN_US_DEFAULT 150u
#define FE_LISTEN_US_DEFAULT 100u

/* The listening role: one receive thread at a time reads (or polls)
 * /dev/fuse; the others wait on role_cv. The kernel wakes a thread
 * sleeping in read(2) for every new request, so a second reader would be
 * woken (and, with sched_yield(), run) for the requests of an application
 * the listening thread serves alone without any wake-up. The holder keeps
 * the role while it waits for its own request's completion and hands it
 * on (fe_role_check) only when another request is pending meanwhile; it
 * gives it up before it sleeps for a free slot (slot_get): only threads
 * that hold a slot wait in role_take(). */
static pthread_mutex_t role_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t role_cv = PTHREAD_COND_INITIALIZER;
static int role_taken;		   /* role_mu */
static int role_waiters;	   /* role_mu: threads in role_take() */
/* role_mu: the holder passed the role to a waiting thread (role_taken
 * stays set); handoff_from: the passer, which may not take it back. */
static int role_handoff;
static const int *handoff_from;
static __thread int role_mine;	   /* this thread holds the role */
static __thread int role_pass;	   /* hand the role on (fe_role_pass) */
static int fuse_fd = -1;
static uint32_t fe_listen_ns;	   /* /dev/fuse poll window, 0: never */

static void ready(int ctl_fd, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sends the one cs_ready message (no-op when ctl_fd < 0). */
static void ready(int ctl_fd, int status, const char *fmt, ...)
{
	struct cs_ready r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.pid = (uint32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	if (status < 0)
		log_warnx("%s", r.msg);
	if (ctl_fd >= 0 && write_full(ctl_fd, &r, sizeof(r)) < 0)
		log_warn("ready message");
}

static int parse_fd(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > INT_MAX)
		fatalx("bad fd number '%s'", s);
	return (int)v;
}

/* Splits -o options at unescaped commas; takes ours (shared_lower,
 * encrypted_view) and appends the rest to *fuse (libfuse checks them). */
static int take_options(const char *opts, char **fuse)
{
	size_t len = strlen(opts);
	char *cur = malloc(len + 1);
	size_t n = 0;
	int ret = 0;

	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && opts[i] == '\\' && i + 1 < len) {
			cur[n++] = opts[i++];
			cur[n++] = opts[i];
			continue;
		}
		if (i < len && opts[i] != ',') {
			cur[n++] = opts[i];
			continue;
		}
		cur[n] = '\0';
		if (n == 0) {
			/* empty item */
		} else if (!strcmp(cur, "shared_lower")) {
			fe.shared_lower = 1;
		} else if (!strcmp(cur, "encrypted_view") || !strcmp(cur, "ro")) {
			fe.read_only = 1;
		} else if (!strcmp(cur, "kernel_dirty_limits")) {
			fe.kernel_dirty = 1;
		} else {
			if (!strcmp(cur, "noatime"))
				fe.noatime = 1; /* the kernel mount keeps it too */
			if (fuse_opt_add_opt(fuse, cur) < 0) {
				ret = -ENOMEM;
				break;
			}
		}
		n = 0;
	}
	free(cur);
	return ret;
}

/* After answering a request itself, a receive thread looks for the next
 * one for up to fe_listen_ns (poll with a zero timeout, sched_yield()
 * between looks) before it sleeps in read(2): an application that waits
 * for each answer sends its next request a few microseconds later, and a
 * thread that is still running takes it without a wake-up (which costs
 * ~37 us when its vCPU has halted). A lost race only means the read
 * sleeps, as it would have anyway. */
static int listen_poll(void)
{
	struct pollfd p = { .fd = fuse_fd, .events = POLLIN };
	int r;

	if (!fe_listen_ns || !ring_poll_allowed())
		return 0;
	uint64_t end = now_ns() + fe_listen_ns;
	while ((r = poll(&p, 1, 0)) == 0 && now_ns() < end && !ring_yield())
		;
	return r > 0;
}

/* Takes the listening role, waiting while another thread holds it (or
 * while a role this thread passed on waits for its taker). */
static void role_take(void)
{
	if (role_mine)
		return;
	pthread_mutex_lock(&role_mu);
	role_waiters++;
	while (role_taken && !fuse_session_exited(fe.se) &&
	       !(role_handoff && handoff_from != &role_mine))
		pthread_cond_wait(&role_cv, &role_mu);
	if (role_taken && role_handoff)
		role_handoff = 0;
	role_taken = 1;
	role_waiters--;
	pthread_mutex_unlock(&role_mu);
	role_mine = 1;
}

/* Passes the role to a waiting thread; returns 0 (keeping it) when no
 * thread waits. */
static int role_handoff_waiter(void)
{
	int passed = 0;
	pthread_mutex_lock(&role_mu);
	if (role_waiters) {
		role_handoff = 1;
		handoff_from = &role_mine;
		pthread_cond_broadcast(&role_cv);
		passed = 1;
	}
	pthread_mutex_unlock(&role_mu);
	if (passed)
		role_mine = 0;
	return passed;
}

static void role_release(int all)
{
	role_mine = 0;
	pthread_mutex_lock(&role_mu);
	role_taken = 0;
	role_handoff = 0;
	if (all)
		pthread_cond_broadcast(&role_cv);
	else
		pthread_cond_signal(&role_cv);
	pthread_mutex_unlock(&role_mu);
}

/* Gets a free slot, waiting for one; returns CS_NO_SLOT if the session
 * ended meanwhile. A thread that must wait gives up the listening role
 * first: the other receive threads then hold slots and wait only for the
 * role, and fe_slot_put() wakes just one slot waiter, not necessarily this
 * one, so with the role kept nobody would read /dev/fuse until some other
 * request completed (never, while that one waits for keyd). With a free
 * slot nothing more is done. */
static uint32_t slot_get(void)
{
	uint32_t s = CS_NO_SLOT;
	pthread_mutex_lock(&fe.mu);
	if (fe.nfree == 0)
		fe_kick_deferred_locked(); /* it may hold the slot we need */
	if (fe.nfree == 0 && role_mine) {
		/* role_mu is never taken under fe.mu */
		pthread_mutex_unlock(&fe.mu);
		role_release(0);
		pthread_mutex_lock(&fe.mu);
	}
	while (fe.nfree == 0 && !fuse_session_exited(fe.se))
		pthread_cond_wait(&fe.slot_cv, &fe.mu);
	if (fe.nfree)
		s = fe.freelist[--fe.nfree];
	pthread_mutex_unlock(&fe.mu);
	return s;
}

void fe_role_pass(void)
{
	role_pass = role_mine;
}

void fe_role_check(void)
{
	struct pollfd p = { .fd = fuse_fd, .events = POLLIN };

	if (role_mine && poll(&p, 1, 0) != 0)
		role_release(0);
}

/* Receive loop: the kernel writes each request (a WRITE's payload
 * included) straight into a free slot; the handler either hands the slot
 * to cryptod (fe_cur.used) or leaves it for the next request. A handed
 * request the handler asked to poll for is then waited for here. */
static void *receiver(void *arg)
{
	uint32_t slot = CS_NO_SLOT;
	int answered = 0, bulk = 0;

	(void)arg;
	while (!fuse_session_exited(fe.se)) {
		if (slot == CS_NO_SLOT) {
			slot = slot_get();
			if (slot == CS_NO_SLOT)
				break;
		}
		if (!role_mine) {
			if (fe_cur.deferred)
				fe_kick_deferred();
			role_take();
			continue; /* the session may have ended meanwhile */
		}
		/* On the home CPU while it serves synchronous requests,
		 * anywhere after a large one (bulk I/O wants both CPUs). */
		(void)ring_home_update(fe.region, answered ? 1 : bulk ? 0 : -1);
		bulk = 0;
		int next = answered && listen_poll();
		answered = 0;
		/* A deferred answer is drained by the next poll of a request
		 * on the same ring; about to sleep instead, or one request
		 * later, the completion thread takes it. */
		if (fe_cur.deferred && (!next || fe_cur.deferred_age++ > 0))
			fe_kick_deferred();
		struct fuse_buf buf;
		memset(&buf, 0, sizeof(buf));
		buf.mem = ring_slot(fe.region, slot);
		buf.size = fe.slot_size;
		int res = fuse_session_receive_buf(fe.se, &buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			if (res < 0)
				log_warnx("reading /dev/fuse: %s",
					  strerror(-res));
			break;
		}
		if (buf.mem != ring_slot(fe.region, slot) ||
		    (buf.flags & FUSE_BUF_IS_FD))
			fatalx("libfuse did not receive into our slot");
		fe_cur.slot = slot;
		fe_cur.mem = buf.mem;
		fe_cur.rcvd = (size_t)res;
		fe_cur.used = 0;
		fe_cur.async = 0;
		fe_cur.poll_ring = NULL;
		fuse_session_process_buf(fe.se, &buf);
		if (fe_cur.used) {
			slot = CS_NO_SLOT;
			if (fe_cur.poll_ring)
				answered = fe_spin_wait();
			else if (fe_cur.async)
				answered = 1; /* poll for the next request */
		} else {
			/* Answered here (attribute cache, EOPNOTSUPP, a
			 * FORGET): the application's next request follows
			 * as closely as after a cryptod answer. */
			answered = 1;
		}
		if (role_pass) {
			role_pass = 0;
			bulk = 1;
			(void)role_handoff_waiter();
		}
	}
	fuse_session_exit(fe.se);
	role_release(1);
	uint64_t one = 1;
	if (write(fe.stop_fd, &one, sizeof(one)) < 0)
		log_warn("stop notification");
	return NULL;
}

static int rings_init(unsigned nrings, uint32_t nslots)
{
	if (nslots / nrings == 0)
		return -EINVAL;
	fe.rings = calloc(nrings, sizeof(*fe.rings));
	fe.receivers = calloc(nrings, sizeof(*fe.receivers));
	fe.freelist = calloc(nslots, sizeof(uint32_t));
	fe.pend = calloc(nslots, sizeof(struct fe_pending));
	if (!fe.rings || !fe.receivers || !fe.freelist || !fe.pend)
		return -ENOMEM;
	fe.nrings = nrings;
	fe.nslots = nslots;
	pthread_mutex_init(&fe.mu, NULL);
	pthread_cond_init(&fe.slot_cv, NULL);
	for (unsigned i = 0; i < nrings; i++) {
		struct fe_ring *rg = &fe.rings[i];
		rg->idx = i;
		pthread_mutex_init(&rg->cq_mu, NULL);
		pthread_cond_init(&rg->idle_cv, NULL);
	}
	for (uint32_t s = 0; s < nslots; s++)
		fe.freelist[s] = nslots - 1 - s;
	fe.nfree = nslots;
	return 0;
}

/* The receive threads' poll windows: CS_FRONTEND_SPIN_US (completions)
 * and CS_FRONTEND_LISTEN_US (/dev/fuse) from the environment (0 turns
 * that poll off; for measurements), else the defaults. Returns the first;
 * sets fe_listen_ns. */
static uint32_t spin_window(void)
{
	fe_listen_ns = env_knob("CS_FRONTEND_LISTEN_US", 10000,
				FE_LISTEN_US_DEFAULT) * 1000u;
	return env_knob("CS_FRONTEND_SPIN_US", 10000, FE_SPIN_US_DEFAULT) *
	       1000u;
}

/* The receive threads' home CPU: off unless CS_HOME_CPU=1 (measured
 * slower: pinned threads cannot follow the application to its vCPU;
 * docs/PERFORMANCE.md, "Wake-ups on this machine"). */
static void home_cpu(void)
{
	int cpu = ring_home_set(fe.region, (int)env_knob("CS_HOME_CPU", 1, 0));
	if (cpu >= 0)
		log_debug("receive threads prefer CPU %d", cpu);
}

/* Raises the mount's readahead window (bdi) to 1 MiB when we may.
 * Returns 0, or -errno when the mount does not answer a stat. */
static int raise_readahead(const char *mnt)
{
	int rc = fe_bdi_write(mnt, "read_ahead_kb", "1024");
	return rc < 0 ? rc : 0;
}

/* After set-up the frontend only moves bytes between /dev/fuse, the
 * shared region and its own memory: no open, no exec, no socket, no new
 * thread or process; every other syscall kills it (seccomp, SIGSYS). As
 * root it may still unmount itself (umount2 and the lstat libfuse does
 * first); non-root unmounting needs fusermount3 (exec), so a sandboxed
 * non-root frontend leaves that to the supervisor. Sanitizer builds skip
 * the sandbox (their runtimes need more). Returns 1 if entered. */
static int enter_sandbox(int enable)
{
#if defined(__SANITIZE_ADDRESS__)
	enable = 0;
#endif
	if (!enable) {
		log_debug("sandbox disabled");
		return 0;
	}
	int r = fe_sandbox_enter(); /* frontend/sandbox.c */
	if (r < 0)
		fatalx("cannot enter the sandbox: %s", strerror(-r));
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cryptstack-frontend --region-fd N --ctl-fd N "
		"--peer-fd N --mountpoint PATH [-o opts] [--threads N] "
		"[--sandbox=on|off] [-d]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "region-fd", required_argument, NULL, 'R' },
		{ "ctl-fd", required_argument, NULL, 'C' },
		{ "peer-fd", required_argument, NULL, 'P' },
		{ "mountpoint", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "sandbox", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int region_fd = -1, ctl_fd = -1, debug = 0, c, sfd = -1;
	int sandbox = 1, sandboxed = 0;
	unsigned threads = 0;
	const char *mnt = NULL;
	char *fopts = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	sigset_t sigs;
	int ret;

	log_init("frontend", LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (fuse_opt_add_opt(&fopts, "default_permissions,subtype=cryptstack") <
	    0)
		fatalx("out of memory");
	while ((c = getopt_long(argc, argv, "o:d", lopts, NULL)) != -1) {
		switch (c) {
		case 'R': region_fd = parse_fd(optarg); break;
		case 'C': ctl_fd = parse_fd(optarg); break;
		case 'P': fe.peer_fd = parse_fd(optarg); break;
		case 'm': mnt = optarg; break;
		case 't': threads = (unsigned)parse_fd(optarg); break;
		case 'd': debug = 1; break;
		case 'S':
			if (!strcmp(optarg, "off"))
				sandbox = 0;
			else if (!strcmp(optarg, "on"))
				sandbox = 1;
			else
				usage();
			break;
		case 'o':
			if (take_options(optarg, &fopts) < 0)
				fatalx("out of memory");
			break;
		default: usage();
		}
	}
	if (optind != argc || region_fd < 0 || fe.peer_fd < 0 || !mnt)
		usage();
	if (debug)
		log_setlevel(LOG_LVL_DEBUG);
	if (fe.read_only && fuse_opt_add_opt(&fopts, "ro") < 0)
		fatalx("out of memory");
	fe.entry_timeout = fe.attr_timeout =
		fe.shared_lower ? FE_TIMEOUT_SHARED : FE_TIMEOUT_OWNED;
	fe.spin_ns = spin_window();

	ret = ring_region_attach(&fe.region, region_fd);
	if (ret < 0) {
		ready(ctl_fd, ret, "cannot attach the shared region: %s",
		      strerror(-ret));
		return 1;
	}
	close(region_fd);
	home_cpu();
	const struct ring_params *rp = ring_region_params(fe.region);
	fe.slot_size = rp->slot_size;
	/* libfuse reads up to FUSE_MAX_MAX_PAGES pages + one header page
	 * into the buffer, whatever buf.size says. */
	if (rp->slot_size < CS_SLOT_SIZE_DEFAULT) {
		ready(ctl_fd, -EINVAL, "slot size %u below %u",
		      rp->slot_size, CS_SLOT_SIZE_DEFAULT);
		return 1;
	}
	if (threads && threads != rp->nrings)
		log_info("--threads %u: using one thread per ring pair (%u)",
			 threads, rp->nrings);
	ret = rings_init(rp->nrings, rp->nslots);
	if (ret < 0) {
		ready(ctl_fd, ret, "bad ring geometry (%u rings, %u slots)",
		      rp->nrings, rp->nslots);
		return 1;
	}
	fe.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fe.stop_fd < 0)
		fatal("eventfd");

	struct stat st;
	if (stat(mnt, &st) < 0) {
		ready(ctl_fd, -errno, "mountpoint %s: %s", mnt,
		      strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		ready(ctl_fd, -ENOTDIR, "mountpoint %s: not a directory", mnt);
		return 1;
	}
	if (access("/dev/fuse", F_OK) < 0) {
		ready(ctl_fd, -ENODEV,
		      "/dev/fuse is missing (modprobe fuse, or give the "
		      "container the device)");
		return 1;
	}

	if (fuse_opt_add_arg(&args, "cryptstack-frontend") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, fopts) < 0 ||
	    (debug && fuse_opt_add_arg(&args, "-d") < 0))
		fatalx("out of memory");
	fe.se = fuse_session_new(&args, &fe_ops, sizeof(fe_ops), NULL);
	if (!fe.se) {
		ready(ctl_fd, -EINVAL, "bad mount options: %s", fopts);
		return 1;
	}
	/* Block the stop signals in every thread; main reads them below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");

	if (fuse_session_mount(fe.se, mnt) != 0) {
		ready(ctl_fd, -EPERM,
		      "cannot mount on %s (see the messages above: FUSE "
		      "permissions, /dev/fuse access, or a busy mountpoint)",
		      mnt);
		return 1;
	}
	ret = fe_kernel_io(fe.se); /* kernel.c: before INIT is read */
	if (ret < 0) {
		ready(ctl_fd, ret, "custom /dev/fuse io: %s", strerror(-ret));
		fuse_session_unmount(fe.se);
		return 1;
	}
	fuse_fd = fuse_session_fd(fe.se);
	for (unsigned i = 0; i < fe.nrings; i++) {
		struct fe_ring *rg = &fe.rings[i];
		if (pthread_create(&rg->completer, NULL, fe_completer, rg) ||
		    pthread_create(&fe.receivers[i], NULL, receiver, NULL)) {
			ready(ctl_fd, -EAGAIN, "cannot start threads");
			fuse_session_unmount(fe.se);
			return 1;
		}
	}
	/* The first stat waits for INIT and a GETATTR of the root through
	 * cryptod: when it returns, the mount really serves. */
	ret = raise_readahead(mnt);
	if (ret == 0)
		ret = fe_bdi_tune(mnt);
	if (ret < 0) {
		ready(ctl_fd, ret, "the new mount on %s does not answer: %s",
		      mnt, strerror(-ret));
		fuse_session_unmount(fe.se);
		_exit(1);
	}
	ready(ctl_fd, 0, "%s", "");
	if (ctl_fd >= 0)
		close(ctl_fd);
	sandboxed = enter_sandbox(sandbox);
	log_debug("serving %s with %u ring pairs", mnt, fe.nrings);

	struct pollfd pfd[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = fe.stop_fd, .events = POLLIN },
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: unmounting %s",
					 si.ssi_signo, mnt);
			fuse_session_exit(fe.se);
			if (sandboxed && geteuid() != 0)
				log_info("leaving the unmount to the "
					 "supervisor");
			else
				fuse_session_unmount(fe.se);
			break;
		}
		if (pfd[1].revents & POLLIN)
			break; /* unmounted from outside */
	}
	/* Workers may still sit in read(2) on /dev/fuse, completion threads
	 * in their waits: the process exit ends them with the connection. */
	log_debug("session ended");
	_exit(0);
}
