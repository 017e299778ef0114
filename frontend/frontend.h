/* SPDX-License-Identifier: MIT */
/*
 * The frontend: a thin libfuse 3 low-level process. Thread i owns ring pair
 * i of the shared region: it receives FUSE requests straight into free
 * slots of its ring's share of the slab, builds the wire.h argument block
 * in the same slot and pushes a cs_sqe. Completion thread i waits for
 * ring i's cqes and turns them into fuse_reply_*() calls, then frees the
 * slot. fuse_req_t never crosses the ring: it stays in a private table
 * indexed by slot, and the cqe's id (generation << 32 | slot) selects it.
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

/* One outstanding request; lives in fe_ring.pend[slot - slot_first]. */
struct fe_pending {
	fuse_req_t req; /* NULL when the slot is not in flight */
	uint64_t id;
	uint16_t op;
	uint16_t flags;
	uint32_t size; /* READ/READDIR/xattr: the size the kernel asked for */
};

struct fe_ring {
	unsigned idx;
	uint32_t slot_first; /* this ring's slots: [slot_first, +nslots) */
	uint32_t nslots;

	pthread_mutex_t lock; /* free list, pend, gen, dead */
	pthread_cond_t slot_cv;
	uint32_t *freelist;
	uint32_t nfree;
	struct fe_pending *pend;
	uint32_t gen;
	int dead; /* cryptod gone or broke the protocol: everything is EIO */

	pthread_t worker;
	pthread_t completer;
};

struct fe_ctx {
	struct fuse_session *se;
	struct ring_region *region;
	uint32_t slot_size;
	unsigned nrings;
	struct fe_ring *rings;
	int peer_fd;
	int stop_fd;   /* eventfd: a worker saw the session end */
	double entry_timeout;
	double attr_timeout;
	int shared_lower; /* -o shared_lower: short timeouts, no keep_cache */
	int read_only;
	int writeback;     /* FUSE writeback cache granted: kernel owns mtime */
	atomic_int dead;  /* global: cryptod is gone */
};

extern struct fe_ctx fe;

/* The calling worker thread's current request slot (set by the receive
 * loop around fuse_session_process_buf). */
struct fe_cur {
	struct fe_ring *ring;
	uint32_t slot;
	uint8_t *mem;   /* slot base */
	size_t rcvd;    /* bytes libfuse received into the slot */
	int used;       /* the handler handed the slot to cryptod */
};
extern __thread struct fe_cur fe_cur;

/* The lowlevel operation table (ops.c). */
extern const struct fuse_lowlevel_ops fe_ops;

/* Completion thread body for ring arg (struct fe_ring *); reply.c. */
void *fe_completer(void *arg);
/* Answers every request in flight on ring with EIO and marks the ring
 * dead (later requests get EIO at submission). */
void fe_ring_fail(struct fe_ring *ring);
/* Returns a slot to ring's free list and wakes a waiting worker. */
void fe_slot_put(struct fe_ring *ring, uint32_t slot);

#endif
