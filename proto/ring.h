/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings between frontend and cryptod (one sealed memfd).
 *
 * Layout: a header, then nrings ring pairs, then the data slab of nslots
 * slots. Ring pair i is single-producer single-consumer in each direction:
 * the frontend produces submissions (cs_sqe) and consumes completions
 * (cs_cqe); cryptod worker i does the opposite. Spreading policy: see
 * docs/RINGS.md and ring_pick(). Byte layout: proto/ring_layout.h.
 *
 * Threads: each direction of a ring pair has exactly one producer thread
 * and one consumer thread at a time (no locks inside). A side that shares a
 * ring between threads must serialise its calls itself.
 *
 * Slots are owned by the frontend (free list in its private memory); a slot
 * index travels in the sqe and comes back in the cqe.
 *
 * Hostile peer: everything read from shared memory is copied once into
 * private memory and validated; a bad descriptor makes the pop functions
 * return -EPROTO (the caller treats the peer as broken: fail closed).
 */
#ifndef CS_PROTO_RING_H
#define CS_PROTO_RING_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct ring_region; /* opaque, private to each process */

struct ring_params {
	uint32_t nrings;    /* ring pairs, 1..64 */
	uint32_t entries;   /* per ring, power of two, 2..65536 */
	uint32_t nslots;    /* data slots, 1..65536 */
	uint32_t slot_size; /* bytes, multiple of 4096, 4096..64 MiB */
	/* Test hook, 0 in production: initial value of every head and tail
	 * (lets tests start the free-running indices near UINT32_MAX). */
	uint32_t start_index;
};

/* ring_pick() hint meaning "no owning thread": spread by (ino, off). */
#define RING_PICK_ANY UINT32_MAX

/* Creates a new sealed memfd region (frontend side or supervisor) and maps
 * it; returns 0, -EINVAL for bad params, or -errno. The memfd is
 * O_CLOEXEC: dup2() it onto the child's fd number before exec. */
int ring_region_create(struct ring_region **out, const struct ring_params *p);
/* Maps an existing region from its memfd, checks seals, magic, protocol
 * version and that every size fits the fd; returns 0, -EPROTO on mismatch,
 * or -errno. Does not take ownership of memfd (caller may close it). */
int ring_region_attach(struct ring_region **out, int memfd);
/* Unmaps and frees; NULL is a no-op. */
void ring_region_destroy(struct ring_region *r);
/* The memfd (valid until destroy), to pass to the peer. */
int ring_region_fd(const struct ring_region *r);
/* The region's parameters (validated copy). */
const struct ring_params *ring_region_params(const struct ring_region *r);
/* Sets how long (ns) ring_*_wait*() busy-poll for work before a futex
 * sleep, for this process's handle only (default RING_SPIN_NS_DEFAULT = 0:
 * sleep at once). Spinning pays only when the peer has a CPU of its own
 * (docs/RINGS.md, numbers). Waits through io_uring spin only if the caller
 * calls ring_sq_spin()/ring_cq_spin() first. Turns adaptive spinning off.
 * Both setters: call before this handle's waits run, not during them. */
#define RING_SPIN_NS_DEFAULT 0u
void ring_set_spin(struct ring_region *r, uint32_t spin_ns);
/* Adaptive spinning for this handle's ring_*_wait*() (not the io_uring
 * waits): a wait polls for up to max_ns, with sched_yield() between polls
 * (a peer runnable on our CPU gets to run), but only while the peer is
 * awake: never while it sleeps in its own wait on this ring pair. A spin
 * that finds nothing makes the next 1, 3, 7, ... 255 waits of that waiter
 * sleep at once (idle); one that finds work ends the back-off. 0 turns it
 * off (ring_set_spin() applies again); so does ring_set_spin(). */
void ring_set_spin_auto(struct ring_region *r, uint32_t max_ns);
/* Pointer to slot i's first byte, or NULL if i >= nslots. */
void *ring_slot(struct ring_region *r, uint32_t slot);

/* --- frontend side -------------------------------------------------- */

/* Publishes up to n submissions on ring pair `ring`; returns how many
 * were queued (0 when full: back-pressure, never an overwrite). Does not
 * wake the consumer: call ring_sq_kick() once per batch. */
unsigned ring_sq_push(struct ring_region *r, unsigned ring,
		      const struct cs_sqe *sqes, unsigned n);
/* Wakes the consumer of ring's submissions if it sleeps. */
void ring_sq_kick(struct ring_region *r, unsigned ring);
/* Copies up to max completions out of ring, validates them (slot range,
 * data_off/data_len within the slot); returns count, or -EPROTO. */
int ring_cq_pop(struct ring_region *r, unsigned ring, struct cs_cqe *out,
		unsigned max);
/* Sleeps until ring has completions or timeout_ms passes (-1: forever);
 * returns 0 when work may be there, -ETIMEDOUT, -EINTR (signal), -EPROTO
 * (ring broken) or -errno. See ring_cq_wait_peer() for peer death. */
int ring_cq_wait(struct ring_region *r, unsigned ring, int timeout_ms);

/* --- cryptod side --------------------------------------------------- */

/* Copies up to max submissions out of ring and validates each copy (opcode
 * range, slot index, arg_off/arg_len within the slot, len <= CS_MAX_IO,
 * WRITE payload length); returns count, or -EPROTO on the first bad one
 * (entries before it are returned in out only if count > 0 is returned). */
int ring_sq_pop(struct ring_region *r, unsigned ring, struct cs_sqe *out,
		unsigned max);
/* Publishes up to n completions; returns how many were queued. */
unsigned ring_cq_push(struct ring_region *r, unsigned ring,
		      const struct cs_cqe *cqes, unsigned n);
/* Wakes the frontend's completion waiter of ring if it sleeps. */
void ring_cq_kick(struct ring_region *r, unsigned ring);
/* Sleeps until ring has submissions or timeout_ms passes (-1: forever);
 * same returns as ring_cq_wait(). */
int ring_sq_wait(struct ring_region *r, unsigned ring, int timeout_ms);

/* For waiting through io_uring FUTEX_WAIT: announces that the consumer of
 * ring's submissions is about to sleep. Returns 1 if work arrived meanwhile
 * (do not sleep; the flag is cleared), else 0 and *val is the value to pass
 * to FUTEX_WAIT on *addr. ring_sq_wake_done() clears the flag after any
 * wake-up. */
int ring_sq_prepare_sleep(struct ring_region *r, unsigned ring, uint32_t **addr,
			  uint32_t *val);
/* For io_uring waiters, before ring_sq_prepare_sleep(): spins for ring's
 * submissions per this handle's policy (ring_set_spin() or
 * ring_set_spin_auto(); nothing by default). Returns 1 if work arrived, 0
 * if not (prepare the sleep), -EPROTO (ring broken) or -EINVAL. */
int ring_sq_spin(struct ring_region *r, unsigned ring);
void ring_sq_wake_done(struct ring_region *r, unsigned ring);
/* A plain bounded poll for a caller that keeps its own policy: looks for
 * ring's submissions (completions) for up to ns, with ring_yield()
 * between looks (a peer runnable on our CPU gets it), whether or not the
 * peer sleeps; only one look while ring_poll_allowed() says no, and it
 * gives up after a long yield. Returns 1 when work is there, 0 when not,
 * -EPROTO (ring broken) or -EINVAL. Never sleeps in a futex. */
int ring_sq_poll(struct ring_region *r, unsigned ring, uint32_t ns);
int ring_cq_poll(struct ring_region *r, unsigned ring, uint32_t ns);

/* Polling threads yield with ring_yield(): sched_yield(), returning 1 when
 * it kept the caller off the CPU for RING_YIELD_LONG_NS or more (another
 * task, not a quick peer, had it: polling on a contended CPU only delays
 * whoever would answer, and a sleeper woken there costs no halted-vCPU
 * wake-up). The calling thread's ring_poll_allowed() then returns 0 for
 * RING_CONTENDED_NS: sleep instead of polling. Per thread, no locks. */
#define RING_YIELD_LONG_NS 500000u
#define RING_CONTENDED_NS 20000000u
int ring_yield(void);
int ring_poll_allowed(void);

/* Home CPU (docs/PERFORMANCE.md, "Wake-ups on this machine"): waking a
 * thread on another vCPU costs tens of microseconds here, on the same vCPU
 * a few. The threads that carry a synchronous request (frontend receive
 * threads, cryptod's worker 0) therefore prefer one CPU, the same in both
 * processes: the one the memfd's inode number selects among the CPUs the
 * caller may use. ring_home_set() picks it (on = 0: none); returns the CPU
 * or -1 (off, or fewer than two CPUs). Call once, before the threads run. */
int ring_home_set(struct ring_region *r, int on);
/* Called often by a thread that may prefer the home CPU: with prefer 1
 * pins the calling thread to it, with 0 gives it all the CPUs back, with
 * -1 keeps what it has; never pinned while its CPU is contended
 * (!ring_poll_allowed()) or without a home. A syscall only on a change;
 * returns 1 after a change, 0 when none was needed, -errno. */
int ring_home_update(struct ring_region *r, int prefer);

/* Same as ring_sq_prepare_sleep()/ring_sq_wake_done() for the frontend's
 * completion waiter. */
int ring_cq_prepare_sleep(struct ring_region *r, unsigned ring, uint32_t **addr,
			  uint32_t *val);
int ring_cq_spin(struct ring_region *r, unsigned ring);
void ring_cq_wake_done(struct ring_region *r, unsigned ring);

/* --- peer death ----------------------------------------------------- */

/* Like ring_cq_wait()/ring_sq_wait(), but also returns -EPIPE when peer_fd
 * (the liveness socket, docs/PROCESSES.md --peer-fd) reports a hang-up.
 * Work already queued is reported (0) before -EPIPE. The peer is polled
 * only between futex sleeps of at most RING_PEER_SLICE_MS, never while work
 * keeps arriving. Returns 0, -ETIMEDOUT, -EPIPE, -EPROTO or -errno. */
#define RING_PEER_SLICE_MS 50
int ring_cq_wait_peer(struct ring_region *r, unsigned ring, int peer_fd,
		      int timeout_ms);
int ring_sq_wait_peer(struct ring_region *r, unsigned ring, int peer_fd,
		      int timeout_ms);
/* Returns 1 if peer_fd reports a hang-up or error, 0 if not, -errno. */
int ring_peer_dead(int peer_fd);

/* --- errors and validation ----------------------------------------- */

/* Returns 0, or -EPROTO once the peer broke the protocol on ring pair
 * `ring` (bad descriptor, impossible head/tail): sticky, fail closed. A
 * push that finds an impossible head returns 0 and sets this state. */
int ring_error(const struct ring_region *r, unsigned ring);
/* The checks ring_sq_pop()/ring_cq_pop() apply to each private copy;
 * return 0 or -EPROTO. Exposed for fuzz targets and tests. */
int ring_sqe_check(const struct ring_params *p, const struct cs_sqe *s);
int ring_cqe_check(const struct ring_params *p, const struct cs_cqe *c);
/* Validates a region header (len bytes at hdr, a private copy) against the
 * memfd size; fills *out. Returns 0 or -EPROTO. Used by attach. */
int ring_hdr_check(const void *hdr, size_t len, uint64_t fd_size,
		   struct ring_params *out);

/* Spreading policy (docs/RINGS.md): hint is the calling frontend thread's
 * index t; returns t % nrings, so each thread keeps producing on a ring it
 * owns (no locks). With hint == RING_PICK_ANY (a producer that serialises
 * pushes on every ring itself) returns a hash of (ino, off / 1 MiB): one
 * file's metadata ops stay on one worker, big streams spread per MiB. */
unsigned ring_pick(const struct ring_region *r, uint64_t ino, uint64_t off,
		   unsigned hint);

#endif
