/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings between frontend and cryptod (docs/RINGS.md).
 *
 * Ordering, as in liburing's queue.c: the consumer loads the producer's
 * tail with acquire (the entries it covers are then visible) and publishes
 * its head with release (its reads of the entries are done before the
 * producer may overwrite them); the producer does the mirror image. Each
 * side keeps its own index privately and never trusts the shared copy of
 * it; the peer's index is checked against `entries` on every load.
 *
 * Doorbell (Dekker pairing): the consumer sets RING_DB_SLEEPING with a
 * seq_cst RMW, then (seq_cst fence) re-reads the tail; the producer stores
 * the tail, then (seq_cst fence) reads the doorbell. At least one of the two
 * sees the other's store, so either the consumer finds the work and does not
 * sleep, or the producer sees the flag, changes the futex word (FUTEX_WAIT
 * on the old value then fails with EAGAIN) and wakes it.
 */
#include "ring.h"
#include "ring_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL   0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW   0x0004
#endif
#define RING_SEALS     (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW)
#define RING_MAX_ERRNO 4095

/* Adaptive spin back-off of one waiter: after a spin that found nothing,
 * the next 2^shift - 1 waits sleep at once (shift grows per failure up to
 * RING_SPIN_MAX_SHIFT); a spin that finds work resets it. */
struct spin_state {
	uint32_t skip;
	uint32_t shift;
};
#define RING_SPIN_MAX_SHIFT 8

/* Private per-ring-pair state. Aligned so that frontend threads, each
 * driving its own ring pair, do not false-share. */
struct ring_priv {
	struct ring_pair_ctl *ctl;
	struct cs_sqe *sqes;
	struct cs_cqe *cqes;
	uint32_t sq_tail; /* frontend: next sq index to fill */
	uint32_t sq_head; /* cryptod: next sq index to read */
	uint32_t cq_tail; /* cryptod: next cq index to fill */
	uint32_t cq_head; /* frontend: next cq index to read */
	/* Last validated value of the peer's index (producer: the peer's
	 * head; consumer: the peer's tail). Reloading the shared copy only
	 * when these run out keeps the peer's cache line from bouncing on
	 * every call. */
	uint32_t sq_head_seen, sq_tail_seen, cq_head_seen, cq_tail_seen;
	/* Adaptive spinning of this process's sq and cq waiter. */
	struct spin_state sq_spin, cq_spin;
	int broken; /* sticky -EPROTO */
} __attribute__((aligned(64)));

struct ring_region {
	uint8_t *base;
	size_t map_len;
	int fd;
	int own_fd;
	uint32_t mask;
	uint64_t slab_off;
	uint32_t spin_ns;	/* busy-poll before a futex sleep */
	uint32_t spin_auto_max; /* adaptive spin cap, 0: fixed spin_ns */
	uint64_t ino;		/* the memfd's inode: same in both processes */
	int home;		/* ring_home_set(): preferred CPU, -1: none */
	cpu_set_t all;		/* the CPUs allowed when it was set */
	struct ring_params p;
	struct ring_priv *rings;
};

/* --- helpers -------------------------------------------------------- */

static uint32_t load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Shared futex words: the mapping is MAP_SHARED, so no FUTEX_PRIVATE_FLAG
 * (a private futex would key on this process's mm and miss the peer). */
static int futex_wait(uint32_t *addr, uint32_t val, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	long rc = syscall(SYS_futex, addr, FUTEX_WAIT, val, tsp, NULL, 0);
	return rc < 0 ? -errno : 0;
}

static void futex_wake(uint32_t *addr)
{
	/* One consumer per ring; INT_MAX also covers an io_uring waiter
	 * racing a stray synchronous one (a broken caller). */
	syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int valid_params(const struct ring_params *p)
{
	if (p->nrings < 1 || p->nrings > RING_MAX_RINGS)
		return 0;
	if (p->entries < RING_MIN_ENTRIES || p->entries > RING_MAX_ENTRIES ||
	    (p->entries & (p->entries - 1)) != 0)
		return 0;
	if (p->nslots < 1 || p->nslots > RING_MAX_SLOTS)
		return 0;
	if (p->slot_size < RING_PAGE || p->slot_size > RING_MAX_SLOT_SIZE ||
	    p->slot_size % RING_PAGE != 0)
		return 0;
	return 1;
}

/* Computes the layout of p (already valid_params); 0 or -EOVERFLOW. */
static int layout(const struct ring_params *p, uint64_t *pair_size,
		  uint64_t *slab_off, uint64_t *total)
{
	uint64_t ps = ring_pair_size(p->entries), rings, slab;
	if (__builtin_mul_overflow(ps, (uint64_t)p->nrings, &rings) ||
	    __builtin_add_overflow(rings, (uint64_t)RING_HDR_SIZE, slab_off) ||
	    __builtin_mul_overflow((uint64_t)p->nslots, (uint64_t)p->slot_size,
				   &slab) ||
	    __builtin_add_overflow(*slab_off, slab, total) ||
	    *total > (uint64_t)SIZE_MAX || *total > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	*pair_size = ps;
	return 0;
}

static int setup_private(struct ring_region *r, uint64_t pair_size)
{
	void *mem = NULL;
	if (posix_memalign(&mem, 64, sizeof(struct ring_priv) * r->p.nrings))
		return -ENOMEM;
	memset(mem, 0, sizeof(struct ring_priv) * r->p.nrings);
	r->rings = mem;
	r->mask = r->p.entries - 1;
	r->spin_ns = RING_SPIN_NS_DEFAULT;
	for (uint32_t i = 0; i < r->p.nrings; i++) {
		struct ring_priv *q = &r->rings[i];
		uint8_t *pair = r->base + RING_HDR_SIZE + pair_size * i;
		q->ctl = (struct ring_pair_ctl *)pair;
		q->sqes = (struct cs_sqe *)(pair + RING_PAIR_ENTRIES_OFF);
		q->cqes = (struct cs_cqe *)(pair + RING_PAIR_ENTRIES_OFF +
					    (size_t)r->p.entries *
						sizeof(struct cs_sqe));
		/* Our own indices start where the shared copies are now;
		 * from here on each side trusts only its private copy. */
		q->sq_tail =
		    __atomic_load_n(&q->ctl->sq.tail, __ATOMIC_ACQUIRE);
		q->sq_head =
		    __atomic_load_n(&q->ctl->sq.head, __ATOMIC_ACQUIRE);
		q->cq_tail =
		    __atomic_load_n(&q->ctl->cq.tail, __ATOMIC_ACQUIRE);
		q->cq_head =
		    __atomic_load_n(&q->ctl->cq.head, __ATOMIC_ACQUIRE);
		/* Nothing cached yet: "seen" equal to our own index means no
		 * room known (producer) / no work known (consumer). */
		q->sq_head_seen = q->sq_tail - r->p.entries;
		q->cq_head_seen = q->cq_tail - r->p.entries;
		q->sq_tail_seen = q->sq_head;
		q->cq_tail_seen = q->cq_head;
	}
	return 0;
}

/* --- region --------------------------------------------------------- */

int ring_region_create(struct ring_region **out, const struct ring_params *p)
{
	struct ring_region *r = NULL;
	uint64_t pair_size, slab_off, total;
	int fd = -1, rc;

	*out = NULL;
	if (!p || !valid_params(p))
		return -EINVAL;
	rc = layout(p, &pair_size, &slab_off, &total);
	if (rc < 0)
		return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->home = -1;
	r->base = MAP_FAILED;
	fd = memfd_create("cryptstack-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (ftruncate(fd, (off_t)total) < 0 ||
	    fcntl(fd, F_ADD_SEALS, RING_SEALS) < 0) {
		rc = -errno;
		goto out;
	}
	r->base = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	r->map_len = (size_t)total;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	r->ino = (uint64_t)st.st_ino;
	r->fd = fd;
	r->own_fd = 1;
	fd = -1;
	r->p = *p;
	r->slab_off = slab_off;

	struct ring_shdr h = {
	    .magic = RING_MAGIC,
	    .version = CS_PROTO_VERSION,
	    .hdr_size = RING_HDR_SIZE,
	    .sqe_size = sizeof(struct cs_sqe),
	    .cqe_size = sizeof(struct cs_cqe),
	    .nrings = p->nrings,
	    .entries = p->entries,
	    .nslots = p->nslots,
	    .slot_size = p->slot_size,
	    .rings_off = RING_HDR_SIZE,
	    .pair_size = pair_size,
	    .slab_off = slab_off,
	    .total_size = total,
	};
	memcpy(r->base, &h, sizeof(h));
	for (uint32_t i = 0; i < p->nrings; i++) {
		struct ring_pair_ctl *c =
		    (struct ring_pair_ctl *)(r->base + RING_HDR_SIZE +
					     pair_size * i);
		c->sq.head = c->sq.tail = p->start_index;
		c->cq.head = c->cq.tail = p->start_index;
	}
	rc = setup_private(r, pair_size);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		ring_region_destroy(r);
		return rc;
	}
	*out = r;
	return 0;
}

int ring_hdr_check(const void *hdr, size_t len, uint64_t fd_size,
		   struct ring_params *out)
{
	struct ring_shdr h;
	uint64_t pair_size, slab_off, total;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, hdr, sizeof(h));
	if (h.magic != RING_MAGIC || h.version != CS_PROTO_VERSION ||
	    h.hdr_size != RING_HDR_SIZE ||
	    h.sqe_size != sizeof(struct cs_sqe) ||
	    h.cqe_size != sizeof(struct cs_cqe) || h.pad0 != 0)
		return -EPROTO;
	struct ring_params p = {
	    .nrings = h.nrings,
	    .entries = h.entries,
	    .nslots = h.nslots,
	    .slot_size = h.slot_size,
	};
	if (!valid_params(&p) || layout(&p, &pair_size, &slab_off, &total))
		return -EPROTO;
	/* The layout is a function of the parameters: the stored offsets
	 * must be exactly the computed ones. */
	if (h.rings_off != RING_HDR_SIZE || h.pair_size != pair_size ||
	    h.slab_off != slab_off || h.total_size != total)
		return -EPROTO;
	if (total > fd_size)
		return -EPROTO;
	*out = p;
	return 0;
}

int ring_region_attach(struct ring_region **out, int memfd)
{
	struct ring_region *r = NULL;
	uint8_t hdr[sizeof(struct ring_shdr)];
	struct ring_params p;
	struct stat st;
	uint64_t pair_size, slab_off, total;
	int rc;

	*out = NULL;
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)RING_HDR_SIZE)
		return -EPROTO;
	/* Without SHRINK/GROW seals the peer could truncate the file under
	 * our mapping (SIGBUS) or resize it after our checks. */
	int seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0)
		return errno == EINVAL ? -EPROTO : -errno;
	if ((seals & RING_SEALS) != RING_SEALS)
		return -EPROTO;
	ssize_t n = pread(memfd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return -errno;
	rc = ring_hdr_check(hdr, (size_t)n, (uint64_t)st.st_size, &p);
	if (rc < 0)
		return rc;
	if (layout(&p, &pair_size, &slab_off, &total))
		return -EPROTO;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = memfd;
	r->own_fd = 0;
	r->ino = (uint64_t)st.st_ino;
	r->home = -1;
	r->p = p;
	r->slab_off = slab_off;
	r->base = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_SHARED,
		       memfd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	r->map_len = (size_t)total;
	rc = setup_private(r, pair_size);
out:
	if (rc < 0) {
		ring_region_destroy(r);
		return rc;
	}
	*out = r;
	return 0;
}

void ring_region_destroy(struct ring_region *r)
{
	if (!r)
		return;
	if (r->base && r->base != MAP_FAILED)
		munmap(r->base, r->map_len);
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->rings);
	free(r);
}

void ring_set_spin(struct ring_region *r, uint32_t spin_ns)
{
	r->spin_ns = spin_ns;
	r->spin_auto_max = 0;
}

void ring_set_spin_auto(struct ring_region *r, uint32_t max_ns)
{
	r->spin_auto_max = max_ns;
	for (uint32_t i = 0; i < r->p.nrings; i++)
		r->rings[i].sq_spin = r->rings[i].cq_spin =
		    (struct spin_state){0, 0};
}

int ring_region_fd(const struct ring_region *r)
{
	return r->fd;
}

const struct ring_params *ring_region_params(const struct ring_region *r)
{
	return &r->p;
}

void *ring_slot(struct ring_region *r, uint32_t slot)
{
	if (slot >= r->p.nslots)
		return NULL;
	return r->base + r->slab_off + (size_t)slot * r->p.slot_size;
}

/* --- validation ----------------------------------------------------- */

int ring_sqe_check(const struct ring_params *p, const struct cs_sqe *s)
{
	if (s->op == CS_OP_INVALID || s->op >= CS_OP__MAX)
		return -EPROTO;
	if (s->flags & ~CS_F_ALL)
		return -EPROTO;
	if (s->len > CS_MAX_IO)
		return -EPROTO;
	if (s->op == CS_OP_FORGET) {
		/* No slot, hence no argument block. */
		if (s->slot != CS_NO_SLOT || s->arg_off != 0 || s->arg_len != 0)
			return -EPROTO;
		return 0;
	}
	if (s->slot >= p->nslots)
		return -EPROTO;
	if (s->arg_off > p->slot_size || s->arg_len > p->slot_size - s->arg_off)
		return -EPROTO;
	if (s->op == CS_OP_WRITE && s->arg_len != s->len)
		return -EPROTO;
	return 0;
}

int ring_cqe_check(const struct ring_params *p, const struct cs_cqe *c)
{
	if (c->slot >= p->nslots)
		return -EPROTO;
	if (c->data_off > p->slot_size ||
	    c->data_len > p->slot_size - c->data_off)
		return -EPROTO;
	if (c->res < -RING_MAX_ERRNO)
		return -EPROTO;
	return 0;
}

/* --- push / pop ----------------------------------------------------- */

static struct ring_priv *get_ring(struct ring_region *r, unsigned ring)
{
	return ring < r->p.nrings ? &r->rings[ring] : NULL;
}

/* One direction of a ring pair as this process's consumer of it sees it:
 * the ring it consumes, the opposite direction (whose doorbell tells
 * whether the peer sleeps), its private head and its adaptive spin
 * state. */
struct ring_dir {
	struct ring_priv *q;
	struct ring_ctl *c;
	const struct ring_ctl *other;
	uint32_t *head;
	struct spin_state *st;
};

/* Fills *d for the sq (sq true) or the cq of ring; returns false when
 * ring is out of range. Always inlined with a constant sq: the choice
 * costs nothing at run time. */
static inline __attribute__((always_inline)) bool
get_dir(struct ring_region *r, unsigned ring, bool sq, struct ring_dir *d)
{
	struct ring_priv *q = get_ring(r, ring);
	if (!q)
		return false;
	d->q = q;
	d->c = sq ? &q->ctl->sq : &q->ctl->cq;
	d->other = sq ? &q->ctl->cq : &q->ctl->sq;
	d->head = sq ? &q->sq_head : &q->cq_head;
	d->st = sq ? &q->sq_spin : &q->cq_spin;
	return true;
}

/* Producer side, shared by both directions: returns how many of n entries
 * (esz bytes each) were copied into the ring at ents; 0 when full. */
static inline __attribute__((always_inline)) unsigned
push(struct ring_region *r, struct ring_priv *q, struct ring_ctl *c,
     uint32_t *ptail, uint32_t *head_seen, void *ents, size_t esz,
     const void *in, unsigned n)
{
	if (q->broken || n == 0)
		return 0;
	uint32_t space = r->p.entries - (*ptail - *head_seen);
	if (space < n) {
		/* Acquire: the consumer's reads of the entries it released
		 * are done before we overwrite them. */
		uint32_t head = load_acquire(&c->head);
		uint32_t used = *ptail - head;
		if (used > r->p.entries) {
			q->broken = 1;
			return 0;
		}
		*head_seen = head;
		space = r->p.entries - used;
	}
	if (n > space)
		n = space;
	/* At most two runs: up to the end of the array, then from 0. */
	uint32_t at = *ptail & r->mask;
	uint32_t first = r->p.entries - at;
	if (first > n)
		first = n;
	memcpy((uint8_t *)ents + at * esz, in, first * esz);
	memcpy(ents, (const uint8_t *)in + first * esz, (n - first) * esz);
	*ptail += n;
	/* Release: the entries are visible before the new tail. */
	store_release(&c->tail, *ptail);
	return n;
}

typedef int (*check_fn)(const struct ring_params *, const void *);

static int check_sqe(const struct ring_params *p, const void *e)
{
	return ring_sqe_check(p, e);
}

static int check_cqe(const struct ring_params *p, const void *e)
{
	return ring_cqe_check(p, e);
}

/* Consumer side: copies up to max entries out, validating each private
 * copy; returns count or -EPROTO. */
static inline __attribute__((always_inline)) int
pop(struct ring_region *r, struct ring_priv *q, struct ring_ctl *c,
    uint32_t *phead, uint32_t *tail_seen, const void *ents, size_t esz,
    void *out, unsigned max, check_fn check)
{
	if (q->broken)
		return -EPROTO;
	uint32_t avail = *tail_seen - *phead;
	if (avail < max) {
		/* Acquire: the entries up to tail are visible. */
		uint32_t tail = load_acquire(&c->tail);
		avail = tail - *phead;
		if (avail > r->p.entries) {
			q->broken = 1;
			return -EPROTO;
		}
		*tail_seen = tail;
	}
	if (avail > max)
		avail = max;
	/* Copy out in at most two runs, then validate only the copies:
	 * the barrier keeps the compiler from re-reading the shared bytes
	 * for the checks (no double fetch). */
	uint32_t at = *phead & r->mask;
	uint32_t first = r->p.entries - at;
	if (first > avail)
		first = avail;
	memcpy(out, (const uint8_t *)ents + at * esz, first * esz);
	memcpy((uint8_t *)out + first * esz, ents, (avail - first) * esz);
	__asm__ __volatile__("" ::: "memory");
	unsigned i;
	for (i = 0; i < avail; i++) {
		if (check(&r->p, (uint8_t *)out + i * esz) < 0) {
			q->broken = 1;
			break;
		}
	}
	if (i == 0 && q->broken)
		return -EPROTO;
	*phead += i;
	/* Release: our copies are complete before the producer may reuse
	 * the entries. */
	store_release(&c->head, *phead);
	return (int)i;
}

unsigned ring_sq_push(struct ring_region *r, unsigned ring,
		      const struct cs_sqe *sqes, unsigned n)
{
	struct ring_priv *q = get_ring(r, ring);
	if (!q)
		return 0;
	return push(r, q, &q->ctl->sq, &q->sq_tail, &q->sq_head_seen, q->sqes,
		    sizeof(struct cs_sqe), sqes, n);
}

unsigned ring_cq_push(struct ring_region *r, unsigned ring,
		      const struct cs_cqe *cqes, unsigned n)
{
	struct ring_priv *q = get_ring(r, ring);
	if (!q)
		return 0;
	return push(r, q, &q->ctl->cq, &q->cq_tail, &q->cq_head_seen, q->cqes,
		    sizeof(struct cs_cqe), cqes, n);
}

int ring_sq_pop(struct ring_region *r, unsigned ring, struct cs_sqe *out,
		unsigned max)
{
	struct ring_priv *q = get_ring(r, ring);
	if (!q)
		return -EINVAL;
	return pop(r, q, &q->ctl->sq, &q->sq_head, &q->sq_tail_seen, q->sqes,
		   sizeof(struct cs_sqe), out, max, check_sqe);
}

int ring_cq_pop(struct ring_region *r, unsigned ring, struct cs_cqe *out,
		unsigned max)
{
	struct ring_priv *q = get_ring(r, ring);
	if (!q)
		return -EINVAL;
	return pop(r, q, &q->ctl->cq, &q->cq_head, &q->cq_tail_seen, q->cqes,
		   sizeof(struct cs_cqe), out, max, check_cqe);
}

int ring_error(const struct ring_region *r, unsigned ring)
{
	if (ring >= r->p.nrings)
		return -EINVAL;
	return r->rings[ring].broken ? -EPROTO : 0;
}

/* --- doorbells ------------------------------------------------------ */

static void kick(struct ring_ctl *c)
{
	/* Pairs with the fence in prepare_sleep(): our tail store (release,
	 * in push) is ordered before the doorbell load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t v = __atomic_load_n(&c->doorbell, __ATOMIC_RELAXED);
	/* Bounded: a hostile peer flipping the word must not pin us. */
	for (int tries = 0; (v & RING_DB_SLEEPING) && tries < 16; tries++) {
		uint32_t nv = (v + 1) & RING_DB_SEQ_MASK;
		if (__atomic_compare_exchange_n(&c->doorbell, &v, nv, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED)) {
			futex_wake(&c->doorbell);
			return;
		}
	}
}

/* Work for the consumer of c whose private head is head: the tail moved
 * (an impossible tail counts as "work": the pop reports -EPROTO). */
static bool has_work(struct ring_ctl *c, uint32_t head)
{
	return load_acquire(&c->tail) != head;
}

static int prepare_sleep(struct ring_ctl *c, uint32_t head, uint32_t **addr,
			 uint32_t *val)
{
	uint32_t v =
	    __atomic_or_fetch(&c->doorbell, RING_DB_SLEEPING, __ATOMIC_SEQ_CST);
	/* Pairs with the fence in kick(): the flag is visible before we
	 * re-read the tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (has_work(c, head)) {
		__atomic_and_fetch(&c->doorbell, ~RING_DB_SLEEPING,
				   __ATOMIC_RELAXED);
		return 1;
	}
	*addr = &c->doorbell;
	*val = v;
	return 0;
}

static void wake_done(struct ring_ctl *c)
{
	__atomic_and_fetch(&c->doorbell, ~RING_DB_SLEEPING, __ATOMIC_RELAXED);
}

static int elapsed_ms(uint64_t start)
{
	uint64_t d = (now_ns() - start) / 1000000u;
	return d > INT_MAX ? INT_MAX : (int)d;
}

/* The peer sleeps waiting for us (its doorbell on the other direction has
 * the flag): nothing will arrive on our ring until we act, so spinning is
 * pointless. A hint only: a lying peer can at most make us spin our
 * bounded budget. */
static bool peer_sleeps(const struct ring_ctl *other)
{
	return __atomic_load_n(&other->doorbell, __ATOMIC_RELAXED) &
	       RING_DB_SLEEPING;
}

/* spin_ring() modes. */
#define SPIN_YIELD   0x1u /* sched_yield() between looks */
#define SPIN_STOP    0x2u /* give up once the peer sleeps (adaptive) */
#define SPIN_CONTEND 0x4u /* ring_yield() between looks; give up after a
			   * long one (the CPU is contended) */

/* Busy-polls c for up to spin_ns; true when work showed up. Cheaper than
 * a sleep + wake when the peer answers within a few microseconds. With a
 * yield, gives the CPU away between polls: a peer that is runnable on our
 * CPU then gets to produce instead of waiting for our time slice to end. */
static bool spin_ring(struct ring_ctl *c, const struct ring_ctl *other,
		      uint32_t head, uint32_t spin_ns, unsigned how)
{
	if (!spin_ns)
		return false;
	uint64_t end = now_ns() + spin_ns;
	for (;;) {
		for (int i = 0; i < 32; i++) {
			if (has_work(c, head))
				return true;
			__builtin_ia32_pause();
		}
		if (now_ns() >= end || ((how & SPIN_STOP) && peer_sleeps(other)))
			return false;
		if (how & SPIN_CONTEND) {
			if (ring_yield())
				return has_work(c, head);
		} else if (how & SPIN_YIELD) {
			sched_yield();
		}
	}
}

/* Per thread: until when ring_poll_allowed() says no (ring_yield()). */
static __thread uint64_t contended_until;

int ring_poll_allowed(void)
{
	return now_ns() >= contended_until;
}

int ring_yield(void)
{
	uint64_t t0 = now_ns();
	sched_yield();
	uint64_t t1 = now_ns();
	if (t1 - t0 < RING_YIELD_LONG_NS)
		return 0;
	contended_until = t1 + RING_CONTENDED_NS;
	return 1;
}

/* --- home CPU ------------------------------------------------------ */

int ring_home_set(struct ring_region *r, int on)
{
	cpu_set_t set;
	r->home = -1;
	if (!on)
		return -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -1;
	int n = CPU_COUNT(&set);
	if (n < 2)
		return -1;
	/* Both processes see the same memfd inode: the same CPU, and
	 * different mounts spread over the CPUs. */
	int k = (int)(r->ino % (uint64_t)n);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set) && k-- == 0) {
			r->home = cpu;
			break;
		}
	}
	r->all = set;
	return r->home;
}

/* Per thread: whether ring_home_update() pinned the caller. */
static __thread bool pinned;

int ring_home_update(struct ring_region *r, int prefer)
{
	bool want = prefer < 0 ? pinned : prefer > 0;
	want = want && r->home >= 0 && ring_poll_allowed();
	if (want == pinned)
		return 0;
	cpu_set_t one, *set = &r->all;
	if (want) {
		CPU_ZERO(&one);
		CPU_SET(r->home, &one);
		set = &one;
	}
	if (sched_setaffinity(0, sizeof(*set), set) < 0)
		return -errno;
	pinned = want;
	return 1;
}

/* ring_sq_poll()/ring_cq_poll(): one look while the CPU is contended,
 * else spin_ring() giving up on contention. */
static bool poll_ring(struct ring_ctl *c, uint32_t head, uint32_t ns)
{
	if (!ns || !ring_poll_allowed())
		return has_work(c, head);
	return spin_ring(c, NULL, head, ns, SPIN_CONTEND);
}

/* Whether an adaptive waiter spins now: only while the peer is awake
 * (spinning cannot help while it sleeps waiting for us) and not during a
 * back-off after failed spins. */
static bool spin_now(struct spin_state *st, const struct ring_ctl *other)
{
	if (st->skip) {
		st->skip--;
		return false;
	}
	return !peer_sleeps(other);
}

/* Records the outcome of an adaptive spin (see struct spin_state). */
static void spin_result(struct spin_state *st, bool found)
{
	if (found) {
		st->shift = 0;
		return;
	}
	if (st->shift < RING_SPIN_MAX_SHIFT)
		st->shift++;
	st->skip = (1u << st->shift) - 1;
}

/* Spins on d's ring per r's policy (fixed spin_ns, or adaptive) for at
 * most cap ns; true when work showed up. */
static bool policy_spin(struct ring_region *r, const struct ring_dir *d,
			uint32_t cap)
{
	struct ring_ctl *c = d->c;
	uint32_t head = *d->head;
	uint32_t spin = r->spin_auto_max ? r->spin_auto_max : r->spin_ns;
	if (spin > cap)
		spin = cap;
	if (!spin)
		return false;
	if (!r->spin_auto_max)
		return spin_ring(c, d->other, head, spin, 0);
	if (!spin_now(d->st, d->other))
		return false;
	bool found =
		spin_ring(c, d->other, head, spin, SPIN_YIELD | SPIN_STOP);
	spin_result(d->st, found);
	return found;
}

/* Sleeps on d's ring until its tail moves away from the consumer's head
 * or timeout_ms passes. */
static int wait_ring(struct ring_region *r, const struct ring_dir *d,
		     int timeout_ms)
{
	struct ring_priv *q = d->q;
	struct ring_ctl *c = d->c;
	uint32_t head = *d->head;
	uint64_t start = timeout_ms > 0 ? now_ns() : 0;
	uint32_t cap = UINT32_MAX; /* the spin never outlasts the timeout */
	if (timeout_ms > 0 && (uint64_t)timeout_ms * 1000000u < cap)
		cap = (uint32_t)timeout_ms * 1000000u;
	if (timeout_ms != 0 && !q->broken && policy_spin(r, d, cap))
		return 0;
	for (;;) {
		uint32_t *addr, val;
		int left = -1;
		if (q->broken)
			return -EPROTO;
		if (has_work(c, head))
			return 0;
		if (timeout_ms == 0)
			return -ETIMEDOUT;
		if (timeout_ms > 0) {
			left = timeout_ms - elapsed_ms(start);
			if (left <= 0)
				return -ETIMEDOUT;
		}
		if (prepare_sleep(c, head, &addr, &val))
			return 0;
		int rc = futex_wait(addr, val, left);
		wake_done(c);
		if (rc == -EINTR)
			return -EINTR;
		if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
		/* Woken, value changed, or timed out: re-check. */
	}
}

/* The per-direction entry points: each body once, for the sq (sq true)
 * or the cq; the ring_sq_* and ring_cq_* wrappers below pass a constant,
 * and the always-inlined get_dir() folds it away. */
static void kick_dir(struct ring_region *r, unsigned ring, bool sq)
{
	struct ring_dir d;
	if (get_dir(r, ring, sq, &d))
		kick(d.c);
}

static int wait_dir(struct ring_region *r, unsigned ring, bool sq,
		    int timeout_ms)
{
	struct ring_dir d;
	if (!get_dir(r, ring, sq, &d))
		return -EINVAL;
	return wait_ring(r, &d, timeout_ms);
}

/* ring_sq_spin()/ring_cq_spin(): the policy spin on one direction. */
static int spin_dir(struct ring_region *r, unsigned ring, bool sq)
{
	struct ring_dir d;
	if (!get_dir(r, ring, sq, &d))
		return -EINVAL;
	if (d.q->broken)
		return -EPROTO;
	return policy_spin(r, &d, UINT32_MAX);
}

/* ring_sq_poll()/ring_cq_poll(): a bounded yielding poll, no policy. */
static int poll_dir(struct ring_region *r, unsigned ring, bool sq,
		    uint32_t ns)
{
	struct ring_dir d;
	if (!get_dir(r, ring, sq, &d))
		return -EINVAL;
	if (d.q->broken)
		return -EPROTO;
	return poll_ring(d.c, *d.head, ns);
}

static int prepare_sleep_dir(struct ring_region *r, unsigned ring, bool sq,
			     uint32_t **addr, uint32_t *val)
{
	struct ring_dir d;
	if (!get_dir(r, ring, sq, &d))
		return -EINVAL;
	return prepare_sleep(d.c, *d.head, addr, val);
}

static void wake_done_dir(struct ring_region *r, unsigned ring, bool sq)
{
	struct ring_dir d;
	if (get_dir(r, ring, sq, &d))
		wake_done(d.c);
}

void ring_sq_kick(struct ring_region *r, unsigned ring)
{
	kick_dir(r, ring, true);
}

void ring_cq_kick(struct ring_region *r, unsigned ring)
{
	kick_dir(r, ring, false);
}

int ring_sq_wait(struct ring_region *r, unsigned ring, int timeout_ms)
{
	return wait_dir(r, ring, true, timeout_ms);
}

int ring_cq_wait(struct ring_region *r, unsigned ring, int timeout_ms)
{
	return wait_dir(r, ring, false, timeout_ms);
}

int ring_sq_poll(struct ring_region *r, unsigned ring, uint32_t ns)
{
	return poll_dir(r, ring, true, ns);
}

int ring_cq_poll(struct ring_region *r, unsigned ring, uint32_t ns)
{
	return poll_dir(r, ring, false, ns);
}

int ring_sq_spin(struct ring_region *r, unsigned ring)
{
	return spin_dir(r, ring, true);
}

int ring_cq_spin(struct ring_region *r, unsigned ring)
{
	return spin_dir(r, ring, false);
}

int ring_sq_prepare_sleep(struct ring_region *r, unsigned ring, uint32_t **addr,
			  uint32_t *val)
{
	return prepare_sleep_dir(r, ring, true, addr, val);
}

int ring_cq_prepare_sleep(struct ring_region *r, unsigned ring, uint32_t **addr,
			  uint32_t *val)
{
	return prepare_sleep_dir(r, ring, false, addr, val);
}

void ring_sq_wake_done(struct ring_region *r, unsigned ring)
{
	wake_done_dir(r, ring, true);
}

void ring_cq_wake_done(struct ring_region *r, unsigned ring)
{
	wake_done_dir(r, ring, false);
}

/* --- peer death ----------------------------------------------------- */

int ring_peer_dead(int peer_fd)
{
	struct pollfd pfd = {.fd = peer_fd, .events = POLLRDHUP};
	int n = poll(&pfd, 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	return (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) ? 1 : 0;
}

/* Waits in slices; the peer is polled only after a slice ran out with no
 * work, so a busy peer costs nothing extra. */
static int wait_peer(struct ring_region *r, unsigned ring, bool sq,
		     int peer_fd, int timeout_ms)
{
	struct ring_dir d;
	if (!get_dir(r, ring, sq, &d))
		return -EINVAL;
	uint64_t start = now_ns();
	for (;;) {
		int slice = RING_PEER_SLICE_MS;
		if (timeout_ms >= 0) {
			int left = timeout_ms - elapsed_ms(start);
			if (left < 0)
				left = 0;
			if (left < slice)
				slice = left;
		}
		int rc = wait_ring(r, &d, slice);
		if (rc != -ETIMEDOUT)
			return rc;
		int dead = ring_peer_dead(peer_fd);
		if (dead < 0)
			return dead;
		if (dead)
			return -EPIPE;
		if (timeout_ms >= 0 && elapsed_ms(start) >= timeout_ms)
			return -ETIMEDOUT;
	}
}

int ring_cq_wait_peer(struct ring_region *r, unsigned ring, int peer_fd,
		      int timeout_ms)
{
	return wait_peer(r, ring, false, peer_fd, timeout_ms);
}

int ring_sq_wait_peer(struct ring_region *r, unsigned ring, int peer_fd,
		      int timeout_ms)
{
	return wait_peer(r, ring, true, peer_fd, timeout_ms);
}

/* --- spreading ------------------------------------------------------ */

unsigned ring_pick(const struct ring_region *r, uint64_t ino, uint64_t off,
		   unsigned hint)
{
	if (hint != RING_PICK_ANY)
		return hint % r->p.nrings;
	/* splitmix64 finaliser over (ino, MiB index). */
	uint64_t x = ino * 0x9e3779b97f4a7c15ull ^ (off >> 20);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (unsigned)(x % r->p.nrings);
}
