/* SPDX-License-Identifier: MIT */
/*
 * The frontend: a thin libfuse 3 low-level process. Receive thread t
 * takes a free slot of the shared slab, receives one FUSE request straight
 * into it, builds the wire.h argument block in the same slot and pushes a
 * cs_sqe on the ring pair with the fewest requests in flight (ring 0 while
 * the application waits for each answer, so one cryptod worker stays warm).
 * A quick request is then answered by the receive thread itself: it polls
 * that ring's completions for a short adaptive window (fe_spin_wait). Slow
 * requests, and everything in flight while no receive thread polls, are
 * answered by ring i's completion thread. fuse_req_t never crosses the
 * ring: it stays in a private table indexed by slot, and the cqe's id
 * (generation << 32 | slot) selects it.
 */
#ifndef CS_FRONTEND_H
#define CS_FRONTEND_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"
#include "wire.h"

/* fe_pending.flags */
#define FE_P_XATTR_SIZE 0x1u /* getxattr/listxattr with size 0 */
#define FE_P_PLUS 0x2u       /* readdirplus */
#define FE_P_AC_ALL 0x4u     /* ac_stamp2 is about every node (attrcache.c) */

/* One outstanding request; lives in fe.pend[slot]. */
struct fe_pending {
	fuse_req_t req; /* NULL when the slot is not in flight */
	uint64_t id;
	uint16_t op;
	uint16_t flags;
	uint32_t size; /* READ/READDIR/xattr: the size the kernel asked for */
	uint32_t ring; /* the ring pair it was pushed on */
	uint64_t ino;  /* the sqe's node id */
	/* attrcache.c stamps: of ino, and of ino2 (LINK: the new parent)
	 * or of every node (FE_P_AC_ALL); 0: none */
	uint64_t ac_stamp;
	uint64_t ac_ino2;
	uint64_t ac_stamp2;
};

struct fe_ring {
	unsigned idx;
	/* One consumer of the completion ring at a time: the completion
	 * thread or a polling receive thread (ring.h: SPSC per direction). */
	pthread_mutex_t cq_mu;
	pthread_cond_t idle_cv; /* completer: nothing for it to wait for */
	uint32_t inflight;	/* pushed, not yet taken back (fe.mu) */
	uint64_t progress_ns;	/* last completion taken, or the push that
				 * made the ring busy (fe.mu) */
	uint32_t polling;	/* receive threads polling this ring (fe.mu) */

	pthread_t completer;
};

/* Spin classes: one per opcode. A READ or WRITE larger than
 * FE_SPIN_LARGE is never waited for (fe_spin_want). */
#define FE_SPIN_LARGE (64u << 10)
#define FE_SPIN_CLASSES CS_OP__MAX

struct fe_ctx {
	struct fuse_session *se;
	struct ring_region *region;
	uint32_t slot_size;
	unsigned nrings;
	struct fe_ring *rings;
	pthread_t *receivers; /* nrings receive threads */

	pthread_mutex_t mu; /* free list, pend, gen, failed, ring counts */
	pthread_cond_t slot_cv;
	uint32_t nslots;
	uint32_t *freelist;
	uint32_t nfree;
	struct fe_pending *pend; /* by slot */
	uint32_t gen;
	int failed; /* every pending request was answered EIO: no more */

	uint32_t spin_ns; /* receive-thread poll window, 0: never */
	int peer_fd;
	int stop_fd;   /* eventfd: a worker saw the session end */
	double entry_timeout;
	double attr_timeout;
	int shared_lower; /* -o shared_lower: short timeouts, no keep_cache */
	int read_only;
	int writeback;     /* FUSE writeback cache granted: kernel owns mtime */
	int killpriv;      /* FUSE_HANDLE_KILLPRIV_V2 granted (kernel.c) */
	int kernel_dirty;  /* -o kernel_dirty_limits: bdi left as it is */
	int noatime;       /* -o noatime: reads move no lower atime either */
	atomic_int dead;  /* global: cryptod is gone */
};

extern struct fe_ctx fe;

/* The calling receive thread's current request (set by the receive loop
 * around fuse_session_process_buf) and its poll state. */
struct fe_cur {
	uint32_t slot;
	uint8_t *mem;   /* slot base */
	uint64_t ac_ino2; /* LINK's new parent for submit()'s stamp */
	size_t rcvd;    /* bytes libfuse received into the slot */
	int used;       /* the handler handed the slot to cryptod */
	/* Set by the submit that asked to poll: the ring, the id and the
	 * class of the request to wait for (fe_spin_wait). */
	struct fe_ring *poll_ring;
	uint64_t poll_id;
	unsigned poll_class;
	/* Adaptive window per class: after a miss, the next 2^miss requests
	 * of that class are not polled for (skip counts them down). */
	uint8_t miss[FE_SPIN_CLASSES];
	uint16_t skip[FE_SPIN_CLASSES];
	/* A RELEASE/RELEASEDIR handed to cryptod without waiting and without
	 * waking the ring's completion thread (nothing waits for its answer):
	 * the next poll of this thread drains it, or fe_kick_deferred() wakes
	 * the completion thread before this thread sleeps or after its next
	 * request, whichever comes first. */
	struct fe_ring *deferred;
	unsigned deferred_age;
	int async; /* the current request was such a one */
};
extern __thread struct fe_cur fe_cur;

/* What the kernel sent with the request this thread received last and
 * libfuse does not pass on (kernel.c): FE_KIN_* bits. */
#define FE_KIN_KILL_SUIDGID 0x1u /* WRITE/CREATE/OPEN: clear suid/sgid */
extern __thread uint32_t fe_kin;

/* Installs the custom /dev/fuse io (kernel.c) on the mounted session
 * se: INIT asks for FUSE_HANDLE_KILLPRIV_V2, fe_kin is filled per request.
 * Call after fuse_session_mount, before any request is read; 0 or -errno. */
int fe_kernel_io(struct fuse_session *se);
/* Writes val to /sys/class/bdi/<st_dev of mnt>/knob; 1 written, 0 not
 * possible here (not root, no such knob), -errno when mnt does not stat. */
int fe_bdi_write(const char *mnt, const char *knob, const char *val);
/* As root on a writable mount without -o kernel_dirty_limits: lifts the
 * FUSE bdi's strict dirty limit (docs/MOUNT.md). 0 or -errno (stat). */
int fe_bdi_tune(const char *mnt);

/* attrcache.c: attributes cryptod's replies carried, answered to the
 * kernel without cryptod while nothing was sent about their node since.
 * fe_ac_touch stamps a request about ino (all: about every node) before
 * it is pushed and returns the stamp (0: cache off); fe_ac_complete takes
 * the snapshots of a reply (parent directory, unlinked victim) and ends
 * the request's stamps, before the reply goes to the kernel; fe_ac_done
 * ends one stamp of a request that was not pushed. fe_ac_get copies the
 * attributes of ino and whether it is an unlinked file: 1 hit, 0 miss;
 * fe_ac_set_times replaces a hit's attributes. */
uint64_t fe_ac_touch(uint64_t ino, int all);
void fe_ac_done(uint64_t ino, uint64_t stamp, int all);
void fe_ac_complete(const struct fe_pending *p, const struct cs_cqe *c,
		    const uint8_t *slot);
int fe_ac_get(uint64_t ino, struct cs_attr *a, int *unlinked);
void fe_ac_set_times(uint64_t ino, const struct cs_attr *a);
/* Answers req with attributes a (reply.c); fuse_reply_attr's result. */
int fe_reply_cs_attr(fuse_req_t req, const struct cs_attr *a);

/* The lowlevel operation table (ops.c). */
extern const struct fuse_lowlevel_ops fe_ops;

/* Completion thread body for ring arg (struct fe_ring *); reply.c. */
void *fe_completer(void *arg);
/* Answers every request in flight with EIO and marks the frontend failed
 * (later requests get EIO at submission); wakes every waiter. */
void fe_fail_pending(void);
/* Returns a slot to the free list and wakes a waiting receive thread. */
void fe_slot_put(uint32_t slot);
/* Whether the receive thread should poll for a request of op/len; when
 * it should, records the class in fe_cur and returns 1 (caller holds
 * fe.mu and counts the ring's poller). */
int fe_spin_want(uint16_t op, uint32_t len);
/* Polls fe_cur.poll_ring's completions for the request fe_cur.poll_id for
 * up to fe.spin_ns, answering whatever completes (own request included),
 * then hands the ring back to its completion thread. Returns 1 when the
 * request was answered meanwhile, else 0. */
int fe_spin_wait(void);
/* Called by a receive thread while it polls for a completion: if it holds
 * the /dev/fuse listening role (main.c) and another request is pending,
 * hands the role to a waiting receive thread. */
void fe_role_check(void);
/* Called for a large READ or WRITE the receive thread hands to cryptod
 * without waiting for it: it passes the listening role on afterwards, so
 * that another receive thread reads the next request meanwhile (bulk
 * transfers use both CPUs). */
void fe_role_pass(void);
/* Wakes the completion thread of the ring a deferred RELEASE went to if
 * no receive thread polls that ring and requests are still in flight on
 * it; clears the deferral. _locked: the caller holds fe.mu. Called before
 * the receive thread may sleep (read, role, slot) and one request later. */
void fe_kick_deferred(void);
void fe_kick_deferred_locked(void);

#endif
