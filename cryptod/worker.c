/* SPDX-License-Identifier: MIT */
/*
 * Workers: worker i serves ring pair i. Each owns an io_uring (lower I/O,
 * the doorbell FUTEX_WAIT and a poll on the peer fd, so one wait covers new
 * requests, I/O completions and hang-up), a registered ciphertext buffer and
 * a cipher_thread.
 *
 * Loop: pop a batch of submissions, serve each (copy + validate the
 * arguments, dispatch, push the completion, kick), and when the ring is
 * empty keep polling it until a window has passed since the last served
 * request (the next request of an application that waits for each answer
 * arrives one round trip later, tens of microseconds: no wake-up then),
 * then announce sleep (ring_sq_prepare_sleep) and wait in io_uring.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cd_sandbox.h"
#include "cipher.h"
#include "cryptod.h"
#include "log.h"
#include "ring.h"
#include "ring_uring.h"
#include "util.h"

#define URING_ENTRIES 256u
#define POP_BATCH     32u
/* Ciphertext of one maximal request plus a partial extent on each side,
 * plus room for metadata blocks. */
#define CTBUF_LEN (CS_MAX_IO * 2u + (256u << 10))
/* Largest argument block: rename/symlink/xattr (value up to 64 KiB). */
#define ARGBUF_LEN (CS_XATTR_SIZE_MAX + 4096u)
/* Poll window after the last served request (docs/PERFORMANCE.md,
 * "Wake-ups on this machine": about three wake-ups of a halted vCPU, so
 * that one synchronous application's next request, which comes one round
 * trip later, finds the worker awake); the environment's
 * CS_CRYPTOD_SPIN_US overrides it (0: off). */
#define SPIN_US_DEFAULT 100u

static uint32_t spin_ns;

/* io_uring_setup() refused by policy rather than broken: Docker's default
 * seccomp profile (since 25.0), other container profiles and
 * kernel.io_uring_disabled answer EPERM, ENOSYS or EACCES. */
static bool uring_refused(int rc)
{
	return rc == -EPERM || rc == -ENOSYS || rc == -EACCES;
}

/* Per-worker state that does not depend on io_uring. */
static int setup_common(struct cd_worker *w)
{
	w->argbuf = malloc(ARGBUF_LEN);
	if (!w->argbuf)
		return -ENOMEM;
	int rc = cd_worker_scratch(w);
	if (rc < 0)
		return rc;
	return cipher_thread_new(cipher_backend_default(),
				 (struct cipher_thread **)&w->cipher);
}

static int setup_one(struct cd_worker *w)
{
	int rc;
	w->ctbuf_len = CTBUF_LEN;
	w->ctbuf = mmap(NULL, w->ctbuf_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->ctbuf == MAP_FAILED) {
		w->ctbuf = NULL;
		return -ENOMEM;
	}
	w->uring = calloc(1, sizeof(*w->uring));
	if (!w->uring)
		return -ENOMEM;
	/* Created disabled: buffers are registered and the opcodes
	 * restricted before the ring can run anything (seccomp does not see
	 * io_uring operations). */
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED;
	rc = io_uring_queue_init_params(URING_ENTRIES, w->uring, &p);
	if (rc < 0 && uring_refused(rc)) {
		if (w->idx == 0)
			log_warnx("io_uring refused (%s: a seccomp profile or "
				  "kernel.io_uring_disabled): lower I/O and "
				  "waits use plain syscalls",
				  strerror(-rc));
		free(w->uring);
		w->uring = NULL;
		cd_io_force_sync();
		return setup_common(w);
	}
	if (rc < 0)
		return rc;
	struct iovec iov = {.iov_base = w->ctbuf, .iov_len = w->ctbuf_len};
	rc = io_uring_register_buffers(w->uring, &iov, 1);
	if (rc < 0) {
		log_warnx("worker %u: cannot register buffer (%s), plain reads",
			  w->idx, strerror(-rc));
	}
	/* A sparse file table indexed by fd number (fds below
	 * CD_FIXED_MAX): open lower files are registered in it. */
	if (io_uring_register_files_sparse(w->uring, CD_FIXED_MAX) < 0)
		log_warnx("worker %u: no registered file table", w->idx);
	else
		w->have_files = true;
	rc = cd_uring_restrict(w->uring); /* cryptod/uring_restrict.c */
	if (rc < 0)
		return rc;
	return setup_common(w);
}

/* Sets the workers' poll window (before the sandbox). */
static void spin_setup(void)
{
	spin_ns = env_knob("CS_CRYPTOD_SPIN_US", 10000, SPIN_US_DEFAULT) *
		  1000u;
	/* With CS_HOME_CPU=1, worker 0, which serves the synchronous
	 * requests (the frontend sends to ring 0 first), prefers the
	 * frontend receive threads' CPU (ring_home_set()). Off by default:
	 * measured slower (docs/PERFORMANCE.md). */
	int cpu = ring_home_set(cd.region, (int)env_knob("CS_HOME_CPU", 1, 0));
	if (cpu >= 0)
		log_debug("worker 0 prefers CPU %d", cpu);
}

int cd_workers_setup(void)
{
	spin_setup();
	cd.workers = calloc(cd.nworkers, sizeof(*cd.workers));
	if (!cd.workers)
		return -ENOMEM;
	for (unsigned i = 0; i < cd.nworkers; i++) {
		cd.workers[i].idx = i;
		int rc = setup_one(&cd.workers[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Serves one popped submission. */
static void serve(struct cd_worker *w, const struct cs_sqe *sqe)
{
	struct cd_req r;
	memset(&r, 0, sizeof(r));
	r.w = w;
	r.sqe = *sqe;
	r.cqe.id = sqe->id;
	r.cqe.slot = sqe->slot;
	if (sqe->op == CS_OP_FORGET) {
		cd_inode_forget(sqe->ino, sqe->off);
		return;
	}
	r.slot_size = ring_region_params(cd.region)->slot_size;
	r.slot = ring_slot(cd.region, sqe->slot);
	/* ring_sq_pop() validated arg_off/arg_len against the slot. Copy the
	 * arguments once; WRITE payloads are read in place (once, by the
	 * cipher), never parsed. */
	if (sqe->op != CS_OP_WRITE && sqe->arg_len) {
		if (sqe->arg_len > ARGBUF_LEN) {
			r.cqe.res = -EINVAL;
			goto push;
		}
		memcpy(w->argbuf, r.slot + sqe->arg_off, sqe->arg_len);
		r.arg = w->argbuf;
		r.arg_len = sqe->arg_len;
	}
	cd_dispatch(&r);
	cd_fresh_clear(w);
push:
	while (ring_cq_push(cd.region, w->idx, &r.cqe, 1) != 1) {
		/* The frontend never has more requests out than the ring
		 * holds, so this is transient, unless the peer broke the
		 * ring (impossible head): fail closed. */
		if (ring_error(cd.region, w->idx) < 0)
			fatalx("worker %u: completion ring broken", w->idx);
		if (ring_peer_dead(cd.peer_fd) == 1) {
			w->hangup = true;
			return;
		}
		ring_cq_kick(cd.region, w->idx);
		sched_yield();
	}
	ring_cq_kick(cd.region, w->idx);
}

static void arm_poll(struct cd_worker *w)
{
	if (w->poll_armed)
		return;
	struct io_uring_sqe *sqe = io_uring_get_sqe(w->uring);
	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, cd.peer_fd, POLLIN | POLLRDHUP);
	io_uring_sqe_set_data64(sqe, CD_UD_POLL);
	w->poll_armed = true;
}

/* Serves what is queued; returns how many submissions were served. */
static int serve_batch(struct cd_worker *w)
{
	struct cs_sqe sqes[POP_BATCH];
	int n = ring_sq_pop(cd.region, w->idx, sqes, POP_BATCH);
	if (n < 0)
		fatalx("worker %u: malformed submission from frontend", w->idx);
	for (int i = 0; i < n; i++)
		serve(w, &sqes[i]);
	return n;
}

/* Polls the empty ring until spin_ns after `last` (when the last request
 * was served), yielding between looks; true when a request came. An idle
 * ring thus costs one window of yielding polls, not one per wait, and a
 * stream of back-to-back requests never sleeps. */
static bool poll_more(struct cd_worker *w, uint64_t last)
{
	uint64_t now = now_ns(), end = last + spin_ns;
	if (!spin_ns || now >= end)
		return false;
	int rc = ring_sq_poll(cd.region, w->idx, (uint32_t)(end - now));
	if (rc < 0)
		fatalx("worker %u: malformed submission ring", w->idx);
	return rc == 1;
}

/* The start of every turn of both worker loops: worker 0 prefers the home
 * CPU, then one batch is served; true when it served any (*last = now). */
static inline bool serve_turn(struct cd_worker *w, uint64_t *last)
{
	if (w->idx == 0)
		(void)ring_home_update(cd.region, 1);
	if (serve_batch(w) <= 0)
		return false;
	*last = now_ns();
	return true;
}

/* The worker loop without io_uring: futex sleeps on the doorbell, the
 * peer polled between them (ring_sq_wait_peer). */
static void *worker_main_sync(struct cd_worker *w)
{
	uint64_t last = 0;
	while (!w->hangup) {
		if (serve_turn(w, &last))
			continue;
		if (poll_more(w, last))
			continue;
		int rc = ring_sq_wait_peer(cd.region, w->idx, cd.peer_fd, -1);
		if (rc == -EPIPE)
			w->hangup = true;
		else if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR)
			fatalx("worker %u: ring wait: %s", w->idx,
			       strerror(-rc));
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct cd_worker *w = arg;

	if (!w->uring)
		return worker_main_sync(w);
	arm_poll(w);
	io_uring_submit(w->uring);
	uint64_t last = 0;
	while (!w->hangup) {
		if (serve_turn(w, &last))
			continue;
		/* An armed doorbell wait means the sleeping flag is set:
		 * polling would not spare the frontend its wake-up. */
		if (!w->futex_armed && poll_more(w, last))
			continue;
		arm_poll(w);
		if (!w->futex_armed) {
			uint32_t *addr, val;
			if (ring_sq_prepare_sleep(cd.region, w->idx, &addr,
						  &val))
				continue;
			struct io_uring_sqe *sqe = io_uring_get_sqe(w->uring);
			if (!sqe) {
				io_uring_submit(w->uring);
				sqe = io_uring_get_sqe(w->uring);
			}
			if (!sqe) {
				ring_sq_wake_done(cd.region, w->idx);
				continue;
			}
			ring_prep_futex_wait(sqe, addr, val);
			io_uring_sqe_set_data64(sqe, CD_UD_FUTEX);
			w->futex_armed = true;
		}
		int rc = cd_uring_wait_special(w);
		if (rc < 0)
			fatalx("worker %u: io_uring wait: %s", w->idx,
			       strerror(-rc));
		if (!w->futex_armed)
			ring_sq_wake_done(cd.region, w->idx);
	}
	return NULL;
}

int cd_workers_start(void)
{
	for (unsigned i = 0; i < cd.nworkers; i++) {
		int rc = pthread_create(&cd.workers[i].thr, NULL, worker_main,
					&cd.workers[i]);
		if (rc)
			return -rc;
	}
	return 0;
}

static pthread_mutex_t fixed_mu = PTHREAD_MUTEX_INITIALIZER;
bool cd_fixed[CD_FIXED_MAX];

void cd_files_register(int fd)
{
	if (fd < 0 || fd >= (int)CD_FIXED_MAX || cd_io_sync())
		return;
	pthread_mutex_lock(&fixed_mu);
	bool all = true;
	for (unsigned i = 0; i < cd.nworkers && all; i++) {
		struct cd_worker *w = &cd.workers[i];
		all = w->have_files && io_uring_register_files_update(
					   w->uring, (unsigned)fd, &fd, 1) == 1;
	}
	if (all)
		__atomic_store_n(&cd_fixed[fd], true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fixed_mu);
	if (!all) {
		static bool warned;
		if (!warned)
			log_warnx("registered files unavailable: plain fds");
		warned = true;
		cd_files_unregister(fd);
	}
}

void cd_files_unregister(int fd)
{
	int none = -1;
	if (fd < 0 || fd >= (int)CD_FIXED_MAX || cd_io_sync())
		return;
	pthread_mutex_lock(&fixed_mu);
	__atomic_store_n(&cd_fixed[fd], false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < cd.nworkers; i++) {
		struct cd_worker *w = &cd.workers[i];
		if (w->have_files)
			io_uring_register_files_update(w->uring, (unsigned)fd,
						       &none, 1);
	}
	pthread_mutex_unlock(&fixed_mu);
}

void cd_workers_join(void)
{
	for (unsigned i = 0; i < cd.nworkers; i++)
		pthread_join(cd.workers[i].thr, NULL);
}
