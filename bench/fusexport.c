/* SPDX-License-Identifier: MIT */
/*
 * fusexport: the FUSE transport alone, classic /dev/fuse against FUSE over
 * io_uring (kernel 6.14+), before anyone builds the latter into frontend/.
 *
 *   fusexport [--quick] [--n=N] [--rounds=R] [--threads=T] [--depth=D]
 *             [--transport=classic,uring] [--client=any,cpu0,cpu1]
 *             [--hop] [--defer] [--reader-cpu=C] [--poll-us=U]
 *
 * A raw FUSE server (no libfuse) mounts an empty root directory on a
 * temporary directory and answers INIT, GETATTR, LOOKUP (ENOENT), GETXATTR
 * (ENODATA), STATFS, OPENDIR/READDIR/RELEASEDIR, DESTROY; ENOSYS to the
 * rest. Transports, one mount each:
 *   classic  T threads (default 2, unpinned, as frontend's receive threads)
 *            blocking in read(2) on /dev/fuse, reply with writev(2);
 *   uring    after INIT (FUSE_OVER_IO_URING accepted), one io_uring per
 *            possible CPU (IORING_SETUP_SQE128), served by a thread pinned
 *            to that CPU: D entries per queue (default 2), each REGISTERed
 *            with a header and a payload buffer, then COMMIT_AND_FETCH per
 *            reply. The kernel queues a request on the queue of the CPU the
 *            application issued it on. One more thread reads /dev/fuse for
 *            what never goes through the ring (FORGET, INTERRUPT).
 * --hop adds variants where answering GETXATTR includes one futex round
 * trip to a helper process (frontend -> cryptod): classic threads talk to
 * unpinned helper threads (as cryptod's workers run today), uring queue
 * threads to a helper thread pinned to the queue's CPU (a per-CPU worker).
 * --defer creates the rings with IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN;
 * --reader-cpu=C pins the classic readers to CPU C (a fixed cross-CPU or
 * same-CPU hand-over instead of wherever the scheduler puts them);
 * --poll-us=U models today's frontend and cryptod polls: a classic reader
 * polls /dev/fuse for U after each reply (use --threads=1: a second
 * reader asleep in read(2) would be woken too), and in both transports
 * both ends of the hop poll (yielding) for U before they sleep.
 *
 * The client is a forked child (a separate process, as an application is):
 * N getxattr(mnt, "user.x") round trips (no kernel cache answers them)
 * pinned to no CPU, to CPU 0, to CPU 1. One machine-readable line each:
 *   fusexport transport=uring hop=none readers=any poll_us=0 client=cpu0
 *     n=.. mean=.. p10=.. p50=.. p90=.. p99=.. max=.. same_cpu=..
 *     via_ring=.. cpu_us=.. vcsw=..
 * (microseconds; same_cpu: share of round trips answered by a server thread
 * on the client's CPU, hop_same_cpu the same for the helper; via_ring:
 * share served through io_uring; cpu_us: CPU time of client, server and
 * helper per round trip; vcsw: voluntary context switches of client and
 * server per round trip). Rounds alternate the transport order; a
 * Markdown table of medians over rounds closes the run. Wall-clock times:
 * the machine's load is part of them.
 *
 * Root only. Exits 77 (with the reason) when it cannot run: not root, no
 * /dev/fuse, mount refused, or io_uring refused (enable_uring cannot be
 * set, the kernel does not offer FUSE_OVER_IO_URING, ring set-up or
 * REGISTER fails); transports that can run still print their lines first.
 * enable_uring is set to Y only from the uring mount until the INIT reply
 * (the connection keeps io_uring once negotiated) and restored at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/futex.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "benchutil.h"
#include "util.h"

/*
 * FUSE over io_uring, from include/uapi/linux/fuse.h of Linux 6.14
 * (protocol 7.42; unchanged through 6.18). Debian 12's <linux/fuse.h> is
 * 7.38 and lacks them; our own names so a newer header cannot clash.
 */
#define FX_OVER_IO_URING (1ULL << 41) /* INIT flag, in flags2 */
#define FX_URING_HDR_SZ	 128	      /* in_out: in/out header */
#define FX_URING_OP_SZ	 128	      /* op_in: per-opcode header */
#define FX_CMD_REGISTER	 1	      /* FUSE_IO_URING_CMD_REGISTER */
#define FX_CMD_COMMIT	 2	      /* ..._CMD_COMMIT_AND_FETCH */

struct fx_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;  /* the request's unique, echoed on commit */
	uint32_t payload_sz; /* valid payload bytes, either direction */
	uint32_t padding;
	uint64_t reserved;
};

struct fx_uring_req_header {
	char in_out[FX_URING_HDR_SZ]; /* fuse_in_header / fuse_out_header */
	char op_in[FX_URING_OP_SZ];   /* first in-argument of the request */
	struct fx_uring_ent_in_out ring_ent_in_out;
};

/* In the 80-byte command area of an SQE128. */
struct fx_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct fx_uring_ent_in_out) == 32, "uapi size");
_Static_assert(sizeof(struct fx_uring_req_header) == 288, "uapi size");
_Static_assert(sizeof(struct fx_uring_cmd_req) == 24, "uapi size");
_Static_assert(offsetof(struct io_uring_sqe, cmd) == 48, "SQE cmd area");
_Static_assert(sizeof(struct fuse_in_header) <= FX_URING_HDR_SZ, "hdr");

#define FX_MINOR     42 /* protocol minor we speak (7.42) */
#define FX_MAX_WRITE (128u << 10)
/* Classic read buffer: the kernel wants max_write + headers at least. */
#define FX_BUFSZ     (FX_MAX_WRITE + 4096u)
#define FX_MAXCPU    64
#define FX_MAXTHR    16
#define FX_NOREPLY   1 /* fx_handle(): the opcode takes no reply */
#define FX_EXIT_SKIP 77

enum fx_transport { T_CLASSIC, T_URING };
static const char *const transport_name[] = {"classic", "uring"};
enum fx_place { P_ANY, P_CPU0, P_CPU1 };
static const char *const place_name[] = {"any", "cpu0", "cpu1"};

static struct {
	long n, warm;
	int rounds, threads, depth, hop, defer;
	int reader_cpu; /* classic readers pinned here; -1: unpinned */
	int poll_us;	/* listen poll (classic) and hop polls, 0: none */
	int transports[2], ntransports;
	int places[3], nplaces;
} opt = {
    .n = 20000,
    .warm = 500,
    .rounds = 3,
    .threads = 2,
    .depth = 2,
    .reader_cpu = -1,
    .transports = {T_CLASSIC, T_URING},
    .ntransports = 2,
    .places = {P_ANY, P_CPU0, P_CPU1},
    .nplaces = 3,
};

/* --- enable_uring ---------------------------------------------------- */

#define URING_PARAM "/sys/module/fuse/parameters/enable_uring"
static char uring_saved; /* 'Y' or 'N' once read; 0: never touched */

/* Writes 'Y' or 'N' to the module parameter; 0 or -errno. Async-signal
 * safe (used by the signal handler). */
static int uring_param_write(char v)
{
	int fd = open(URING_PARAM, O_WRONLY | O_CLOEXEC), ret = 0;
	char b[2] = {v, '\n'};

	if (fd < 0)
		return -errno;
	if (write(fd, b, 2) != 2)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Sets enable_uring to Y, remembering the old value the first time;
 * 0 or -errno (no such parameter: kernel without CONFIG_FUSE_IO_URING). */
static int uring_param_on(void)
{
	if (!uring_saved) {
		char b[4] = {0};
		int fd = open(URING_PARAM, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ssize_t r = read(fd, b, sizeof(b) - 1);
		close(fd);
		if (r < 1 || (b[0] != 'Y' && b[0] != 'N'))
			return -EIO;
		uring_saved = b[0];
	}
	return uring_param_write('Y');
}

/* Puts enable_uring back as it was; async-signal safe. */
static void uring_param_restore(void)
{
	if (uring_saved)
		uring_param_write(uring_saved);
}

/* --- what the client and the server share ---------------------------- */

/* MAP_SHARED between the server threads (parent), the client child and
 * the helper process. */
struct fx_shared {
	_Atomic int32_t srv_cpu; /* CPU that answered the last GETXATTR */
	_Atomic int32_t hop_cpu; /* CPU of the helper thread in that hop */
	uint32_t same;		 /* client: round trips with srv_cpu == own */
	uint32_t hop_same;	 /* client: same with hop_cpu */
	int32_t err;		 /* client: errno of a failed call, or 0 */
	uint64_t total_ns;	 /* client: whole measured loop */
	uint32_t lat[];		 /* client: ns per round trip */
};

static struct fx_shared *shm;

/* --- futex hop to a helper process (--hop) --------------------------- */

static long futex(_Atomic uint32_t *a, int op, uint32_t v)
{
	return syscall(SYS_futex, (uint32_t *)a, op, v, NULL, NULL, 0);
}

/* One channel per server thread; req and resp on their own cache lines,
 * each with a "sleeping" word so a writer wakes only a sleeper. Without
 * --poll-us both sides sleep at once: each hop is two wake-ups. */
struct fx_chan {
	_Alignas(64) _Atomic uint32_t req;
	_Atomic uint32_t req_sleep;
	_Alignas(64) _Atomic uint32_t resp;
	_Atomic uint32_t resp_sleep;
};

/* Channels 0..FX_MAXCPU-1: uring queue q (helper pinned to CPU q);
 * FX_MAXCPU + i: classic thread i (helper unpinned). */
struct fx_hopshm {
	_Atomic int stop;
	_Atomic uint32_t poll_ns; /* both sides poll this long; per mount */
	struct fx_chan ch[FX_MAXCPU + FX_MAXTHR];
};

static struct fx_hopshm *hopshm;
static pid_t hop_pid = -1;
static _Thread_local int my_chan = -1; /* this server thread's channel */
static _Atomic int hop_on;	       /* hops in the current mount */

/* Waits until *w differs from old: polls (yielding) for poll_ns, then
 * sleeps with *sleep set. Sequentially consistent accesses: the writer's
 * store of *w and load of *sleep cannot both miss ours. */
static void wait_change(_Atomic uint32_t *w, _Atomic uint32_t *sleep,
			uint32_t old, uint32_t poll_ns)
{
	if (poll_ns) {
		uint64_t end = now_ns() + poll_ns;
		while (atomic_load(w) == old && now_ns() < end)
			sched_yield();
	}
	while (atomic_load(w) == old) {
		atomic_store(sleep, 1);
		if (atomic_load(w) == old)
			futex(w, FUTEX_WAIT, old);
		atomic_store(sleep, 0);
	}
}

/* Wakes the other side if it sleeps on *w (stored already). */
static void notify(_Atomic uint32_t *w, _Atomic uint32_t *sleep)
{
	if (atomic_load(sleep))
		futex(w, FUTEX_WAKE, 1);
}

/* Helper thread: answers its channel until stop. */
static void *hop_worker(void *arg)
{
	int c = (int)(intptr_t)arg;
	struct fx_chan *ch = &hopshm->ch[c];
	uint32_t seen = 0;

	if (c < FX_MAXCPU)
		bench_pin_cpu(c);
	for (;;) {
		wait_change(&ch->req, &ch->req_sleep, seen,
			    atomic_load(&hopshm->poll_ns));
		if (atomic_load(&hopshm->stop))
			break;
		seen = atomic_load(&ch->req);
		atomic_store_explicit(&shm->hop_cpu, sched_getcpu(),
				      memory_order_relaxed);
		atomic_store(&ch->resp, seen);
		notify(&ch->resp, &ch->resp_sleep);
	}
	return NULL;
}

/* Starts the helper process (before any server thread exists, so the fork
 * copies one thread); 0 or -errno. */
static int hop_start(int ncpu)
{
	hopshm = mmap(NULL, sizeof(*hopshm), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hopshm == MAP_FAILED) {
		hopshm = NULL;
		return -errno;
	}
	hop_pid = fork();
	if (hop_pid < 0)
		return -errno;
	if (hop_pid == 0) {
		pthread_t t[FX_MAXCPU + FX_MAXTHR];
		int nt = 0;
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan on a crash */
		for (int c = 0; c < FX_MAXCPU + FX_MAXTHR; c++) {
			if (c < FX_MAXCPU ? c >= ncpu
					  : c - FX_MAXCPU >= opt.threads + 1)
				continue;
			if (pthread_create(&t[nt], NULL, hop_worker,
					   (void *)(intptr_t)c) == 0)
				nt++;
		}
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	return 0;
}

static void hop_stop(void)
{
	if (hop_pid <= 0)
		return;
	atomic_store(&hopshm->stop, 1);
	for (int c = 0; c < FX_MAXCPU + FX_MAXTHR; c++) {
		atomic_fetch_add(&hopshm->ch[c].req, 1);
		futex(&hopshm->ch[c].req, FUTEX_WAKE, 1);
	}
	waitpid(hop_pid, NULL, 0);
	hop_pid = -1;
}

/* One round trip to this thread's helper. */
static void hop(void)
{
	struct fx_chan *ch = &hopshm->ch[my_chan];
	uint32_t old = atomic_load(&ch->resp);

	atomic_fetch_add(&ch->req, 1);
	notify(&ch->req, &ch->req_sleep);
	wait_change(&ch->resp, &ch->resp_sleep, old,
		    atomic_load(&hopshm->poll_ns));
}

static _Atomic uint64_t served_dev, served_ring; /* GETXATTR per transport */

/* --- requests -------------------------------------------------------- */

struct fx_reply {
	int err;      /* 0 or -errno */
	uint32_t len; /* bytes of u */
	union {
		struct fuse_attr_out attr;
		struct fuse_statfs_out statfs;
		struct fuse_open_out open;
	} u;
};

static struct fuse_attr root_attr;

/* Answers one request of the empty root directory into *r; 0, or
 * FX_NOREPLY for opcodes the kernel expects no reply to. */
static int fx_handle(const struct fuse_in_header *in, int via_ring,
		     struct fx_reply *r)
{
	r->err = 0;
	r->len = 0;
	switch (in->opcode) {
	case FUSE_GETXATTR:
		if (atomic_load_explicit(&hop_on, memory_order_relaxed))
			hop();
		atomic_store_explicit(&shm->srv_cpu, sched_getcpu(),
				      memory_order_relaxed);
		atomic_fetch_add_explicit(via_ring ? &served_ring : &served_dev,
					  1, memory_order_relaxed);
		r->err = -ENODATA;
		break;
	case FUSE_GETATTR:
		if (in->nodeid != FUSE_ROOT_ID) {
			r->err = -ENOENT;
			break;
		}
		memset(&r->u.attr, 0, sizeof(r->u.attr));
		r->u.attr.attr_valid = 1;
		r->u.attr.attr = root_attr;
		r->len = sizeof(r->u.attr);
		break;
	case FUSE_LOOKUP:
		r->err = -ENOENT;
		break;
	case FUSE_STATFS:
		memset(&r->u.statfs, 0, sizeof(r->u.statfs));
		r->u.statfs.st.bsize = 4096;
		r->u.statfs.st.frsize = 4096;
		r->u.statfs.st.namelen = 255;
		r->len = sizeof(r->u.statfs);
		break;
	case FUSE_OPENDIR:
		memset(&r->u.open, 0, sizeof(r->u.open));
		r->u.open.fh = 1;
		r->len = sizeof(r->u.open);
		break;
	case FUSE_READDIR: /* empty: end of directory at once */
	case FUSE_RELEASEDIR:
	case FUSE_DESTROY:
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT: /* the request finishes anyway */
		return FX_NOREPLY;
	default:
		r->err = -ENOSYS;
		break;
	}
	return 0;
}

/* --- classic transport ------------------------------------------------ */

static int fuse_fd = -1;
static char mnt[64];
static unsigned mnt_conn; /* the connection's number in fusectl, or 0 */

/* Writes a reply to /dev/fuse; 0 or -errno (-ENOENT: the request was
 * interrupted and is gone, not an error). */
static int dev_reply(uint64_t unique, const struct fx_reply *r)
{
	struct fuse_out_header oh = {
	    .len = (uint32_t)sizeof(oh) + r->len,
	    .error = r->err,
	    .unique = unique,
	};
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {(void *)&r->u, r->len}};
	ssize_t w = writev(fuse_fd, iov, r->len ? 2 : 1);

	if (w < 0)
		return errno == ENOENT ? 0 : -errno;
	return w == (ssize_t)oh.len ? 0 : -EIO;
}

static _Atomic uint32_t listen_ns; /* classic readers' poll, per mount */

/* After a reply, looks for the next request (poll(2) with timeout 0,
 * yielding between looks) for listen_ns before read(2) may sleep: the
 * frontend's listen poll. */
static void listen_poll(void)
{
	uint32_t ns = atomic_load_explicit(&listen_ns, memory_order_relaxed);
	if (!ns)
		return;
	uint64_t end = now_ns() + ns;
	struct pollfd p = {.fd = fuse_fd, .events = POLLIN};
	while (poll(&p, 1, 0) == 0 && now_ns() < end)
		sched_yield();
}

/* Reader thread: serves /dev/fuse until the connection goes away. */
static void *classic_thread(void *arg)
{
	char *buf = malloc(FX_BUFSZ);

	my_chan = FX_MAXCPU + (int)(intptr_t)arg;
	if (opt.reader_cpu >= 0)
		bench_pin_cpu(opt.reader_cpu);
	if (!buf) {
		fprintf(stderr, "fusexport: out of memory\n");
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fuse_fd, buf, FX_BUFSZ);
		struct fuse_in_header in;
		struct fx_reply r;

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ENOENT)
				continue;
			if (errno != ENODEV)
				perror("fusexport: read /dev/fuse");
			break;
		}
		if ((size_t)n < sizeof(in)) {
			fprintf(stderr, "fusexport: short request (%zd)\n", n);
			break;
		}
		memcpy(&in, buf, sizeof(in));
		if (fx_handle(&in, 0, &r) == FX_NOREPLY)
			continue;
		int err = dev_reply(in.unique, &r);
		if (err) {
			if (err != -ENODEV)
				fprintf(stderr, "fusexport: reply: %s\n",
					strerror(-err));
			break;
		}
		listen_poll();
	}
	free(buf);
	return NULL;
}

/* --- io_uring transport ---------------------------------------------- */

struct fx_ent {
	struct fx_uring_req_header *hdr;
	void *payload;
	struct iovec iov[2]; /* read by the kernel at REGISTER */
};

struct fx_queue {
	int qid;
	pthread_t tid;
	int started;
	struct io_uring ring;
	struct fx_ent ent[8];
	_Atomic int state; /* 0 setting up, 1 registered, <0 -errno */
	const char *what;  /* which step failed */
};

static struct fx_queue queues[FX_MAXCPU];
static int nqueues;
static size_t payload_sz;

static void prep_cmd(struct io_uring_sqe *sqe, uint32_t op, unsigned idx,
		     struct fx_ent *e, uint16_t qid, uint64_t commit)
{
	struct fx_uring_cmd_req cr = {.commit_id = commit, .qid = qid};

	/* An SQE128 entry: 64 bytes of sqe, then the rest of the 80-byte
	 * command area that starts at offset 48. */
	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fuse_fd;
	sqe->cmd_op = op;
	sqe->user_data = idx;
	if (op == FX_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	}
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &cr,
	       sizeof(cr));
}

/* Sets up queue q's ring and registers its entries; 0 or -errno with
 * q->what naming the step. */
static int queue_setup(struct fx_queue *q)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SQE128};
	int ret;

	if (opt.defer)
		p.flags |=
		    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params((unsigned)opt.depth, &q->ring, &p);
	if (ret < 0) {
		q->what = "io_uring_queue_init";
		return ret;
	}
	q->started = 1;
	for (int i = 0; i < opt.depth; i++) {
		struct fx_ent *e = &q->ent[i];
		/* Page-aligned, as the kernel pins these pages per request. */
		if (posix_memalign((void **)&e->hdr, 4096, 4096) ||
		    posix_memalign(&e->payload, 4096, payload_sz)) {
			q->what = "allocating ring buffers";
			return -ENOMEM;
		}
		memset(e->hdr, 0, 4096);
		e->iov[0] = (struct iovec){e->hdr, sizeof(*e->hdr)};
		e->iov[1] = (struct iovec){e->payload, payload_sz};
		struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
		if (!sqe) {
			q->what = "io_uring_get_sqe";
			return -EBUSY;
		}
		prep_cmd(sqe, FX_CMD_REGISTER, (unsigned)i, e, (uint16_t)q->qid,
			 0);
	}
	ret = io_uring_submit(&q->ring);
	if (ret != opt.depth) {
		q->what = "submitting FUSE_IO_URING_CMD_REGISTER";
		return ret < 0 ? ret : -EIO;
	}
	/* A refused REGISTER completes at once with its error; a request
	 * may already be there too (left for the loop). */
	struct io_uring_cqe *cqe;
	unsigned head;
	io_uring_for_each_cqe(&q->ring, head, cqe)
	{
		if (cqe->res < 0) {
			q->what = "FUSE_IO_URING_CMD_REGISTER";
			return cqe->res;
		}
	}
	return 0;
}

/* Answers one fetched request in entry e and queues its commit. */
static void ring_answer(struct fx_queue *q, unsigned idx)
{
	struct fx_ent *e = &q->ent[idx];
	struct fuse_in_header in;
	struct fx_reply r;
	uint64_t commit = e->hdr->ring_ent_in_out.commit_id;

	memcpy(&in, e->hdr->in_out, sizeof(in));
	if (fx_handle(&in, 1, &r) == FX_NOREPLY) {
		/* Never sent through the ring; answer so the entry returns. */
		r.err = -EIO;
		r.len = 0;
	}
	struct fuse_out_header oh = {
	    .len = (uint32_t)sizeof(oh) + r.len,
	    .error = r.err,
	    .unique = in.unique,
	};
	memcpy(e->hdr->in_out, &oh, sizeof(oh));
	memcpy(e->payload, &r.u, r.len);
	e->hdr->ring_ent_in_out.payload_sz = r.len;

	/* One SQE per entry, and this entry was in user space: never NULL
	 * unless the ring is broken (the request then waits for unmount). */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	if (!sqe) {
		fprintf(stderr, "fusexport: queue %d: no SQE\n", q->qid);
		return;
	}
	prep_cmd(sqe, FX_CMD_COMMIT, idx, e, (uint16_t)q->qid, commit);
}

/* Queue thread: pinned to its CPU, serves its ring until the connection
 * goes away (every entry completed with -ENOTCONN). */
static void *queue_thread(void *arg)
{
	struct fx_queue *q = arg;
	int ret, live = opt.depth;

	my_chan = q->qid;
	bench_pin_cpu(q->qid);
	ret = queue_setup(q);
	atomic_store(&q->state, ret < 0 ? ret : 1);
	futex((_Atomic uint32_t *)&q->state, FUTEX_WAKE, 1);
	if (ret < 0)
		return NULL;
	while (live > 0) {
		ret = io_uring_submit_and_wait(&q->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN) {
			fprintf(stderr, "fusexport: queue %d: wait: %s\n",
				q->qid, strerror(-ret));
			break;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&q->ring, head, cqe)
		{
			unsigned idx = (unsigned)cqe->user_data;
			seen++;
			if (cqe->res < 0 || idx >= (unsigned)opt.depth) {
				if (cqe->res != -ENOTCONN &&
				    cqe->res != -ECANCELED)
					fprintf(stderr,
						"fusexport: queue %d: %s\n",
						q->qid, strerror(-cqe->res));
				live--;
				continue;
			}
			ring_answer(q, idx);
		}
		io_uring_cq_advance(&q->ring, seen);
	}
	return NULL;
}

/* Number of queues the kernel makes: num_possible_cpus(), read from
 * /sys (a list like "0-1" or "0-3,6"); the highest CPU + 1, or -errno. */
static int possible_cpus(void)
{
	char b[256] = {0};
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY), max = -1;

	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	for (char *p = b; *p && *p != '\n';) {
		char *e;
		long a = strtol(p, &e, 10), z = a;
		if (e == p)
			return -EIO;
		if (*e == '-')
			z = strtol(e + 1, &e, 10);
		if (z > max)
			max = (int)z;
		p = *e == ',' ? e + 1 : e;
	}
	return max + 1;
}

/* --- mount, INIT, teardown ------------------------------------------- */

static pthread_t readers[FX_MAXTHR];
static int nreaders;
static char skip_why[2][256]; /* per transport: why it cannot run */

static void unmount_all(void);

static void on_signal(int sig)
{
	uring_param_restore();
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads and answers INIT; accepts io_uring when want_ring. Sets
 * *ring_ok when the kernel offered it and we accepted; 0 or -errno. */
static int do_init(int want_ring, int *ring_ok)
{
	char *buf = malloc(FX_BUFSZ);
	struct fuse_in_header in;
	struct fuse_init_in ii = {0};
	int ret = 0;

	*ring_ok = 0;
	if (!buf)
		return -ENOMEM;
	ssize_t n = read(fuse_fd, buf, FX_BUFSZ);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n < sizeof(in) + 16) {
		ret = -EPROTO;
		goto out;
	}
	memcpy(&in, buf, sizeof(in));
	if (in.opcode != FUSE_INIT) {
		ret = -EPROTO;
		goto out;
	}
	/* Older kernels send the first 16 bytes only. */
	memcpy(&ii, buf + sizeof(in),
	       (size_t)n - sizeof(in) < sizeof(ii) ? (size_t)n - sizeof(in)
						   : sizeof(ii));
	struct fuse_init_out io = {
	    .major = FUSE_KERNEL_VERSION,
	    .minor = ii.minor < FX_MINOR ? ii.minor : FX_MINOR,
	    .max_readahead = ii.max_readahead,
	    .max_background = 16,
	    .congestion_threshold = 12,
	    .max_write = FX_MAX_WRITE,
	    .time_gran = 1,
	};
	uint64_t offered = ii.flags;
	if (ii.flags & FUSE_INIT_EXT)
		offered |= (uint64_t)ii.flags2 << 32;
	uint64_t flags = offered & FUSE_INIT_EXT;
	if (want_ring && (offered & FX_OVER_IO_URING)) {
		flags |= FX_OVER_IO_URING;
		*ring_ok = 1;
	}
	io.flags = (uint32_t)flags;
	io.flags2 = (uint32_t)(flags >> 32);
	struct fuse_out_header oh = {
	    .len = sizeof(oh) + sizeof(io), .error = 0, .unique = in.unique};
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {&io, sizeof(io)}};
	if (ii.major != FUSE_KERNEL_VERSION) {
		/* The kernel retries with our major; not expected here. */
		ret = -EPROTO;
		goto out;
	}
	if (writev(fuse_fd, iov, 2) != (ssize_t)oh.len)
		ret = errno ? -errno : -EIO;
out:
	free(buf);
	return ret;
}

/* Mounts and starts the transport; 0, -errno on failure (message
 * printed), or FX_EXIT_SKIP with skip_why[t] set when t cannot run. */
static int serve_start(enum fx_transport t, int with_hop)
{
	char opts[128];
	int ret, ring_ok = 0;

	nreaders = 0;
	nqueues = 0;
	if (t == T_URING) {
		ret = uring_param_on();
		if (ret < 0) {
			snprintf(skip_why[t], sizeof(skip_why[t]),
				 "cannot set %s: %s", URING_PARAM,
				 strerror(-ret));
			return FX_EXIT_SKIP;
		}
	}
	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		ret = -errno;
		uring_param_restore();
		fprintf(stderr, "fusexport: /dev/fuse: %s\n", strerror(-ret));
		return FX_EXIT_SKIP;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse_fd);
	if (mount("fusexport", mnt, "fuse", MS_NOSUID | MS_NODEV, opts)) {
		ret = -errno;
		uring_param_restore();
		close(fuse_fd);
		fuse_fd = -1;
		fprintf(stderr, "fusexport: mount: %s\n", strerror(-ret));
		return FX_EXIT_SKIP;
	}
	/* The connection number is the mount's device minor; DONT_SYNC
	 * takes it without a request (none is answered before INIT). */
	struct statx stx;
	if (statx(AT_FDCWD, mnt, AT_STATX_DONT_SYNC, 0, &stx) == 0)
		mnt_conn = stx.stx_dev_minor;
	ret = do_init(t == T_URING, &ring_ok);
	/* The connection keeps io_uring once negotiated (fc->io_uring). */
	uring_param_restore();
	if (ret < 0) {
		fprintf(stderr, "fusexport: INIT: %s\n", strerror(-ret));
		unmount_all();
		return ret;
	}
	atomic_store(&hop_on, with_hop);
	/* The listen poll models today's frontend (classic only: a ring
	 * thread waits in io_uring_enter); the hop's polls model cryptod's
	 * worker and the frontend's completion poll, for both. */
	uint32_t pns = (uint32_t)opt.poll_us * 1000u;
	atomic_store(&listen_ns, t == T_CLASSIC ? pns : 0);
	if (hopshm)
		atomic_store(&hopshm->poll_ns, pns);
	if (t == T_URING && !ring_ok) {
		snprintf(skip_why[t], sizeof(skip_why[t]),
			 "the kernel did not offer FUSE_OVER_IO_URING in "
			 "INIT although enable_uring was Y");
		/* Serve the mount classically so it can be unmounted. */
		t = T_CLASSIC;
		ret = FX_EXIT_SKIP;
	}
	int nr = t == T_CLASSIC ? opt.threads : 1;
	for (int i = 0; i < nr; i++) {
		if (pthread_create(&readers[nreaders], NULL, classic_thread,
				   (void *)(intptr_t)i) == 0)
			nreaders++;
	}
	if (ret == FX_EXIT_SKIP) {
		unmount_all();
		return ret;
	}
	if (nreaders == 0) {
		fprintf(stderr, "fusexport: no reader thread\n");
		unmount_all();
		return -EAGAIN;
	}
	if (t == T_CLASSIC)
		return 0;

	int np = possible_cpus();
	if (np <= 0 || np > FX_MAXCPU) {
		snprintf(skip_why[t], sizeof(skip_why[t]),
			 "cannot use /sys/devices/system/cpu/possible (%d)",
			 np);
		unmount_all();
		return FX_EXIT_SKIP;
	}
	/* dev_uring.c: the payload buffer must hold max(FUSE_MIN_READ_BUFFER,
	 * max_write, max_pages * PAGE_SIZE); max_pages stays at the default
	 * 32 since we do not send FUSE_MAX_PAGES. */
	payload_sz = FX_MAX_WRITE > 32 * 4096 ? FX_MAX_WRITE : 32 * 4096;
	for (int q = 0; q < np; q++) {
		memset(&queues[q], 0, sizeof(queues[q]));
		queues[q].qid = q;
		if (pthread_create(&queues[q].tid, NULL, queue_thread,
				   &queues[q])) {
			atomic_store(&queues[q].state, -EAGAIN);
			queues[q].what = "pthread_create";
			break;
		}
		nqueues++;
	}
	/* The ring is ready (requests go through it) once every queue has
	 * an entry: wait for every thread's REGISTER. */
	for (int q = 0; q < nqueues; q++) {
		int s;
		while ((s = atomic_load(&queues[q].state)) == 0)
			futex((_Atomic uint32_t *)&queues[q].state, FUTEX_WAIT,
			      0);
		if (s < 0 && !skip_why[t][0])
			snprintf(skip_why[t], sizeof(skip_why[t]),
				 "queue %d: %s: %s", q, queues[q].what,
				 strerror(-s));
	}
	if (nqueues < np && !skip_why[t][0])
		snprintf(skip_why[t], sizeof(skip_why[t]),
			 "could not start queue %d", nqueues);
	if (skip_why[t][0]) {
		unmount_all();
		return FX_EXIT_SKIP;
	}
	return 0;
}

/* Aborts the connection (through fusectl when mounted) and detaches the
 * mount, so every server thread wakes (read(2) gives ENODEV, ring entries
 * complete with -ENOTCONN); joins them and frees the rings. */
static void unmount_all(void)
{
	if (mnt_conn) {
		/* Wakes every server thread even if something else still
		 * holds the mount (the detach alone would then wait). */
		char p[96];
		snprintf(p, sizeof(p), "/sys/fs/fuse/connections/%u/abort",
			 mnt_conn);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) < 0)
				perror("fusexport: abort connection");
			close(fd);
		}
		mnt_conn = 0;
	}
	if (umount2(mnt, MNT_DETACH))
		perror("fusexport: umount2");
	for (int i = 0; i < nreaders; i++)
		pthread_join(readers[i], NULL);
	nreaders = 0;
	for (int q = 0; q < nqueues; q++) {
		struct fx_queue *fq = &queues[q];
		pthread_join(fq->tid, NULL);
		if (fq->started)
			io_uring_queue_exit(&fq->ring);
		for (int i = 0; i < opt.depth; i++) {
			free(fq->ent[i].hdr);
			free(fq->ent[i].payload);
		}
		memset(fq, 0, sizeof(*fq));
	}
	nqueues = 0;
	if (fuse_fd >= 0)
		close(fuse_fd);
	fuse_fd = -1;
}

/* --- client ----------------------------------------------------------- */

/* The client process: warm-up, then opt.n timed round trips into shm. */
static int client_main(enum fx_place p)
{
	char v[8];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(300);
	bench_pin_cpu(p == P_ANY ? -1 : p == P_CPU0 ? 0 : 1);
	for (long i = 0; i < opt.warm; i++)
		getxattr(mnt, "user.x", v, sizeof(v));
	shm->same = shm->hop_same = 0;
	uint64_t t0 = now_ns();
	for (long i = 0; i < opt.n; i++) {
		uint64_t a = now_ns();
		if (getxattr(mnt, "user.x", v, sizeof(v)) >= 0 ||
		    errno != ENODATA) {
			shm->err = errno ? errno : EPROTO;
			return 1;
		}
		uint64_t b = now_ns();
		int cpu = sched_getcpu();
		shm->lat[i] =
		    b - a > UINT32_MAX ? UINT32_MAX : (uint32_t)(b - a);
		shm->same += cpu == atomic_load_explicit(&shm->srv_cpu,
							 memory_order_relaxed);
		shm->hop_same +=
		    cpu ==
		    atomic_load_explicit(&shm->hop_cpu, memory_order_relaxed);
	}
	shm->total_ns = now_ns() - t0;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static double q_us(const uint32_t *v, long n, double q)
{
	return v[(long)(q * (double)(n - 1) + 0.5)] / 1e3;
}

struct fx_result {
	double mean, p10, p50, p90, p99, max, same, hop_same, ring;
	double cpu_us; /* CPU (user + sys) of client and server per trip */
	double vcsw;   /* voluntary context switches (sleeps) per trip */
};

static uint64_t tv_ns(struct timeval t)
{
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_usec * 1000u;
}

/* Where the classic reader threads run ("any" in uring mounts, where
 * the one reader sees no requests). */
static const char *readers_name(enum fx_transport t)
{
	static char b[16];
	if (t != T_CLASSIC || opt.reader_cpu < 0)
		return "any";
	snprintf(b, sizeof(b), "cpu%d", opt.reader_cpu);
	return b;
}

/* CPU time of the helper process so far (ns, all its threads, from
 * /proc/PID/task/TID/schedstat); 0 without --hop. */
static uint64_t hop_cpu_ns(void)
{
	char p[64];
	uint64_t sum = 0;

	if (hop_pid <= 0)
		return 0;
	snprintf(p, sizeof(p), "/proc/%d/task", (int)hop_pid);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		char f[sizeof(p) + sizeof(e->d_name) + 16];
		unsigned long long ns;
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/schedstat", p, e->d_name);
		FILE *fp = fopen(f, "r");
		if (!fp)
			continue;
		if (fscanf(fp, "%llu", &ns) == 1)
			sum += ns;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

/* Runs one client placement against the current mount; 0 or -1. */
static int run_client(enum fx_transport t, int with_hop, enum fx_place p,
		      struct fx_result *res)
{
	uint64_t dev0 = atomic_load(&served_dev);
	uint64_t ring0 = atomic_load(&served_ring);

	struct rusage ru0, ru1, ruc;

	shm->err = 0;
	fflush(stdout);
	/* The server threads are this process's; its main thread only
	 * waits meanwhile. The client's usage includes its warm-up. */
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t hop0 = hop_cpu_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fusexport: fork");
		return -1;
	}
	if (pid == 0)
		_exit(client_main(p));
	int st;
	if (wait4(pid, &st, 0, &ruc) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "fusexport: client failed (status %#x): %s\n",
			st, shm->err ? strerror(shm->err) : "killed");
		return -1;
	}
	getrusage(RUSAGE_SELF, &ru1);
	uint64_t hop_ns = hop_cpu_ns() - hop0;
	uint64_t dev = atomic_load(&served_dev) - dev0;
	uint64_t ring = atomic_load(&served_ring) - ring0;
	long n = opt.n, trips = opt.n + opt.warm;
	res->cpu_us =
	    (double)(tv_ns(ru1.ru_utime) + tv_ns(ru1.ru_stime) -
		     tv_ns(ru0.ru_utime) - tv_ns(ru0.ru_stime) +
		     tv_ns(ruc.ru_utime) + tv_ns(ruc.ru_stime) + hop_ns) /
	    1e3 / (double)trips;
	res->vcsw = (double)(ru1.ru_nvcsw - ru0.ru_nvcsw + ruc.ru_nvcsw) /
		    (double)trips;
	qsort(shm->lat, (size_t)n, sizeof(shm->lat[0]), cmp_u32);
	res->mean = shm->total_ns / 1e3 / (double)n;
	res->p10 = q_us(shm->lat, n, 0.10);
	res->p50 = q_us(shm->lat, n, 0.50);
	res->p90 = q_us(shm->lat, n, 0.90);
	res->p99 = q_us(shm->lat, n, 0.99);
	res->max = shm->lat[n - 1] / 1e3;
	res->same = (double)shm->same / (double)n;
	res->hop_same = (double)shm->hop_same / (double)n;
	res->ring = dev + ring ? (double)ring / (double)(dev + ring) : 0;
	printf("fusexport transport=%s hop=%s readers=%s poll_us=%d client=%s "
	       "n=%ld mean=%.2f p10=%.1f p50=%.1f p90=%.1f p99=%.1f max=%.1f "
	       "same_cpu=%.2f",
	       transport_name[t], with_hop ? "futex" : "none", readers_name(t),
	       opt.poll_us, place_name[p], n, res->mean, res->p10, res->p50,
	       res->p90, res->p99, res->max, res->same);
	if (with_hop)
		printf(" hop_same_cpu=%.2f", res->hop_same);
	printf(" via_ring=%.2f cpu_us=%.1f vcsw=%.2f\n", res->ring, res->cpu_us,
	       res->vcsw);
	fflush(stdout);
	return 0;
}

/* --- main ------------------------------------------------------------- */

static int parse_list(const char *s, const char *const *names, int nnames,
		      int *out, int max)
{
	int n = 0;
	for (const char *p = s; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		int k;
		for (k = 0; k < nnames; k++)
			if (strlen(names[k]) == l && !strncmp(p, names[k], l))
				break;
		if (k == nnames || n == max)
			return -EINVAL;
		out[n++] = k;
		p = e ? e + 1 : p + l;
	}
	return n ? n : -EINVAL;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int n;
		if (!strcmp(a, "--quick")) {
			opt.n = 3000;
			opt.warm = 200;
			opt.rounds = 1;
		} else if (!strncmp(a, "--n=", 4)) {
			opt.n = atol(a + 4);
		} else if (!strncmp(a, "--rounds=", 9)) {
			opt.rounds = atoi(a + 9);
		} else if (!strncmp(a, "--threads=", 10)) {
			opt.threads = atoi(a + 10);
		} else if (!strncmp(a, "--depth=", 8)) {
			opt.depth = atoi(a + 8);
		} else if (!strcmp(a, "--hop")) {
			opt.hop = 1;
		} else if (!strncmp(a, "--poll-us=", 10)) {
			opt.poll_us = atoi(a + 10);
		} else if (!strncmp(a, "--reader-cpu=", 13)) {
			opt.reader_cpu = atoi(a + 13);
		} else if (!strcmp(a, "--defer")) {
			opt.defer = 1;
		} else if (!strncmp(a, "--transport=", 12)) {
			n = parse_list(a + 12, transport_name, 2,
				       opt.transports, 2);
			if (n < 0)
				return -1;
			opt.ntransports = n;
		} else if (!strncmp(a, "--client=", 9)) {
			n = parse_list(a + 9, place_name, 3, opt.places, 3);
			if (n < 0)
				return -1;
			opt.nplaces = n;
		} else {
			return -1;
		}
	}
	if (opt.n < 1 || opt.n > 10000000 || opt.rounds < 1 ||
	    opt.threads < 1 || opt.threads >= FX_MAXTHR || opt.depth < 1 ||
	    opt.depth > 8 || opt.reader_cpu >= FX_MAXCPU || opt.poll_us < 0 ||
	    opt.poll_us > 1000000)
		return -1;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 64

int main(int argc, char **argv)
{
	static struct fx_result all[2][2][3][MAX_ROUNDS]; /* t, hop, place */
	static int nall[2][2][3];
	int ret = 0, skipped = 0;

	if (parse_args(argc, argv) < 0 || opt.rounds > MAX_ROUNDS) {
		fprintf(stderr,
			"usage: fusexport [--quick] [--n=N] [--rounds=R<=64] "
			"[--threads=T<16] [--depth=D<=8] "
			"[--transport=classic,uring] [--client=any,cpu0,cpu1] "
			"[--hop] [--defer] [--reader-cpu=C] [--poll-us=U]\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("fusexport: skipped: needs root (mount(2), "
		       "enable_uring)\n");
		return FX_EXIT_SKIP;
	}
	if (access("/dev/fuse", R_OK | W_OK)) {
		printf("fusexport: skipped: /dev/fuse: %s\n", strerror(errno));
		return FX_EXIT_SKIP;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		for (int i = 0; i < opt.nplaces; i++)
			if (opt.places[i] == P_CPU1) {
				printf("fusexport: skipped: client=cpu1 "
				       "needs 2 CPUs\n");
				return FX_EXIT_SKIP;
			}
	}
	shm = mmap(NULL, sizeof(*shm) + (size_t)opt.n * sizeof(uint32_t),
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		perror("fusexport: mmap");
		return 1;
	}
	int ncpu = possible_cpus();
	if (opt.hop && (ncpu <= 0 || hop_start(ncpu) < 0)) {
		perror("fusexport: helper process");
		return 1;
	}
	strcpy(mnt, "/tmp/fusexport.XXXXXX");
	if (!mkdtemp(mnt)) {
		perror("fusexport: mkdtemp");
		hop_stop();
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);

	time_t tt = time(NULL);
	root_attr = (struct fuse_attr){
	    .ino = FUSE_ROOT_ID,
	    .mode = S_IFDIR | 0755,
	    .nlink = 2,
	    .blksize = 4096,
	    .atime = (uint64_t)tt,
	    .mtime = (uint64_t)tt,
	    .ctime = (uint64_t)tt,
	};

	int hops[2] = {0, 1}, nhops = opt.hop ? 2 : 1;
	for (int r = 0; r < opt.rounds; r++) {
		for (int k = 0; k < opt.ntransports * nhops; k++) {
			/* Odd rounds in reverse order: neither transport
			 * always runs right after the other. */
			int kk = r % 2 ? opt.ntransports * nhops - 1 - k : k;
			enum fx_transport t = opt.transports[kk / nhops];
			int h = hops[kk % nhops];
			if (skip_why[t][0])
				continue;
			int s = serve_start(t, h);
			if (s == FX_EXIT_SKIP) {
				printf("fusexport: transport=%s skipped: %s\n",
				       transport_name[t],
				       skip_why[t][0] ? skip_why[t]
						      : "cannot mount");
				if (!skip_why[t][0])
					snprintf(skip_why[t],
						 sizeof(skip_why[t]),
						 "cannot mount");
				skipped = 1;
				continue;
			}
			if (s < 0) {
				ret = 1;
				goto out;
			}
			for (int j = 0; j < opt.nplaces; j++) {
				enum fx_place p = opt.places[j];
				struct fx_result *res =
				    &all[t][h][p][nall[t][h][p]];
				if (run_client(t, h, p, res) < 0) {
					ret = 1;
					break;
				}
				nall[t][h][p]++;
			}
			unmount_all();
			if (ret)
				goto out;
		}
	}

	struct bench_table tab = {0};
	for (int t = 0; t < 2; t++)
		for (int h = 0; h < 2; h++)
			for (int p = 0; p < 3; p++) {
				int n = nall[t][h][p];
				double v[MAX_ROUNDS];
				char row[BENCH_LABEL];
				if (!n)
					continue;
				snprintf(row, sizeof(row), "%s%s%s %s",
					 transport_name[t],
					 opt.poll_us ? "+poll" : "",
					 h ? "+hop" : "", place_name[p]);
#define COL(f, name)                                                           \
	do {                                                                   \
		for (int i = 0; i < n; i++)                                    \
			v[i] = all[t][h][p][i].f;                              \
		bench_table_add(&tab, row, name, median(v, n));                \
	} while (0)
				COL(mean, "mean");
				COL(p10, "p10");
				COL(p50, "p50");
				COL(p90, "p90");
				COL(p99, "p99");
				COL(same, "same CPU");
				COL(cpu_us, "CPU µs");
#undef COL
			}
	if (tab.nrows) {
		char unit[192];
		snprintf(unit, sizeof(unit),
			 "µs per getxattr round trip, median of %d round(s) "
			 "of %ld; same CPU: share; CPU µs: client, server and "
			 "helper, per round trip",
			 opt.rounds, opt.n);
		bench_table_print(&tab, "transport client", unit);
	}
out:
	uring_param_restore();
	rmdir(mnt);
	hop_stop();
	if (!ret && skipped)
		return FX_EXIT_SKIP;
	return ret;
}
