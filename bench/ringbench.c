/* SPDX-License-Identifier: MIT */
/*
 * ringbench: the proto/ rings between two processes, against yardsticks
 * measured in the same run (bare futex ping-pong, pipe, unix socketpair).
 *
 *   ringbench [--quick] [--trials=N] [--window=N] [--windows=N,N,..]
 *             [--spin=NS] [--auto=NS] [--only=GROUP,..]
 *
 * Groups: lat, inproc, tput, place, windows, slots (default: all).
 * Every result is one machine-readable line "ringbench test=... k=v ...",
 * then a Markdown table with the ratios the design asks for. Wall-clock
 * times (CLOCK_MONOTONIC): both processes are part of what is measured.
 * Each throughput line also says what it cost: CPU ns per descriptor
 * (user + system of both processes) and context switches per 1000
 * descriptors (both processes; voluntary = sleeps, involuntary =
 * preemptions and yields).
 *
 * Waiting policies, the same for the rings and the yardsticks:
 *   sleep  block at once when there is nothing to do (futex / read);
 *   auto   the rings' adaptive spin (ring_set_spin_auto(), --auto cap);
 *          the pipe and socketpair get the same bounded spin: non-blocking
 *          reads with sched_yield() for up to the cap before blocking;
 *   spin   ring_set_spin(--spin), rings only;
 *   busy   both sides poll forever, on CPU 0 and CPU 1.
 * Placement (cpus=): "any" is unpinned, how the daemons run (this VM's
 * scheduler often puts both on one vCPU, sometimes one on each); "same"
 * pins both to CPU 0, "split" the client to CPU 0 and the server to CPU 1.
 * Each placement has its own futex round trip and socketpair figures, and
 * the bounds are computed from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "ring.h"
#include "util.h"

#define MSG_SQE	    64 /* bytes of a submission, same for the yardsticks */
#define MSG_CQE	    32
#define BATCH	    32
#define MAX_WINDOW  65536u
#define MAX_WINDOWS 8

enum mode { M_SLEEP, M_AUTO, M_SPIN, M_BUSY };

static int opt_quick, opt_trials = 3;
static unsigned opt_window = 256;
static unsigned opt_windows[MAX_WINDOWS] = {256, 1024, 4096};
static unsigned opt_nwindows = 3;
static uint32_t opt_spin = 5000, opt_auto = 20000;
static const char *opt_only; /* comma list of groups, NULL: all */

/* True when group g is to run. */
static int want(const char *g)
{
	if (!opt_only)
		return 1;
	size_t n = strlen(g);
	for (const char *p = opt_only; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncmp(p, g, n) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* --- processes, pinning, cost accounting ---------------------------- */

static int srv_cpu = -1; /* CPU for the next spawned server, -1: any */

/* Where client and server run. */
enum place { P_ANY, P_SPLIT, P_SAME };
static const char *const place_name[] = {"any", "split", "same"};

/* P_SPLIT: client on CPU 0, next server on CPU 1 (needs 2 CPUs);
 * P_SAME: both on CPU 0; P_ANY undoes it. */
static void pin2(enum place p)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	bench_pin_cpu(p == P_ANY ? -1 : 0);
	srv_cpu = p == P_SPLIT ? 1 : p == P_SAME ? 0 : -1;
}

/* What the last measured run cost, both processes together. */
struct cost {
	double cpu_ns; /* user + system */
	long vcsw, ivcsw;
};
static struct cost last_cost;
static struct rusage ru_start;

static uint64_t tv_ns(struct timeval t)
{
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_usec * 1000u;
}

/* Runs server(arg) in a child (on srv_cpu if set); returns its pid. */
static pid_t spawn(int (*server)(void *), void *arg)
{
	getrusage(RUSAGE_SELF, &ru_start);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (srv_cpu >= 0)
			bench_pin_cpu(srv_cpu);
		alarm(120);
		_exit(server(arg));
	}
	return pid;
}

/* Waits for the server; fills last_cost with the client's usage since
 * spawn() plus the server's. Exits on a failed server. */
static void reap(pid_t pid)
{
	int st;
	struct rusage ru = {0}, self;
	pid_t w = wait4(pid, &st, 0, &ru);
	getrusage(RUSAGE_SELF, &self);
	last_cost.cpu_ns =
	    (double)(tv_ns(self.ru_utime) + tv_ns(self.ru_stime) -
		     tv_ns(ru_start.ru_utime) - tv_ns(ru_start.ru_stime) +
		     tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime));
	last_cost.vcsw = self.ru_nvcsw - ru_start.ru_nvcsw + ru.ru_nvcsw;
	last_cost.ivcsw = self.ru_nivcsw - ru_start.ru_nivcsw + ru.ru_nivcsw;
	if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "ringbench: server %d failed (status %#x)\n",
			(int)pid, st);
		exit(1);
	}
}

static void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(uint64_t *v, size_t n, double *med, double *p99)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*med = v[n / 2] / 1000.0;
	*p99 = v[(n * 99) / 100] / 1000.0;
}

/* One throughput result: rate and what it cost per descriptor. */
struct tput {
	double mps;    /* million descriptors (messages) per second */
	double cpu_ns; /* CPU ns per descriptor, both processes */
	double csw;    /* context switches per 1000 descriptors */
};

static struct tput tput_of(uint64_t n, double sec)
{
	return (struct tput){
	    n / sec / 1e6, last_cost.cpu_ns / (double)n,
	    1000.0 * (double)(last_cost.vcsw + last_cost.ivcsw) / (double)n};
}

/* Keeps the trial with the best rate. */
static void keep_best(struct tput *best, struct tput t)
{
	if (t.mps > best->mps)
		*best = t;
}

/* --- ring side ------------------------------------------------------ */

struct ring_job {
	struct ring_region *r;
	uint64_t n;	/* descriptors the server will see */
	enum mode mode; /* server's waiting policy */
	unsigned window;
	int touch; /* server reads each 4 KiB extent's first line */
};

static struct ring_region *mkring(uint32_t entries, uint32_t nslots,
				  uint32_t slot_size)
{
	struct ring_params p = {1, entries, nslots, slot_size, 0};
	struct ring_region *r = NULL;
	int rc = ring_region_create(&r, &p);
	if (rc < 0) {
		fprintf(stderr, "ring_region_create: %s\n", strerror(-rc));
		exit(1);
	}
	return r;
}

/* Applies a waiting policy to this process's handle. */
static void set_mode(struct ring_region *r, enum mode m)
{
	ring_set_spin(r, m == M_SPIN ? opt_spin : 0);
	if (m == M_AUTO)
		ring_set_spin_auto(r, opt_auto);
}

static volatile uint64_t sink;

static void touch_slot(struct ring_region *r, const struct cs_sqe *s)
{
	const uint8_t *p = (const uint8_t *)ring_slot(r, s->slot) + s->arg_off;
	uint64_t acc = 0;
	for (uint32_t off = 0; off < s->arg_len; off += 4096) {
		const volatile uint64_t *l =
		    (const volatile uint64_t *)(p + off);
		for (int i = 0; i < 8; i++)
			acc += l[i];
	}
	sink += acc;
}

/* The cryptod side: attach through the fd, pop everything there (up to a
 * window), (touch), complete, kick once. */
static int ring_server(void *arg)
{
	struct ring_job *j = arg;
	struct ring_region *r = NULL;
	if (ring_region_attach(&r, ring_region_fd(j->r)) < 0)
		return 1;
	set_mode(r, j->mode);
	struct cs_sqe *s = calloc(j->window, sizeof(*s));
	struct cs_cqe *c = calloc(j->window, sizeof(*c));
	if (!s || !c)
		return 4;
	uint64_t seen = 0;
	while (seen < j->n) {
		int n = ring_sq_pop(r, 0, s, j->window);
		if (n < 0)
			return 2;
		if (n == 0) {
			if (j->mode == M_BUSY)
				cpu_relax();
			else if (ring_sq_wait(r, 0, -1) < 0)
				return 3;
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (j->touch)
				touch_slot(r, &s[i]);
			/* Fields of a zeroed array, as the socketpair
			 * server answers from a static buffer. */
			c[i].id = s[i].id;
			c[i].slot = s[i].slot;
			c[i].res = (int32_t)s[i].len;
		}
		unsigned done = 0;
		while (done < (unsigned)n)
			done += ring_cq_push(r, 0, c + done, n - done);
		ring_cq_kick(r, 0);
		seen += (uint64_t)n;
	}
	free(s);
	free(c);
	ring_region_destroy(r);
	return 0;
}

static struct cs_sqe mksqe(uint64_t id, uint32_t slot, uint32_t len)
{
	return (struct cs_sqe){.id = id,
			       .ino = 2,
			       .off = id * 4096,
			       .op = len ? CS_OP_WRITE : CS_OP_GETATTR,
			       .slot = slot,
			       .len = len,
			       .arg_off = len ? CS_SLOT_HDR_ROOM : 0,
			       .arg_len = len};
}

/* Round-trip latency of one descriptor under a waiting policy (busy:
 * pinned to CPU 0 and 1). */
static void bench_ring_latency(enum mode m, enum place pl, uint64_t iters,
			       double *med, double *p99)
{
	struct ring_region *r = mkring(64, 64, 4096);
	set_mode(r, m);
	struct ring_job j = {
	    .r = r, .n = iters + 1000, .mode = m, .window = 64};
	uint64_t *lat = calloc(iters, sizeof(*lat));
	pin2(m == M_BUSY ? P_SPLIT : pl);
	pid_t pid = spawn(ring_server, &j);
	struct cs_cqe c;
	for (uint64_t i = 0; i < iters + 1000; i++) {
		struct cs_sqe s = mksqe(i, (uint32_t)(i % 64), 0);
		uint64_t t0 = now_ns();
		ring_sq_push(r, 0, &s, 1);
		ring_sq_kick(r, 0);
		for (;;) {
			int n = ring_cq_pop(r, 0, &c, 1);
			if (n == 1)
				break;
			if (n < 0)
				exit(1);
			if (m == M_BUSY)
				cpu_relax();
			else
				ring_cq_wait(r, 0, -1);
		}
		if (i >= 1000) /* warm-up */
			lat[i - 1000] = now_ns() - t0;
	}
	reap(pid);
	pin2(P_ANY);
	percentiles(lat, iters, med, p99);
	free(lat);
	ring_region_destroy(r);
}

/* Descriptors per second through request + completion: batches of b per
 * kick, at most `window` in flight (slots bound the frontend the same
 * way); the ring has `window` entries. */
static struct tput bench_ring_tput(uint64_t n, unsigned b, unsigned window,
				   enum mode m, enum place pl)
{
	struct ring_region *r = mkring(window, window, 4096);
	set_mode(r, m);
	struct ring_job j = {.r = r, .n = n, .mode = m, .window = window};
	pin2(m == M_BUSY ? P_SPLIT : pl);
	pid_t pid = spawn(ring_server, &j);
	struct cs_sqe s[BATCH];
	struct cs_cqe *c = calloc(window, sizeof(*c));
	for (unsigned i = 0; i < BATCH; i++)
		s[i] = mksqe(i, i, 0);
	uint64_t sent = 0, recv = 0, t0 = now_ns();
	while (recv < n) {
		unsigned pushed = 0;
		while (sent - recv + b <= window && sent < n) {
			unsigned want = b;
			if (want > n - sent)
				want = (unsigned)(n - sent);
			/* Like the socketpair client, which resends one
			 * buffer: only id and slot change per request. */
			for (unsigned i = 0; i < want; i++) {
				s[i].id = sent + i;
				s[i].slot = (uint32_t)((sent + i) % window);
			}
			unsigned k = ring_sq_push(r, 0, s, want);
			sent += k;
			pushed += k;
			if (k < want)
				break;
		}
		if (pushed)
			ring_sq_kick(r, 0);
		int got = ring_cq_pop(r, 0, c, window);
		if (got < 0)
			exit(1);
		for (int i = 0; i < got; i++)
			if (c[i].id != recv++)
				exit(1);
		if (got == 0 && pushed == 0) {
			if (m == M_BUSY)
				cpu_relax();
			else
				ring_cq_wait(r, 0, -1);
		}
	}
	double sec = (now_ns() - t0) / 1e9;
	reap(pid);
	pin2(P_ANY);
	free(c);
	ring_region_destroy(r);
	return tput_of(n, sec);
}

/* GB/s of 1 MiB slots handed over, each 4 KiB extent touched. */
static double bench_ring_slots(uint64_t n)
{
	const uint32_t nslots = 16;
	struct ring_region *r = mkring(64, nslots, CS_SLOT_SIZE_DEFAULT);
	for (uint32_t i = 0; i < nslots; i++) /* fault the slab in */
		memset(ring_slot(r, i), (int)i, CS_SLOT_SIZE_DEFAULT);
	struct ring_job j = {.r = r, .n = n, .touch = 1, .window = 64};
	pid_t pid = spawn(ring_server, &j);
	struct cs_cqe c[64];
	uint64_t sent = 0, recv = 0, t0 = now_ns();
	while (recv < n) {
		unsigned pushed = 0;
		while (sent - recv < nslots && sent < n) {
			struct cs_sqe s =
			    mksqe(sent, (uint32_t)(sent % nslots), CS_MAX_IO);
			if (ring_sq_push(r, 0, &s, 1) != 1)
				break;
			sent++;
			pushed++;
		}
		if (pushed)
			ring_sq_kick(r, 0);
		int got = ring_cq_pop(r, 0, c, 64);
		if (got < 0)
			exit(1);
		recv += (uint64_t)got;
		if (got == 0 && pushed == 0)
			ring_cq_wait(r, 0, -1);
	}
	double sec = (now_ns() - t0) / 1e9;
	reap(pid);
	ring_region_destroy(r);
	return (double)n * CS_MAX_IO / sec / 1e9;
}

/* The rings' own cost: one thread pushes and pops both directions (no
 * wake-ups, no cross-CPU traffic); ns per descriptor round trip. */
static double bench_ring_inproc(uint64_t n, unsigned window)
{
	struct ring_region *r = mkring(window, window, 4096);
	struct cs_sqe s[BATCH], so[BATCH];
	struct cs_cqe c[BATCH] = {{0}}, co[BATCH];
	for (unsigned i = 0; i < BATCH; i++)
		s[i] = mksqe(i, i, 0);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k += BATCH) {
		for (unsigned i = 0; i < BATCH; i++) {
			s[i].id = k + i;
			s[i].slot = (uint32_t)((k + i) % window);
		}
		if (ring_sq_push(r, 0, s, BATCH) != BATCH ||
		    ring_sq_pop(r, 0, so, BATCH) != BATCH)
			exit(1);
		for (unsigned i = 0; i < BATCH; i++) {
			c[i].id = so[i].id;
			c[i].slot = so[i].slot;
		}
		if (ring_cq_push(r, 0, c, BATCH) != BATCH ||
		    ring_cq_pop(r, 0, co, BATCH) != BATCH || co[0].id != k)
			exit(1);
	}
	double ns = (double)(now_ns() - t0) / (double)n;
	ring_region_destroy(r);
	return ns;
}

/* --- yardsticks ----------------------------------------------------- */

static long futex(uint32_t *a, int op, uint32_t v)
{
	return syscall(SYS_futex, a, op, v, NULL, NULL, 0);
}

struct futex_job {
	uint32_t *w;
	uint64_t iters;
};

/* Bare ping-pong: client writes odd values, server answers even ones;
 * every step wakes the other (non-private futex, shared mapping). */
static int futex_server(void *arg)
{
	struct futex_job *j = arg;
	for (uint64_t i = 0; i < j->iters; i++) {
		uint32_t want = (uint32_t)(2 * i + 1), v;
		while ((v = __atomic_load_n(j->w, __ATOMIC_ACQUIRE)) != want)
			futex(j->w, FUTEX_WAIT, v);
		__atomic_store_n(j->w, want + 1, __ATOMIC_RELEASE);
		futex(j->w, FUTEX_WAKE, 1);
	}
	return 0;
}

static void bench_futex_latency(enum place pl, uint64_t iters, double *med,
				double *p99)
{
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		exit(1);
	*w = 0;
	struct futex_job j = {w, iters + 1000};
	uint64_t *lat = calloc(iters, sizeof(*lat));
	pin2(pl);
	pid_t pid = spawn(futex_server, &j);
	for (uint64_t i = 0; i < iters + 1000; i++) {
		uint32_t want = (uint32_t)(2 * i + 2), v;
		uint64_t t0 = now_ns();
		__atomic_store_n(w, want - 1, __ATOMIC_RELEASE);
		futex(w, FUTEX_WAKE, 1);
		while ((v = __atomic_load_n(w, __ATOMIC_ACQUIRE)) != want)
			futex(w, FUTEX_WAIT, v);
		if (i >= 1000)
			lat[i - 1000] = now_ns() - t0;
	}
	reap(pid);
	pin2(P_ANY);
	percentiles(lat, iters, med, p99);
	free(lat);
	munmap(w, 4096);
}

struct fd_job {
	int in, out;
	uint64_t n; /* messages */
	size_t msg; /* request size */
	size_t reply;
	unsigned window; /* most messages in flight */
	enum mode mode;	 /* M_SLEEP or M_AUTO */
	int touch;
};

/* read() under a waiting policy. M_AUTO: fd is non-blocking; retry with
 * sched_yield() for up to opt_auto ns (what the rings' adaptive spin
 * does), then poll() and retry. M_SLEEP: a plain blocking read. */
static ssize_t wait_read(int fd, void *buf, size_t len, enum mode m)
{
	if (m != M_AUTO)
		return read(fd, buf, len);
	uint64_t end = 0;
	for (;;) {
		ssize_t k = read(fd, buf, len);
		if (k >= 0 || errno != EAGAIN)
			return k;
		if (!end)
			end = now_ns() + opt_auto;
		if (now_ns() < end) {
			sched_yield();
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* write_full() on an fd that may be non-blocking (M_AUTO). */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t k = write(fd, buf, len);
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, -1);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Echo server over a byte stream: for every `msg` bytes read, one reply
 * of `reply` bytes; replies for everything read (at most a window) are
 * sent in one write, as the ring server completes everything it popped. */
static int fd_server(void *arg)
{
	struct fd_job *j = arg;
	size_t cap = j->msg * j->window;
	uint8_t *buf = malloc(cap), *rep = calloc(j->window, j->reply);
	uint64_t seen = 0;
	size_t partial = 0;
	if (!buf || !rep)
		return 3;
	if (j->mode == M_AUTO)
		fcntl(j->in, F_SETFL, O_NONBLOCK);
	while (seen < j->n) {
		ssize_t k = wait_read(j->in, buf, cap, j->mode);
		if (k <= 0)
			return 1;
		partial += (size_t)k;
		if (j->touch) {
			for (ssize_t off = 0; off < k; off += 4096)
				sink += buf[off];
		}
		uint64_t msgs = partial / j->msg;
		partial %= j->msg;
		while (msgs) {
			uint64_t m = msgs > j->window ? j->window : msgs;
			if (write_all(j->out, rep, m * j->reply) < 0)
				return 2;
			msgs -= m;
			seen += m;
		}
	}
	free(buf);
	free(rep);
	return 0;
}

/* A pipe pair or a socketpair whose buffers hold a whole window each
 * way, so neither side blocks on a full buffer before the window is out
 * (the ring has `window` entries). Client writes fds[1], server reads
 * fds[0]; server writes fds[3], client reads fds[2]. */
static void fd_open(int sock, size_t req_bytes, size_t rep_bytes, int fds[4])
{
	int a[2], c[2];
	if (sock) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0)
			exit(1);
		/* Room for the bytes plus per-write overhead; FORCE as
		 * root goes past net.core.wmem_max, else capped. */
		int sz =
		    (int)(2 * (req_bytes > rep_bytes ? req_bytes : rep_bytes) +
			  65536);
		for (int i = 0; i < 2; i++) {
			if (setsockopt(a[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz,
				       sizeof(sz)) < 0)
				setsockopt(a[i], SOL_SOCKET, SO_SNDBUF, &sz,
					   sizeof(sz));
		}
		fds[0] = a[0];
		fds[1] = a[1];
		fds[2] = dup(a[1]);
		fds[3] = dup(a[0]);
		return;
	}
	if (pipe(a) < 0 || pipe(c) < 0)
		exit(1);
	/* Best effort: above /proc/sys/fs/pipe-max-size it fails for
	 * non-root and the default 64 KiB stays. */
	fcntl(a[1], F_SETPIPE_SZ, (int)(req_bytes > 65536 ? req_bytes : 65536));
	fcntl(c[1], F_SETPIPE_SZ, (int)(rep_bytes > 65536 ? rep_bytes : 65536));
	fds[0] = a[0];
	fds[1] = a[1];
	fds[2] = c[0];
	fds[3] = c[1];
}

static void fd_close(int fds[4])
{
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

/* Client over pipes or a socketpair: batches of b requests of msg bytes,
 * at most window in flight; returns messages per second. */
static struct tput bench_fd_tput(int sock, uint64_t n, unsigned b, size_t msg,
				 unsigned window, enum mode m, enum place pl,
				 int touch)
{
	int fds[4];
	fd_open(sock, window * msg, window * MSG_CQE, fds);
	struct fd_job j = {.in = fds[0],
			   .out = fds[3],
			   .n = n,
			   .msg = msg,
			   .reply = MSG_CQE,
			   .window = window,
			   .mode = m,
			   .touch = touch};
	pin2(pl);
	pid_t pid = spawn(fd_server, &j);
	uint8_t *out = calloc(b, msg), *in = malloc(window * MSG_CQE);
	uint64_t sent = 0, recv = 0;
	size_t partial = 0;
	if (m == M_AUTO)
		fcntl(fds[2], F_SETFL, O_NONBLOCK);
	uint64_t t0 = now_ns();
	while (recv < n) {
		while (sent - recv + b <= window && sent < n) {
			unsigned want = b;
			if (want > n - sent)
				want = (unsigned)(n - sent);
			if (write_all(fds[1], out, want * msg) < 0)
				exit(1);
			sent += want;
		}
		ssize_t k = wait_read(fds[2], in, window * MSG_CQE, m);
		if (k <= 0)
			exit(1);
		partial += (size_t)k;
		recv += partial / MSG_CQE;
		partial %= MSG_CQE;
	}
	double sec = (now_ns() - t0) / 1e9;
	reap(pid);
	pin2(P_ANY);
	free(out);
	free(in);
	fd_close(fds);
	return tput_of(n, sec);
}

/* One 64-byte message there, 32 back, one at a time. */
static double bench_fd_latency(int sock, uint64_t iters)
{
	uint64_t n = iters + 1000;
	int fds[4];
	fd_open(sock, 64 * MSG_SQE, 64 * MSG_CQE, fds);
	struct fd_job j = {.in = fds[0],
			   .out = fds[3],
			   .n = n,
			   .msg = MSG_SQE,
			   .reply = MSG_CQE,
			   .window = 1};
	pid_t pid = spawn(fd_server, &j);
	uint64_t *lat = calloc(iters, sizeof(*lat));
	uint8_t msg[MSG_SQE] = {0}, rep[MSG_CQE];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		if (write_full(fds[1], msg, sizeof(msg)) < 0 ||
		    read_full(fds[2], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			exit(1);
		if (i >= 1000)
			lat[i - 1000] = now_ns() - t0;
	}
	reap(pid);
	double med, p99;
	percentiles(lat, iters, &med, &p99);
	free(lat);
	fd_close(fds);
	return med;
}

/* --- driver --------------------------------------------------------- */

static void print_tput(const char *test, unsigned window, const char *mode,
		       enum place pl, struct tput t)
{
	printf("ringbench test=%s batch=%d window=%u wait=%s cpus=%s "
	       "mdesc_per_s=%.2f ns_per_desc=%.1f cpu_ns_per_desc=%.1f "
	       "csw_per_1000=%.2f\n",
	       test, BATCH, window, mode, place_name[pl], t.mps, 1e3 / t.mps,
	       t.cpu_ns, t.csw);
}

static void row(const char *what, struct tput ring, const char *yname,
		struct tput y)
{
	printf("| %s | %.2f | %s %.2f | %.1fx | %.0f / %.0f | %.1f / %.1f |\n",
	       what, ring.mps, yname, y.mps, ring.mps / y.mps, ring.cpu_ns,
	       y.cpu_ns, ring.csw, y.csw);
}

static int parse_windows(const char *s)
{
	opt_nwindows = 0;
	while (*s && opt_nwindows < MAX_WINDOWS) {
		char *e;
		unsigned long w = strtoul(s, &e, 10);
		if (e == s || w < BATCH || w > MAX_WINDOW || (w & (w - 1)))
			return -1;
		opt_windows[opt_nwindows++] = (unsigned)w;
		s = *e == ',' ? e + 1 : e;
		if (*e && *e != ',')
			return -1;
	}
	return opt_nwindows ? 0 : -1;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quick") == 0) {
			opt_quick = 1;
			opt_trials = 1;
		} else if (strncmp(a, "--spin=", 7) == 0) {
			opt_spin = (uint32_t)strtoul(a + 7, NULL, 10);
		} else if (strncmp(a, "--auto=", 7) == 0) {
			opt_auto = (uint32_t)strtoul(a + 7, NULL, 10);
		} else if (strncmp(a, "--only=", 7) == 0) {
			opt_only = a + 7;
		} else if (strncmp(a, "--trials=", 9) == 0) {
			opt_trials = atoi(a + 9);
			if (opt_trials < 1)
				opt_trials = 1;
		} else if (strncmp(a, "--window=", 9) == 0 &&
			   parse_windows(a + 9) == 0 && opt_nwindows == 1) {
			opt_window = opt_windows[0];
			opt_windows[0] = 256;
			opt_windows[1] = 1024;
			opt_windows[2] = 4096;
			opt_nwindows = 3;
		} else if (strncmp(a, "--windows=", 10) == 0 &&
			   parse_windows(a + 10) == 0) {
		} else {
			fprintf(stderr,
				"usage: %s [--quick] [--trials=N] "
				"[--window=N] [--windows=N,..] [--spin=NS] "
				"[--auto=NS] "
				"[--only=lat,inproc,tput,place,windows,"
				"slots]\n",
				argv[0]);
			return 2;
		}
	}
	if (opt_auto == 0)
		opt_auto = 1;
	const uint64_t lat_n = opt_quick ? 2000 : 20000;
	const uint64_t spin_n = opt_quick ? 20000 : 200000;
	const uint64_t tput_n = opt_quick ? 200000 : 2000000;
	const uint64_t fd_n = opt_quick ? 100000 : 500000;
	const uint64_t slot_n = opt_quick ? 500 : 5000;
	const unsigned W = opt_window;
	double m, p;

	printf("# ringbench: %s, %ld CPUs, trials=%d, batch=%d, window=%u, "
	       "spin_ns=%u, auto_ns=%u\n",
	       opt_quick ? "quick" : "full", sysconf(_SC_NPROCESSORS_ONLN),
	       opt_trials, BATCH, W, opt_spin, opt_auto);

	/* Latency, unpinned: median/p99 of the run with the best median. */
	double lf = 1e30, lf99 = 0, ls = 1e30, ls99 = 0, la = 1e30, la99 = 0;
	double lb = 1e30, lb99 = 0, lpipe = 1e30, lsock = 1e30;
	if (want("lat")) {
		for (int t = 0; t < opt_trials; t++) {
			bench_futex_latency(P_ANY, lat_n, &m, &p);
			if (m < lf)
				lf = m, lf99 = p;
			bench_ring_latency(M_SLEEP, P_ANY, lat_n, &m, &p);
			if (m < ls)
				ls = m, ls99 = p;
			bench_ring_latency(M_AUTO, P_ANY, lat_n, &m, &p);
			if (m < la)
				la = m, la99 = p;
			bench_ring_latency(M_BUSY, P_SPLIT, spin_n, &m, &p);
			if (m < lb)
				lb = m, lb99 = p;
			m = bench_fd_latency(0, lat_n);
			if (m < lpipe)
				lpipe = m;
			m = bench_fd_latency(1, lat_n);
			if (m < lsock)
				lsock = m;
		}
		printf("ringbench test=lat_futex_pingpong median_us=%.2f "
		       "p99_us=%.2f\n",
		       lf, lf99);
		printf("ringbench test=lat_ring wait=sleep median_us=%.2f "
		       "p99_us=%.2f\n",
		       ls, ls99);
		printf("ringbench test=lat_ring wait=auto median_us=%.2f "
		       "p99_us=%.2f\n",
		       la, la99);
		printf("ringbench test=lat_ring wait=busy cpus=split "
		       "median_us=%.3f p99_us=%.3f\n",
		       lb, lb99);
		printf("ringbench test=lat_pipe median_us=%.2f\n", lpipe);
		printf("ringbench test=lat_socketpair median_us=%.2f\n", lsock);
		fflush(stdout);
	}

	double inproc = 1e30;
	if (want("inproc") || want("place")) {
		for (int t = 0; t < opt_trials; t++) {
			double ns = bench_ring_inproc(tput_n, W);
			if (ns < inproc)
				inproc = ns;
		}
		printf("ringbench test=inproc_push_pop batch=%d "
		       "ns_per_desc=%.1f\n",
		       BATCH, inproc);
		fflush(stdout);
	}

	/* Throughput at window W, unpinned (as the daemons run). */
	struct tput t_sleep = {0}, t_auto = {0}, t_spin = {0}, t_busy = {0};
	struct tput t_kick1 = {0}, t_pipe = {0}, t_sock = {0};
	struct tput t_sock_auto = {0};
	if (want("tput")) {
		for (int t = 0; t < opt_trials; t++) {
			keep_best(&t_sleep, bench_ring_tput(tput_n, BATCH, W,
							    M_SLEEP, P_ANY));
			keep_best(&t_auto, bench_ring_tput(tput_n, BATCH, W,
							   M_AUTO, P_ANY));
			keep_best(&t_spin, bench_ring_tput(tput_n, BATCH, W,
							   M_SPIN, P_ANY));
			keep_best(&t_busy, bench_ring_tput(tput_n, BATCH, W,
							   M_BUSY, P_SPLIT));
			keep_best(&t_kick1,
				  bench_ring_tput(fd_n, 1, W, M_SLEEP, P_ANY));
			keep_best(&t_pipe,
				  bench_fd_tput(0, fd_n, BATCH, MSG_SQE, W,
						M_SLEEP, P_ANY, 0));
			keep_best(&t_sock,
				  bench_fd_tput(1, fd_n, BATCH, MSG_SQE, W,
						M_SLEEP, P_ANY, 0));
			keep_best(&t_sock_auto,
				  bench_fd_tput(1, fd_n, BATCH, MSG_SQE, W,
						M_AUTO, P_ANY, 0));
		}
		print_tput("tput_ring", W, "sleep", P_ANY, t_sleep);
		print_tput("tput_ring", W, "auto", P_ANY, t_auto);
		print_tput("tput_ring", W, "spin", P_ANY, t_spin);
		print_tput("tput_ring", W, "busy", P_SPLIT, t_busy);
		printf("ringbench test=tput_ring_kick_each batch=1 window=%u "
		       "wait=sleep mdesc_per_s=%.2f\n",
		       W, t_kick1.mps);
		print_tput("tput_pipe", W, "sleep", P_ANY, t_pipe);
		print_tput("tput_socketpair", W, "sleep", P_ANY, t_sock);
		print_tput("tput_socketpair", W, "auto", P_ANY, t_sock_auto);
		fflush(stdout);
	}

	/* Both placements made explicit: one CPU for both processes (what
	 * this VM's scheduler often does unpinned), or one CPU each. */
	struct placed {
		double futex_us;
		struct tput sleep, autos, busy, sock, sock_auto;
	} pc[3] = {{0}};
	const enum place places[2] = {P_SAME, P_SPLIT};
	if (want("place")) {
		for (int k = 0; k < 2; k++) {
			enum place pl = places[k];
			struct placed *x = &pc[pl];
			x->futex_us = 1e30;
			for (int t = 0; t < opt_trials; t++) {
				bench_futex_latency(pl, lat_n, &m, &p);
				if (m < x->futex_us)
					x->futex_us = m;
				keep_best(&x->sleep,
					  bench_ring_tput(tput_n, BATCH, W,
							  M_SLEEP, pl));
				keep_best(&x->autos,
					  bench_ring_tput(tput_n, BATCH, W,
							  M_AUTO, pl));
				if (pl == P_SPLIT)
					keep_best(&x->busy, bench_ring_tput(
								tput_n, BATCH,
								W, M_BUSY, pl));
				keep_best(&x->sock,
					  bench_fd_tput(1, fd_n, BATCH, MSG_SQE,
							W, M_SLEEP, pl, 0));
				keep_best(&x->sock_auto,
					  bench_fd_tput(1, fd_n, BATCH, MSG_SQE,
							W, M_AUTO, pl, 0));
			}
			printf("ringbench test=lat_futex_pingpong cpus=%s "
			       "median_us=%.2f\n",
			       place_name[pl], x->futex_us);
			print_tput("tput_ring", W, "sleep", pl, x->sleep);
			print_tput("tput_ring", W, "auto", pl, x->autos);
			if (pl == P_SPLIT)
				print_tput("tput_ring", W, "busy", pl, x->busy);
			print_tput("tput_socketpair", W, "sleep", pl, x->sock);
			print_tput("tput_socketpair", W, "auto", pl,
				   x->sock_auto);
			fflush(stdout);
		}
	}

	/* Window sweep on one CPU (the placement where windows matter: each
	 * window costs two process switches). */
	struct tput w_ring[MAX_WINDOWS] = {{0}}, w_sock[MAX_WINDOWS] = {{0}};
	struct tput w_sock_auto[MAX_WINDOWS] = {{0}};
	if (want("windows")) {
		for (unsigned k = 0; k < opt_nwindows; k++) {
			unsigned w = opt_windows[k];
			/* Enough descriptors for ~100 windows at least. */
			uint64_t rn = tput_n > 100ull * w ? tput_n : 100ull * w;
			uint64_t fn = fd_n > 100ull * w ? fd_n : 100ull * w;
			for (int t = 0; t < opt_trials; t++) {
				keep_best(&w_ring[k],
					  bench_ring_tput(rn, BATCH, w, M_SLEEP,
							  P_SAME));
				keep_best(&w_sock[k],
					  bench_fd_tput(1, fn, BATCH, MSG_SQE,
							w, M_SLEEP, P_SAME, 0));
				keep_best(&w_sock_auto[k],
					  bench_fd_tput(1, fn, BATCH, MSG_SQE,
							w, M_AUTO, P_SAME, 0));
			}
			print_tput("tput_ring", w, "sleep", P_SAME, w_ring[k]);
			print_tput("tput_socketpair", w, "sleep", P_SAME,
				   w_sock[k]);
			print_tput("tput_socketpair", w, "auto", P_SAME,
				   w_sock_auto[k]);
			fflush(stdout);
		}
	}

	double gbps_ring = 0, gbps_sock = 0;
	if (want("slots")) {
		for (int t = 0; t < opt_trials; t++) {
			double g = bench_ring_slots(slot_n);
			if (g > gbps_ring)
				gbps_ring = g;
			struct tput s = bench_fd_tput(
			    1, slot_n / 2, 1, CS_MAX_IO, 4, M_SLEEP, P_ANY, 1);
			g = s.mps * 1e6 * CS_MAX_IO / 1e9;
			if (g > gbps_sock)
				gbps_sock = g;
		}
		printf("ringbench test=slots_1mib_touch gbps=%.2f\n",
		       gbps_ring);
		printf("ringbench test=socketpair_1mib_copy gbps=%.2f\n",
		       gbps_sock);
	}

	printf("\n| measure | rings | yardstick | ratio |\n"
	       "|---|---:|---:|---:|\n");
	if (want("lat")) {
		printf("| round trip, peer sleeps (median us) | %.2f | futex "
		       "ping-pong %.2f | %.2fx |\n",
		       ls, lf, ls / lf);
		printf("| round trip, peer sleeps (p99 us) | %.2f | futex "
		       "ping-pong %.2f | %.2fx |\n",
		       ls99, lf99, ls99 / lf99);
		printf("| round trip, adaptive spin (median us) | %.2f | futex "
		       "ping-pong %.2f | %.2fx |\n",
		       la, lf, la / lf);
		printf("| round trip, peer sleeps (median us) | %.2f | pipe "
		       "%.2f / socketpair %.2f | %.2fx / %.2fx |\n",
		       ls, lpipe, lsock, ls / lpipe, ls / lsock);
		printf("| round trip, both busy, 2 CPUs (median us) | %.3f | "
		       "futex ping-pong %.2f | %.3fx |\n",
		       lb, lf, lb / lf);
	}
	if (want("inproc") && want("tput"))
		printf("| rings' own cost: sqe+cqe push+pop, one thread "
		       "(ns/desc) | %.1f | socketpair %.1f ns/desc | %.1fx "
		       "|\n",
		       inproc, 1e3 / t_sock.mps, (1e3 / t_sock.mps) / inproc);
	if (want("slots"))
		printf("| 1 MiB slots, 4 KiB touch (GB/s) | %.2f | socketpair "
		       "copy %.2f | %.1fx |\n",
		       gbps_ring, gbps_sock, gbps_ring / gbps_sock);

	printf("\nBatched throughput (M desc/s), batch %d; cost columns: CPU "
	       "ns per descriptor and context switches per 1000, ring / "
	       "yardstick. \"same spin\": the socketpair polls with "
	       "non-blocking reads and sched_yield() for up to %u ns before "
	       "it blocks, as the rings' adaptive spin does.\n\n"
	       "| measure | rings | yardstick | ratio | CPU ns | csw |\n"
	       "|---|---:|---:|---:|---:|---:|\n",
	       BATCH, opt_auto);
	char what[128];
	struct tput best_sock =
	    t_sock.mps > t_sock_auto.mps ? t_sock : t_sock_auto;
	if (want("tput")) {
		snprintf(what, sizeof(what), "window %u, unpinned, sleeping",
			 W);
		row(what, t_sleep, "socketpair", t_sock);
		snprintf(what, sizeof(what),
			 "window %u, unpinned, adaptive spin", W);
		row(what, t_auto, "socketpair", t_sock);
		row(what, t_auto, "socketpair, same spin", t_sock_auto);
		snprintf(what, sizeof(what),
			 "window %u, unpinned, fixed spin %u ns", W, opt_spin);
		row(what, t_spin, "best socketpair", best_sock);
		snprintf(what, sizeof(what), "window %u, both busy, 2 CPUs", W);
		row(what, t_busy, "best socketpair", best_sock);
		snprintf(what, sizeof(what), "window %u, unpinned, sleeping",
			 W);
		row(what, t_sleep, "pipe", t_pipe);
	}
	if (want("place")) {
		for (int k = 0; k < 2; k++) {
			enum place pl = places[k];
			struct placed *x = &pc[pl];
			const char *where = pl == P_SAME ? "one CPU" : "2 CPUs";
			snprintf(what, sizeof(what), "window %u, %s, sleeping",
				 W, where);
			row(what, x->sleep, "socketpair", x->sock);
			snprintf(what, sizeof(what),
				 "window %u, %s, adaptive spin", W, where);
			row(what, x->autos, "socketpair", x->sock);
			row(what, x->autos, "socketpair, same spin",
			    x->sock_auto);
			if (pl == P_SPLIT) {
				snprintf(what, sizeof(what),
					 "window %u, %s, both busy", W, where);
				row(what, x->busy, "socketpair, same spin",
				    x->sock_auto);
			}
		}
	}
	if (want("windows")) {
		for (unsigned k = 0; k < opt_nwindows; k++) {
			snprintf(what, sizeof(what),
				 "window %u, one CPU, sleeping",
				 opt_windows[k]);
			row(what, w_ring[k], "socketpair", w_sock[k]);
			row(what, w_ring[k], "socketpair, same spin",
			    w_sock_auto[k]);
		}
	}
	/* From the same run. One CPU: the processes take turns, so every
	 * window costs at least a switch each way, i.e. a bare futex round
	 * trip, plus the rings' own work per descriptor. Two CPUs: the
	 * reference without any wake-up, both sides polling. */
	if (want("place")) {
		struct placed *x = &pc[P_SAME];
		double best = x->sock.mps > x->sock_auto.mps ? x->sock.mps
							     : x->sock_auto.mps;
		double floor_ns = x->futex_us * 1e3 / W + inproc;
		printf("\nOne-CPU bound at window %u: >= %.1f ns/desc (futex "
		       "round trip %.2f us / %u + own cost %.1f ns) = <= %.1f "
		       "M/s = <= %.1fx the best socketpair (%.2f M/s)\n",
		       W, floor_ns, x->futex_us, W, inproc, 1e3 / floor_ns,
		       (1e3 / floor_ns) / best, best);
		printf(
		    "ringbench test=bound_one_cpu window=%u ns_per_desc=%.1f "
		    "max_ratio=%.2f\n",
		    W, floor_ns, (1e3 / floor_ns) / best);
		x = &pc[P_SPLIT];
		best = x->sock.mps > x->sock_auto.mps ? x->sock.mps
						      : x->sock_auto.mps;
		/* An upper bound only while nothing else wants those two
		 * CPUs: a poller that never yields loses to a time-sharing
		 * neighbour. */
		printf("Two CPUs, no waiting at all (both busy) at window %u: "
		       "%.2f M/s = %.1fx the best socketpair (%.2f M/s)\n",
		       W, x->busy.mps, x->busy.mps / best, best);
		printf("ringbench test=ref_two_cpus_busy window=%u "
		       "ratio=%.2f\n",
		       W, x->busy.mps / best);
	}
	return 0;
}
