/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings between frontend and cryptod (one sealed memfd).
 *
 * Layout: a header, then nrings ring pairs, then the data slab of nslots
 * slots. Ring pair i is single-producer single-consumer in each direction:
 * the frontend produces submissions (cs_sqe) and consumes completions
 * (cs_cqe); cryptod worker i does the opposite. Spreading policy: see
 * docs/ARCHITECTURE.md ("Rings") and ring_pick().
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
	uint32_t nrings;     /* ring pairs, 1..64 */
	uint32_t entries;    /* per ring, power of two, 2..65536 */
	uint32_t nslots;     /* data slots, 1..65536 */
	uint32_t slot_size;  /* bytes, multiple of 4096 */
};

/* Creates a new sealed memfd region (frontend side or supervisor) and maps
 * it; returns 0 or -errno. */
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
/* Pointer to slot i's first byte; i must be < nslots. */
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
 * returns 0 when work may be there, -ETIMEDOUT, or -errno. */
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
/* Sleeps until ring has submissions or timeout_ms passes (-1: forever). */
int ring_sq_wait(struct ring_region *r, unsigned ring, int timeout_ms);

/* For waiting through io_uring FUTEX_WAIT: announces that the consumer of
 * ring's submissions is about to sleep. Returns 1 if work arrived meanwhile
 * (do not sleep; the flag is cleared), else 0 and *val is the value to pass
 * to FUTEX_WAIT on *addr. ring_sq_wake_done() clears the flag after any
 * wake-up. */
int ring_sq_prepare_sleep(struct ring_region *r, unsigned ring,
			  uint32_t **addr, uint32_t *val);
void ring_sq_wake_done(struct ring_region *r, unsigned ring);

/* Spreading policy: which ring pair a request for (ino, off) goes to. */
unsigned ring_pick(const struct ring_region *r, uint64_t ino, uint64_t off,
		   unsigned hint);

#endif
