/* SPDX-License-Identifier: MIT */
/*
 * ringbench: the proto/ rings between two processes, against yardsticks
 * measured in the same run (bare futex ping-pong, pipe, unix socketpair).
 *
 *   ringbench [--quick] [--pin] [--trials=N]
 *
 * Every result is one machine-readable line "ringbench test=... k=v ...",
 * then a Markdown table with the ratios the design asks for. Wall-clock
 * times (CLOCK_MONOTONIC): both processes are part of what is measured.
 * --pin puts the client on CPU 0 and the server on CPU 1 (on a VM every
 * wake-up then is a cross-vCPU IPI: much slower; unpinned is how the
 * daemons run). --spin sets ring_set_spin() for the default-spin rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

#define MSG_SQE 64 /* bytes of a submission, same for the yardsticks */
#define MSG_CQE 32
#define BATCH	32
#define WINDOW	256

static int opt_quick, opt_pin, opt_trials = 3;
static uint32_t opt_spin = 5000;

struct results {
	double lat_futex_med, lat_futex_p99;
	double lat_sleep_med, lat_sleep_p99;
	double lat_spin_med, lat_spin_p99;
	double lat_pipe_med, lat_sock_med;
	double tput_ring, tput_pipe, tput_sock, tput_ring_nobatch;
	double tput_ring_spin, tput_ring_busy, inproc_ns;
	double gbps_ring, gbps_sock;
};

static void pin_force(int cpu, int force)
{
	if ((!opt_pin && !force) || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void pin(int cpu)
{
	pin_force(cpu, 0);
}

/* Busy-polling both sides only makes sense on two CPUs: the busy tests
 * pin the client to CPU 0 (the server pins itself to CPU 1), then undo. */
static void unpin(void)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE;
	     i++)
		CPU_SET(i, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static int busy_pin;

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

/* Runs server(arg) in a child pinned to CPU 1; returns its pid. */
static pid_t spawn(int (*server)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		pin_force(1, busy_pin);
		alarm(120);
		_exit(server(arg));
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "ringbench: server %d failed (status %#x)\n",
			(int)pid, st);
		return -1;
	}
	return 0;
}

/* --- ring setup ----------------------------------------------------- */

struct ring_job {
	struct ring_region *r;
	uint64_t n;	  /* descriptors the server will see */
	int spin;	  /* server busy-polls instead of sleeping */
	uint32_t spin_ns; /* ring_set_spin() before sleeping */
	int touch;	  /* server reads each 4 KiB extent's first line */
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

/* The cryptod side: attach through the fd, pop, (touch), complete. */
static int ring_server(void *arg)
{
	struct ring_job *j = arg;
	struct ring_region *r = NULL;
	if (ring_region_attach(&r, ring_region_fd(j->r)) < 0)
		return 1;
	ring_set_spin(r, j->spin_ns);
	static struct cs_sqe s[WINDOW];
	static struct cs_cqe c[WINDOW];
	uint64_t seen = 0;
	while (seen < j->n) {
		int n = ring_sq_pop(r, 0, s, WINDOW);
		if (n < 0)
			return 2;
		if (n == 0) {
			if (j->spin)
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

/* Round-trip latency of one descriptor; spin: both sides busy-poll. */
static void bench_ring_latency(int spin, uint64_t iters, double *med,
			       double *p99)
{
	struct ring_region *r = mkring(64, 64, 4096);
	/* "Peer sleeps": no spinning before the futex sleep either. */
	ring_set_spin(r, 0);
	struct ring_job j = {.r = r, .n = iters + 1000, .spin = spin};
	uint64_t *lat = calloc(iters, sizeof(*lat));
	busy_pin = spin;
	if (spin)
		pin_force(0, 1);
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
			if (spin)
				cpu_relax();
			else
				ring_cq_wait(r, 0, -1);
		}
		if (i >= 1000) /* warm-up */
			lat[i - 1000] = now_ns() - t0;
	}
	reap(pid);
	if (spin && !opt_pin)
		unpin();
	busy_pin = 0;
	percentiles(lat, iters, med, p99);
	free(lat);
	ring_region_destroy(r);
}

/* Descriptors per second through request + completion, batch b per
 * kick, at most WINDOW in flight (slots bound the frontend the same way). */
static uint64_t client_waits;

static double bench_ring_tput(uint64_t n, unsigned b, uint32_t spin_ns,
			      int busy)
{
	client_waits = 0;
	struct ring_region *r = mkring(WINDOW, WINDOW, 4096);
	ring_set_spin(r, spin_ns);
	struct ring_job j = {.r = r, .n = n, .spin_ns = spin_ns, .spin = busy};
	busy_pin = busy;
	if (busy)
		pin_force(0, 1);
	pid_t pid = spawn(ring_server, &j);
	struct cs_sqe s[BATCH];
	static struct cs_cqe c[WINDOW];
	for (unsigned i = 0; i < BATCH; i++)
		s[i] = mksqe(i, i, 0);
	uint64_t sent = 0, recv = 0, t0 = now_ns();
	while (recv < n) {
		unsigned pushed = 0;
		while (sent - recv + b <= WINDOW && sent < n) {
			unsigned want = b;
			if (want > n - sent)
				want = (unsigned)(n - sent);
			/* Like the socketpair client, which resends one
			 * buffer: only id and slot change per request. */
			for (unsigned i = 0; i < want; i++) {
				s[i].id = sent + i;
				s[i].slot = (uint32_t)((sent + i) % WINDOW);
			}
			unsigned k = ring_sq_push(r, 0, s, want);
			sent += k;
			pushed += k;
			if (k < want)
				break;
		}
		if (pushed)
			ring_sq_kick(r, 0);
		int got = ring_cq_pop(r, 0, c, WINDOW);
		if (got < 0)
			exit(1);
		for (int i = 0; i < got; i++)
			if (c[i].id != recv++)
				exit(1);
		if (got == 0 && pushed == 0) {
			client_waits++;
			if (busy)
				cpu_relax();
			else
				ring_cq_wait(r, 0, -1);
		}
	}
	double sec = (now_ns() - t0) / 1e9;
	reap(pid);
	if (busy && !opt_pin)
		unpin();
	busy_pin = 0;
	ring_region_destroy(r);
	if (getenv("RINGBENCH_DEBUG"))
		fprintf(stderr,
			"tput b=%u spin=%u: %.0f desc per client wait\n", b,
			spin_ns, (double)n / (client_waits ? client_waits : 1));
	return n / sec;
}

/* GB/s of 1 MiB slots handed over, each 4 KiB extent touched. */
static double bench_ring_slots(uint64_t n, uint32_t spin_ns)
{
	const uint32_t nslots = 16;
	struct ring_region *r = mkring(64, nslots, CS_SLOT_SIZE_DEFAULT);
	ring_set_spin(r, spin_ns);
	for (uint32_t i = 0; i < nslots; i++) /* fault the slab in */
		memset(ring_slot(r, i), (int)i, CS_SLOT_SIZE_DEFAULT);
	struct ring_job j = {.r = r, .n = n, .touch = 1, .spin_ns = spin_ns};
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
static double bench_ring_inproc(uint64_t n)
{
	struct ring_region *r = mkring(WINDOW, WINDOW, 4096);
	struct cs_sqe s[BATCH], so[BATCH];
	struct cs_cqe c[BATCH] = {{0}}, co[BATCH];
	for (unsigned i = 0; i < BATCH; i++)
		s[i] = mksqe(i, i, 0);
	uint64_t t0 = now_ns();
	for (uint64_t k = 0; k < n; k += BATCH) {
		for (unsigned i = 0; i < BATCH; i++) {
			s[i].id = k + i;
			s[i].slot = (uint32_t)((k + i) % WINDOW);
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

static void bench_futex_latency(uint64_t iters, double *med, double *p99)
{
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		exit(1);
	*w = 0;
	struct futex_job j = {w, iters + 1000};
	uint64_t *lat = calloc(iters, sizeof(*lat));
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
	percentiles(lat, iters, med, p99);
	free(lat);
	munmap(w, 4096);
}

struct fd_job {
	int in, out;
	uint64_t n; /* messages */
	size_t msg; /* request size */
	size_t reply;
	int touch;
};

/* Echo server over a byte stream: for every `msg` bytes read, one reply
 * of `reply` bytes; replies for everything read are sent in one write. */
static int fd_server(void *arg)
{
	struct fd_job *j = arg;
	size_t cap = j->msg > 64 * MSG_SQE ? j->msg : 256 * MSG_SQE;
	uint8_t *buf = malloc(cap), *rep = calloc(256, j->reply);
	uint64_t seen = 0;
	size_t partial = 0;
	while (seen < j->n) {
		ssize_t k =
		    read(j->in, buf, j->msg > cap ? cap : cap - (cap % j->msg));
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
			uint64_t m = msgs > 256 ? 256 : msgs;
			if (write_full(j->out, rep, m * j->reply) < 0)
				return 2;
			msgs -= m;
			seen += m;
		}
	}
	free(buf);
	free(rep);
	return 0;
}

/* Client over pipes or a socketpair: batches of b requests, WINDOW in
 * flight; returns messages per second. */
static double bench_fd_tput(int sock, uint64_t n, unsigned b, size_t msg,
			    unsigned window, int touch)
{
	int a[2], c[2];
	if (sock) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0)
			exit(1);
		c[0] = a[1];
		c[1] = a[0];
	} else if (pipe(a) < 0 || pipe(c) < 0) {
		exit(1);
	}
	/* client writes a[1], server reads a[0]; server writes c[1], client
	 * reads c[0]. A socketpair is one fd per side. */
	struct fd_job j = {.in = a[0],
			   .out = c[1],
			   .n = n,
			   .msg = msg,
			   .reply = MSG_CQE,
			   .touch = touch};
	pid_t pid = spawn(fd_server, &j);
	uint8_t *out = calloc(b, msg), *in = malloc(window * MSG_CQE);
	uint64_t sent = 0, recv = 0;
	size_t partial = 0;
	uint64_t t0 = now_ns();
	while (recv < n) {
		while (sent - recv + b <= window && sent < n) {
			unsigned want = b;
			if (want > n - sent)
				want = (unsigned)(n - sent);
			if (write_full(a[1], out, want * msg) < 0)
				exit(1);
			sent += want;
		}
		ssize_t k = read(c[0], in, window * MSG_CQE);
		if (k <= 0)
			exit(1);
		partial += (size_t)k;
		recv += partial / MSG_CQE;
		partial %= MSG_CQE;
	}
	double sec = (now_ns() - t0) / 1e9;
	reap(pid);
	free(out);
	free(in);
	close(a[0]);
	close(a[1]);
	if (!sock) {
		close(c[0]);
		close(c[1]);
	}
	return n / sec;
}

/* One 64-byte message there, 32 back, one at a time. */
static double bench_fd_latency(int sock, uint64_t iters)
{
	uint64_t n = iters + 1000;
	int a[2], c[2];
	if (sock) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0)
			exit(1);
		c[0] = a[1];
		c[1] = a[0];
	} else if (pipe(a) < 0 || pipe(c) < 0) {
		exit(1);
	}
	struct fd_job j = {
	    .in = a[0], .out = c[1], .n = n, .msg = MSG_SQE, .reply = MSG_CQE};
	pid_t pid = spawn(fd_server, &j);
	uint64_t *lat = calloc(iters, sizeof(*lat));
	uint8_t m[MSG_SQE] = {0}, rep[MSG_CQE];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		if (write_full(a[1], m, sizeof(m)) < 0 ||
		    read_full(c[0], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			exit(1);
		if (i >= 1000)
			lat[i - 1000] = now_ns() - t0;
	}
	reap(pid);
	double med, p99;
	percentiles(lat, iters, &med, &p99);
	free(lat);
	close(a[0]);
	close(a[1]);
	if (!sock) {
		close(c[0]);
		close(c[1]);
	}
	return med;
}

/* --- driver --------------------------------------------------------- */

static double best(double a, double b)
{
	return a > b ? a : b;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			opt_quick = 1;
			opt_trials = 1;
		} else if (strncmp(argv[i], "--spin=", 7) == 0) {
			opt_spin = (uint32_t)strtoul(argv[i] + 7, NULL, 10);
		} else if (strcmp(argv[i], "--pin") == 0) {
			opt_pin = 1;
		} else if (strncmp(argv[i], "--trials=", 9) == 0) {
			opt_trials = atoi(argv[i] + 9);
			if (opt_trials < 1)
				opt_trials = 1;
		} else {
			fprintf(stderr,
				"usage: %s [--quick] [--pin] "
				"[--trials=N] [--spin=NS]\n",
				argv[0]);
			return 2;
		}
	}
	if (opt_pin)
		pin(0);
	const uint64_t lat_n = opt_quick ? 2000 : 20000;
	const uint64_t spin_n = opt_quick ? 20000 : 200000;
	const uint64_t tput_n = opt_quick ? 200000 : 2000000;
	const uint64_t fd_n = opt_quick ? 100000 : 500000;
	const uint64_t slot_n = opt_quick ? 500 : 5000;
	struct results R = {0};
	double m, p;

	printf("# ringbench: %s, %ld CPUs, pin=%d, trials=%d, batch=%d, "
	       "window=%d, spin_ns=%u\n",
	       opt_quick ? "quick" : "full", sysconf(_SC_NPROCESSORS_ONLN),
	       opt_pin, opt_trials, BATCH, WINDOW, opt_spin);
	/* Latency: median/p99 of each run; the run with the best median. */
	R.lat_futex_med = R.lat_sleep_med = R.lat_spin_med = 1e30;
	R.lat_pipe_med = R.lat_sock_med = 1e30;
	for (int t = 0; t < opt_trials; t++) {
		bench_futex_latency(lat_n, &m, &p);
		if (m < R.lat_futex_med)
			R.lat_futex_med = m, R.lat_futex_p99 = p;
		bench_ring_latency(0, lat_n, &m, &p);
		if (m < R.lat_sleep_med)
			R.lat_sleep_med = m, R.lat_sleep_p99 = p;
		bench_ring_latency(1, spin_n, &m, &p);
		if (m < R.lat_spin_med)
			R.lat_spin_med = m, R.lat_spin_p99 = p;
		m = bench_fd_latency(0, lat_n);
		if (m < R.lat_pipe_med)
			R.lat_pipe_med = m;
		m = bench_fd_latency(1, lat_n);
		if (m < R.lat_sock_med)
			R.lat_sock_med = m;
	}
	printf("ringbench test=lat_futex_pingpong median_us=%.2f p99_us=%.2f\n",
	       R.lat_futex_med, R.lat_futex_p99);
	printf("ringbench test=lat_ring_sleep median_us=%.2f p99_us=%.2f\n",
	       R.lat_sleep_med, R.lat_sleep_p99);
	printf("ringbench test=lat_ring_spin median_us=%.3f p99_us=%.3f\n",
	       R.lat_spin_med, R.lat_spin_p99);
	printf("ringbench test=lat_pipe median_us=%.2f\n", R.lat_pipe_med);
	printf("ringbench test=lat_socketpair median_us=%.2f\n",
	       R.lat_sock_med);
	fflush(stdout);

	R.inproc_ns = 1e30;
	for (int t = 0; t < opt_trials; t++) {
		double ns = bench_ring_inproc(tput_n);
		if (ns < R.inproc_ns)
			R.inproc_ns = ns;
	}
	printf("ringbench test=inproc_push_pop batch=%d ns_per_desc=%.1f\n",
	       BATCH, R.inproc_ns);
	for (int t = 0; t < opt_trials; t++) {
		R.tput_ring =
		    best(R.tput_ring, bench_ring_tput(tput_n, BATCH, 0, 0));
		R.tput_ring_spin =
		    best(R.tput_ring_spin,
			 bench_ring_tput(tput_n, BATCH, opt_spin, 0));
		R.tput_ring_busy = best(R.tput_ring_busy,
					bench_ring_tput(tput_n, BATCH, 0, 1));
		R.tput_ring_nobatch =
		    best(R.tput_ring_nobatch, bench_ring_tput(fd_n, 1, 0, 0));
		R.tput_pipe =
		    best(R.tput_pipe,
			 bench_fd_tput(0, fd_n, BATCH, MSG_SQE, WINDOW, 0));
		R.tput_sock =
		    best(R.tput_sock,
			 bench_fd_tput(1, fd_n, BATCH, MSG_SQE, WINDOW, 0));
	}
	printf("ringbench test=tput_ring batch=%d spin_ns=0 mdesc_per_s=%.2f "
	       "ns_per_desc=%.1f\n",
	       BATCH, R.tput_ring / 1e6, 1e9 / R.tput_ring);
	printf("ringbench test=tput_ring batch=%d spin_ns=%u mdesc_per_s=%.2f "
	       "ns_per_desc=%.1f\n",
	       BATCH, opt_spin, R.tput_ring_spin / 1e6, 1e9 / R.tput_ring_spin);
	printf("ringbench test=tput_ring_busy batch=%d mdesc_per_s=%.2f "
	       "ns_per_desc=%.1f\n",
	       BATCH, R.tput_ring_busy / 1e6, 1e9 / R.tput_ring_busy);
	printf("ringbench test=tput_ring batch=1 spin_ns=0 mdesc_per_s=%.2f "
	       "ns_per_desc=%.1f\n",
	       R.tput_ring_nobatch / 1e6, 1e9 / R.tput_ring_nobatch);
	printf("ringbench test=tput_pipe batch=%d mdesc_per_s=%.2f\n", BATCH,
	       R.tput_pipe / 1e6);
	printf("ringbench test=tput_socketpair batch=%d mdesc_per_s=%.2f\n",
	       BATCH, R.tput_sock / 1e6);
	fflush(stdout);

	for (int t = 0; t < opt_trials; t++) {
		R.gbps_ring = best(R.gbps_ring, bench_ring_slots(slot_n, 0));
		R.gbps_sock = best(R.gbps_sock, bench_fd_tput(1, slot_n / 2, 1,
							      CS_MAX_IO, 4, 1) *
						    CS_MAX_IO / 1e9);
	}
	printf("ringbench test=slots_1mib_touch gbps=%.2f\n", R.gbps_ring);
	printf("ringbench test=socketpair_1mib_copy gbps=%.2f\n", R.gbps_sock);

	printf("\n| measure | rings | yardstick | ratio "
	       "|\n|---|---:|---:|---:|\n");
	printf("| round trip, peer sleeps (median us) | %.2f | futex ping-pong "
	       "%.2f | %.2fx |\n",
	       R.lat_sleep_med, R.lat_futex_med,
	       R.lat_sleep_med / R.lat_futex_med);
	printf("| round trip, peer sleeps (p99 us) | %.2f | futex ping-pong "
	       "%.2f | %.2fx |\n",
	       R.lat_sleep_p99, R.lat_futex_p99,
	       R.lat_sleep_p99 / R.lat_futex_p99);
	printf("| round trip, peer sleeps (median us) | %.2f | pipe %.2f / "
	       "socketpair %.2f | %.2fx / %.2fx |\n",
	       R.lat_sleep_med, R.lat_pipe_med, R.lat_sock_med,
	       R.lat_sleep_med / R.lat_pipe_med,
	       R.lat_sleep_med / R.lat_sock_med);
	printf("| round trip, both busy, 2 CPUs (median us) | %.3f | futex "
	       "ping-pong %.2f | %.3fx |\n",
	       R.lat_spin_med, R.lat_futex_med,
	       R.lat_spin_med / R.lat_futex_med);
	printf("| descriptors/s, batch %d, sleeping (M/s) | %.2f | socketpair "
	       "%.2f | %.1fx |\n",
	       BATCH, R.tput_ring / 1e6, R.tput_sock / 1e6,
	       R.tput_ring / R.tput_sock);
	printf("| descriptors/s, batch %d, sleeping (M/s) | %.2f | pipe %.2f | "
	       "%.1fx |\n",
	       BATCH, R.tput_ring / 1e6, R.tput_pipe / 1e6,
	       R.tput_ring / R.tput_pipe);
	printf("| descriptors/s, batch %d, spin %u ns (M/s) | %.2f | "
	       "socketpair %.2f | %.1fx |\n",
	       BATCH, opt_spin, R.tput_ring_spin / 1e6, R.tput_sock / 1e6,
	       R.tput_ring_spin / R.tput_sock);
	printf("| descriptors/s, batch %d, both busy, 2 CPUs (M/s) | %.2f | "
	       "socketpair %.2f | %.1fx |\n",
	       BATCH, R.tput_ring_busy / 1e6, R.tput_sock / 1e6,
	       R.tput_ring_busy / R.tput_sock);
	printf("| descriptors/s, kick per descriptor (M/s) | %.2f | socketpair "
	       "batch %d %.2f | %.1fx |\n",
	       R.tput_ring_nobatch / 1e6, BATCH, R.tput_sock / 1e6,
	       R.tput_ring_nobatch / R.tput_sock);
	printf("| rings' own cost: sqe+cqe push+pop, one thread (ns/desc) | "
	       "%.1f | socketpair %.1f ns/desc | %.1fx |\n",
	       R.inproc_ns, 1e9 / R.tput_sock,
	       (1e9 / R.tput_sock) / R.inproc_ns);
	printf("| 1 MiB slots, 4 KiB touch (GB/s) | %.2f | socketpair copy "
	       "%.2f | %.1fx |\n",
	       R.gbps_ring, R.gbps_sock, R.gbps_ring / R.gbps_sock);
	return 0;
}
