/* SPDX-License-Identifier: MIT */
/*
 * Byte layout of the shared ring region (docs/RINGS.md). Only proto/ring.c,
 * the tests and fuzz targets need this: everyone else uses proto/ring.h.
 *
 *   0                     struct ring_shdr (one 4 KiB page)
 *   RING_HDR_SIZE         ring pair 0 .. nrings-1, each ring_pair_size()
 *                         bytes, 4 KiB aligned:
 *                           +0    struct ring_ctl  sq   (3 cache lines)
 *                           +192  struct ring_ctl  cq
 *                           +384  (pad to 512)
 *                           +512  struct cs_sqe sqes[entries]
 *                           +512 + 64*entries   struct cs_cqe cqes[entries]
 *                         then padded to 4 KiB
 *   slab_off              nslots data slots of slot_size bytes (4 KiB aligned)
 *
 * Every field is native-endian; the region never holds pointers.
 */
#ifndef CS_PROTO_RING_LAYOUT_H
#define CS_PROTO_RING_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define RING_MAGIC	      0x47525343u /* "CSRG" little-endian */
#define RING_HDR_SIZE	      4096u
#define RING_PAGE	      4096u
#define RING_CACHELINE	      64u
#define RING_PAIR_ENTRIES_OFF 512u

#define RING_MAX_RINGS	   64u
#define RING_MIN_ENTRIES   2u
#define RING_MAX_ENTRIES   65536u
#define RING_MAX_SLOTS	   65536u
#define RING_MAX_SLOT_SIZE (64u << 20)

/* Doorbell word: bit 31 = the consumer sleeps (or is about to); bits 0..30
 * a sequence the producer bumps when it clears the flag, so a FUTEX_WAIT
 * prepared before the kick fails with EAGAIN instead of sleeping. */
#define RING_DB_SLEEPING 0x80000000u
#define RING_DB_SEQ_MASK 0x7fffffffu

/* Region header, written once by the creator before the fd is shared. */
struct ring_shdr {
	uint32_t magic;	   /* RING_MAGIC */
	uint32_t version;  /* CS_PROTO_VERSION */
	uint32_t hdr_size; /* RING_HDR_SIZE */
	uint32_t sqe_size; /* sizeof(struct cs_sqe) */
	uint32_t cqe_size; /* sizeof(struct cs_cqe) */
	uint32_t nrings;
	uint32_t entries;
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t pad0;
	uint64_t rings_off;  /* == RING_HDR_SIZE */
	uint64_t pair_size;  /* bytes per ring pair */
	uint64_t slab_off;   /* rings_off + nrings * pair_size */
	uint64_t total_size; /* slab_off + nslots * slot_size == memfd size */
};
_Static_assert(sizeof(struct ring_shdr) == 72, "ring_shdr size");
_Static_assert(offsetof(struct ring_shdr, nrings) == 20, "ring_shdr.nrings");
_Static_assert(offsetof(struct ring_shdr, slot_size) == 32,
	       "ring_shdr.slot_size");
_Static_assert(offsetof(struct ring_shdr, rings_off) == 40,
	       "ring_shdr.rings_off");
_Static_assert(offsetof(struct ring_shdr, total_size) == 64,
	       "ring_shdr.total_size");

/* One direction of a ring pair. head is written only by the consumer, tail
 * only by the producer, doorbell by both (consumer sets the sleeping flag,
 * producer clears it); each on its own cache line so the two sides do not
 * false-share. Indices are free-running 32-bit counters: entry i lives at
 * i & (entries - 1). */
struct ring_ctl {
	uint32_t head;
	uint8_t pad0[RING_CACHELINE - 4];
	uint32_t tail;
	uint8_t pad1[RING_CACHELINE - 4];
	uint32_t doorbell;
	uint8_t pad2[RING_CACHELINE - 4];
};
_Static_assert(sizeof(struct ring_ctl) == 3 * RING_CACHELINE, "ring_ctl");
_Static_assert(offsetof(struct ring_ctl, tail) == RING_CACHELINE,
	       "ring_ctl.tail");
_Static_assert(offsetof(struct ring_ctl, doorbell) == 2 * RING_CACHELINE,
	       "ring_ctl.doorbell");

struct ring_pair_ctl {
	struct ring_ctl sq;
	struct ring_ctl cq;
};
_Static_assert(sizeof(struct ring_pair_ctl) <= RING_PAIR_ENTRIES_OFF,
	       "ring pair control fits before the entries");

/* Bytes of one ring pair for `entries` (<= RING_MAX_ENTRIES, so no
 * overflow): control, sqes, cqes, rounded up to 4 KiB. */
static inline uint64_t ring_pair_size(uint32_t entries)
{
	uint64_t sz =
	    RING_PAIR_ENTRIES_OFF +
	    (uint64_t)entries * (sizeof(struct cs_sqe) + sizeof(struct cs_cqe));
	return (sz + RING_PAGE - 1) & ~(uint64_t)(RING_PAGE - 1);
}

#endif
